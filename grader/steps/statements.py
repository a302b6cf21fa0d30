"""The two statements of an ``\\iff`` or ``\\implies`` step: each one equation or inequality,
true, false or unknown at a point. A statement is false where one of its sides certainly has
no value (:func:`grader.steps.exactness.no_value`)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

import grader.steps.witness as W
from grader.mathlang import ast
from grader.steps import exactness
from grader.steps.find import _top_level_relations
from grader.steps.read import Read, read_side
from grader.steps.scope import Scope


@dataclass
class Statement:
    op: str
    left: Read
    right: Read


def statement(text: str, scope: Scope) -> Statement | str:
    cuts = _top_level_relations(text)
    if len(cuts) != 1 or cuts[0][2] not in ("=", "<", "<=", ">", ">="):
        return "a statement that is not one equation or inequality: out of scope"
    start, end, op = cuts[0]
    left, right = read_side(text[:start].strip(), scope.context), read_side(text[end:].strip(), scope.context)
    if left.node is None or right.node is None:
        return left.why or right.why
    return Statement(str(op), left, right)


def truth(s: Statement, point: dict[str, Fraction], scope: Scope, bits: int) -> bool | None:
    assert s.left.node is not None and s.right.node is not None
    x = W.value_at(s.left.node, point, scope.functions, bits)
    y = W.value_at(s.right.node, point, scope.functions, bits)
    if x is None or y is None:  # false where a side certainly has no value
        nodes = (s.left.node, s.right.node)
        return False if any(exactness.no_value(n, point, scope.functions) for n in nodes) else None
    return W.compare_values(x, y, s.op)


def truth_floats(
    s: Statement, points: list[dict[str, Fraction]], names: list[str], scope: Scope
) -> np.ndarray:
    assert s.left.node is not None and s.right.node is not None
    x, y = (
        W.floats(s.left.node, points, names, scope.functions),
        W.floats(s.right.node, points, names, scope.functions),
    )
    with np.errstate(all="ignore"):
        holds = {
            "=": np.isclose(x, y, rtol=1e-12, atol=1e-12),
            "<": x < y,
            "<=": x <= y,
            ">": x > y,
            ">=": x >= y,
        }[s.op]
    return np.where(np.isfinite(x) & np.isfinite(y), holds.astype(float), np.nan)


def one_without_value(
    p: Statement, q: Statement, both_ways: bool, names: list[str], domain: W.Domain, scope: Scope
) -> list[dict[str, Fraction]]:
    """Grid points where one statement holds and the other has no value in floats (where it
    is false, ``\\frac{x^2}{x} = 0`` at 0), checked first: a removable singularity is one point."""
    points = W.candidate_points(domain)
    tp, tq = truth_floats(p, points, names, scope), truth_floats(q, points, names, scope)
    flags = (tp == 1) & np.isnan(tq)
    if both_ways:
        flags |= (tq == 1) & np.isnan(tp)
    return [points[i] for i in np.flatnonzero(flags)[:4]]


def solved_for(s: Statement) -> tuple[str, str] | None:
    """``x = 2`` (a symbol alone on one side, not on the other): the symbol and its value."""
    for name_side, value_side in ((s.left, s.right), (s.right, s.left)):
        node = name_side.node
        if (
            isinstance(node, ast.Sym)
            and value_side.node is not None
            and node.name not in ast.free_names(value_side.node)
        ):
            return node.name, value_side.text
    return None


def indicator(s: Statement) -> str:
    a, b = s.left.text, s.right.text
    return {
        "<=": f"1 - heaviside(({a}) - ({b}), 0)",
        ">=": f"1 - heaviside(({b}) - ({a}), 0)",
        "<": f"1 - heaviside(({a}) - ({b}), 1)",
        ">": f"1 - heaviside(({b}) - ({a}), 1)",
    }[s.op]


def solution_points(s: Statement, names: list[str], scope: Scope) -> list[dict[str, Fraction]]:
    """Rational points on an equation's solution set: every symbol but one at grid values, the
    last one at the rational roots found where the residual changes sign or is exactly 0."""
    if s.op != "=" or not names or s.left.node is None or s.right.node is None:
        return []
    residual = ast.BinOp(0, "-", s.left.node, s.right.node)
    out: list[dict[str, Fraction]] = []
    started = time.monotonic()
    unknown = names[-1]
    others = names[:-1]
    domain = W.Domain(names, scope.domains, [])
    bases = W.candidate_points(W.Domain(others, scope.domains, []))[:8] if others else [{}]
    grid = sorted(set(domain.values(unknown)))
    for base in bases:
        points = [{**base, unknown: v} for v in grid]
        values = W.floats(residual, points, names, scope.functions)
        for i, point in enumerate(points):
            if values[i] == 0:
                out.append(point)
        if time.monotonic() - started > 0.2:
            break
    return out[:24]
