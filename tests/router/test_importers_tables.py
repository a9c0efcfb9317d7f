"""Generic tables (long / wide, Parquet and Arrow) and EmbedLLM's correctness CSVs, in their official
layouts, plus hostile tables: conflicting duplicates, missing models, graded labels, blank queries."""

from __future__ import annotations

import argparse
import csv
import json

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

from results.store import ResultsStore
from router.importers import (
    ImportFormatError,
    import_embedllm,
    import_long,
    import_mixinstruct,
    import_wide,
)
from router.runs import open_table
from router.split import SPLIT_META_KEY
from tests.router.helpers import route_import_cli, run_route_import


def _csv(path, header, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _scores(run):
    table, _ = open_table(run)
    means = table.mean_scores()
    return {
        (task, item, model): means[i, j]
        for (task, item), i in table.index.items()
        for j, model in enumerate(table.models)
        if not np.isnan(means[i, j])
    }


# ----------------------------------------------------------------------------- EmbedLLM

EMBEDLLM_HEADER = ["prompt_id", "model_id", "category_id", "label", "model_name", "category", "prompt"]


def test_embedllm_folder_with_splits_and_repeated_rows_through_the_cli(tmp_path):
    folder = tmp_path / "EmbedLLM"
    _csv(
        folder / "train.csv",
        EMBEDLLM_HEADER,
        [
            [0, 0, 3, 1, "phi-2", "gsm8k", "What is 2+2?"],
            [0, 1, 3, 0, "llama-7b", "gsm8k", "What is 2+2?"],
            [1, 0, 5, 0, "phi-2", "mmlu", "Capital of France?\nA. Paris"],
            [1, 1, 5, 1, "llama-7b", "mmlu", "Capital of France?\nA. Paris"],
            [1, 1, 5, 0, "llama-7b", "mmlu", "Capital of France?\nA. Paris"],  # repeated: max kept
        ],
    )
    _csv(folder / "val.csv", EMBEDLLM_HEADER, [[2, 0, 3, 1, "phi-2", "gsm8k", "3*3?"]])
    _csv(folder / "test.csv", EMBEDLLM_HEADER, [[3, 1, 3, 1, "llama-7b", "gsm8k", "5-1?"]])
    _csv(folder / "question_order.csv", ["prompt_id", "prompt"], [[0, "What is 2+2?"]])
    run = tmp_path / "run"
    summary = route_import_cli("embedllm", run, folder)
    assert summary["models"] == ["llama-7b", "phi-2"]
    assert summary["tasks"] == {"gsm8k": 3, "mmlu": 1}
    assert summary["samples"] == 6
    assert any("different score: the higher kept" in note for note in summary["notes"])
    scores = _scores(run)
    assert scores[("mmlu", "1", "llama-7b")] == 1.0
    assert scores[("gsm8k", "0", "llama-7b")] == 0.0
    with ResultsStore(run, readonly=True) as store:
        split = json.loads(store.get_meta(SPLIT_META_KEY))
    assert "3" in json.dumps(split) and summary["split_recorded"]


def test_embedllm_without_text_columns_joins_question_and_model_order(tmp_path):
    folder = tmp_path / "e"
    _csv(folder / "test.csv", ["prompt_id", "model_id", "label"], [[7, 0, 1], [7, 1, 0], [8, 0, 0]])
    _csv(folder / "question_order.csv", ["prompt_id", "prompt"], [[7, "q seven"], [8, "q eight"]])
    _csv(folder / "model_order.csv", ["model_id", "model_name"], [[0, "A"], [1, "B"]])
    with ResultsStore(tmp_path / "run") as store:
        summary = import_embedllm(folder, store)
    assert summary.models == ["A", "B"]
    assert any("1 of 4 (item, model) cells have no score" in note for note in summary.notes)
    table, _ = open_table(tmp_path / "run")
    assert sorted(table.queries) == ["q eight", "q seven"]
    _csv(folder / "question_order.csv", ["prompt_id", "prompt"], [[7, "q seven"]])
    with (
        ResultsStore(tmp_path / "run2") as store,
        pytest.raises(ImportFormatError, match=r"line 4: prompt_id 8"),
    ):
        import_embedllm(folder, store)


def test_embedllm_hub_parquet_layout_and_a_table_that_is_not_embedllm(tmp_path):
    folder = tmp_path / "default"
    for split, ids in (("train", [0, 1]), ("test", [2])):
        (folder / split).mkdir(parents=True)
        rows = [
            {
                "prompt_id": i,
                "model_id": m,
                "label": (i + m) % 2,
                "model_name": f"m{m}",
                "category": "mmlu",
                "prompt": f"question {i}",
            }
            for i in ids
            for m in (0, 1)
        ]
        pq.write_table(pa.Table.from_pylist(rows), folder / split / "0000.parquet")
    with ResultsStore(tmp_path / "run") as store:
        summary = import_embedllm(folder, store)
    assert summary.samples == 6 and summary.split_recorded
    bad = _csv(tmp_path / "x" / "train.csv", ["question", "model", "score"], [["q", "m", 1]])
    with (
        ResultsStore(tmp_path / "run2") as store,
        pytest.raises(ImportFormatError, match="no column prompt_id"),
    ):
        import_embedllm(bad, store)


# ----------------------------------------------------------------------------- wide

ROUTELLM_MODELS = ["mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview"]


def test_wide_routellm_responses_csv_through_the_cli(tmp_path):
    table = _csv(
        tmp_path / "gsm8k_responses.csv",
        ["prompt", *ROUTELLM_MODELS, *(m + "_response" for m in ROUTELLM_MODELS)],
        [
            ["Janet's ducks lay 16 eggs.\nHow much?", "True", "True", "She sells 9", "18"],
            ["A robe takes 2 bolts?", "False", "True", "2", "3"],
            ["Empty cell for one model", "", "False", "", "x"],
        ],
    )
    run = tmp_path / "run"
    summary = route_import_cli("wide", run, table, "--task", "gsm8k")
    assert summary["models"] == sorted(ROUTELLM_MODELS)
    assert summary["tasks"] == {"gsm8k": 3}
    assert summary["samples"] == 5
    assert any("items are numbered by row" in n for n in summary["notes"])
    assert any("1 of 6 (item, model) cells have no score" in n for n in summary["notes"])
    scores = _scores(run)
    assert scores[("gsm8k", "1", "gpt-4-1106-preview")] == 1.0
    assert scores[("gsm8k", "1", ROUTELLM_MODELS[0])] == 0.0


def test_wide_sprout_parquet_record_cells_carry_tokens(tmp_path):
    rows = [
        {
            "prompt": f"q{i}",
            "id": f"sprout-{i}",
            "dataset": "mmlu-pro" if i else "math",
            "openai-gpt-4o": {
                "score": 1.0,
                "num_input_tokens": 10 + i,
                "num_output_tokens": 5,
                "response": "a",
            },
            "wxai-granite-3-2b": {
                "score": 0.0,
                "num_input_tokens": 11,
                "num_output_tokens": 7,
                "response": "b",
            },
        }
        for i in range(3)
    ]
    path = tmp_path / "train-00000-of-00001.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    with ResultsStore(tmp_path / "run") as store:
        summary = import_wide(path, store)
        samples = {(s.item_id, s.model): s for s in store.iter_samples(graded_only=True)}
    assert summary.models == ["openai-gpt-4o", "wxai-granite-3-2b"]
    assert summary.tasks == {"math": 1, "mmlu-pro": 2}
    assert samples[("sprout-2", "openai-gpt-4o")].prompt_tokens == 12
    assert samples[("sprout-2", "wxai-granite-3-2b")].completion_tokens == 7


def test_wide_graded_scores_need_named_models_and_a_threshold(tmp_path):
    table = _csv(
        tmp_path / "judge.csv",
        ["question", "qid", "model_x", "model_y", "difficulty"],
        [["q1", "a", 8, 3, 0.5], ["q2", "b", 6, 9, 0.7]],
    )
    with ResultsStore(tmp_path / "r1") as store, pytest.raises(ImportFormatError, match="no column holds"):
        import_wide(table, store)
    with ResultsStore(tmp_path / "r2") as store, pytest.raises(ImportFormatError, match="--models"):
        import_wide(table, store, threshold=7)
    with ResultsStore(tmp_path / "r3") as store:
        summary = import_wide(table, store, models=["model_x", "model_y"], threshold=7, task="judge")
    assert summary.models == ["model_x", "model_y"]
    scores = _scores(tmp_path / "r3")
    assert scores[("judge", "a", "model_x")] == 1.0 and scores[("judge", "b", "model_x")] == 0.0
    two_queries = _csv(tmp_path / "two.csv", ["prompt", "query", "m"], [["a", "b", 1]])
    with ResultsStore(tmp_path / "r4") as store, pytest.raises(ImportFormatError, match="--columns query="):
        import_wide(two_queries, store)
    with ResultsStore(tmp_path / "r5") as store:
        assert import_wide(two_queries, store, columns="query=query", task="t").models == ["m"]


# ----------------------------------------------------------------------------- long, hostile tables

LONG_HEADER = ["task", "item", "query", "model", "correct"]


def test_long_conflicting_duplicates_are_an_error_and_equal_ones_a_note(tmp_path):
    table = _csv(tmp_path / "dup.csv", LONG_HEADER, [["t", "1", "q", "m", 1], ["t", "1", "q", "m", 0]])
    with (
        ResultsStore(tmp_path / "r1") as store,
        pytest.raises(ImportFormatError, match=r"line 3: t/1, model m"),
    ):
        import_long(table, store)
    with ResultsStore(tmp_path / "r2") as store:
        assert import_long(table, store, duplicates="max").samples == 1
    assert _scores(tmp_path / "r2") == {("t", "1", "m"): 1.0}
    same = _csv(tmp_path / "same.csv", LONG_HEADER, [["t", "1", "q", "m", 1], ["t", "1", "q", "m", "1.0"]])
    with ResultsStore(tmp_path / "r3") as store:
        summary = import_long(same, store)
    assert summary.samples == 1 and any("1 repeated rows" in n for n in summary.notes)


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        (["t", "1", "q", "m", 2], r"line 2: correct: score 2\.0 is outside \[0, 1\].*--threshold"),
        (["t", "1", "q", "m", "nan"], r"line 2: correct: score is not a finite number"),
        (["t", "1", "q", "m", "yes"], r"line 2: correct: score 'yes' is not a number"),
        (["t", "1", "   ", "m", 1], r"line 2: query: Value error, is blank"),
        (["t", "1", "q", "m", 1, "extra"], r"line 2: 6 fields, the header has 5"),
    ],
)
def test_long_bad_cells_name_the_line(tmp_path, cells, message):
    table = _csv(tmp_path / "bad.csv", LONG_HEADER, [cells])
    with ResultsStore(tmp_path / "run") as store, pytest.raises(ImportFormatError, match=message):
        import_long(table, store)


