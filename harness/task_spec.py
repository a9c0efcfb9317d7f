"""The schema of one declarative task file (tasks/<name>.yaml).

A task file says where a benchmark's rows come from (a local mirror and/or the
Hugging Face hub), how a raw row maps onto a normalised item (question, gold
answer, lettered choices, code tests ...), which paper-sized subset to draw, how
to render the prompt (Python ``str.format`` templates with named fields only),
the generation defaults, and which grader scores the answers.

Every template and gold field refers to *item keys*.  The item keys available
for every task are listed in :data:`BASE_ITEM_KEYS`; a task adds its own through
``fields.extra`` (and a ``preprocess`` function may add any keys it likes).
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, NamedTuple

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.yaml_model import ConfigFileError, load_yaml_text

TASK_NAME = re.compile(r"^[a-z0-9][a-z0-9_]*$")
PREPROCESS_REF = re.compile(r"^tasks\.custom\.[A-Za-z_][A-Za-z0-9_]*:[A-Za-z_][A-Za-z0-9_]*$")
GRADER_NAMES = ("math", "code", "choice", "label", "exact", "numeric")

# Item keys every task has after mapping (see harness.task_data.normalise_row).
BASE_ITEM_KEYS = frozenset({"id", "question", "answer", "part", "index"})
# Extra keys present when the task declares `choices`.
CHOICE_ITEM_KEYS = frozenset({"choices", "choice_list", "choice_labels", "answer_text", "answer_index"})


class SpecProblem(NamedTuple):
    """A mistake found after schema validation: where (pydantic-style location), what, and optionally the
    text to look for inside a multi-line value so the error can name the exact line."""

    loc: tuple[Any, ...]
    message: str
    needle: str | None = None


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def template_fields(template: str) -> list[str]:
    """Named fields of a str.format template; rejects positional, attribute and index fields."""
    names: list[str] = []
    for _, field, spec, _ in string.Formatter().parse(template):
        if field is None:
            continue
        if field == "" or field.isdigit():
            raise ValueError(
                "templates use named fields only, e.g. {question}; write {{ and }} for literal braces"
            )
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", field):
            raise ValueError(
                f"template field {{{field}}} must be a plain name (no attribute or index access)"
            )
        if spec and "{" in spec:
            raise ValueError(f"template field {{{field}}} has a nested format spec, which is not supported")
        names.append(field)
    return names


def check_preprocess_ref(value: str | None) -> str | None:
    if value is not None and not PREPROCESS_REF.match(value):
        raise ValueError("preprocess must look like 'tasks.custom.<module>:<function>'")
    return value


# --------------------------------------------------------------------------- sources


def _check_overrides(value: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(value) - set(FieldMap.model_fields))
    if unknown:
        raise ValueError(f"unknown field mapping key(s) {unknown}; known: {sorted(FieldMap.model_fields)}")
    return value


class HubPart(StrictModel):
    """One split of a Hugging Face dataset: `datasets.load_dataset(path, config, split=..., revision=...)`."""

    path: str = Field(
        description="hub dataset id, e.g. allenai/ai2_arc; or a builder such as json with data_files"
    )
    config: str | None = None
    data_files: str | list[str] | None = Field(
        default=None,
        description="for builders such as json/csv: the file URL(s), e.g. an official GitHub raw URL",
    )
    split: str
    revision: str | None = Field(
        default=None, description="git revision (commit, tag, branch); pin for reproducibility"
    )
    part: str | None = Field(default=None, description="label for ids and grouping; default: config or split")
    fields: dict[str, Any] = Field(
        default_factory=dict,
        description="overrides of the task's `fields` mapping for rows of this hub split",
    )

    @field_validator("fields")
    @classmethod
    def _overrides_ok(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _check_overrides(value)

    @property
    def label(self) -> str:
        return self.part or self.config or self.split


LocalFormat = Literal["jsonl", "json", "csv", "tsv", "parquet", "yaml", "text"]


class LocalPart(StrictModel):
    """Files under the data directory (relative path or glob; sorted; `.gz` is decompressed transparently)."""

    files: str = Field(description="path or glob relative to the data dir, e.g. arc_challenge/*.jsonl")
    format: LocalFormat
    part: str | None = Field(default=None, description="label for ids and grouping; default: the file's stem")
    records: str | None = Field(
        default=None,
        description="json/yaml: dotted path to the list of rows inside the document, e.g. examples",
    )
    zip_member: str | None = Field(
        default=None, description="read this member of the zip archive `files` names"
    )
    zip_password: str | None = Field(
        default=None,
        description="password of an encrypted zip; used in memory only, no plaintext copy is written",
    )
    fields: dict[str, Any] = Field(
        default_factory=dict, description="overrides of the task's `fields` mapping for rows of these files"
    )

    @field_validator("fields")
    @classmethod
    def _overrides_ok(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _check_overrides(value)

    @model_validator(mode="after")
    def _zip_consistent(self) -> LocalPart:
        if self.zip_password and not self.zip_member:
            raise ValueError("zip_password needs zip_member (which file inside the archive to read)")
        if self.records and self.format not in ("json", "yaml"):
            raise ValueError("records applies to json and yaml files only")
        return self


class SourceSpec(StrictModel):
    """Where rows come from: the local mirror when a data dir is given and has the files, else the hub."""

    local: list[LocalPart] = Field(default_factory=list)
    hub: list[HubPart] = Field(default_factory=list)

    @field_validator("local", "hub", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _some_source(self) -> SourceSpec:
        if not self.local and not self.hub:
            raise ValueError("give at least one of source.local and source.hub")
        return self


# --------------------------------------------------------------------------- mapping


class FieldMap(StrictModel):
    """Which row field (dotted path, e.g. question.stem; list indices as numbers) becomes which item key."""

    id: str | None = Field(default=None, description="the data's own id; default: '<part>-<row index>'")
    question: str = Field(default="question", description="the question text (also the router's query)")
    answer: str | None = Field(
        default="answer", description="the gold answer (for choice tasks: see choices)"
    )
    choices: str | list[str] | None = Field(
        default=None,
        description="one field holding the options (list of strings, list of {label,text}, {label:[..],text:[..]}"
        " or {label: text}) or a list of fields, one per option",
    )
    tests: str | None = Field(default=None, description="code tasks: the unit tests")
    entry_point: str | None = Field(default=None, description="code tasks: the function under test")
    extra: dict[str, str] = Field(default_factory=dict, description="more item keys: key -> row field path")

    @field_validator("extra")
    @classmethod
    def _extra_names(cls, value: dict[str, str]) -> dict[str, str]:
        reserved = BASE_ITEM_KEYS | CHOICE_ITEM_KEYS | {"tests", "entry_point"}
        for key in value:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                raise ValueError(f"extra key {key!r} must be a plain name usable in templates")
            if key in reserved:
                raise ValueError(f"extra key {key!r} clashes with a built-in item key")
        return value

    def keys(self) -> set[str]:
        present = {"tests": self.tests, "entry_point": self.entry_point}
        return set(BASE_ITEM_KEYS) | {k for k, v in present.items() if v} | set(self.extra)


class ChoicesSpec(StrictModel):
    """How to turn the row's options into lettered choices (A, B, C ...) and the gold letter."""

    answer_is: Literal["label", "index", "position", "text"] = Field(
        description="what the answer field holds: the option's label in the data (e.g. 'C' or '3'), its 0-based"
        " index, its 1-based position, or its text"
    )
    label_key: str = Field(default="label", description="key of the label in {label, text} option dicts")
    text_key: str = Field(default="text", description="key of the text in {label, text} option dicts")
    shuffle_seed: int | None = Field(
        default=None,
        description="shuffle the options per item with random.Random(f'{shuffle_seed}:{item id}') (GPQA lists the"
        " correct option first)",
    )
    line: str = Field(
        default="{label}. {text}", description="template of one option line (fields: label, text)"
    )
    joiner: str = "\n"
    drop_empty: bool = Field(default=False, description="drop options whose text is empty or 'N/A'")

    @field_validator("line")
    @classmethod
    def _line_fields(cls, value: str) -> str:
        unknown = set(template_fields(value)) - {"label", "text"}
        if unknown:
            raise ValueError(
                f"option line template may use only {{label}} and {{text}}, not {sorted(unknown)}"
            )
        return value


