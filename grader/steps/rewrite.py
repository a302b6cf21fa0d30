"""Exponentials of sums written as products, so that the engine's exact identity reads a
softmax manipulation (``e^{b-a}`` against ``e^{b}/e^{a}``) without sympy.

``exp(u + v - w)`` becomes ``exp(u) exp(v) / exp(w)`` and ``exp(k u)`` with a small whole
``k`` becomes ``exp(u)^k``: the same value wherever either has one, so a proof of the
rewritten sides is a proof of the written ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, is_dataclass, replace
from fractions import Fraction
from typing import Any

from grader.mathlang import ast

MAX_POWER = 8


def split_exponentials(node: ast.Node) -> ast.Node:
    """The tree with every ``exp`` of a sum or of a whole multiple split into a product."""
    if isinstance(node, ast.Call) and node.name == "exp" and len(node.args) == 1:
        return _exp(split_exponentials(node.args[0]), node.pos)
    if isinstance(node, ast.Call) and node.name == "log" and len(node.args) == 1:
        return _log(split_exponentials(node.args[0]), node.pos)
    return with_children(node, split_exponentials)


def with_children(node: ast.Node, rewrite: Callable[[ast.Node], ast.Node]) -> ast.Node:
    """``node`` with ``rewrite`` applied to each of its subtrees (itself where it has none)."""
    if not is_dataclass(node):
        return node
    changes: dict[str, Any] = {}
    for f in fields(node):
        value = getattr(node, f.name)
        if isinstance(value, ast.Node):
            changes[f.name] = rewrite(value)
        elif isinstance(value, tuple) and value and all(isinstance(v, ast.Node) for v in value):
            changes[f.name] = tuple(rewrite(v) for v in value)
    return replace(node, **changes) if changes else node


def _terms(node: ast.Node, sign: int) -> list[tuple[int, ast.Node]]:
    if isinstance(node, ast.BinOp) and node.op in ("+", "-"):
        right_sign = sign if node.op == "+" else -sign
        return _terms(node.left, sign) + _terms(node.right, right_sign)
    if isinstance(node, ast.Neg):
        return _terms(node.operand, -sign)
    return [(sign, node)]


def _whole_multiple(node: ast.Node) -> tuple[int, ast.Node]:
    """(k, u) for ``k u`` with a small whole k (``2x``, ``3 \\cdot x``), else (1, node)."""
    if isinstance(node, ast.BinOp) and node.op in ast.PRODUCT_KINDS and isinstance(node.left, ast.Num):
        value = Fraction(node.left.value)
        if value.denominator == 1 and 1 < value.numerator <= MAX_POWER and not node.left.is_float:
            return int(value.numerator), node.right
    return 1, node


def _exp(argument: ast.Node, pos: int) -> ast.Node:
    terms = _terms(argument, 1)
    if len(terms) == 1 and terms[0][0] == 1 and _whole_multiple(terms[0][1])[0] == 1:
        return ast.Call(pos, "exp", (argument,))
    top: ast.Node | None = None
    bottom: ast.Node | None = None
    for sign, term in terms:
        k, base = _whole_multiple(term)
        factor: ast.Node = ast.Call(pos, "exp", (base,))
        if k > 1:
            factor = ast.BinOp(pos, "^", factor, ast.Num(pos, Fraction(k)))
        if sign > 0:
            top = factor if top is None else ast.BinOp(pos, "implicit", top, factor)
        else:
            bottom = factor if bottom is None else ast.BinOp(pos, "implicit", bottom, factor)
    if bottom is None:
        assert top is not None
        return top
    return ast.BinOp(pos, "/", top if top is not None else ast.Num(pos, Fraction(1)), bottom)


def _factors(node: ast.Node, up: bool) -> list[tuple[bool, ast.Node]]:
    """The factors of a product or quotient, each with whether it multiplies (or divides)."""
    if isinstance(node, ast.BinOp) and node.op in ("implicit", "cdot", "times", "star"):
        return _factors(node.left, up) + _factors(node.right, up)
    if isinstance(node, ast.BinOp) and node.op == "/":
        return _factors(node.left, up) + _factors(node.right, not up)
    return [(up, node)]


def _exponent(node: ast.Node) -> tuple[int, ast.Node] | None:
    """(k, u) for ``exp(u)`` or ``exp(u)^k`` (k whole), else None."""
    if isinstance(node, ast.Call) and node.name == "exp" and len(node.args) == 1:
        return 1, node.args[0]
    if isinstance(node, ast.BinOp) and node.op == "^" and isinstance(node.right, ast.Num):
        inner = _exponent(node.left)
        value = Fraction(node.right.value)
        if inner is not None and inner[0] == 1 and value.denominator == 1 and not node.right.is_float:
            return int(value.numerator), inner[1]
    return None


def _log(argument: ast.Node, pos: int) -> ast.Node:
    """``log(exp(u) v / exp(w))`` as ``u - w + log(v)``: exp is positive, so both have a value
    exactly where ``v`` is positive, and then the same one."""
    kept: list[tuple[bool, ast.Node]] = []
    pulled: list[tuple[bool, int, ast.Node]] = []
    for up, factor in _factors(argument, True):
        found = _exponent(factor)
        if found is None:
            kept.append((up, factor))
        else:
            pulled.append((up, found[0], found[1]))
    if not pulled:
        return ast.Call(pos, "log", (argument,))
    total: ast.Node | None = None
    if kept:
        top = [f for up, f in kept if up]
        bottom = [f for up, f in kept if not up]
        rest = _product(top, pos) if top else ast.Num(pos, Fraction(1))
        if bottom:
            rest = ast.BinOp(pos, "/", rest, _product(bottom, pos))
        total = ast.Call(pos, "log", (rest,))
    for up, k, u in pulled:
        term: ast.Node = u if k == 1 else ast.BinOp(pos, "implicit", ast.Num(pos, Fraction(k)), u)
        if total is None:
            total = term if up else ast.Neg(pos, term)
        else:
            total = ast.BinOp(pos, "+" if up else "-", total, term)
    assert total is not None
    return total


def _product(factors: list[ast.Node], pos: int) -> ast.Node:
    out = factors[0]
    for factor in factors[1:]:
        out = ast.BinOp(pos, "implicit", out, factor)
    return out
