"""Targets given as sympy expressions in x (built from sympy objects, never strings).

:func:`pl_from_sympy` turns a piecewise-linear expression (sums, rational
multiples, Abs, Max, Min, Heaviside, sign, Piecewise with linear conditions)
into an exact PL; anything else raises ``NonLinearError``.

:func:`compare_expr` decides model == target for a PL model and any sympy
target. A PL-convertible target is compared exactly (:func:`compare`). For
other targets (x**2, sin x) each piece of the model is checked: the
difference target - (a x + c) is evaluated exactly at the simplest rationals
of the piece; a nonzero value is a proof that they differ (the witness). If
none of the candidates differs, ``simplify`` decides the piece symbolically;
if even that is inconclusive the result says so (``exact=False``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import sympy

from grader.networks.exact import DifferingPoint, compare
from grader.networks.intervals import Interval, Num, Region, as_interval, exact, simplest_in, simplicity_key
from grader.networks.pl import PL, NonLinearError, maximum, minimum, where

_REL_OPS = {
    sympy.StrictLessThan: "<",
    sympy.LessThan: "<=",
    sympy.StrictGreaterThan: ">",
    sympy.GreaterThan: ">=",
    sympy.Equality: "=",
    sympy.Unequality: "!=",
}


def to_sympy_number(value: object) -> sympy.Expr:
    """A Fraction/int/float as a sympy number (exact for rationals)."""
    if isinstance(value, Fraction):
        return sympy.Rational(value.numerator, value.denominator)
    if isinstance(value, int):
        return sympy.Integer(value)
    if isinstance(value, float):
        return sympy.Float(value)
    if isinstance(value, sympy.Basic):
        return value
    raise TypeError(f"not a number: {type(value).__name__}")


def from_sympy_number(value: sympy.Expr) -> Num:
    """A sympy rational as a Fraction, a sympy Float as a float."""
    if isinstance(value, sympy.Rational):
        return Fraction(int(value.p), int(value.q))
    if isinstance(value, sympy.Float):
        return float(value)
    raise NonLinearError(f"not a rational number: {value}")


def pl_from_sympy(expr: sympy.Basic, x: sympy.Symbol) -> PL:
    """An exact PL equal to ``expr`` (a function of ``x`` only), or NonLinearError."""
    if expr == x:
        return PL.identity()
    if expr.is_Number:
        return PL.constant(from_sympy_number(expr))
    if expr.free_symbols - {x}:
        raise ValueError(f"unassigned symbols in the target: {sorted(map(str, expr.free_symbols - {x}))}")
    if not expr.free_symbols:
        return PL.constant(from_sympy_number(expr))
    return _pl_node(expr, x)


def _pl_node(expr: sympy.Basic, x: sympy.Symbol) -> PL:
    args = [pl_from_sympy(a, x) for a in expr.args] if not isinstance(expr, sympy.Piecewise) else []
    if isinstance(expr, sympy.Add):
        total = args[0]
        for a in args[1:]:
            total = total + a
        return total
    if isinstance(expr, sympy.Mul):
        prod = args[0]
        for a in args[1:]:
            prod = prod * a
        return prod
    if isinstance(expr, sympy.Pow):
        return args[0] ** args[1].constant_value()
    if isinstance(expr, sympy.Abs):
        return abs(args[0])
    if isinstance(expr, sympy.Max):
        return _fold(maximum, args)
    if isinstance(expr, sympy.Min):
        return _fold(minimum, args)
    if isinstance(expr, sympy.Heaviside):
        h0 = args[1].constant_value() if len(args) > 1 else Fraction(1, 2)
        return args[0].heaviside(h0)
    if isinstance(expr, sympy.sign):
        return args[0].sign()
    if isinstance(expr, sympy.Piecewise):
        cases = [(pl_from_sympy(e, x), region_from_sympy(c, x)) for e, c in expr.args]
        return PL.from_cases(cases)
    raise NonLinearError(f"{type(expr).__name__} is not piecewise linear in {x}")


def _fold(fn: object, args: list[PL]) -> PL:
    acc: object = args[0]
    for a in args[1:]:
        acc = fn(acc, a)  # type: ignore[operator]
    assert isinstance(acc, PL)
    return acc


def region_from_sympy(cond: sympy.Basic, x: sympy.Symbol) -> Region:
    """The exact set of x where a sympy condition (linear relations, And, Or, Not) holds."""
    if cond is sympy.true or cond == True:  # noqa: E712
        return Region.all()
    if cond is sympy.false or cond == False:  # noqa: E712
        return Region.empty()
    for cls, op in _REL_OPS.items():
        if isinstance(cond, cls):
            return where(op, pl_from_sympy(cond.lhs, x), pl_from_sympy(cond.rhs, x))
    parts = [region_from_sympy(c, x) for c in cond.args]
    if isinstance(cond, sympy.And):
        out = Region.all()
        for p in parts:
            out = out & p
        return out
    if isinstance(cond, sympy.Or):
        out = Region.empty()
        for p in parts:
            out = out | p
        return out
    if isinstance(cond, sympy.Not):
        return ~parts[0]
    raise NonLinearError(f"condition {cond} is not a union of intervals in {x}")


@dataclass(frozen=True)
class ExprDecision:
    """The outcome of :func:`compare_expr`."""

    equal: bool
    witness: DifferingPoint | None
    exact: bool
    method: str


def candidates(iv: Interval, limit: int) -> Iterator[Fraction]:
    """Distinct rationals of ``iv``, simplest first in a breadth-first split."""
    queue = [iv]
    count = 0
    while queue and count < limit:
        cur = queue.pop(0)
        s = simplest_in(cur)
        yield s
        count += 1
        for part in (
            Interval.make(cur.lo, s, cur.lo_closed, False),
            Interval.make(s, cur.hi, False, cur.hi_closed),
        ):
            if part is not None:
                queue.append(part)


def _nonzero(value: sympy.Expr) -> bool | None:
    """True if value is certainly nonzero (or undefined), False if zero, None if unknown."""
    if value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo) or value.is_real is False:
        return True
    z = value.is_zero
    if z is not None:
        return not z
    approx = sympy.N(value, 50)
    if approx.is_Number and abs(approx) > sympy.Float("1e-40", 50):
        return True
    return None


def compare_expr(
    model: PL, target: sympy.Basic, x: sympy.Symbol, domain: object = None, *, tries: int = 12
) -> ExprDecision:
    """Decide model == target on the domain for a sympy target (see module doc)."""
    try:
        tpl = pl_from_sympy(target, x)
    except NonLinearError:
        return _compare_nonlinear(model, target, x, as_interval(domain), tries)
    diff = compare(model, tpl, domain)
    return ExprDecision(diff is None, diff, True, "exact piecewise-linear comparison")


def _compare_nonlinear(
    model: PL, target: sympy.Basic, x: sympy.Symbol, dom: Interval, tries: int
) -> ExprDecision:
    found: list[DifferingPoint] = []
    undecided = 0
    full = dom.intersect(model.domain)
    if full is None:
        raise ValueError("the domain and the model's domain do not meet")
    for t in model.breakpoints:
        if t in full:
            d = _check_point(model, target, x, t)
            if d is not None:
                found.append(d)
    for lo, hi, a, c in model.pieces():
        piece = Interval.open(lo, hi).intersect(full)
        if piece is None:
            continue
        d, sure = _check_piece(model, target, x, piece, a, c, tries)
        if d is not None:
            found.append(d)
        elif not sure:
            undecided += 1
    if found:
        best = min(found, key=lambda d: simplicity_key(exact(d.x)))  # type: ignore[arg-type]
        return ExprDecision(False, best, True, "exact evaluation of the target at a witness point")
    if undecided:
        return ExprDecision(
            True,
            None,
            False,
            f"target agreed at {tries} points on {undecided} piece(s) but could not be proven equal",
        )
    return ExprDecision(True, None, True, "symbolic: the target simplifies to each affine piece")


def _check_point(model: PL, target: sympy.Basic, x: sympy.Symbol, t: Num) -> DifferingPoint | None:
    mv = model(t)
    tv = target.subs(x, to_sympy_number(t))
    if _nonzero(tv - to_sympy_number(mv)):
        return DifferingPoint(t, mv, tv)
    return None


def _check_piece(
    model: PL, target: sympy.Basic, x: sympy.Symbol, piece: Interval, a: Num, c: Num, tries: int
) -> tuple[DifferingPoint | None, bool]:
    """(first-simplest witness, decided) for one affine piece."""
    affine = to_sympy_number(a) * x + to_sympy_number(c)
    g = target - affine
    hits: list[Fraction] = []
    for p in candidates(piece, tries):
        if _nonzero(g.subs(x, to_sympy_number(p))):
            hits.append(p)
    if hits:
        p = min(hits, key=simplicity_key)
        return DifferingPoint(p, model(p), target.subs(x, to_sympy_number(p))), True
    return None, sympy.simplify(g) == 0
