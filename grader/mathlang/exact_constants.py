"""Equality of two constants proved exactly, where balls only overlap (a tolerance of 0).

Balls separate two different values at a high enough precision, but two equal values
(``4\\arctan(1/5) - \\arctan(1/239)`` and ``\\pi/4``) always overlap: equality needs a proof.
Two methods, each exact:

- :func:`linear_logs`: a rational combination of logarithms of positive rationals, of
  arctangents of rationals and of ``pi`` (``\\tanh^{-1}(1/2)`` is ``(\\ln 3)/2``, ``\\ln(e^{1000})``
  is 1000). The difference of two such forms is 0 when its rational part is 0, its logarithms
  multiply out exactly (``prod p^n = 1``), and its arctangents and ``pi`` part vanishes: the
  Gaussian integer ``prod (q + i p)^k`` is real with the sign ``(-1)^(k of pi)``, so the part
  is a whole multiple of ``2 pi / N``, and a ball shows it is less than that multiple away
  from 0 (Machin's formula and its kin).
- :func:`algebraic_zero`: a difference that is an algebraic number (rationals, roots,
  sines and cosines at rational multiples of pi) is 0 when its minimal polynomial is ``x``
  (sympy's exact algebra) and its ball contains 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import lcm
from typing import Any

from flint import arb, fmpq

from grader.mathlang import ast
from grader.mathlang.balls import precision
from grader.mathlang.names import SPELLINGS

MAX_FORM_TERMS = 16  # logarithms and arctangents in one form
MAX_PRODUCT_BITS = 200_000  # size of the exact products a proof multiplies out
PROOF_BITS = 256  # precision of the ball that bounds the arctangent part


class NotAForm(Exception):
    """The formula is not a combination this reading covers."""


@dataclass
class LogForm:
    """``rational + sum(logs[p] ln p) + sum(atans[r] atan r) + pi_part pi``."""

    rational: Fraction = Fraction(0)
    logs: dict[Fraction, Fraction] = field(default_factory=dict)
    atans: dict[Fraction, Fraction] = field(default_factory=dict)
    pi_part: Fraction = Fraction(0)

    def is_rational(self) -> bool:
        return not self.logs and not self.atans and not self.pi_part

    def scaled(self, k: Fraction) -> LogForm:
        return LogForm(
            self.rational * k,
            {p: c * k for p, c in self.logs.items()},
            {r: c * k for r, c in self.atans.items()},
            self.pi_part * k,
        )

    def plus(self, other: LogForm) -> LogForm:
        logs, atans = dict(self.logs), dict(self.atans)
        for p, c in other.logs.items():
            logs[p] = logs.get(p, Fraction(0)) + c
        for r, c in other.atans.items():
            atans[r] = atans.get(r, Fraction(0)) + c
        if len(logs) + len(atans) > MAX_FORM_TERMS:
            raise NotAForm("too many terms")
        return LogForm(
            self.rational + other.rational,
            {p: c for p, c in logs.items() if c},
            {r: c for r, c in atans.items() if c},
            self.pi_part + other.pi_part,
        )


def _rational(value: Fraction) -> LogForm:
    return LogForm(rational=value)


def _log_of_rational(p: Fraction) -> LogForm:
    if p <= 0:
        raise NotAForm("the logarithm of a number that is not positive")
    if p == 1:
        return LogForm()
    return LogForm(logs={p: Fraction(1)})


def _atan_of(r: Fraction) -> LogForm:
    if r == 0:
        return LogForm()
    if r < 0:  # odd
        return LogForm(atans={-r: Fraction(-1)})
    return LogForm(atans={r: Fraction(1)})


def read_form(node: ast.Node, depth: int = 0) -> LogForm:
    """The formula as a :class:`LogForm`, or NotAForm."""
    if depth > 60:
        raise NotAForm("nested too deeply")
    match node:
        case ast.Num(value=v):
            return _rational(Fraction(v))
        case ast.Const(name="pi"):
            return LogForm(pi_part=Fraction(1))
        case ast.Neg(operand=operand):
            return read_form(operand, depth + 1).scaled(Fraction(-1))
        case ast.BinOp(op=op, left=left, right=right):
            return _binop(op, left, right, depth)
        case ast.Call(name=name, args=args):
            return _call(SPELLINGS.get(name, name), args, depth)
    raise NotAForm(type(node).__name__)


def _binop(op: str, left: ast.Node, right: ast.Node, depth: int) -> LogForm:
    if op == "^":
        base, exponent = read_form(left, depth + 1), read_form(right, depth + 1)
        if base.is_rational() and exponent.is_rational() and exponent.rational.denominator == 1:
            k = exponent.rational.numerator
            if abs(k) > 4096 or (base.rational == 0 and k < 0):
                raise NotAForm("power")
            return _rational(base.rational**k)
        raise NotAForm("power")
    a, b = read_form(left, depth + 1), read_form(right, depth + 1)
    if op == "+":
        return a.plus(b)
    if op == "-":
        return a.plus(b.scaled(Fraction(-1)))
    if op in ast.PRODUCT_KINDS:
        if a.is_rational():
            return b.scaled(a.rational)
        if b.is_rational():
            return a.scaled(b.rational)
        raise NotAForm("a product of two logarithms")
    if op == "/":
        if b.is_rational() and b.rational != 0:
            return a.scaled(1 / b.rational)
        ratio = _ratio(a, b)
        if ratio is not None:
            return _rational(ratio)
    raise NotAForm(f"operator {op}")


def _ratio(a: LogForm, b: LogForm) -> Fraction | None:
    """``a / b`` when ``a`` is a rational multiple of ``b`` (``\\ln 8 / \\ln 2`` is 3)."""
    if a.rational or b.rational or a.atans or b.atans or a.pi_part or b.pi_part or not b.logs:
        return None
    if _is_zero(b):
        return None
    for k in _candidate_ratios(a, b):
        if _is_zero(a.plus(b.scaled(-k))):
            return k
    return None


def _candidate_ratios(a: LogForm, b: LogForm) -> list[Fraction]:
    """Ratios to try: of the exponents once every logarithm is of a prime power's base."""
    pa, pb = _prime_exponents(a), _prime_exponents(b)
    if pa is None or pb is None or not pb:
        return []
    prime, exponent = next(iter(pb.items()))
    return [pa.get(prime, Fraction(0)) / exponent]


