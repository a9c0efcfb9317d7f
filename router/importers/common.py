"""What every importer shares: errors, the summary, item/sample records and a batched writer."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import numbers
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from results.records import ItemRecord, SampleRecord, SamplingParams
from results.store import ResultsStore
from router.costs import CostKey, record_costs
from router.split import SPLIT_META_KEY, ItemKey, Part, merge_split_meta

# Categories of the tasks found in public router tables (the harness task files use the same names).
KNOWN_CATEGORIES = {
    "gsm8k": "math",
    "math": "math",
    "math500": "math",
    "aime": "math",
    "grade-school-math": "math",  # RouterBench's GSM8K
    "mathbench": "math",
    "livemathbench": "math",
    "humaneval": "code",
    "human_eval": "code",  # LLMRouter
    "javascript": "code",  # RouterDC's HumanEval-X JavaScript (OOD)
    "livecodebench": "code",
    "mbpp": "code",
    "mmlu": "knowledge",
    "cmmlu": "knowledge",
    "arc_challenge": "knowledge",
}
PART_OF_SPLIT: dict[str, Part] = {"train": "calibration", "calibration": "calibration", "test": "test"}
# "train" / "test" as a word of a file name: seed0_split1/train.jsonl, default_routing_test_data.jsonl.
_SPLIT_WORD = re.compile(r"(?:^|[_.-])(?P<part>train|test)(?:$|[_.-])", re.IGNORECASE)


def split_in_name(stem: str) -> str | None:
    """The split a file's name states ("train" or "test"), else None."""
    match = _SPLIT_WORD.search(stem)
    return match["part"].lower() if match else None


def part_of(split: str | None) -> Part | None:
    """The store's part for a split name ("train"/"calibration"/"test"); None for none."""
    return None if split is None else PART_OF_SPLIT[split]


DuplicatePolicy = Literal["error", "max"]


class ImportFormatError(ValueError):
    """An input table is malformed; the message names the file and the row."""


class ImportSummary(BaseModel):
    tasks: dict[str, int] = Field(description="items imported per task")
    models: list[str]
    samples: int
    score_kinds: dict[str, str] = Field(default_factory=dict)
    split_recorded: bool
    ood_tasks: list[str] = Field(default_factory=list)
    costs: int = Field(default=0, description="(item, model) cells with a recorded cost")
    notes: list[str] = Field(default_factory=list, description="files skipped and rows renamed, with reasons")


