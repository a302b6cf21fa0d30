"""A limit with parameters, decided at points where the conditions stated around it hold.

``\\lim_{c \\to +\\infty} \\left(\\frac{e^{x_j}}{e^{x_i}}\\right)^c = 0`` "if $x_i > x_j$": the limit's
value depends on its parameters (``x_i``, ``x_j``), so sympy's ``limit`` with them symbolic
returns no single value, and :mod:`grader.steps.calculus` leaves it. Here the parameters are
given exact values at points where every condition the chain states holds (a condition on
the limit's own variable is dropped: that variable is bound), the limit is computed
symbolically at each point (sympy's ``limit`` of a formula with numbers for its parameters)
and compared with the other side there:

* equal at every point tried, exactly (the difference simplifies to 0), at two points at
  least: shown by probes, the points named (not a proof for every value);
* different at a point, confirmed in exact or ball arithmetic (the limit's value is the
  closed form sympy gives, evaluated like any formula; the other side has a value there):
  that point is handed back as a witness, and the caller keeps it only when no condition
  stated nearby was left unread and no two entries there may be one; and only where the
  chain states a condition on the limit's parameters (a limit's value often depends on a case,
  ``x > 0``, that a write-up may leave in words: with none stated, nothing is refuted), and
  none that ties the limit's variable to a parameter (``e^{-ac} < 1``: it narrows ``a``);
* anything else (no point where the conditions hold, a limit sympy does not compute, an
  infinite one, an equality it cannot settle): None, the step read other ways.

Only a step whose one side is the whole limit (its body running to the side's end) and
whose other side holds no limit or derivative is read here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import grader.steps.witness as W
from grader.mathlang import ast
from grader.steps.calculus import (
    _LIM,
    _UNDER,
    _limit_value,
    _node,
    _not_smooth,
    _sympy_failures,
    has_derivative,
)
from grader.steps.latex import term_end
from grader.steps.models import Step, StepMark
from grader.steps.read import read_side
from grader.steps.scope import Scope

PROBES = 4  # points tried where the conditions hold (the simplest first)
MIN_PROBES = 2  # points that must agree for the step to be shown
BITS = 256


@dataclass
class _Limit:
    """The step read: the limit's variable, body and target, the other side, which side the
    limit is (0: left), and the conditions on the parameters (the variable's dropped)."""

    variable: str
    target: str
    body: ast.Node
    other: ast.Node
    side: int
    conditions: list[ast.Node]
    other_is_limit: bool = False  # the other side the same limit (variable, target) of its own body
    # a condition dropped that ties the variable to a parameter (``a c > 0`` for every c): it
    # may narrow the parameters' values, so no point outside it is a witness
    tied: bool = False


def at_points(step: Step, scope: Scope, base: dict[str, Any]) -> StepMark | W.Found | None:
    """The step shown by probes, a witness (W.Found, its ``how`` the certificate), or None."""
    read = _read(step, scope)
    if read is None:
        return None
    parameters = sorted((ast.free_names(read.body) | ast.free_names(read.other)) - {read.variable})
    if set(parameters) & scope.set_signs:
        return None  # N or R_+, with or without 0 by convention: the points to try are not settled
    domains = {k: d for k, d in scope.domains.items() if k != read.variable}
    domain = W.Domain(parameters, domains, read.conditions)
    if not set(parameters) <= set(domain.names):
        return None
    points = sorted(
        (p for p in W.candidate_points(domain) if domain.holds(p, scope.functions)), key=W._simplicity
    )
    agreed: list[dict[str, Fraction]] = []
    simple = points[: PROBES * 3]
    for point in [*simple, *_scaled(points, step, domain, scope)]:
        if point in simple and len(agreed) >= PROBES:
            continue  # enough simple points: only the scaled ones still to try
        found = _at(read, point, scope)
        if found is None:
            return None  # not computed there, or neither certainly different nor exactly equal
        if isinstance(found, W.Found):
            if read.tied:
                return None
            cased = ast.free_names(read.body) - {read.variable}
            if not any(ast.free_names(c) & cased for c in read.conditions):
                return None  # no case stated for the parameters: one may be meant (x > 0), unwritten
            return found
        if found == "equal":
            agreed.append(point)
    if len(agreed) < MIN_PROBES:
        return None
    shown = "; ".join(", ".join(f"{k} = {_text(x)}" for k, x in p.items()) for p in agreed)
    return StepMark(
        **base,
        status="shown",
        certificate=f"probes: equal at {len(agreed)} points where the conditions stated hold ({shown}), "
        f"the limit as {read.variable} -> {read.target} computed symbolically at each "
        "(not a proof for every value)",
    )


_NUMBER = re.compile(r"(?<![\\A-Za-z_^])\d+(?:\.\d+)?")


def _scaled(
    points: list[dict[str, Fraction]], step: Step, domain: W.Domain, scope: Scope
) -> list[dict[str, Fraction]]:
    """The simplest point scaled far out and far in, and past each number the step writes
    (``30^n``: a limit may change beyond 30, where the simple points never go), where the
    conditions still hold: every one must agree too."""
    base = next((p for p in points if all(x != 0 for x in p.values())), None)
    if base is None:
        return []
    numbers = {Fraction(t) for t in _NUMBER.findall(step.left + step.right)}
    scales = {Fraction(100), Fraction(1, 100)} | {f for c in numbers if c >= 1 for f in (2 * c, c + 1)}
    out = []
    for scale in sorted(scales):
        point = {k: x * scale for k, x in base.items()}
        if point not in points[: PROBES * 3] and domain.holds(point, scope.functions):
            out.append(point)
    return out


def _read(step: Step, scope: Scope) -> _Limit | None:
    """The step as one whole limit with parameters = a side with no limit or derivative, or
    = the same limit (variable and target) of another body; else None."""
    if step.relation != "=":
        return None
    sides = [step.left.strip(), step.right.strip()]
    found = [_LIM.match(side) if _whole_limit(side) else None for side in sides]
    matches = [m for m in found if m is not None]
    both = len(matches) == 2 and matches[0].group("under") == matches[1].group("under")
    if len(matches) != 1 and not both:
        return None
    side = 0 if found[0] is not None else 1
    m, across = matches[0], sides[1 - side]
    if both:
        across = across[matches[1].end() :]
    elif has_derivative(across):
        return None
    under = _UNDER.fullmatch(m.group("under"))
    if under is None:
        return None
    variable = read_side(under.group("var"), scope.context).node
    body = read_side(sides[side][m.end() :], scope.context).node
    other = read_side(across, scope.context).node
    if not isinstance(variable, ast.Sym) or body is None or other is None:
        return None
    v = variable.name
    if not (ast.free_names(body) - {v}) or (v in ast.free_names(other) and not both):
        return None  # no parameter (calculus computes it), or the bound variable outside its limit
    conditions = [c for c in scope.conditions if v not in ast.free_names(c)]  # v is bound
    tied = any(v in ast.free_names(c) and ast.free_names(c) - {v} for c in scope.conditions)
    return _Limit(v, under.group("to").replace(" ", ""), body, other, side, conditions, both, tied)


def _at(read: _Limit, point: dict[str, Fraction], scope: Scope) -> W.Found | str | None:
    """At one point: "equal" (exactly), "skipped" (the other side has no value there), a
    witness (the two sides certainly differ), or None (not computed, or not settled)."""
    import sympy

    from grader.mathlang.to_sympy import Unsupported, to_sympy

    failures: tuple[type[Exception], ...] = (Unsupported, *_sympy_failures())
    try:
        expr = to_sympy(read.body, functions=scope.functions)
        across = to_sympy(read.other, functions=scope.functions)
        if expr.has(*_not_smooth()):
            return None
        symbol = next((x for x in expr.free_symbols if x.name == read.variable), None)
        at = {
            x: sympy.Rational(point[x.name].numerator, point[x.name].denominator)
            for x in expr.free_symbols | across.free_symbols
            if x.name in point
        }
        value = _limit_value(expr.subs(at), symbol, read.target)
        if not _finite(value):
            return None
        left = W.value_at(_node(value), {}, scope.functions, BITS)
        if read.other_is_limit:
            across = _limit_value(across.subs(at), symbol, read.target)
            if not _finite(across):
                return None
            right = W.value_at(_node(across), {}, scope.functions, BITS)
        else:
            right = W.value_at(read.other, point, scope.functions, BITS)
        if left is None or right is None:
            return "skipped"  # the other side has no value there: no point for either mark
        if W.differ(left, right, 0.0, 0.0):
            # the certificate of a wrong step is how its witness was confirmed (the witness's
            # sides show the limit's value there)
            how = "exact" if isinstance(left, Fraction) and isinstance(right, Fraction) else "interval bound"
            return W.Found(point, *((left, right) if read.side == 0 else (right, left)), how)
        return "equal" if sympy.simplify(value - across.subs(at)) == 0 else None
    except failures:
        return None


def _finite(value: Any) -> bool:
    """A number sympy's limit gave: no symbol left, finite, no unevaluated limit or bounds."""
    import sympy

    return not value.free_symbols and bool(value.is_finite) and not value.has(sympy.Limit, sympy.AccumBounds)


def _whole_limit(side: str) -> bool:
    """Is the side one ``\\lim_{v \\to a}`` whose body runs to its end."""
    m = _LIM.match(side)
    return m is not None and bool(side[m.end() :].strip()) and term_end(side, m.end()) >= len(side.rstrip())


def _text(v: Fraction) -> str:
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"
