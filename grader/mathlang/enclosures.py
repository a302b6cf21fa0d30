"""Rigorous enclosures of sympy expressions with ball arithmetic (python-flint's ``arb``).

:func:`enclose` evaluates a sympy expression on balls: every real number the
expression can take, for the symbols' values inside their balls, lies in the
ball it returns. It serves two callers: the sign of an exact constant
(``log(3)/log(2) - 3/2``) decided at a precision that provably separates it from
0, and bounds of a function over an interval (branch and bound in
:mod:`grader.networks.approx`).

Only the functions listed in ``_UNARY`` are evaluated; anything else raises
:class:`NoEnclosure`, and callers fall back or say they cannot decide.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from fractions import Fraction

import flint
import sympy

__all__ = ["NoEnclosure", "arb_of", "enclose", "precision", "sign"]


class NoEnclosure(ValueError):
    """The expression holds something ball arithmetic here cannot evaluate."""


def _unary() -> dict[type, Callable[[flint.arb], flint.arb]]:
    f = sympy.functions
    return {
        f.exp: lambda x: x.exp(),
        f.log: lambda x: x.log(),
        f.sin: lambda x: x.sin(),
        f.cos: lambda x: x.cos(),
        f.tan: lambda x: x.tan(),
        f.atan: lambda x: x.atan(),
        f.asin: lambda x: x.asin(),
        f.acos: lambda x: x.acos(),
        f.sinh: lambda x: x.sinh(),
        f.cosh: lambda x: x.cosh(),
        f.tanh: lambda x: x.tanh(),
        f.erf: lambda x: x.erf(),
        f.Abs: _abs,
    }


def _abs(x: flint.arb) -> flint.arb:
    return flint.arb.union(x.abs_lower(), x.abs_upper())


_UNARY = _unary()


@contextlib.contextmanager
def precision(bits: int) -> Iterator[None]:
    """Evaluate at ``bits`` of working precision (python-flint's context is global)."""
    previous = flint.ctx.prec
    flint.ctx.prec = bits
    try:
        yield
    finally:
        flint.ctx.prec = previous


def arb_of(value: Fraction | int) -> flint.arb:
    """The exact ball of a rational (a point when the rational is dyadic)."""
    value = Fraction(value)
    return flint.arb(flint.fmpq(value.numerator, value.denominator))


def enclose(expr: sympy.Basic, values: Mapping[sympy.Symbol, flint.arb] | None = None) -> flint.arb:
    """A ball holding every value of ``expr`` when each symbol lies in its ball."""
    values = values or {}
    atom = _atom(expr, values)
    if atom is not None:
        return atom
    if isinstance(expr, sympy.Add):
        total = flint.arb(0)
        for term in expr.args:
            total += enclose(term, values)
        return total
    if isinstance(expr, sympy.Mul):
        product = flint.arb(1)
        for factor in expr.args:
            product *= enclose(factor, values)
        return product
    if isinstance(expr, sympy.Pow):
        return _power(expr, values)
    function = _UNARY.get(type(expr))
    if function is not None and len(expr.args) == 1:
        return function(enclose(expr.args[0], values))
    raise NoEnclosure(f"{type(expr).__name__} cannot be enclosed")


def _atom(expr: sympy.Basic, values: Mapping[sympy.Symbol, flint.arb]) -> flint.arb | None:
    if isinstance(expr, sympy.Symbol):
        if expr not in values:
            raise NoEnclosure(f"no value for {expr}")
        return values[expr]
    if isinstance(expr, sympy.Rational):
        return arb_of(Fraction(int(expr.p), int(expr.q)))
    if isinstance(expr, sympy.Float):
        return arb_of(Fraction(str(expr)))
    if expr is sympy.pi:
        return flint.arb.pi()
    if expr is sympy.E:
        return flint.arb.const_e()
    return None


def _power(expr: sympy.Pow, values: Mapping[sympy.Symbol, flint.arb]) -> flint.arb:
    base, exponent = expr.args
    inner = enclose(base, values)
    if isinstance(exponent, sympy.Integer):
        k = int(exponent)
        if k >= 0:
            return inner**k
        return 1 / inner ** (-k)  # a ball holding 0 gives an infinite ball: still an enclosure
    power = enclose(exponent, values)
    if isinstance(exponent, sympy.Rational) and int(exponent.q) == 2:
        root = inner.sqrt()
        return root ** int(exponent.p) if exponent.p > 0 else 1 / root ** int(-exponent.p)
    return (power * inner.log()).exp()  # x^y = e^{y ln x}; a base that may be <= 0 gives NaN


def sign(expr: sympy.Basic, max_bits: int = 4096) -> int | None:
    """The sign of a constant expression, raising the precision until its ball leaves 0;
    None when ``max_bits`` do not separate it from 0 (it may be 0)."""
    if expr.is_Rational:
        return (expr > 0) - (expr < 0)
    bits = 64
    while bits <= max_bits:
        with precision(bits):
            ball = enclose(expr)
            if ball > 0:
                return 1
            if ball < 0:
                return -1
        bits *= 4
    return None
