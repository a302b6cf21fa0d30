"""Reading a number as a student writes it, and comparing with a tolerance.

This is the one number reader of grader: every answer type that reads a number
(``number``, ``array``, ``constraint``, ``interval``, network weights) goes through
:func:`read_written_number`. A number has the exact value it was written with:
``0.1`` and the YAML float ``0.1`` are both 1/10, never the binary
0.1000000000000000055...; :class:`WrittenNumber` also says whether it was
written as a decimal (such answers are compared within the part's tolerance).

Plain numbers (``131072``, ``131,072``, ``1.3e5``, ``-0.25``, ``1/2``) are read
directly; anything else (``2^17``, ``\\frac{1}{2}``, ``1.3 \\times 10^5``,
``\\sqrt{2}``) goes through the math language and must be a constant, exact
when it is rational, a float otherwise (``\\sqrt{2}``, ``\\pi``). A value
given as an approximation (``\\approx 0.0349``, ``\\frac{\\pi}{90} \\approx 0.0349``)
is its last side.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

from grader.core.verdict import AnswerError
from grader.mathlang import ast
from grader.mathlang.errors import MathError
from grader.mathlang.limits import check_decimal_literal
from grader.mathlang.names import function_names
from grader.mathlang.parser import parse

Number = Fraction | float
# What reading a number written as a formula imports on first use (numpy, mpmath): the answer
# types that read numbers list it in their ``loads``, so the engine imports it before a check.
EVALUATOR = "grader.mathlang.evaluate"

_PLAIN = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:(?:,|\\,|\u2009|\u202f| )\d{3})+(?:\.\d+)?$")
_RATIO = re.compile(r"^([+-]?\d+)\s*/\s*(\d+)$")
_APPROXIMATELY = re.compile(r"\\approx(?![A-Za-z])|≈")
_MAX_PLAIN_DIGITS = 400
# Sides of ``a \approx b`` further apart than this (relatively) are not one number rounded.
APPROXIMATION_SPREAD = 0.05


@dataclass(frozen=True)
class WrittenNumber:
    """A number as written: its value, and whether it was written as a decimal."""

    value: Number  # exact when rational (decimals included); a float for sqrt(2), pi...
    decimal: bool = False  # written with a point or an exponent, a YAML float, or as ``\approx``
    # The formula of a value that is not rational (``\sqrt{2}``): ``value`` is then only its
    # float, for showing; comparisons use the formula (grader.core.settle).
    formula: ast.Node | None = None

    def negated(self) -> WrittenNumber:
        formula = None if self.formula is None else ast.Neg(self.formula.pos, self.formula)
        return WrittenNumber(-self.value, self.decimal, formula)


def read_written_number(value: Any) -> WrittenNumber:
    """A number from a YAML scalar or a student's text; AnswerError if it is not one."""
    if isinstance(value, bool):
        raise AnswerError(f"expected a number, got {str(value).lower()}")
    if isinstance(value, int):
        return WrittenNumber(Fraction(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise AnswerError(f"expected a finite number, got {value}")
        return WrittenNumber(exact_decimal(value), decimal=True)
    if not isinstance(value, str):
        raise AnswerError(f"expected a number, got a {type(value).__name__}")
    return read_number_text(value)


def read_number(value: Any) -> Number:
    """The value of :func:`read_written_number`."""
    return read_written_number(value).value


def exact_decimal(value: object) -> Fraction:
    """A number as the decimal it was written as: the float 0.01 is 1/100, not 0.01000000000000000020816."""
    if isinstance(value, numbers.Rational):  # int, Fraction, numpy and sympy integers
        return Fraction(int(value.numerator), int(value.denominator))
    if not isinstance(value, numbers.Real):
        raise TypeError(f"not a number: {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise AnswerError(f"expected a finite number, got {number}")
    return Fraction(repr(number))


def read_number_text(text: str) -> WrittenNumber:
    """A number written as text: plain, a constant formula, or an approximation (``\\approx 0.0349``)."""
    stripped = strip_math_delimiters(text.strip())
    sides = [side.strip() for side in _APPROXIMATELY.split(stripped)]
    if len(sides) == 1:
        return _read_one(stripped)
    final = _read_one(sides[-1])
    for side in sides[:-1]:
        _check_rounding(side, final)
    return WrittenNumber(final.value, True, final.formula)


def _read_one(text: str) -> WrittenNumber:
    plain = read_plain_number(text)
    if plain is not None:
        return plain
    tree = parse_number(text)
    decimal = any(isinstance(node, ast.Num) and node.is_float for node in ast.walk(tree))
    return formula_number(tree, decimal)


def parse_number(text: str) -> ast.Node:
    """A number written as a formula, with the vocabulary of every part type: the built-in
    functions and their other spellings (``\\sigma(0)``, ``\\operatorname{artanh}``, ``H``)."""
    return parse(text, functions=function_names())


def formula_number(tree: ast.Node, decimal: bool) -> WrittenNumber:
    """A constant formula's number: exact when rational, else its float with the formula
    (the last side of working shown with equals signs) for comparisons."""
    from grader.mathlang.constant import constant_number, graded_side  # numpy: only for a formula

    value, exact = constant_number(tree)
    return WrittenNumber(value, decimal, None if exact else graded_side(tree))


def _check_rounding(side: str, final: WrittenNumber) -> None:
    """A side of ``a \\approx b`` that is a number must round to the final one."""
    if not side:
        return
    try:
        shown = _read_one(side).value
    except MathError:
        return  # a name or a formula in symbols (``\\theta \\approx 0.03``): words, not a value
    if abs(float(shown) - float(final.value)) > APPROXIMATION_SPREAD * abs(float(shown)):
        raise AnswerError(
            f"the sides of your approximation differ: {side} is {show(shown)}, not about {show(final.value)}"
        )


def read_plain_number(text: str, *, thousands: bool = True) -> WrittenNumber | None:
    """``131072``, ``-0.25``, ``1.3e5``, ``1/2`` (and ``131,072`` when ``thousands``), else None."""
    if len(text) > _MAX_PLAIN_DIGITS:
        return None
    if thousands and _THOUSANDS.match(text):
        text = re.sub(r"\\,|,|\u2009|\u202f| ", "", text)
    if _PLAIN.match(text):
        mantissa, _, exponent = text.lower().partition("e")
        check_decimal_literal(mantissa, int(exponent or 0))  # before 1e999999 is built
        return WrittenNumber(Fraction(text), decimal=any(c in text for c in ".eE"))
    ratio = _RATIO.match(text)
    if ratio and int(ratio.group(2)) != 0:
        return WrittenNumber(Fraction(int(ratio.group(1)), int(ratio.group(2))))
    return None


def strip_math_delimiters(text: str) -> str:
    """``$x$``, ``$$x$$``, ``\\(x\\)``, ``\\[x\\]`` -> ``x``."""
    for opening, closing in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if (
            text.startswith(opening)
            and text.endswith(closing)
            and len(text) > len(opening) + len(closing) - 1
        ):
            return text[len(opening) : len(text) - len(closing)].strip()
    return text


def close(received: Number, expected: Number, rtol: float, atol: float) -> bool:
    """Equal when exact, else within ``atol + rtol * |expected|``."""
    if isinstance(received, Fraction) and isinstance(expected, Fraction) and received == expected:
        return True
    try:
        difference = abs(Fraction(received) - Fraction(expected))
    except (OverflowError, ValueError):
        return False
    bound = exact_decimal(atol) + exact_decimal(rtol) * abs(Fraction(expected))
    return difference <= bound


def show(value: Number, decimal: bool = False) -> str:
    """A number as a student would write it: ``131072``, ``1/2``, ``0.333333``; a
    ``decimal`` one as a decimal (``0.25``, not ``1/4``)."""
    if isinstance(value, Fraction) and not decimal:
        if value.denominator == 1:
            return str(value.numerator)
        if value.denominator < 10_000 and abs(value.numerator) < 10_000:
            return f"{value.numerator}/{value.denominator}"
    return _scientific(value)


def _scientific(value: Number) -> str:
    """Six significant digits, for values past the float range too (2^1500)."""
    try:
        return f"{float(value):.6g}"
    except OverflowError:
        fraction = Fraction(value)
        with localcontext() as context:
            context.prec = 12
            return f"{Decimal(fraction.numerator) / Decimal(fraction.denominator):.6g}"
