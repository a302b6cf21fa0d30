"""Evaluating a network part's formulas: exactly (numbers, or ``PL`` functions of the
input), in float batches, and as sympy expressions.

:func:`exact_value` evaluates a formula with the evaluator's exact backend; when
an input is a :class:`~grader.networks.pl.PL` it also handles ``piecewise`` and
relations (the evaluator cannot order PL values): each ``piecewise`` node
becomes ``PL.from_cases`` with its conditions as exact
:class:`~grader.networks.intervals.Region` objects from
:func:`~grader.networks.pl.where`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

import numpy as np

from grader.core.verdict import AnswerError, CheckUndecided
from grader.mathlang import ast
from grader.mathlang.errors import EvalError, MathError, ShapeError
from grader.mathlang.evaluate import NotExactError, evaluate, evaluate_exact
from grader.mathlang.to_sympy import Unsupported, to_sympy
from grader.mathlang.values import Val
from grader.networks.intervals import Region, as_num
from grader.networks.pl import PL, NonLinearError, piecewise, where
from grader.types.network.compile import Compiled, NotPiecewiseLinear


def has_pl(values: Mapping[str, Any]) -> bool:
    return any(isinstance(v, PL) for v in values.values())


def scalar(value: Any, what: str) -> Any:
    """A one-entry array as its entry; an error for several entries."""
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise CheckUndecided(f"the {what} gives {value.size} values; it must give one number")
        return value.reshape(-1)[0]
    return value


def exact_value(comp: Compiled, node: ast.Node, values: Mapping[str, Any]) -> Any:
    """``node`` with the exact backend; with PL inputs, ``piecewise`` and relations
    are built as exact PLs and Regions here (NotPiecewiseLinear when impossible)."""
    try:
        if not has_pl(values) or not _has_conditions(node):
            return evaluate_exact(node, values, functions=comp.functions)
        if isinstance(node, ast.Piecewise):
            return _piecewise_pl(comp, node, values)
        extra: dict[str, Any] = {}
        rebuilt = _substitute(comp, node, values, extra)
        return evaluate_exact(rebuilt, {**values, **extra}, functions=comp.functions)
    except (NonLinearError, NotExactError) as err:
        if has_pl(values):
            raise NotPiecewiseLinear(str(err)) from None
        raise
    except ShapeError:
        raise
    except EvalError as err:
        if has_pl(values):
            raise NotPiecewiseLinear(err.message) from None
        raise


def _has_conditions(node: ast.Node) -> bool:
    return any(isinstance(n, ast.Piecewise | ast.Relation | ast.Logic) for n in ast.walk(node))


def _piecewise_pl(comp: Compiled, node: ast.Piecewise, values: Mapping[str, Any]) -> Any:
    cases = []
    for value_node, cond in node.cases:
        value = scalar(exact_value(comp, value_node, values), "piecewise formula")
        cases.append((value, region_of(comp, cond, values)))
    try:
        return piecewise(cases)
    except ValueError as err:  # a point no case covers
        raise EvalError(f"the piecewise formula is undefined somewhere: {err}", position=node.pos) from None


def _substitute(comp: Compiled, node: ast.Node, values: Mapping[str, Any], extra: dict[str, Any]) -> ast.Node:
    """``node`` with every piecewise sub-formula replaced by a name bound in ``extra``."""
    if isinstance(node, ast.Piecewise):
        name = f"__piecewise_{len(extra)}"
        extra[name] = _piecewise_pl(comp, node, values)
        return ast.Sym(node.pos, name)
    if not _has_conditions(node):
        return node
    if isinstance(node, ast.Relation | ast.Logic):
        raise NotPiecewiseLinear("a condition outside a piecewise formula")
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if isinstance(value, ast.Node):
            changes[f.name] = _substitute(comp, value, values, extra)
        elif isinstance(value, tuple) and value and all(isinstance(v, ast.Node) for v in value):
            changes[f.name] = tuple(_substitute(comp, v, values, extra) for v in value)
    return dataclasses.replace(node, **changes)


def region_of(comp: Compiled, cond: ast.Node, values: Mapping[str, Any]) -> Region:
    """The exact set of x where a condition holds (the input a PL in ``values``)."""
    match cond:
        case ast.Const(name="true" | "otherwise"):
            return Region.all()
        case ast.Const(name="false"):
            return Region.empty()
        case ast.Relation(op=op, left=left, right=right):
            lv = scalar(exact_value(comp, left, values), "condition")
            rv = scalar(exact_value(comp, right, values), "condition")
            try:
                return where(op, lv, rv)
            except TypeError:
                raise NotPiecewiseLinear(f"cannot compare in {op}") from None
        case ast.Logic(op=op, operands=ops):
            parts = [region_of(comp, o, values) for o in ops]
            return _LOGIC[op](parts)
    value = scalar(exact_value(comp, cond, values), "condition")
    if isinstance(value, bool | np.bool_):
        return Region.all() if value else Region.empty()
    raise EvalError("this is not a condition", position=cond.pos)


def _all_of(parts: list[Region]) -> Region:
    out = Region.all()
    for part in parts:
        out = out & part
    return out


def _any_of(parts: list[Region]) -> Region:
    out = Region.empty()
    for part in parts:
        out = out | part
    return out


_LOGIC: dict[str, Callable[[list[Region]], Region]] = {
    "not": lambda parts: ~parts[0],
    "and": _all_of,
    "or": _any_of,
}


def as_pl(value: Any, domain: tuple[Fraction, Fraction] | None = None) -> PL:
    if isinstance(value, PL):
        return value
    if isinstance(value, bool | np.bool_):
        raise NotPiecewiseLinear("a condition, not a function")
    return PL.constant(as_num(value), domain)


def input_pl(comp: Compiled) -> PL:
    return PL.identity(comp.domain)


def model_exact(
    comp: Compiled, wvals: Mapping[str, Any], symvals: Mapping[str, Any], point: Mapping[str, Any]
) -> Any:
    """The network's output (a number, or a PL when the input is a PL)."""
    values = {**symvals, **wvals, **point}
    try:
        out = exact_value(comp, comp.model, values)
    except ShapeError as err:
        raise AnswerError(f"your weights do not fit the network {comp.part.model}: {err.message}") from None
    return scalar(out, "network")