def prompt_hash(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8")).hexdigest()[:16]


def category_of(task: str, overrides: Mapping[str, str] | None = None) -> str:
    if overrides and task in overrides:
        return overrides[task]
    name = task.lower()
    return KNOWN_CATEGORIES.get(name, KNOWN_CATEGORIES.get(name.split("-")[0].split("_")[0], "knowledge"))


def checked_score(value: Any, where: str) -> float:
    """A finite score in [0, 1] (fractions kept as they are), else an error naming ``where``."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ImportFormatError(f"{where}: score {value!r} is not a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ImportFormatError(f"{where}: score is not a finite number ({value!r})")
    if not 0.0 <= value <= 1.0:
        raise ImportFormatError(f"{where}: score is outside [0, 1] ({value!r})")
    return float(value)


def graded_score(value: Any, where: str, threshold: float | None = None) -> float:
    """A correctness score from a cell: booleans and "true"/"false" are 1/0; numbers must lie in [0, 1]
    unless ``threshold`` is given, when a score >= threshold counts as right (1) and any other as 0."""
    if type(value) in (int, float) and threshold is None and 0 <= value <= 1:  # the common case, fast
        return float(value)
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        value = value.strip().lower() == "true"
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ImportFormatError(f"{where}: score {value!r} is not a number") from None
    if not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ImportFormatError(f"{where}: score is not a finite number ({value!r})")
    if threshold is not None:
        return 1.0 if value >= threshold else 0.0
    if not 0.0 <= value <= 1.0:
        raise ImportFormatError(
            f"{where}: score {value!r} is outside [0, 1]; for graded scores (ratings, BLEU, rewards) "
            "pass --threshold T: a score >= T counts as correct"
        )
    return float(value)


def is_blank(value: Any) -> bool:
    """None, NaN (float, numpy or pandas NA/NaT) or an empty/whitespace string: a missing cell."""
    if value is None or type(value).__name__ in {"NAType", "NaTType"}:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isnan(value)


def id_text(value: Any) -> Any:
    """An id cell as text: ints as they are, integral floats (pandas writes ids of a column with a blank
    as 3.0) without the ".0"; anything else unchanged, for the caller's own check."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    return value


def text_field(value) -> str:
    """The loader's normalisation: None -> "", lists/objects -> JSON text, anything else -> str."""
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def optional_count(value, where: str, name: str) -> int | None:
    if is_blank(value):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ImportFormatError(f"{where}: {name} is not a token count ({value!r})")
    return int(value)


def optional_cost(value, where: str) -> float | None:
    if is_blank(value):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ImportFormatError(f"{where}: cost is not a non-negative number ({value!r})")
    return float(value)


def score_or_zero(value, where: str) -> tuple[float, bool]:
    """(score, was null): a null score is a failed evaluation and counts as 0, as upstream does."""
    if value is None:
        return 0.0, True
    if isinstance(value, bool):
        return float(value), False
    return checked_score(value, where), False


def _utf8_lines(path: Path, fh) -> Iterator[str]:
    """The lines of a binary file as text; a line that is not UTF-8 is an error naming it."""
    for number, raw in enumerate(fh, start=1):
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise ImportFormatError(
                f"{path}: line {number}: not UTF-8 text (byte {exc.start} of the line)"
            ) from exc


def open_binary(path: Path):
    """The file's bytes, gunzipped for ``*.gz`` (``rows.jsonl.gz``, ``train.csv.gz``)."""
    if path.suffix.lower() == ".gz":
        import gzip

        return gzip.open(path, "rb")
    return path.open("rb")


def table_suffix(path: Path) -> str:
    """The table's own suffix: ``.csv`` for both ``rows.csv`` and ``rows.csv.gz``."""
    suffixes = [s.lower() for s in path.suffixes]
    return suffixes[-2] if len(suffixes) > 1 and suffixes[-1] == ".gz" else path.suffix.lower()


def table_stem(path: Path) -> str:
    """The name without its table suffix: ``train`` for ``train.csv`` and ``train.csv.gz``."""
    name = path.name[: -len(".gz")] if path.suffix.lower() == ".gz" else path.name
    return Path(name).stem


def json_line_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(``"<file>: line N"``, object) per non-blank line of a JSON-lines file; a line that is not a JSON
    object, or a file that cannot be read, is an ImportFormatError naming it."""
    try:
        with open_binary(path) as fh:
            for number, line in enumerate(_utf8_lines(path, fh), start=1):
                if not line.strip():
                    continue
                where = f"{path}: line {number}"
                try:
                    row = json.loads(line)
                except ValueError as exc:
                    raise ImportFormatError(f"{where}: not JSON ({exc})") from exc
                if not isinstance(row, dict):
                    raise ImportFormatError(f"{where}: expected a JSON object")
                yield where, row
    except (OSError, EOFError) as exc:  # gzip's BadGzipFile is an OSError, a cut-off stream an EOFError
        raise ImportFormatError(f"{path}: cannot read ({exc})") from exc


# Public tables keep whole model responses in a cell; the csv module's default cap is 128 KiB.
csv.field_size_limit(1 << 30)


def csv_rows(path: Path, *, delimiter: str = ",") -> Iterator[tuple[str, dict[str, Any]]]:
    """(``"<file>: line N"``, row) per CSV record, N being the line the record ends on; a record with
    more fields than the header, a NUL byte or a line that is not UTF-8 is an error naming the line."""
    try:
        with open_binary(path) as fh:
            reader = csv.DictReader(_utf8_lines(path, fh), delimiter=delimiter)
            try:
                for row in reader:
                    where = f"{path}: line {reader.line_num}"
                    if None in row:
                        raise ImportFormatError(
                            f"{where}: {len(reader.fieldnames or []) + len(row[None])} fields, "
                            f"the header has {len(reader.fieldnames or [])}"
                        )
                    yield where, row
            except csv.Error as exc:
                raise ImportFormatError(f"{path}: line {reader.line_num}: not valid CSV ({exc})") from exc
    except (OSError, EOFError) as exc:  # gzip's BadGzipFile is an OSError, a cut-off stream an EOFError
        raise ImportFormatError(f"{path}: cannot read ({exc})") from exc


_IMPORTED_PARAMS = SamplingParams()


class TableWriter:
    """Collects items, samples, split membership and costs of one import and writes them in batches."""

    def __init__(
        self,
        store: ResultsStore,
        source: str,
        *,
        batch_size: int = 5000,
        duplicates: DuplicatePolicy = "error",
    ):
        self.store = store
        self.source = source
        self.batch_size = batch_size
        self.duplicates = duplicates
        # (task, item, model, sample) -> score written: a repeated cell is skipped if equal, else an
        # error ("error") or the higher score kept ("max"); the store itself would keep the last silently.
        self._seen: dict[tuple[str, str, str, int], float] = {}
        self.n_repeats = 0
        self.n_conflicts = 0
        self.items: dict[ItemKey, ItemRecord] = {}
        self.parts: dict[ItemKey, Part] = {}
        self.costs: dict[CostKey, float] = {}
        self.models: set[str] = set()
        self.n_samples = 0
        self.notes: list[str] = []
        self._pending_items: list[ItemRecord] = []
        self._pending: list[SampleRecord] = []

    def item(
        self,
        task: str,
        item_id: str,
        query: str,
        *,
        where: str,
        part: Part | None = None,
        category: str | None = None,
        ood: bool = False,
    ) -> None:
        key = (task, item_id)
        known = self.items.get(key)
        if known is None:
            record = ItemRecord(
                task=task,
                item_id=item_id,
                category=category or category_of(task),
                ood=ood,
                query=query,
                prompt_hash=prompt_hash(query),
            )
            self.items[key] = record
            self._pending_items.append(record)
        elif known.query != query:
            raise ImportFormatError(
                f"{where}: item {task}/{item_id} has a different query than an earlier row"
            )
        if part is not None and self.parts.setdefault(key, part) != part:
            raise ImportFormatError(f"{where}: item {task}/{item_id} is in both splits")

    def sample(
        self,
        task: str,
        item_id: str,
        model: str,
        score: float,
        *,
        raw: Any = None,
        index: int = 0,
        extracted: str | None = None,
        cost: float | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        where: str | None = None,
    ) -> None:
        record = self.items[(task, item_id)]
        key = (record.task, record.item_id, sys.intern(model), index)
        known = self._seen.get(key)
        if known is not None:
            if known == score:
                self.n_repeats += 1
                return
            if self.duplicates == "error":
                raise ImportFormatError(
                    f"{where or self.source}: {task}/{item_id}, model {model}, sample {index} has score "
                    f"{score!r} here and {known!r} in an earlier row (conflicting duplicate; pass "
                    "--duplicates max to keep the higher score)"
                )
            self.n_conflicts += 1
            if score < known:
                return
        self._seen[key] = score
        self._pending.append(
            # Built without re-validation: every field was checked on its way here, and validating
            # them again was about a tenth of a large import's time.
            SampleRecord.model_construct(
                task=record.task,
                item_id=record.item_id,
                model=key[2],
                sample_index=int(index),
                prompt_hash=record.prompt_hash,
                params=_IMPORTED_PARAMS,
                extracted=extracted,
                score=float(score),
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                grade_reason="right" if score >= 1.0 else "wrong",
                grade_detail=f"imported from {self.source}: raw value {score if raw is None else raw!r}",
            )
        )
        self.models.add(model)
        if cost is not None:
            self.costs[(task, item_id, model)] = float(cost)
        if len(self._pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if self._pending_items:
            self.store.upsert_items(self._pending_items)
            self._pending_items = []
        if self._pending:
            self.store.write_samples(self._pending)
            self._pending = []
        self.n_samples = len(self._seen)

    def _note_coverage(self) -> None:
        if self.n_repeats:
            self.notes.append(f"{self.n_repeats} repeated rows with the same score as an earlier row skipped")
        if self.n_conflicts:
            self.notes.append(f"{self.n_conflicts} repeated rows with a different score: the higher kept")
        cells = len({key[:3] for key in self._seen})
        total = len(self.items) * len(self.models)
        if cells < total:
            self.notes.append(
                f"{total - cells} of {total} (item, model) cells have no score: some models are missing "
                "on some queries (those cells are left without a score)"
            )

    def finish(self, *, where: str, score_kinds: Mapping[str, str] | None = None) -> ImportSummary:
        if not self.items:
            raise ImportFormatError(f"{where}: no rows")
        self.flush()
        if self.parts:
            if len(self.parts) != len(self.items):
                missing = next(k for k in self.items if k not in self.parts)
                raise ImportFormatError(
                    f"{where}: some rows have a split and some do not (e.g. item {missing[0]}/{missing[1]})"
                )
            self.store.set_meta(
                SPLIT_META_KEY,
                merge_split_meta(self.store.get_meta(SPLIT_META_KEY), self.parts, self.source),
            )
        record_costs(self.store, self.costs)
        self._note_coverage()
        per_task: dict[str, int] = {}
        for task, _ in self.items:
            per_task[task] = per_task.get(task, 0) + 1
        return ImportSummary(
            tasks=per_task,
            models=sorted(self.models),
            samples=self.n_samples,
            score_kinds=dict(score_kinds or {}),
            split_recorded=bool(self.parts),
            ood_tasks=sorted({t for (t, _), i in self.items.items() if i.ood}),
            costs=len(self.costs),
            notes=self.notes,
        )
