"""Issue 9, items 7 to 9 on the task side: data paths confined to the data directory, task code from outside
the installed harness only with --trust-task-code, sandbox ceilings, and errors that name the task and file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from harness.evaluate import EvalRequest, load_items, run_eval
from harness.task_data import PreprocessContext, TaskDataError
from harness.taskset import ConfigFileError, Task, discover_tasks, select_tasks
from tests.harness.conftest import TOY_TASK

REPO = Path(__file__).resolve().parents[2]


def _write_task(toy_env, name: str, text: str) -> Path:
    path = toy_env["tasks_dir"] / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _toy_variant(name: str, old: str, new: str) -> str:
    text = TOY_TASK.format(n=12).replace("name: toy_math", f"name: {name}")
    assert old in text
    return text.replace(old, new)


# ----- item 7: paths confined to the data directory ----------------------------------------------------


@pytest.mark.parametrize(
    "files,why",
    [("../../../../etc/shadow", "'..'"), ("/etc/shadow", "absolute path"), ("toy/../../x.jsonl", "'..'")],
)
def test_a_task_file_path_outside_the_data_directory_is_refused_naming_file_and_field(toy_env, files, why):
    path = _write_task(toy_env, "escape", _toy_variant("escape", "files: toy/toy.jsonl", f"files: {files!r}"))
    with pytest.raises(ConfigFileError) as refused:
        Task.from_file(path)
    message = str(refused.value)
    assert f"{path}:6: field 'source.local.0.files'" in message and why in message


def test_a_symlink_out_of_the_data_directory_is_refused_when_reading(toy_env, tmp_path):
    secret = tmp_path / "secret.jsonl"
    secret.write_text('{"id": "s", "question": "1 + 1", "answer": "2"}\n', encoding="utf-8")
    (toy_env["data_dir"] / "toy" / "toy.jsonl").unlink()
    (toy_env["data_dir"] / "toy" / "toy.jsonl").symlink_to(secret)
    [task] = select_tasks("toy_math")
    with pytest.raises(TaskDataError, match="leads outside the data directory"):
        task.load_items(toy_env["data_dir"])


def test_a_preprocess_hook_cannot_read_outside_the_data_directory(toy_env):
    context = PreprocessContext(task="t", part="p", data_dir=toy_env["data_dir"], origin="o")
    with pytest.raises(TaskDataError, match="climbs out of the data directory"):
        context.read("../tasks/toy_math.yaml", "text")


# ----- item 8: task code and sandbox limits ------------------------------------------------------------


def _downloaded_tasks_package(folder: Path) -> Path:
    """A `tasks/` package as a download might hold one: importing it leaves a marker file."""
    marker = folder / "code-ran"
    package = folder / "tasks"
    (package / "custom").mkdir(parents=True)
    (package / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    (package / "custom" / "__init__.py").write_text("")
    (package / "custom" / "hook.py").write_text("def keep(rows, ctx):\n    return rows\n")
    return marker


def _list_tasks(cwd: Path, toy_env, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HARNESS_TASKS_DIR": str(toy_env["tasks_dir"])}
    env["HARNESS_DATA_DIR"] = str(toy_env["data_dir"])
    return subprocess.run(
        [sys.executable, "-m", "harness", "tasks", "all", *extra], cwd=cwd, env=env, capture_output=True, text=True
    )


@pytest.mark.slow
def test_task_code_outside_the_installed_harness_runs_only_when_trusted(toy_env, tmp_path):
    folder = tmp_path / "download"
    marker = _downloaded_tasks_package(folder)
    hooked = _toy_variant("hooked", "fields:", 'preprocess: "tasks.custom.hook:keep"\nfields:')
    _write_task(toy_env, "hooked", hooked)

    listed = _list_tasks(folder, toy_env)
    assert listed.returncode == 0, listed.stderr
    assert not marker.exists(), "listing tasks ran code from the working directory's tasks/ package"
    assert "toy_math" in listed.stdout, "the other task files are listed"
    assert "--trust-task-code" in listed.stderr and str(folder / "tasks") in listed.stderr

    trusted = _list_tasks(folder, toy_env, "--trust-task-code")
    assert trusted.returncode == 0, trusted.stderr
    assert marker.exists() and "hooked" in trusted.stdout


def test_sandbox_limits_in_a_task_file_have_ceilings(toy_env):
    text = _toy_variant(
        "greedy", "grader: {name: math}", "grader: {name: code, options: {sandbox: {timeout_s: 86400, nproc: 5000}}}"
    )
    path = _write_task(toy_env, "greedy", text)
    with pytest.raises(ConfigFileError) as refused:
        Task.from_file(path)
    message = str(refused.value)
    assert "field 'grader.options.sandbox.timeout_s': 86400 is above the ceiling 600" in message
    assert "field 'grader.options.sandbox.nproc'" in message


def test_every_sandbox_limit_has_a_ceiling_a_task_file_cannot_pass(toy_env):
    from graders.sandbox.limits import SandboxLimits
    from harness.taskset import SANDBOX_CEILINGS

    assert set(SandboxLimits.model_fields) == set(SANDBOX_CEILINGS)
    options = ", ".join(f"{key}: {int(ceiling) + 1}" for key, ceiling in SANDBOX_CEILINGS.items())
    text = _toy_variant("greedy", "grader: {name: math}", f"grader: {{name: code, options: {{sandbox: {{{options}}}}}}}")
    with pytest.raises(ConfigFileError) as refused:
        Task.from_file(_write_task(toy_env, "greedy", text))
    for key in SANDBOX_CEILINGS:
        assert f"field 'grader.options.sandbox.{key}'" in str(refused.value), key


# ----- item 9: errors that name the task and the file --------------------------------------------------


def test_one_malformed_task_file_blocks_no_other(toy_env, capsys):
    broken = _write_task(toy_env, "broken", "name: broken\ncategory: [unclosed\n")
    assert list(discover_tasks()) == ["toy_math"]
    assert [t.name for t in select_tasks("all")] == ["toy_math"]
    assert str(broken) in capsys.readouterr().err
    with pytest.raises(ConfigFileError, match="broken.yaml"):
        select_tasks("broken,toy_math")  # asked for by name: its error, not silence


def test_a_failing_preprocess_hook_names_the_task_and_the_hook(toy_env, monkeypatch):
    def boom(rows, ctx):
        raise ValueError("test")

    module = types.ModuleType("tasks.custom.test_only_boom")
    module.boom = boom
    monkeypatch.setitem(sys.modules, "tasks.custom.test_only_boom", module)
    path = _write_task(toy_env, "hooked", _toy_variant("hooked", "fields:", 'preprocess: "tasks.custom.test_only_boom:boom"\nfields:'))
    with pytest.raises(TaskDataError) as failed:
        Task.from_file(path).load_items(toy_env["data_dir"])
    message = str(failed.value)
    assert "task hooked: preprocess tasks.custom.test_only_boom:boom failed" in message
    assert "ValueError: test" in message and "toy.jsonl" in message


def test_a_file_that_is_not_utf8_is_named_and_skip_unavailable_skips_it(toy_env):
    (toy_env["data_dir"] / "latin").mkdir()
    (toy_env["data_dir"] / "latin" / "rows.jsonl").write_bytes(
        json.dumps({"id": "x", "question": "caf\u00e9", "answer": "1"}, ensure_ascii=False).encode("latin-1") + b"\n"
    )
    _write_task(toy_env, "latin", _toy_variant("latin", "files: toy/toy.jsonl", "files: latin/rows.jsonl"))
    tasks = select_tasks("latin,toy_math")
    with pytest.raises(TaskDataError) as failed:
        load_items(tasks, EvalRequest(tasks="latin,toy_math"))
    assert "latin/rows.jsonl: not UTF-8 text (byte 0xe9" in str(failed.value)
    usable, items = load_items(tasks, EvalRequest(tasks="latin,toy_math", skip_unavailable=True))
    assert [t.name for t in usable] == ["toy_math"] and len(items["toy_math"]) == toy_env["n"]


async def test_an_empty_dataset_is_an_error_not_an_empty_report(toy_env):
    (toy_env["data_dir"] / "toy" / "toy.jsonl").write_text("", encoding="utf-8")
    request = EvalRequest(tasks="toy_math", output=toy_env["runs"], show_progress=False)
    with pytest.raises(TaskDataError, match="task toy_math: its data has no items"):
        await run_eval(request)
