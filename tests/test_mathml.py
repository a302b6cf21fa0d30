"""MathML from grader's parse tree: every node kind, read the way grader read it, and
nothing a student writes ever becomes markup."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_budget import examples

from grader.mathlang import ast
from grader.mathlang.errors import MathError
from grader.mathlang.evaluate import function_names
from grader.mathlang.parser import parse
from grader.mathlang.render import to_text
from grader.reporting.answers import ReadContext, read_received
from grader.reporting.mathml import MATHML_NS, interval_mathml, to_mathml

M = "{" + MATHML_NS + "}"
FUNCTIONS = function_names()


def math_of(text: str, **kwargs: object) -> ET.Element:
    kwargs.setdefault("functions", FUNCTIONS)
    markup = to_mathml(parse(text, **kwargs))  # type: ignore[arg-type]
    return ET.fromstring(markup)  # well-formed XML, or this raises


def tags(element: ET.Element) -> list[str]:
    return [e.tag.removeprefix(M) for e in element.iter()]


def texts(element: ET.Element, tag: str) -> list[str]:
    return [e.text or "" for e in element.iter(M + tag)]


def visible(element: ET.Element) -> str:
    """The characters a reader sees, in order (invisible operators dropped)."""
    return "".join(t for t in element.itertext() if t not in ("\u2061", "\u2062"))


def test_the_root_is_a_math_element_in_the_mathml_namespace() -> None:
    root = math_of("x + 1")
    assert root.tag == M + "math"
    assert len(root) == 1 and len(list(root.iter())) > 3


def test_a_label_becomes_the_accessible_name() -> None:
    root = ET.fromstring(to_mathml(parse("1/2x"), label="1/(2 x)"))
    assert root.get("aria-label") == "1/(2 x)"


# ---- numbers, symbols, constants ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("131072", "131072"),
        ("0.5", "0.5"),
        ("1.3e5", "130000"),
        ("2.50", "2.5"),
        ("123456789.123", "123456789.123"),
    ],
)
def test_numbers_read_as_written_values(text: str, shown: str) -> None:
    assert texts(math_of(text), "mn") == [shown]


def test_very_large_and_small_decimals_use_powers_of_ten() -> None:
    big = math_of("1e20")
    assert visible(big) == "1×1020" and tags(big).count("msup") == 1
    assert texts(math_of("1.5e-12"), "mn") == ["1.5", "10", "-12"]


def test_an_exact_fraction_node_is_a_fraction() -> None:
    root = ET.fromstring(to_mathml(ast.Num(0, Fraction(3, 4))))
    assert tags(root)[1:] == ["mfrac", "mn", "mn"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x", ["mi"]),
        (r"\lambda", ["mi"]),
        ("w_0", ["msub", "mi", "mn"]),
        ("w1", ["msub", "mi", "mn"]),
        (r"\theta_{small}", ["msub", "mi", "mi"]),
        ("x_{ij}", ["msub", "mi", "mrow", "mi", "mi"]),
        (r"\hat{y}", ["mover", "mi", "mo"]),
        (r"W^{(2)}", ["msup", "mi", "mrow", "mo", "mn", "mo"]),
        (r"W^{(2)}_1", ["msubsup", "mi", "mn", "mrow", "mo", "mn", "mo"]),
    ],
)
def test_names_with_subscripts_accents_and_layers(text: str, expected: list[str]) -> None:
    assert tags(math_of(text))[1:] == expected


def test_greek_letters_are_their_characters() -> None:
    assert visible(math_of(r"\lambda + \eta_{t} + \Sigma + \varepsilon")) == "λ+ηt+Σ+ε"


def test_constants() -> None:
    assert visible(math_of(r"\pi + \infty + \mathrm{e}")) == "π+∞+e"
    assert visible(math_of(r"\mathbb{1}^T x")) == "𝟙⊤x"


# ---- operators -----------------------------------------------------------------------------


def test_sums_and_differences_keep_the_trees_grouping() -> None:
    assert visible(math_of("a - (b - c) + -d")) == "a−(b−c)+(−d)"
    assert visible(math_of("-x^2 + (-2)^2")) == "−x2+(−2)2"


def test_a_division_is_a_fraction_of_what_grader_read() -> None:
    one_over_two_x = math_of("1/2x")  # implicit products bind tighter: 1/(2x)
    fraction = next(one_over_two_x.iter(M + "mfrac"))
    assert visible(fraction[0]) == "1" and visible(fraction[1]) == "2x"
    half_x = math_of(r"\frac{1}{2}x")  # \frac is an atom: (1/2) x
    fraction = next(half_x.iter(M + "mfrac"))
    assert visible(fraction[1]) == "2" and visible(half_x).endswith("x")


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        ("a * b", "∗"),
        (r"a \cdot b", "⋅"),
        (r"a \times b", "×"),
        ("a . b", "⋅"),
        ("A @ B", "@"),
        (r"a \odot b", "⊙"),
        (r"a \otimes b", "⊗"),
        ("2x", "\u2062"),
    ],
)
def test_each_product_kind_has_its_sign(text: str, sign: str) -> None:
    assert sign in texts(math_of(text), "mo")


def test_juxtaposed_numbers_get_a_visible_dot() -> None:
    assert visible(math_of("2 (3)")) == "2⋅3"


def test_powers_parenthesise_compound_bases() -> None:
    assert visible(math_of("(a+b)^2")) == "(a+b)2"
    assert visible(math_of("(a/b)^2")).startswith("(")
    assert tags(math_of("x^{-1}"))[1] == "msup"


def test_transpose_and_prime() -> None:
    assert visible(math_of("W^T x")) == "W⊤x"
    assert visible(math_of("f'")) == "f′"


def test_function_calls_use_the_function_application_operator() -> None:
    root = math_of("relu(w x + b)")
    assert "\u2061" in texts(root, "mo")
    assert visible(root) == "relu(wx+b)"
    assert visible(math_of(r"\max\{0, x\}")) == "max(0,x)"
    assert visible(math_of(r"\sigma(x)(1 - \sigma(x))")) == "σ(x)(1−σ(x))"


@pytest.mark.parametrize(
    ("text", "tag", "shown"),
    [
        (r"\sqrt{x}", "msqrt", "x"),
        (r"\sqrt[3]{x}", "mroot", "x3"),
        ("e^{-x}", "msup", "e−x"),
        ("|x|", "mrow", "|x|"),
        (r"\|y\|", "mrow", "‖y‖"),
        (r"\lfloor x \rfloor", "mrow", "⌊x⌋"),
        (r"\lceil x \rceil", "mrow", "⌈x⌉"),
    ],
)
def test_roots_exponentials_and_fences(text: str, tag: str, shown: str) -> None:
    root = math_of(text)
    assert tag in tags(root)
    assert visible(root) == shown


def test_a_norm_with_its_order_and_a_power() -> None:
    root = math_of(r"\|x\|_2^2")
    assert "msubsup" in tags(root) and visible(root) == "‖x‖22"


def test_element_access() -> None:
    assert tags(math_of("x_{i+1}"))[1] == "msub"
    assert visible(math_of("S(x)_1", functions=("S",))) == "S(x)1"


def test_lists_tuples_and_matrices() -> None:
    assert visible(math_of("[1, 2, 5]")) == "[1,2,5]"
    assert visible(math_of("(24, 24, 128)")) == "(24,24,128)"
    for text in ("[[1, 2], [3, 4]]", r"\begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix}"):
        root = math_of(text)
        assert len(list(root.iter(M + "mtr"))) == 2 and len(list(root.iter(M + "mtd"))) == 4


def test_relations_equations_and_logic() -> None:
    assert visible(math_of(r"\lambda = 2 \eta \gamma")) == "λ=2ηγ"
    assert visible(math_of("x != 1")) == "x≠1"
    assert visible(math_of("x <= 1")) == "x≤1" and visible(math_of("x >= 1")) == "x≥1"
    assert visible(math_of("k = 8, s = 2")) == "k=8,s=2"
    assert visible(math_of("-2 <= x <= 0")) == "−2≤x≤0"  # a chain, as written
    assert visible(math_of("not x > 0 or y < 1")) == "¬(x>0)∨y<1"


def test_piecewise_and_cases_are_a_brace_and_a_table() -> None:
    for text in (
        "piecewise((3*x + 6, -2 <= x <= 0), (0, true))",
        r"\begin{cases} 3x + 6 & -2 \le x \le 0 \\ 0 & \text{otherwise} \end{cases}",
    ):
        root = math_of(text)
        assert "{" in texts(root, "mo")
        assert len(list(root.iter(M + "mtr"))) == 2
        assert texts(root, "mtext")[-1] == "otherwise"


def test_asymptotic_classes() -> None:
    for text, letter in ((r"\Theta(n^2 d)", "Θ"), ("O(n d^2)", "O"), (r"\Omega(n)", "Ω")):
        root = math_of(text, symbols=("n", "d"), mode="complexity")
        assert visible(root).startswith(letter + "(")


def test_spaces_and_membership() -> None:
    assert visible(math_of(r"\in \mathbb{R}^{1 \times k}")) == "∈ℝ1×k"
    assert visible(math_of(r"x \in \mathbb{R}")) == "x∈ℝ"


def test_every_node_kind_has_a_renderer() -> None:
    kinds = {cls for cls in vars(ast).values() if isinstance(cls, type) and issubclass(cls, ast.Node)}
    from grader.reporting.mathml import _RENDERERS

    assert kinds - {ast.Node} <= set(_RENDERERS)


def test_plain_text_shows_the_same_reading() -> None:
    assert to_text(parse("1/2x")) == "1/(2 x)"


# ---- escaping ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "node",
    [
        ast.Sym(0, "<script>alert(1)</script>"),
        ast.Sym(0, "x_<b>"),
        ast.Call(0, "</math><script>x()</script>", (ast.Sym(0, "&amp;"),)),
        ast.Const(0, '"onload="alert(1)'),
        ast.Relation(0, "<img src=x onerror=alert(1)>", ast.Sym(0, "a"), ast.Sym(0, "b")),
    ],
)
def test_nothing_in_a_tree_becomes_markup(node: ast.Node) -> None:
    markup = to_mathml(node, label='"><script>alert(1)</script>')
    root = ET.fromstring(markup)
    assert "<script" not in markup and "<img" not in markup and "<b>" not in markup
    assert all(e.tag.startswith(M) for e in root.iter())


def test_a_hostile_answer_parses_to_escaped_text_or_not_at_all() -> None:
    for text in ("x < y > z", "a & b", "x<script>"):
        try:
            markup = to_mathml(parse(text))
        except MathError:
            continue
        ET.fromstring(markup)
        assert "<script" not in markup


def test_a_unary_plus_and_intervals() -> None:
    assert visible(math_of(r"(1, +\infty)")) == "(1,∞)"
    plus = ET.fromstring(to_mathml(ast.Call(0, "pos", (ast.Const(0, "inf"),))))
    assert visible(plus) == "+∞"
    answer = read_received("[0, \\frac{9}{2})", ReadContext(functions=FUNCTIONS))
    assert answer is not None and answer.interval is not None
    root = ET.fromstring(interval_mathml(answer.interval.low, answer.interval.high, True, False))
    assert visible(root) == "[0,92)" and "mfrac" in tags(root)


PIECES = [
    *"<>&\"'/=!x2^_{}()[],|\\abcdefghilmnoprstuvw ",
    "\\frac",
    "\\sqrt",
    "script",
    "\\begin{cases}",
    "\\\\",
]


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=30).map("".join))
def test_any_text_that_parses_gives_well_formed_inert_mathml(text: str) -> None:
    try:
        tree = parse(text, functions=FUNCTIONS)
    except MathError:
        return
    root = ET.fromstring(to_mathml(tree, label=text))
    assert all(e.tag.startswith(M) for e in root.iter())
