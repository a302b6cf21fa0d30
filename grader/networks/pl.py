"""Exact piecewise-linear functions of one real variable (``PL``).

A ``PL`` is f: R -> R (or restricted to a closed interval) given by sorted
breakpoints t_1 < ... < t_k, an affine function a*x + c on each open piece
(t_i, t_{i+1}) (ends at -inf/+inf) and the value *at* each breakpoint, stored
apart so steps (``heaviside``) and removable points are exact.

Everything is exact when the numbers are ``Fraction`` (ints are read as
Fractions); with float weights the same code runs in float arithmetic.

The evaluator runs formula trees over numpy object arrays whose elements are
Fractions or PLs, so PL works with Python's operators on both sides
(``3 * f``, ``f + Fraction(1, 2)``, ``sum([...])``, ``w1 @ relu_vec``) and has
the methods ``relu``, ``__abs__``, ``heaviside``, ``maximum``, ``minimum`` and
``leaky_relu``. Multiplying two non-constant PLs raises ``NonLinearError``.

Units are lazy: ``relu``, ``abs`` and ``leaky_relu`` of an affine function
keep the unit unevaluated (a :class:`Hinge`, ``w * g(a x + c)``), scaling one
only changes its weight, and ``f + g`` records the two terms. The first use
that needs the pieces merges every term of a chain of sums in one sort of all
breakpoints and one sweep that accumulates slope changes (O(K log K) for K
breakpoints), so ``w1 @ relu(..)`` with thousands of units does not cost K^2;
:func:`grader.networks.kinks.difference` compares two such sums without
building either (see there).
"""

from __future__ import annotations

import bisect
import operator
from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np

from grader.networks.intervals import Interval, Num, Region, abs_num, as_interval, as_num, fmt_num

ZERO = Fraction(0)
ONE = Fraction(1)
HALF = Fraction(1, 2)

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "=": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
}


class NonLinearError(ValueError):
    """The result is not piecewise linear (a product of two non-constant PLs, x^2...)."""


class DomainError(ValueError):
    """A PL was evaluated outside its domain, or two PLs have disjoint domains."""


def _sign(v: Num) -> int:
    return (v > 0) - (v < 0)


def _interior(lo: Num | None, hi: Num | None) -> Num:
    return Interval.open(lo, hi).interior_point()


Triple = tuple[Num, Num, Num, Num]  # (t, slope change, intercept change, point excess)


def _sort_events(events: list[Triple]) -> None:
    """Sort by t exactly; float keys first (fast), exact comparison on float ties."""
    try:
        events.sort(key=lambda e: (float(e[0]), e[0]))
    except OverflowError:
        events.sort(key=lambda e: e[0])


_TUPLE_NEW = tuple.__new__  # builds a Hinge without the Python-level NamedTuple constructor


def _times(x: Num, k: Num) -> Num:
    return x * k if x else x


class Hinge(NamedTuple):
    """A unit ``weight * g(slope * x + intercept)`` where g(z) is ``left * z`` for z < 0
    and ``right * z`` for z > 0 (relu: 0 and 1; abs: -1 and 1; leaky_relu: alpha and 1).
    Its one kink is at x = -intercept / slope (slope is not 0), where it is 0."""

    weight: Num
    slope: Num
    intercept: Num
    left: Num
    right: Num

    def scaled(self, k: Num) -> Hinge:
        weight = k if self.weight is ONE else self.weight * k
        return _TUPLE_NEW(Hinge, (weight, self.slope, self.intercept, self.left, self.right))

    def pieces(self) -> tuple[tuple[Num], tuple[Num, Num], tuple[Num, Num], tuple[Num]]:
        """Breakpoints, slopes, intercepts and values, as a materialised PL has them."""
        a, c, w = self.slope, self.intercept, self.weight
        t = -c / a

        def piece(m: Num) -> tuple[Num, Num]:
            if m == 0:
                return ZERO, ZERO
            ma, mc = (a, c) if m == 1 else (m * a, m * c)
            return _times(ma, w), _times(mc, w)

        lo, hi = (piece(self.left), piece(self.right)) if a > 0 else (piece(self.right), piece(self.left))
        return (t,), (lo[0], hi[0]), (lo[1], hi[1]), (ZERO,)


