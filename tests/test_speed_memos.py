"""The memos of issue 59 (a varied class graded faster) give what the work they save gives."""

from __future__ import annotations

import itertools
import math
import zlib

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.core.verdict import Status
from grader.mathlang import parser
from grader.mathlang.errors import LimitError, ParseError
from grader.mathlang.limits import Limits
from grader.networks import approx
from grader.types.expression import probes
from grader.types.expression.probes import _nearest, _Scaled


def test_an_answer_parsed_again_is_the_tree_of_its_first_parse() -> None:
    first = parser.parse("2nd + x^2", symbols=["n", "d", "x"])
    again = parser.parse("2nd + x^2", symbols=("x", "d", "n"))
    assert again is first
    assert parser.dump(first) == parser.dump(
        parser._parse("2nd + x^2", frozenset("ndx"), frozenset(), "expr", Limits())
    )


def test_the_names_the_mode_and_the_limits_are_part_of_the_key() -> None:
    declared = parser.parse("nd", symbols=["n", "d"])
    undeclared = parser.parse("nd")
    assert parser.dump(declared) != parser.dump(undeclared)
    assert parser.parse("x", limits=Limits(max_length=5)) is not parser.parse("x")
    assert parser.parse("n^2", mode="complexity") is not parser.parse("n^2")


def test_an_error_comes_again_as_a_fresh_error_with_the_same_words_and_place() -> None:
    with pytest.raises(ParseError) as first:
        parser.parse("(x + 1")
    with pytest.raises(ParseError) as again:
        parser.parse("(x + 1")
    assert again.value is not first.value
    assert str(again.value) == str(first.value)
    assert again.value.render() == first.value.render()
    assert (again.value.position, again.value.hint, again.value.text) == (
        first.value.position,
        first.value.hint,
        first.value.text,
    )
    assert again.value.__traceback__ is not None and again.value.__context__ is None


def test_limits_still_refuse_and_long_texts_are_not_kept() -> None:
    with pytest.raises(LimitError):
        parser.parse("x + " * 1300 + "x")  # past max_length
    parser.parse("[" + ", ".join(["1"] * 1100) + "]")  # 3,301 characters: read, not kept
    assert all(len(key[0]) <= parser._MEMO_TEXT for key in parser._MEMO)


def test_the_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parser, "_MEMO", {})
    monkeypatch.setattr(parser, "_MEMO_SIZE", 10)
    for k in range(35):
        parser.parse(f"x + {k}")
    assert 0 < len(parser._MEMO) <= 10


