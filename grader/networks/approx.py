"""The largest |model - target| on a bounded interval, for ``mode: approx``.

On a piece of the model where model = a x + c, the extrema of
target(x) - (a x + c) lie at the piece's ends or where target'(x) = a.
:func:`max_error` evaluates exactly at

* every breakpoint of the model in [lo, hi] (its value there),
* both ends of every piece (the one-sided limits, so a jump is not missed),
* the roots of target'(x) = a inside each piece, for polynomial targets
  (exact real roots),

and reports the largest error exactly (a sympy number) with where it occurs.
Any other target that ball arithmetic evaluates (``exp``, ``sin``, ``log``,
``tanh``, roots, ``Abs``...) is bounded by branch and bound
(:mod:`grader.networks.bounds`): the result holds a certified enclosure
``bound = (lower, upper)`` of the largest error, narrowed until it is tight.
What neither handles (a plain Python callable, ``floor``...) is sampled
densely and refined by golden-section search: the result then says
``exact=False`` and names the method. A piecewise-linear target (a PL, or a
sympy expression that converts to one) is handled exactly. Nothing runs in a
background thread: a time limit around the call stops it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import sympy
from sympy.calculus.util import continuous_domain

from grader.clock import deadline_in, past
from grader.mathlang.enclosures import NoEnclosure
from grader.networks.bounds import Piece, bound_max_error
from grader.networks.intervals import Interval, Num, abs_num, as_interval, as_num, fmt_num
from grader.networks.pl import PL, NonLinearError, to_pl
from grader.networks.sym import pl_from_sympy, to_sympy_number


@dataclass(frozen=True)
class ApproxResult:
    """The largest |model - target| on the interval and where it is reached.

    ``error`` is exact (Fraction or sympy number) when ``exact`` is true, else a
    float. ``side`` is ``""`` when the value is attained at ``x``, ``"-"``/``"+"``
    when it is the limit from the left/right at a jump of the model.
    """

    error: Any
    x: Any
    model_value: Any
    target_value: Any
    exact: bool
    method: str
    side: str = ""
    bound: tuple[Fraction, Fraction | None] | None = None  # certified (lower, upper) of the error

    @property
    def certified(self) -> bool:
        """The error is exact, or enclosed by a proof."""
        return self.exact or self.bound is not None

    def below(self, epsilon: object) -> bool:
        """error < epsilon, decided exactly when the error is exact, by the enclosure when it is
        bounded (:class:`ApproxUndecided` when epsilon falls inside it)."""
        eps = as_num(epsilon)
        if self.bound is not None:
            lower, upper = self.bound
            if upper is not None and upper < eps:
                return True
            if lower >= eps:
                return False
            shown = "unbounded" if upper is None else f"{float(upper):.6g}"
            raise ApproxUndecided(
                f"the largest error lies between {float(lower):.6g} and {shown}; "
                f"that does not decide whether it is below {float(eps):g}"
            )
        if isinstance(self.error, (Fraction, float)):
            return bool(self.error < eps)
        return bool(self.error < to_sympy_number(eps))

    def describe(self) -> str:
        where = f"x = {fmt_num(self.x)}"
        if self.side:
            where = f"x -> {fmt_num(self.x)} from the {'left' if self.side == '-' else 'right'}"
        return (
            f"max |network - target| = {fmt_num(self.error)} at {where} "
            f"(network {fmt_num(self.model_value)}, target {fmt_num(self.target_value)}; {self.method})"
        )


class ApproxUndecided(ValueError):
    """The enclosure of the largest error holds epsilon: neither below nor above is proved."""


@dataclass
class _Cand:
    key: float  # the error as a float, for ordering
    error: Any
    x: Any
    model_value: Any
    target_value: Any
    side: str = ""


def max_error(
    model: PL,
    target: object,
    interval: object,
    x: sympy.Symbol | None = None,
    *,
    time_budget: float = 5.0,
    samples: int = 4000,
) -> ApproxResult:
    """sup |model - target| over the closed bounded ``interval`` (see module doc).

    ``target`` is a sympy expression in ``x`` (``x`` may be omitted when it is
    the only free symbol), a PL or number, or a callable float -> float.
    ``time_budget`` (seconds; 0: sample at once) caps the search, checked between steps.
    """
    iv = as_interval(interval)
    if iv.lo is None or iv.hi is None:
        raise ValueError("approximation needs a bounded interval [a, b]")
    iv = Interval.closed(iv.lo, iv.hi)
    model = to_pl(model)
    if isinstance(target, PL) or _is_number(target):
        return _exact_pl(model, to_pl(target), iv, "exact piecewise-linear comparison")
    if isinstance(target, sympy.Basic):
        return _sympy_target(model, target, iv, x, time_budget, samples)
    if callable(target):
        fn = np.vectorize(lambda v: float(target(float(v))), otypes=[float])
        return _sampled_only(model, fn, iv, samples, "target is a Python function")
    raise TypeError(f"unsupported target {type(target).__name__}")


def _is_number(v: object) -> bool:
    try:
        as_num(v)
    except TypeError:
        return False
    return not isinstance(v, sympy.Basic)


def _segments(model: PL, iv: Interval) -> list[tuple[Num, Num, Num, Num]]:
    """(left, r, a, c): the model's pieces cut to [lo, hi], with left < r."""
    out = []
    for lo, hi, a, c in model.pieces():
        cut = Interval.open(lo, hi).intersect(iv)
        if cut is not None and cut.lo is not None and cut.hi is not None and cut.lo < cut.hi:
            out.append((cut.lo, cut.hi, a, c))
    return out