def test_long_finds_other_tables_names_and_refuses_ambiguous_or_missing_ones(tmp_path):
    other = _csv(tmp_path / "other.csv", ["prompt_id", "prompt", "model_name", "label"], [[1, "q", "m", 1]])
    with ResultsStore(tmp_path / "r1") as store:
        summary = import_long(other, store, task="mmlu")
    assert summary.tasks == {"mmlu": 1} and summary.models == ["m"]
    assert "column 'label' read as 'correct'" in summary.notes
    both = _csv(tmp_path / "both.csv", ["prompt", "question", "model", "correct"], [["a", "b", "m", 1]])
    with ResultsStore(tmp_path / "r2") as store, pytest.raises(ImportFormatError, match=r"--columns query="):
        import_long(both, store)
    with ResultsStore(tmp_path / "r3") as store:
        assert import_long(both, store, columns={"query": "question"}).samples == 1
    none = _csv(tmp_path / "none.csv", ["text", "who", "correct"], [["a", "m", 1]])
    with (
        ResultsStore(tmp_path / "r4") as store,
        pytest.raises(ImportFormatError, match=r"no column query, model"),
    ):
        import_long(none, store)
    with ResultsStore(tmp_path / "r5") as store, pytest.raises(ImportFormatError, match=r"task=nope"):
        import_long(other, store, columns={"task": "nope"})


