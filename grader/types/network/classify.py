"""``mode: classify``: the network is positive exactly where ``positive_when`` holds.

* One input: the set where the network is positive, exactly, against the
  condition's set.
* Several inputs, a piecewise-linear network (relu, leaky_relu, abs, max, min,
  affine layers, concat) and a condition made of linear relations and products
  of affine factors (``x1*x2 < 0``) under and/or/not: decided exactly by walking
  every realised activation region (:mod:`grader.networks.regions_exact`; the
  method says "exact: N activation regions"). Otherwise, or past the walk's cap
  on regions (``regions_exact.MAX_REGIONS``) or its share of the time limit
  (:data:`.walk.REGION_WALK_SHARE`): region probes of the first layer plus the
  condition's boundaries, then exact sign checks along lines (sampling; the
  method says why the walk was not used).
* When the first layer's planes and the condition's boundaries may cut the inputs into
  many regions (more than :data:`PROBE_FIRST_REGIONS`: eight inputs and ten units can
  make some 10^5), the walk takes seconds (an exact linear program per region): the
  probe points go first, and a point where the network's sign is wrong decides at once
  (exactly: the sign is evaluated in rational arithmetic). Most wrong answers end there
  within the first :data:`PROBE_FIRST_POINTS` points: those go first, then the walk with
  its witness left unmade (a right answer ends there, proved), then the rest of the probe
  points, then the walk's witness. The points are checked in the same order as when all
  went first, so the verdict is the same.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from fractions import Fraction
from functools import partial
from typing import Any

import numpy as np
from flint import fmpq

from grader.core.verdict import CheckUndecided
from grader.mathlang import ast
from grader.mathlang.errors import MathError
from grader.mathlang.evaluate import NotExactError
from grader.networks import regions_exact as rx
from grader.networks.affine import NotPolyhedral, as_aff
from grader.networks.cells import Cells, condition_cells
from grader.networks.intervals import Interval, as_num
from grader.networks.pl import NonLinearError
from grader.networks.regions import (
    ClassifyResult,
    check_classify,
    check_classify_lines,
    probe_lines,
    probe_points,
)
from grader.types.network.comparison import Comparison, Mismatch
from grader.types.network.compile import Compiled, NotPiecewiseLinear
from grader.types.network.evaluation import exact_value, model_exact, model_pl, scalar
from grader.types.network.feedback import join_names
from grader.types.network.planes import first_layer
from grader.types.network.sampled import sampled_classify
from grader.types.network.sides import NetworkSide, PredicateSide, Side, positive
from grader.types.network.symbols import SAMPLED_DRAWS, symbol_plan
from grader.types.network.walk import on_inputs, walk_deadline, walk_or_reason
from grader.types.network.weights import Weights

# Past this many regions (a bound from the planes' count: see _regions_bound) the probe
# points are tried before the exact walk.
PROBE_FIRST_REGIONS = 1_000
# Of those probe points, the first this many (of the first draw) go before the walk's first pass.
PROBE_FIRST_POINTS = 128

Points = dict[int, list[Any]]  # the probe points of each draw, made once a check
Later = Callable[[], Comparison | str]  # a wrong sign the walk proved, its witness made when called


def decide_classify(comp: Compiled, weights: Weights, side: Side) -> Comparison:
    if comp.one_input:
        try:
            return _one_input(comp, weights, side)
        except NotPiecewiseLinear:
            return sampled_classify(comp, weights, side, "not piecewise linear")
    points: Points = {}
    early = _probed_first(comp, weights, side, points, stop=PROBE_FIRST_POINTS)
    if isinstance(early, Comparison):
        return early
    if early is None:
        decided = _regions(comp, weights, side)
    else:
        found = _first_pass_then_probes(comp, weights, side, points)
        if isinstance(found, Comparison):
            return found
        decided, early = found
    if isinstance(decided, Comparison):
        return decided
    sampled = _probes(comp, weights, side, held=early)
    sampled.method += f" (not decided exactly: {decided})"
    return sampled


def _first_pass_then_probes(
    comp: Compiled, weights: Weights, side: Side, points: Points
) -> Comparison | tuple[Comparison | str, list[int] | None]:
    """After the first probe points: the walk, its witness left unmade (a right answer is
    proved there), the rest of the probe points, then the walk's witness; else the walk's
    result or why it cannot decide, and the probe points checked in each draw."""
    first = _walk(comp, weights, side, witness=False)
    if isinstance(first, Comparison):
        return first
    rest = _probed_first(comp, weights, side, points, start=PROBE_FIRST_POINTS)
    if isinstance(rest, Comparison):
        return rest
    return (first if isinstance(first, str) else first()), rest


def _wrong_sign(
    comp: Compiled, side: Side, found: Mismatch, method: str, *, exact: bool = True
) -> Comparison:
    assert found.condition is not None
    text = found.sign_text(comp.inputs, side.holds_text(found.condition))
    return Comparison(False, text, method, exact, found)


def _one_input(comp: Compiled, weights: Weights, side: Side) -> Comparison:
    dom = Interval.closed(*comp.domain) if comp.domain else Interval.all()
    for values in symbol_plan(comp):
        model = model_pl(comp, weights.exact(values), values)
        positive_set = model.region(">") & dom
        truth = side.truth_region(values) & dom
        bad = (positive_set - truth) | (truth - positive_set)
        x = bad.simplest()
        if x is not None:
            found = Mismatch((x,), model(x), values, condition=x in truth)
            method = "exact: the set where the network is positive against the condition's"
            return _wrong_sign(comp, side, found, method)
    method = "exact: the set where the network is positive equals the condition's"
    if comp.symbols:
        method += " for each draw of the symbols"
    return Comparison(True, "", method, True)


def _condition(comp: Compiled, side: Side, values: Mapping[str, Any]) -> rx.Condition:
    """The cells where the side holds and where it does not, at the walk's inputs."""
    dim = len(comp.inputs)

    def cells(xs: list[Any]) -> tuple[Cells, Cells]:
        point = dict(zip(comp.inputs, xs, strict=True))
        if isinstance(side, NetworkSide):
            other = as_aff(side.at(values, point), dim)
            return [((-other, "<"),)], [((other, "<="),)]
        if not isinstance(side, PredicateSide):
            raise NotPolyhedral("no condition")

        def at(node: Any) -> Any:
            return scalar(exact_value(comp, node, {**values, **point}), "positive_when")

        return condition_cells(side.node, at)

    return cells


