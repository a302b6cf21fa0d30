"""The hyperplanes where a network's first layer switches, and a condition's boundaries
(for probe points of several inputs)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import numpy as np

from grader.core.verdict import CheckUndecided
from grader.mathlang import ast
from grader.mathlang.errors import MathError
from grader.networks.intervals import as_num
from grader.networks.pl import PL, NonLinearError
from grader.types.network.compile import Compiled, NotPiecewiseLinear
from grader.types.network.evaluation import exact_value

ACTIVATIONS = frozenset(
    {"relu", "leaky_relu", "abs", "heaviside", "sigmoid", "tanh", "softplus", "max", "min", "sign"}
)


Plane = tuple[tuple[Fraction, ...], Fraction]


def first_layer(comp: Compiled, wvals: Mapping[str, Any], symvals: Mapping[str, Any]) -> list[Plane]:
    """Hyperplanes where the first layer's units switch: the arguments of the
    innermost activations that depend on the input, when they are affine in it."""
    planes: list[Plane] = []
    values = {**symvals, **wvals}
    for node in _innermost_activation_args(comp, comp.model):
        planes += affine_planes(comp, node, values)
    return planes


def _innermost_activation_args(comp: Compiled, node: ast.Node) -> list[ast.Node]:
    inputs = set(comp.inputs)
    out: list[ast.Node] = []
    for n in ast.walk(node):
        if not (isinstance(n, ast.Call) and _activation(comp, n.name)):
            continue
        for arg in n.args:
            if not (ast.free_names(arg) & inputs):
                continue
            inner = any(
                isinstance(m, ast.Call) and _activation(comp, m.name) and m is not arg for m in ast.walk(arg)
            )
            if not inner:
                out.append(arg)
    return out


def _activation(comp: Compiled, name: str) -> bool:
    fdef = comp.functions.get(name)
    if fdef is not None:
        return fdef.alias in ACTIVATIONS if fdef.alias else True
    return name in ACTIVATIONS


def affine_planes(comp: Compiled, node: ast.Node, values: Mapping[str, Any]) -> list[Plane]:
    """The hyperplanes {x: row . x + b = 0} of a formula affine in the inputs
    (one per entry of a vector formula); [] when it is not affine."""
    zero = {name: Fraction(0) for name in comp.inputs}
    base = _numbers_at(comp, node, {**values, **zero})
    if base is None:
        return []
    cols = []
    for name in comp.inputs:
        v = _numbers_at(comp, node, {**values, **zero, name: Fraction(1)})
        if v is None or len(v) != len(base):
            return []
        cols.append([a - b for a, b in zip(v, base, strict=True)])
    if not _affine_at_random_points(comp, node, values, (base, cols)):
        return []
    planes: list[Plane] = []
    for k in range(len(base)):
        row = tuple(Fraction(col[k]) for col in cols)
        if any(row):
            planes.append((row, Fraction(base[k])))
    return planes


def _numbers_at(comp: Compiled, node: ast.Node, values: Mapping[str, Any]) -> list[Any] | None:
    """The formula's entries at a point, as numbers; None when it has none there."""
    try:
        v = exact_value(comp, node, values)
    except (MathError, NotPiecewiseLinear, NonLinearError, ZeroDivisionError, CheckUndecided):
        return None
    arr = np.asarray(v, dtype=object).reshape(-1)
    if any(isinstance(e, bool | np.bool_ | PL) for e in arr):
        return None
    try:
        return [as_num(e) for e in arr]
    except TypeError:
        return None


def _affine_at_random_points(
    comp: Compiled, node: ast.Node, values: Mapping[str, Any], fit: tuple[list[Any], list[list[Any]]]
) -> bool:
    """Whether the formula equals ``base + cols . x`` at two seeded random points too."""
    base, cols = fit
    rng = random.Random(7)
    for _ in range(2):
        p = {name: Fraction(rng.randint(-9, 9), rng.randint(1, 5)) for name in comp.inputs}
        v = _numbers_at(comp, node, {**values, **p})
        if v is None:
            return False
        for k in range(len(base)):
            want = base[k] + sum(col[k] * p[name] for col, name in zip(cols, comp.inputs, strict=True))
            if abs(v[k] - want) > 1e-9 * (1 + abs(want)):
                return False
    return True


def predicate_planes(comp: Compiled, node: ast.Node, values: Mapping[str, Any]) -> list[Plane]:
    """Boundaries of a condition: for each relation, the hyperplane of ``left - right``
    when it is affine, or of each affine factor of a product (``x1*x2 < 0``: the axes)."""
    out: list[Plane] = []
    for n in ast.walk(node):
        if isinstance(n, ast.Relation):
            if isinstance(n.right, ast.Num) and n.right.value == 0:
                diff: ast.Node = n.left
            elif isinstance(n.left, ast.Num) and n.left.value == 0:
                diff = n.right
            else:
                diff = ast.BinOp(n.pos, "-", n.left, n.right)
            out += _factor_planes(comp, diff, values, 0)
    return out


def _factor_planes(comp: Compiled, node: ast.Node, values: Mapping[str, Any], depth: int) -> list[Plane]:
    if depth > 8 or not (ast.free_names(node) & set(comp.inputs)):
        return []
    planes = affine_planes(comp, node, values)
    if planes:
        return planes
    match node:
        case ast.BinOp(op=op, left=a, right=b) if op not in ("+", "-"):
            return _factor_planes(comp, a, values, depth + 1) + _factor_planes(comp, b, values, depth + 1)
        case ast.Neg(operand=o):
            return _factor_planes(comp, o, values, depth + 1)
        case ast.Call(args=args):
            return [p for a in args for p in _factor_planes(comp, a, values, depth + 1)]
    return []
