"""The value of a formula without symbols, as a number part and a weight read it.

Exact when rational (``2^17``, ``\\frac{1}{2}``, ``1.3e5``), else a float; working shown with
equals signs gives its last side's value when every side agrees; piecewise rows that overlap
and disagree have no value.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from grader.mathlang import ast
from grader.mathlang.arithmetic import MP
from grader.mathlang.cases import cases_conflict
from grader.mathlang.errors import CasesOverlapError, EvalError, LimitError, MathError, NotExactError
from grader.mathlang.evaluate import evaluate, evaluate_exact, evaluate_val, make_env
from grader.mathlang.limits import MAX_VALUE_DIGITS, number_size_error
from grader.mathlang.values import show


def constant_value(node: ast.Node) -> Fraction | float:
    """The value of a formula without symbols: exact when it is rational
    (``2^17``, ``\\frac{1}{2}``, ``1.3e5``), else a float (``\\sqrt{2}``, ``pi``).

    Working shown with equals signs (``128 * (4*4*64) = 131072``) gives the last
    side's value when every side agrees, else an EvalError saying the sides differ."""
    conflict = cases_conflict(node)
    if conflict is not None:
        raise CasesOverlapError(conflict.message(), position=node.pos)
    sides = _equation_sides(node)
    if sides is None:
        return _one_constant(node)[0]
    values = [_one_constant(side)[0] for side in sides]
    for side, value in zip(sides[:-1], values[:-1], strict=True):
        if not _same_number(value, values[-1]):
            raise EvalError(
                f"the sides of your equation differ: {show(side)} is {_number_text(value)}, "
                f"not {_number_text(values[-1])}",
                position=side.pos,
            )
    return values[-1]


def graded_side(node: ast.Node) -> ast.Node:
    """The formula :func:`constant_value` gives the value of: the last side of working
    shown with equals signs, else the whole."""
    sides = _equation_sides(node)
    return node if sides is None else sides[-1]


def _equation_sides(node: ast.Node) -> list[ast.Node] | None:
    """``a = b`` and chains ``a = b = c`` (parsed as and-ed relations) as [a, b, c]."""
    if isinstance(node, ast.Relation) and node.op == "=":
        return [node.left, node.right]
    if isinstance(node, ast.Logic) and node.op == "and" and node.operands:
        sides: list[ast.Node] = []
        for rel in node.operands:
            if not (isinstance(rel, ast.Relation) and rel.op == "="):
                return None
            if not sides:
                sides.append(rel.left)
            sides.append(rel.right)
        return sides
    return None


def _same_number(a: Fraction | float, b: Fraction | float) -> bool:
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return a == b
    return abs(float(a) - float(b)) <= 1e-12 * max(abs(float(a)), abs(float(b)))


def _number_text(v: Fraction | float) -> str:
    if isinstance(v, Fraction):
        return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"
    return f"{v:.12g}"


def constant_number(node: ast.Node) -> tuple[Fraction | float, bool]:
    """:func:`constant_value` and whether it is exact (rational). A value past the float
    range that is not rational (``e^{1000}``) is its 40-digit approximation as a Fraction,
    not exact: only the value is bounded (``\\ln(e^{1000})`` is 1000, whatever its
    intermediate ``e^{1000}``)."""
    conflict = cases_conflict(node)
    if conflict is not None:
        raise CasesOverlapError(conflict.message(), position=node.pos)
    sides = _equation_sides(node)
    if sides is None:
        return _one_constant(node, approximate=True)
    value = constant_value(node)
    return value, isinstance(value, Fraction)


def _one_constant(node: ast.Node, approximate: bool = False) -> tuple[Fraction | float, bool]:
    """The value, and whether it is exact."""
    if isinstance(node, ast.Relation | ast.Logic):
        raise EvalError("expected a number, not a comparison or condition", position=node.pos)
    try:
        value = evaluate_exact(node, {})
    except (NotExactError, LimitError) as err:
        # not rational, or an intermediate too large to hold exactly (``\ln(2^{10000})``):
        # the value in floats, else at 40 digits; only the value itself is bounded
        result = _float_value(node, err)
        if result.shape != ():
            raise EvalError("expected a number, not an array", position=node.pos) from None
        if result.dtype == np.bool_:
            raise EvalError("expected a number, not a condition", position=node.pos) from None
        underflow = isinstance(err, LimitError) and np.isfinite(result) and abs(float(result)) < 1e-300
        if not np.isfinite(result) or underflow:  # the value's own size decides (at 40 digits)
            return _beyond_floats(node, err, approximate), False
        return float(result), False
    if isinstance(value, np.ndarray):
        raise EvalError("expected a number, not an array", position=node.pos)
    if isinstance(value, bool | np.bool_):
        raise EvalError("expected a number, not a condition", position=node.pos)
    if isinstance(value, int):
        return Fraction(value), True
    return value, isinstance(value, Fraction)


def _float_value(node: ast.Node, err: MathError) -> np.ndarray:
    try:
        return np.asarray(evaluate(node, {}))
    except LimitError:
        if isinstance(err, LimitError):
            raise err from None
        raise


def _beyond_floats(node: ast.Node, err: MathError, approximate: bool) -> Fraction | float:
    """A constant floats overflow (or underflow) on, its value or only an intermediate past
    the float range: its value at 40 digits (whose size is bounded too). A value within the
    float range is that float; one past it within the digits graded is its approximation
    (when ``approximate``), else refused with its size; an infinite one stays infinite."""
    value = evaluate_val(node, make_env("mp", {})).a[0]
    if MP.isinf(value) or MP.isnan(value):
        if isinstance(err, LimitError):
            raise err
        return float(value)
    if value == 0:
        return 0.0
    size = float(MP.log10(abs(value)))
    if abs(size) < 300:
        return float(value)
    if approximate and abs(size) < MAX_VALUE_DIGITS:
        return _approximation(value)
    raise number_size_error(size, position=node.pos)


def _approximation(value: object) -> Fraction:
    mantissa, exponent = MP.frexp(value)
    scaled = int(MP.nint(MP.ldexp(mantissa, 140)))
    return Fraction(scaled) * Fraction(2) ** (int(exponent) - 140)