class SubsetSpec(StrictModel):
    """The paper-sized subset (``--full`` ignores it). Draws are seeded and independent of the machine.

    size: draw this many items in total (stratified proportionally over `stratify` when given, largest remainder
    rounding, ties by group name); per_group: draw this many from each group of `stratify`.
    Within a group: numpy.random.default_rng(seed).choice without replacement, groups visited in sorted order;
    selected items keep the source order.
    """

    seed: int
    size: int | None = Field(default=None, ge=1)
    per_group: int | None = Field(default=None, ge=1)
    stratify: str | None = Field(
        default=None, description="item key to stratify or group by, e.g. category, part"
    )

    @model_validator(mode="after")
    def _one_rule(self) -> SubsetSpec:
        if (self.size is None) == (self.per_group is None):
            raise ValueError("give exactly one of size and per_group")
        if self.per_group is not None and not self.stratify:
            raise ValueError("per_group needs stratify (the key to group by)")
        return self


class FewShotSpec(StrictModel):
    """Exemplars shown before the question: rendered into the {fewshot} template field, or as chat turns."""

    source: SourceSpec
    fields: FieldMap = Field(default_factory=FieldMap)
    preprocess: str | None = Field(
        default=None, description="like the task's preprocess, for the exemplar rows"
    )
    n: int | None = Field(default=None, ge=1, description="use the first n exemplar rows (default: all)")
    match: str | None = Field(
        default=None,
        description="only exemplars whose item key of this name equals the test item's (e.g. category)",
    )
    template: str = Field(description="one exemplar, e.g. 'Q: {question}\\nA: {answer}'")
    joiner: str = "\n\n"
    as_messages: bool = Field(
        default=False,
        description="render each exemplar as a user/assistant pair: `template` is the user turn, `answer_template` the"
        " assistant turn",
    )
    answer_template: str | None = None

    @field_validator("preprocess")
    @classmethod
    def _preprocess_ref(cls, value: str | None) -> str | None:
        return check_preprocess_ref(value)

    @model_validator(mode="after")
    def _templates(self) -> FewShotSpec:
        template_fields(self.template)
        if self.as_messages and not self.answer_template:
            raise ValueError("as_messages needs answer_template (the assistant turn)")
        if self.answer_template:
            template_fields(self.answer_template)
        return self


