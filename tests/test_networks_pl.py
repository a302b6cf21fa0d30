"""PL: exact piecewise-linear functions (grader/networks/pl.py, intervals.py)."""

from __future__ import annotations

from fractions import Fraction as F
from typing import Any

import numpy as np
import pytest

from grader.networks import (
    PL,
    DomainError,
    Interval,
    NonLinearError,
    Region,
    absolute,
    heaviside,
    leaky_relu,
    maximum,
    minimum,
    one_hidden_layer,
    piecewise,
    pl_sum,
    relu,
    simplest_in,
    where,
)

x = PL.identity()


def test_identity_constant_and_call() -> None:
    assert x(F(3, 7)) == F(3, 7)
    assert PL.constant(5)(-100) == 5
    assert isinstance(x(2), F)


def test_scalars_on_both_sides_and_sum_from_zero() -> None:
    f = 3 * x + F(1, 2)
    assert f(2) == F(13, 2)
    g = F(1, 2) - x * 2
    assert g(1) == F(-3, 2)
    assert (f / 2)(0) == F(1, 4)
    terms: list[Any] = [x, x, 1]
    assert sum(terms) == 2 * x + 1
    assert (-x)(4) == -4


def test_product_of_non_constant_pls_raises() -> None:
    with pytest.raises(NonLinearError):
        _ = x * x
    with pytest.raises(NonLinearError):
        _ = x**2
    with pytest.raises(NonLinearError):
        _ = 1 / x
    assert (x * PL.constant(3))(2) == 6
    assert (PL.constant(2) ** 3)(0) == 8
    assert x**1 == x
    with pytest.raises(ZeroDivisionError):
        _ = x / 0


def test_relu_adds_breakpoint_at_zero_crossing() -> None:
    f = (2 * x - 1).relu()
    assert f.breakpoints == (F(1, 2),)
    assert f(0) == 0 and f(1) == 1 and f(F(1, 2)) == 0
    assert relu(F(-3)) == 0 and relu(F(3)) == 3


def test_relu_difference_is_identity_and_normal_form() -> None:
    f = x.relu() - (-x).relu()
    assert f == x
    assert f.breakpoints == ()  # the kink cancels in the sweep


def test_abs_heaviside_leaky_sign() -> None:
    assert abs(x)(-3) == 3
    h = x.heaviside(F(1, 2))
    assert (h(-1), h(0), h(1)) == (0, F(1, 2), 1)
    assert x.heaviside(0)(0) == 0
    assert heaviside(F(0), 1) == 1
    assert x.leaky_relu(F(1, 10))(-5) == F(-1, 2)
    assert leaky_relu(F(-5), F(1, 10)) == F(-1, 2)
    assert x.sign()(-7) == -1 and x.sign()(0) == 0
    assert absolute(F(-2)) == 2


def test_heaviside_of_zero_piece_is_h0() -> None:
    f = (x.relu() - x).heaviside(F(1, 3))  # zero for x >= 0, positive for x < 0
    assert f(5) == F(1, 3) and f(-5) == 1 and f(0) == F(1, 3)


def test_maximum_minimum() -> None:
    m = x.maximum(2 - x)
    assert m(0) == 2 and m(3) == 3 and m(1) == 1
    assert minimum(x, 0) == -((-x).relu())
    assert maximum(F(1), F(2)) == 2
    assert maximum(0, x) == x.relu()
    f, g = 3 * x - 1, -x + 2
    assert f.maximum(g) + f.minimum(g) == f + g


def test_discontinuity_values_exact() -> None:
    step = x.heaviside(F(1, 2))
    assert step.limit(0, "-") == 0 and step.limit(0, "+") == 1 and step(0) == F(1, 2)


def test_restrict_and_domain() -> None:
    f = x.relu().restrict(0, 1)
    assert f == x.restrict(0, 1)
    assert f != x.relu()
    with pytest.raises(DomainError):
        f(2)
    assert f.domain == Interval.closed(0, 1)


def test_simplify_merges_equal_pieces() -> None:
    f = PL([0, 1], [1, 1, 1], [0, 0, 0])
    assert f.simplify().breakpoints == ()
    g = PL([0], [1, 1], [0, 0], [5])  # a removable point is kept
    assert g.breakpoints == (0,) and g(0) == 5


