"""The difference of two sums of units without merging them (grader/networks/kinks.py),
checked against merging them the usual way."""

from __future__ import annotations

from fractions import Fraction as F
from typing import Any

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis_budget import examples

from grader.networks import PL, compare, leaky_relu, relu
from grader.networks.kinks import difference

small = st.fractions(min_value=-20, max_value=20, max_denominator=12)
huge = st.fractions(min_value=-(10**15), max_value=10**15, max_denominator=10**12)
activations = st.sampled_from(["relu", "abs", "leaky"])
Unit = tuple[str, F, F, F]  # activation, weight, slope, intercept


def units(numbers: st.SearchStrategy[F]) -> st.SearchStrategy[list[Unit]]:
    return st.lists(st.tuples(activations, numbers, numbers, numbers), min_size=0, max_size=7)


def build(net: list[Unit], bias: Any = 0) -> PL:
    """Built lazily, the way the evaluator builds a network."""
    x = PL.identity()
    total: Any = PL.constant(bias)
    for kind, w, a, c in net:
        z = a * x + c
        unit = relu(z) if kind == "relu" else abs(z) if kind == "abs" else leaky_relu(z, F(1, 10))
        total = total + w * unit
    return total


def merged(f: PL) -> PL:
    return PL(f.breakpoints, f.slopes, f.intercepts, f.values)


def shuffled_copy(net: list[Unit], seed: int) -> list[Unit]:
    order = np.random.default_rng(seed).permutation(len(net))
    return [net[i] for i in order]


@settings(max_examples=examples(200), deadline=None)
@given(units(small), units(small), small, small)
def test_difference_is_the_merged_difference(f_net: list[Unit], g_net: list[Unit], fb: F, gb: F) -> None:
    d = difference(build(f_net, fb), build(g_net, gb))
    expected = merged(build(f_net, fb)) - merged(build(g_net, gb))
    assert d is not None
    assert (d.breakpoints, d.slopes, d.intercepts, d.values) == (
        expected.breakpoints,
        expected.slopes,
        expected.intercepts,
        expected.values,
    )


@settings(max_examples=examples(100), deadline=None)
@given(units(huge), st.integers(0, 1000))
def test_big_numbers_cancel_exactly(net: list[Unit], seed: int) -> None:
    f, g = build(net), build(shuffled_copy(net, seed))
    assert compare(f, g) is None
    if net:
        kind, w, a, c = net[0]
        off = build([*net[1:], (kind, w + F(1, 10**12), a, c)]) if a else None
        if off is not None:
            assert compare(f, off) is not None


@settings(max_examples=examples(150), deadline=None)
@given(units(small), units(small))
def test_witness_is_the_one_of_the_merged_functions(f_net: list[Unit], g_net: list[Unit]) -> None:
    lazy = compare(build(f_net), build(g_net))
    plain = compare(merged(build(f_net)), merged(build(g_net)))
    assert lazy == plain


def exactly(f: PL) -> PL:
    """The same terms with every float read as the exact binary value it is."""
    x = PL.identity()
    total: Any = PL.constant(0)
    for term in f.terms():
        if term.hinge is not None:
            w, a, c, left, _ = (F(v) for v in term.hinge)
            z = a * x + c
            total = total + w * (relu(z) if left == 0 else abs(z))
        else:
            total = total + PL(
                *(
                    tuple(F(v) for v in part)
                    for part in (term.breakpoints, term.slopes, term.intercepts, term.values)
                )
            )
    return total


@settings(max_examples=examples(150), deadline=None)
@given(units(small), st.integers(0, 1000), st.booleans())
@example(net=[("relu", F(0), F(0), F(1, 2))], seed=0, nudge=True)  # a weight that underflows to 0
def test_float_units_cancel_only_when_they_do_exactly(net: list[Unit], seed: int, nudge: bool) -> None:
    floats = [(kind, float(w), float(a), float(c)) for kind, w, a, c in net if kind != "leaky"]
    other = shuffled_copy(floats, seed)
    if nudge and other:
        kind, w, a, c = other[0]
        other[0] = (kind, float(np.nextafter(w, np.inf)), a, c)
    f, g = build(floats), build(other)  # type: ignore[arg-type]
    d = difference(f, g)
    exact = difference(exactly(f), exactly(g))
    assert exact is not None
    exactly_zero = not exact.breakpoints and exact.slopes == (0,) and exact.intercepts == (0,)
    if d is not None:  # only an exact zero is recognised in floats
        assert exactly_zero and not d.breakpoints and d(0) == 0
    if not nudge:  # the same units in another order
        assert d is not None


def test_bounded_domains_are_left_to_the_usual_way() -> None:
    x = PL.identity((0, 1))
    f = relu(x - F(1, 2)) + relu(x)
    assert difference(f, f) is None
    assert compare(f, f, (0, 1)) is None


def test_a_pair_that_cancels_leaves_no_kink() -> None:
    x = PL.identity()
    f = relu(x) + F(1, 3) * relu(2 * x - 5) - F(1, 3) * relu(2 * x - 5)
    d = difference(f, abs(x))
    assert d is not None and d.breakpoints == (0,)
    assert d.slopes == (1, 0) and d.intercepts == (0, 0)
