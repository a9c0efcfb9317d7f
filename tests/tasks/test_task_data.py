"""Loading rows (every local format, encrypted zips, the hub fallback) and turning them into items."""

from __future__ import annotations

import csv
import gzip
import json
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.task_data import (
    TaskDataError,
    draw_subset,
    lettered_choices,
    load_parts,
    parse_rows,
    read_local_part,
)
from harness.task_spec import ChoicesSpec, FieldMap, LocalPart, SourceSpec, SubsetSpec
from harness.taskset import Task, render_completion_prompt
from tests.tasks.helpers import offline_env

REPO = Path(__file__).resolve().parents[2]
ROWS = [
    {"qid": f"q{i}", "text": f"question {i}", "key": "B", "options": ["w", "x", "y", "z"]} for i in range(3)
]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


# --------------------------------------------------------------------------- formats


def local(files: str, fmt: str, **extra) -> LocalPart:
    return LocalPart.model_validate({"files": files, "format": fmt, **extra})


def test_jsonl_and_gzip(tmp_path):
    write_jsonl(tmp_path / "d" / "a.jsonl", ROWS)
    (tmp_path / "d" / "b.jsonl.gz").write_bytes(gzip.compress((json.dumps(ROWS[0]) + "\n\n").encode()))
    parts = read_local_part(tmp_path, local("d/*.jsonl*", "jsonl"))
    assert [(label, Path(where).name, len(rows)) for label, where, rows in parts] == [
        ("a", "a.jsonl", 3),
        ("b", "b.jsonl.gz", 1),
    ]
    assert parts[1][2][0] == ROWS[0]