def _regions(comp: Compiled, weights: Weights, side: Side) -> Comparison | str:
    """Decided exactly by walking the activation regions (piecewise-linear networks and
    polyhedral conditions); else the reason it could not be, as text."""
    found = _walk(comp, weights, side, witness=True)
    return found if isinstance(found, Comparison | str) else found()


def _walk(comp: Compiled, weights: Weights, side: Side, *, witness: bool) -> Comparison | str | Later:
    """:func:`_regions`; without ``witness``, a wrong sign gives the call that makes it."""
    draws = symbol_plan(comp, SAMPLED_DRAWS)
    deadline = walk_deadline(comp)
    regions = 0
    for values in draws:
        wv = weights.exact(values)
        walk = partial(
            rx.decide_classify,
            len(comp.inputs),
            on_inputs(comp, partial(model_exact, comp, wv, values)),
            _condition(comp, side, values),
            box=comp.domain,
            max_regions=rx.MAX_REGIONS - regions,
            deadline=deadline,
            witness=witness,
        )
        result = walk_or_reason(walk)
        if isinstance(result, str):
            return result
        regions += result.regions
        if not result.holds:
            later = partial(_walk_mismatch, comp, side, (wv, values), result, regions)
            return later if not witness else later()
    method = f"exact: {regions} activation regions"
    if comp.symbols:
        method += f" over {len(draws)} draws of {join_names(list(comp.symbols))}"
    return Comparison(True, "", method, True)


def _walk_mismatch(
    comp: Compiled, side: Side, draw: tuple[Any, Mapping[str, Any]], result: rx.WalkResult, regions: int
) -> Comparison | str:
    failure = result.witness or rx.simplest_failure(len(comp.inputs), result.failures)
    found = _checked_witness(comp, side, draw, failure)
    if found is None:
        return "the region walk's witness did not check out"
    return _wrong_sign(comp, side, found, f"exact: activation region walk ({regions} regions visited)")


def _checked_witness(
    comp: Compiled, side: Side, draw: tuple[Any, Mapping[str, Any]], failure: rx.Failure | None
) -> Mismatch | None:
    """The walk's witness, evaluated again by the evaluator as a check (None if it fails)."""
    assert failure is not None
    wv, values = draw
    point = dict(zip(comp.inputs, failure.point, strict=True))
    value = model_exact(comp, wv, values, point)
    truth = side.truth_at(values, point)
    if positive(value) == truth or as_num(value) != failure.model_value:
        return None
    return Mismatch(tuple(failure.point), value, values, condition=truth)


