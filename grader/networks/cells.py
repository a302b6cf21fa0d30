"""Conditions as unions of polyhedral cells: ``positive_when`` split for the region walk.

Linear relations under ``and``/``or``/``not`` and products of affine factors compared with 0
(``x1*x2 < 0`` is ``(x1 > 0 and x2 < 0) or (x1 < 0 and x2 > 0)``) become a union of cells for
the condition and one for its negation, each cell a conjunction of ``a . x < b``, ``a . x <= b``
and ``a . x = b``. Anything else raises :class:`NotPolyhedral` (the caller samples instead).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from flint import fmpq

from grader.exact.lp import Q
from grader.mathlang import ast
from grader.networks.affine import (
    ONE,
    Aff,
    NotAffine,
    NotPolyhedral,
    as_number,
    to_q,
    to_qs,
)

# ---- cells: conjunctions of affine atoms -------------------------------------------------------

# An atom (f, kind) is the relation ``f(x) kind 0`` with kind "<", "<=" or "=".
Atom = tuple[Aff, str]
Cell = tuple[Atom, ...]
Cells = list[Cell]

_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "!=": "!="}
_NEGATE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "=": "!=", "!=": "="}

MAX_CELLS = 512  # cells of a condition
MAX_FACTORS = 8  # affine factors of one product


def _compare(a: Q, op: str) -> bool:
    return {
        "<": a < 0,
        "<=": a <= 0,
        ">": a > 0,
        ">=": a >= 0,
        "=": a == 0,
        "!=": a != 0,
    }[op]


def _atom_cells(f: Aff, op: str) -> Cells:
    """The cells of ``f op 0`` for an affine f."""
    if f.is_constant():
        return [()] if _compare(f.const, op) else []
    match op:
        case "<":
            return [((f, "<"),)]
        case "<=":
            return [((f, "<="),)]
        case ">":
            return [((-f, "<"),)]
        case ">=":
            return [((-f, "<="),)]
        case "=":
            return [((f, "="),)]
    return [((f, "<"),), ((-f, "<"),)]  # !=


def product_cells(c: Any, factors: Sequence[Aff], op: str) -> Cells:
    """The cells of ``c * f1 * ... * fk  op  0`` for affine factors (sign patterns)."""
    c = to_q(c)
    fs = []
    for f in factors:
        if f.is_constant():
            c *= f.const
        else:
            fs.append(f)
    if c == 0 or not fs:
        return [()] if _compare(c, op) else []
    if c < 0:
        op = _FLIP[op]
    if len(fs) == 1:
        return _atom_cells(fs[0], op)
    if len(fs) > MAX_FACTORS:
        raise NotPolyhedral(f"a product of {len(fs)} factors")
    if op == "=":
        return [((f, "="),) for f in fs]
    if op == "!=":
        return product_cells(ONE, fs, "<") + product_cells(ONE, fs, ">")
    want = -1 if op in ("<", "<=") else 1
    strict = op in ("<", ">")
    out: Cells = []
    for signs in itertools.product((1, -1), repeat=len(fs)):
        if _prod(signs) != want:
            continue
        # s f > 0 is (-s f) < 0; s f >= 0 is (-s f) <= 0
        kind = "<" if strict else "<="
        out.append(tuple((f.scale(fmpq(-s)), kind) for s, f in zip(signs, fs, strict=True)))
    return out


def _prod(signs: Sequence[int]) -> int:
    out = 1
    for s in signs:
        out *= s
    return out


def _and(a: Cells, b: Cells) -> Cells:
    out = [x + y for x in a for y in b]
    if len(out) > MAX_CELLS:
        raise NotPolyhedral(f"the condition splits into more than {MAX_CELLS} cells")
    return out


def _or(a: Cells, b: Cells) -> Cells:
    out = a + b
    if len(out) > MAX_CELLS:
        raise NotPolyhedral(f"the condition splits into more than {MAX_CELLS} cells")
    return out


Evaluate = Callable[[ast.Node], Any]


def condition_cells(node: ast.Node, evaluate: Evaluate) -> tuple[Cells, Cells]:
    """The cells where the condition holds and where it does not.

    ``evaluate(sub)`` is a sub-formula's value with the inputs as :class:`Aff`
    (raising :class:`NotAffine` for a product of two functions of the input).
    """
    return _cells(node, evaluate, True), _cells(node, evaluate, False)


def _cells(node: ast.Node, evaluate: Evaluate, holds: bool) -> Cells:
    match node:
        case ast.Const(name="true" | "otherwise"):
            return [()] if holds else []
        case ast.Const(name="false"):
            return [] if holds else [()]
        case ast.Logic(op="not", operands=ops):
            return _cells(ops[0], evaluate, not holds)
        case ast.Logic(op="and" | "or", operands=ops):
            conj = (node.op == "and") == holds
            out: Cells = [()] if conj else []
            for o in ops:
                sub = _cells(o, evaluate, holds)
                out = _and(out, sub) if conj else _or(out, sub)
            return out
        case ast.Relation(op=op, left=left, right=right):
            return _relation_cells(op if holds else _NEGATE[op], left, right, evaluate)
    value = _try(evaluate, node)
    if isinstance(value, bool):
        return [()] if value == holds else []
    raise NotPolyhedral("a condition that is not made of relations")


def _try(evaluate: Evaluate, node: ast.Node) -> Any:
    try:
        value = evaluate(node)
    except NotAffine:
        return None
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise NotPolyhedral("a condition on a vector")
        value = value.reshape(-1)[0]
    if isinstance(value, np.generic):
        value = value.item()
    return value


def _affine(value: Any) -> Aff | Q | None:
    if isinstance(value, Aff):
        return value
    return as_number(value)


def _relation_cells(op: str, left: ast.Node, right: ast.Node, evaluate: Evaluate) -> Cells:
    lv, rv = _affine(_try(evaluate, left)), _affine(_try(evaluate, right))
    if lv is not None and rv is not None:
        diff = lv - rv
        if not isinstance(diff, Aff):
            return [()] if _compare(diff, op) else []
        return _atom_cells(diff, op)
    if rv is not None and _is_zero(rv):
        c, fs = _factors(left, evaluate, 0)
    elif lv is not None and _is_zero(lv):
        c, fs = _factors(right, evaluate, 0)
        op = _FLIP[op]
    else:
        raise NotPolyhedral("a relation between functions of the input that are not linear")
    return product_cells(c, fs, op)


def _is_zero(v: Aff | Q) -> bool:
    return (v.is_constant() and v.const == 0) if isinstance(v, Aff) else v == 0


def _factors(node: ast.Node, evaluate: Evaluate, depth: int) -> tuple[Q, list[Aff]]:
    """``node`` as c * f1 * ... * fk with affine f (NotPolyhedral otherwise)."""
    if depth > 12:
        raise NotPolyhedral("a product nested too deeply")
    value = _affine(_try(evaluate, node))
    if value is not None and not isinstance(value, Aff):
        return value, []
    if isinstance(value, Aff):
        return ONE, [value]
    match node:
        case ast.BinOp(op=op, left=a, right=b) if op in ast.PRODUCT_KINDS:
            ca, fa = _factors(a, evaluate, depth + 1)
            cb, fb = _factors(b, evaluate, depth + 1)
            return ca * cb, fa + fb
        case ast.BinOp(op="/", left=a, right=b):
            d = _affine(_try(evaluate, b))
            if isinstance(d, Aff) and d.is_constant():
                d = d.const
            if d is None or isinstance(d, Aff) or d == 0:
                raise NotPolyhedral("a division by a function of the input")
            ca, fa = _factors(a, evaluate, depth + 1)
            return ca / d, fa
        case ast.BinOp(op="^", left=a, right=b):
            k = _affine(_try(evaluate, b))
            if isinstance(k, Aff) and k.is_constant():
                k = k.const
            if k is None or isinstance(k, Aff) or k.q != 1 or not 0 <= k <= MAX_FACTORS:
                raise NotPolyhedral("a power that is not a small whole number")
            ca, fa = _factors(a, evaluate, depth + 1)
            return ca ** int(k), fa * int(k)
        case ast.Neg(operand=o):
            c, fs = _factors(o, evaluate, depth + 1)
            return -c, fs
    raise NotPolyhedral("a function of the input that is not a product of linear factors")


def holds_at(cells: Cells, p: Sequence[Any]) -> bool:
    q = to_qs(p)
    return any(all(_compare(f.at(q), kind) for f, kind in cell) for cell in cells)