def test_the_memo_is_bounded_by_its_texts_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many long distinct formulas (a hostile write-up) are not all kept: the memo holds at
    most _MEMO_CHARACTERS characters of text, whatever the number of entries allows."""
    monkeypatch.setattr(parser, "_MEMO", {})
    monkeypatch.setattr(parser, "_memo_characters", 0)
    monkeypatch.setattr(parser, "_MEMO_CHARACTERS", 5_000)
    for k in range(40):
        parser.parse(" + ".join(f"x_{{{k}}}" for _ in range(150)))  # about 1,000 characters each
    assert 0 < sum(len(key[0]) for key in parser._MEMO) <= 5_000


candidates = st.lists(
    st.one_of(
        st.sampled_from([0.0, 1.0, -1.0, 2.0, -2.0, 1e-9, -1e9, math.inf, -math.inf, math.nan]),
        st.floats(allow_nan=True, allow_infinity=True),
    ),
    min_size=1,
    max_size=12,
)
wanted = st.one_of(
    st.sampled_from([0.0, 1e-9, -1e-6, 1e-3, 1.0, -1.0, 1e3, 1e6, -1e9]), st.floats(allow_nan=False)
)


@given(candidates, wanted)
def test_the_nearest_probe_value_is_the_one_found_before(values: list[float], want: float) -> None:
    got, expected = _Scaled(values).nearest(want), _nearest(values, want)
    assert got is expected or (math.isnan(got) and math.isnan(expected)) or got == expected
    assert values.index(got) == values.index(expected) if not math.isnan(got) else True


def test_a_targets_derivative_and_function_are_made_once() -> None:
    x = sympy.Symbol("x")
    target = x**3 - 2 * x
    assert approx._made_once("diff", target, x) is approx._made_once("diff", x**3 - 2 * x, x)
    assert approx._made_once("diff", target, x) == 3 * x**2 - 2
    assert approx._made_once("lambdify", target, x)(2.0) == pytest.approx(4.0)
    assert approx._made_once("diff", x**3 - 2.0 * x, x) == 3 * x**2 - 2.0


def _combine_as_before(candidates: dict[str, list[float]], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """probes.combine before issue 59: a point at a time, a draw of the generator per value."""
    names = list(candidates)
    columns: dict[str, list[float]] = {name: [] for name in names}
    lists = [np.asarray(values, dtype=float) for values in candidates.values()]
    mixes = (
        tuple(float(values[rng.integers(len(values))]) for values in lists) for _ in range(probes.MAX_POINTS)
    )
    for point in itertools.chain(probes._corners(candidates), mixes):
        for name, value in zip(names, point, strict=True):
            columns[name].append(value)
    return {name: np.array(values[: probes.MAX_POINTS], dtype=float) for name, values in columns.items()}


@settings(deadline=None)  # a shared machine's load is no failure
@given(
    st.lists(
        st.lists(st.floats(min_value=-1e12, max_value=1e12), min_size=1, max_size=9), min_size=2, max_size=4
    ),
    st.integers(0, 2**32),
)
def test_the_probe_points_of_several_symbols_are_those_drawn_before(
    values: list[list[float]], seed: int
) -> None:
    candidates = {f"s{k}": v for k, v in enumerate(values)}
    got = probes.combine(candidates, np.random.default_rng(seed))
    expected = _combine_as_before(candidates, np.random.default_rng(seed))
    assert list(got) == list(expected)
    for name in got:
        assert np.array_equal(got[name], expected[name])


def test_a_parse_stopped_by_pythons_recursion_limit_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "((((y))))"

    def too_deep(self: object) -> None:
        raise RecursionError

    monkeypatch.setattr(parser._Parser, "run", too_deep)
    with pytest.raises(LimitError):
        parser.parse(text)
    monkeypatch.undo()
    assert parser.dump(parser.parse(text)) == parser.dump(parser.parse("y"))


# ---- session 15: pictures drawn once, a report withheld once, numbers read with int --------------


def _curve(**changes: object) -> object:
    from grader.core.plotdata import CurvePlot

    fields: dict[str, object] = {
        "input": "x",
        "xs": (-1.0, 0.0, 1.0),
        "network": (0.0, 0.5, 2.0),
        "target": (0.0, 0.0, 1.0),
        "witness": 1.0,
    }
    return CurvePlot(**{**fields, **changes})  # type: ignore[arg-type]


def _dataclass_text(plot: object) -> str:
    """The text dataclasses' own generated ``__repr__`` makes, from a twin class without ours."""
    import dataclasses

    twin = dataclasses.make_dataclass(
        type(plot).__name__,
        [(f.name, f.type, f) for f in dataclasses.fields(plot)],  # type: ignore[arg-type]
        frozen=True,
    )
    return repr(twin(**{f.name: getattr(plot, f.name) for f in dataclasses.fields(plot)}))  # type: ignore[arg-type]


@settings(deadline=None)  # a shared machine's load is no failure
@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=6),
    st.one_of(st.none(), st.floats()),
)
def test_a_pictures_text_is_dataclasses_own_and_never_anothers(
    values: list[float], witness: float | None
) -> None:
    """The picture's text kept by its content is the generated repr, for every float (0.0 and
    -0.0, nan, 1 and 1.0 are told apart: the SVG's ids and the report's digest come from it)."""
    from grader.core.plotdata import PlanePlot

    xs = tuple(float(i) for i in range(len(values)))
    plot = _curve(xs=xs, network=tuple(values), target=None, witness=witness)
    assert repr(plot) == _dataclass_text(plot)
    negated = _curve(xs=xs, network=tuple(-v for v in values), target=None, witness=witness)
    assert repr(negated) == _dataclass_text(negated)
    plane = PlanePlot(("x", "y"), (0.0,), xs, tuple((v,) for v in values), witness=(0.0, -0.0))
    assert repr(plane) == _dataclass_text(plane)
    assert repr(_curve(witness=0.0)) != repr(_curve(witness=-0.0))
    assert repr(_curve(witness=1)) != repr(_curve(witness=1.0))


