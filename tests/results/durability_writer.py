"""Child process for the durability test: writes batches forever, printing the committed row count.

Usage: python durability_writer.py RUN_DIR BATCH_SIZE
"""

from __future__ import annotations

import sys
from pathlib import Path

from results.records import SampleRecord, SamplingParams
from results.store import ResultsStore


def main() -> None:
    run_dir, batch_size = Path(sys.argv[1]), int(sys.argv[2])
    params = SamplingParams()
    written = 0
    with ResultsStore(run_dir) as store:
        while True:
            batch = [
                SampleRecord(
                    task="durability",
                    item_id=f"{n:08d}",
                    model="writer",
                    sample_index=0,
                    prompt_hash="h",
                    params=params,
                    response="x" * 200,
                )
                for n in range(written, written + batch_size)
            ]
            store.write_samples(batch)
            written += batch_size
            print(written, flush=True)


if __name__ == "__main__":
    main()
