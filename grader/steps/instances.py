"""A rule claimed for every function not defined here, refuted by one instance: the functions
replaced by polynomials (:func:`grader.steps.chain_rule.instantiated`), a point of the domain
where the two sides then certainly differ, confirmed in exact or ball arithmetic.

``\\frac{\\partial}{\\partial w} \\sigma(wx + b) = \\sigma'(wx + b)`` (the factor ``x`` dropped)
claims the chain rule's result for every differentiable ``\\sigma``: with ``\\sigma(u) = u^2 + 2u +
3`` it fails at ``b = 0, w = 1, x = 2`` (left side 12, right side 6), a witness that names the
functions substituted. Only where the step writes each function's highest derivative the
computed side holds (a rule kept generic, not an identity of one function such as a sigmoid's
``\\sigma' = \\sigma(1 - \\sigma)``), each derivative's operand has a value there, and nothing
nearby (a definition, a condition not read, two entries that may be one) can make the point
no witness.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

import grader.steps.witness as W
from grader.mathlang import ast
from grader.steps.chain_rule import Instantiated, instantiated
from grader.steps.models import Step, StepMark
from grader.steps.models import Witness as WitnessModel
from grader.steps.read import read_side, shown_name
from grader.steps.scope import Scope

RTOL, ATOL = 1e-6, 1e-9


def refuted(step: Step, scope: Scope, base: dict[str, Any]) -> StepMark | None:
    """The step marked wrong at a confirmed point of one instance of its functions; None when
    it is not a rule claimed for every function or no such point is confirmed."""
    if scope.unread or scope.array_words:
        return None
    found = instantiated([step.left, step.right], scope.context)
    if found is None:
        return None
    left, right = (read_side(t, scope.context).node for t in found.sides)
    operands = [read_side(t, scope.context).node for t in found.operands]
    if left is None or right is None or any(o is None for o in operands):
        return None
    names = sorted(ast.free_names(left) | ast.free_names(right))
    if any(n.split("_")[0] in scope.defined for n in names):
        return None
    domain = W.Domain(names, scope.domains, scope.conditions)

    def propose(points: list[dict[str, Fraction]]) -> np.ndarray:
        x, y = W.floats(left, points, names, scope.functions), W.floats(right, points, names, scope.functions)
        with np.errstate(all="ignore"):
            gap = np.abs(x - y)
            return np.isfinite(gap) & (gap > 2 * (ATOL + RTOL * np.maximum(np.abs(x), np.abs(y))))

    def confirm(point: dict[str, Fraction], bits: int) -> W.Found | None:
        x, y = W.value_at(left, point, scope.functions, bits), W.value_at(right, point, scope.functions, bits)
        if x is None or y is None or not W.differ(x, y, RTOL, ATOL):
            return None
        if any(W.value_at(o, point, scope.functions, bits) is None for o in operands if o is not None):
            return None  # an operand with no value there: the derivative claimed is not one
        if not _differ_computed(found, point):
            return None
        exact = isinstance(x, Fraction) and isinstance(y, Fraction)
        return W.Found(point, x, y, "exact" if exact else "interval bound")

    witness = W.search(domain, scope.functions, propose, confirm)
    if witness is None or W.may_coincide(witness.point):
        return None
    at, shown_left, shown_right = witness.shown()
    how = (
        f"{witness.how}, with {found.said} substituted for the functions not defined here "
        "(the step claims its rule for every differentiable function; derivatives by the chain rule)"
    )
    return StepMark(
        **base,
        status="wrong",
        certificate=how,
        witness=WitnessModel(
            at={shown_name(k): v for k, v in at.items()}, **{"from": shown_left, "to": shown_right}
        ),
    )


def _differ_computed(found: Instantiated, point: dict[str, Fraction]) -> bool:
    """The sides as sympy computed them (before they were written back) differ at the point too:
    exactly, or by more than their 60-digit values' error."""
    import sympy

    try:
        left, right = found.exprs
        at = {
            s: sympy.Rational(point[s.name].numerator, point[s.name].denominator)
            for s in left.free_symbols | right.free_symbols
        }
        gap = sympy.simplify(left.subs(at) - right.subs(at))
        if gap.is_Rational:
            return bool(gap != 0)
        value = complex(gap.evalf(60))
        return abs(value.imag) < 1e-40 and abs(value.real) > 1e-30
    except Exception:  # a value sympy does not settle: no witness
        return False


__all__ = ["refuted"]