def test_from_cases_contract_target() -> None:
    cond1 = where("<=", -2, x) & where("<=", x, 0)
    cond2 = where("<", 0, x) & where("<", x, 2)
    t = PL.from_cases([(3 * x + 6, cond1), (-3 * x + 6, cond2), (0, True)])
    assert [t(v) for v in (-3, -2, -1, 0, 1, 2, 3)] == [0, 0, 3, 6, 3, 0, 0]
    assert t.breakpoints == (-2, 0, 2)


def test_from_cases_first_match_wins_and_default() -> None:
    t = PL.from_cases([(1, Interval.closed(0, 1)), (2, Interval.closed(0, 2))], default=7)
    assert (t(0), t(1), t(F(3, 2)), t(-1), t(3)) == (1, 1, 2, 7, 7)
    with pytest.raises(ValueError):
        PL.from_cases([(1, Interval.closed(0, 1))])


def test_from_cases_with_discontinuity() -> None:
    t = PL.from_cases([(x, where("<", x, 0)), (x + 1, True)])
    assert t.limit(0, "-") == 0 and t(0) == 1


def test_piecewise_helper_numbers_and_pls() -> None:
    assert piecewise([(1, False), (2, True)]) == 2
    f = piecewise([(x, where(">=", x, 0)), (-x, True)])
    assert f == abs(x)


def test_where_regions() -> None:
    r = where("<", abs(x), 2)
    assert r == Region([Interval.open(-2, 2)])
    assert 2 not in r and F(19, 10) in r
    assert where("!=", x, 1) == ~Region([Interval.point(1)])
    assert where("=", 2 * x, 1) == Region([Interval.point(F(1, 2))])
    assert where("<", 1, 2).is_all() and where(">", 1, 2).is_empty()


def test_region_algebra() -> None:
    a = Region([Interval.closed(0, 1), Interval.open(1, 2)])
    assert a == Region([Interval(0, 2, True, False)])
    assert ~Region.all() == Region.empty()
    assert ~~a == a
    assert (a - Region([Interval.point(1)])).intervals == (Interval(0, 1, True, False), Interval.open(1, 2))


def test_simplest_in() -> None:
    assert simplest_in(Interval.open(-5, 5)) == 0
    assert simplest_in(Interval.open(10**6, None)) == 10**6 + 1
    assert simplest_in(Interval.open(None, -2)) == -3
    assert simplest_in(Interval.open(F(1, 3), F(1, 2))) == F(2, 5)
    assert simplest_in(Interval.closed(F(1, 3), F(1, 2))) == F(1, 2)
    assert simplest_in(Interval.open(F(314, 100), F(315, 100))) == F(22, 7)
    assert simplest_in(Interval.open(-1, 0)) == F(-1, 2)


def test_numpy_object_arrays() -> None:
    w0 = np.array([F(1), F(1), F(1)], dtype=object)
    b0 = np.array([F(2), F(0), F(-2)], dtype=object)
    w1 = np.array([F(3), F(-6), F(3)], dtype=object)
    hidden = relu(w0 * x + b0)
    assert isinstance(hidden, np.ndarray) and hidden.dtype == object
    out = w1 @ hidden
    assert isinstance(out, PL)
    assert out == one_hidden_layer([1, 1, 1], [2, 0, -2], [3, -6, 3])
    assert np.dot(w1, hidden) == out
    assert (x * w0)[0] == x


def test_float_weights_run_in_float() -> None:
    f = 0.5 * x.relu() + 0.25
    assert isinstance(f(1), float) and f(1) == 0.75


def test_long_sum_is_lazy_and_correct() -> None:
    terms = [(x - k).relu() for k in range(3000)]
    total = pl_sum(terms)
    assert len(total.breakpoints) == 3000
    assert total(F(5, 2)) == F(5, 2) + F(3, 2) + F(1, 2)
    chained = terms[0]
    for term in terms[1:]:
        chained = chained + term  # a left-deep chain of 3000 pending sums
    assert chained == total


def test_repr_is_readable() -> None:
    assert "(-inf, 0): 0" in repr(x.relu())


def test_hash_consistent_with_equality() -> None:
    assert hash(x.relu() - (-x).relu()) == hash(x)
    assert {x.relu(): 1}[x.maximum(0)] == 1


def test_no_order_or_truth_value() -> None:
    with pytest.raises(TypeError, match="where"):
        _ = x < 0
    with pytest.raises(TypeError):
        _ = F(1) < x
    with pytest.raises(TypeError):
        bool(x)
    with pytest.raises(TypeError):
        max(0, x)
