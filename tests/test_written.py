"""An answer as its student wrote it, for the grading view: prose wrapped with its math as
MathML (through grader's own parser), code highlighted, everything escaped."""

from __future__ import annotations

from grader.reporting.written import MAX_SHOWN, code_html, prose_html


def test_prose_shows_its_math_as_mathml_and_escapes_the_rest() -> None:
    shown = prose_html("So <b>$x^2 + 1$</b> and $$H(x)$$ hold.", functions=["H"])
    assert "&lt;b&gt;" in shown and "<b>" not in shown
    assert shown.count("<math") == 2 and "<msup><mi>x</mi><mn>2</mn></msup>" in shown
    assert 'display="block"' in shown


def test_math_the_parser_cannot_read_stays_as_typed_and_escaped() -> None:
    shown = prose_html("a $</code><script>x($ b")
    assert "<script>" not in shown and "<math" not in shown
    assert "<code>&lt;/code&gt;&lt;script&gt;x(</code>" in shown


def test_code_is_highlighted_with_classes_and_escaped() -> None:
    shown = code_html("def f(x):\n    return '<script>'")
    assert '<span class="k">def</span>' in shown and "style=" not in shown
    assert "<script>" not in shown


def test_a_long_answer_is_cut_with_a_note() -> None:
    assert "goes on for 10 more characters" in prose_html("a" * (MAX_SHOWN + 10))