class PL:
    """An exact piecewise-linear function of one real variable (immutable).

    Build with :meth:`identity`, :meth:`constant`, :meth:`from_cases` or the
    constructor ``PL(breakpoints, slopes, intercepts, values, domain)`` where
    ``slopes``/``intercepts`` have one more entry than ``breakpoints``.
    """

    __slots__ = ("_a", "_b", "_c", "_count", "_hi", "_hinge", "_lo", "_parts", "_v")

    # Immutable once built: only construction and materialisation (which fills in the
    # pieces of a lazy value without changing the function) write these.
    _b: tuple[Num, ...]
    _a: tuple[Num, ...]
    _c: tuple[Num, ...]
    _v: tuple[Num, ...]
    _lo: Num | None
    _hi: Num | None
    # A pending sum: its terms are _parts[:_count]. Sums built one term at a time share
    # one list, each node seeing its own prefix, so adding a term costs O(1).
    _parts: list[PL] | None
    _count: int
    _hinge: Hinge | None  # a pending unit

    def __init__(
        self,
        breakpoints: Sequence[object] = (),
        slopes: Sequence[object] = (0,),
        intercepts: Sequence[object] = (0,),
        values: Sequence[object] | None = None,
        domain: object = None,
    ):
        b = tuple(as_num(t) for t in breakpoints)
        a = tuple(as_num(s) for s in slopes)
        c = tuple(as_num(s) for s in intercepts)
        if len(a) != len(b) + 1 or len(c) != len(b) + 1:
            raise ValueError("need one slope and one intercept per piece (breakpoints + 1)")
        if any(b[i] >= b[i + 1] for i in range(len(b) - 1)):
            raise ValueError("breakpoints must be strictly increasing")
        if values is None:  # continuous from the left piece by default
            v = tuple(a[i] * t + c[i] for i, t in enumerate(b))
        else:
            v = tuple(as_num(x) for x in values)
        if len(v) != len(b):
            raise ValueError("need one value per breakpoint")
        dom = _domain_interval(domain)
        self._set(b, a, c, v, dom.lo, dom.hi)
        self._parts = None
        self._hinge = None
        self._finish()

    # ---- construction -------------------------------------------------------

    def _set(
        self,
        b: tuple[Num, ...],
        a: tuple[Num, ...],
        c: tuple[Num, ...],
        v: tuple[Num, ...],
        lo: Num | None,
        hi: Num | None,
    ) -> None:
        self._b = b
        self._a = a
        self._c = c
        self._v = v
        self._lo = lo
        self._hi = hi

    @classmethod
    def _new(
        cls,
        b: Sequence[Num],
        a: Sequence[Num],
        c: Sequence[Num],
        v: Sequence[Num],
        lo: Num | None = None,
        hi: Num | None = None,
    ) -> PL:
        self = object.__new__(cls)
        self._set(tuple(b), tuple(a), tuple(c), tuple(v), lo, hi)
        self._parts = None
        self._hinge = None
        return self

    @classmethod
    def _affine(cls, a: Num, c: Num, lo: Num | None, hi: Num | None) -> PL:
        self = object.__new__(cls)
        self._b = self._v = ()
        self._a = (a,)
        self._c = (c,)
        self._lo = lo
        self._hi = hi
        self._parts = None
        self._hinge = None
        return self

    @classmethod
    def _unit(cls, hinge: Hinge, lo: Num | None, hi: Num | None) -> PL:
        self = object.__new__(cls)
        self._lo = lo
        self._hi = hi
        self._parts = None
        self._hinge = hinge
        return self

    @classmethod
    def identity(cls, domain: object = None) -> PL:
        """f(x) = x."""
        dom = _domain_interval(domain)
        return cls._new((), (ONE,), (ZERO,), (), dom.lo, dom.hi)

    @classmethod
    def constant(cls, value: object, domain: object = None) -> PL:
        """f(x) = value."""
        dom = _domain_interval(domain)
        return cls._new((), (ZERO,), (as_num(value),), (), dom.lo, dom.hi)

    @classmethod
    def affine(cls, slope: object, intercept: object, domain: object = None) -> PL:
        """f(x) = slope * x + intercept."""
        dom = _domain_interval(domain)
        return cls._new((), (as_num(slope),), (as_num(intercept),), (), dom.lo, dom.hi)

    @classmethod
    def from_cases(cls, cases: Iterable[tuple[object, object]], default: object = None) -> PL:
        """A piecewise target: the first case whose condition holds gives the value.

        Each case is ``(value, condition)``: value a PL or a number; condition a
        :class:`Region`, an :class:`Interval`, a bool, or an iterable of
        Intervals. ``default`` (PL or number) is used where no case holds; with
        no default an uncovered point raises ``ValueError``. Exact.
        """
        items = list(cases)
        vals = [to_pl(v) for v, _ in items]
        conds = [Region.of(c) for _, c in items]
        fallback = None if default is None else to_pl(default)
        everyone = vals + ([fallback] if fallback is not None else [])
        lo, hi = _common_domain(everyone)
        points: set[Num] = {e for e in (lo, hi) if e is not None}
        for f, r in zip(vals, conds, strict=True):
            points.update(f._m()._b)
            points.update(r.endpoints())
        if fallback is not None:
            points.update(fallback._m()._b)
        bps = sorted(points)

        def pick(x: Num) -> PL:
            for f, r in zip(vals, conds, strict=True):
                if x in r:
                    return f
            if fallback is None:
                raise ValueError(f"piecewise: no case holds at x = {fmt_num(x)}")
            return fallback

        a: list[Num] = []
        c: list[Num] = []
        v: list[Num] = []
        for i in range(len(bps) + 1):
            p = _interior(bps[i - 1] if i else None, bps[i] if i < len(bps) else None)
            ai, ci = pick(p)._affine_at(p) if _in_domain(p, lo, hi) else (ZERO, ZERO)
            a.append(ai)
            c.append(ci)
            if i < len(bps):
                t = bps[i]
                v.append(pick(t).value_at(t) if _in_domain(t, lo, hi) else ZERO)
        return cls._new(bps, a, c, v, lo, hi)._finish()

    # ---- laziness -----------------------------------------------------------

    def _m(self) -> PL:
        """Self, materialised (a pending sum or unit is merged now)."""
        if self._parts is not None or self._hinge is not None:
            self._materialise()
        return self

    def _materialise(self) -> None:
        b, a, c, v = _sweep(self.terms())
        self._set(tuple(b), tuple(a), tuple(c), tuple(v), self._lo, self._hi)
        self._parts = None
        self._hinge = None
        if self._lo is not None or self._hi is not None:
            self._clip()

    def terms(self) -> list[PL]:
        """The terms of a pending sum, without merging them (``[self]`` for anything else)."""
        if self._parts is None:
            return [self]
        return self._parts[: self._count]

    @property
    def hinge(self) -> Hinge | None:
        """The unit ``w * g(a x + c)`` when this is one not yet evaluated, else None."""
        return self._hinge

    def knot_estimates(self) -> list[float]:
        """Where the function may bend, as floats, without merging a pending sum: every
        breakpoint of every term (some may cancel in the sum). For drawing."""
        out: list[float] = []
        for term in self.terms():
            if term._hinge is not None:
                out.append(-float(term._hinge.intercept) / float(term._hinge.slope))
            else:
                out.extend(float(t) for t in term._m()._b)
        return out

    @property
    def bounded(self) -> bool:
        """Whether the domain has an end (most functions here live on all of R)."""
        return self._lo is not None or self._hi is not None

    @property
    def is_pending(self) -> bool:
        """Whether this is a sum or a unit whose pieces have not been computed yet."""
        return self._parts is not None or self._hinge is not None

    # ---- inspection ---------------------------------------------------------

    @property
    def breakpoints(self) -> tuple[Num, ...]:
        return self._m()._b

    @property
    def slopes(self) -> tuple[Num, ...]:
        return self._m()._a

    @property
    def intercepts(self) -> tuple[Num, ...]:
        return self._m()._c

    @property
    def values(self) -> tuple[Num, ...]:
        """The value at each breakpoint."""
        return self._m()._v

    @property
    def domain(self) -> Interval:
        return Interval(self._lo, self._hi, self._lo is not None, self._hi is not None)

    def pieces(self) -> list[tuple[Num | None, Num | None, Num, Num]]:
        """``(lo, hi, slope, intercept)`` per open piece; None ends are infinite."""
        m = self._m()
        ends: list[Num | None] = [None, *m._b, None]
        return [(ends[i], ends[i + 1], m._a[i], m._c[i]) for i in range(len(m._a))]

    def is_constant(self) -> bool:
        m = self._m()
        return not m._b and m._a[0] == 0

    def constant_value(self) -> Num:
        if not self.is_constant():
            raise NonLinearError("not a constant function")
        return self._c[0]

    def _affine_at(self, x: Num) -> tuple[Num, Num]:
        """Slope and intercept of the piece containing x (x not a breakpoint)."""
        m = self._m()
        i = bisect.bisect_left(m._b, x)
        return m._a[i], m._c[i]

    def __call__(self, x: object) -> Num:
        """The exact value at x."""
        xv = as_num(x)
        if not _in_domain(xv, self._lo, self._hi):
            raise DomainError(f"x = {fmt_num(xv)} is outside the domain {self.domain}")
        return self.value_at(xv)

    def value_at(self, x: Num) -> Num:
        """The value at x without the domain check (the edge pieces extend past the domain)."""
        m = self._m()
        i = bisect.bisect_left(m._b, x)
        if i < len(m._b) and m._b[i] == x:
            return m._v[i]
        return m._a[i] * x + m._c[i]

    def limit(self, x: object, side: str) -> Num:
        """One-sided limit at x: ``side`` is ``"-"`` (from the left) or ``"+"``."""
        xv = as_num(x)
        m = self._m()
        i = bisect.bisect_left(m._b, xv) if side == "-" else bisect.bisect_right(m._b, xv)
        return m._a[i] * xv + m._c[i]

    def __repr__(self) -> str:
        self._m()
        parts = []
        for lo, hi, a, c in self.pieces():
            parts.append(f"({_fmt_end(lo, '-inf')}, {_fmt_end(hi, 'inf')}): {_fmt_affine(a, c)}")
        pts = ", ".join(f"f({fmt_num(t)}) = {fmt_num(v)}" for t, v in zip(self._b, self._v, strict=True))
        dom = "" if self._lo is None and self._hi is None else f" on {self.domain}"
        return "PL(" + "; ".join(parts) + (f"; {pts}" if pts else "") + ")" + dom

    # ---- equality -----------------------------------------------------------

    def equals(self, other: object) -> bool:
        """Exact equality as functions on the common domain."""
        o = to_pl(other)
        if isinstance(other, PL) and other.domain != self.domain:
            return False
        d = (self - o)._m()
        return all(x == 0 for x in d._a + d._c + d._v)

    def __eq__(self, other: object) -> bool:
        try:
            return self.equals(other)
        except TypeError:
            return NotImplemented
        except DomainError:
            return False

    def __hash__(self) -> int:
        m = self._m()
        return hash((m._b, m._a, m._c, m._v, m._lo, m._hi))

    # ---- no order, no truth value ------------------------------------------

    def _no_order(self, other: object) -> bool:
        raise TypeError(
            "a function of x has no single order or truth value: use "
            "grader.networks.where(op, a, b) for the set of x where a op b, "
            "maximum/minimum/relu for max and min"
        )

    __lt__ = __le__ = __gt__ = __ge__ = _no_order

    def __bool__(self) -> bool:
        return self._no_order(None)

    # ---- arithmetic ---------------------------------------------------------

    def _map(self, fn: Callable[[Num], Num]) -> PL:
        m = self._m()
        return PL._new(
            m._b,
            [fn(x) for x in m._a],
            [fn(x) for x in m._c],
            [fn(x) for x in m._v],
            m._lo,
            m._hi,
        )

    def _scale(self, k: Num) -> PL:
        if not k:
            return PL._new((), (ZERO,), (k * ZERO,), (), self._lo, self._hi)
        if self._hinge is not None:
            return PL._unit(self._hinge.scaled(k), self._lo, self._hi)
        if self._parts is None and not self._b:  # affine: w0 * x
            a, c = self._a[0], self._c[0]
            return PL._affine(k if a is ONE else a * k if a else a, c * k if c else c, self._lo, self._hi)
        return self._map(lambda x: x * k if x else x)

    def _shift(self, k: Num) -> PL:
        if self._parts is None and self._hinge is None and not self._b:  # affine: w0 * x + b0
            c = self._c[0]
            return PL._affine(self._a[0], c + k if c else k, self._lo, self._hi)
        m = self._m()
        return PL._new(m._b, m._a, [x + k for x in m._c], [x + k for x in m._v], m._lo, m._hi)

    def __add__(self, other: object) -> PL:
        if isinstance(other, PL):
            return _lazy_sum(self, other)
        try:
            k = other if type(other) is Fraction else as_num(other)
        except TypeError:
            return NotImplemented
        if self._parts is not None or self._hinge is not None:
            return _lazy_sum(self, PL.constant(k))
        return self._shift(k)

    __radd__ = __add__

    def __neg__(self) -> PL:
        if self._hinge is not None:
            return PL._unit(self._hinge.scaled(-ONE), self._lo, self._hi)
        return self._map(lambda x: -x)

    def __pos__(self) -> PL:
        return self

    def __sub__(self, other: object) -> PL:
        if isinstance(other, PL):
            return _lazy_sum(self, -other)
        try:
            k = as_num(other)
        except TypeError:
            return NotImplemented
        return self + (-k)

    def __rsub__(self, other: object) -> PL:
        try:
            k = as_num(other)
        except TypeError:
            return NotImplemented
        return (-self) + k

    def __mul__(self, other: object) -> PL:
        if type(other) is Fraction or type(other) is int:  # the common case, first
            return self._scale(other)
        if isinstance(other, PL):
            if other.is_constant():
                return self._scale(other.constant_value())._with_domain_of(other)
            if self.is_constant():
                return other._scale(self.constant_value())._with_domain_of(self)
            raise NonLinearError("the product of two non-constant functions of x is not piecewise linear")
        try:
            k = as_num(other)
        except TypeError:
            return NotImplemented
        return self._scale(k)

    __rmul__ = __mul__

    def __truediv__(self, other: object) -> PL:
        if isinstance(other, PL):
            if not other.is_constant():
                raise NonLinearError("division by a non-constant function of x")
            return (self / other.constant_value())._with_domain_of(other)
        try:
            k = as_num(other)
        except TypeError:
            return NotImplemented
        if k == 0:
            raise ZeroDivisionError("division of a function by zero")
        if isinstance(k, Fraction):
            return self._scale(1 / k)
        return self._map(lambda x: x / k)

    def __rtruediv__(self, other: object) -> PL:
        try:
            k = as_num(other)
        except TypeError:
            return NotImplemented
        if not self.is_constant():
            raise NonLinearError("division by a non-constant function of x")
        return PL.constant(k / self.constant_value(), self.domain)

    def __pow__(self, exponent: object) -> PL:
        try:
            n = as_num(exponent)
        except TypeError:
            return NotImplemented
        if self.is_constant():
            return PL.constant(self.constant_value() ** n, self.domain)
        if n == 1:
            return self
        if n == 0:
            return PL.constant(ONE, self.domain)
        raise NonLinearError(f"x^{fmt_num(n)} is not piecewise linear")

    def __rpow__(self, base: object) -> PL:
        try:
            k = as_num(base)
        except TypeError:
            return NotImplemented
        if not self.is_constant():
            raise NonLinearError("an exponential of x is not piecewise linear")
        return PL.constant(k ** self.constant_value(), self.domain)

    def _with_domain_of(self, other: PL) -> PL:
        lo, hi = _common_domain([self, other])
        if (lo, hi) == (self._lo, self._hi):
            return self
        return self.restrict(lo, hi)

    # ---- activations --------------------------------------------------------

    def _compose(
        self,
        pos: Callable[[Num, Num], tuple[Num, Num]],
        neg: Callable[[Num, Num], tuple[Num, Num]],
        at_zero: Num,
        scalar: Callable[[Num], Num],
    ) -> PL:
        """g(self) for g with one kink or step at 0: ``pos``/``neg`` map a piece's
        (slope, intercept) where self > 0 / < 0; where self = 0 on a whole piece
        the value is ``at_zero``. Zero crossings inside pieces become breakpoints."""
        m = self._m()
        nb: list[Num] = []
        na: list[Num] = []
        nc: list[Num] = []
        nv: list[Num] = []

        def put(sign: int, ai: Num, ci: Num) -> None:
            ra, rc = pos(ai, ci) if sign > 0 else neg(ai, ci) if sign < 0 else (ZERO, at_zero)
            na.append(ra)
            nc.append(rc)

        nbp = len(m._b)
        for i in range(nbp + 1):
            ai, ci = m._a[i], m._c[i]
            lo = m._b[i - 1] if i else None
            hi = m._b[i] if i < nbp else None
            if ai == 0:
                put(_sign(ci), ai, ci)
            else:
                z = -ci / ai
                if (lo is None or lo < z) and (hi is None or z < hi):
                    put(-_sign(ai), ai, ci)
                    nb.append(z)
                    nv.append(at_zero)
                    put(_sign(ai), ai, ci)
                elif lo is not None and z <= lo:
                    put(_sign(ai), ai, ci)
                else:
                    put(-_sign(ai), ai, ci)
            if hi is not None:
                nb.append(hi)
                nv.append(scalar(m._v[i]))
        return PL._new(nb, na, nc, nv, m._lo, m._hi)._finish()

    def _as_unit(self, left: Num, right: Num) -> PL | None:
        """g(self) kept unevaluated, for an affine self that is not constant."""
        if self._parts is not None or self._hinge is not None or self._b or not self._a[0]:
            return None
        return PL._unit(_TUPLE_NEW(Hinge, (ONE, self._a[0], self._c[0], left, right)), self._lo, self._hi)

    def relu(self) -> PL:
        """max(self, 0), exact."""
        unit = self._as_unit(ZERO, ONE)
        if unit is not None:
            return unit
        return self._compose(lambda a, c: (a, c), lambda a, c: (ZERO, ZERO), ZERO, _relu_num)

    def __abs__(self) -> PL:
        unit = self._as_unit(-ONE, ONE)
        if unit is not None:
            return unit
        return self._compose(lambda a, c: (a, c), lambda a, c: (-a, -c), ZERO, abs_num)

    def abs(self) -> PL:
        return abs(self)

    def heaviside(self, h0: object = HALF) -> PL:
        """1 where self > 0, 0 where self < 0, ``h0`` where self = 0 (a step)."""
        h = as_num(h0)
        return self._compose(
            lambda a, c: (ZERO, ONE), lambda a, c: (ZERO, ZERO), h, lambda x: _heaviside_num(x, h)
        )

    def sign(self) -> PL:
        """-1, 0 or 1 by the sign of self."""
        return self._compose(
            lambda a, c: (ZERO, ONE), lambda a, c: (ZERO, -ONE), ZERO, lambda x: Fraction(_sign(x))
        )

    def leaky_relu(self, alpha: object = Fraction(1, 100)) -> PL:
        """self where self > 0, alpha*self where self < 0."""
        k = as_num(alpha)
        unit = self._as_unit(k, ONE)
        if unit is not None:
            return unit
        return self._compose(
            lambda a, c: (a, c), lambda a, c: (k * a, k * c), ZERO, lambda x: x if x > 0 else k * x
        )

    def maximum(self, other: object) -> PL:
        """max(self, other) pointwise, exact (other + relu(self - other))."""
        o = to_pl(other)
        return (o + (self - o).relu())._m()._finish()

    def minimum(self, other: object) -> PL:
        """min(self, other) pointwise, exact (self - relu(self - other))."""
        o = to_pl(other)
        return (self - (self - o).relu())._m()._finish()

    # ---- domain and normal form ---------------------------------------------

    def restrict(self, lo: object = None, hi: object = None) -> PL:
        """The same function on [lo, hi] ∩ its domain (None: unbounded side)."""
        if isinstance(lo, Interval):
            iv = lo
        else:
            iv = Interval(None if lo is None else as_num(lo), None if hi is None else as_num(hi), True, True)
        cut = self.domain.intersect(iv)
        if cut is None:
            raise DomainError(f"{self.domain} and {iv} do not meet")
        m = self._m()
        return PL._new(m._b, m._a, m._c, m._v, cut.lo, cut.hi)._finish()

    def simplify(self) -> PL:
        """Same function with no redundant breakpoints (the normal form)."""
        return PL._new(self._m()._b, self._a, self._c, self._v, self._lo, self._hi)._finish()

    def _finish(self) -> PL:
        """Clip to the domain and merge pieces with equal affine parts."""
        self._clip()
        b, a, c, v = self._b, self._a, self._c, self._v
        keep = [i for i, t in enumerate(b) if a[i] != a[i + 1] or c[i] != c[i + 1] or v[i] != a[i] * t + c[i]]
        if len(keep) == len(b):
            return self
        na = [a[0]] + [a[i + 1] for i in keep]
        nc = [c[0]] + [c[i + 1] for i in keep]
        self._set(
            tuple(b[i] for i in keep),
            tuple(na),
            tuple(nc),
            tuple(v[i] for i in keep),
            self._lo,
            self._hi,
        )
        return self

    def _clip(self) -> None:
        """Normal form on a bounded domain: breakpoints outside it, or on its ends,
        are dropped and the edge pieces extend outwards; a domain end keeps a
        breakpoint only for a point value off its piece."""
        lo, hi = self._lo, self._hi
        if lo is None and hi is None:
            return
        b, a, c, v = self._b, self._a, self._c, self._v
        if lo is not None and lo == hi:
            value = self.value_at(lo)
            self._set((), (ZERO,), (value,), (), lo, hi)
            return
        i = 0 if lo is None else bisect.bisect_right(b, lo)
        j = len(b) if hi is None else bisect.bisect_left(b, hi)
        nb, na, nc, nv = list(b[i:j]), list(a[i : j + 1]), list(c[i : j + 1]), list(v[i:j])
        if lo is not None and i > 0 and b[i - 1] == lo and v[i - 1] != na[0] * lo + nc[0]:
            nb.insert(0, lo)
            nv.insert(0, v[i - 1])
            na.insert(0, na[0])
            nc.insert(0, nc[0])
        if hi is not None and j < len(b) and b[j] == hi and v[j] != na[-1] * hi + nc[-1]:
            nb.append(hi)
            nv.append(v[j])
            na.append(na[-1])
            nc.append(nc[-1])
        self._set(tuple(nb), tuple(na), tuple(nc), tuple(nv), lo, hi)

    # ---- conditions ---------------------------------------------------------

    def region(self, op: str) -> Region:
        """The exact set of x in the domain where ``self op 0`` holds
        (op in ``< <= > >= = == !=``)."""
        test = _OPS[op]
        m = self._m()
        parts: list[Interval] = []
        ends: list[Num | None] = [None, *m._b, None]
        for i in range(len(m._a)):
            parts.extend(_affine_truth(m._a[i], m._c[i], ends[i], ends[i + 1], test))
        parts.extend(Interval.point(t) for t, v in zip(m._b, m._v, strict=True) if test(v, 0))
        return Region(parts) & self.domain