def _prime_exponents(form: LogForm) -> dict[int, Fraction] | None:
    """``sum c ln p`` as ``sum e_q ln q`` over primes q (small factors only)."""
    found: dict[int, Fraction] = {}
    for p, c in form.logs.items():
        for value, sign in ((p.numerator, 1), (p.denominator, -1)):
            factors = _small_factors(value)
            if factors is None:
                return None
            for prime, count in factors.items():
                found[prime] = found.get(prime, Fraction(0)) + sign * count * c
    return {q: e for q, e in found.items() if e}


def _small_factors(n: int) -> dict[int, int] | None:
    found: dict[int, int] = {}
    d = 2
    while d * d <= n and d < 10_000:
        while n % d == 0:
            found[d] = found.get(d, 0) + 1
            n //= d
        d += 1
    if n > 1:
        if d * d <= n:
            return None  # a factor too large to find quickly
        found[n] = found.get(n, 0) + 1
    return found


def _call(name: str, args: tuple[ast.Node, ...], depth: int) -> LogForm:
    if name == "log" and len(args) == 2:
        return _binop(
            "/", ast.Call(args[0].pos, "log", (args[0],)), ast.Call(args[1].pos, "log", (args[1],)), depth
        )
    if len(args) != 1:
        raise NotAForm(name)
    if name == "log":
        return _log_of(args[0], depth + 1)
    inner = read_form(args[0], depth + 1)
    if not inner.is_rational():
        raise NotAForm(f"{name} of a value that is not rational")
    r = inner.rational
    if name == "atan":
        return _atan_of(r)
    if name == "atanh" and -1 < r < 1:  # (ln(1 + r) - ln(1 - r)) / 2
        return (
            _log_of_rational(1 + r).plus(_log_of_rational(1 - r).scaled(Fraction(-1))).scaled(Fraction(1, 2))
        )
    if name == "acot" and r != 0:  # acot r = atan(1/r), with its value in (0, pi) for r < 0 or not
        return _atan_of(1 / r)
    raise NotAForm(name)