def _exact_pl(model: PL, target: PL, iv: Interval, method: str) -> ApproxResult:
    d = model - target
    cands: list[_Cand] = []
    for t in d.breakpoints:
        if t in iv:
            e = abs_num(d(t))
            cands.append(_Cand(float(e), e, t, model(t), target(t)))
    for lo, hi, a, c in _segments(d, iv):
        for p, side in ((lo, "+"), (hi, "-")):
            e = abs_num(a * p + c)
            mv, tv = model.limit(p, side), target.limit(p, side)
            attained = mv - tv == d(p)
            cands.append(_Cand(float(e), e, p, mv, tv, "" if attained else side))
    best = max(cands, key=lambda k: k.key)
    return ApproxResult(best.error, best.x, best.model_value, best.target_value, True, method, best.side)


def _free_symbol(target: sympy.Basic, x: sympy.Symbol | None) -> sympy.Symbol:
    free = target.free_symbols
    if x is None:
        if len(free) > 1:
            raise ValueError(f"say which symbol is x: the target has {sorted(map(str, free))}")
        return next(iter(free)) if free else sympy.Symbol("x")
    if free - {x}:
        raise ValueError(f"unassigned symbols in the target: {sorted(map(str, free - {x}))}")
    return x


def _sympy_target(
    model: PL,
    target: sympy.Basic,
    iv: Interval,
    x: sympy.Symbol | None,
    budget: float,
    samples: int,
) -> ApproxResult:
    xs = _free_symbol(target, x)
    try:
        tpl = pl_from_sympy(target, xs)
    except NonLinearError:
        pass
    else:
        return _exact_pl(model, tpl, iv, "exact piecewise-linear comparison")
    deadline = deadline_in(budget)
    assert iv.lo is not None and iv.hi is not None
    polynomial = target.is_polynomial(xs)
    if budget > 0 and not polynomial:
        gap = _discontinuity(target, xs, to_sympy_number(iv.lo), to_sympy_number(iv.hi))
        if gap is not None:
            return gap
        try:
            return _bounded(model, target, xs, iv, deadline)
        except NoEnclosure:
            pass
    return _critical_or_sampled(model, target, xs, iv, deadline if polynomial else None, samples)


