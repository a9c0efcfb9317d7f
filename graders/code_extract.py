"""The program in a model's reply: fenced blocks of every kind, else the longest stretch of lines that parses
as Python (prose around it dropped), then the model's own tests and examples after its definitions removed.

The idea is evalplus' sanitizer (evalplus.sanitize: the longest parsable span of lines, then only imports,
classes, functions and assignments), done with the standard library's ``ast`` and kept to what grading needs:
functions without a ``return`` are kept (evalplus drops them; an in-place MBPP solution has none), nothing is
dropped for being unreachable from the entry point (MBPP tests build the solution's classes themselves), and
statements before the definitions stay (setup like ``sys.setrecursionlimit``; evalplus drops them).
Code that does not parse on its own (a body-only completion, a cut-off or broken answer) is returned as it
is, so the sandbox judges it; a reply with no code gives None (no_answer).
"""

from __future__ import annotations

import ast
import re
import textwrap

# An opening fence ends its line; prose may precede it ("To install: ```bash").
_OPEN = re.compile(
    r"^(?P<indent>[ \t]*)(?:[^`~\n]*?[^`~\s][ \t]*)?(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[A-Za-z0-9_+.#-]*)[ \t]*$"
)
_PYTHON_TAGS = {"", "python", "py", "python3", "py3", "pycon", "ipython"}
_CODE_START = re.compile(r"^(?:def |async def |class |import |from \S+ import |@\w|[A-Za-z_]\w* = )")
# The span searches try O(starts x lines) candidates and ast.parse reads each in full (0.5-1 MB/s on a busy
# core; the grader runs in a thread of the harness, holding the GIL): each search may parse this many
# characters in all. A count of parses was not a bound: 1,000 one-line functions then a line of prose (32 KB)
# took 38 s within 4,000 parses. Real replies (a few hundred lines) need a few hundred KB at most.
_PARSE_BUDGET = 2_000_000


