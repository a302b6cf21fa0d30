"""Table-driven tests of the math-language parser (grader.mathlang.parser).

The tables are in tests/mathlang_parse_cases.yaml: ``parse`` (input -> ``dump`` of
the tree) and ``errors`` (input -> error class, position, message or hint part).
The tests below cover what a table cannot: exact numbers, positions, rendering,
generated oversized inputs, the real seed answers and speed.
"""

from __future__ import annotations

import re
import statistics
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.mathlang import ast
from grader.mathlang.errors import LimitError, MathError, ParseError
from grader.mathlang.limits import DEFAULT_LIMITS, Limits
from grader.mathlang.parser import dump, parse

CASES_FILE = Path(__file__).parent / "mathlang_parse_cases.yaml"
SEEDS = Path("/work/shared/seeds")
ERRORS = {"ParseError": ParseError, "LimitError": LimitError}


def _cases(section: str) -> list[Any]:
    table = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))
    return [pytest.param(case, id=f"{section}:{case['in']}") for case in table[section]]


def _options(case: dict[str, Any]) -> dict[str, Any]:
    return {key: case[key] for key in ("symbols", "functions", "mode") if key in case}


@pytest.mark.parametrize("case", _cases("parse"))
def test_parse_table(case: dict[str, Any]) -> None:
    assert dump(parse(case["in"], **_options(case))) == case["out"]


@pytest.mark.parametrize("case", _cases("errors"))
def test_error_table(case: dict[str, Any]) -> None:
    with pytest.raises(MathError) as caught:
        parse(case["in"], **_options(case))
    error = caught.value
    assert type(error) is ERRORS[case["error"]], error.render()
    assert error.position == case["pos"], error.render()
    assert case["says"] in f"{error.message}\n{error.hint}", error.render()
    assert error.text == case["in"]


# -- exact values and positions --------------------------------------------------------


def test_numbers_are_exact_fractions() -> None:
    assert parse("0.1") == ast.Num(0, Fraction(1, 10), is_float=True)
    assert parse("1.3e5") == ast.Num(0, Fraction(130000), is_float=True)
    assert parse("1e-3") == ast.Num(0, Fraction(1, 1000), is_float=True)
    assert parse("131072") == ast.Num(0, Fraction(131072), is_float=False)
    assert parse(".5") == ast.Num(0, Fraction(1, 2), is_float=True)


def test_positions_are_offsets_in_the_original_text() -> None:
    tree = parse("$a + \\beta$")
    assert isinstance(tree, ast.BinOp)
    assert (tree.pos, tree.left.pos, tree.right.pos) == (1, 1, 5)
    call = parse("  \\max\\{0, x\\}")
    assert isinstance(call, ast.Call) and call.pos == 2 and call.args[1].pos == 11


def test_split_words_keep_their_positions() -> None:
    tree = parse("2nd", symbols={"n", "d"})
    assert isinstance(tree, ast.BinOp) and isinstance(tree.right, ast.Sym)
    assert tree.right.pos == 2 and tree.left.right.pos == 1  # type: ignore[attr-defined]


def test_word_splitting_prefers_longest_pieces() -> None:
    assert dump(parse("dkd", symbols={"d", "k", "dk"})) == "(imp dk d)"
    assert dump(parse("xab", symbols={"x", "xa", "ab"})) == "(imp x ab)"  # backtracks from xa
    assert dump(parse("xyz", symbols={"x", "y"})) == "xyz"  # does not split completely
    assert dump(parse("relu(x)", symbols={"r", "e", "l", "u", "x"})) == "(call relu x)"
    assert dump(parse("eta", symbols={"e", "t", "a"})) == "eta"  # a Greek name stays whole


def test_declared_functions_and_symbols() -> None:
    assert dump(parse("H(x)")) == "(imp H x)"
    assert dump(parse("H(x)", functions=("H",))) == "(call H x)"
    assert dump(parse("max(a)", symbols={"max"})) == "(imp max a)"  # a symbol shadows a built-in
    assert dump(parse("\\Theta(x)", functions={"Theta"})) == "(call Theta x)"
    assert dump(parse("xH(x)", symbols={"x"}, functions={"H"})) == "(imp x (call H x))"


