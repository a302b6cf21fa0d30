"""``ReLU``, ``max``/``min`` and ``|.|`` settled by a sign the write-up states.

"Since $-x_1 - x_2 < 0$, $\\text{ReLU}(-x_1 - x_2) = 0$": the stated condition gives the
argument's sign, so ``relu(u)`` is ``0`` (``u <= 0``) or ``u`` (``u >= 0``), ``|u|`` is
``-u`` or ``u``, and ``max(a, b)``, ``min(a, b)`` are ``b``, ``a`` where ``a - b <= 0`` is
stated (``a <= b``, ``a - b < 0``, ``b > a``), ``a``, ``b`` where ``a - b >= 0`` is. Each replacement has
the same value at every point where the condition holds, so a proof of the rewritten step
(:func:`settled`) is a proof of the written one under the stated conditions. Only ever used
to show a step: a rewritten step that differs is no witness (the caller's search, which
checks every condition, is the only source of one).

The argument is matched to a condition's sides by the engine's exact identity (``same``):
``u < 0`` or ``0 > u``, and ``a < b`` read as ``a - b < 0``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Any

from grader.core.verdict import Certificate
from grader.mathlang import ast
from grader.mathlang.evaluate import evaluate_exact
from grader.steps.models import StepMark
from grader.steps.rewrite import with_children
from grader.steps.scope import Scope

MAX_CONDITIONS = 8  # conditions tried against each argument (student input is hostile)
MAX_CALLS = 6  # settled applications in one step
_NEGATIVE = {"<": True, "<=": True, ">": False, ">=": False}  # u op 0: u <= 0?
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _zero(node: ast.Node) -> bool:
    return isinstance(node, ast.Num) and node.value == 0


def _sign_of(
    argument: ast.Node, conditions: Sequence[ast.Node], same: Callable[[ast.Node, ast.Node], bool]
) -> tuple[bool, ast.Node] | None:
    """(argument <= 0, the condition that says so) or (False, ...) for >= 0; None: no
    stated condition gives its sign."""
    for condition in [c for c in conditions if isinstance(c, ast.Relation)][:MAX_CONDITIONS]:
        if condition.op not in _NEGATIVE:
            continue
        left, op, right = condition.left, condition.op, condition.right
        if _zero(left):
            left, op, right = right, _FLIP[op], left
        side = left if _zero(right) else ast.BinOp(left.pos, "-", left, right)
        if same(argument, side):
            return _NEGATIVE[op], condition
        if same(argument, ast.Neg(side.pos, side)):
            return not _NEGATIVE[op], condition
    return None


def settled(
    node: ast.Node, conditions: Sequence[ast.Node], same: Callable[[ast.Node, ast.Node], bool]
) -> tuple[ast.Node, list[ast.Node]]:
    """``node`` with each ``relu``, ``abs`` (whose argument's sign a stated condition gives)
    and ``max``/``min`` of two (the sign of their difference) replaced by its value there;
    the conditions used."""
    used: list[ast.Node] = []

    def rewrite(n: ast.Node) -> ast.Node:
        n = with_children(n, rewrite)
        if not isinstance(n, ast.Call) or len(used) >= MAX_CALLS:
            return n
        argument: ast.Node | None = None
        if n.name in ("relu", "abs") and len(n.args) == 1:
            argument = n.args[0]
        elif n.name in ("max", "min") and len(n.args) == 2:
            first, second = n.args
            argument = first if _zero(second) else ast.BinOp(n.pos, "-", first, second)
        if argument is None or not ast.free_names(argument):
            return n
        sign = _sign_of(argument, conditions, same)
        if sign is None:
            return n
        nonpositive, condition = sign
        used.append(condition)
        if n.name == "abs":
            return ast.Neg(n.pos, argument) if nonpositive else argument
        if n.name == "relu":
            return ast.Num(n.pos, Fraction(0)) if nonpositive else argument
        first, second = n.args  # max or min: the larger or the smaller of the two
        return (second if nonpositive else first) if n.name == "max" else (first if nonpositive else second)

    return rewrite(node), used


def equal(
    a: ast.Node, b: ast.Node, same: Callable[[ast.Node, ast.Node], bool], functions: Mapping[str, Any]
) -> bool:
    """The rewritten sides proved equal: the exact identity, or two constants with the same
    exact value."""
    if ast.free_names(a) or ast.free_names(b):
        return same(a, b)
    try:
        va, vb = evaluate_exact(a, {}, functions=functions), evaluate_exact(b, {}, functions=functions)
    except Exception:  # a constant not evaluated exactly: no claim
        return False
    return isinstance(va, Fraction | int) and isinstance(vb, Fraction | int) and va == vb


def shown(
    left: ast.Node,
    right: ast.Node,
    scope: Scope,
    same: Callable[[ast.Node, ast.Node], bool],
    base: dict[str, Any],
) -> StepMark | None:
    """Shown when the sides agree with each ReLU, |.|, max and min settled by a stated sign
    (:func:`settled`); None otherwise: never refuted that way."""
    new_left, used = settled(left, scope.conditions, same)
    new_right, more = settled(right, scope.conditions, same)
    if not used + more or not equal(new_left, new_right, same, scope.functions):
        return None
    given = ", ".join(dict.fromkeys(scope.written_as.get(c, "a stated condition") for c in used + more))
    said = f"{Certificate.PROVED.value} given {given} (each ReLU, |.|, max or min settled by the stated "
    said += "sign of its argument or of the difference of its two)"
    return StepMark(**base, status="shown", certificate=said)
