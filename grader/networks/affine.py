"""Affine forms ``c . x + d`` with exact coefficients, as the region walk evaluates a network.

The network is evaluated by the ordinary exact evaluator with inputs that are :class:`Aff`
objects. Affine layers and ``concat`` work on them unchanged; each ``relu``, ``leaky_relu``,
``abs``, ``max`` and ``min`` of a form that is not constant asks its :class:`SideOracle` (the
walk of :mod:`grader.networks.regions_exact`) which side of its kink the current region is on.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any, Protocol

import numpy as np
from flint import fmpq

from grader.exact.lp import Q

# Inside the walk every number is one of FLINT's rationals (fmpq: exact, as Fraction, and about
# ten times faster); what comes out (witnesses, simple points) is Fraction. Mind that an fmpq
# never equals a Fraction (fmpq(1) == Fraction(1) is False): numbers are converted on the way in.
ZERO = fmpq(0)
ONE = fmpq(1)
HALF = fmpq(1, 2)

Point = tuple[Fraction, ...]
QPoint = tuple[Q, ...]


def to_fraction(v: Q) -> Fraction:
    return Fraction(int(v.p), int(v.q))


def to_fractions(p: Sequence[Q]) -> Point:
    return tuple(to_fraction(v) for v in p)


def to_qs(p: Sequence[Any]) -> QPoint:
    return tuple(v if type(v) is fmpq else to_q(v) for v in p)


def to_q(v: Any) -> Q:
    n = as_number(v)
    if n is None:
        raise NotAffine(f"not a number ({type(v).__name__})")
    return n


class NotAffine(Exception):
    """The formula is not piecewise linear in a way the walk handles (x1*x2, heaviside of x)."""


class NotPolyhedral(Exception):
    """The condition is not a finite union of polyhedral cells the walk understands."""


class TooManyRegions(Exception):
    """The walk went past its cap on activation patterns or its time budget."""


class SideOracle(Protocol):
    """What an activation asks at a kink: the side of ``z`` the current region is on."""

    def decide(self, z: Aff) -> int: ...


# ---- affine forms ------------------------------------------------------------------------------


def as_number(v: Any) -> Q | None:
    if type(v) is fmpq:
        return v
    if isinstance(v, bool):
        return None
    if isinstance(v, Fraction):
        return fmpq(v.numerator, v.denominator)
    if isinstance(v, int):
        return fmpq(v)
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            raise NotAffine("a weight that is not a finite number")
        exact = Fraction(v)  # the exact binary value
        return fmpq(exact.numerator, exact.denominator)
    if isinstance(v, np.integer):
        return fmpq(int(v))
    if isinstance(v, np.floating):
        return as_number(float(v))
    return None


class Aff:
    """``coef . x + const`` with exact coefficients (fmpq); activations ask ``walk`` for a side."""

    __slots__ = ("coef", "const", "walk")

    def __init__(self, coef: tuple[Q, ...], const: Q, walk: SideOracle | None = None):
        self.coef = coef
        self.const = const
        self.walk = walk

    @staticmethod
    def variable(i: int, dim: int, walk: SideOracle | None = None) -> Aff:
        return Aff(tuple(ONE if j == i else ZERO for j in range(dim)), ZERO, walk)

    def is_constant(self) -> bool:
        return not any(self.coef)

    def constant_value(self) -> Q:
        if not self.is_constant():
            raise NotAffine("not a constant")
        return self.const

    def at(self, p: Sequence[Any]) -> Q:
        """The value at a point of fmpq (or of Fraction, converted)."""
        return sum((c * v for c, v in zip(self.coef, to_qs(p), strict=True)), self.const)

    def _lift(self, other: Any) -> Aff | None:
        if isinstance(other, Aff):
            return other
        n = as_number(other)
        if n is None:
            return None
        return Aff(zeros(len(self.coef)), n, self.walk)

    def _new(self, coef: tuple[Q, ...], const: Q, other: Any = None) -> Aff:
        walk = self.walk if self.walk is not None else getattr(other, "walk", None)
        return Aff(coef, const, walk)

    def __add__(self, other: Any) -> Any:
        if not isinstance(other, Aff):
            n = as_number(other)
            return NotImplemented if n is None else Aff(self.coef, self.const + n, self.walk)
        if other.coef is zeros(len(self.coef)):  # a weight of 0 times an input (most of a sparse layer)
            coef = self.coef
        elif self.coef is zeros(len(self.coef)):
            coef = other.coef
        else:
            coef = tuple(a + b for a, b in zip(self.coef, other.coef, strict=True))
        return self._new(coef, self.const + other.const, other)

    __radd__ = __add__

    def __neg__(self) -> Aff:
        return self._new(tuple(-a for a in self.coef), -self.const)

    def __pos__(self) -> Aff:
        return self

    def __sub__(self, other: Any) -> Any:
        o = self._lift(other)
        if o is None:
            return NotImplemented
        return self + (-o)

    def __rsub__(self, other: Any) -> Any:
        o = self._lift(other)
        if o is None:
            return NotImplemented
        return o + (-self)

    def scale(self, k: Q) -> Aff:
        if not k:
            return self._new(zeros(len(self.coef)), ZERO)
        return self._new(tuple(a * k for a in self.coef), self.const * k)

    def __mul__(self, other: Any) -> Any:
        if not isinstance(other, Aff):
            n = as_number(other)
            return NotImplemented if n is None else self.scale(n)
        o = other
        if o.is_constant():
            return self.scale(o.const)
        if self.is_constant():
            k = self.const
            return self._new(tuple(a * k for a in o.coef), o.const * k, o)
        raise NotAffine("a product of two functions of the input")

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Any:
        o = self._lift(other)
        if o is None:
            return NotImplemented
        if not o.is_constant():
            raise NotAffine("a division by a function of the input")
        if o.const == 0:
            raise ZeroDivisionError("division by zero")
        return self.scale(1 / o.const)

    def __rtruediv__(self, other: Any) -> Any:
        o = self._lift(other)
        if o is None:
            return NotImplemented
        return o / self

    def __pow__(self, k: Any) -> Any:
        n = as_number(k.constant_value() if isinstance(k, Aff) else k)
        if n is None or n.q != 1:
            raise NotAffine("a power of a function of the input")
        if self.is_constant():
            return self._new(self.coef, self.const ** int(n))
        if n == 1:
            return self
        if n == 0:
            return self._new(tuple(ZERO for _ in self.coef), ONE)
        raise NotAffine("a power of a function of the input")

    def _cmp(self, other: Any) -> Q:
        o = self._lift(other)
        if o is None:
            raise NotAffine("a comparison with a value that is not a number")
        d = self - o
        if not d.is_constant():
            raise NotAffine("a condition on the input inside the network")
        return d.const

    def __lt__(self, other: Any) -> bool:
        return self._cmp(other) < 0

    def __le__(self, other: Any) -> bool:
        return self._cmp(other) <= 0

    def __gt__(self, other: Any) -> bool:
        return self._cmp(other) > 0

    def __ge__(self, other: Any) -> bool:
        return self._cmp(other) >= 0

    def __eq__(self, other: object) -> bool:
        o = self._lift(other)
        return o is not None and self.coef == o.coef and self.const == o.const

    def __hash__(self) -> int:
        return hash((self.coef, self.const))

    def __repr__(self) -> str:
        return f"Aff({[str(c) for c in self.coef]}, {self.const})"

    # activations -------------------------------------------------------------------------------

    def _side(self, z: Aff) -> int:
        if z.is_constant():
            return 1 if z.const >= 0 else -1
        if self.walk is None:
            raise NotAffine("an activation of the input outside the walk")
        return self.walk.decide(z)

    def relu(self) -> Aff:
        return self if self._side(self) > 0 else self.scale(ZERO)

    def leaky_relu(self, alpha: Any) -> Aff:
        a = as_number(alpha.constant_value() if isinstance(alpha, Aff) else alpha)
        if a is None:
            raise NotAffine("leaky_relu with a slope that is not a number")
        return self if self._side(self) > 0 else self.scale(a)

    def __abs__(self) -> Aff:
        return self if self._side(self) > 0 else -self

    def maximum(self, other: Any) -> Aff:
        o = self._lift(other)
        if o is None:
            raise NotAffine("max with a value that is not a number")
        return self if self._side(self - o) > 0 else o

    def minimum(self, other: Any) -> Aff:
        o = self._lift(other)
        if o is None:
            raise NotAffine("min with a value that is not a number")
        return self if self._side(o - self) > 0 else o

    def heaviside(self, h0: Any = HALF) -> Any:
        c = self._cmp(0)  # a step of the input is not continuous: not handled
        at_zero = as_number(h0.constant_value() if isinstance(h0, Aff) else h0)
        if c == 0 and at_zero is None:
            raise NotAffine("heaviside with a value at 0 that is not a number")
        return self._new(self.coef, ONE if c > 0 else ZERO if c < 0 else at_zero or ZERO)

    def sign(self) -> Aff:
        c = self._cmp(0)
        return self._new(self.coef, fmpq((c > 0) - (c < 0)))


_ZEROS: dict[int, tuple[Q, ...]] = {}


def zeros(dim: int) -> tuple[Q, ...]:
    """The one tuple of ``dim`` zeros (so that adding it is seen by identity)."""
    found = _ZEROS.get(dim)
    if found is None:
        found = _ZEROS[dim] = (ZERO,) * dim
    return found


def as_aff(value: Any, dim: int) -> Aff:
    """A scalar output as an affine form (NotAffine for anything else)."""
    if isinstance(value, Aff):
        return value
    n = as_number(value)
    if n is None:
        raise NotAffine(f"the output is not a number ({type(value).__name__})")
    return Aff(zeros(dim), n)
