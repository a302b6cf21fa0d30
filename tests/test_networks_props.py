"""Property tests: random small one-hidden-layer nets with rational weights."""

from __future__ import annotations

from fractions import Fraction as F
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_budget import examples

from grader.networks import PL, Interval, Region, compare, one_hidden_layer, where

rationals = st.fractions(min_value=-20, max_value=20, max_denominator=12)
points = st.fractions(min_value=-100, max_value=100, max_denominator=50)
nets = st.integers(min_value=1, max_value=6).flatmap(
    lambda d: st.tuples(
        st.lists(rationals, min_size=d, max_size=d),
        st.lists(rationals, min_size=d, max_size=d),
        st.lists(rationals, min_size=d, max_size=d),
        rationals,
    )
)

x = PL.identity()
Net = tuple[list[F], list[F], list[F], F]


def direct(net: Net, v: Any) -> F:
    w0, b0, w1, b1 = net
    return sum((c * max(a * v + b, F(0)) for a, b, c in zip(w0, b0, w1, strict=True)), F(0)) + b1


def build(net: tuple[list[F], list[F], list[F], F]) -> PL:
    return one_hidden_layer(*net)


@settings(max_examples=examples(150), deadline=None)
@given(nets, st.lists(points, min_size=1, max_size=8))
def test_pl_evaluation_matches_direct(net: tuple[list[F], list[F], list[F], F], vs: list[F]) -> None:
    f = build(net)
    for v in vs:
        assert f(v) == direct(net, v)
    for t in f.breakpoints:
        assert f(t) == direct(net, t)


@settings(max_examples=examples(100), deadline=None)
@given(nets)
def test_net_equals_itself_and_its_rebuild(net: tuple[list[F], list[F], list[F], F]) -> None:
    f = build(net)
    assert compare(f, f) is None
    w0, b0, w1, b1 = net
    rev = one_hidden_layer(w0[::-1], b0[::-1], w1[::-1], b1)  # permuted units
    assert compare(f, rev) is None
    halves = one_hidden_layer([2 * a for a in w0], [2 * b for b in b0], [c / 2 for c in w1], b1)
    assert compare(f, halves) is None


@settings(max_examples=examples(150), deadline=None)
@given(nets, rationals, rationals.filter(lambda w: w != 0), st.sampled_from([1, 10**3, 10**6]))
def test_extra_unit_always_gives_a_witness(
    net: tuple[list[F], list[F], list[F], F], t: F, w: F, scale: int
) -> None:
    f = build(net)
    g = f + w * (x - t * scale).relu()
    diff = compare(g, f)
    assert diff is not None
    assert diff.model_value != diff.target_value
    assert diff.model_value == g(diff.x) and diff.target_value == f(diff.x)
    assert diff.x > t * scale  # type: ignore[operator]


@settings(max_examples=examples(100), deadline=None)
@given(nets, nets)
def test_compare_witness_is_a_real_difference(
    a: tuple[list[F], list[F], list[F], F], b: tuple[list[F], list[F], list[F], F]
) -> None:
    f, g = build(a), build(b)
    diff = compare(f, g)
    if diff is None:
        for v in (F(-1000), F(-1), F(0), F(1, 3), F(7), F(1000)):
            assert direct(a, v) == direct(b, v)
    else:
        assert direct(a, diff.x) != direct(b, diff.x)


@settings(max_examples=examples(100), deadline=None)
@given(nets, nets)
def test_lattice_identities(a: Net, b: Net) -> None:
    f, g = build(a), build(b)
    assert f.maximum(g) + f.minimum(g) == f + g
    assert f.relu() - (-f).relu() == f
    assert abs(f) == f.relu() + (-f).relu()
    assert f - g + g == f


@settings(max_examples=examples(100), deadline=None)
@given(nets, st.sampled_from(["<", "<=", ">", ">=", "=", "!="]), st.lists(points, min_size=1, max_size=10))
def test_where_matches_pointwise(net: tuple[list[F], list[F], list[F], F], op: str, vs: list[F]) -> None:
    f = build(net)
    region = where(op, f, 0)
    tests: dict[str, Any] = {
        "<": F.__lt__,
        "<=": F.__le__,
        ">": F.__gt__,
        ">=": F.__ge__,
        "=": F.__eq__,
        "!=": F.__ne__,
    }
    for v in [*vs, *f.breakpoints]:
        assert (v in region) == tests[op](f(v), F(0))
    assert (~region | region) == Region.all() and (~region & region).is_empty()


@settings(max_examples=examples(100), deadline=None)
@given(nets, rationals, rationals)
def test_restricted_compare(net: tuple[list[F], list[F], list[F], F], lo: F, width: F) -> None:
    f = build(net)
    hi = lo + abs(width) + 1
    g = f + (x - hi).relu() - (lo - x).relu()  # changes f only outside [lo, hi]
    assert compare(f, g, (lo, hi)) is None
    assert compare(f, g, Interval.closed(lo, hi)) is None
    diff = compare(f, g)
    assert diff is not None and not (lo <= diff.x <= hi)  # type: ignore[operator]
