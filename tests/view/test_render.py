"""Server-side rendering of model output, and the search-word parser."""

from __future__ import annotations

from harness.view.render import MAX_RENDERED_CHARS, render_markdown
from harness.view.search_index import SearchTerms


def test_latex_in_every_common_delimiter_becomes_mathml():
    html = render_markdown(r"Inline \(a+b\), display \[c^2\], dollars $d_1$ and $$\frac{e}{f}$$.")
    assert html.count("<math") == 4 and 'display="block"' in html
    assert "\\(" not in html and "$" not in html


def test_code_and_prices_are_not_math():
    html = render_markdown("It costs $5 and $6.\n\nUse `\\(x\\)` literally.\n\n```\n$$not math$$\n```")
    assert "<math" not in html and "$5 and $6" in html and "<code>\\(x\\)</code>" in html
    assert "$$not math$$" in html


def test_malformed_latex_is_shown_as_source():
    html = render_markdown(r"Broken \(\frac{1}{\)")
    assert "math-source" in html or "<math" in html  # never an exception, never lost text
    assert "frac" in html


def test_raw_html_is_escaped_and_long_text_clipped():
    html = render_markdown('<b onclick="x()">hi</b>')
    assert "<b" not in html and "&lt;b onclick" in html
    long = render_markdown("a" * (MAX_RENDERED_CHARS + 10))
    assert "10 more characters" in long
    assert render_markdown(None) == "" and render_markdown("") == ""


def test_search_terms_are_always_a_valid_fts_query():
    assert SearchTerms.parse('Prime "numbers" x^2').fts() == '"prime" AND "numbers" AND "x" AND "2"'
    assert SearchTerms.parse("deriv*").fts() == '"deriv"*'
    assert SearchTerms.parse("^^ !!").fts() is None