def _critical_or_sampled(
    model: PL, target: sympy.Basic, xs: sympy.Symbol, iv: Interval, deadline: float | None, samples: int
) -> ApproxResult:
    """Exact at breakpoints and at the critical points of a polynomial target (before the
    deadline); pieces without them are sampled."""
    assert iv.lo is not None and iv.hi is not None
    width = iv.hi - iv.lo
    deriv = _made_once("diff", target, xs) if deadline is not None else None
    fn = _made_once("lambdify", target, xs)
    cands: list[_Cand] = []
    sampled = 0
    for t in model.breakpoints:
        if t in iv:
            cands.append(_point(target, xs, t, model(t)))
    for left, r, a, c in _segments(model, iv):
        roots = None
        if deriv is not None and deadline is not None and not past(deadline):
            roots = _critical_points(deriv - to_sympy_number(a), xs, left, r)
        if roots is None:
            sampled += 1
            cands.append(_sample_piece(fn, left, r, a, c, samples * float((r - left) / width)))
            continue
        affine = to_sympy_number(a) * xs + to_sympy_number(c)
        for p, side in ((left, "+"), (r, "-")):
            attained = model.value_at(p) == a * p + c
            cands.append(_point(target, xs, p, affine.subs(xs, to_sympy_number(p)), "" if attained else side))
        for z in roots:
            cands.append(_point(target, xs, z, affine.subs(xs, z)))
    best = max(cands, key=lambda k: k.key)
    if sampled:
        method = (
            f"exact at breakpoints and critical points; {sampled} piece(s) sampled "
            "and refined by golden-section search (the target could not be bounded by ball arithmetic)"
        )
        return ApproxResult(
            float(best.key), best.x, best.model_value, best.target_value, False, method, best.side
        )
    method = "exact: breakpoints, piece ends and the roots of target'(x) = slope on each piece"
    error = sympy.nsimplify(best.error) if isinstance(best.error, sympy.Float) else best.error
    return ApproxResult(error, best.x, best.model_value, best.target_value, True, method, best.side)


# A target's derivative and its numpy function, by (target, x): every student's network on a
# part is compared with the same target (sympy expressions are immutable and hashed by value).
_MADE: dict[tuple[str, sympy.Basic, sympy.Symbol], Any] = {}
_MADE_SIZE = 256


def _made_once(what: str, target: sympy.Basic, xs: sympy.Symbol) -> Any:
    key = (what, target, xs)
    made = _MADE.get(key)
    if made is None:
        made = sympy.diff(target, xs) if what == "diff" else sympy.lambdify(xs, target, modules="numpy")
        if len(_MADE) >= _MADE_SIZE:
            _MADE.clear()
        _MADE[key] = made
    return made


def _bounded(model: PL, target: sympy.Basic, xs: sympy.Symbol, iv: Interval, deadline: float) -> ApproxResult:
    pieces = [
        Piece(Fraction(lo), Fraction(hi), Fraction(a), Fraction(c)) for lo, hi, a, c in _segments(model, iv)
    ]
    found = bound_max_error(target, xs, pieces, deadline)
    piece = next(p for p in pieces if p.left <= found.x <= p.right)
    if found.upper is None:
        method = f"interval bound: the error could not be bounded (ball arithmetic on {found.boxes} boxes)"
    else:
        method = (
            f"interval bound: max |network - target| <= {float(found.upper):.9g}, reached to within "
            f"{float(found.upper - found.lower):.1e} (ball arithmetic on {found.boxes} boxes)"
        )
    return ApproxResult(
        float(found.lower if found.upper is None else (found.lower + found.upper) / 2),
        float(found.x),
        float(piece.slope * found.x + piece.offset),
        float(found.target_value),
        False,
        method,
        bound=(found.lower, found.upper),
    )


def _point(target: sympy.Basic, xs: sympy.Symbol, p: Any, model_value: Any, side: str = "") -> _Cand:
    """The exact error at p (``side``: a one-sided limit of the model's piece)."""
    tv = sympy.simplify(target.subs(xs, to_sympy_number(p)))
    err = sympy.simplify(sympy.Abs(tv - to_sympy_number(model_value)))
    return _Cand(_as_float(err), err, p, model_value, tv, side)


def _as_float(v: sympy.Expr) -> float:
    try:
        return float(sympy.N(v, 30))
    except (TypeError, ValueError):
        return math.inf


