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
from grader.mathlang.errors import CasesOverlapError, EvalError, NotExactError
from grader.mathlang.evaluate import evaluate, evaluate_exact, evaluate_val, make_env
from grader.mathlang.limits import number_size_error
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
        return _one_constant(node)
    values = [_one_constant(side) for side in sides]
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


def _one_constant(node: ast.Node) -> Fraction | float:
    if isinstance(node, ast.Relation | ast.Logic):
        raise EvalError("expected a number, not a comparison or condition", position=node.pos)
    try:
        value = evaluate_exact(node, {})
    except NotExactError:
        result = evaluate(node, {})
        if result.shape != ():
            raise EvalError("expected a number, not an array", position=node.pos) from None
        if result.dtype == np.bool_:
            raise EvalError("expected a number, not a condition", position=node.pos) from None
        if np.isinf(result):
            _refuse_beyond_floats(node)
        return float(result)
    if isinstance(value, np.ndarray):
        raise EvalError("expected a number, not an array", position=node.pos)
    if isinstance(value, bool | np.bool_):
        raise EvalError("expected a number, not a condition", position=node.pos)
    if isinstance(value, int):
        return Fraction(value)
    return value


def _refuse_beyond_floats(node: ast.Node) -> None:
    """A constant past the float range: say how large it is (from 40-digit arithmetic,
    whose size is bounded too), or that it is infinite."""
    value = evaluate_val(node, make_env("mp", {})).a[0]
    if MP.isinf(value) or MP.isnan(value):
        return
    raise number_size_error(float(MP.log10(abs(value))), position=node.pos)
