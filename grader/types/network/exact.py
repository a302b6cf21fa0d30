"""``mode: exact``: the network equals the target (within the part's tolerance) on the domain.

* One input, network and target piecewise linear: decided exactly by
  :func:`grader.networks.compare` (every breakpoint and the slopes beyond the
  outermost ones, so a unit switching on at x = 10^6 is caught). With symbols
  (``m``, ``b``): exact for each of a seeded set of draws
  (:func:`grader.networks.decide_for_all`).
* One input, a target that is not piecewise linear (``x^2``):
  :func:`grader.networks.compare_expr`, exact at a witness point.
* Several inputs: the activation regions of the network and the target walked
  together (:func:`grader.networks.regions_exact.decide_equal`); past the walk's
  cap or time share, exact values at region probes and exact comparisons along
  probe lines (sampling over lines, not a proof).
* Smooth activations: float sampling (:mod:`.sampled`).

Tolerance: numbers written exactly are compared exactly. When the weights or
the target are written with decimals (``0.333``), or the part sets ``rtol`` or
``atol`` wider than the defaults, the output may differ from the target by
``atol + rtol * |target|`` at every point, and no more: that is decided exactly
too (the difference and the target are piecewise linear).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from typing import Any

import sympy

from grader.core.parts import DEFAULT_FORMULA_ATOL, DEFAULT_RTOL
from grader.core.verdict import AnswerError
from grader.mathlang.errors import EvalError, ShapeError
from grader.mathlang.evaluate import NotExactError
from grader.mathlang.to_sympy import symbol_for
from grader.networks import PL, compare, compare_expr, decide_for_all
from grader.networks import regions_exact as rx
from grader.networks.intervals import as_num, exact
from grader.networks.pl import NonLinearError
from grader.networks.regions import probe_lines, probe_points
from grader.types.network.comparison import Comparison, Mismatch, differs
from grader.types.network.compile import Compiled, NotPiecewiseLinear, exact_decimal
from grader.types.network.evaluation import model_exact, model_pl
from grader.types.network.feedback import join_names
from grader.types.network.planes import first_layer
from grader.types.network.sampled import sampled_equal
from grader.types.network.sides import Side
from grader.types.network.symbols import SAMPLED_DRAWS, symbol_plan
from grader.types.network.walk import on_inputs, walk_deadline, walk_or_reason
from grader.types.network.weights import Weights

ZERO = Fraction(0)
EXACT_PL = "exact piecewise-linear comparison: every breakpoint and the slopes beyond the outermost ones"


def tolerances(comp: Compiled, weights: Weights) -> tuple[Fraction, Fraction]:
    """The part's (atol, rtol) when they apply (see the module doc), else (0, 0)."""
    part = comp.part
    wider = part.rtol > DEFAULT_RTOL or part.atol > DEFAULT_FORMULA_ATOL
    if not (weights.inexact or comp.target_has_decimals or wider):
        return ZERO, ZERO
    return exact_decimal(part.atol), exact_decimal(part.rtol)


def _tolerance_note(comp: Compiled, weights: Weights) -> str:
    atol, rtol = tolerances(comp, weights)
    if not (atol or rtol):
        return ""
    why = "decimal weights: " if weights.inexact else ""
    return f" ({why}within atol {comp.part.atol:g}, rtol {comp.part.rtol:g})"


def decide_exact(comp: Compiled, weights: Weights, side: Side) -> Comparison:
    if not comp.one_input:
        return _several(comp, weights, side)
    try:
        return _exact_pl(comp, weights, side)
    except NotPiecewiseLinear:
        pass
    found = _exact_sympy(comp, weights, side)
    if found is not None:
        return found
    return sampled_equal(comp, weights, side, "the network or the target is not piecewise linear")


def _safe(
    build: Callable[[dict[str, Fraction]], tuple[object, object]],
) -> Callable[[dict[str, Fraction]], tuple[object, object]]:
    """Undefined weights at a draw (1/m at m = 0) make the draw inadmissible."""

    def run(values: dict[str, Fraction]) -> tuple[object, object]:
        try:
            return build(values)
        except ShapeError:
            raise
        except EvalError as err:
            raise ValueError(err.message) from None

    return run