def _affine_truth(
    a: Num, c: Num, lo: Num | None, hi: Num | None, test: Callable[[Any, Any], bool]
) -> list[Interval]:
    """The parts of the open piece (lo, hi) where test(a*x + c, 0) holds."""
    piece = Interval.open(lo, hi)
    if a == 0:
        return [piece] if test(c, 0) else []
    z = -c / a
    s = _sign(a)
    cand = [(Interval.open(None, z), -s), (Interval.point(z), 0), (Interval.open(z, None), s)]
    out = []
    for iv, sign in cand:
        if test(sign, 0):
            cut = iv.intersect(piece)
            if cut is not None:
                out.append(cut)
    return out


def _sub(x: Num, y: Num) -> Num:
    return x - y if y else x


def _add(x: Num, y: Num) -> Num:
    return x + y if y else x


def _sweep(leaves: list[PL]) -> tuple[list[Num], list[Num], list[Num], list[Num]]:
    """Merge a sum of PLs in one pass: sort all breakpoints, accumulate changes."""
    slope, icpt, events = changes(leaves)
    _sort_events(events)
    return _accumulate(slope, icpt, events)


def changes(terms: Sequence[PL]) -> tuple[Num, Num, list[Triple]]:
    """The sum of ``terms`` as the slope and intercept of its leftmost piece and one
    event per breakpoint of a term: (t, slope change, intercept change, value at t
    minus the left limit). Zero tests skip arithmetic on the zero pieces of units."""
    slope: Num = ZERO
    icpt: Num = ZERO
    events: list[Triple] = []
    add = events.append
    for f in terms:
        b, a, c, v = f._hinge.pieces() if f._hinge is not None else (f._m()._b, f._a, f._c, f._v)
        slope += a[0]
        icpt += c[0]
        for i, t in enumerate(b):
            ai, ci = a[i], c[i]
            left = _add(ai * t, ci) if ai else ci
            add((t, _sub(a[i + 1], ai), _sub(c[i + 1], ci), _sub(v[i], left)))
    return slope, icpt, events