def test_long_irt_router_layout_through_the_cli(tmp_path):
    """IRT-Router's data/train.csv: question, llm, performance, input_tokens, output_tokens (no ids)."""
    table = _csv(
        tmp_path / "train.csv",
        ["question", "llm", "performance", "input_tokens", "output_tokens"],
        [
            ["2+2?", "gpt_4o", 1.0, 12, 3],
            ["2+2?", "glm_4_flash", 0.0, 12, 40],
            ["Capital?", "gpt_4o", 1, 9, 2],
        ],
    )
    run = tmp_path / "run"
    summary = route_import_cli("long", run, table, "--task", "irt")
    assert summary["tasks"] == {"irt": 2} and summary["samples"] == 3
    assert any("keyed by their query text" in n for n in summary["notes"])
    with ResultsStore(run, readonly=True) as store:
        tokens = sorted(
            (s.model, s.prompt_tokens, s.completion_tokens) for s in store.iter_samples(graded_only=True)
        )
    assert tokens == [("glm_4_flash", 12, 40), ("gpt_4o", 9, 2), ("gpt_4o", 12, 3)]


def test_long_parquet_and_hf_arrow_stream_with_column_names_and_threshold(tmp_path):
    rows = [
        {"dataset": "mtbench", "qid": i, "prompt": f"q{i}", "model_name": m, "rating": r}
        for i, (m, r) in enumerate([("a", 9.0), ("b", 4.0), ("a", 6.5)])
    ]
    data = pa.Table.from_pylist(rows)
    parquet = tmp_path / "rows.parquet"
    pq.write_table(data, parquet, row_group_size=2)
    arrow = tmp_path / "data-00000-of-00001.arrow"  # what datasets.save_to_disk writes: the stream format
    with pa.OSFile(str(arrow), "wb") as sink, ipc.new_stream(sink, data.schema) as writer:
        writer.write_table(data, max_chunksize=1)
    mapping = {
        "task": "dataset",
        "item": "qid",
        "query": "prompt",
        "model": "model_name",
        "correct": "rating",
    }
    for n, path in enumerate((parquet, arrow)):
        with (
            ResultsStore(tmp_path / f"r{n}") as store,
            pytest.raises(ImportFormatError, match=r"row 0: correct \(column 'rating'\): score 9\.0"),
        ):
            import_long(path, store, columns=mapping)
        with ResultsStore(tmp_path / f"ok{n}") as store:
            summary = import_long(path, store, columns=mapping, threshold=6.0)
        assert summary.samples == 3
        assert _scores(tmp_path / f"ok{n}") == {
            ("mtbench", "0", "a"): 1.0,
            ("mtbench", "1", "b"): 0.0,
            ("mtbench", "2", "a"): 1.0,
        }


