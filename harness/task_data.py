"""Loading a task's rows and turning them into normalised items.

Rows come from the local mirror (``--data-dir`` / ``$HARNESS_DATA_DIR``) when it
holds the task's files, else from the Hugging Face hub.  A row is mapped onto an
*item*: a flat dict of the keys listed in :mod:`harness.task_spec` (id, question,
answer, lettered choices ...), which prompt templates and gold mappings read.
"""

from __future__ import annotations

import csv
import gzip
import importlib
import importlib.util
import io
import json
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness import hub as hf_hub
from harness.settings import DATA_DIR_ENV
from harness.task_spec import ChoicesSpec, FieldMap, HubPart, LocalPart, SourceSpec, SubsetSpec

# The installed harness's own packages: code there runs without --trust-task-code.
TRUSTED_CODE_ROOTS = tuple(Path(__file__).resolve().parents[1] / name for name in ("tasks", "graders", "harness"))
_TRUST = {"task_code": False}
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
EMPTY_OPTION_TEXTS = frozenset({"", "N/A", "n/a"})


class TaskDataError(RuntimeError):
    """The task's data could not be loaded or does not match its task file."""


@dataclass
class PartRows:
    """The rows of one source part (one local file or one hub split) and the field mapping that applies."""

    label: str
    rows: list[dict[str, Any]]
    fields: FieldMap
    origin: str


@dataclass
class PreprocessContext:
    """What a `preprocess` function may use besides the rows of one part."""

    task: str
    part: str
    data_dir: Path | None
    origin: str
    params: dict[str, Any] = field(default_factory=dict)  # the task file's preprocess_args

    def read(self, files: str, format: str, **options: Any) -> list[dict[str, Any]]:
        """Rows of extra local files (e.g. rules or exemplars) under the data dir, in sorted file order."""
        if self.data_dir is None:
            raise TaskDataError(
                f"task {self.task}: needs local file(s) {files!r}, which are not on the hub; "
                f"pass --data-dir or set ${DATA_DIR_ENV} to a mirror that has them"
            )
        part = LocalPart.model_validate({"files": files, "format": format, **options})
        return [row for _, _, rows in read_local_part(self.data_dir, part) for row in rows]


# --------------------------------------------------------------------------- reading files


def _open_bytes(path: Path, part: LocalPart) -> bytes:
    if part.zip_member:
        import pyzipper

        try:
            with pyzipper.AESZipFile(path) as archive:
                if part.zip_password:
                    archive.setpassword(part.zip_password.encode())
                return archive.read(part.zip_member)
        except KeyError as exc:
            raise TaskDataError(f"{path}: archive has no member {part.zip_member!r}") from exc
        except (RuntimeError, pyzipper.BadZipFile) as exc:  # wrong or missing password, damaged archive
            raise TaskDataError(f"{path}: cannot read {part.zip_member!r}: {exc}") from exc
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def _records_at(document: Any, records: str | None, where: str) -> list[dict[str, Any]]:
    if records:
        document = get_path(document, records, where)
    if isinstance(document, dict):
        return [document]
    if not isinstance(document, list):
        raise TaskDataError(f"{where}: expected a list of rows, found {type(document).__name__}")
    return document