def _accumulate(
    slope: Num, icpt: Num, events: list[Triple]
) -> tuple[list[Num], list[Num], list[Num], list[Num]]:
    """Pieces from the leftmost piece and events sorted by t (events at equal t are added)."""
    out_b: list[Num] = []
    out_a: list[Num] = [slope]
    out_c: list[Num] = [icpt]
    out_v: list[Num] = []
    n = len(events)
    i = 0
    while i < n:
        t, ds, dc, dv = events[i]
        i += 1
        while i < n and events[i][0] == t:
            _, s2, c2, v2 = events[i]
            ds, dc, dv = ds + s2, dc + c2, dv + v2
            i += 1
        if not (ds or dc or dv):
            continue
        out_b.append(t)
        value = _add(slope * t, icpt) if slope else icpt
        out_v.append(_add(value, dv))
        slope, icpt = _add(slope, ds), _add(icpt, dc)
        out_a.append(slope)
        out_c.append(icpt)
    return out_b, out_a, out_c, out_v


def from_changes(slope: Num, intercept: Num, events: list[Triple]) -> PL:
    """The function on all of R with this leftmost piece and these events (see :func:`changes`)."""
    events = sorted(events, key=lambda e: e[0])
    b, a, c, v = _accumulate(slope, intercept, events)
    return PL._new(b, a, c, v)


