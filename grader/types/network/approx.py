"""``mode: approx``: the largest |network - target| on the bounded domain is below epsilon.

Decided by :func:`grader.networks.max_error` (exact at breakpoints and at the
critical points of a polynomial target; any other smooth target by a certified
interval bound of the error on every linear piece); correct when the largest error is strictly
below ``epsilon``, read as the decimal written (0.01 is 1/100). Several inputs,
or a network that is not piecewise linear: float sampling (:mod:`.sampled`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sympy

from grader.core.verdict import CheckUndecided
from grader.mathlang.to_sympy import symbol_for
from grader.networks import PL, ApproxResult, max_error
from grader.networks.approx import ApproxUndecided
from grader.types.network.comparison import Comparison, Mismatch
from grader.types.network.compile import Compiled, NotPiecewiseLinear
from grader.types.network.evaluation import model_pl
from grader.types.network.feedback import YOUR, assignment_text, error_float, error_text, fmt
from grader.types.network.sampled import sampled_approx
from grader.types.network.sides import Side
from grader.types.network.symbols import SAMPLED_DRAWS, symbol_plan
from grader.types.network.weights import Weights


@dataclass(frozen=True)
class _Largest:
    """The largest error found for one draw of the symbols."""

    result: ApproxResult
    draw: Mapping[str, Any]


def decide_approx(comp: Compiled, weights: Weights, side: Side) -> Comparison:
    assert comp.domain is not None and comp.epsilon is not None
    if not comp.one_input:
        return sampled_approx(comp, weights, side, "several inputs")
    x = symbol_for(comp.inputs[0])
    subs_syms = {name: symbol_for(name, dom) for name, dom in comp.symbols.items()}
    worst: _Largest | None = None
    for values in symbol_plan(comp, SAMPLED_DRAWS):
        try:
            model = model_pl(comp, weights.exact(values), values)
        except NotPiecewiseLinear:
            return sampled_approx(comp, weights, side, "the network is not piecewise linear")
        try:
            target: Any = side.pl(values)
        except NotPiecewiseLinear:
            expr = side.sympy()
            if expr is None:
                return sampled_approx(comp, weights, side, "the target cannot be handled exactly")
            target = expr.subs(
                {subs_syms[k]: sympy.Rational(v.numerator, v.denominator) for k, v in values.items()}
            )
        result = max_error(model, target, comp.domain, x if not isinstance(target, PL) else None)
        found = _Largest(result, values)
        try:
            holds = found.result.below(comp.epsilon)
        except ApproxUndecided as exc:
            raise CheckUndecided(str(exc)) from None
        if not holds:
            return _told(comp, side, found, holds=False, exact=found.result.certified)
        if worst is None or error_float(found.result.error) > error_float(worst.result.error):
            worst = found
    assert worst is not None
    return _told(comp, side, worst, holds=True, exact=worst.result.certified)


def _told(comp: Compiled, side: Side, found: _Largest, *, holds: bool, exact: bool) -> Comparison:
    assert comp.epsilon is not None
    result = found.result
    where = f"{comp.inputs[0]} = {fmt(result.x)}"
    if result.side:
        where = f"{comp.inputs[0]} -> {fmt(result.x)} from the {'left' if result.side == '-' else 'right'}"
    error = error_text(result.error)
    eps = f"{float(comp.epsilon):g}"
    draw = assignment_text(found.draw)
    if holds:
        text = f"largest error {error} at {where}{draw}, below epsilon {eps}"
    else:
        values_text = ""
        if result.model_value is not None:
            values_text = f" ({YOUR} gives {fmt(result.model_value)}, {side.name} {fmt(result.target_value)})"
        text = f"largest error {error} at {where}{draw}{values_text}; it must be below epsilon = {eps}"
    mismatch = None
    if result.model_value is not None:
        mismatch = Mismatch((result.x,), result.model_value, found.draw, expected=result.target_value)
    bounded = result.bound is not None
    return Comparison(holds, text, result.method, bool(exact), mismatch, error_float(result.error), bounded)
