"""What the student reads about a network: values, points, witnesses and errors as text."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

YOUR = "your network"


def fmt(value: Any) -> str:
    """A value for feedback: ``3``, ``-1/2``, ``1000001.000000001`` (exact when short), else a decimal."""
    if hasattr(value, "is_Rational") and value.is_Rational:  # a sympy rational
        value = Fraction(int(value.p), int(value.q))
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return str(value.numerator)
        text = f"{value.numerator}/{value.denominator}"
        if len(text) <= 12:
            return text
        decimal = _exact_decimal_text(value)
        return decimal if decimal is not None else f"{float(value):.10g}"
    try:
        return f"{float(value):.6g}"
    except (TypeError, ValueError):
        return str(value)


def _exact_decimal_text(value: Fraction) -> str | None:
    """The exact decimal expansion when it is finite and short (denominator 2^a 5^b)."""
    q = value.denominator
    twos = fives = 0
    while q % 2 == 0:
        q //= 2
        twos += 1
    while q % 5 == 0:
        q //= 5
        fives += 1
    if q != 1:
        return None
    places = max(twos, fives)
    scaled = abs(value.numerator) * 10**places // value.denominator
    digits = str(scaled).rjust(places + 1, "0")
    text = (digits[:-places] + "." + digits[-places:]).rstrip("0").rstrip(".")
    if len(text.replace(".", "").lstrip("0")) > 20:
        return None
    return ("-" if value < 0 else "") + text


def error_text(error: Any) -> str:
    """A largest error: ``0.00390625 (= 1/256)``, ``0.0101``, ``unbounded``."""
    if hasattr(error, "is_Rational") and error.is_Rational:  # a sympy rational
        error = Fraction(int(error.p), int(error.q))
    if isinstance(error, Fraction):
        short = f"{float(error):.6g}"
        exact_text = fmt(error)
        return short if exact_text == short else f"{short} (= {exact_text})"
    value = error_float(error)
    if math.isinf(value):
        return "unbounded"
    return f"{value:.6g}"


def error_float(error: Any) -> float:
    try:
        return float(error)
    except (TypeError, ValueError):
        return math.inf


def join_names(names: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def assignment_text(symvals: Mapping[str, Any]) -> str:
    """`` (m = 1, b = 0)`` for a draw of the symbols; empty without symbols."""
    if not symvals:
        return ""
    return " (" + ", ".join(f"{k} = {fmt(v)}" for k, v in symvals.items()) + ")"


def point_text(inputs: Sequence[str], point: Sequence[Any]) -> str:
    """``x = 2`` or ``(x1, x2) = (0, 1)``."""
    if len(point) == 1:
        return f"{inputs[0]} = {fmt(point[0])}"
    return "(" + ", ".join(inputs) + ") = (" + ", ".join(fmt(v) for v in point) + ")"