def _lazy_sum(f: PL, g: PL) -> PL:
    if f._lo is None and f._hi is None and g._lo is None and g._hi is None:
        lo = hi = None
    else:
        lo, hi = _common_domain([f, g])
    terms = [f] if f._parts is None else f._parts if len(f._parts) == f._count else f._parts[: f._count]
    if g._parts is not None:
        terms.extend(g._parts[: g._count])
    else:
        terms.append(g)
    node = object.__new__(PL)
    node._lo = lo
    node._hi = hi
    node._hinge = None
    node._parts = terms
    node._count = len(terms)
    return node


def _fmt_end(x: Num | None, inf: str) -> str:
    return inf if x is None else fmt_num(x)


def _fmt_affine(a: Num, c: Num) -> str:
    if a == 0:
        return fmt_num(c)
    lead = "x" if a == 1 else "-x" if a == -1 else f"{fmt_num(a)}*x"
    if c == 0:
        return lead
    return f"{lead} - {fmt_num(-c)}" if c < 0 else f"{lead} + {fmt_num(c)}"


def _in_domain(x: Num, lo: Num | None, hi: Num | None) -> bool:
    return (lo is None or x >= lo) and (hi is None or x <= hi)


def _domain_interval(domain: object) -> Interval:
    iv = as_interval(domain)
    if (iv.lo is not None and not iv.lo_closed) or (iv.hi is not None and not iv.hi_closed):
        raise ValueError("a PL domain is a closed interval [a, b] (ends may be infinite)")
    return iv


