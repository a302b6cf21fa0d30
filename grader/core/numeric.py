"""Reading a number as a student writes it, and comparing with a tolerance.

Plain numbers (``131072``, ``131,072``, ``1.3e5``, ``-0.25``, ``1/2``) are read
directly; anything else (``2^17``, ``\\frac{1}{2}``, ``1.3 \\times 10^5``,
``\\sqrt{2}``) goes through the math language and must be a constant.
Exact inputs stay :class:`fractions.Fraction`; the comparison honours the part's
``rtol``/``atol`` either way.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any

from grader.core.verdict import AnswerError

Number = Fraction | float

_PLAIN = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:(?:,|\\,|\u2009|\u202f| )\d{3})+(?:\.\d+)?$")
_RATIO = re.compile(r"^([+-]?\d+)\s*/\s*(\d+)$")
_MAX_PLAIN_DIGITS = 400


def read_number(value: Any) -> Number:
    """A number from a YAML scalar or a student's text; AnswerError if it is not one."""
    if isinstance(value, bool):
        raise AnswerError(f"expected a number, got {str(value).lower()}")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise AnswerError(f"expected a finite number, got {value}")
        return value
    if not isinstance(value, str):
        raise AnswerError(f"expected a number, got a {type(value).__name__}")
    return read_number_text(value)


def read_number_text(text: str) -> Number:
    stripped = strip_math_delimiters(text.strip())
    plain = _read_plain(stripped)
    if plain is not None:
        return plain
    from grader.mathlang.evaluate import constant_value
    from grader.mathlang.parser import parse

    return constant_value(parse(stripped))


def _read_plain(text: str) -> Number | None:
    if len(text) > _MAX_PLAIN_DIGITS:
        return None
    if _THOUSANDS.match(text):
        text = re.sub(r"\\,|,|\u2009|\u202f| ", "", text)
    if _PLAIN.match(text):
        return Fraction(text)
    ratio = _RATIO.match(text)
    if ratio and int(ratio.group(2)) != 0:
        return Fraction(int(ratio.group(1)), int(ratio.group(2)))
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


def is_exact(value: Number) -> bool:
    return isinstance(value, Fraction)


def close(received: Number, expected: Number, rtol: float, atol: float) -> bool:
    """Equal when exact, else within ``atol + rtol * |expected|``."""
    if isinstance(received, Fraction) and isinstance(expected, Fraction) and received == expected:
        return True
    try:
        difference = abs(Fraction(received) - Fraction(expected))
    except (OverflowError, ValueError):
        return False
    bound = Fraction(atol) + Fraction(rtol) * abs(Fraction(expected))
    return difference <= bound


def show(value: Number) -> str:
    """A number as a student would write it: ``131072``, ``1/2``, ``0.333333``."""
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return str(value.numerator)
        if value.denominator < 10_000 and abs(value.numerator) < 10_000:
            return f"{value.numerator}/{value.denominator}"
        return f"{float(value):.6g}"
    return f"{value:.6g}"
