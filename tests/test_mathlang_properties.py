"""Property tests of the math-language parser: whatever the text, parse() returns a
tree or raises ParseError/LimitError (never another exception), points inside the
text, renders its error, and finishes quickly."""

from __future__ import annotations

import gc
import time
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_budget import examples

from grader.mathlang import ast
from grader.mathlang.constant import constant_value
from grader.mathlang.errors import LimitError, MathError, ParseError
from grader.mathlang.lexer import words
from grader.mathlang.limits import MAX_VALUE_DIGITS
from grader.mathlang.parser import MODES, dump, parse

# CPU seconds of this thread per parse, generous: a typical answer takes well under a millisecond
# (the thread's own time: the process's counts whatever other threads of a test process do)
TIME_BOUND = 1.0

FUZZ = settings(
    max_examples=examples(1500),
    deadline=None,
    # no "explain" phase: it replays a failing example under a line tracer, which made the
    # parser 100 times slower and held a whole-suite run for over 20 minutes
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

LATEX_TOKENS = words(
    r"\frac { } ( ) [ ] \left( \right) \left[ \right] \left\{ \right\} \left| \right| \bigl( \Big) "
    r"^ _ ' x y n d W S e T 2 10 0.5 1e3 .5 \sqrt \sqrt[3] | || \| \lVert \rVert \lfloor \rfloor \lceil "
    r"\begin{bmatrix} \end{bmatrix} \begin{pmatrix} \end{pmatrix} \begin{cases} \end{cases} "
    r"\begin{array}{cc} \end{array} \begin{aligned} & \\ \cdot \times \odot \otimes - + * / ** @ . "
    r"= \le \ge \neq < > , ; \mathbf{ \text{ \operatorname{ \mathrm{ \mathrm{e} \mathbb{R} \mathbb{1} "
    r"\mathbb{E} \top ^T ^\top ^{T} ^{(2)} \max \min \exp \log \ln \{ \} \in if and or not otherwise "
    r"true \quad \qquad \, \; \! ~ $ $$ \( \) \alpha \lambda \eta \Theta \sigma \varepsilon \pi \infty "
    r"\hat \hat{ \bar{ \foo \ldots ... \sum \partial \to ᵀ ² ⁻ √ × · ≤ ∞ α → … relu softmax_{row} "
    r"piecewise( diag( O( nd xy 9^9^9^9 12345678901234567890123456789012345 1e999 \\ \displaystyle"
)


def _check(text: str, **options: Any) -> ast.Node | None:
    """Parse and check the contract: a Node, or a MathError pointing inside the text. The parse's
    own CPU is bounded, with the collector held off while it runs: in a whole run, a parse that
    takes 15 ms alone once took 1.2 s of this thread's CPU and not on its retry (likely a full
    collection of a test process that had run thousands of tests, counted on this thread)."""
    gc.disable()
    start = time.thread_time()
    try:
        tree = parse(text, **options)
    except (ParseError, LimitError) as error:
        assert error.text == text
        assert error.position is not None and 0 <= error.position <= len(text)
        assert error.message
        error.render()
        tree = None
    finally:
        elapsed = time.thread_time() - start
        gc.enable()
    assert elapsed < TIME_BOUND, text
    if tree is not None:
        assert isinstance(tree, ast.Node)
        dump(tree)
    return tree


OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "symbols": st.sampled_from([(), ("x", "y"), ("n", "d", "h"), ("e", "T", "x"), ("W", "x", "nd")]),
        "functions": st.sampled_from([(), ("S",), ("H", "Theta", "sigma")]),
        "mode": st.sampled_from(MODES),
    },
)


@FUZZ
@given(text=st.text(max_size=120), options=OPTIONS)
def test_any_text(text: str, options: dict[str, Any]) -> None:
    _check(text, **options)


@FUZZ
@given(
    tokens=st.lists(st.sampled_from(LATEX_TOKENS), max_size=40),
    joiner=st.sampled_from(["", " "]),
    options=OPTIONS,
)
def test_latex_token_soup(tokens: list[str], joiner: str, options: dict[str, Any]) -> None:
    _check(joiner.join(tokens), **options)


@settings(max_examples=examples(60), deadline=None)
@given(
    unit=st.sampled_from(["(", "{", "[", "\\left(", "\\frac{", "\\sqrt{", "|", "\\|", "-", "x^", "\\exp "]),
    count=st.integers(min_value=0, max_value=400),
)
def test_deep_nesting_is_refused_not_crashed(unit: str, count: int) -> None:
    closers = {"(": ")", "{": "}", "[": "]", "\\left(": "\\right)", "\\frac{": "}{2}", "\\sqrt{": "}"}
    closers |= {"|": "|", "\\|": "\\|", "-": "", "x^": "", "\\exp ": ""}
    _check(unit * count + "x" + closers[unit] * count)


