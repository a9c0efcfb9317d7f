"""From an incoming prompt back to the router's query text (and the task it was rendered from).

`route fit` embeds each item's *query* (the task file's `prompt.query`, normally the question alone),
not the full prompt. A gateway only sees the prompt, so it inverts the task templates: every task
file's `prompt.user` template (and `prompt.system`, when set) becomes an anchored regular expression
whose groups capture the template's fields; a match gives the fields, and `prompt.query` is formatted
from them. Groups are greedy, so a field followed by a literal separator extends to the separator's
last occurrence: right for "{question}\\n\\n{choices}" (choices are one block) and for
"{fewshot}\\n\\nQ: {question}" (the exemplars also contain "Q: ").

A prompt that matches no template (or a task whose query uses a field the prompt does not show,
e.g. studenteval's `{student_text}`) is routed on the last user message as it is; the request can
also name its query outright (`avengers.query`).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from harness.taskset import Task


@dataclass(frozen=True)
class RecognisedPrompt:
    query: str
    tasks: tuple[str, ...]  # every task whose templates produce this prompt (several share a template)


def template_regex(template: str) -> tuple[re.Pattern[str], list[str]]:
    """An anchored regex for a str.format template; fields become named greedy groups."""
    parts: list[str] = []
    fields: list[str] = []
    for literal, field, _spec, _conversion in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if field is None:
            continue
        if field in fields:
            parts.append(f"(?P={field})")
        else:
            fields.append(field)
            parts.append(f"(?P<{field}>.*)")
    return re.compile("".join(parts), re.DOTALL), fields


@dataclass(frozen=True)
class _TaskTemplate:
    tasks: tuple[str, ...]  # tasks sharing this exact template
    user: re.Pattern[str]
    system: str | None  # literal system text when the system template has no fields
    system_pattern: re.Pattern[str] | None
    query: str
    query_fields: frozenset[str]
    literal_size: int  # longer literal text = more specific template
    prefix: str  # literal text before the first field: a cheap test before the regex
    suffix: str  # literal text after the last field


def _compile(task: Task) -> _TaskTemplate | None:
    prompt = task.spec.prompt
    user, user_fields = template_regex(prompt.user)
    available = set(user_fields)
    system_pattern = None
    system_literal = None
    if prompt.system is not None:
        pattern, system_fields = template_regex(prompt.system)
        if system_fields:
            system_pattern = pattern
            available |= set(system_fields)
        else:
            system_literal = prompt.system.format_map({})
    query_fields = {f for _, f, _, _ in string.Formatter().parse(prompt.query) if f is not None}
    if not query_fields <= available:
        return None  # the query is not recoverable from what the prompt shows
    pieces = list(string.Formatter().parse(prompt.user))
    literal = sum(len(lit) for lit, _, _, _ in pieces)
    field_at = [i for i, (_, f, _, _) in enumerate(pieces) if f is not None]
    if field_at:
        prefix = "".join(lit for lit, _, _, _ in pieces[: field_at[0] + 1])
        suffix = "".join(lit for lit, _, _, _ in pieces[field_at[-1] + 1 :])
    else:
        prefix, suffix = "".join(lit for lit, _, _, _ in pieces), ""
    return _TaskTemplate(
        tasks=(task.name,),
        user=user,
        system=system_literal,
        system_pattern=system_pattern,
        query=prompt.query,
        query_fields=frozenset(query_fields),
        literal_size=literal,
        prefix=prefix,
        suffix=suffix,
    )


class PromptRecogniser:
    """Recognises which task template rendered a chat prompt and recovers the router query."""

    def __init__(self, tasks: Iterable[Task]):
        tasks = list(tasks)
        compiled = [_compile(t) for t in tasks]
        self.unrecoverable = sorted(t.name for t, c in zip(tasks, compiled, strict=True) if c is None)
        # Tasks with the very same templates are matched once (the choice tasks share one).
        shared: dict[tuple, _TaskTemplate] = {}
        for task, template in zip(tasks, compiled, strict=True):
            if template is None:
                continue
            prompt = task.spec.prompt
            key = (prompt.user, prompt.system, prompt.query)
            if key in shared:
                template = replace(shared[key], tasks=(*shared[key].tasks, task.name))
            shared[key] = template
        self.templates = sorted(shared.values(), key=lambda c: (-c.literal_size, c.tasks))

    def recognise(self, messages: Sequence[dict]) -> RecognisedPrompt | None:
        user = next((m for m in reversed(messages) if m.get("role") == "user"), None)
        if user is None or not isinstance(user.get("content"), str):
            return None
        system = next((m.get("content") for m in messages if m.get("role") == "system"), None)
        found: dict[str, list[str]] = {}
        for template in self.templates:
            values = self._match(template, user["content"], system)
            if values is None:
                continue
            query = template.query.format_map(values)
            found.setdefault(query, []).extend(template.tasks)
        if not found:
            return None
        # The most specific template's reading wins (templates are sorted by literal size).
        query = next(iter(found))
        return RecognisedPrompt(query=query, tasks=tuple(found[query]))

    @staticmethod
    def _match(template: _TaskTemplate, user: str, system: str | None) -> dict[str, str] | None:
        if template.system is not None and system != template.system:
            return None
        if template.system is None and template.system_pattern is None and system is not None:
            return None
        if not (user.startswith(template.prefix) and user.endswith(template.suffix)):
            return None
        match = template.user.fullmatch(user)
        if match is None:
            return None
        values = match.groupdict()
        if template.system_pattern is not None:
            if system is None:
                return None
            sys_match = template.system_pattern.fullmatch(system)
            if sys_match is None:
                return None
            values = {**sys_match.groupdict(), **values}
        return values


def last_user_text(messages: Sequence[dict]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user" and isinstance(message.get("content"), str):
            return message["content"]
    return ""
