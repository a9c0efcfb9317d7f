"""`harness merge RUN_DIR`: join the shard stores of a sharded run into RUN_DIR/results.sqlite.

The merged store holds exactly the rows the shards hold (copied column by column, by name, so
columns added to the schema later survive) and the merged manifest is the one an unsharded run
writes, so `harness report` gives the report an unsharded run would give. Refused: missing shards,
shards of different counts, an item stored in a shard that does not own it (overlap), shards run
with different sampling, seed, samples, limit, tasks, task files or models, and (unless allowed)
incomplete shards.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pydantic import BaseModel

from harness.shards import SHARDS_DIRNAME, ShardSpec, parse_shard_dirname, shard_of
from results.manifest import RunManifest, read_manifest, write_manifest
from results.store import DB_FILENAME, ResultsStore, StoreError

MERGED_META_KEY = "merged_from_shards"
_COPIED_TABLES = ("items", "samples")


class MergeError(StoreError):
    """The shards cannot be merged into one run; the message says which shard and why."""


class ShardCoverage(BaseModel):
    shard: str
    items: int
    expected_samples: int
    complete_samples: int

    @property
    def complete(self) -> bool:
        return self.complete_samples >= self.expected_samples


class MergeResult(BaseModel):
    run_dir: Path
    shard_count: int
    coverage: list[ShardCoverage]
    rows: int

    def summary_lines(self) -> list[str]:
        lines = [
            f"shard {c.shard}: {c.items} items, {c.complete_samples}/{c.expected_samples} samples complete"
            for c in self.coverage
        ]
        done = sum(c.complete_samples for c in self.coverage)
        expected = sum(c.expected_samples for c in self.coverage)
        share = 100.0 * done / expected if expected else 100.0
        lines.append(f"coverage: {done}/{expected} samples ({share:.1f}%) from {self.shard_count} shards")
        return lines


def find_shards(run_dir: Path) -> dict[int, tuple[ShardSpec, Path]]:
    """The shard directories of a run, keyed by index; refuses mixed counts and missing shards."""
    shards_dir = Path(run_dir) / SHARDS_DIRNAME
    if not shards_dir.is_dir():
        raise MergeError(f"{run_dir} has no {SHARDS_DIRNAME}/ directory: was it run with --shard?")
    found = [
        (spec, path)
        for path in sorted(shards_dir.iterdir())
        if path.is_dir() and (spec := parse_shard_dirname(path.name)) is not None
    ]
    if not found:
        raise MergeError(f"{shards_dir} holds no shard directories named <i>-of-<N>")
    counts = sorted({spec.count for spec, _ in found})
    if len(counts) > 1:
        raise MergeError(f"{shards_dir} mixes shard counts {counts}: a run is split one way only")
    count = counts[0]
    by_index = {spec.index: (spec, path) for spec, path in found}
    missing = [i for i in range(count) if i not in by_index or not (by_index[i][1] / DB_FILENAME).is_file()]
    if missing:
        raise MergeError(
            f"{shards_dir}: shard(s) {', '.join(f'{i}-of-{count}' for i in missing)} missing (no results "
            f"store); run them (--shard i/{count}) before merging"
        )
    return by_index


def _model_names(manifest: RunManifest) -> list[str]:
    return sorted(str(m.get("name")) for m in manifest.config.get("models", []))


def _identity(manifest: RunManifest) -> dict[str, object]:
    """What every shard of one run must share (the sampling settings first)."""
    return {
        "sampling": manifest.sampling.model_dump(),
        "model_sampling": {k: v.model_dump() for k, v in sorted(manifest.model_sampling.items())},
        "seed": manifest.seed,
        "samples per item": manifest.n_samples,
        "limit": manifest.limit,
        "tasks": sorted(manifest.tasks),
        "task files": dict(sorted(manifest.task_hashes.items())),
        "models": _model_names(manifest),
    }


def _check_manifests(shards: dict[int, tuple[ShardSpec, Path]]) -> dict[int, RunManifest]:
    manifests: dict[int, RunManifest] = {}
    for index, (spec, path) in sorted(shards.items()):
        manifest = read_manifest(path)
        if manifest is None:
            raise MergeError(f"shard {spec.dirname} ({path}) has no manifest: did it start?")
        manifests[index] = manifest
    first_index = min(manifests)
    reference = _identity(manifests[first_index])
    for index, manifest in manifests.items():
        identity = _identity(manifest)
        differs = [key for key in reference if identity[key] != reference[key]]
        if differs:
            details = "; ".join(f"{key}: {reference[key]!r} vs {identity[key]!r}" for key in differs)
            raise MergeError(
                f"shards {shards[first_index][0].dirname} and {shards[index][0].dirname} were run with "
                f"different settings ({details}); they are not parts of one run"
            )
    return manifests


def _check_ownership_and_coverage(spec: ShardSpec, path: Path, manifest: RunManifest) -> ShardCoverage:
    with ResultsStore(path, readonly=True) as store:
        items = list(store.iter_items())
        for item in items:
            owner = shard_of(item.task, item.item_id, spec.count)
            if owner != spec.index:
                raise MergeError(
                    f"shard {spec.dirname} stores item ({item.task}, {item.item_id}), which belongs to shard "
                    f"{owner}-of-{spec.count}: shards overlap (was it run with a different --shard?)"
                )
        complete = len(store.completed_keys())
        models = len(_model_names(manifest))
    return ShardCoverage(
        shard=spec.dirname,
        items=len(items),
        expected_samples=len(items) * models * (manifest.n_samples or 1),
        complete_samples=complete,
    )


def _columns(conn: sqlite3.Connection, schema: str, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA {schema}.table_info({table})")]


def _copy_rows(target: Path, shard_dbs: list[Path]) -> int:
    conn = sqlite3.connect(target, isolation_level=None)
    try:
        conn.execute("BEGIN")
        for db in shard_dbs:
            conn.execute("ATTACH DATABASE ? AS shard", (f"file:{db}?mode=ro",))
            for table in _COPIED_TABLES:
                shared = [
                    c for c in _columns(conn, "main", table) if c in set(_columns(conn, "shard", table))
                ]
                names = ", ".join(shared)
                try:
                    conn.execute(f"INSERT INTO main.{table} ({names}) SELECT {names} FROM shard.{table}")
                except sqlite3.IntegrityError as exc:
                    raise MergeError(f"{db}: {table} rows also stored by another shard ({exc})") from exc
            conn.execute("INSERT OR IGNORE INTO main.meta (key, value) SELECT key, value FROM shard.meta")
            conn.execute("COMMIT")
            conn.execute("DETACH DATABASE shard")
            conn.execute("BEGIN")
        rows = conn.execute("SELECT COUNT(*) FROM samples").fetchone()[0]
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return int(rows)


def _prepare_target(run_dir: Path) -> None:
    """Remove an earlier merge's store (re-merging after re-running a shard); never an unsharded run's."""
    db = run_dir / DB_FILENAME
    if not db.exists():
        return
    with ResultsStore(run_dir, readonly=True) as store:
        merged_before = store.get_meta(MERGED_META_KEY) is not None
    if not merged_before:
        raise MergeError(f"{db} exists and was not written by `harness merge`; refusing to overwrite it")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def merged_manifest(manifests: dict[int, RunManifest]) -> RunManifest:
    """The manifest an unsharded run of the same command writes (no shard in the request)."""
    first = manifests[min(manifests)]
    config = dict(first.config)
    if isinstance(config.get("request"), dict):
        config["request"] = {**config["request"], "shard": None}
    task_info = {}
    for manifest in manifests.values():
        task_info.update(manifest.task_info)
    return first.model_copy(
        update={
            "config": config,
            "created_at": min(m.created_at for m in manifests.values()),
            "updated_at": max(m.updated_at for m in manifests.values()),
            "task_info": task_info,
        }
    )


def merge_shards(run_dir: Path | str, *, allow_incomplete: bool = False) -> MergeResult:
    run_dir = Path(run_dir)
    shards = find_shards(run_dir)
    manifests = _check_manifests(shards)
    coverage = [
        _check_ownership_and_coverage(spec, path, manifests[index])
        for index, (spec, path) in sorted(shards.items())
    ]
    incomplete = [c for c in coverage if not c.complete]
    if incomplete and not allow_incomplete:
        raise MergeError(
            "incomplete shard(s): "
            + ", ".join(f"{c.shard} ({c.complete_samples}/{c.expected_samples} samples)" for c in incomplete)
            + ". Re-run them with the same command to resume, or pass --allow-incomplete"
        )
    _prepare_target(run_dir)
    with ResultsStore(run_dir) as store:  # creates the current schema, including any newer columns
        store.set_meta(MERGED_META_KEY, str(len(shards)))
    rows = _copy_rows(run_dir / DB_FILENAME, [path / DB_FILENAME for _, (_, path) in sorted(shards.items())])
    write_manifest(run_dir, merged_manifest(manifests))
    return MergeResult(run_dir=run_dir, shard_count=len(shards), coverage=coverage, rows=rows)