def test_a_picture_is_drawn_once_for_its_title_and_data(monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.reporting import plots

    monkeypatch.setattr(plots, "_DRAWN", {})
    drawn: list[object] = []
    render = plots._render
    monkeypatch.setattr(plots, "_render", lambda *args: drawn.append(args[0]) or render(*args))
    first = plots.render_plot_svg(_curve())  # type: ignore[arg-type]
    again = plots.render_plot_svg(_curve())  # type: ignore[arg-type]  # equal data, another object
    assert first == again and len(drawn) == 1
    other = plots.render_plot_svg(_curve(witness=-0.0))  # type: ignore[arg-type]
    titled = plots.render_plot_svg(_curve(), "A title")  # type: ignore[arg-type]
    assert len(drawn) == 3 and other != first and "A title" in titled
    heading = plots._default_title(_curve())  # type: ignore[arg-type]
    uid = f"plot{zlib.crc32(repr((heading, _curve())).encode()):08x}"  # the ids as made before
    assert f'id="{uid}-title"' in first


def test_the_pictures_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.core import plotdata
    from grader.reporting import plots

    monkeypatch.setattr(plots, "_DRAWN", {})
    monkeypatch.setattr(plotdata, "_REPRS", {})
    for i in range(3 * plots._DRAWN_SIZE):
        plots.render_plot_svg(_curve(witness=float(i)))  # type: ignore[arg-type]
    assert 0 < len(plots._DRAWN) <= plots._DRAWN_SIZE
    assert 0 < len(plotdata._REPRS) <= plotdata._REPRS_SIZE


@pytest.mark.parametrize("text", ["0", "7", "007", "12345678901234567890", "3.5", "1e3", "2E-2", "0.0"])
def test_a_number_reads_as_fraction_reads_it(text: str) -> None:
    from fractions import Fraction

    from grader.mathlang import ast

    node = parser.parse(f"{text} + x", symbols=("x",))
    assert isinstance(node, ast.BinOp) and isinstance(node.left, ast.Num)
    assert node.left.value == Fraction(text) and type(node.left.value) is Fraction
    assert node.left.is_float == any(c in text for c in ".eE")


def test_a_chain_needs_two_equals_signs() -> None:
    from grader.mathlang.candidates import chain_members

    assert chain_members("L = x + x = 2x") == ["L", "x + x", "2x"]
    for text in ("x + 1", "y = 2x", "\\frac{a}{b} = c", "x" * 5000, ""):
        assert chain_members(text) == []


# ---- session 15: a network part's decision made once for the same weights' values -------------


def _network_parts() -> dict[str, object]:
    from pathlib import Path

    from grader.loading import load_problem_set

    root = Path(__file__).resolve().parent.parent
    spec = load_problem_set(root / "problems" / "approximation-backprop-cifar.yaml")
    return {pid: part for pid, _, part in spec.iter_parts()}


def _decides(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    from grader.types.network import checker

    made: list[object] = []
    decide = checker.decide
    monkeypatch.setattr(checker, "decide", lambda *a, **k: made.append(a[1]) or decide(*a, **k))
    return made


def test_the_same_weights_written_otherwise_are_decided_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A network restated (``1`` as ``2/2``, ``24369*(1)/24369``) gets the verdict the first
    writing got, without deciding again; other values, other types (0.5 written with decimals
    against 1/2) and a wrong network are decided, and get their own verdicts."""
    from grader.engine import check_part
    from grader.types.network.compile import compile_part

    xor = _network_parts()["q7.xor"]
    compile_part(xor).decided.clear()  # type: ignore[arg-type]
    made = _decides(monkeypatch)
    first = check_part(xor, xor.answer)  # type: ignore[attr-defined]
    restated = {
        name: [
            [f"24369*({v})/24369" for v in row] if isinstance(row, list) else f"2*({row})/2" for row in rows
        ]
        for name, rows in xor.answer.items()  # type: ignore[attr-defined]
    }
    again = check_part(xor, restated)
    assert first.status is Status.CORRECT and again == first and len(made) == 1
    wrong = {**xor.answer, "W3": [[1, 0, 1, 0, -1, 0]]}  # type: ignore[attr-defined]
    verdict = check_part(xor, wrong)
    assert verdict.status is Status.INCORRECT and verdict.witness is not None and len(made) == 2
    assert check_part(xor, wrong) == verdict and len(made) == 2


def test_weights_that_differ_only_in_how_exact_they_are_are_decided_apart() -> None:
    from grader.types.network.checker import _values_key
    from grader.types.network.compile import compile_part
    from grader.types.network.weights import read_answer

    part = _network_parts()["q7.xor"]
    comp = compile_part(part)  # type: ignore[arg-type]
    answer = part.answer  # type: ignore[attr-defined]
    halves = {**answer, "W3": [[0.5 if i == 0 else v for i, v in enumerate(answer["W3"][0])]]}
    exact = {**answer, "W3": [["1/2" if i == 0 else v for i, v in enumerate(answer["W3"][0])]]}
    a, b = read_answer(comp, halves), read_answer(comp, exact)
    assert a.inexact and not b.inexact  # type: ignore[union-attr]
    assert _values_key(a) != _values_key(b)  # type: ignore[arg-type]
    other = {**answer, "W3": [["1/3" if i == 0 else v for i, v in enumerate(answer["W3"][0])]]}
    assert _values_key(read_answer(comp, other)) != _values_key(b)  # type: ignore[arg-type]
    # an entry's exact text can run to kilobytes; what is kept for it is a digest of 64 characters
    huge = {**answer, "W3": [["(3^2000+1)/3^2000" if i == 0 else v for i, v in enumerate(answer["W3"][0])]]}
    read = read_answer(comp, huge)
    key = _values_key(read)  # type: ignore[arg-type]
    assert key is not None and len(key) == 64 and key != _values_key(b)  # type: ignore[arg-type]


def test_a_decision_stopped_at_a_deadline_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    from grader import clock
    from grader.engine import check_part
    from grader.types.network import checker
    from grader.types.network.compile import compile_part

    xor = _network_parts()["q7.xor"]
    comp = compile_part(xor)  # type: ignore[arg-type]
    comp.decided.clear()
    decide = checker.decide

    def cut(*args: object, **kwargs: object) -> object:
        clock.past(0.0)  # a step of the decision stopped at its deadline
        return decide(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(checker, "decide", cut)
    check_part(xor, xor.answer)  # type: ignore[attr-defined]
    assert comp.decided == {}


def test_weights_with_symbols_are_decided_each_time(monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    from grader.engine import check_part
    from grader.loading import load_problem_set

    root = Path(__file__).resolve().parent.parent
    spec = load_problem_set(root / "problems" / "attention-approximation.yaml")
    parts = {pid: part for pid, _, part in spec.iter_parts()}
    linear = next(p for pid, p in parts.items() if pid.endswith("linear"))
    made = _decides(monkeypatch)
    first = check_part(linear, linear.answer)  # type: ignore[attr-defined]
    assert check_part(linear, linear.answer) == first and len(made) == 2  # type: ignore[attr-defined]


def test_a_complexity_class_read_the_same_is_judged_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import TypeAdapter

    from grader.engine import check_part
    from grader.spec import Part
    from grader.types.complexity import checker

    part = TypeAdapter(Part).validate_python(
        {"id": "p", "type": "complexity", "answer": "Theta(n^2 d)", "symbols": ["n", "d"]}
    )
    monkeypatch.setattr(checker, "_JUDGED", {})
    judged: list[object] = []
    judge = checker.judge
    monkeypatch.setattr(checker, "judge", lambda *a, **k: judged.append(a[0]) or judge(*a, **k))
    first = check_part(part, "\\Theta(n^2 d)")
    assert first.status is Status.CORRECT and len(judged) == 1
    assert check_part(part, "Θ(d n n)") == first and len(judged) == 1
    wrong = check_part(part, "O(n d)")
    assert wrong.status is Status.INCORRECT and len(judged) == 2
    assert check_part(part, "O(n d)") == wrong and len(judged) == 2
    big_o = check_part(part, "O(n^2 d)")  # another bound: another class
    assert len(judged) == 3 and big_o != first