def test_complexity_mode_only_adds_bounds() -> None:
    assert dump(parse("O(n)", mode="complexity")) == "(call O n)"
    assert dump(parse("O(n)")) == "(imp O n)"


def test_unknown_mode_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        parse("x", mode="latex")


def test_parse_error_render_shows_caret_and_hint() -> None:
    with pytest.raises(ParseError) as caught:
        parse("x + \\foo(y)")
    rendered = caught.value.render()
    lines = rendered.splitlines()
    assert lines[0] == "unknown command \\foo (at character 5)"
    assert lines[1] == "    x + \\foo(y)"
    assert lines[2] == "        ^"
    assert "unknown command \\foo" in lines[3]


def test_trailing_operator_points_at_the_operator() -> None:
    with pytest.raises(ParseError) as caught:
        parse("3x + ")
    assert caught.value.position == 3
    assert "trailing operator" in caught.value.hint


# -- limits --------------------------------------------------------------------------


def _refusal(text: str, **options: Any) -> LimitError:
    with pytest.raises(LimitError) as caught:
        parse(text, **options)
    return caught.value


def test_length_is_refused_before_lexing() -> None:
    error = _refusal("\\foo" * 2000)  # would be an unknown command if it were lexed
    assert "too long" in error.message and error.position == DEFAULT_LIMITS.max_length


def test_nesting_limit() -> None:
    depth = DEFAULT_LIMITS.max_depth
    assert dump(parse("(" * depth + "x" + ")" * depth)) == "x"
    assert _refusal("(" * (depth + 1) + "x" + ")" * (depth + 1)).position == depth
    assert "nested too deeply" in _refusal("-" * (depth + 1) + "x").message
    assert "nested too deeply" in _refusal("\\sqrt{" * 40 + "x" + "}" * 40).message


def test_tree_size_limits() -> None:
    assert "too deeply nested" in _refusal("+".join(["1"] * 300)).message
    assert "too large" in _refusal("[" + ",".join(["1"] * 2100) + "]").message
    assert isinstance(parse("+".join(["x"] * 200)), ast.BinOp)


def test_matrix_size_limits() -> None:
    wide = "\\begin{bmatrix}" + " & ".join(["1"] * 65) + "\\end{bmatrix}"
    assert "too wide" in _refusal(wide).message
    tall = "\\begin{bmatrix}" + " \\\\ ".join(["1"] * 65) + "\\end{bmatrix}"
    assert "too tall" in _refusal(tall).message
    square = "\\begin{bmatrix}" + " \\\\ ".join([" & ".join(["1"] * 8)] * 8) + "\\end{bmatrix}"
    tree = parse(square)
    assert isinstance(tree, ast.Matrix) and len(tree.rows) == 8


def test_exponent_limits_accept_reasonable_powers() -> None:
    for text in ("2^{1000}", "2^{10}", "x^{-1000}", "2^3^2", "e^{-x^2/2}", "x^{0.0001}", "2^{3^2}"):
        parse(text)
    assert "9^9^9^9 is refused" in _refusal("9^9^9^9").message
    assert "number too large" in _refusal("9^9^9").message  # 9^(9^9) has 3.7e8 digits


def test_a_power_of_symbols_is_not_refused_for_its_exponent_alone() -> None:
    """(x - a)^6000 stays small where |x - a| <= 1: its values are bounded when evaluated."""
    for text in ("(x - a)^{6000}", "x^{1001}", "x^{-1001}", "(1 - x)^{10^6}", "x^{2^{10}}"):
        assert isinstance(parse(text), ast.BinOp), text
    assert "number too large" in _refusal("3^{2^{20}}").message  # 500,000 digits
    assert "number too large" in _refusal("(10^{30})^{1000}").message


