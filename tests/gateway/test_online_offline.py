"""Online equals offline: the gateway, evaluated by `harness eval`, scores what `route eval` computes.

1. `harness eval` runs three scripted models (6 samples each) on two toy tasks: a real results store.
2. `route fit` writes an artifact (bag-of-words embedder behind a loopback /v1/embeddings).
3. `route eval` scores the Avengers offline on the artifact's test split (seed 42), top-1 and top-2.
4. The same stored samples are replayed by loopback members (request n=k -> the first k stored
   samples, in sample order); `harness serve-router` routes and votes live over them, and
   `harness eval` evaluates it on exactly the test items. Per task, the accuracies must be equal.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

from harness.serving.gateway.answers import AnswerFormat
from harness.taskset import ChatMessage, messages_hash
from results.store import ResultsStore
from router.split import hashed_split
from router.voting import Sample, majority
from tests.gateway.conftest import COLOURS, write_tasks
from tests.gateway.helpers import EmbeddingServer, ScriptedMember

SAMPLES = 6
NOUNS = ["apples", "pears", "plums"]
FRUITS = ["banana", "cherry", "lime"]
MODELS = ["mather", "picker", "backup"]


def _rows() -> tuple[list[dict], list[dict]]:
    maths = [
        {"id": f"m{i}", "question": f"{i + 2} + {3 * i + 1} {NOUNS[i % 3]}", "answer": str(4 * i + 3)}
        for i in range(30)
    ]
    picks = [
        {
            "id": f"p{i}",
            "question": f"Which colour does the {FRUITS[i % 3]} number {i} have?",
            "options": COLOURS,
            "answer": i % 4,
        }
        for i in range(30)
    ]
    return maths, picks


def _unit(*parts: object) -> float:
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def _skill(model: str, topic: str) -> float:
    return 0.15 + 0.8 * _unit("skill", model, topic)


def _generator(model: str):
    """A model whose k-th sample on a prompt is right with a probability set by (model, topic)."""

    def answers(body: dict) -> list[str]:
        prompt = body["messages"][-1]["content"]
        out = []
        for k in range(int(body.get("n", 1))):
            draw = _unit(model, prompt, k)
            if prompt.startswith("Compute"):
                a, b, noun = prompt.split(" ")[1], prompt.split(" ")[3], prompt.split(" ")[4].rstrip(".")
                right = int(a) + int(b)
                if draw < 0.08:
                    out.append("I am not sure.")
                    continue
                value = right if draw < _skill(model, noun) else right + (1 if draw < 0.9 else 2)
                out.append(f"Adding {a} and {b} {noun} gives \\boxed{{{value}}}.")
            else:
                fruit = next(f for f in FRUITS if f in prompt)
                number = int(prompt.split("number ")[1].split(" ")[0])
                right = number % 4
                letter = "ABCD"[right if draw < _skill(model, fruit) else (right + 1 + int(draw * 7) % 3) % 4]
                out.append(f"The {fruit} looks {COLOURS['ABCD'.index(letter)]}.\nAnswer: {letter}")
        return out

    return answers


def _replayer(stored: dict[tuple[str, str], list[str]], model: str):
    def answers(body: dict) -> list[str]:
        key = messages_hash([ChatMessage(**m) for m in body["messages"]])
        return stored[(key, model)][: int(body.get("n", 1))]

    return answers


async def _run(*argv: str, env: dict) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "harness",
        *argv,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=300)
    assert process.returncode == 0, (argv, out.decode()[-2000:], err.decode()[-4000:])
    return out.decode()


async def _start_gateway(*argv: str, env: dict):
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "harness", "serve-router", "--port", "0", *argv,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    line = await asyncio.wait_for(process.stdout.readline(), timeout=120)
    if not line:
        raise AssertionError((await process.stderr.read()).decode()[-4000:])
    return process, json.loads(line)["base_url"]


async def _stop_gateway(process) -> None:
    process.terminate()
    await asyncio.wait_for(process.wait(), timeout=60)
    assert process.returncode == 0, "graceful shutdown exits 0"


def _avengers_offline(report_dir: Path) -> dict[str, float]:
    report = json.loads((report_dir / "report.json").read_text())
    method = next(m for m in report["methods"] if m["name"] == "Avengers")
    assert len(method["per_seed"]) == 1
    return method["per_seed"][0]


def _online(run_dir: Path) -> dict[str, float]:
    metrics = json.loads((run_dir / "results.json").read_text())
    return {m["task"]: 100.0 * m["sample0_accuracy"] for m in metrics["tasks"] if m["model"] == "avengers"}


@pytest.mark.slow
async def test_gateway_accuracy_equals_route_eval_task_by_task(tmp_path):
    tasks_dir, data_dir, test_data_dir, runs = (
        tmp_path / "tasks",
        tmp_path / "data",
        tmp_path / "test-data",
        tmp_path / "runs",
    )
    write_tasks(tasks_dir, 30)
    maths, picks = _rows()
    for folder, rows_of in ((data_dir, {"toy_math": maths, "toy_pick": picks}),):
        folder.mkdir()
        for task, rows in rows_of.items():
            (folder / f"{task}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "HARNESS_TASKS_DIR": str(tasks_dir),
        "HARNESS_CACHE_DIR": str(tmp_path / "cache"),
        "HARNESS_RUNS_DIR": str(runs),
    }
    common = [
        "--tasks",
        "toy_math,toy_pick",
        "--output",
        str(runs),
        "--no-progress",
        "--grading-workers",
        "1",
    ]

    generators = {m: ScriptedMember(_generator(m)) for m in MODELS}
    async with EmbeddingServer() as embeddings:
        for member in generators.values():
            await member.start()
        try:
            await _run(
                "eval", *common, "--data-dir", str(data_dir), "--samples", str(SAMPLES), "--run", "pool",
                *[a for m in MODELS for a in ("--model", f"{m}={generators[m].base_url}")], env=env,
            )  # fmt: skip
        finally:
            for member in generators.values():
                await member.stop()

        artifact = tmp_path / "router.npz"
        spec = f"openai:bow@{embeddings.base_url}"
        await _run(
            "route",
            "fit",
            "--run",
            str(runs / "pool"),
            "--k",
            "6",
            "--embedder",
            spec,
            "--seed",
            "42",
            "--out",
            str(artifact),
            env=env,
        )
        offline = {}
        for top_n in (1, 2):
            out = tmp_path / f"offline-top{top_n}"
            await _run(
                "route", "eval", "--run", str(runs / "pool"), "--router", str(artifact), "--seeds", "42",
                "--samples", str(SAMPLES), "--top-n", str(top_n), "--out", str(out), env=env,
            )  # fmt: skip
            offline[top_n] = _avengers_offline(out)

        # The artifact's test items (same split rule `route eval` used for seed 42) as a data dir of their own.
        with ResultsStore(runs / "pool", readonly=True) as store:
            item_records = list(store.iter_items())
            keys = [(i.task, i.item_id) for i in item_records]
            stored: dict[tuple[str, str], list[tuple[int, str]]] = {}
            graded: dict[tuple[str, str, str], list[tuple[int, Sample]]] = {}
            for s in store.iter_samples():
                stored.setdefault((s.prompt_hash, s.model), []).append((s.sample_index, s.response))
                graded.setdefault((s.task, s.item_id, s.model), []).append(
                    (s.sample_index, Sample(s.extracted, s.score))
                )
        replay = {key: [text for _, text in sorted(values)] for key, values in stored.items()}
        test = hashed_split(keys, fraction=0.7, seed=42).test
        test_data_dir.mkdir()
        n_test = {}
        for task, rows in (("toy_math", maths), ("toy_pick", picks)):
            kept = [r for r in rows if (task, r["id"]) in test]
            n_test[task] = len(kept)
            (test_data_dir / f"{task}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in kept))

        replayers = {m: ScriptedMember(_replayer(replay, m)) for m in MODELS}
        for member in replayers.values():
            await member.start()
        online, drawn, logs = {}, {}, {}
        try:
            for top_n in (1, 2):
                before = sum(m.samples for m in replayers.values())
                log = tmp_path / f"gateway-top{top_n}.jsonl"
                gateway, url = await _start_gateway(
                    "--router", str(artifact), "--samples", str(SAMPLES), "--top-n", str(top_n),
                    "--tasks-dir", str(tasks_dir), "--request-log", str(log),
                    *[a for m in MODELS for a in ("--model", f"{m}={replayers[m].base_url}")], env=env,
                )  # fmt: skip
                try:
                    await _run(
                        "eval", *common, "--data-dir", str(test_data_dir), "--samples", "1",
                        "--run", f"gateway-top{top_n}", "--model", f"avengers={url}", env=env,
                    )  # fmt: skip
                finally:
                    await _stop_gateway(gateway)
                online[top_n] = _online(runs / f"gateway-top{top_n}")
                drawn[top_n] = sum(m.samples for m in replayers.values()) - before
                lines = logs[top_n] = [json.loads(x) for x in log.read_text().splitlines()]
                assert len(lines) == sum(n_test.values()) and all(x["status"] == 200 for x in lines)
                assert {x["query_source"] for x in lines} == {"template:toy_math", "template:toy_pick"}
        finally:
            for member in replayers.values():
                await member.stop()

    for top_n in (1, 2):
        assert set(online[top_n]) == set(offline[top_n]) == {"toy_math", "toy_pick"}
        for task in online[top_n]:
            assert online[top_n][task] == pytest.approx(offline[top_n][task], abs=1e-9), (
                top_n,
                task,
                online,
                offline,
            )
    items = sum(n_test.values())
    assert drawn[1] == SAMPLES * items, "self-consistency draws every sample"
    full_switch = 2 * (SAMPLES // 2) * items
    assert drawn[2] < full_switch, "Model-Switch's early stop saves samples"
    # The same Model-Switch without its early stop (both models' 3 samples always drawn), from the
    # stored samples and the rankings the gateway logged: what the saved samples would have bought.
    item_of = {i.query: (i.task, i.item_id) for i in item_records}
    no_stop: dict[str, list[float]] = {}
    for line in logs[2]:
        task, item_id = item_of[line["query"]]
        drawn_all = [
            sample
            for model in line["ranking"][:2]
            for _, sample in sorted(graded[(task, item_id, model)], key=lambda pair: pair[0])[: SAMPLES // 2]
        ]
        grader = {"toy_math": ("math", {}), "toy_pick": ("choice", {"letters": "ABCD"})}[task]
        no_stop.setdefault(task, []).append(majority(drawn_all, AnswerFormat(*grader).same)[0])
    no_stop_accuracy = {task: 100.0 * sum(v) / len(v) for task, v in no_stop.items()}
    for task, value in no_stop_accuracy.items():  # on this data the saved samples would have changed nothing
        assert online[2][task] == pytest.approx(value, abs=1e-9), (task, online[2], no_stop_accuracy)
    print(f"\nModel-Switch without the early stop (all {full_switch} samples): {no_stop_accuracy}")
    print(
        f"online == offline: top-1 {online[1]}, top-2 {online[2]}; "
        f"Model-Switch drew {drawn[2]} of {full_switch} samples ({100 * (1 - drawn[2] / full_switch):.0f}% saved)"
    )