def _common_domain(fs: Sequence[PL]) -> tuple[Num | None, Num | None]:
    if all(f._lo is None and f._hi is None for f in fs):
        return None, None
    iv: Interval | None = Interval.all()
    for f in fs:
        assert iv is not None
        iv = iv.intersect(f.domain)
        if iv is None:
            raise DomainError("functions with disjoint domains")
    assert iv is not None
    return iv.lo, iv.hi


def to_pl(value: object) -> PL:
    """A PL as it is, a number as a constant function."""
    if isinstance(value, PL):
        return value
    return PL.constant(as_num(value))


# ---- scalar helpers (numbers and PLs alike) ----------------------------------


def _relu_num(x: Num) -> Num:
    return x if x > 0 else x * 0


def _heaviside_num(x: Num, h0: Num) -> Num:
    return ONE if x > 0 else ZERO if x < 0 else h0


def _elementwise(fn: Callable[..., object], v: object, *args: object) -> object:
    if isinstance(v, np.ndarray):
        each = fn if not args else lambda item: fn(item, *args)
        return np.asarray(np.frompyfunc(each, 1, 1)(v), dtype=object)
    return fn(v, *args)


def _relu1(v: object) -> object:
    return v.relu() if isinstance(v, PL) else _relu_num(as_num(v))


