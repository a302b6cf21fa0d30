"""The statements an ``iff`` / ``implies`` step joins: one equation or inequality, or a range
(``a < x < b``, ``-2 \\le x - 1 \\le 2``: a chain of order relations, read as the conjunction
of its pieces, all of which must hold). A range's pieces are never steps of their own
(:mod:`grader.steps.find`); the step between two statements is decided on their truth values."""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

import grader.steps.witness as W
from grader.mathlang import ast
from grader.steps import exactness
from grader.steps.find import _top_level_relations
from grader.steps.read import Context, Read, read_side
from grader.steps.scope import Scope

MAX_PIECES = 4  # relations in one range at most
_ONE = ("=", "<", "<=", ">", ">=")
_ORDER = ("<", "<=", ">", ">=")
OUT_OF_SCOPE = "a statement that is not one equation or inequality: out of scope"


@dataclass
class Statement:
    op: str  # a relation, or "and" for a range (its ``parts``)
    left: Read
    right: Read
    parts: tuple[Statement, ...] = ()


def statement(text: str, context: Context) -> Statement | str:
    """The statement written in ``text``, or why it is not read."""
    cuts = _top_level_relations(text)
    ops = [str(c[2]) for c in cuts]
    if len(cuts) == 1 and ops[0] in _ONE:
        return _one(text, cuts[0], context)
    if not 2 <= len(cuts) <= MAX_PIECES or not all(op in _ORDER for op in ops):
        return OUT_OF_SCOPE
    bounds = [0, *(x for c in cuts for x in c[:2]), len(text)]
    sides = [text[bounds[i] : bounds[i + 1]].strip() for i in range(0, len(bounds), 2)]
    reads = [read_side(side, context) for side in sides]
    why = next((r.why for r in reads if r.node is None), None)
    if why is not None or not all(sides):
        return why or OUT_OF_SCOPE
    parts = tuple(Statement(op, reads[i], reads[i + 1]) for i, op in enumerate(ops))
    return Statement("and", reads[0], reads[-1], parts)


def _one(text: str, cut: tuple[int, int, Any], context: Context) -> Statement | str:
    start, end, op = cut
    left, right = read_side(text[:start].strip(), context), read_side(text[end:].strip(), context)
    if left.node is None or right.node is None:
        return left.why or right.why or OUT_OF_SCOPE
    return Statement(str(op), left, right)


def truth(s: Statement, point: dict[str, Fraction], functions: Any, bits: int) -> bool | None:
    """Whether the statement holds at the point: false where a side certainly has no value
    (``\\frac{x^2}{x} = 0`` at 0); None where that is not known."""
    if s.parts:
        each = [truth(p, point, functions, bits) for p in s.parts]
        if any(t is False for t in each):
            return False
        return None if any(t is None for t in each) else True
    assert s.left.node is not None and s.right.node is not None
    x = W.value_at(s.left.node, point, functions, bits)
    y = W.value_at(s.right.node, point, functions, bits)
    if x is None or y is None:
        sides = (s.left.node, s.right.node)
        return False if any(exactness.no_value(n, point, functions) for n in sides) else None
    return W.compare_values(x, y, s.op)


def failing(s: Statement, point: dict[str, Fraction], functions: Any, bits: int) -> Statement:
    """The piece of a range that fails at the point (the statement itself when it is one)."""
    return next((p for p in s.parts if truth(p, point, functions, bits) is False), s)


def truth_floats(
    s: Statement, points: list[dict[str, Fraction]], names: list[str], functions: Any
) -> np.ndarray:
    """1 where the statement holds, 0 where it fails, nan where a side has no value."""
    if s.parts:
        each = [truth_floats(p, points, names, functions) for p in s.parts]
        return np.minimum.reduce(each)  # nan wherever a piece has none
    assert s.left.node is not None and s.right.node is not None
    x, y = W.floats(s.left.node, points, names, functions), W.floats(s.right.node, points, names, functions)
    with np.errstate(all="ignore"):
        held = {
            "=": np.isclose(x, y, rtol=1e-12, atol=1e-12),
            "<": x < y,
            "<=": x <= y,
            ">": x > y,
            ">=": x >= y,
        }[s.op]
    return np.where(np.isfinite(x) & np.isfinite(y), held.astype(float), np.nan)


def indicator(s: Statement) -> str:
    """A 0-or-1 formula of the statement's truth (an inequality or a range)."""
    if s.parts:
        return " * ".join(f"({indicator(p)})" for p in s.parts)
    a, b = s.left.text, s.right.text
    return {
        "<=": f"1 - heaviside(({a}) - ({b}), 0)",
        ">=": f"1 - heaviside(({b}) - ({a}), 0)",
        "<": f"1 - heaviside(({a}) - ({b}), 1)",
        ">": f"1 - heaviside(({b}) - ({a}), 1)",
    }[s.op]


def nodes(*statements: Statement) -> list[Any]:
    """Every side's formula of the statements (a range's pieces' sides)."""
    out = []
    for s in statements:
        for piece in s.parts or (s,):
            out += [n for n in (piece.left.node, piece.right.node) if n is not None]
    return out


def one_without_value(
    p: Statement, q: Statement, both_ways: bool, names: list[str], domain: W.Domain, scope: Scope
) -> list[dict[str, Fraction]]:
    """Grid points where one statement holds and the other has no value in floats (where it
    is false, ``\\frac{x^2}{x} = 0`` at 0), checked first: a removable singularity is one point."""
    points = W.candidate_points(domain)
    tp = truth_floats(p, points, names, scope.functions)
    tq = truth_floats(q, points, names, scope.functions)
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
