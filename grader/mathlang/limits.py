"""Size limits of the math-language parser.

Every limit is checked as early as possible: the length before lexing, number
literals while lexing, nesting depth and power towers while parsing (an explicit
depth counter, never Python's recursion limit), node count and tree depth right
after parsing. A refusal is a :class:`~grader.mathlang.errors.LimitError` with a
position and a plain message, so the answer is reported ``invalid``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from grader.mathlang.errors import LimitError

MAX_DIM = 64  # largest size of one axis of any array value
MAX_ELEMENTS = 4096  # largest number of entries of one array value (per point)


@dataclass(frozen=True)
class Limits:
    """Bounds on what the parser accepts (all inclusive)."""

    # characters in the answer, refused before any other work
    max_length: int = 5000
    # nested groups, unary signs, exponents, fractions... while parsing
    max_depth: int = 60
    # nodes in the finished tree
    max_nodes: int = 2000
    # depth of the finished tree (a long sum is a deep left-leaning tree)
    max_tree_depth: int = 250
    # ``a^b^c`` nests 2 exponents; ``9^9^9^9`` (3) is refused
    max_power_nesting: int = 2
    # decimal digits of a power of literals: ``(10^30)^1000`` is refused
    max_power_digits: int = 2000
    # digits in a number literal (integer part, and fractional part)
    max_number_digits: int = 30
    # |e| in a literal such as ``1e-300``
    max_decimal_exponent: int = 300
    # rows and columns of one \begin{bmatrix} .. \end{bmatrix}
    max_matrix_rows: int = 64
    max_matrix_cols: int = 64


DEFAULT_LIMITS = Limits()


def check_length(text: str, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse an answer longer than ``limits.max_length`` characters, before lexing."""
    if len(text) > limits.max_length:
        raise LimitError(
            f"answer too long: {len(text)} characters (the limit is {limits.max_length})",
            text,
            limits.max_length,
            hint="give only the final formula",
        )


# ---- the size of the numbers a formula builds ---------------------------------------
#
# Parse-time limits bound what a formula *writes*; these bound what evaluating it
# *builds*. Exact values (integers, fractions) and high-precision (mpmath) values may
# have at most ``MAX_VALUE_DIGITS`` decimal digits before the point (and, for exact
# values, in the denominator). A power or an exponential is refused *before* it is
# formed, from the size it would have; every other result is checked once formed.
# Plain floats need no bound: they overflow to inf, which the checkers handle.

MAX_VALUE_DIGITS_VARIABLE = "GRADER_MAX_NUMBER_DIGITS"
DEFAULT_MAX_VALUE_DIGITS = 1000
_LOG10_2 = math.log10(2)
_LN_10 = math.log(10)


# Every limit read from the environment, as this process reads it: a batch ships these to its
# workers and keys its stored verdicts by them (grader.versions).
LIMITS_IN_FORCE: dict[str, int] = {}


def limit_from_environment(variable: str, default: int, lowest: int, highest: int) -> int:
    """A limit a TA may set with an environment variable, kept within [lowest, highest];
    the default when the variable is unset or not a whole number."""
    text = os.environ.get(variable, "").strip().replace("_", "")
    try:
        value = int(text) if text else default
    except ValueError:
        value = default
    LIMITS_IN_FORCE[variable] = min(max(value, lowest), highest)
    return LIMITS_IN_FORCE[variable]


# Python prints integers of up to 4,300 digits.
MAX_VALUE_DIGITS = limit_from_environment(MAX_VALUE_DIGITS_VARIABLE, DEFAULT_MAX_VALUE_DIGITS, 20, 4000)
# High-precision (mpmath) numbers keep a small mantissa whatever their size, so they are
# bounded much further out: only by the size of their exponent (10^(10^12) costs nothing;
# exp(exp(exp(100))) would need an exponent of 10^(10^42) digits). Equivalence checks
# probe formulas up to |x| = 1e9, where exp(x) is about 10^(4.3e8).
MAX_APPROXIMATE_LOG10 = 1e12
_EXACT_HINT = f"numbers are graded up to {MAX_VALUE_DIGITS:,} digits"
_APPROXIMATE_HINT = f"numbers are graded up to about 10^(10^{round(math.log10(MAX_APPROXIMATE_LOG10))})"


def number_size_error(
    log10_magnitude: float, position: int | None = None, *, hint: str = _EXACT_HINT
) -> LimitError:
    """The refusal of a number whose absolute value is about ``10^log10_magnitude``
    (``hint`` names the bound that refused it: by default the exact one)."""
    if log10_magnitude < 0:
        what = f"too close to zero to grade exactly: about 10^-{_power_text(-log10_magnitude)}"
    else:
        what = f"too large to grade: about 10^{_power_text(log10_magnitude)}"
    return LimitError(f"this number is {what}", position=position, hint=hint)