@pytest.mark.parametrize("fmt", ["long", "wide", "embedllm"])
def test_preference_battles_are_refused_not_imported(tmp_path, fmt):
    """RouteLLM trains on arena / judge battles: which of two answers won, not correctness."""
    battles = _csv(
        tmp_path / "train.csv",
        [
            "prompt",
            "model_a",
            "model_b",
            "winner",
            "task",
            "item",
            "query",
            "model",
            "correct",
            "prompt_id",
            "model_id",
            "label",
        ],
        [["hi", "gpt-4", "mixtral", "model_a", "t", "1", "hi", "gpt-4", 1, 0, 0, 1]],
    )
    done = run_route_import(fmt, str(tmp_path / "run"), str(battles))
    assert done.returncode != 0
    assert "pairwise preference table" in done.stderr and "train.csv: line 2" in done.stderr


# ----------------------------------------------------------------------------- RouterEval


def _routereval_pickle(path):
    """The layout RouterEval's get_router_dataset.py pickles: prompts and indices per split, and per
    candidate group the models and (prompts, candidates) score arrays."""
    import pickle

    splits = {"train": [0, 3], "val": [1], "test": [2]}
    full = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])  # (prompts, models)
    models = np.array(["org/a", "org/b", "org/c"])

    def group(columns):
        data = {f"{s}_score": full[np.array(i)][:, columns] for s, i in splits.items()}
        return {"data": data, "model": models[columns]}

    empty = {"data": None, "model": None}
    dataset = {
        "easy": {
            3: {"all_strong": group([0, 1, 2]), "all_weak": dict(empty)},
            5: {"all_strong": dict(empty)},
        },
        "hard": {10: {"strong_to_weak": group([2, 0])}},
        "split_index": {f"{s}_indices": np.array(i) for s, i in splits.items()},
        "embedding": {f"{s}_embed": np.zeros((len(i), 4)) for s, i in splits.items()},
        "prompt": {f"{s}_prompt": np.array([f"gsm8k question {j}" for j in i]) for s, i in splits.items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(dataset))
    return path


def test_routereval_pickle_needs_a_group_and_imports_its_split(tmp_path):
    pkl = _routereval_pickle(tmp_path / "router_dataset" / "gsm8k_router_dataset.pkl")
    done = run_route_import("routereval", str(tmp_path / "r0"), str(pkl.parent))
    assert done.returncode != 0 and "--group, one of 3/all_strong, 10/strong_to_weak" in done.stderr
    summary = route_import_cli(
        "routereval", tmp_path / "run", pkl.parent, "--group", "hard/10/strong_to_weak"
    )
    assert summary["models"] == ["org/a", "org/c"] and summary["tasks"] == {"gsm8k": 4}
    assert summary["samples"] == 8 and summary["split_recorded"]
    scores = _scores(tmp_path / "run")
    assert scores[("gsm8k", "3", "org/c")] == 1.0 and scores[("gsm8k", "2", "org/c")] == 0.0
    _, split = open_table(tmp_path / "run")
    assert split is not None


# ----------------------------------------------------------------------------- MixInstruct


def _mix_record(n, scores):
    return {
        "id": f"unified_chip2/{n}",
        "instruction": f"Explain thing {n}",
        "input": "",
        "output": "reference",
        "candidates": [
            {
                "decoding_method": "top_p_sampling",
                "model": model,
                "text": "...",
                "scores": {"bertscore": s, "bleu": 3.0},
            }
            for model, s in scores.items()
        ],
    }


def test_mixinstruct_needs_metric_and_threshold_and_reads_its_splits(tmp_path):
    folder = tmp_path / "mixinstruct"
    folder.mkdir()
    (folder / "train_data_prepared.json").write_text(
        json.dumps(
            [_mix_record(0, {"vicuna": 0.8, "koala": 0.2}), _mix_record(1, {"vicuna": 0.1, "koala": 0.9})]
        )
    )
    rows = [_mix_record(2, {"vicuna": 0.75, "koala": None})]
    pq.write_table(pa.Table.from_pylist(rows), folder / "test_data_prepared.parquet")
    done = run_route_import("mixinstruct", str(tmp_path / "r0"), str(folder))
    assert done.returncode != 0 and "--metric" in done.stderr and "--threshold" in done.stderr
    summary = route_import_cli(
        "mixinstruct", tmp_path / "run", folder, "--metric", "bertscore", "--threshold", "0.7"
    )
    assert summary["models"] == ["koala", "vicuna"] and summary["tasks"] == {"unified_chip2": 3}
    assert summary["samples"] == 5 and summary["split_recorded"]
    assert _scores(tmp_path / "run") == {
        ("unified_chip2", "unified_chip2/0", "vicuna"): 1.0,
        ("unified_chip2", "unified_chip2/0", "koala"): 0.0,
        ("unified_chip2", "unified_chip2/1", "vicuna"): 0.0,
        ("unified_chip2", "unified_chip2/1", "koala"): 1.0,
        ("unified_chip2", "unified_chip2/2", "vicuna"): 1.0,
    }
    with (
        ResultsStore(tmp_path / "r2") as store,
        pytest.raises(ImportFormatError, match=r"entry 0: candidates\[0\]: no score 'rouge1'"),
    ):
        import_mixinstruct(folder / "train_data_prepared.json", store, metric="rouge1", threshold=0.5)


def test_the_cli_offers_every_importer_format():
    from harness.cli import build_parser
    from router.importers import FORMATS

    for fmt in FORMATS:
        args = build_parser().parse_args(["route", "import", "--format", fmt, "--run", "r", "p"])
        assert args.format == fmt
    with pytest.raises(SystemExit):
        build_parser().parse_args(["route", "import", "--format", "no-such-format", "--run", "r", "p"])
    parser = build_parser()
    for command in ("route", "import"):
        parser = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[
            command
        ]
    offered = next(a.choices for a in parser._actions if a.dest == "format")
    assert set(offered) == {"auto", *FORMATS}, "every format the CLI offers is an importer format"


# ----------------------------------------------------------------------------- GraphRouter

GRAPHROUTER_HEADER = [
    "task_id",
    "query",
    "query_embedding",
    "ground_truth",
    "metric",
    "llm",
    "effect",
    "cost",
]


def test_graphrouter_router_data_keeps_effect_and_never_reads_normalised_cost_as_money(tmp_path):
    table = _csv(
        tmp_path / "router_data.csv",
        GRAPHROUTER_HEADER,
        [
            ["GSM8K", "2+2?", "[[0.1 0.2]]", "4", "GSM8K", "LLaMA-3 (8b)", 1.0, 0.0],
            ["GSM8K", "2+2?", "[[0.1 0.2]]", "4", "GSM8K", "Mixtral-8x7B", 0.0, 1.0],
            ["SQUAD", "Who?", "[[0.3 0.1]]", "Bob", "f1_score", "LLaMA-3 (8b)", 0.4, 0.5],
        ],
    )
    with (
        ResultsStore(tmp_path / "r0") as store,
        pytest.raises(ImportFormatError, match="--format graphrouter"),
    ):
        import_long(table, store, columns={"model": "llm", "correct": "effect", "task": "task_id"})
    summary = route_import_cli("graphrouter", tmp_path / "run", table)
    assert summary["tasks"] == {"GSM8K": 1, "SQUAD": 1} and summary["costs"] == 0
    assert any("normalised per task" in n for n in summary["notes"])
    scores = _scores(tmp_path / "run")
    assert sorted(scores.values()) == [0.0, 0.4, 1.0]
    with_usd = _csv(
        tmp_path / "bench_router_data.csv",
        [*GRAPHROUTER_HEADER, "cost_usd"],
        [["aime", "x?", "[[1]]", "1", "em", "gpt-5", 1.0, 1.0, 0.0123]],
    )
    assert route_import_cli("graphrouter", tmp_path / "run2", with_usd)["costs"] == 1


def test_float_ids_from_pandas_exports_and_a_long_table_given_to_wide(tmp_path):
    rows = [
        {"task": "t", "item": 3.0, "query": "q3", "model": "m", "correct": True},
        {"task": "t", "item": None, "query": "q?", "model": "m", "correct": False},
    ]
    path = tmp_path / "ids.parquet"
    pq.write_table(pa.Table.from_pylist(rows[:1]), path)
    with ResultsStore(tmp_path / "r1") as store:
        import_long(path, store)
    assert _scores(tmp_path / "r1") == {("t", "3", "m"): 1.0}
    pq.write_table(pa.Table.from_pylist(rows), path)
    with ResultsStore(tmp_path / "r2") as store, pytest.raises(ImportFormatError, match=r"row 1: item"):
        import_long(path, store)
    with ResultsStore(tmp_path / "r3") as store, pytest.raises(ImportFormatError, match="--format long"):
        import_wide(path, store)


# ----------------------------------------------------------------------------- --format auto


def _auto(tmp_path, path, name="auto"):
    return run_route_import(None, tmp_path / name, path)


def test_auto_format_picks_the_one_layout_that_fits_and_refuses_otherwise(tmp_path):
    from router.importers import detect_format

    embedllm = _csv(tmp_path / "e" / "train.csv", EMBEDLLM_HEADER, [[0, 0, 1, 1, "m", "gsm8k", "q"]])
    graph = _csv(
        tmp_path / "router_data.csv", GRAPHROUTER_HEADER, [["t", "q", "[[1]]", "a", "em", "m", 1, 0]]
    )
    irt = _csv(tmp_path / "irt.csv", ["question", "llm", "performance"], [["q", "m", 1]])
    routellm = _csv(tmp_path / "gsm8k_responses.csv", ["prompt", "gpt-4"], [["q", "True"]])
    assert [detect_format(p) for p in (embedllm, embedllm.parent, graph, irt, routellm)] == [
        "embedllm",
        "embedllm",
        "graphrouter",
        "long",
        "wide",
    ]
    assert (
        detect_format(_routereval_pickle(tmp_path / "re" / "mmlu_router_dataset.pkl").parent) == "routereval"
    )
    done = _auto(tmp_path, irt)
    assert done.returncode == 0, done.stderr
    assert "read as --format long" in done.stderr and json.loads(done.stdout)["format"] == "long"
    unknown = _csv(tmp_path / "unknown.csv", ["text", "who"], [["a", "b"]])
    done = _auto(tmp_path, unknown, "r2")
    assert done.returncode != 0 and "unknown.csv: cannot tell the format" in done.stderr
    mixed = tmp_path / "mixed"
    _csv(mixed / "question_order.csv", ["prompt_id", "prompt"], [[0, "q"]])
    _csv(mixed / "default_routing_train_data.csv", ["task_name", "query"], [["t", "q"]])
    with pytest.raises(ImportFormatError, match=r"cannot tell the format \(embedllm, llmrouter\)"):
        detect_format(mixed)


def test_hf_datasets_exports_read_as_the_same_wide_table(tmp_path):
    """What `datasets` itself writes: save_to_disk's Arrow stream shard, to_parquet and to_json."""
    import datasets

    ds = datasets.Dataset.from_list(
        [{"prompt": "q1", "gpt-4": True, "mixtral": False}, {"prompt": "q2", "gpt-4": False, "mixtral": None}]
    )
    ds.save_to_disk(str(tmp_path / "saved"))
    ds.to_parquet(str(tmp_path / "rows.parquet"))
    ds.to_json(str(tmp_path / "rows.jsonl"))
    shard = next((tmp_path / "saved").glob("*.arrow"))
    for n, path in enumerate((shard, tmp_path / "rows.parquet", tmp_path / "rows.jsonl")):
        with ResultsStore(tmp_path / f"r{n}") as store:
            summary = import_wide(path, store, task="t")
        assert summary.models == ["gpt-4", "mixtral"] and summary.samples == 3
        assert _scores(tmp_path / f"r{n}") == {
            ("t", "0", "gpt-4"): 1.0,
            ("t", "0", "mixtral"): 0.0,
            ("t", "1", "gpt-4"): 0.0,
        }


# ----------------------------------------------------------------------------- RouterArena


def _arena_line(index, model, score, cost=0.0001, evaluated=True):
    return {
        "global_index": index,
        "question": f"Please solve {index}",
        "llm_selected": model,
        "generated_answer": "\\boxed{42}",
        "token_usage": {"input_tokens": 90, "output_tokens": 200, "total_tokens": 290},
        "success": evaluated,
        "provider": "google",
        "error": None if evaluated else "timeout",
        "evaluation_result": (
            {
                "extracted_answer": "42",
                "ground_truth": "42",
                "score": score,
                "metric": "math_metric",
                "inference_cost": cost,
            }
            if evaluated
            else None
        ),
    }


def test_routerarena_cached_results_folder_with_costs_and_failed_calls(tmp_path):
    folder = tmp_path / "cached_results"
    folder.mkdir()
    lines = {
        "gemini-2.0-flash-001": [
            _arena_line("AIME_112", "gemini-2.0-flash-001", 0.0),
            _arena_line("SuperGLUE-QA_7", "gemini-2.0-flash-001", 0.6),
        ],
        "gpt-4o-mini": [
            _arena_line("AIME_112", "gpt-4o-mini", 1.0, cost=0.002),
            _arena_line("SuperGLUE-QA_7", "gpt-4o-mini", None, evaluated=False),
        ],
    }
    for model, rows in lines.items():
        (folder / f"{model}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = route_import_cli("auto", tmp_path / "run", folder)
    assert summary["format"] == "routerarena"
    assert (
        summary["tasks"] == {"AIME": 1, "SuperGLUE-QA": 1}
        and summary["samples"] == 3
        and summary["costs"] == 3
    )
    assert any("1 lines without an evaluation score" in n for n in summary["notes"])
    scores = _scores(tmp_path / "run")
    assert scores[("SuperGLUE-QA", "SuperGLUE-QA_7", "gemini-2.0-flash-001")] == pytest.approx(0.6)
    assert ("SuperGLUE-QA", "SuperGLUE-QA_7", "gpt-4o-mini") not in scores


def test_gzipped_text_tables_and_a_truncated_gzip(tmp_path):
    import gzip

    rows = "prompt_id,model_id,label,model_name,prompt\n0,0,1,m,q0\n0,1,0,n,q0\n"
    folder = tmp_path / "e"
    folder.mkdir()
    (folder / "test.csv.gz").write_bytes(gzip.compress(rows.encode()))
    with ResultsStore(tmp_path / "r1") as store:
        summary = import_embedllm(folder, store)
    assert summary.samples == 2 and summary.split_recorded
    jsonl = tmp_path / "rows.jsonl.gz"
    jsonl.write_bytes(
        gzip.compress(b'{"task": "t", "item": "1", "query": "q", "model": "m", "correct": 1}\n')
    )
    with ResultsStore(tmp_path / "r2") as store:
        assert import_long(jsonl, store).samples == 1
    jsonl.write_bytes(
        gzip.compress(b'{"task": "t", "item": "1", "query": "q", "model": "m", "correct": 1}\n' * 50)[:40]
    )
    with (
        ResultsStore(tmp_path / "r3") as store,
        pytest.raises(ImportFormatError, match=r"rows\.jsonl\.gz: cannot read"),
    ):
        import_long(jsonl, store)


def test_long_dataset_is_the_task_and_category_stays_the_category(tmp_path):
    table = _csv(
        tmp_path / "rows.csv",
        ["dataset", "category", "question", "model_name", "score"],
        [["gsm8k", "math", "2+2?", "m", 1], ["humaneval", "code", "def f", "m", 0]],
    )
    with ResultsStore(tmp_path / "run") as store:
        summary = import_long(table, store)
    assert summary.tasks == {"gsm8k": 1, "humaneval": 1}
    table_, _ = open_table(tmp_path / "run")
    assert table_.categories == {"gsm8k": "math", "humaneval": "code"}


def test_auto_points_a_single_routerdc_file_to_its_folder(tmp_path):
    from router.importers import detect_format

    task_file = tmp_path / "gsm8k_train.json"
    task_file.write_text(json.dumps([{"question": "q", "scores": {"m1": 1.0}}]))
    with pytest.raises(ImportFormatError, match="import its folder"):
        detect_format(task_file)
    assert detect_format(tmp_path) == "routerdc"


def test_an_option_of_another_format_is_refused(tmp_path):
    table = _csv(tmp_path / "rows.csv", LONG_HEADER, [["t", "1", "q", "m", 1]])
    done = run_route_import("routerdc", str(tmp_path / "run"), str(table), "--duplicates", "max")
    assert done.returncode != 0 and "--duplicates does not apply to --format routerdc" in done.stderr


def test_wide_split_column_repeated_ids_and_a_bad_cell_in_a_named_model(tmp_path):
    table = _csv(
        tmp_path / "wide.csv",
        ["id", "prompt", "split", "a", "b"],
        [["1", "q1", "train", 1, 0], ["2", "q2", "test", 0, 1]],
    )
    with ResultsStore(tmp_path / "r1") as store:
        summary = import_wide(table, store, task="t")
    assert summary.split_recorded and summary.models == ["a", "b"]
    repeated = _csv(tmp_path / "rep.csv", ["id", "prompt", "a"], [["1", "q1", 1], ["1", "q1", 0]])
    with (
        ResultsStore(tmp_path / "r2") as store,
        pytest.raises(ImportFormatError, match=r"line 3: t/1, model a"),
    ):
        import_wide(repeated, store, task="t")
    bad = _csv(tmp_path / "bad.csv", ["id", "prompt", "a"], [["1", "q1", "oops"]])
    with (
        ResultsStore(tmp_path / "r3") as store,
        pytest.raises(ImportFormatError, match=r"line 2: column 'a': score"),
    ):
        import_wide(bad, store, task="t", models=["a"])