def _exact_pl(comp: Compiled, weights: Weights, side: Side) -> Comparison:
    atol, rtol = tolerances(comp, weights)
    method = EXACT_PL + _tolerance_note(comp, weights)
    draws = symbol_plan(comp)
    if draws == [{}]:
        model = model_pl(comp, weights.exact({}), {})
        diff = compare(model, side.pl({}), comp.domain, atol=atol, rtol=rtol)
        if diff is None:
            return Comparison(True, "", method, True)
        found = Mismatch((diff.x,), diff.model_value, expected=diff.target_value)
        return differs(comp.inputs, side.name, found, method)

    def build(values: dict[str, Fraction]) -> tuple[object, object]:
        return model_pl(comp, weights.exact(values), values), side.pl(values)

    try:
        result = decide_for_all(
            _safe(build), list(comp.symbols), comp.domain, draws=draws, atol=atol, rtol=rtol
        )
    except NonLinearError as err:
        raise NotPiecewiseLinear(str(err)) from None
    except ValueError as err:
        raise AnswerError(f"your weights cannot be evaluated: {err}") from None
    if result.holds:
        return Comparison(True, "", f"{method}; {result.method}", True)
    w = result.witness
    assert w is not None
    draw = {k: exact(as_num(v)) for k, v in w.assignment.items()}
    found = Mismatch((w.x,), w.model_value, draw, expected=w.target_value)
    return differs(comp.inputs, side.name, found, f"{method}; {result.method}")


def _exact_sympy(comp: Compiled, weights: Weights, side: Side) -> Comparison | None:
    """A piecewise-linear network against a target that is not (x^2): compare_expr."""
    expr = side.sympy()
    if expr is None:
        return None
    x = symbol_for(comp.inputs[0])
    subs_syms = {name: symbol_for(name, dom) for name, dom in comp.symbols.items()}
    draws = symbol_plan(comp, SAMPLED_DRAWS)
    atol, rtol = tolerances(comp, weights)
    undecided = False
    for values in draws:
        try:
            model = model_pl(comp, weights.exact(values), values)
        except NotPiecewiseLinear:
            return None
        except EvalError:
            continue
        target = expr.subs(
            {subs_syms[k]: sympy.Rational(v.numerator, v.denominator) for k, v in values.items()}
        )
        try:
            decision = compare_expr(model, target, x, comp.domain)
        except (NonLinearError, TypeError, ValueError):
            return None
        if not decision.equal:
            w = decision.witness
            assert w is not None
            if not _beyond(w.model_value, w.target_value, atol, rtol):
                return None  # within the tolerance at this point: the sampled check decides
            found = Mismatch((w.x,), w.model_value, values, expected=w.target_value)
            method = f"{decision.method} (the target is not piecewise linear)"
            return differs(comp.inputs, side.name, found, method)
        undecided = undecided or not decision.exact
    method = "symbolic: the target equals each affine piece of the network"
    if comp.symbols:
        method += f" for {len(draws)} draws of {join_names(list(comp.symbols))}"
    return Comparison(True, "", method, not undecided)


def _beyond(network: Any, target: Any, atol: Fraction, rtol: Fraction) -> bool:
    """|network - target| > atol + rtol |target|, decided exactly for rationals."""
    if not (atol or rtol):
        return True
    try:
        m, t = _rational(network), _rational(target)
    except (TypeError, ValueError):
        return False
    return abs(m - t) > atol + rtol * abs(t)


def _rational(value: Any) -> Fraction:
    if hasattr(value, "is_Rational") and value.is_Rational:  # a sympy rational
        return Fraction(int(value.p), int(value.q))
    number = as_num(value)
    if not isinstance(number, Fraction):
        raise ValueError("not a rational number")
    return number


# ---- several inputs -----------------------------------------------------------------------------


def _several(comp: Compiled, weights: Weights, side: Side) -> Comparison:
    decided = _several_regions(comp, weights, side)
    if isinstance(decided, Comparison):
        return decided
    try:
        sampled = _several_probes(comp, weights, side)
    except NotExactError:
        return sampled_equal(comp, weights, side, "values that are not rational (smooth activations)")
    sampled.method += f" (not decided exactly: {decided})"
    return sampled