def _regions_bound(planes: int, dim: int) -> int:
    """The most regions ``planes`` hyperplanes cut ``dim``-dimensional space into."""
    return sum(math.comb(planes, i) for i in range(min(planes, dim) + 1))


def _probed_first(
    comp: Compiled, weights: Weights, side: Side, points: Points, *, start: int = 0, stop: int | None = None
) -> Comparison | list[int] | None:
    """When the walk could be long (see the module doc), the probe points of every draw: a
    wrong sign at one decides; else the points checked in each draw (the probes after the
    walk do not check them again). None when the walk goes first. ``stop``: only the first
    ``stop`` points of the first draw; ``start``: the first draw's first ``start`` points
    were checked already. ``points`` keeps the points made, by draw."""
    dim = len(comp.inputs)
    held: list[int] = []
    try:
        for draw, values in enumerate(symbol_plan(comp, SAMPLED_DRAWS)):
            if draw > 0 and stop is not None:
                break
            wv = weights.exact(values)
            count = len(first_layer(comp, wv, values)) + len(side.planes(values))
            if draw == 0 and _regions_bound(count, dim) <= PROBE_FIRST_REGIONS:
                return None
            pts = points.get(draw)
            if pts is None:
                pts = points[draw] = _probe_points(comp, side, wv, values)
            skip = min(start, len(pts)) if draw == 0 else 0
            result = _point_probes(comp, side, wv, values, pts[skip:stop], skip)
            if not result.holds:
                return _probe_mismatch(comp, side, result, values)
            held.append(result.checked)
    except (NotExactError, NotPiecewiseLinear, NonLinearError, MathError, ZeroDivisionError):
        return None  # the walk, then the probes, say what cannot be evaluated
    return held


def _point_probes(
    comp: Compiled, side: Side, wv: Mapping[str, Any], values: Mapping[str, Any], pts: list[Any], already: int
) -> ClassifyResult:
    """Exact signs at these probe points (``already``: the points of the list before them)."""
    model_fn = on_inputs(comp, partial(model_exact, comp, wv, values))
    truth_fn = on_inputs(comp, partial(side.truth_at, values))
    fast = _in_fmpq(wv, values) if _fmpq_safe(comp) else None
    if fast is not None:
        found = _fmpq_probes(comp, side, values, fast, pts)
        if found is not None:  # the first point of wrong sign (if any), checked again in Fraction
            result = check_classify(model_fn, truth_fn, pts[found : found + 1], already + found)
            if found == len(pts) or not result.holds:
                return result
    return check_classify(model_fn, truth_fn, pts, already)


def _fmpq_probes(
    comp: Compiled,
    side: Side,
    values: Mapping[str, Any],
    draw: tuple[dict[str, Any], dict[str, Any]],
    pts: list[Any],
) -> int | None:
    """The index of the first probe point where the sign is wrong, evaluated in FLINT's
    rationals (about twice as fast as Fraction; the caller checks that point again in
    Fraction); ``len(pts)`` when none is; None when this arithmetic cannot tell (anything
    but an fmpq out, or an error: the Fraction path then says what it is)."""
    wq, vq = draw
    try:
        for index, p in enumerate(pts):
            point = {name: _fmpq_scalar(v) for name, v in zip(comp.inputs, p, strict=True)}
            if any(v is None for v in point.values()):
                return None
            value = model_exact(comp, wq, vq, point)
            if type(value) is not fmpq:
                return None
            if (value > 0) != side.truth_at(values, dict(zip(comp.inputs, p, strict=True))):
                return index
    except (TypeError, ValueError, ArithmeticError, MathError, NotExactError, CheckUndecided):
        return None
    return len(pts)


# What a model may be made of to be evaluated in fmpq: no comparison (``fmpq == Fraction`` is
# silently False, and the exact backend's numbers are Fractions), only these functions.
_FMPQ_NODES = (ast.Num, ast.Sym, ast.Neg, ast.BinOp, ast.Call, ast.ListLit, ast.Matrix, ast.Transpose)
_FMPQ_CALLS = frozenset({"relu", "abs", "leaky_relu", "max", "min"})


def _fmpq_safe(comp: Compiled) -> bool:
    """Whether the model is evaluated the same in fmpq as in Fraction: weights and inputs
    only added, multiplied and passed through these piecewise-linear functions (an
    operation with a Fraction constant raises TypeError, and the Fraction path is taken)."""
    if comp.functions:
        return False
    nodes = list(ast.walk(comp.model))
    return all(isinstance(n, _FMPQ_NODES) for n in nodes) and all(
        n.name in _FMPQ_CALLS for n in nodes if isinstance(n, ast.Call)
    )


