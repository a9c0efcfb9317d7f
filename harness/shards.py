"""`--shard i/N`: a stable partition of a run's (task, item) pairs into N disjoint shards.

An item's shard is sha256(task NUL item_id) mod N, so it depends on nothing but the item's identity:
not on the order items are loaded in, on --limit ordering, or on which other tasks are selected.
Every shard of one run writes its own store under <run>/shards/<i>-of-<N>/ (i counts from 0, as
SLURM_ARRAY_TASK_ID does with --array=0-<N-1>); `harness merge <run>` joins them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

SHARDS_DIRNAME = "shards"
_SHARD_TEXT = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
_SHARD_DIR = re.compile(r"^(\d+)-of-(\d+)$")

ItemT = TypeVar("ItemT")


def shard_of(task: str, item_id: str, count: int) -> int:
    """The shard (0 .. count-1) that owns (task, item_id)."""
    digest = hashlib.sha256(f"{task}\0{item_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


class ShardSpec(BaseModel):
    """Shard `index` of `count` (0-based)."""

    model_config = ConfigDict(frozen=True)

    index: int = Field(ge=0)
    count: int = Field(ge=1)

    @model_validator(mode="after")
    def _index_in_range(self) -> ShardSpec:
        if self.index >= self.count:
            raise ValueError(f"shard index {self.index} is not in 0..{self.count - 1}")
        return self

    @classmethod
    def parse(cls, text: str) -> ShardSpec:
        """'3/16' -> shard 3 of 16; a clear ValueError for anything else."""
        match = _SHARD_TEXT.match(text)
        if match is None:
            raise ValueError(f"--shard wants INDEX/COUNT with 0 <= INDEX < COUNT (e.g. 3/16), got {text!r}")
        index, count = int(match.group(1)), int(match.group(2))
        if count < 1 or index >= count:
            raise ValueError(f"--shard {text}: INDEX must be in 0..COUNT-1 and COUNT >= 1")
        return cls(index=index, count=count)

    @property
    def dirname(self) -> str:
        return f"{self.index}-of-{self.count}"

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, task: str, item_id: str) -> bool:
        return shard_of(task, item_id, self.count) == self.index

    def run_dir(self, run_dir: Path) -> Path:
        """Where this shard of the run `run_dir` keeps its store, manifest and report."""
        return Path(run_dir) / SHARDS_DIRNAME / self.dirname

    def select(
        self, items: Mapping[str, Sequence[ItemT]], item_id=lambda item: item.id
    ) -> dict[str, list[ItemT]]:
        """Each task's items that this shard owns (a task may keep none)."""
        return {
            task: [i for i in task_items if self.owns(task, item_id(i))] for task, task_items in items.items()
        }


def parse_shard_dirname(name: str) -> ShardSpec | None:
    match = _SHARD_DIR.match(name)
    if match is None:
        return None
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or index >= count:
        return None
    return ShardSpec(index=index, count=count)
