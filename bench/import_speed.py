"""Time and peak memory of `route import --format long` on a generated table of N rows, against a bare
csv.DictReader pass over the same file measured in the same run (the ratio is the figure to watch).

    PYTHONPATH=$PWD python bench/import_speed.py --rows 1000000 --models 10
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_table(path: Path, rows: int, models: int) -> None:
    rng = random.Random(0)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["task", "item", "query", "model", "correct"])
        for n in range(rows // models):
            query = f"question {n} about topic {n % 97}: " + "words " * 20
            for m in range(models):
                writer.writerow([f"task{n % 5}", n, query, f"model-{m}", rng.randint(0, 1)])


def bare_read_seconds(path: Path) -> float:
    start = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as fh:
        for _ in csv.DictReader(fh):
            pass
    return time.perf_counter() - start


def import_run(path: Path, run: Path) -> tuple[float, float, dict]:
    """(seconds, peak RSS MiB of the child, summary) of the CLI import in a fresh process."""
    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "route",
            "import",
            "--format",
            "long",
            "--run",
            str(run),
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return seconds, peak_mib, json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--models", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        table = Path(tmp) / "rows.csv"
        write_table(table, args.rows, args.models)
        read = bare_read_seconds(table)
        seconds, peak, summary = import_run(table, Path(tmp) / "run")
    result = {
        "rows": summary["samples"],
        "import_s": round(seconds, 1),
        "bare_csv_read_s": round(read, 2),
        "ratio_to_bare_read": round(seconds / read, 1),
        "rows_per_s": round(summary["samples"] / seconds),
        "peak_rss_mib": round(peak),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