def parse_rows(data: bytes, part: LocalPart, where: str) -> list[dict[str, Any]]:
    """Rows of one file's bytes in the part's format."""
    fmt = part.format
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.read_table(io.BytesIO(data)).to_pylist()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TaskDataError(
            f"{where}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "re-encode the file as UTF-8"
        ) from None
    if fmt == "jsonl":
        rows = []
        # split on "\n" only: str.splitlines would also split inside JSON strings holding U+2028 and the like
        for number, line in enumerate(text.split("\n"), start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise TaskDataError(f"{where}:{number}: invalid JSON line: {exc.msg}") from exc
        return rows
    if fmt == "json":
        try:
            return _records_at(json.loads(text), part.records, where)
        except json.JSONDecodeError as exc:
            raise TaskDataError(f"{where}:{exc.lineno}: invalid JSON: {exc.msg}") from exc
    if fmt == "yaml":
        return _records_at(yaml.safe_load(text), part.records, where)
    if fmt in ("csv", "tsv"):
        return list(csv.DictReader(io.StringIO(text, newline=""), delimiter="\t" if fmt == "tsv" else ","))
    return [{"text": text}]  # format: text


def _stem(path: Path) -> str:
    name = path.name[: -len(".gz")] if path.name.endswith(".gz") else path.name
    return name.rsplit(".", 1)[0]


def confinement_problem(pattern: str) -> str | None:
    """Why a task file's path pattern could reach outside the data directory, or None when it cannot."""
    path = Path(pattern)
    if path.is_absolute() or path.drive:
        return f"{pattern!r} is an absolute path; give a path relative to the data directory"
    if ".." in path.parts:
        return f"{pattern!r} climbs out of the data directory with '..'; give a path inside it"
    return None


def local_files(data_dir: Path, part: LocalPart) -> list[Path]:
    """The files a part names, all inside the data directory (a task file cannot read anything else)."""
    problem = confinement_problem(part.files)
    if problem:
        raise TaskDataError(f"source.local files: {problem}")
    root = data_dir.resolve()
    files = sorted(data_dir.glob(part.files))
    for path in files:
        if not path.resolve().is_relative_to(root):
            raise TaskDataError(
                f"source.local files {part.files!r}: {path} leads outside the data directory {root} "
                f"(to {path.resolve()})"
            )
    return files


def read_local_part(data_dir: Path, part: LocalPart) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(label, where, rows) per file matched by the part, in sorted path order."""
    files = local_files(data_dir, part)
    if not files:
        raise TaskDataError(f"no file matches {part.files!r} under the data dir {data_dir}")
    out = []
    for path in files:
        where = f"{path}" + (f"!{part.zip_member}" if part.zip_member else "")
        label = part.part if part.part and len(files) == 1 else _stem(path)
        out.append((label, where, parse_rows(_open_bytes(path, part), part, where)))
    return out


class HubUnavailable(TaskDataError):
    """The Hugging Face hub cannot be used from here (offline mode set, or the first connection failed)."""


def check_hub_reachable(part: HubPart) -> None:
    """Fail at once when the part needs the network and it is not there; local data files need none."""
    files = [part.data_files] if isinstance(part.data_files, str) else list(part.data_files or [])
    remote = [f for f in files if "://" in f]
    if files and not remote:
        return
    reason = hf_hub.unavailable_reason(hf_hub.host_of(remote[0]) if remote else None)
    if reason is not None:
        source = f"its data files ({remote[0]}) cannot be fetched" if remote else "the Hugging Face hub is not available"
        raise HubUnavailable(f"{source}: {reason}")


def load_hub_part(part: HubPart) -> list[dict[str, Any]]:
    check_hub_reachable(part)
    from datasets import load_dataset

    extra = {"data_files": part.data_files} if part.data_files else {}
    dataset = load_dataset(part.path, part.config, split=part.split, revision=part.revision, **extra)
    return [dict(row) for row in dataset]


def _hub_names(source: SourceSpec) -> str:
    return ", ".join(
        f"{p.path}" + (f" ({p.config})" if p.config else "") + f" split {p.split}" for p in source.hub
    )


def load_parts(
    task: str, source: SourceSpec, base_fields: FieldMap, data_dir: Path | None, *, allow_hub: bool = True
) -> list[PartRows]:
    """Rows of every part: local files when the data dir has them all, else the hub (unless allow_hub=False)."""
    missing: list[str] = []
    if data_dir is not None and source.local:
        missing = [p.files for p in source.local if not local_files(data_dir, p)]
        if not missing:
            parts = []
            for local in source.local:
                fields = merge_fields(base_fields, local.fields)
                for label, where, rows in read_local_part(data_dir, local):
                    parts.append(PartRows(label, rows, fields, where))
            return parts
    local_hint = (
        f"local file(s) {[p.files for p in source.local]} under --data-dir / ${DATA_DIR_ENV}"
        if source.local
        else "no local files (this benchmark is only on the hub)"
    )
    if missing:
        local_hint += f"; missing under {data_dir}: {missing}"
    if not source.hub:
        raise TaskDataError(f"task {task}: no data: it needs {local_hint}, and has no hub source")
    if not allow_hub:
        raise TaskDataError(
            f"task {task}: not available locally ({local_hint}); a run would load the hub dataset "
            f"{_hub_names(source)}"
        )
    parts = []
    for hub in source.hub:
        try:
            rows = load_hub_part(hub)
        except HubUnavailable as exc:
            files = [p.files for p in source.local]
            local_way = (
                f"point --data-dir (or ${DATA_DIR_ENV}) at a local mirror holding {files}"
                + (f" (missing under {data_dir}: {missing})" if missing else "")
                if files
                else "(this task has no local source)"
            )
            raise HubUnavailable(
                f"task {task}: {exc}. Two ways to get its data: {local_way}; or go online "
                f"(with HF_HUB_OFFLINE unset) to load {_hub_names(source)}"
            ) from None
        except Exception as exc:
            hf_hub.note_failure(exc)  # the datasets library raises many types (offline, gated, missing config)
            raise TaskDataError(
                f"task {task}: cannot load the hub dataset {_hub_names(source)}: {type(exc).__name__}: {exc}. "
                f"Either make the Hugging Face hub reachable (and log in for gated datasets), or use {local_hint}."
            ) from exc
        parts.append(PartRows(hub.label, rows, merge_fields(base_fields, hub.fields), f"hub {hub.path}"))
    return parts


def merge_fields(base: FieldMap, overrides: dict[str, Any]) -> FieldMap:
    if not overrides:
        return base
    return FieldMap.model_validate({**base.model_dump(), **overrides})


# --------------------------------------------------------------------------- rows -> items


def get_path(row: Any, path: str, where: str) -> Any:
    """Follow a dotted path (numbers index lists) into a row; a clear error when a step is missing."""
    value = row
    for step in path.split("."):
        if isinstance(value, dict) and step in value:
            value = value[step]
        elif isinstance(value, list) and step.lstrip("-").isdigit() and -len(value) <= int(step) < len(value):
            value = value[int(step)]
        else:
            keys = sorted(value)[:20] if isinstance(value, dict) else type(value).__name__
            raise TaskDataError(f"{where}: no field {path!r} (stuck at {step!r}; available: {keys})")
    return value


def _plain(value: Any) -> Any:
    """numpy/pyarrow scalars and arrays -> JSON-serialisable Python values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def raw_options(value: Any, spec: ChoicesSpec, where: str) -> tuple[list[str], list[str]]:
    """(labels, texts) of the options in any of the usual layouts."""
    value = _plain(value)
    if isinstance(value, dict) and spec.label_key in value and spec.text_key in value:
        labels, texts = value[spec.label_key], value[spec.text_key]  # hub layout: {label: [...], text: [...]}
    elif isinstance(value, dict):
        labels, texts = list(value), list(value.values())  # {A: text, B: text}
    elif isinstance(value, list) and all(isinstance(v, dict) for v in value):
        try:
            labels = [v[spec.label_key] for v in value]
            texts = [v[spec.text_key] for v in value]
        except KeyError as exc:
            raise TaskDataError(f"{where}: option without {exc.args[0]!r}") from exc
    elif isinstance(value, list):
        texts = value
        labels = list(LETTERS[: len(value)])
    else:
        raise TaskDataError(f"{where}: options must be a list or mapping, found {type(value).__name__}")
    if len(labels) != len(texts):
        raise TaskDataError(f"{where}: {len(labels)} option labels but {len(texts)} texts")
    return [str(label).strip() for label in labels], [str(text).strip() for text in texts]


def answer_index(answer: Any, labels: list[str], texts: list[str], spec: ChoicesSpec, where: str) -> int:
    kind = spec.answer_is
    if kind == "label":
        key = str(answer).strip()
        if key not in labels:
            raise TaskDataError(f"{where}: answer label {key!r} is not among the option labels {labels}")
        return labels.index(key)
    if kind == "text":
        key = str(answer).strip()
        if key not in texts:
            raise TaskDataError(f"{where}: answer text {key!r} is not among the options")
        return texts.index(key)
    try:
        index = int(str(answer).strip()) - (1 if kind == "position" else 0)
    except ValueError as exc:
        raise TaskDataError(f"{where}: answer {answer!r} is not a {kind} number") from exc
    if not 0 <= index < len(texts):
        raise TaskDataError(f"{where}: answer {kind} {answer!r} is out of range for {len(texts)} options")
    return index


def format_choices(labels: list[str], texts: list[str], spec: ChoicesSpec) -> str:
    """The options block shown in the prompt, e.g. "A. first\nB. second"."""
    return spec.joiner.join(
        spec.line.format(label=label, text=text) for label, text in zip(labels, texts, strict=True)
    )


def lettered_choices(raw: Any, answer: Any, item_id: str, spec: ChoicesSpec, where: str) -> dict[str, Any]:
    """The choice item keys: options relabelled A, B, C ... (optionally shuffled per item) and the gold letter."""
    labels, texts = raw_options(raw, spec, where)
    correct = answer_index(answer, labels, texts, spec, where)
    order = list(range(len(texts)))
    if spec.drop_empty:
        order = [i for i in order if texts[i] not in EMPTY_OPTION_TEXTS or i == correct]
    if spec.shuffle_seed is not None:
        random.Random(f"{spec.shuffle_seed}:{item_id}").shuffle(order)
    if len(order) > len(LETTERS):
        raise TaskDataError(f"{where}: {len(order)} options; at most {len(LETTERS)} can be lettered")
    choice_list = [texts[i] for i in order]
    choice_labels = list(LETTERS[: len(order)])
    position = order.index(correct)
    return {
        "choice_list": choice_list,
        "choice_labels": choice_labels,
        "choices": format_choices(choice_labels, choice_list, spec),
        "answer": choice_labels[position],
        "answer_index": position,
        "answer_text": choice_list[position],
    }


def normalise_row(
    row: dict[str, Any], part: str, index: int, fields: FieldMap, choices: ChoicesSpec | None, where: str
) -> dict[str, Any]:
    """One row -> one item (a flat dict of item keys)."""
    item_id = str(get_path(row, fields.id, where)) if fields.id else f"{part}-{index}"
    where = f"{where} (id {item_id})"
    item: dict[str, Any] = {"id": item_id, "part": part, "index": index}
    item["question"] = str(get_path(row, fields.question, where))
    item["answer"] = _plain(get_path(row, fields.answer, where)) if fields.answer else None
    if fields.tests:
        item["tests"] = _plain(get_path(row, fields.tests, where))
    if fields.entry_point:
        item["entry_point"] = _plain(get_path(row, fields.entry_point, where))
    for key, path in fields.extra.items():
        item[key] = _plain(get_path(row, path, where))
    if choices is not None:
        if fields.choices is None:
            raise TaskDataError(f"{where}: the task has a choices block but fields.choices is not set")
        if isinstance(fields.choices, list):
            raw = [get_path(row, path, where) for path in fields.choices]
        else:
            raw = get_path(row, fields.choices, where)
        item.update(lettered_choices(raw, item["answer"], item_id, choices, where))
    return item


def trust_task_code(enabled: bool = True) -> None:
    """--trust-task-code: let task files run code from outside the installed harness (off by default)."""
    _TRUST["task_code"] = enabled


def module_file(module_name: str) -> Path | None:
    """Where a dotted module's code lives, found without running any of it (not even its packages' __init__)."""
    loaded = sys.modules.get(module_name)
    if loaded is not None:
        return Path(loaded.__file__).resolve() if getattr(loaded, "__file__", None) else None
    top, *rest = module_name.split(".")
    try:
        spec = importlib.util.find_spec(top)  # a top-level lookup only searches sys.path
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    found = Path(spec.origin) if spec.origin and spec.has_location else None
    locations = [Path(p) for p in (spec.submodule_search_locations or [])]
    for name in rest:
        found = None
        for location in locations:
            if (location / name / "__init__.py").is_file():
                found, locations = location / name / "__init__.py", [location / name]
            elif (location / f"{name}.py").is_file():
                found, locations = location / f"{name}.py", []
            elif (location / name).is_dir():
                found, locations = location / name, [location / name]
            if found is not None:
                break
        if found is None:
            return None
    return found.resolve() if found is not None else None


def check_code_trusted(reference: str) -> None:
    """Refuse (TaskDataError) a reference to code outside the installed harness unless --trust-task-code."""
    if _TRUST["task_code"]:
        return
    module_name = reference.partition(":")[0]
    location = module_file(module_name)
    if location is None:
        return  # nothing to run; the import reports it
    if not any(location.is_relative_to(root) for root in TRUSTED_CODE_ROOTS):
        raise TaskDataError(
            f"preprocess {reference!r}: {module_name} is code from outside the installed harness ({location}); "
            "it runs only with --trust-task-code (check what it does first)"
        )


def resolve_function(reference: str) -> Callable[..., Any]:
    module_name, _, function_name = reference.partition(":")
    check_code_trusted(reference)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise TaskDataError(f"preprocess {reference!r}: cannot import {module_name}: {exc}") from exc
    function = getattr(module, function_name, None)
    if not callable(function):
        raise TaskDataError(f"preprocess {reference!r}: {module_name} has no function {function_name}")
    return function


def build_items(
    task: str,
    parts: Sequence[PartRows],
    choices: ChoicesSpec | None,
    preprocess: str | None,
    data_dir: Path | None,
    preprocess_args: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Every item of the task in source order (parts in order, rows in file order); ids checked unique."""
    function = resolve_function(preprocess) if preprocess else None
    items: list[dict[str, Any]] = []
    for part in parts:
        rows = part.rows
        if function is not None:
            context = PreprocessContext(
                task=task,
                part=part.label,
                data_dir=data_dir,
                origin=part.origin,
                params=dict(preprocess_args or {}),
            )
            try:
                rows = function(rows, context)
            except TaskDataError:
                raise
            except Exception as exc:  # a hook's own failure: name the task, part and hook, not just the message
                raise TaskDataError(
                    f"task {task}: preprocess {preprocess} failed on part {part.label!r} ({part.origin}): "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
        for index, row in enumerate(rows):
            where = f"task {task}, {part.origin}, part {part.label!r}, row {index}"
            items.append(normalise_row(row, part.label, index, part.fields, choices, where))
    seen: dict[str, int] = {}
    for position, item in enumerate(items):
        if item["id"] in seen:
            raise TaskDataError(
                f"task {task}: duplicate item id {item['id']!r} (rows {seen[item['id']]} and {position})"
            )
        seen[item["id"]] = position
    return items


# --------------------------------------------------------------------------- subsets


def _largest_remainder(total: int, sizes: dict[str, int]) -> dict[str, int]:
    population = sum(sizes.values())
    exact = {g: total * n / population for g, n in sizes.items()}
    quotas = {g: int(v) for g, v in exact.items()}
    leftover = total - sum(quotas.values())
    for group in sorted(sizes, key=lambda g: (-(exact[g] - quotas[g]), g))[:leftover]:
        quotas[group] += 1
    return quotas


def draw_subset(items: list[dict[str, Any]], subset: SubsetSpec) -> list[dict[str, Any]]:
    """The seeded paper-sized subset (rule documented on SubsetSpec); selected items keep source order."""
    import numpy as np

    groups: dict[str, list[int]] = {}
    for position, item in enumerate(items):
        key = str(item[subset.stratify]) if subset.stratify else ""
        groups.setdefault(key, []).append(position)
    if subset.per_group is not None:
        quotas = {g: min(subset.per_group, len(members)) for g, members in groups.items()}
    else:
        if subset.size is None or subset.size >= len(items):
            return list(items)
        quotas = _largest_remainder(subset.size, {g: len(m) for g, m in groups.items()})
    rng = np.random.default_rng(subset.seed)
    chosen: list[int] = []
    for group in sorted(groups):
        members = groups[group]
        picked = rng.choice(len(members), size=quotas[group], replace=False)
        chosen.extend(members[int(i)] for i in picked)
    return [items[i] for i in sorted(chosen)]