def model_pl(comp: Compiled, wvals: Mapping[str, Any], symvals: Mapping[str, Any]) -> PL:
    x = input_pl(comp)
    return as_pl(model_exact(comp, wvals, symvals, {comp.inputs[0]: x}), comp.domain)


def formula_pl(comp: Compiled, node: ast.Node, symvals: Mapping[str, Any]) -> PL:
    """The target as an exact PL (cached per symbol values), or NotPiecewiseLinear."""
    key = ("pl", id(node), tuple(sorted(symvals.items())))
    kept = comp.cache.get(key)  # (node, PL or message): the node held, so its id is never another's
    hit = kept[1] if kept is not None and kept[0] is node else None
    if hit is None:
        try:
            value = exact_value(comp, node, {**symvals, comp.inputs[0]: input_pl(comp)})
            hit = as_pl(scalar(value, "target"), comp.domain)
        except NotPiecewiseLinear as err:
            # Its message, not the exception: one exception raised again by every check keeps
            # the frames of them all (and through them every report a worker made) alive.
            hit = str(err)
        if len(comp.cache) > 512:
            comp.cache.clear()
        comp.cache[key] = (node, hit)
    if isinstance(hit, str):
        raise NotPiecewiseLinear(hit)
    return hit


def formula_sympy(comp: Compiled, node: ast.Node) -> Any:
    """The target as a sympy expression (None when it cannot be converted)."""
    key = ("sympy", id(node))
    kept = comp.cache.get(key)  # (node, expression): the node held, so its id is never another's
    if kept is None or kept[0] is not node:
        try:
            kept = (node, to_sympy(node, domains=comp.symbols, functions=comp.functions))
        except (Unsupported, MathError, TypeError, ValueError):
            kept = (node, None)
        comp.cache[key] = kept
    return kept[1]


# ---- float evaluation ----------------------------------------------------------------


def _batched(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in values.items():
        out[k] = Val(np.asarray(v, dtype=float)[None, ...]) if isinstance(v, np.ndarray) else float(v)
    return out


def model_floats(
    comp: Compiled, wfloats: Mapping[str, Any], symvals: Mapping[str, Any], points: Mapping[str, np.ndarray]
) -> np.ndarray:
    return formula_floats(comp, comp.model, {**symvals, **wfloats}, points, "network")


def formula_floats(
    comp: Compiled, node: ast.Node, values: Mapping[str, Any], points: Mapping[str, np.ndarray], what: str
) -> np.ndarray:
    """The formula at B points (float64), shape (B,)."""
    batch = len(next(iter(points.values())))
    env_values = {
        **_batched({k: float(v) if not isinstance(v, np.ndarray) else v for k, v in values.items()}),
        **{k: np.asarray(v, dtype=float) for k, v in points.items()},
    }
    try:
        out = evaluate(node, env_values, functions=comp.functions, batch=batch)
    except ShapeError as err:
        raise AnswerError(f"your weights do not fit the network {comp.part.model}: {err.message}") from None
    flat = np.asarray(out, dtype=float).reshape(batch, -1)
    if flat.shape[1] != 1:
        raise CheckUndecided(f"the {what} gives {flat.shape[1]} values; it must give one number")
    return flat[:, 0]
