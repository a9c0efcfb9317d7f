"""RouterDC (ours) variants on RouterDC's released data, each chosen and scored as the fidelity bench does.

For each variant and seed: fitted on the train files (its steps and grids chosen on a 20 % holdout of
them), scored on the test files. ``validation`` is the holdout metric (what a choice between variants
may use; a variant with more grid points or checkpoints gets a slightly optimistic one), ``test`` is
only reported. ``probabilities`` trains the sample-LLM loss on the released scores themselves (the
gold option's probability on multiple-choice items) instead of right/wrong.

    python -m router.trained.variants [--routerdata DIR] [--variants default,steps6000,...]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from router.trained.routerdc import RouterDCConfig, fit_routerdc

# name -> (config, train on the released scores). "default" is RouterDCConfig() now; "previous
# default" is what it was before these variants were compared.
PREVIOUS = RouterDCConfig(batch_size=64, steps=2000, patience=8, temperatures=[1.0])
VARIANTS: dict[str, tuple[RouterDCConfig, bool]] = {
    "default": (RouterDCConfig(), False),
    "previous default": (PREVIOUS, False),
    "previous + probabilities": (PREVIOUS, True),
    "previous + steps6000, no early stop": (
        PREVIOUS.model_copy(update={"steps": 6000, "patience": None}),
        False,
    ),
    "previous + temperature grid 0.1/0.5/1": (
        PREVIOUS.model_copy(update={"temperatures": [0.1, 0.5, 1.0]}),
        False,
    ),
    "previous + lr grid 3e-4/1e-3/3e-3": (
        PREVIOUS.model_copy(update={"learning_rates": [3e-4, 1e-3, 3e-3]}),
        False,
    ),
    "previous + batch 16 (theirs)": (PREVIOUS.model_copy(update={"batch_size": 16}), False),
    "previous + no sample-sample loss": (PREVIOUS.model_copy(update={"sample_loss_weight": 0.0}), False),
}


def released_scores(folder: Path, keys: list[tuple[str, str]], models: list[str]) -> np.ndarray:
    """[rows, models] the files' own scores for the imported items (item ids are ``<part>-<index>``)."""
    from router.importers.routerdc import load_routerdc_rows, routerdc_files

    files, _ = routerdc_files(folder)
    rows = {
        (task, part): load_routerdc_rows(path)
        for task, parts in files.items()
        for part, path in parts.items()
    }
    out = np.empty((len(keys), len(models)))
    for i, (task, item) in enumerate(keys):
        part, index = item.split("-")
        scores = rows[(task, part)][int(index)][1]
        out[i] = [scores[m] for m in models]
    return out


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from bench.router_fidelity import SEEDS, default_routerdata
    from results.store import ResultsStore
    from router.embedders import make_embedder
    from router.evaluate import split_provider
    from router.importers import import_routerdc
    from router.runs import embed_table, open_table
    from router.scoring import ScoreBook

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--routerdata", type=Path, default=default_routerdata())
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help="comma list of: " + ", ".join(VARIANTS)
    )
    args = parser.parse_args()
    names = [n.strip() for n in args.variants.split(",") if n.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}")

    with tempfile.TemporaryDirectory(prefix="routerdc-variants-") as run:
        with ResultsStore(Path(run)) as store:
            import_routerdc(args.routerdata, store)
        table, recorded = open_table(Path(run))
    embeddings = embed_table(table, make_embedder("minilm", progress=True))
    book = ScoreBook(table)
    released = released_scores(args.routerdata, list(table.keys), table.models)
    split_for = split_provider(table, recorded, None)
    tasks = sorted(t for t in table.tasks if t not in table.ood_tasks)

    print("| variant | validation | test | " + " | ".join(tasks) + " |")
    print("|---|---:|---:|" + "---:|" * len(tasks))
    for name in names:
        config, on_released = VARIANTS[name]
        validation, per_seed = [], []
        started = time.perf_counter()
        for seed in SEEDS:
            split = split_for(seed)
            cal, test = table.rows_of(split.calibration), table.rows_of(split.test)
            router = fit_routerdc(
                embeddings[cal], book.mean[cal], table.task_of[cal], table.models, seed=seed, config=config,
                targets=released[cal] if on_released else None,
            )  # fmt: skip
            validation.append(100 * router.chosen["validation"])
            per_seed.append(book.per_task(test, book.routed(test, router.order(embeddings[test]))))
            print(f"{name} seed {seed}: {json.dumps(router.chosen)}", file=sys.stderr, flush=True)
        averages = [np.mean([p[t] for t in tasks]) for p in per_seed]
        print(
            f"| {name} | {np.mean(validation):.2f} | {np.mean(averages):.2f} ± {np.std(averages):.2f} | "
            + " | ".join(f"{np.mean([p[t] for p in per_seed]):.2f}" for t in tasks)
            + " |",
            flush=True,
        )
        print(f"{name}: {time.perf_counter() - started:.0f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