def _log_of(node: ast.Node, depth: int) -> LogForm:
    """The logarithm of a product of positive rationals, their rational powers and powers of e."""
    if depth > 60:
        raise NotAForm("nested too deeply")
    match node:
        case ast.Num(value=v):
            return _log_of_rational(Fraction(v))
        case ast.Const(name="e"):
            return _rational(Fraction(1))
        case ast.Call(name="exp", args=(argument,)):
            exponent = read_form(argument, depth + 1)
            if not exponent.is_rational():
                raise NotAForm("exp of a value that is not rational")
            return exponent
        case ast.Call(name="sqrt", args=(argument,)):
            return _log_of(argument, depth + 1).scaled(Fraction(1, 2))
        case ast.BinOp(op="^", left=base, right=power):
            exponent = read_form(power, depth + 1)
            if not exponent.is_rational():
                raise NotAForm("a power that is not rational")
            return _log_of(base, depth + 1).scaled(exponent.rational)
        case ast.BinOp(op="/", left=left, right=right):
            return _log_of(left, depth + 1).plus(_log_of(right, depth + 1).scaled(Fraction(-1)))
        case ast.BinOp(op=op, left=left, right=right) if op in ast.PRODUCT_KINDS:
            return _log_of(left, depth + 1).plus(_log_of(right, depth + 1))
    value = read_form(node, depth + 1)
    if not value.is_rational():
        raise NotAForm("the logarithm of a value that is not rational")
    return _log_of_rational(value.rational)


def _is_zero(form: LogForm) -> bool:
    """The form is exactly 0 (see the module docstring); False when that is not shown."""
    if form.rational:
        return False
    return _logs_vanish(form.logs) and _angles_vanish(form.atans, form.pi_part)


def _logs_vanish(logs: dict[Fraction, Fraction]) -> bool:
    if not logs:
        return True
    n = lcm(*(c.denominator for c in logs.values()))
    bits = sum(abs(int(c * n)) * _bits(p) for p, c in logs.items())
    if bits > MAX_PRODUCT_BITS:
        return False
    top, bottom = 1, 1
    for p, c in logs.items():
        k = int(c * n)
        num, den = (p.numerator, p.denominator) if k > 0 else (p.denominator, p.numerator)
        top *= num ** abs(k)
        bottom *= den ** abs(k)
    return top == bottom


def _bits(value: Fraction) -> int:
    return value.numerator.bit_length() + value.denominator.bit_length()


def _angles_vanish(atans: dict[Fraction, Fraction], pi_part: Fraction) -> bool:
    if not atans:
        return pi_part == 0
    n = lcm(pi_part.denominator, *(c.denominator for c in atans.values()))
    bits = sum(abs(int(c * n)) * 2 * _bits(r) for r, c in atans.items())
    if bits > MAX_PRODUCT_BITS:
        return False
    real, imaginary = 1, 0  # prod (q + i p)^k, conjugated for k < 0: its argument is sum k atan(p/q)
    for r, c in atans.items():
        k = int(c * n)
        a, b = r.denominator, r.numerator if k > 0 else -r.numerator
        for _ in range(abs(k)):
            real, imaginary = real * a - imaginary * b, real * b + imaginary * a
    whole_pi = int(pi_part * n)
    if imaginary != 0 or real == 0 or (real > 0) != (whole_pi % 2 == 0):
        return False
    # n * (the part) is a whole multiple of 2 pi: a ball within (-2 pi, 2 pi) makes it 0
    with precision(PROOF_BITS):
        total = arb(whole_pi) * arb.pi()
        for r, c in atans.items():
            total += arb(int(c * n)) * arb(fmpq(r.numerator, r.denominator)).atan()
        return bool(abs(total) < 2 * arb.pi())


