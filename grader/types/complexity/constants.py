"""Exact real constants of growth exponents: ``log_2 3``, ``ln 4 / ln 2``, ``1/2``.

A :class:`Real` is a rational (a ``Fraction``) or a sympy expression built from
rationals, logarithms of primes, roots, ``pi`` and ``e``. Logarithms of
rationals are written over primes (``log 12 = 2 log 2 + log 3``) and the
expression is brought to a canonical rational function of those atoms, so a
constant that is rational (``log_2 4``, ``ln 9 / ln 3``) becomes a ``Fraction``
exactly. Signs of the others are decided with ball arithmetic at a precision
that separates them from 0 (:func:`grader.mathlang.enclosures.sign`); when none does,
the comparison is undecided, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import sympy

from grader.core.verdict import CheckUndecided
from grader.mathlang.enclosures import NoEnclosure
from grader.mathlang.enclosures import sign as ball_sign

_FACTOR_LIMIT = 10**6  # trial division bound; a larger cofactor stays one atom


@dataclass(frozen=True)
class Real:
    value: Fraction | sympy.Expr

    @staticmethod
    def of(value: Fraction | int | sympy.Expr) -> Real:
        if isinstance(value, (Fraction, int)):
            return Real(Fraction(value))
        canonical = sympy.cancel(sympy.expand(value))
        if canonical.is_Rational:
            return Real(Fraction(int(canonical.p), int(canonical.q)))
        return Real(canonical)

    @staticmethod
    def log(value: Fraction) -> Real:
        """``ln value`` for a positive rational, over the primes of its numerator and denominator."""
        if value <= 0:
            raise CheckUndecided("the logarithm of a number that is not positive")
        return Real.of(_log_int(value.numerator) - _log_int(value.denominator))

    @property
    def rational(self) -> Fraction | None:
        return self.value if isinstance(self.value, Fraction) else None

    def expr(self) -> sympy.Expr:
        if isinstance(self.value, Fraction):
            return sympy.Rational(self.value.numerator, self.value.denominator)
        return self.value

    def __add__(self, other: Real) -> Real:
        if isinstance(self.value, Fraction) and isinstance(other.value, Fraction):
            return Real(self.value + other.value)
        return Real.of(self.expr() + other.expr())

    def __mul__(self, other: Real) -> Real:
        if isinstance(self.value, Fraction) and isinstance(other.value, Fraction):
            return Real(self.value * other.value)
        return Real.of(self.expr() * other.expr())

    def __neg__(self) -> Real:
        return Real(-self.value)

    def inverse(self) -> Real:
        if self.is_zero:
            raise CheckUndecided("division by zero in an exponent")
        if isinstance(self.value, Fraction):
            return Real(1 / self.value)
        return Real.of(1 / self.value)

    def power(self, exponent: Fraction) -> Real:
        if isinstance(self.value, Fraction) and exponent.denominator == 1:
            if self.value == 0 and exponent < 0:
                raise CheckUndecided("division by zero in an exponent")
            return Real(self.value ** int(exponent))
        if self.sign() < 0:
            raise CheckUndecided("a root of a negative number in an exponent")
        return Real.of(self.expr() ** sympy.Rational(exponent.numerator, exponent.denominator))

    @property
    def is_zero(self) -> bool:
        return isinstance(self.value, Fraction) and self.value == 0

    def sign(self) -> int:
        if isinstance(self.value, Fraction):
            return (self.value > 0) - (self.value < 0)
        try:
            found = ball_sign(self.value)
        except NoEnclosure as exc:
            raise CheckUndecided(f"the sign of {self.value} cannot be decided") from exc
        if found is None:
            raise CheckUndecided(f"the sign of {self.value} cannot be decided at 4096 bits")
        return found

    def _key(self) -> tuple[int, Fraction, str]:
        if isinstance(self.value, Fraction):
            return (0, self.value, "")
        return (1, Fraction(0), sympy.srepr(self.value))

    def __lt__(self, other: Real) -> bool:  # a total order for sorting terms, not by size
        return self._key() < other._key()

    def __str__(self) -> str:
        if isinstance(self.value, Fraction):
            return str(self.value)
        return str(self.value).replace("**", "^").replace("*", " ")


ZERO_REAL = Real(Fraction(0))
ONE_REAL = Real(Fraction(1))


def _log_int(value: int) -> sympy.Expr:
    if value == 1:
        return sympy.Integer(0)
    factors = sympy.factorint(value, limit=_FACTOR_LIMIT)
    return sympy.Add(*(sympy.Integer(e) * sympy.log(sympy.Integer(p)) for p, e in factors.items()))
