"""The data a picture of a wrong network needs (:mod:`grader.core.plotdata`), computed
when the check finds the network wrong, so reporters never compile or check again.

* one input: a window around every knot of the network and the target and the
  witness (the domain for bounded parts); the network and the target (or the
  condition's truth) on a grid plus every knot inside; ``approx`` adds epsilon;
* two inputs: the network, |network - target| (exact and approx) or the
  condition's truth (classify) on a grid, and the witness.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from grader.core.plotdata import CurvePlot, PlanePlot, PlotData
from grader.core.verdict import AnswerError, CheckUndecided
from grader.mathlang.errors import MathError
from grader.types.network.comparison import Mismatch
from grader.types.network.compile import Compiled, NotPiecewiseLinear
from grader.types.network.evaluation import model_floats, model_pl
from grader.types.network.sampled import kinks_1d
from grader.types.network.sides import PredicateSide, Side
from grader.types.network.symbols import symbol_plan
from grader.types.network.weights import Weights

CURVE_POINTS = 401
PLANE_POINTS = 41  # per axis
MAX_KNOTS = 2_000  # knots kept in a curve (a plot of more would not show them apart)
FLOAT_BUDGET = 4_000_000  # points x weights evaluated in floats for a picture (memory, time)
PLOT_ERRORS = (MathError, CheckUndecided, AnswerError, NotPiecewiseLinear, ValueError, ZeroDivisionError)


def plot_data(comp: Compiled, weights: Weights, side: Side, mismatch: Mismatch | None) -> PlotData | None:
    """The picture of ``weights`` against ``side`` around the mismatch (None with more
    than two inputs, or when the network cannot be evaluated in floats)."""
    draw = dict(mismatch.draw) if mismatch is not None else _some_draw(comp)
    try:
        if comp.one_input:
            return _curve(comp, weights, side, draw, mismatch)
        if len(comp.inputs) == 2:
            return _plane(comp, weights, side, draw, mismatch)
    except PLOT_ERRORS:
        return None
    return None


def _some_draw(comp: Compiled) -> dict[str, Any]:
    if not comp.symbols:
        return {}
    draws = symbol_plan(comp)
    return next((d for d in draws if all(v != 0 for v in d.values())), draws[0])


def _knots(comp: Compiled, weights: Weights, side: Side, draw: Mapping[str, Any]) -> list[float]:
    """Where the network and the target bend (the first layer's kinks when not piecewise linear)."""
    try:
        marks = model_pl(comp, weights.exact(draw), draw).knot_estimates()
    except PLOT_ERRORS:
        marks = kinks_1d(comp, weights, draw)
    if not isinstance(side, PredicateSide):
        with contextlib.suppress(*PLOT_ERRORS):
            marks += side.pl(draw).knot_estimates()
    return [m for m in marks if math.isfinite(m)]


def _window(comp: Compiled, knots: Sequence[float], witness: float | None) -> tuple[float, float]:
    if comp.domain is not None:
        return float(comp.domain[0]), float(comp.domain[1])
    marks = [*knots, *([witness] if witness is not None else [])] or [0.0]
    lo, hi = min(marks), max(marks)
    pad = max(1.0, 0.25 * (hi - lo))
    return lo - pad, hi + pad


def _values(array: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in np.asarray(array, dtype=float))


def _curve(
    comp: Compiled, weights: Weights, side: Side, draw: Mapping[str, Any], mismatch: Mismatch | None
) -> CurvePlot:
    witness = float(mismatch.point[0]) if mismatch is not None else None
    knots = _knots(comp, weights, side, draw)
    lo, hi = _window(comp, knots, witness)
    inside = sorted({k for k in knots if lo <= k <= hi})
    room = max(MAX_KNOTS // 10, min(MAX_KNOTS, FLOAT_BUDGET // max(weights.units(), 1) - CURVE_POINTS))
    if len(inside) > room:
        inside = inside[:: math.ceil(len(inside) / room)]
    xs = np.unique(
        np.concatenate([np.linspace(lo, hi, CURVE_POINTS), inside, [] if witness is None else [witness]])
    )
    xs = xs[(xs >= lo) & (xs <= hi)]
    fvals = {k: float(v) for k, v in draw.items()}
    points = {comp.inputs[0]: xs}
    network = model_floats(comp, weights.floats(draw), fvals, points)
    if isinstance(side, PredicateSide):
        truth = side.truth_floats(fvals, points)
        return CurvePlot(
            comp.inputs[0],
            _values(xs),
            _values(network),
            condition=tuple(bool(v) for v in truth),
            condition_label=side.name,
            witness=witness,
            symbols=_symbols(draw),
        )
    return CurvePlot(
        comp.inputs[0],
        _values(xs),
        _values(network),
        target=_target(side, fvals, points),
        target_label=side.name,
        epsilon=float(comp.epsilon) if comp.epsilon is not None and comp.part.mode == "approx" else None,
        witness=witness,
        symbols=_symbols(draw),
    )


def _target(
    side: Side, fvals: Mapping[str, float], points: Mapping[str, np.ndarray]
) -> tuple[float, ...] | None:
    try:
        with np.errstate(all="ignore"):
            return _values(side.floats(fvals, points))
    except PLOT_ERRORS:
        return None


def _plane(
    comp: Compiled, weights: Weights, side: Side, draw: Mapping[str, Any], mismatch: Mismatch | None
) -> PlanePlot:
    witness = tuple(float(v) for v in mismatch.point) if mismatch is not None else None
    if comp.domain is not None:
        lo, hi = float(comp.domain[0]), float(comp.domain[1])
    else:
        half = max(3.0, 1.5 * max((abs(v) for v in witness or ()), default=0.0))
        lo, hi = -half, half
    per_axis = max(11, min(PLANE_POINTS, math.isqrt(FLOAT_BUDGET // max(weights.units(), 1))))
    grid = np.linspace(lo, hi, per_axis if per_axis % 2 else per_axis + 1)  # odd: the axes are grid lines
    gx, gy = np.meshgrid(grid, grid)
    points = {comp.inputs[0]: gx.ravel(), comp.inputs[1]: gy.ravel()}
    fvals = {k: float(v) for k, v in draw.items()}
    network = model_floats(comp, weights.floats(draw), fvals, points).reshape(gx.shape)
    condition = difference = None
    if isinstance(side, PredicateSide):
        truth = side.truth_floats(fvals, points).reshape(gx.shape)
        condition = tuple(tuple(bool(v) for v in row) for row in truth)
    else:
        target = _target(side, fvals, points)
        if target is not None:
            gap = np.abs(network - np.asarray(target).reshape(gx.shape))
            difference = tuple(_values(row) for row in gap)
    return PlanePlot(
        (comp.inputs[0], comp.inputs[1]),
        _values(grid),
        _values(grid),
        tuple(_values(row) for row in network),
        difference=difference,
        target_label=side.name,
        condition=condition,
        condition_label=side.name if isinstance(side, PredicateSide) else "",
        witness=(witness[0], witness[1]) if witness is not None else None,
        symbols=_symbols(draw),
    )


def _symbols(draw: Mapping[str, Any]) -> tuple[tuple[str, float], ...]:
    return tuple((name, float(value)) for name, value in draw.items())