def linear_logs(a: ast.Node, b: ast.Node) -> str | None:
    """Why ``a = b`` exactly, when both are combinations of logarithms and arctangents of
    rationals and pi whose difference vanishes, or both products of powers of positive
    rationals and of e whose logarithms are such combinations (``(e^{-10})^{100}`` and
    ``e^{-1000}``); else None."""
    try:
        difference = read_form(a).plus(read_form(b).scaled(Fraction(-1)))
    except NotAForm:
        pass
    else:
        if _is_zero(difference) and not _has_terms(read_form(a)):
            return "exact: both are the same rational number"
        if _is_zero(difference):
            return (
                "proved: both are rational combinations of logarithms and arctangents of rationals "
                "and pi, and their difference is 0 (the products of the numbers multiply out exactly)"
            )
    try:
        (sign_a, log_a), (sign_b, log_b) = _signed_log(a), _signed_log(b)
    except NotAForm:
        return None
    if sign_a != sign_b or not _is_zero(log_a.plus(log_b.scaled(Fraction(-1)))):
        return None
    return (
        "proved: both are products of powers of positive rationals and of e with the same sign, "
        "and their logarithms are equal exactly"
    )


def _has_terms(form: LogForm) -> bool:
    return not form.is_rational()


def _signed_log(node: ast.Node) -> tuple[int, LogForm]:
    """A nonzero product of powers of rationals and of e as (its sign, the logarithm of its
    absolute value)."""
    if isinstance(node, ast.Neg):
        sign, form = _signed_log(node.operand)
        return -sign, form
    if isinstance(node, ast.Num) and node.value < 0:
        return -1, _log_of_rational(-Fraction(node.value))
    if isinstance(node, ast.BinOp) and (node.op in ast.PRODUCT_KINDS or node.op == "/"):
        (sign_l, left), (sign_r, right) = _signed_log(node.left), _signed_log(node.right)
        return sign_l * sign_r, left.plus(right.scaled(Fraction(-1 if node.op == "/" else 1)))
    return 1, _log_of(node, 0)


def algebraic_zero(difference: Any) -> str | None:
    """Why the sympy number ``difference`` is 0 when it is algebraic (rationals, roots, sines
    and cosines at rational multiples of pi): its minimal polynomial is ``x`` and its ball
    contains 0; else None."""
    import sympy

    from grader.mathlang.enclosures import NoEnclosure, enclose
    from grader.mathlang.enclosures import precision as enclosure_precision

    if not _algebraic(difference):
        return None
    expr = difference
    x = sympy.Dummy("x")
    try:
        polynomial = sympy.minimal_polynomial(expr, x)
    except (NotImplementedError, ValueError, TypeError, sympy.polys.polyerrors.PolynomialError):
        return None
    if sympy.expand(polynomial - x) != 0:
        return None
    with enclosure_precision(PROOF_BITS):
        try:
            if not enclose(expr).contains(0):
                return None
        except (NoEnclosure, ValueError, ZeroDivisionError):
            return None
    return "proved: the difference is an algebraic number whose minimal polynomial is x (exact algebra)"


def _algebraic(expr: Any, depth: int = 0) -> bool:
    """The number is built from rationals by the four operations, rational powers, and
    sines, cosines and tangents of rational multiples of pi: an algebraic number."""
    import sympy

    if depth > 60:
        return False
    if expr.is_Rational:
        return True
    if isinstance(expr, sympy.sin | sympy.cos | sympy.tan):
        return bool((expr.args[0] / sympy.pi).is_Rational)
    if expr.is_Pow:
        return bool(expr.exp.is_Rational) and _algebraic(expr.base, depth + 1)
    if expr.is_Add or expr.is_Mul:
        return all(_algebraic(arg, depth + 1) for arg in expr.args)
    return False
