"""`route import|fit|eval|select|sweep` through the argparse parser the harness CLI mounts."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from router.cli import add_route_commands
from router.model import Router

ARITHMETIC = ["What is {a} plus {b}?"]
GEOGRAPHY = ["Name the capital city of the country with the code {a}."]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="harness")
    add_route_commands(parser.add_subparsers(dest="command", required=True))
    return parser


def _run(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    return args.func(args)


@pytest.fixture
def long_table(tmp_path):
    """Arithmetic questions only model 'calc' gets right, geography only 'atlas'; 'both' gets half of each."""
    rows = []
    for topic, templates, winner in (("arith", ARITHMETIC, "calc"), ("geo", GEOGRAPHY, "atlas")):
        for n in range(24):
            query = templates[0].format(a=n + 3, b=2 * n + 1)
            split = "test" if n % 3 == 2 else "train"
            for model in ("calc", "atlas", "both"):
                correct = model == winner or (model == "both" and n % 2 == 0)
                rows.append(
                    {
                        "task": "quiz",
                        "item": f"{topic}-{n}",
                        "query": query,
                        "model": model,
                        "sample": 0,
                        "correct": int(correct),
                        "split": split,
                        "category": "logic",
                    }
                )
    path = tmp_path / "table.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_route_commands_end_to_end(tmp_path, long_table, monkeypatch, capsys):
    pytest.importorskip("sentence_transformers")
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HARNESS_RUNS_DIR", str(tmp_path / "runs"))

    assert _run(["route", "import", "--format", "long", str(long_table), "--run", "demo"]) == 0
    imported = json.loads(capsys.readouterr().out)
    assert imported["tasks"] == {"quiz": 48} and imported["split_recorded"]
    assert (tmp_path / "runs" / "demo" / "results.sqlite").is_file()

    artifact = tmp_path / "r.npz"
    assert _run(["route", "fit", "--run", "demo", "--k", "2", "--seed", "7", "--out", str(artifact)]) == 0
    assert capsys.readouterr().out.strip() == str(artifact)
    router = Router.load(artifact)
    assert router.meta.split_source == "long table" and router.meta.n_calibration == 32
    assert router.route("What is 11 plus 5?") == ["calc"]
    assert router.route("Name the capital city of the country with the code 40.", top_n=2)[0] == "atlas"

    out = tmp_path / "eval"
    assert (
        _run(
            ["route", "eval", "--run", "demo", "--router", str(artifact), "--seeds", "7,8", "--out", str(out)]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "**Avengers**" in printed
    report = json.loads((out / "report.json").read_text())
    by_name = {m["name"]: m for m in report["methods"]}
    avengers = [s["quiz"] for s in by_name["Avengers"]["per_seed"]]
    assert avengers == [100.0, 100.0]
    assert max(by_name[m]["per_seed"][0]["quiz"] for m in ("calc", "atlas", "both")) <= 50.0
    assert (out / "table2.csv").is_file() and (out / "routing_share.png").stat().st_size > 1000

    subset = tmp_path / "subset.npz"
    assert _run(["route", "select", "--run", "demo", "--budget", "2", "--k", "2", "--out", str(subset)]) == 0
    assert "selected (2): atlas, calc" in capsys.readouterr().out
    assert Router.load(subset).models == ["atlas", "calc"]
    assert (
        _run(
            [
                "route",
                "eval",
                "--run",
                "demo",
                "--router",
                str(subset),
                "--seeds",
                "7",
                "--out",
                str(tmp_path / "eval-subset"),
            ]
        )
        == 0
    )
    subset_report = json.loads((tmp_path / "eval-subset" / "report.json").read_text())
    assert subset_report["models"] == ["atlas", "calc"]
    capsys.readouterr()

    sweep_out = tmp_path / "sweep"
    assert (
        _run(
            [
                "route",
                "sweep",
                "--run",
                "demo",
                "--k",
                "1,2",
                "--seeds",
                "1",
                "--models-k",
                "2",
                "--plot",
                "--out",
                str(sweep_out),
            ]
        )
        == 0
    )
    points = json.loads((sweep_out / "k_sweep.json").read_text())
    assert [p["k"] for p in points] == [1, 2] and points[1]["test"] == 100.0
    assert "K chosen on validation: 2" in capsys.readouterr().out
    assert (sweep_out / "k_sweep.png").stat().st_size > 1000 and (sweep_out / "model_count.png").is_file()


def test_parser_rejects_bad_values():
    parser = _parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["route", "fit", "--run", "x", "--split", "1.5"])
    with pytest.raises(SystemExit):
        parser.parse_args(["route", "eval", "--run", "x", "--router", "r.npz", "--seeds", "a,b"])
    args = parser.parse_args(["route", "eval", "--run", "x", "--router", "r.npz"])
    assert args.seeds == [42, 999, 2024, 2025, 3407] and args.top_n == 1 and args.samples is None
    args = parser.parse_args(["route", "sweep", "--run", "x"])
    assert args.ks == [1, 4, 16, 64, 256, 1024]


def test_missing_run_is_a_clear_error(tmp_path, monkeypatch):
    from router.runs import RunError

    monkeypatch.setenv("HARNESS_RUNS_DIR", str(tmp_path))
    with pytest.raises(RunError, match="holds a results.sqlite"):
        _run(["route", "fit", "--run", "nope"])


def test_route_import_every_public_format_and_ood_errors(tmp_path, capsys):
    folder = tmp_path / "rdc"
    folder.mkdir()
    (folder / "gsm8k-train.json").write_text(json.dumps([{"question": "a?", "scores": {"m": 0.3}}]))
    (folder / "mbpp.json").write_text(json.dumps([{"question": "b?", "scores": {"m": 1.0}}]))
    assert _run(["route", "import", str(folder), "--format", "routerdc", "--run", str(tmp_path / "r1")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["ood_tasks"] == ["mbpp"] and summary["tasks"] == {"gsm8k": 1, "mbpp": 1}
    with pytest.raises(ValueError, match="--ood names tasks not in"):
        _run(
            [
                "route",
                "import",
                str(folder),
                "--format",
                "routerdc",
                "--run",
                str(tmp_path / "r2"),
                "--ood",
                "cmmlu",
            ]
        )
    wide = tmp_path / "rb.csv"
    wide.write_text("sample_id,prompt,eval_name,a,a|total_cost\n1,\"['hi']\",gsm8k,1,0.5\n")
    assert _run(["route", "import", str(wide), "--format", "routerbench", "--run", str(tmp_path / "r3")]) == 0
    assert json.loads(capsys.readouterr().out)["costs"] == 1


@pytest.mark.slow
def test_route_frontier_diagnose_and_alpha_end_to_end(tmp_path, long_table, monkeypatch, capsys):
    pytest.importorskip("sentence_transformers")
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HARNESS_RUNS_DIR", str(tmp_path / "runs"))
    priced = tmp_path / "priced.jsonl"
    cost = {"calc": 1.0, "atlas": 5.0, "both": 0.1}
    rows = [json.loads(line) for line in long_table.read_text().splitlines()]
    priced.write_text("\n".join(json.dumps({**r, "cost": cost[r["model"]]}) for r in rows) + "\n")
    assert _run(["route", "import", "--format", "long", str(priced), "--run", "priced"]) == 0
    assert json.loads(capsys.readouterr().out)["costs"] == 144

    assert _run(["route", "fit", "--run", "priced", "--k", "2", "--tie-z", "1", "--prior", "task"]) == 0
    artifact = Path(capsys.readouterr().out.strip())
    assert artifact.name == "router-k2-kmeans-nearest-tie1-task-minilm-s42.npz"

    assert _run(["route", "diagnose", "--run", "priced", "--router", str(artifact)]) == 0
    printed = capsys.readouterr().out
    assert "Dataset purity" in printed and "| quiz |" in printed and "Near-ties" in printed

    out = tmp_path / "frontier"
    argv = [
        "route",
        "frontier",
        "--run",
        "priced",
        "--router",
        str(artifact),
        "--seeds",
        "1",
        "--out",
        str(out),
    ]
    assert _run([*argv, "--alphas", "0,0.5,1"]) == 0
    printed = capsys.readouterr().out
    assert "Avengers α=0.5" in printed and "Oracle" in printed and "Max Expert" in printed
    assert (out / "frontier.png").stat().st_size > 1000
    header = (out / "frontier.csv").read_text().splitlines()[0]
    assert header == "label,kind,alpha,accuracy,cost,on_frontier"

    ev = ["route", "eval", "--run", "priced", "--router", str(artifact), "--seeds", "1", "--alpha", "0"]
    assert _run([*ev, "--out", str(tmp_path / "cheap")]) == 0
    assert "Cost/query" in capsys.readouterr().out
    cheap = json.loads((tmp_path / "cheap" / "report.json").read_text())
    avengers = next(m for m in cheap["methods"] if m["name"] == "Avengers")
    assert avengers["per_seed_cost"][0]["quiz"] == pytest.approx(0.1)  # alpha 0: always the cheapest


@pytest.mark.slow
def test_fit_on_a_small_store_names_the_k_fitted_and_says_it_was_capped(tmp_path, long_table, monkeypatch, capsys):
    pytest.importorskip("sentence_transformers")
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HARNESS_RUNS_DIR", str(tmp_path / "runs"))
    assert _run(["route", "import", "--format", "long", str(long_table), "--run", "small"]) == 0
    capsys.readouterr()
    assert _run(["route", "fit", "--run", "small", "--k", "64", "--seed", "7"]) == 0
    captured = capsys.readouterr()
    path = captured.out.strip()
    fitted = Router.load(path).meta.n_clusters
    assert fitted < 64
    assert Path(path).name == f"router-k{fitted}-kmeans-nearest-minilm-s7.npz"  # every option, the K fitted
    assert f"fitted K={fitted} (--k 64 capped: only 32 calibration items)" in captured.err
    assert "cli.py:" not in captured.err  # no file:line column to break copied lines


@pytest.mark.slow
def test_sweep_with_too_many_folds_names_the_option(tmp_path, long_table, monkeypatch):
    pytest.importorskip("sentence_transformers")
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HARNESS_RUNS_DIR", str(tmp_path / "runs"))
    assert _run(["route", "import", "--format", "long", str(long_table), "--run", "folds"]) == 0
    with pytest.raises(SystemExit, match=r"--validation-folds 40; lower it"):
        _run(["route", "sweep", "--run", "folds", "--k", "1,2", "--seeds", "7", "--validation-folds", "40"])