def _heaviside1(v: object, h0: object) -> object:
    return v.heaviside(h0) if isinstance(v, PL) else _heaviside_num(as_num(v), as_num(h0))


def _leaky1(v: object, alpha: object) -> object:
    if isinstance(v, PL):
        return v.leaky_relu(alpha)
    x = as_num(v)
    return x if x > 0 else as_num(alpha) * x


def _abs1(v: object) -> object:
    return abs(v) if isinstance(v, PL) else abs_num(as_num(v))


def relu(v: object) -> Any:
    """max(v, 0) for a number, a PL or a numpy array of them."""
    return _elementwise(_relu1, v)


def heaviside(v: object, h0: object = HALF) -> Any:
    """Step: 1 if v > 0, 0 if v < 0, h0 at 0 (numbers, PLs, arrays)."""
    return _elementwise(_heaviside1, v, h0)


def leaky_relu(v: object, alpha: object = Fraction(1, 100)) -> Any:
    """v if v > 0 else alpha * v (numbers, PLs, arrays)."""
    return _elementwise(_leaky1, v, alpha)


def absolute(v: object) -> Any:
    """|v| (numbers, PLs, arrays)."""
    return _elementwise(_abs1, v)


def maximum(a: object, b: object) -> Any:
    """max(a, b) for numbers and PLs (exact)."""
    if isinstance(a, PL):
        return a.maximum(b)
    if isinstance(b, PL):
        return b.maximum(a)
    x, y = as_num(a), as_num(b)
    return x if x >= y else y


