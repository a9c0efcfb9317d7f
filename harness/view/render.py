"""Model output as safe HTML: markdown rendered, LaTeX as MathML, code highlighted, raw HTML escaped.

Rendering happens on the server so the page needs no JavaScript library and a bundle shows the
same thing offline: markdown-it-py (raw HTML off, so a response containing ``<script>`` is shown as
text), mdit-py-plugins' dollar-math for ``$...$`` / ``$$...$$``, latex2mathml for the formulas
(Chromium renders MathML natively) and Pygments for fenced code.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

from latex2mathml.converter import convert as latex_to_mathml
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

MAX_RENDERED_CHARS = 200_000
_FENCE_OR_CODE = re.compile(r"(```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)|`[^`\n]*`)", re.DOTALL)
_PAREN_MATH = re.compile(r"\\\((.+?)\\\)", re.DOTALL)
_BRACKET_MATH = re.compile(r"\\\[(.+?)\\\]", re.DOTALL)
_FORMATTER = HtmlFormatter(nowrap=True)


def _math(latex: str, display: bool) -> str:
    try:
        mathml = latex_to_mathml(latex, display="block" if display else "inline")
    except Exception:  # latex2mathml raises many types on malformed input; show the source instead
        return f'<code class="math-source">{html.escape(latex)}</code>'
    return mathml


def _highlight(code: str, lang: str, _attrs: object) -> str:
    try:
        lexer = get_lexer_by_name(lang or "text")
    except ClassNotFound:
        lexer = get_lexer_by_name("text")
    return f'<pre class="code"><code class="language-{html.escape(lang)}">{highlight(code, lexer, _FORMATTER)}</code></pre>'


def _bracket_delimiters_to_dollars(text: str) -> str:
    r"""``\(x\)`` and ``\[x\]`` (how many models write LaTeX) become ``$x$`` / ``$$x$$``, outside code."""
    parts = _FENCE_OR_CODE.split(text)
    for i in range(0, len(parts), 2):
        part = _BRACKET_MATH.sub(lambda m: f"$${m.group(1)}$$", parts[i])
        parts[i] = _PAREN_MATH.sub(lambda m: f"${m.group(1)}$", part)
    return "".join(parts)


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "highlight": _highlight, "breaks": True})
    md.enable("table")
    md.use(
        dollarmath_plugin,
        allow_space=True,
        allow_digits=False,
        double_inline=True,
        renderer=lambda content, info: _math(content, bool(info.get("display_mode"))),
    )
    return md


def render_markdown(text: str | None) -> str:
    """HTML for a response or prompt; never contains markup from ``text`` itself."""
    if not text:
        return ""
    clipped = text[:MAX_RENDERED_CHARS]
    rendered = _markdown().render(_bracket_delimiters_to_dollars(clipped))
    if len(text) > MAX_RENDERED_CHARS:
        rendered += f'<p class="clipped">… {len(text) - MAX_RENDERED_CHARS} more characters (see raw)</p>'
    return rendered


def highlight_css() -> str:
    return _FORMATTER.get_style_defs(".code")