class PromptSpec(StrictModel):
    system: str | None = Field(default=None, description="system message template (omitted when null)")
    user: str = Field(description="user message template, e.g. '{question}\\n\\n{choices}\\n\\n...'")
    query: str = Field(default="{question}", description="the text the router embeds: the question alone")
    fewshot: FewShotSpec | None = None

    @field_validator("system", "user", "query")
    @classmethod
    def _named_fields(cls, value: str | None) -> str | None:
        if value is not None:
            template_fields(value)
        return value


class GenerationSpec(StrictModel):
    max_tokens: int = Field(default=2048, ge=1)
    stop: list[str] = Field(default_factory=list)


class GraderSpec(StrictModel):
    name: Literal["math", "code", "choice", "label", "exact", "numeric", "knights_knaves", "korbench"]
    options: dict[str, Any] = Field(
        default_factory=dict, description="validated against graders.<name>.Options"
    )
    gold: str | dict[str, str] = Field(
        default="answer",
        description="the grader's gold: one item key, or a mapping gold field -> item key (validated against"
        " graders.<name>.Gold)",
    )

    def gold_keys(self) -> list[tuple[tuple[Any, ...], str]]:
        if isinstance(self.gold, str):
            return [(("grader", "gold"), self.gold)]
        return [(("grader", "gold", field), key) for field, key in self.gold.items()]


# --------------------------------------------------------------------------- the task file


