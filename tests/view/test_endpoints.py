"""The viewer's JSON endpoints over real stores, through a real aiohttp server on loopback."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from collections import Counter
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from harness.report import compute_run_metrics, report_tables
from harness.view.server import Viewer, build_app
from results.records import SampleRecord
from results.store import ResultsStore
from router.model import Router
from tests.view.helpers import MODELS, PARAMS, SAMPLES, TASKS, XSS, search_word


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def _client(root: Path, *, build_index: bool = True) -> tuple[TestClient, Viewer]:
    viewer = Viewer(root, build_index=build_index)
    client = TestClient(TestServer(build_app(viewer), host="127.0.0.1"))
    await client.start_server()
    return client, viewer


async def _get(client: TestClient, path: str, status: int = 200, **params) -> dict:
    resp = await client.get(path, params={k: str(v) for k, v in params.items()})
    body = await resp.json()
    assert resp.status == status, body
    return body


async def _wait_index(client: TestClient, run: str) -> None:
    for _ in range(200):
        if (await _get(client, "/api/index", run=run))["ready"]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("search index never became ready")


@pytest.fixture
async def client(runs_root):
    client, _ = await _client(runs_root)
    yield client
    await client.close()


def _stored(run_dir: Path) -> list[SampleRecord]:
    with ResultsStore(run_dir, readonly=True) as store:
        return list(store.iter_samples())


def _outcome(r: SampleRecord) -> str:
    if r.score is None:
        return "error" if r.error else "ungraded"
    return r.grade_reason


async def test_runs_lists_both_runs_with_counts(client, runs_root):
    body = await _get(client, "/api/runs")
    by_name = {r["name"]: r for r in body["runs"]}
    assert sorted(by_name) == ["pool-a", "pool-b"]
    a = by_name["pool-a"]
    assert a["models"] == sorted(MODELS) and a["tasks"] == sorted(TASKS)
    assert a["samples"] == len(TASKS) * 6 * len(MODELS) * SAMPLES
    assert a["errors"] == 1 and a["has_router"] and not by_name["pool-b"]["has_router"]
    assert a["created"] and a["n_samples"] == SAMPLES and a["seed"] == 7


async def test_run_report_is_the_harness_report_with_category_grouping(client, runs_root):
    body = await _get(client, "/api/run", run="pool-a")
    expected = [t.model_dump() for t in report_tables(compute_run_metrics(runs_root / "pool-a"))]
    assert body["tables"] == expected
    assert body["source"].startswith("results.json")
    accuracy = body["tables"][0]
    labels = [(row[0], row[1]) for row in accuracy["rows"]]
    assert ("all", "average") in labels and ("math", "algebra") in labels
    # An independent check of one cell: alpha's sample-0 accuracy on algebra, counted from the store.
    zeros = [
        r
        for r in _stored(runs_root / "pool-a")
        if r.task == "algebra" and r.model == "alpha" and r.sample_index == 0
    ]
    s0 = 100 * sum(r.score for r in zeros) / len(zeros)
    cell = accuracy["rows"][labels.index(("math", "algebra"))][3 + accuracy["headers"][3:].index("alpha")]
    assert cell.startswith(f"{s0:.1f} / ")
    fresh = await _get(client, "/api/run", run="pool-a", fresh=1)
    assert fresh["source"] == "recomputed from results.sqlite" and fresh["tables"] == expected


async def test_compare_pairs_the_same_task_and_model(client, runs_root):
    body = await _get(client, "/api/compare", a="pool-a", b="pool-b")
    a = compute_run_metrics(runs_root / "pool-a")
    b = compute_run_metrics(runs_root / "pool-b")
    assert len(body["rows"]) == len(TASKS) * len(MODELS)
    row = next(r for r in body["rows"] if r["task"] == "trivia" and r["model"] == "alpha")
    ma, mb = a.task_metrics("trivia", "alpha"), b.task_metrics("trivia", "alpha")
    assert row["a"]["mean"] == round(100 * ma.mean_accuracy, 2) and row["b"]["mean"] == round(
        100 * mb.mean_accuracy, 2
    )
    assert row["delta_mean"] == round(100 * (mb.mean_accuracy - ma.mean_accuracy), 2)


async def test_paging_walks_every_sample_once_in_key_order(client, runs_root):
    seen = []
    page = 0
    while True:
        body = await _get(client, "/api/samples", run="pool-a", page=page, page_size=37)
        assert len(body["rows"]) <= 37
        seen += [(r["task"], r["item_id"], r["model"], r["sample_index"]) for r in body["rows"]]
        if not body["has_next"]:
            break
        page += 1
    expected = [(r.task, r.item_id, r.model, r.sample_index) for r in _stored(runs_root / "pool-a")]
    assert seen == expected and page == len(expected) // 37
    assert (await _get(client, "/api/samples/count", run="pool-a"))["count"] == len(expected)


async def test_outcome_filters_match_the_stored_grades(client, runs_root):
    stored = Counter(_outcome(r) for r in _stored(runs_root / "pool-a"))
    assert {"right", "wrong", "no_answer", "truncated", "error"} <= set(stored)
    for outcome, n in stored.items():
        body = await _get(client, "/api/samples", run="pool-a", outcome=outcome, page_size=200)
        assert len(body["rows"]) == n and {r["outcome"] for r in body["rows"]} == {outcome}
        assert (await _get(client, "/api/samples/count", run="pool-a", outcome=outcome))["count"] == n
    error = (await _get(client, "/api/samples", run="pool-a", outcome="error"))["rows"][0]
    assert error["error"].startswith("HTTP 503") and error["preview"] is None


async def test_task_model_and_item_filters(client):
    body = await _get(client, "/api/samples", run="pool-a", task="trivia", model="beta", item_id="t2")
    assert [(r["task"], r["model"], r["item_id"]) for r in body["rows"]] == [
        ("trivia", "beta", "t2")
    ] * SAMPLES
    bad = await _get(client, "/api/samples", status=400, run="pool-a", outcome="maybe")
    assert "outcome" in bad["error"]


async def test_full_text_search_in_responses_and_prompts(client):
    await _wait_index(client, "pool-a")
    word = search_word("algebra", 1, "alpha", 0)
    hit = await _get(client, "/api/samples", run="pool-a", q=word)
    assert [(r["item_id"], r["model"], r["sample_index"]) for r in hit["rows"]] == [("a1", "alpha", 0)]
    prefix = await _get(
        client, "/api/samples", run="pool-a", q=search_word("algebra", 1, "alpha", 0)[:-1] + "*"
    )
    assert len(prefix["rows"]) == SAMPLES
    # "capital" is in every trivia question and in no response.
    prompt = await _get(client, "/api/samples/count", run="pool-a", q="capital", scope="prompt")
    response = await _get(client, "/api/samples/count", run="pool-a", q="Capital", scope="response")
    assert prompt["count"] == 6 * len(MODELS) * SAMPLES and response["count"] == 0
    combined = await _get(
        client, "/api/samples", run="pool-a", q="capital", model="gamma", outcome="right", page_size=200
    )
    assert combined["rows"] and all(
        r["task"] == "trivia" and r["model"] == "gamma" and r["outcome"] == "right" for r in combined["rows"]
    )
    nothing = await _get(client, "/api/samples", run="pool-a", q="^^ !!")
    assert nothing["rows"] == []


async def test_search_before_the_index_exists_says_so(run_copy):
    client, _ = await _client(run_copy.parent, build_index=False)
    try:
        body = await _get(client, "/api/samples", status=409, run="pool-a", q="capital")
        assert "not built" in body["error"]
        assert (await _get(client, "/api/samples", run="pool-a"))["rows"]  # browsing still works
    finally:
        await client.close()


async def test_index_follows_new_and_rewritten_samples(run_copy):
    client, viewer = await _client(run_copy.parent)
    try:
        await _wait_index(client, "pool-a")
        old = search_word("trivia", 3, "gamma", 1)
        assert len((await _get(client, "/api/samples", run="pool-a", q=old))["rows"]) == 1
        with ResultsStore(run_copy) as store:  # a resumed run: one sample redone, one new
            common = dict(
                task="trivia",
                item_id="t3",
                prompt_hash="hash-trivia-3",
                params=PARAMS,
                score=1.0,
                extracted="D",
                grade_reason="right",
            )
            store.write_samples(
                [
                    SampleRecord(model="gamma", sample_index=1, response="redone zanzibar", **common),
                    SampleRecord(model="gamma", sample_index=3, response="brand new okapi", **common),
                ]
            )
        run = viewer.run("pool-a")
        await asyncio.to_thread(run.index.ensure_current)
        assert (await _get(client, "/api/samples", run="pool-a", q=old))["rows"] == []
        assert [
            r["sample_index"]
            for r in (await _get(client, "/api/samples", run="pool-a", q="zanzibar"))["rows"]
        ] == [1]
        assert [
            r["sample_index"] for r in (await _get(client, "/api/samples", run="pool-a", q="okapi"))["rows"]
        ] == [3]
    finally:
        await client.close()


async def test_sample_detail_renders_markdown_math_code_and_escapes_html(client):
    d = await _get(
        client, "/api/sample", run="pool-a", task="algebra", item_id="a0", model="alpha", sample_index=0
    )
    assert d["sample"]["seed"] == 1000 and d["sample"]["finish_reason"] == "stop" and d["item"]["query"]
    assert "<strong>algebra</strong>" in d["response_html"] and d["response_html"].count("<math") == 2
    code = await _get(
        client, "/api/sample", run="pool-a", task="coding", item_id="c1", model="gamma", sample_index=0
    )
    assert (
        'class="language-python"' in code["response_html"]
        and '<span class="k">def</span>' in code["response_html"]
    )
    xss = await _get(
        client, "/api/sample", run="pool-a", task="trivia", item_id="t0", model="beta", sample_index=0
    )
    assert XSS in xss["sample"]["response"]
    assert "<script" not in xss["response_html"] and "<img" not in xss["response_html"]
    assert "&lt;script&gt;" in xss["response_html"]
    missing = await _get(
        client,
        "/api/sample",
        status=404,
        run="pool-a",
        task="trivia",
        item_id="t0",
        model="beta",
        sample_index=9,
    )
    assert "no sample" in missing["error"]


async def test_prompt_without_task_file_says_why(client):
    d = await _get(
        client, "/api/prompt", run="pool-a", task="trivia", item_id="t0", prompt_hash="hash-trivia-0"
    )
    assert d["messages"] is None and "could not be re-rendered" in d["note"]


async def test_item_across_models_votes_and_difficulty(client, runs_root):
    d = await _get(client, "/api/item", run="pool-a", task="trivia", item_id="t0")
    rows = [r for r in _stored(runs_root / "pool-a") if r.task == "trivia" and r.item_id == "t0"]
    assert d["item"]["gold"] == "A" and d["max_samples"] == SAMPLES
    assert [m["model"] for m in d["models"]] == sorted(MODELS)
    votes = Counter(r.extracted for r in rows if r.extracted is not None)
    assert {v["answer"]: v["votes"] for v in d["votes"]} == dict(votes)
    assert d["majority"]["answer"] == votes.most_common(1)[0][0]
    right_models = 0
    for m in MODELS:
        answers = Counter(r.extracted for r in rows if r.model == m and r.extracted is not None)
        right_models += answers.most_common(1)[0][0] == "A"
    assert d["difficulty"]["models_right"] == right_models and d["difficulty"]["models"] == len(MODELS)
    assert d["difficulty"]["share_samples_right"] == pytest.approx(sum(r.score for r in rows) / len(rows))


async def test_router_summary_plots_and_files(client, runs_root):
    files = await _get(client, "/api/router", run="pool-a")
    assert files["artifacts"] == ["k3.npz"]
    assert {"sweep/k_sweep.png", "sweep/model_count.png", "eval-k3-top1/routing_share.png"} <= set(
        files["plots"]
    )
    s = await _get(client, "/api/router/summary", run="pool-a", artifact="k3.npz")
    router = Router.load(runs_root / "pool-a" / "router" / "k3.npz")
    assert len(s["clusters"]) == router.meta.n_clusters
    assert sum(c["size"] for c in s["clusters"]) == router.meta.n_calibration
    assert all(c["examples"] and c["examples"][0]["query"] for c in s["clusters"])
    assert len(s["profile"]) == router.meta.n_clusters and all(len(r) == len(MODELS) for r in s["profile"])
    sources = [x["source"] for x in s["routing_share"]]
    assert sources[0].startswith("calibration") and "eval-k3-top1/report.json" in sources
    for share in s["routing_share"]:
        for per_model in share["share"].values():
            assert sum(per_model.values()) == pytest.approx(1.0)
    png = await client.get("/api/router/file", params={"run": "pool-a", "name": "sweep/k_sweep.png"})
    assert png.status == 200 and (await png.read()).startswith(b"\x89PNG")
    escape = await client.get("/api/router/file", params={"run": "pool-a", "name": "../results.sqlite"})
    assert escape.status == 404


async def test_route_one_query_matches_the_router_and_votes(client, runs_root, embedding_server):
    router = Router.load(runs_root / "pool-a" / "router" / "k3.npz")
    text = "which capital city river is this"
    r = await _get(client, "/api/router/route", run="pool-a", artifact="k3.npz", text=text, top_n=2)
    assert r["chosen"] == router.route(text, top_n=2) and len(r["nearest"]) == router.meta.n_clusters
    assert r["nearest"][0]["distance"] <= r["nearest"][-1]["distance"] and r["vote"] is None
    item = await _get(
        client, "/api/router/route", run="pool-a", artifact="k3.npz", task="trivia", item_id="t4"
    )
    assert item["chosen"] == ["beta"] and item["vote"]["models_used"] == 1
    assert item["vote"]["answer"] == "A" and item["vote"]["score"] == 1.0  # beta answers trivia right


async def test_the_store_is_never_written(runs_root):
    store = runs_root / "pool-b" / "results.sqlite"
    before = _digest(store)
    client, viewer = await _client(runs_root)
    try:
        await _wait_index(client, "pool-b")
        for path in ("/api/runs", "/api/facets"):
            await _get(client, path, run="pool-b")
        await _get(client, "/api/samples", run="pool-b", q="capital")
        with pytest.raises(sqlite3.OperationalError):
            viewer.run("pool-b").db.query("DELETE FROM samples")
    finally:
        await client.close()
    assert _digest(store) == before
    assert (runs_root / "pool-b" / "view-index.sqlite").is_file()


def test_bundle_embeds_first_pages_and_details(runs_root, tmp_path):
    from harness.view.bundle import api_key, write_bundle

    out = write_bundle(runs_root, tmp_path / "site", samples_per_filter=5)
    text = (out / "data.js").read_text(encoding="utf-8")
    assert (
        text.startswith("window.BUNDLE = ")
        and (out / "index.html").is_file()
        and (out / "static" / "app.js").is_file()
    )
    data = json.loads(text[len("window.BUNDLE = ") :].rstrip().rstrip(";"))
    api = data["api"]
    page = api[api_key("api/samples", {"run": "pool-a", "task": "coding", "model": "beta"})]
    assert len(page["rows"]) == 5 and page["has_next"]
    first = page["rows"][0]
    detail = api[
        api_key(
            "api/sample",
            {"run": "pool-a", **{k: first[k] for k in ("task", "item_id", "model", "sample_index")}},
        )
    ]
    assert detail["sample"]["response"]
    assert api_key("api/item", {"run": "pool-a", "task": "coding", "item_id": first["item_id"]}) in api
    assert api_key("api/compare", {"a": "pool-b", "b": "pool-a"}) in api
    assert (out / data["files"]["pool-a/sweep/k_sweep.png"]).read_bytes().startswith(b"\x89PNG")


@pytest.mark.realdata
async def test_prompt_is_rerendered_from_the_task_file_and_verified(tmp_path, data_dir):
    from harness.taskset import discover_tasks

    task = discover_tasks()["arc_challenge"]
    items = task.load_items(data_dir, limit=2)
    run_dir = tmp_path / "runs" / "arc"
    with ResultsStore(run_dir) as store:
        store.upsert_items([task.item_record(i) for i in items])
        store.upsert_items([task.item_record(items[1]).model_copy(update={"prompt_hash": "an older prompt"})])
    viewer = Viewer(run_dir.parent, data_dir=data_dir, build_index=False)
    client = TestClient(TestServer(build_app(viewer), host="127.0.0.1"))
    await client.start_server()
    try:
        ok = await _get(
            client,
            "/api/prompt",
            run="arc",
            task="arc_challenge",
            item_id=items[0].id,
            prompt_hash=items[0].prompt_hash,
        )
        assert ok["verified"] and ok["note"] is None
        assert [m["content"] for m in ok["messages"]] == [m.content for m in items[0].messages]
        assert items[0].query.split()[0] in ok["messages"][-1]["html"]
        changed = await _get(
            client,
            "/api/prompt",
            run="arc",
            task="arc_challenge",
            item_id=items[1].id,
            prompt_hash="an older prompt",
        )
        assert not changed["verified"] and "changed" in changed["note"]
    finally:
        await client.close()


async def test_a_run_folder_we_may_not_write_is_read_immutable_and_indexed_elsewhere(
    run_copy, monkeypatch, view_cache
):
    import os as real_os

    import harness.view.db as db_module
    import harness.view.search_index as index_module

    access = real_os.access

    def no_write(path, mode, **kwargs):  # as root every folder is writable: pretend this one is not
        if mode == real_os.W_OK and Path(path).resolve() == run_copy.resolve():
            return False
        return access(path, mode, **kwargs)

    assert db_module.os is index_module.os is real_os
    monkeypatch.setattr(real_os, "access", no_write)
    assert db_module.readonly_uri(run_copy / "results.sqlite").endswith("?mode=ro&immutable=1")
    client, viewer = await _client(run_copy.parent)
    try:
        await _wait_index(client, "pool-a")
        assert viewer.run("pool-a").index.path.is_relative_to(view_cache)
        assert not (run_copy / "view-index.sqlite").exists()
        word = search_word("coding", 2, "beta", 1)
        assert len((await _get(client, "/api/samples", run="pool-a", q=word))["rows"]) == 1
    finally:
        await client.close()


async def test_columns_added_by_a_newer_store_are_passed_through(run_copy):
    conn = sqlite3.connect(run_copy / "results.sqlite")
    conn.execute("ALTER TABLE samples ADD COLUMN response_sha256 TEXT")
    conn.execute("UPDATE samples SET response_sha256 = 'abc123' WHERE task = 'trivia' AND item_id = 't1'")
    conn.commit()
    conn.close()
    client, _ = await _client(run_copy.parent, build_index=False)
    try:
        d = await _get(
            client, "/api/sample", run="pool-a", task="trivia", item_id="t1", model="alpha", sample_index=0
        )
        assert d["sample"]["response_sha256"] == "abc123" and d["sample"]["outcome"]
        page = await _get(client, "/api/samples", run="pool-a", task="trivia")
        assert page["rows"]
    finally:
        await client.close()