@settings(max_examples=examples(30), deadline=None)
@given(
    filler=st.sampled_from(["x", "1", "x+", "(x)", "\\alpha ", "[1,", "&", "ab"]), size=st.integers(1, 3000)
)
def test_long_inputs_finish_quickly(filler: str, size: int) -> None:
    _check(filler * size)


# -- well-formed input always parses -------------------------------------------------------

ATOMS = st.sampled_from(["x", "y", "2", "0.5", "\\alpha", "W", "n", "\\pi", "e"])


def _combine(parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(parts, st.sampled_from([" + ", " - ", "*", " \\cdot ", "/"]), parts).map(
        lambda t: f"({t[0]}{t[1]}{t[2]})"
    )
    return st.one_of(
        binary,
        st.tuples(parts, parts).map(lambda t: f"({t[0]} ({t[1]}))"),  # implicit product
        parts.map(lambda p: f"-{p}"),
        parts.map(lambda p: f"({p})^2"),  # towers of three exponents are refused
        parts.map(lambda p: f"\\frac{{{p}}}{{2}}"),
        parts.map(lambda p: f"\\sqrt{{{p}}}"),
        parts.map(lambda p: f"max(0, {p})"),
        parts.map(lambda p: f"| {p} |"),  # "||" is a norm bar, so nested bars need a space
        st.tuples(parts, parts).map(lambda t: f"[{t[0]}, {t[1]}]^T"),
    )


FORMULAS = st.recursive(ATOMS, _combine, max_leaves=12)


@settings(max_examples=examples(300), deadline=None)
@given(formula=FORMULAS)
def test_well_formed_formulas_parse_deterministically(formula: str) -> None:
    first = parse(formula)
    again = parse(formula)
    assert first == again
    assert dump(first) == dump(again)
    for node in ast.walk(first):
        assert 0 <= node.pos < len(formula)


@settings(max_examples=examples(200), deadline=None)
@given(formula=FORMULAS, wrapper=st.sampled_from(["${}$", "$${}$$", "\\({}\\)", "\\[{}\\]", " {} ", "{}."]))
def test_math_delimiters_do_not_change_the_tree(formula: str, wrapper: str) -> None:
    assert dump(parse(wrapper.format(formula))) == dump(parse(formula))


@settings(max_examples=examples(200), deadline=None)
@given(formula=FORMULAS)
def test_errors_never_escape_on_truncation(formula: str) -> None:
    """Every prefix of a formula is either a formula or a clean error."""
    for end in range(0, len(formula), max(1, len(formula) // 8)):
        try:
            parse(formula[:end])
        except MathError as error:
            assert error.position is not None and 0 <= error.position <= end


# -- evaluating what parses: numbers stay within the size bound, never a crash ------------

NUMBER_ATOMS = st.sampled_from(["2", "9", "10", "0.5", "1e300", "1e-300", "999", "2^{999}", "\\pi", "e", "0"])


def _grow(parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(parts, st.sampled_from(["*", "+", "-", "/", " \\cdot "]), parts).map(
            lambda t: f"({''.join(t)})"
        ),
        st.tuples(parts, st.sampled_from(["2", "20", "999", "-40", "1/2", "4096"])).map(
            lambda t: f"({t[0]})^{{{t[1]}}}"
        ),
        parts.map(lambda p: f"exp({p})"),
        parts.map(lambda p: f"abs({p})"),
        parts.map(lambda p: f"\\frac{{1}}{{{p}}}"),
    )


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(formula=st.recursive(NUMBER_ATOMS, _grow, max_leaves=8))
def test_constants_are_bounded_or_refused(formula: str) -> None:
    """Whatever a formula builds (towers of powers, exponentials of exponentials), its value is
    an exact number of at most MAX_VALUE_DIGITS digits, a float, or a clean MathError."""
    start = time.thread_time()
    try:
        value = constant_value(parse(formula))
    except MathError as error:
        assert error.message
        value = None
    assert time.thread_time() - start < TIME_BOUND, formula
    if isinstance(value, Fraction):
        bits = MAX_VALUE_DIGITS * 3.33 + 8
        assert value.numerator.bit_length() < bits and value.denominator.bit_length() < bits
        str(value)  # printable: Python refuses to print integers past 4,300 digits