class TaskSpec(StrictModel):
    name: str = Field(description="unique task name; must equal the file name without .yaml")
    category: Literal["math", "code", "logic", "knowledge", "affective"]
    ood: bool = Field(
        default=False, description="out-of-distribution task (not in the router's training tasks)"
    )
    description: str
    paper_size: int = Field(ge=1, description="items the Avengers paper evaluated")
    size_note: str | None = Field(
        default=None, description="why the item count differs from the paper, if it does"
    )
    source: SourceSpec
    fields: FieldMap = Field(default_factory=FieldMap)
    preprocess: str | None = Field(
        default=None,
        description="'tasks.custom.<module>:<function>': turns the raw rows into rows the field mapping reads;"
        " called as fn(rows: list[dict], ctx: PreprocessContext) -> list[dict]",
    )
    preprocess_args: dict[str, Any] = Field(
        default_factory=dict, description="passed to the preprocess function as ctx.params (e.g. a label set)"
    )
    choices: ChoicesSpec | None = None
    subset: SubsetSpec | None = None
    prompt: PromptSpec
    generation: GenerationSpec = Field(default_factory=GenerationSpec)
    grader: GraderSpec
    metric: Literal["accuracy", "pass@1"] = "accuracy"

    @field_validator("name")
    @classmethod
    def _name_ok(cls, value: str) -> str:
        if not TASK_NAME.match(value):
            raise ValueError("task names use lower-case letters, digits and underscores")
        return value

    @field_validator("preprocess")
    @classmethod
    def _preprocess_ref(cls, value: str | None) -> str | None:
        return check_preprocess_ref(value)

    def item_keys(self) -> set[str]:
        keys = self.fields.keys()
        if self.choices is not None:
            keys |= CHOICE_ITEM_KEYS
        return keys

    def semantic_errors(self) -> list[SpecProblem]:
        """Cross-field mistakes: unknown template fields, gold keys, subset keys, choices without options."""
        errors: list[SpecProblem] = []
        keys = self.item_keys()
        if self.fields.choices is not None and self.choices is None:
            errors.append(
                SpecProblem(
                    ("fields", "choices"), "fields.choices is set but the task has no `choices:` block"
                )
            )
        if self.choices is not None and self.fields.choices is None:
            errors.append(
                SpecProblem(
                    ("choices",),
                    "a `choices:` block needs fields.choices (which row field holds the options)",
                )
            )

        def check(loc: tuple[Any, ...], names: list[str] | set[str], allowed: set[str]) -> None:
            unknown = [name for name in names if name not in allowed]
            if unknown:
                message = f"unknown field(s) {sorted(set(unknown))}; known item keys: {sorted(allowed)}"
                errors.append(SpecProblem(loc, message, needle="{" + unknown[0]))

        prompt_keys = keys | (
            {"fewshot"} if self.prompt.fewshot and not self.prompt.fewshot.as_messages else set()
        )
        if self.prompt.system is not None:
            check(("prompt", "system"), template_fields(self.prompt.system), prompt_keys)
        check(("prompt", "user"), template_fields(self.prompt.user), prompt_keys)
        check(("prompt", "query"), template_fields(self.prompt.query), keys)
        if self.prompt.fewshot is not None:
            shot = self.prompt.fewshot
            shot_keys = shot.fields.keys()
            if self.choices is not None:
                shot_keys |= CHOICE_ITEM_KEYS
            check(("prompt", "fewshot", "template"), template_fields(shot.template), shot_keys)
            if shot.answer_template:
                check(
                    ("prompt", "fewshot", "answer_template"), template_fields(shot.answer_template), shot_keys
                )
            if shot.match and not (shot.match in keys and shot.match in shot_keys):
                errors.append(
                    SpecProblem(
                        ("prompt", "fewshot", "match"),
                        f"{shot.match!r} must be an item key of both the task and its exemplars (fewshot.fields)",
                    )
                )
        for loc, key in self.grader.gold_keys():
            if key not in keys:
                errors.append(SpecProblem(loc, f"unknown item key {key!r}; known item keys: {sorted(keys)}"))
        if self.subset and self.subset.stratify and self.subset.stratify not in keys:
            errors.append(SpecProblem(("subset", "stratify"), f"unknown item key {self.subset.stratify!r}"))
        return errors


# --------------------------------------------------------------------------- reading a task file


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...], needle: str | None = None) -> int | None:
    """1-based line of the YAML node a pydantic error location points at (as deep as the file goes).

    A list index applied to a mapping is skipped (`source.local` may be one mapping instead of a list).
    Inside a literal block scalar (`|`), the line holding `needle` is named when it is found.
    """
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            if isinstance(part, int):
                continue
            entry = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if entry is None:
                break
            key, node = entry
            line = key.start_mark.line + 1 if isinstance(node, yaml.ScalarNode) else node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    if needle and isinstance(node, yaml.ScalarNode) and node.style == "|":
        hits = [n for n, text in enumerate(str(node.value).splitlines()) if needle in text]
        if hits:
            line = node.start_mark.line + 2 + hits[0]
    return line


def _problems_error(path: Path, node: yaml.Node | None, problems: list[SpecProblem]) -> ConfigFileError:
    lines = []
    for loc, message, needle in problems:
        line = _line_of(node, loc, needle)
        where = f"{path}:{line}" if line else str(path)
        lines.append(f"{where}: field '{'.'.join(map(str, loc)) or '(top level)'}': {message}")
    return ConfigFileError("\n".join(lines))


def _reject_duplicate_keys(node: yaml.Node | None, path: Path) -> None:
    """PyYAML keeps the last of two equal keys silently; in a task file that is always a mistake."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                raise ConfigFileError(
                    f"{path}:{key.start_mark.line + 1}: key {name!r} repeats the one on line {seen[name]}"
                )
            seen[name] = key.start_mark.line + 1
            _reject_duplicate_keys(value, path)
    elif isinstance(node, yaml.SequenceNode):
        for value in node.value:
            _reject_duplicate_keys(value, path)


def load_task_file(
    path: Path, extra_checks: Callable[[TaskSpec], list[SpecProblem]] | None = None
) -> TaskSpec:
    """Parse and validate a task file; all mistakes at once, each with file, field path and line."""
    data, node = load_yaml_text(path)
    _reject_duplicate_keys(node, path)
    try:
        spec = TaskSpec.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise _problems_error(
            path, node, [SpecProblem(tuple(e["loc"]), e["msg"]) for e in exc.errors()]
        ) from None
    problems = spec.semantic_errors()
    if spec.name != path.stem:
        problems.append(
            SpecProblem(("name",), f"task name {spec.name!r} must equal the file name {path.stem!r}")
        )
    if extra_checks is not None:
        problems += extra_checks(spec)
    if problems:
        raise _problems_error(path, node, problems)
    return spec