def _several_regions(comp: Compiled, weights: Weights, side: Side) -> Comparison | str:
    """Decided exactly by walking the activation regions of the network and the
    target together (both piecewise linear); else the reason it could not be."""
    atol, rtol = tolerances(comp, weights)
    draws = symbol_plan(comp, SAMPLED_DRAWS)
    deadline = walk_deadline(comp)
    regions = 0
    for values in draws:
        wv = weights.exact(values)
        model_fn = on_inputs(comp, partial(model_exact, comp, wv, values))
        target_fn = on_inputs(comp, partial(side.at, values))
        walk = partial(
            rx.decide_equal,
            len(comp.inputs),
            model_fn,
            target_fn,
            box=comp.domain,
            max_regions=rx.MAX_REGIONS - regions,
            deadline=deadline,
            tolerance=(atol, rtol),
        )
        result = walk_or_reason(walk)
        if isinstance(result, str):
            return result
        regions += result.regions
        if not result.equal:
            w = result.witness
            assert w is not None
            found = Mismatch(w.point, w.model_value, values, expected=w.target_value)
            method = f"exact: activation region walk ({regions} regions visited)"
            return differs(comp.inputs, side.name, found, method)
    method = f"exact: {regions} activation regions"
    if comp.symbols:
        method += f" over {len(draws)} draws of {join_names(list(comp.symbols))}"
    return Comparison(True, "", method + _tolerance_note(comp, weights), True)


def _several_probes(comp: Compiled, weights: Weights, side: Side) -> Comparison:
    atol, rtol = tolerances(comp, weights)
    checked_points = checked_lines = 0
    for values in symbol_plan(comp, SAMPLED_DRAWS):
        wv = weights.exact(values)
        planes = first_layer(comp, wv, values) + side.planes(values)
        W = [list(w) for w, _ in planes]
        b = [c for _, c in planes]
        probe = _Probe(wv, values, atol, rtol)
        found, count = _at_probe_points(comp, probe, side, probe_points(W, b, len(comp.inputs), comp.seed))
        checked_points += count
        if found is None and comp.domain is None:
            found, count = _along_lines(comp, probe, side, probe_lines(W, b, len(comp.inputs), comp.seed))
            checked_lines += count
        if found is not None:
            method = "exact values at region probes of the first layer"
            return differs(comp.inputs, side.name, found, method)
    if checked_points == 0:
        return sampled_equal(comp, weights, side, "the target is undefined at every probe point")
    method = f"exact values at {checked_points} probe points of the first layer's regions" + (
        f" and exact comparisons along {checked_lines} lines" if checked_lines else ""
    )
    return Comparison(True, "", method, False)


@dataclass(frozen=True)
class _Probe:
    """One draw of the symbols: the weights and the symbols' values there, and the tolerance."""

    weights: Mapping[str, Any]
    values: Mapping[str, Any]
    atol: Fraction
    rtol: Fraction


def _at_probe_points(
    comp: Compiled, probe: _Probe, side: Side, points: list[tuple[Fraction, ...]]
) -> tuple[Mismatch | None, int]:
    checked = 0
    if comp.domain is not None:
        points = [p for p in points if all(comp.domain[0] <= v <= comp.domain[1] for v in p)]
    for p in points:
        point = dict(zip(comp.inputs, p, strict=True))
        try:
            mv = model_exact(comp, probe.weights, probe.values, point)
            tv = side.at(probe.values, point)
        except NotExactError:
            raise
        except EvalError:  # the target is undefined there
            continue
        checked += 1
        if not _equal(mv, tv, probe.atol, probe.rtol):
            return Mismatch(tuple(p), mv, probe.values, expected=tv), checked
    return None, checked


def _along_lines(
    comp: Compiled, probe: _Probe, side: Side, lines: list[tuple[Any, Any]]
) -> tuple[Mismatch | None, int]:
    checked = 0
    for p, v in lines:
        coords = {name: PL.affine(v[i], p[i]) for i, name in enumerate(comp.inputs)}
        try:
            m_line = model_exact(comp, probe.weights, probe.values, coords)
            t_line = side.at(probe.values, coords)
            diff = compare(m_line, t_line, None, atol=probe.atol, rtol=probe.rtol)
        except (NotPiecewiseLinear, EvalError, TypeError):
            break  # not piecewise linear along lines: the probe points stand alone
        checked += 1
        if diff is not None:
            t0 = exact(as_num(diff.x))
            q = tuple(a + t0 * d for a, d in zip(p, v, strict=True))
            return Mismatch(q, diff.model_value, probe.values, expected=diff.target_value), checked
    return None, checked


def _equal(a: Any, b: Any, atol: Fraction, rtol: Fraction) -> bool:
    """|a - b| <= atol + rtol |b|; exact for rationals, with a rounding slack for floats."""
    if isinstance(a, PL) or isinstance(b, PL):
        return compare(a, b) is None
    x, y = as_num(a), as_num(b)
    if isinstance(x, Fraction) and isinstance(y, Fraction):
        return abs(x - y) <= atol + rtol * abs(y)
    ex, ey = exact(x), exact(y)
    return abs(ex - ey) <= atol + rtol * abs(ey) + Fraction(1, 10**12) * (1 + abs(ey))