def _approximate_size_error(log10_magnitude: float) -> LimitError:
    """The refusal of a high-precision number past ``10^MAX_APPROXIMATE_LOG10``."""
    return number_size_error(log10_magnitude, hint=_APPROXIMATE_HINT)


def _power_text(exponent: float) -> str:
    if not math.isfinite(exponent):
        return "(more than 10^308)"
    if exponent < 1e15:
        return str(round(exponent))
    mantissa, power = f"{exponent:.1e}".split("e")
    return f"({mantissa}×10^{int(power)})"


def check_exact_number(value: Any, max_digits: int | None = None) -> None:
    """Refuse an integer or fraction whose numerator or denominator has too many digits.

    Anything else (floats, booleans, piecewise-linear elements) passes: it is not an
    exact number this bound is about."""
    if type(value) is Fraction:
        numerator, denominator = value.numerator, value.denominator
    elif type(value) is int:
        numerator, denominator = value, 1
    else:
        return
    max_bits = _bits_for(max_digits)
    if numerator.bit_length() <= max_bits and denominator.bit_length() <= max_bits:
        return
    raise _fraction_size_error(abs(numerator), denominator)


def _fraction_size_error(numerator: int, denominator: int) -> LimitError:
    log10_value = _log10_int(numerator) - _log10_int(denominator)
    if abs(log10_value) < _bits_for(None) * _LOG10_2 / 2:  # both huge, the ratio is not
        digits = max(_log10_int(numerator), _log10_int(denominator))
        return LimitError(
            f"this number has too many digits to grade exactly (about {round(digits):,})",
            hint=_EXACT_HINT,
        )
    return number_size_error(log10_value)


def _log10_int(n: int) -> float:
    return math.log10(n) if n > 0 else 0.0


def _bits_for(max_digits: int | None) -> int:
    return math.ceil((MAX_VALUE_DIGITS if max_digits is None else max_digits) / _LOG10_2)


def check_exact_power(base: Fraction, exponent: int) -> None:
    """Refuse ``base ** exponent`` before forming it when the result would be too big."""
    if base == 0 or exponent == 0:
        return
    numerator, denominator = abs(base.numerator), base.denominator
    largest = max(numerator.bit_length(), denominator.bit_length())
    if abs(exponent) * (largest - 1) <= _bits_for(None):
        return
    if abs(numerator) == denominator:  # ±1
        return
    log10_value = exponent * (_log10_int(numerator) - _log10_int(denominator))
    if abs(log10_value) <= MAX_VALUE_DIGITS:
        digits = abs(exponent) * max(_log10_int(numerator), _log10_int(denominator))
        raise LimitError(
            f"this number has too many digits to grade exactly (about {round(digits):,})",
            hint=_EXACT_HINT,
        )
    raise number_size_error(log10_value)


def check_approximate_number(value: Any) -> None:
    """Refuse an mpmath number larger than about ``10^MAX_APPROXIMATE_LOG10`` (tiny ones pass:
    a high-precision value near zero costs nothing)."""
    parts = getattr(value, "_mpf_", None)
    if parts is None:
        return
    _sign, mantissa, exponent, bit_count = parts
    if not mantissa:  # zero, inf or nan
        return
    log2_magnitude = exponent + bit_count
    if log2_magnitude * _LOG10_2 > MAX_APPROXIMATE_LOG10:
        raise _approximate_size_error(log2_magnitude * _LOG10_2)


def check_numbers(values: Iterable[Any]) -> None:
    """:func:`check_exact_number` and :func:`check_approximate_number` on every value
    (one pass with a fast path: it runs on every product of an exact evaluation)."""
    max_bits = _bits_for(None)
    for value in values:
        kind = type(value)
        if kind is Fraction:
            if value.numerator.bit_length() > max_bits or value.denominator.bit_length() > max_bits:
                check_exact_number(value)
        elif kind is int:
            check_exact_number(value)
        elif hasattr(value, "_mpf_"):
            check_approximate_number(value)


def check_exponential(argument: float) -> None:
    """Refuse a high-precision ``exp(argument)`` before forming it when it would be past the bound."""
    if argument / _LN_10 > MAX_APPROXIMATE_LOG10:
        raise _approximate_size_error(float(argument / _LN_10))


def check_power_magnitude(log10_base: float, exponent: float) -> None:
    """Refuse a high-precision ``base ** exponent`` (|base| = 10^log10_base) past the bound."""
    log10_value = log10_base * exponent
    if log10_value > MAX_APPROXIMATE_LOG10:
        raise _approximate_size_error(float(log10_value))


def check_decimal_literal(mantissa: str, exponent: int) -> None:
    """Refuse a decimal number such as ``1e999999`` from its exponent, before reading it."""
    integer_digits = len(mantissa.split(".")[0].lstrip("+-").lstrip("0")) or 1
    if abs(exponent) + integer_digits <= MAX_VALUE_DIGITS:
        return
    raise number_size_error(exponent + integer_digits - 1)