def minimum(a: object, b: object) -> Any:
    """min(a, b) for numbers and PLs (exact)."""
    if isinstance(a, PL):
        return a.minimum(b)
    if isinstance(b, PL):
        return b.minimum(a)
    x, y = as_num(a), as_num(b)
    return x if x <= y else y


def where(op: str, left: object, right: object) -> Region:
    """The set of x where ``left op right`` holds, as an exact Region.

    ``left``/``right`` are numbers or PLs (functions of x); for two numbers the
    Region is everything or nothing. ``-2 <= x <= 0`` is
    ``where("<=", -2, x) & where("<=", x, 0)``.
    """
    d = to_pl(left) - to_pl(right) if isinstance(left, PL) or isinstance(right, PL) else None
    if d is None:
        return Region.all() if _OPS[op](as_num(left), as_num(right)) else Region.empty()
    return d.region(op)


def piecewise(cases: Sequence[tuple[object, object]], default: object = None) -> Any:
    """``piecewise((value, condition), ...)``: the first case that holds.

    With only numbers and bool conditions this is a number; otherwise a PL via
    :meth:`PL.from_cases` (conditions as Regions, e.g. from :func:`where`).
    """
    plain = all(not isinstance(v, PL) and isinstance(c, bool) for v, c in cases) and not isinstance(
        default, PL
    )
    if plain:
        for v, c in cases:
            if c:
                return as_num(v)
        if default is None:
            raise ValueError("piecewise: no case holds")
        return as_num(default)
    return PL.from_cases(list(cases), default)


def pl_sum(terms: Iterable[object]) -> PL:
    """The sum of PLs and numbers in one O(K log K) sweep."""
    total: object = ZERO
    for t in terms:
        total = total + t  # type: ignore[operator]
    return to_pl(total)._m()


def one_hidden_layer(
    w0: Sequence[object],
    b0: Sequence[object] | None,
    w1: Sequence[object],
    b1: object = 0,
    activation: str = "relu",
    domain: object = None,
) -> PL:
    """f(x) = sum_i w1[i] * act(w0[i] * x + b0[i]) + b1, built directly in one sweep."""
    x = PL.identity(domain)
    bias = b0 if b0 is not None else [0] * len(w0)
    units = [(as_num(v) * x + as_num(b)) for v, b in zip(w0, bias, strict=True)]
    act = {"relu": lambda f: f.relu(), "identity": lambda f: f, "abs": abs}[activation]
    return pl_sum([as_num(w) * act(u) for w, u in zip(w1, units, strict=True)] + [as_num(b1)])