def _discontinuity(
    target: sympy.Basic, xs: sympy.Symbol, lo: sympy.Expr, hi: sympy.Expr
) -> ApproxResult | None:
    """An infinite-error result when the target is not continuous on [lo, hi]."""
    whole = sympy.Interval(lo, hi)
    try:
        dom = continuous_domain(target, xs, whole)
    except (NotImplementedError, ValueError, TypeError):  # sympy cannot find the domain: undecided here
        return None  # unknown: the enclosure will be unbounded there if it is not continuous
    if whole.is_subset(dom):
        return None
    bad = whole - dom
    p = bad.inf if bad.inf.is_finite else lo
    return ApproxResult(sympy.oo, p, None, None, True, f"the target is not continuous on {whole} (at {bad})")


def _critical_points(h: sympy.Expr, xs: sympy.Symbol, left: Num, r: Num) -> list[Any] | None:
    """Roots of the polynomial h in the open (left, r), exactly; None if h is not one."""
    lo, hi = to_sympy_number(left), to_sympy_number(r)
    h = sympy.expand(h)
    if h == 0:
        return []
    if not h.is_polynomial(xs):
        return None
    return _inside(list(sympy.Poly(h, xs).real_roots()), lo, hi)


def _inside(points: list[Any], lo: sympy.Expr, hi: sympy.Expr) -> list[Any] | None:
    out = []
    for p in points:
        if p.is_real is not True:
            continue
        inside = sympy.And(p > lo, p < hi)
        if inside not in (sympy.true, sympy.false):
            return None
        if inside is sympy.true:
            out.append(p)
    return out


def _golden_max(f: Callable[[float], float], a: float, b: float, steps: int = 80) -> tuple[float, float]:
    """Maximum of a (locally unimodal) f on [a, b] by golden-section search."""
    g = (math.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(steps):
        if fc >= fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = f(d)
    return (fc, c) if fc >= fd else (fd, d)


def _sample_piece(fn: Callable[[Any], Any], left: Num, r: Num, a: Num, c: Num, n: float) -> _Cand:
    """Dense sampling of |fn - (a x + c)| on [left, r], refined around the top maxima."""
    lf, rf, af, cf = float(left), float(r), float(a), float(c)
    count = int(min(max(n, 64), 200_000))
    grid = np.linspace(lf, rf, count)

    def err(v: Any) -> Any:
        with np.errstate(all="ignore"):
            out = np.abs(np.asarray(fn(v), dtype=float) - (af * v + cf))
        return np.where(np.isnan(out), np.inf, out)

    ys = np.broadcast_to(err(grid), grid.shape)
    best_e, best_x = float(ys.max()), float(grid[int(ys.argmax())])
    for i in np.argsort(ys)[-5:]:
        left, right = grid[max(i - 1, 0)], grid[min(i + 1, count - 1)]
        e, where_ = _golden_max(lambda v: float(err(np.float64(v))), float(left), float(right))
        if e > best_e:
            best_e, best_x = e, where_
    model_value = af * best_x + cf
    target_value = float(np.asarray(fn(np.float64(best_x)), dtype=float))
    return _Cand(best_e, best_e, best_x, model_value, target_value)


def _sampled_only(model: PL, fn: Callable[[Any], Any], iv: Interval, samples: int, why: str) -> ApproxResult:
    assert iv.lo is not None and iv.hi is not None
    cands = [
        _sample_piece(fn, left, r, a, c, samples * float((r - left) / (iv.hi - iv.lo)))
        for left, r, a, c in _segments(model, iv)
    ]
    for t in model.breakpoints:
        if t in iv:
            mv = float(model(t))
            tv = float(fn(np.float64(float(t))))
            cands.append(_Cand(abs(mv - tv), abs(mv - tv), t, mv, tv))
    best = max(cands, key=lambda k: k.key)
    method = f"sampled ({samples} points) and refined by golden-section search; {why}"
    return ApproxResult(best.error, best.x, best.model_value, best.target_value, False, method, best.side)