def test_custom_limits() -> None:
    small = Limits(max_length=10, max_depth=3, max_number_digits=3, max_power_digits=5)
    assert "too long" in _refusal("x" * 11, limits=small).message
    assert "nested" in _refusal("((((x))))", limits=small).message
    assert "number too long" in _refusal("1234", limits=small).message
    assert "number too large" in _refusal("10^6", limits=small).message
    assert dump(parse("10^5", limits=small)) == "(^ 10 5)"


def test_huge_literals_never_reach_int_conversion() -> None:
    assert "number too long" in _refusal("9" * 4999).message
    assert "number too large" in _refusal("1e" + "9" * 4000).message
    assert "number too long" in _refusal("24x" + "1" * 50, mode="shape").message


# -- real answers -----------------------------------------------------------------------


def _math_segments() -> list[str]:
    pattern = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)
    segments = []
    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in pattern.finditer(text):
            segments.append(next(group for group in match.groups() if group is not None))
    return segments


@pytest.mark.skipif(not SEEDS.is_dir(), reason="seed answers not available")
def test_every_seed_formula_parses_or_gives_a_math_error() -> None:
    segments = _math_segments()
    assert len(segments) > 100
    parsed = 0
    for segment in segments:
        start = time.process_time()
        try:
            parse(segment)
            parsed += 1
        except MathError as error:
            assert error.position is not None and 0 <= error.position <= len(segment)
        # no formula sends the parser down an exponential path (a few ms each; CPU time, so a
        # loaded machine does not fail it; the parser's speed is benchmarks/bench_expression.py's)
        assert time.process_time() - start < 1.0, segment
    assert parsed > len(segments) // 2


OCR = SEEDS / "004_fc8d293ff8fdd186.txt"

# (line of the OCR'd answer, offset of the character an error must point at)
OCR_LINES = [
    ("| \\sigma_{R}'(z) - \\sigma_{R}'(y) | \\le M | \\ne - y |", "\\ne"),
    ("1 \\$ 4 so inquely down theld \\tex, y \\(\\mathbb{R} \\) i.e. contradiction", "\\$"),
    (" $\\Leftrightarrow \\frac{\\sum_{j_1}^{n}exp(f_j)}{exp(f_j)} > 1$ Ly applying exp", "\\Leftrightarrow"),
    ("So le((ley, y) → 0 as l → as a", "→"),
    (
        "$$\\sigma_{3}''(2) = e^{2} (|+e^{2}|^{-1} - e^{2} \\cdot e^{2} (|+e^{2}|^{-2})^{-2}$$",
        "(|+e^{2}|^{-1}",
    ),
    ("and $y_{1_3} = \\mathbf{C}(A_1 \\times b_1)$", "and"),
    ("7. If or is the leading Relu function, o'(z) = { 1 for 220 , i.e. o'(z) \\$0 for 2<0.", "\\$"),
]


@pytest.mark.parametrize(("line", "culprit"), OCR_LINES)
def test_ocr_garbage_points_at_the_culprit(line: str, culprit: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(line)
    assert caught.value.position == line.index(culprit), caught.value.render()


@pytest.mark.skipif(not OCR.is_file(), reason="seed answers not available")
def test_ocr_file_never_crashes() -> None:
    text = OCR.read_text(encoding="utf-8")
    with pytest.raises(LimitError):  # the whole file is far too long
        parse(text)
    for line in text.splitlines():
        try:
            parse(line)
        except MathError as error:
            assert error.position is not None and 0 <= error.position <= len(line)
            error.render()


# -- speed ----------------------------------------------------------------------------


def test_typical_answer_parses_fast() -> None:
    text = "\\text{diag}(S(\\mathbf{x})) - S(\\mathbf{x}) S(\\mathbf{x})^\\top"
    parse(text, functions={"S"})
    timings = []
    for _ in range(50):
        start = time.perf_counter()
        parse(text, functions={"S"})
        timings.append(time.perf_counter() - start)
    assert statistics.median(timings) < 0.001  # typically ~0.06 ms; generous for slow CI
