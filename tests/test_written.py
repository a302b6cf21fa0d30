"""An answer as its student wrote it, for the grading view: prose wrapped with its ``$...$``
math handed to KaTeX as written (escaped source in a ``span.math``; the browser typesets it,
tests/test_math_browser.py), code highlighted, everything escaped."""

from __future__ import annotations

import pytest

from grader.reporting.typeset import MAX_SOURCE, math_html
from grader.reporting.written import MAX_SHOWN, code_html, prose_html

CASES = [
    # (prose, a span that must be in the HTML)
    ("So $x^2 + 1$ holds.", "<span class='math'>x^2 + 1</span>"),
    ("$$H(x)$$", "<span class='math' data-display='block'>H(x)</span>"),
    # issue 60 item 7: grader's parser cannot read \to; KaTeX typesets it all the same
    (r"so $\frac{g(x+h)-g(x)}{h} \to 1$ as h", r"<span class='math'>\frac{g(x+h)-g(x)}{h} \to 1</span>"),
    (r"$\lim_{h \to 0} \frac{1}{h}$", r"<span class='math'>\lim_{h \to 0} \frac{1}{h}</span>"),
    # hostile: the source is text, never markup
    ("a $</span><script>x($ b", "<span class='math'>&lt;/span&gt;&lt;script&gt;x(</span>"),
    ("$a' \" & b$", "<span class='math'>a&#x27; &quot; &amp; b</span>"),
]


@pytest.mark.parametrize(("prose", "span"), CASES)
def test_prose_hands_each_formula_to_katex_as_escaped_source(prose: str, span: str) -> None:
    shown = prose_html(prose)
    assert span in shown
    assert "<script>" not in shown and "<b>" not in shown


def test_text_around_formulas_is_escaped() -> None:
    shown = prose_html("So <b>$x$</b> & more")
    assert "&lt;b&gt;" in shown and "&amp; more" in shown and "<b>" not in shown


def test_a_formula_too_long_to_typeset_stays_source() -> None:
    assert math_html("x" * (MAX_SOURCE + 1)).startswith("<span class='math-source'>")


def test_code_is_highlighted_with_classes_and_escaped() -> None:
    shown = code_html("def f(x):\n    return '<script>'")
    assert '<span class="k">def</span>' in shown and "style=" not in shown
    assert "<script>" not in shown


def test_a_long_answer_is_cut_with_a_note() -> None:
    assert "goes on for 10 more characters" in prose_html("a" * (MAX_SHOWN + 10))