def _cost(candidate: str) -> int:
    return len(candidate) + 100


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language tag, code) of every fenced block, in order. A closing fence may end the last code line
    ("    return x```"); a fence left open (cut-off reply) runs to the end of the text."""
    lines = text.split("\n")
    blocks, i = [], 0
    while i < len(lines):
        opening = _OPEN.match(lines[i])
        if not opening:
            i += 1
            continue
        fence, indent, body = opening.group("fence"), opening.group("indent"), []
        i += 1
        while i < len(lines):
            line = lines[i]
            if line.strip().startswith(fence[:3]) and line.strip().strip(fence[0]) == "":
                break
            if line.rstrip().endswith(fence[:3]):
                body.append(line.rstrip()[: -len(fence[:3])].rstrip("`~"))
                break
            body.append(line[len(indent) :] if line.startswith(indent) else line)
            i += 1
        i += 1
        blocks.append((opening.group("lang").lower(), "\n".join(body).strip("\n")))
    return blocks


_SESSION_PROMPT = re.compile(r"^(?:>>>|\.\.\.)(?: |$)")


def session_source(code: str) -> str:
    """The source typed into an interactive session (">>> def f(x):" / "...     return x"), without the
    prompts and the printed results; other code unchanged."""
    lines = code.split("\n")
    if not lines or not lines[0].startswith(">>> "):
        return code
    return "\n".join(line[4:] for line in lines if _SESSION_PROMPT.match(line))


def _parses(code: str) -> ast.Module | None:
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


def parses(code: str) -> bool:
    return _parses(code) is not None


def longest_parsable_span(text: str) -> str | None:
    """The longest run of lines that parses as Python and starts like code (def/class/import/decorator)."""
    lines = text.split("\n")
    starts = [n for n, line in enumerate(lines) if _CODE_START.match(line)]
    nonblank = [0]  # nonblank[i]: the non-blank lines among lines[:i]
    for line in lines:
        nonblank.append(nonblank[-1] + bool(line.strip()))
    best, best_size, budget = None, 0, _PARSE_BUDGET
    for start in starts:
        for end in range(len(lines), start, -1):
            size = nonblank[end] - nonblank[start]
            if size <= best_size:  # this and every shorter span could not replace the best one
                break
            if not lines[end - 1].strip():
                continue
            candidate = "\n".join(lines[start:end])
            budget -= _cost(candidate)
            if budget < 0:
                return best
            if _parses(candidate) is not None:
                best, best_size = candidate, size
                break
    return best


def parsable_spans(text: str) -> list[str]:
    """The stretches of code among prose, in order: from each line that starts like code and is not inside
    an earlier stretch, the longest run of lines that parses ("def helper" ... prose ... "def main")."""
    lines = text.split("\n")
    spans, covered, budget = [], 0, _PARSE_BUDGET
    for start in (n for n, line in enumerate(lines) if _CODE_START.match(line)):
        if start < covered:
            continue
        for end in range(len(lines), start, -1):
            if not lines[end - 1].strip():
                continue
            candidate = "\n".join(lines[start:end])
            budget -= _cost(candidate)
            if budget < 0:
                return spans
            if _parses(candidate) is not None:
                spans.append(candidate)
                covered = end
                break
    return spans


def indented_blocks(text: str) -> list[str]:
    """Markdown's indented code blocks (lines indented by four spaces or a tab after a blank line), dedented,
    that parse as a module of definitions; a function body (a top-level ``return``) is not one."""
    found = []
    for match in re.finditer(r"(?:^|\n[ \t]*\n)((?:(?:    |\t)[^\n]*(?:\n|$)|[ \t]*\n)+)", text):
        code = textwrap.dedent(match.group(1)).strip("\n")
        tree = _parses(code)
        if tree is not None and not any(isinstance(node, ast.Return) for node in tree.body):
            found.append(code)
    return found


_EXAMPLE_CALLS = {"input", "print", "open", "eval", "exec"}


def _defines(tree: ast.Module, name: str) -> bool:
    return any(
        isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name
        for node in tree.body
    )


def _calls_any(node: ast.AST, names: set[str]) -> bool:
    return any(
        isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id in names
        for sub in ast.walk(node)
    )


def _is_definition(node: ast.stmt, defined: set[str]) -> bool:
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        # "result = add([1], 2)", "x = int(input())" are examples; "PATTERN = re.compile(...)" is a definition
        return not _calls_any(node, defined | _EXAMPLE_CALLS)
    if isinstance(node, ast.Try):  # try: import numpy / except ImportError: ...
        return all(
            isinstance(sub, (ast.Import, ast.ImportFrom, ast.Assign, ast.Pass))
            for part in (node.body, *(h.body for h in node.handlers))
            for sub in part
        )
    return False


def _is_main_guard(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.If)
        and "__name__" in ast.unparse(node.test)
        and "__main__" in ast.unparse(node.test)
    )


def strip_top_level_runs(code: str) -> str:
    """The code without the model's own tests and examples: the statements after the last definition
    (calls, prints, asserts, loops) and ``if __name__ == "__main__"`` blocks. Statements before a definition
    stay (setup such as ``sys.setrecursionlimit``). Code that does not parse, or a function body, is
    unchanged."""
    tree = _parses(code)
    if tree is None or any(isinstance(node, ast.Return) for node in tree.body):
        return code  # broken, or a function body (a completion of the prompt's stub)
    defined = {
        node.name
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }
    definitions = [n for n, node in enumerate(tree.body) if _is_definition(node, defined)]
    if not definitions:
        return code
    last = definitions[-1]
    kept = [
        node
        for n, node in enumerate(tree.body)
        if (n <= last or _is_definition(node, defined)) and not _is_main_guard(node)
    ]
    if len(kept) == len(tree.body):
        return code
    lines = code.split("\n")
    parts = []
    for node in kept:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        parts.append("\n".join(lines[first - 1 : node.end_lineno]))
    return "\n".join(parts)


def complete_prefix(code: str) -> str | None:
    """For code cut off by the length limit that does not parse: the code up to the statement the cut fell
    in, when that statement is a top-level one after complete definitions (the model was writing its own
    example call, ``print(f(``); None when the cut fell in a definition or an indented block (the program
    is unfinished) or nothing before it parses."""
    lines = code.split("\n")
    budget = _PARSE_BUDGET
    for end in range(len(lines) - 1, 0, -1):
        candidate = "\n".join(lines[:end])
        budget -= _cost(candidate)
        if budget < 0:  # nothing near the cut parses: the program is unfinished
            return None
        if _parses(candidate) is None:
            continue
        rest = next((line for line in lines[end:] if line.strip()), "")
        unfinished_definition = rest[:1] in (" ", "\t") or re.match(r"(?:async\s+def|def|class)\b|@", rest)
        return None if unfinished_definition else "\n".join(lines[:end]).rstrip()
    return None


def _is_function_body(code: str) -> bool:
    """Indented code that parses as the body of a function (a completion of the prompt's stub)."""
    return (
        code[:1] in (" ", "\t")
        and _parses(code) is None
        and _parses("def _body():\n" + textwrap.indent(textwrap.dedent(code), "    ")) is not None
    )


def _has_code(code: str) -> bool:
    """Whether text is a program or a function body: it parses (as a body if indented) and does something
    a program does, unlike a stray word or number."""
    tree = _parses(code) or _parses("def _body():\n" + textwrap.indent(textwrap.dedent(code), "    "))
    if tree is None:
        code_line = r"^\s*(?:def\s+\w+\s*\(|class\s+\w+|return\b|import\s+\w+|from\s+[\w.]+\s+import\b)"
        return re.search(code_line, code, re.MULTILINE) is not None  # broken code, judged by running it
    return any(
        isinstance(
            node,
            (
                ast.FunctionDef,
                ast.AsyncFunctionDef,
                ast.ClassDef,
                ast.Return,
                ast.Import,
                ast.ImportFrom,
                ast.Assign,
                ast.AugAssign,
                ast.For,
                ast.While,
                ast.If,
            ),
        )
        for node in ast.walk(tree)
    )


def _provided_names(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {name.id for target in targets for name in ast.walk(target) if isinstance(name, ast.Name)}
    return set()


def _loaded_names(tree: ast.AST) -> set[str]:
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


def with_helpers_from(code: str, others: list[str]) -> str:
    """The chosen block preceded by the helpers it uses from the reply's other blocks ("First, a helper:
    ``def is_prime``..." then "the required function: ``def is_not_prime``"): the functions, classes, imports
    and constants those blocks define at top level under a name the chosen block (or a helper taken) uses but
    does not define. The model's own examples in those blocks are not taken (they define nothing used)."""
    import builtins

    tree = _parses(code)
    if tree is None:
        return code
    known = set().union(*(_provided_names(node) for node in tree.body)) | set(dir(builtins))
    missing = _loaded_names(tree) - known
    candidates = []
    for other in others:
        other_tree = _parses(other)
        candidates += [(other, node) for node in (other_tree.body if other_tree is not None else [])]
    taken: list[tuple[str, ast.stmt]] = []
    while missing:
        found = [(src, node) for src, node in candidates if _provided_names(node) & missing and (src, node) not in taken]
        if not found:
            break
        taken += found
        provided = set().union(*(_provided_names(node) for _, node in found))
        known |= provided
        missing = (missing - provided) | (set().union(*(_loaded_names(node) for _, node in found)) - known)
    if not taken:
        return code
    order = {id(node): n for n, (_, node) in enumerate(candidates)}
    helpers = []
    for src, node in sorted(taken, key=lambda pair: order[id(pair[1])]):
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        helpers.append("\n".join(src.split("\n")[first - 1 : node.end_lineno]))
    return "\n\n\n".join([*helpers, code])


def _code_among_prose(response: str, entry_point: str | None) -> str | None:
    """A reply without fences: the last stretch of code (or indented block) that defines the entry point (a
    draft then its correction), with the helpers the others define ("def helper" ... "Now the main
    function:" ... "def main"); else the longest parsable stretch."""
    longest = longest_parsable_span(response)
    if not entry_point:
        return longest
    candidates = [*parsable_spans(response), *indented_blocks(response)]

    def defines(code: str | None) -> bool:
        tree = _parses(code) if code is not None else None
        return tree is not None and _defines(tree, entry_point)

    chosen = next((c for c in reversed(candidates) if defines(c)), longest if defines(longest) else None)
    if chosen is None:
        return longest
    return with_helpers_from(chosen, [c for c in candidates if c != chosen and c not in chosen])


def extract_program(response: str, entry_point: str | None = None) -> str | None:
    """The code to run for a reply (see the module docstring), or None when the reply has no code."""
    response = response.replace("\r\n", "\n")
    blocks = [session_source(code) for lang, code in fenced_blocks(response) if lang in _PYTHON_TAGS and code.strip()]
    if blocks:
        trees = [_parses(code) for code in blocks]
        defining = [
            code
            for code, tree in zip(blocks, trees, strict=True)
            if entry_point and tree is not None and _defines(tree, entry_point)
        ]
        if not defining and entry_point:
            defining = [
                code
                for code in blocks
                if re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(entry_point)}\s*\(", code, re.MULTILINE)
            ]
        if not defining and entry_point:  # "```from typing import List```" then the body in its own block
            defining = [code for code in blocks if _is_function_body(code)]
        code = defining[-1] if defining else blocks[0]
        code = with_helpers_from(code, [block for block in blocks if block is not code])
    else:
        whole = response.strip("\n")
        code = whole if _parses(whole) is not None else _code_among_prose(response, entry_point) or whole
    code = strip_top_level_runs(code.strip("\n").rstrip())
    return code if code.strip() and _has_code(code) else None