def _in_fmpq(
    wv: Mapping[str, Any], values: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The weights and the symbols' values in fmpq (arrays of them), None unless all are
    Fractions or ints."""
    out: list[dict[str, Any]] = []
    for named in (wv, values):
        converted = {name: _fmpq_value(v) for name, v in named.items()}
        if any(v is None for v in converted.values()):
            return None
        out.append(converted)
    return out[0], out[1]


def _fmpq_value(value: Any) -> Any:
    if not isinstance(value, np.ndarray):
        return _fmpq_scalar(value)
    if value.dtype != object:
        return None
    out = np.empty(value.shape, dtype=object)
    for index, v in np.ndenumerate(value):
        q = _fmpq_scalar(v)
        if q is None:
            return None
        out[index] = q
    return out


def _fmpq_scalar(v: Any) -> fmpq | None:
    if type(v) is Fraction:
        return fmpq(v.numerator, v.denominator)
    if type(v) is int:
        return fmpq(v)
    return None


def _probe_points(comp: Compiled, side: Side, wv: Mapping[str, Any], values: Mapping[str, Any]) -> list[Any]:
    """The probe points of the first layer's regions and the condition's boundaries."""
    net_planes = first_layer(comp, wv, values)
    boundary = side.planes(values)
    W = [list(w) for w, _ in net_planes]
    b = [c for _, c in net_planes]
    pts = probe_points(
        W,
        b,
        len(comp.inputs),
        comp.seed,
        extra_W=[list(w) for w, _ in boundary],
        extra_b=[c for _, c in boundary],
    )
    if comp.domain is not None:
        pts = [p for p in pts if all(comp.domain[0] <= v <= comp.domain[1] for v in p)]
    return pts


def _probe_mismatch(
    comp: Compiled, side: Side, result: ClassifyResult, values: Mapping[str, Any]
) -> Comparison:
    w = result.witness
    assert w is not None
    found = Mismatch(tuple(w.point), w.model_value, values, condition=w.predicate_value)
    return _wrong_sign(comp, side, found, result.method)


def _probes(comp: Compiled, weights: Weights, side: Side, held: list[int] | None = None) -> Comparison:
    """Exact signs at the probe points, then along lines; ``held``: the points of each draw
    already checked before the walk (:func:`_probed_first`), not checked again."""
    dim = len(comp.inputs)
    total = 0
    lines_checked = 0
    for draw, values in enumerate(symbol_plan(comp, SAMPLED_DRAWS)):
        wv = weights.exact(values)
        net_planes = first_layer(comp, wv, values)
        boundary = side.planes(values)
        W = [list(w) for w, _ in net_planes]
        b = [c for _, c in net_planes]
        extra_W = [list(w) for w, _ in boundary]
        extra_b = [c for _, c in boundary]
        model_fn = on_inputs(comp, partial(model_exact, comp, wv, values))
        truth_fn = on_inputs(comp, partial(side.truth_at, values))
        if held is not None:
            result = ClassifyResult(True, None, held[draw], "")
        else:
            pts = probe_points(W, b, dim, comp.seed, extra_W=extra_W, extra_b=extra_b)
            if comp.domain is not None:
                pts = [p for p in pts if all(comp.domain[0] <= v <= comp.domain[1] for v in p)]
            try:
                result = check_classify(model_fn, truth_fn, pts)
            except NotExactError:
                return sampled_classify(
                    comp, weights, side, "values that are not rational (smooth activations)"
                )
        total += result.checked
        if result.holds and comp.domain is None:
            lines = probe_lines(W, b, dim, comp.seed, extra_W=extra_W, extra_b=extra_b)
            try:
                result = check_classify_lines(model_fn, truth_fn, lines, boundary=boundary)
                lines_checked += len(lines)
            except NotPiecewiseLinear:
                pass
        if not result.holds:
            w = result.witness
            assert w is not None
            found = Mismatch(tuple(w.point), w.model_value, values, condition=w.predicate_value)
            return _wrong_sign(comp, side, found, result.method)
    method = (
        f"exact signs at {total} probe points of the first layer's regions and the condition's boundaries"
    )
    if lines_checked:
        method += f", and exactly along {lines_checked} lines"
    return Comparison(True, "", method, False)