def test_bad_jsonl_line_is_located(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"a": 1}\n{"a": \n', encoding="utf-8")
    with pytest.raises(TaskDataError, match=r"bad.jsonl:2: invalid JSON line"):
        read_local_part(tmp_path, local("bad.jsonl", "jsonl"))


def test_json_records_csv_tsv_yaml_text(tmp_path):
    (tmp_path / "doc.json").write_text(json.dumps({"examples": ROWS}), encoding="utf-8")
    assert read_local_part(tmp_path, local("doc.json", "json", records="examples"))[0][2] == ROWS
    with (tmp_path / "t.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "text"])
        writer.writeheader()
        writer.writerow({"id": "1", "text": 'has "quotes", and a comma\nand a newline'})
    assert read_local_part(tmp_path, local("t.csv", "csv"))[0][2] == [
        {"id": "1", "text": 'has "quotes", and a comma\nand a newline'}
    ]
    (tmp_path / "t.tsv").write_text("id\ttext\n1\tx y\n", encoding="utf-8")
    assert read_local_part(tmp_path, local("t.tsv", "tsv"))[0][2] == [{"id": "1", "text": "x y"}]
    (tmp_path / "p.yaml").write_text("problems:\n  - {name: a}\n  - {name: b}\n", encoding="utf-8")
    assert read_local_part(tmp_path, local("p.yaml", "yaml", records="problems"))[0][2] == [
        {"name": "a"},
        {"name": "b"},
    ]
    (tmp_path / "prompt.txt").write_text("Q: 1\nA: 2\n", encoding="utf-8")
    assert read_local_part(tmp_path, local("prompt.txt", "text"))[0][2] == [{"text": "Q: 1\nA: 2\n"}]


def test_parquet_values_become_plain_python(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "t.parquet")
    rows = read_local_part(tmp_path, local("t.parquet", "parquet"))[0][2]
    assert rows == ROWS and isinstance(rows[0]["options"], list)


def test_encrypted_zip_read_in_memory(tmp_path):
    import pyzipper

    archive = tmp_path / "dataset.zip"
    with pyzipper.AESZipFile(
        archive, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
    ) as zf:
        zf.setpassword(b"open-sesame")
        zf.writestr("dataset/main.csv", "Record ID,Question\nr1,What?\n")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    part = local("dataset.zip", "csv", zip_member="dataset/main.csv", zip_password="open-sesame")
    assert read_local_part(tmp_path, part)[0][2] == [{"Record ID": "r1", "Question": "What?"}]
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing unpacked to disk
    with pytest.raises(TaskDataError, match="cannot read 'dataset/main.csv'"):
        read_local_part(
            tmp_path, local("dataset.zip", "csv", zip_member="dataset/main.csv", zip_password="wrong")
        )
    with pytest.raises(TaskDataError, match="no member 'dataset/other.csv'"):
        read_local_part(
            tmp_path, local("dataset.zip", "csv", zip_member="dataset/other.csv", zip_password="open-sesame")
        )


def test_records_path_must_lead_to_a_list(tmp_path):
    with pytest.raises(TaskDataError, match="no field 'examples'"):
        parse_rows(b'{"other": []}', local("x.json", "json", records="examples"), "x.json")


# --------------------------------------------------------------------------- choices


def choices(**kw) -> ChoicesSpec:
    return ChoicesSpec.model_validate(kw)


@pytest.mark.parametrize(
    ("raw", "answer", "answer_is"),
    [
        (["w", "x", "y", "z"], "B", "label"),  # plain list, letters implied
        (
            [{"label": "1", "text": "w"}, {"label": "2", "text": "x"}, {"label": "3", "text": "y"}],
            "2",
            "label",
        ),
        ({"label": ["A", "B", "C"], "text": ["w", "x", "y"]}, "B", "label"),  # hub column layout
        ({"A": "w", "B": "x", "C": "y", "D": "z"}, "B", "label"),  # MedQA layout
        (["w", "x"], 1, "index"),
        (["w", "x"], "2", "position"),  # Winogrande "1"/"2"
        (["w ", " x", "y"], "x", "text"),
    ],
)
def test_option_layouts_become_letters(raw, answer, answer_is):
    out = lettered_choices(raw, answer, "id1", choices(answer_is=answer_is), "test")
    assert out["answer"] == "B" and out["answer_text"] == "x" and out["answer_index"] == 1
    assert out["choice_labels"][:2] == ["A", "B"]
    assert out["choices"].splitlines()[1] == "B. x"


def test_unknown_answer_label_is_an_error():
    with pytest.raises(TaskDataError, match="answer label 'E' is not among the option labels"):
        lettered_choices(["w", "x"], "E", "id1", choices(answer_is="label"), "where")


def test_shuffle_is_per_item_deterministic_and_tracks_the_answer():
    spec = choices(answer_is="index", shuffle_seed=7)
    texts = ["right", "wrong1", "wrong2", "wrong3"]
    first = [lettered_choices(texts, 0, f"item{i}", spec, "t") for i in range(40)]
    again = [lettered_choices(texts, 0, f"item{i}", spec, "t") for i in range(40)]
    assert first == again
    assert all(out["answer_text"] == "right" for out in first)
    assert len({out["answer"] for out in first}) == 4  # the correct option moves around


def test_drop_empty_options():
    out = lettered_choices(["a", "N/A", "c", ""], "c", "i", choices(answer_is="text", drop_empty=True), "t")
    assert out["choice_list"] == ["a", "c"] and out["answer"] == "B"


# --------------------------------------------------------------------------- subsets


def test_stratified_subset_is_proportional_seeded_and_ordered():
    items = [{"id": str(i), "group": "abc"[i % 3] if i < 90 else "d"} for i in range(100)]
    spec = SubsetSpec(seed=3, size=20, stratify="group")
    picked = draw_subset(items, spec)
    assert picked == draw_subset(items, spec)
    assert len(picked) == 20
    counts = {g: sum(1 for it in picked if it["group"] == g) for g in "abcd"}
    assert counts == {"a": 6, "b": 6, "c": 6, "d": 2}
    positions = [int(it["id"]) for it in picked]
    assert positions == sorted(positions)
    assert draw_subset(items, SubsetSpec(seed=4, size=20, stratify="group")) != picked


def test_per_group_subset():
    items = [{"id": str(i), "part": "xy"[i % 2]} for i in range(11)]
    picked = draw_subset(items, SubsetSpec(seed=1, per_group=3, stratify="part"))
    assert sorted(it["part"] for it in picked) == ["x", "x", "x", "y", "y", "y"]


def test_subset_larger_than_data_keeps_everything():
    items = [{"id": str(i)} for i in range(5)]
    assert draw_subset(items, SubsetSpec(seed=1, size=50)) == items


# --------------------------------------------------------------------------- whole tasks


TASK = """
name: demo
category: knowledge
description: test task
paper_size: 3
source:
  local: {files: demo/*.jsonl, format: jsonl}
  hub: {path: example-org/demo-dataset, split: test}
fields: {id: qid, question: text, answer: key, choices: options}
choices: {answer_is: label}
prompt:
  system: You are careful.
  user: "{question}\\n{choices}\\nAnswer with a letter."
grader: {name: choice, gold: {answer: answer}}
"""


def test_load_items_renders_messages_gold_and_records(write_task, tmp_path):
    write_jsonl(tmp_path / "data" / "demo" / "items.jsonl", ROWS)
    task = Task.from_file(write_task("demo", TASK))
    items = task.load_items(tmp_path / "data")
    assert [item.id for item in items] == ["q0", "q1", "q2"]
    first = items[0]
    assert first.query == "question 0"
    assert [m.role for m in first.messages] == ["system", "user"]
    assert first.messages[1].content == "question 0\nA. w\nB. x\nC. y\nD. z\nAnswer with a letter."
    assert first.gold == {"answer": "B"}
    assert first.meta == {"part": "items"}
    assert len({item.prompt_hash for item in items}) == 3
    assert task.load_items(tmp_path / "data", limit=2)[1] == items[1]
    request = task.grade_request(first.gold, "Answer: B", "stop")
    assert (request.grader, request.gold, request.options) == ("choice", {"answer": "B"}, {})
    record = task.item_record(first)
    assert (record.task, record.item_id, record.category, record.query, record.prompt_hash) == (
        "demo",
        "q0",
        "knowledge",
        "question 0",
        first.prompt_hash,
    )
    assert (
        render_completion_prompt(first.messages)
        == "You are careful.\n\n" + first.messages[1].content + "\n\n"
    )


def test_ids_default_to_part_and_row_and_must_be_unique(write_task, tmp_path):
    write_jsonl(tmp_path / "data" / "demo" / "items.jsonl", ROWS)
    task = Task.from_file(write_task("demo", TASK.replace("id: qid, ", "")))
    assert [item.id for item in task.load_items(tmp_path / "data")] == ["items-0", "items-1", "items-2"]
    write_jsonl(tmp_path / "data" / "demo" / "items.jsonl", [ROWS[0], ROWS[0]])
    task = Task.from_file(write_task("demo", TASK))
    with pytest.raises(TaskDataError, match="duplicate item id 'q0'"):
        task.load_items(tmp_path / "data")


def test_missing_row_field_names_task_file_row_and_field(write_task, tmp_path):
    write_jsonl(tmp_path / "data" / "demo" / "items.jsonl", [{"qid": "a", "text": "t", "options": ["x"]}])
    task = Task.from_file(write_task("demo", TASK))
    with pytest.raises(TaskDataError) as caught:
        task.load_items(tmp_path / "data")
    message = str(caught.value)
    assert "task demo" in message and "items.jsonl" in message and "row 0" in message and "'key'" in message


def test_gold_is_checked_against_the_grader(write_task, tmp_path):
    write_jsonl(tmp_path / "data" / "demo" / "items.jsonl", ROWS)
    task = Task.from_file(
        write_task("demo", TASK.replace("gold: {answer: answer}", "gold: {answer: question}"))
    )
    with pytest.raises(TaskDataError, match="item q0: gold does not fit the grader"):
        task.load_items(tmp_path / "data")


def test_few_shot_block_and_chat_turns(write_task, tmp_path):
    write_jsonl(tmp_path / "data" / "demo" / "items.jsonl", ROWS[:1])
    shots = [{"qid": f"s{i}", "text": f"shot {i}", "key": "A", "options": ["p", "q"]} for i in range(3)]
    write_jsonl(tmp_path / "data" / "shots" / "dev.jsonl", shots)
    block = TASK.replace(
        'user: "{question}',
        "fewshot:\n    source: {local: {files: shots/dev.jsonl, format: jsonl}}\n"
        "    fields: {id: qid, question: text, answer: key, choices: options}\n"
        '    n: 2\n    template: "Q: {question} A: {answer}"\n  user: "{fewshot}\\n\\n{question}',
    )
    task = Task.from_file(write_task("demo", block))
    content = task.load_items(tmp_path / "data")[0].messages[1].content
    assert content.startswith("Q: shot 0 A: A\n\nQ: shot 1 A: A\n\nquestion 0")
    turns = block.replace(
        "    n: 2\n", '    n: 2\n    as_messages: true\n    answer_template: "{answer}"\n'
    ).replace("{fewshot}\\n\\n", "")
    task = Task.from_file(write_task("demo", turns))
    messages = task.load_items(tmp_path / "data")[0].messages
    assert [(m.role, m.content) for m in messages[1:4]] == [
        ("user", "Q: shot 0 A: A"),
        ("assistant", "A"),
        ("user", "Q: shot 1 A: A"),
    ]


def test_no_data_anywhere_names_both_ways(tmp_path):
    source = SourceSpec.model_validate({"local": {"files": "demo/*.jsonl", "format": "jsonl"}})
    with pytest.raises(TaskDataError) as caught:
        load_parts("demo", source, FieldMap(), None)
    assert "--data-dir" in str(caught.value) and "HARNESS_DATA_DIR" in str(caught.value)
    with pytest.raises(TaskDataError, match="missing under"):
        load_parts("demo", source, FieldMap(), tmp_path)


def test_offline_hub_error_names_data_dir_and_hub_id(write_task, tmp_path):
    """A real subprocess with the hub switched off: the error must say both how to fix it."""
    task_dir = write_task("demo", TASK).parent
    script = textwrap.dedent(
        """
        from harness.taskset import select_tasks
        [task] = select_tasks("demo")
        try:
            task.load_items(None)
        except Exception as exc:
            print(type(exc).__name__, exc)
        """
    )
    env = offline_env(task_dir, tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(
        "HubUnavailable task demo: the Hugging Face hub is not available: HF_HUB_OFFLINE is set. "
        "Two ways to get its data: point --data-dir (or $HARNESS_DATA_DIR) at a local mirror holding "
        "['demo/*.jsonl']; or go online (with HF_HUB_OFFLINE unset) to load "
        "example-org/demo-dataset split test"
    )


def test_first_hub_connection_error_fails_every_later_hub_load_at_once(monkeypatch):
    from harness import hub, task_data

    with socket.socket() as sock:  # a port nothing listens on: connection refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    hub.forget_failure()
    monkeypatch.setattr(hub, "_failure", None)
    source = SourceSpec.model_validate({"hub": {"path": "example-org/demo-dataset", "split": "test"}})
    with pytest.raises(task_data.HubUnavailable, match=rf"cannot connect to 127.0.0.1:{port}"):
        load_parts("first", source, FieldMap(), None)
    # Later tasks do not try again: no connection at all, even to a port that would now answer.
    monkeypatch.setattr(hub.socket, "create_connection", None)
    with pytest.raises(task_data.HubUnavailable, match=r"task second: .*cannot connect") as caught:
        load_parts("second", source, FieldMap(), None)
    assert "(this task has no local source)" in str(caught.value)


def test_few_shot_match_by_key(write_task, tmp_path):
    rows = [{**ROWS[0], "cat": "bio"}, {**ROWS[1], "cat": "law"}]
    write_jsonl(tmp_path / "data" / "demo" / "items.jsonl", rows)
    shots = [
        {"qid": f"s{i}", "text": f"shot {i}", "key": "A", "options": ["p", "q"], "cat": c}
        for i, c in enumerate(["law", "bio", "law"])
    ]
    write_jsonl(tmp_path / "data" / "shots" / "dev.jsonl", shots)
    text = TASK.replace(
        "fields: {id: qid, question: text, answer: key, choices: options}",
        "fields: {id: qid, question: text, answer: key, choices: options, extra: {cat: cat}}",
    ).replace(
        'user: "{question}',
        "fewshot:\n    source: {local: {files: shots/dev.jsonl, format: jsonl}}\n"
        "    fields: {id: qid, question: text, answer: key, choices: options, extra: {cat: cat}}\n"
        '    match: cat\n    template: "Q: {question}"\n  user: "{fewshot}|{question}',
    )
    task = Task.from_file(write_task("demo", text))
    first, second = task.load_items(tmp_path / "data")
    assert first.messages[1].content.startswith("Q: shot 1|question 0")
    assert second.messages[1].content.startswith("Q: shot 0\n\nQ: shot 2|question 1")
    write_jsonl(tmp_path / "data" / "demo" / "items.jsonl", [{**ROWS[0], "cat": "art"}])
    with pytest.raises(TaskDataError, match="no few-shot exemplar has cat = 'art'"):
        task.load_items(tmp_path / "data")


def test_summaries_count_locally_and_explain_otherwise(write_task, tmp_path):
    from harness.taskset import task_summaries

    write_jsonl(tmp_path / "data" / "demo" / "items.jsonl", ROWS)
    task = Task.from_file(write_task("demo", TASK.replace("fields:", "subset: {seed: 1, size: 2}\nfields:")))
    [here] = task_summaries([task], tmp_path / "data")
    assert (here.items, here.full_items, here.unavailable, here.available) == (
        2,
        3,
        None,
        "2 (3 with --full)",
    )
    assert here.source == "local demo/*.jsonl; hub example-org/demo-dataset"
    [nowhere] = task_summaries([task], None)
    assert nowhere.items is None and nowhere.available.startswith(
        "no: no data dir given; a run loads it from the hub"
    )
    [missing] = task_summaries([task], tmp_path)
    assert (
        missing.unavailable
        == "missing here: demo/*.jsonl; a run loads it from the hub (example-org/demo-dataset)"
    )


def test_preprocess_gets_rows_per_part_with_context_and_args(write_task, tmp_path, monkeypatch):
    import types

    seen = []

    def tag(rows, ctx):
        seen.append((ctx.task, ctx.part, ctx.params, len(rows)))
        extra = ctx.read("demo/extra.txt", "text")[0]["text"].strip()
        return [{**row, "text": f"{ctx.params['prefix']}{row['text']} ({extra})"} for row in rows]

    module = types.ModuleType("tasks.custom.test_only_tag")
    module.tag = tag
    monkeypatch.setitem(sys.modules, "tasks.custom.test_only_tag", module)
    write_jsonl(tmp_path / "data" / "demo" / "a.jsonl", ROWS[:1])
    write_jsonl(tmp_path / "data" / "demo" / "b.jsonl", ROWS[1:])
    (tmp_path / "data" / "demo" / "extra.txt").write_text("rules\n", encoding="utf-8")
    text = TASK.replace(
        "fields:",
        'preprocess: "tasks.custom.test_only_tag:tag"\npreprocess_args: {prefix: ">> "}\nfields:',
        1,
    )
    items = Task.from_file(write_task("demo", text)).load_items(tmp_path / "data")
    assert seen == [("demo", "a", {"prefix": ">> "}, 1), ("demo", "b", {"prefix": ">> "}, 2)]
    assert [item.query for item in items] == [
        ">> question 0 (rules)",
        ">> question 1 (rules)",
        ">> question 2 (rules)",
    ]


def test_jsonl_strings_may_hold_unicode_line_separators(tmp_path):
    row = {"text": "line\u2028separator\x1cand\x85more"}
    (tmp_path / "u.jsonl").write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    assert read_local_part(tmp_path, local("u.jsonl", "jsonl"))[0][2] == [row]
