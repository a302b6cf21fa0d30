"""Float sampling, where exact tools cannot decide (smooth activations, targets the
exact tools cannot handle): a verdict reached here says it was sampled."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from grader.core.verdict import CheckUndecided
from grader.mathlang.errors import MathError
from grader.networks.regions import probe_points
from grader.types.network.comparison import Comparison, Mismatch, differs
from grader.types.network.compile import Compiled
from grader.types.network.evaluation import model_floats
from grader.types.network.feedback import YOUR, assignment_text, fmt, point_text
from grader.types.network.planes import first_layer
from grader.types.network.sides import Side
from grader.types.network.symbols import SAMPLED_DRAWS, symbol_plan
from grader.types.network.weights import Weights

FLOAT_FLOOR = 1e-9  # float evaluation is compared at least this loosely (rounding of smooth functions)


def kinks_1d(comp: Compiled, weights: Weights, symvals: Mapping[str, Any]) -> list[float]:
    """Where the first layer's units switch (one input)."""
    try:
        planes = first_layer(comp, weights.exact(symvals), symvals)
    except (MathError, CheckUndecided):
        return []
    return [float(-c / w[0]) for w, c in planes if len(w) == 1 and w[0] != 0]


def _sample_points(comp: Compiled, kinks: Sequence[float], rng: np.random.Generator) -> np.ndarray:
    """Points of one input, the simplest first (so a witness is a simple number)."""
    if comp.domain is not None:
        a, b = float(comp.domain[0]), float(comp.domain[1])
        simple = [v for v in (0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, a, b, (a + b) / 2) if a <= v <= b]
        ints_in = [float(k) for k in range(math.ceil(a), math.floor(b) + 1)][:200]
        grid = np.linspace(a, b, 4001)
        rand = rng.uniform(a, b, 2000)
        near = [k + s for k in kinks for s in (0.0, 1e-6, -1e-6, 1e-3, -1e-3)]
        near = [v for v in near if a <= v <= b]
        pts = np.concatenate([simple, ints_in, near, grid, rand])
    else:
        simple = [0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, -3.0, 10.0, -10.0]
        ints = np.arange(-100, 101, dtype=float)
        near = [k + s * (1 + abs(k)) for k in kinks for s in (0.0, 1e-6, -1e-6, 1e-3, -1e-3, 0.5, -0.5)]
        grid = np.linspace(-20, 20, 8001)
        far = np.geomspace(1e-6, 1e9, 400)
        rand = np.concatenate([rng.normal(0, 100, 2000), rng.standard_cauchy(1000)])
        pts = np.concatenate([simple, ints, near, grid, far, -far, rand])
    return pts[np.isfinite(pts)]


def sample_box(
    comp: Compiled, weights: Weights, symvals: Mapping[str, Any], rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Points of several inputs: region probes, a grid, far and random points."""
    dim = len(comp.inputs)
    try:
        planes = first_layer(comp, weights.exact(symvals), symvals)
        probes = probe_points(
            [list(w) for w, _ in planes], [c for _, c in planes], dim, comp.seed, n_random=200
        )
    except (MathError, CheckUndecided, ValueError):
        probes = []
    arr = np.array([[float(v) for v in p] for p in probes], dtype=float).reshape(-1, dim)
    rand = np.concatenate([rng.normal(0, 10, (3000, dim)), rng.standard_cauchy((1000, dim))])
    pts = np.concatenate([arr, rand])
    if comp.domain is not None:
        a, b = float(comp.domain[0]), float(comp.domain[1])
        pts = np.concatenate([pts[np.all((pts >= a) & (pts <= b), axis=1)], rng.uniform(a, b, (4000, dim))])
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    return {name: pts[:, i] for i, name in enumerate(comp.inputs)}


def _points(
    comp: Compiled, weights: Weights, symvals: Mapping[str, Any], rng: np.random.Generator
) -> dict[str, np.ndarray]:
    if comp.one_input:
        return {comp.inputs[0]: _sample_points(comp, kinks_1d(comp, weights, symvals), rng)}
    return sample_box(comp, weights, symvals, rng)


def _dense_points(
    comp: Compiled, weights: Weights, symvals: Mapping[str, Any], rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """approx (a bounded domain): a dense grid and the kinks in it; several inputs as :func:`sample_box`."""
    if not comp.one_input:
        return sample_box(comp, weights, symvals, rng)
    assert comp.domain is not None
    a, b = float(comp.domain[0]), float(comp.domain[1])
    kinks = [k for k in kinks_1d(comp, weights, symvals) if a <= k <= b]
    return {comp.inputs[0]: np.concatenate([np.linspace(a, b, 20001), kinks])}


PointsFor = Callable[[Compiled, Weights, Mapping[str, Any], np.random.Generator], dict[str, np.ndarray]]


def _close(network: np.ndarray, target: np.ndarray, comp: Compiled) -> np.ndarray:
    """|network - target| <= atol + rtol |target|, with a floor for float rounding."""
    rtol = max(comp.part.rtol, FLOAT_FLOOR)
    atol = max(comp.part.atol, FLOAT_FLOOR)
    with np.errstate(all="ignore"):
        return np.abs(network - target) <= atol + rtol * np.abs(target)


def _at(points: Mapping[str, np.ndarray], comp: Compiled, i: int) -> tuple[float, ...]:
    return tuple(float(points[n][i]) for n in comp.inputs)


def _draws(
    comp: Compiled, weights: Weights, points_for: PointsFor = _points
) -> Iterator[tuple[dict[str, Any], dict[str, float], dict[str, np.ndarray], np.ndarray]]:
    """Per seeded draw of the symbols: the draw, its float values, the sample points
    (``points_for``) and the network's values there."""
    rng = np.random.default_rng(comp.seed)
    for values in symbol_plan(comp, SAMPLED_DRAWS):
        fvals = {k: float(v) for k, v in values.items()}
        points = points_for(comp, weights, values, rng)
        yield values, fvals, points, model_floats(comp, weights.floats(values), fvals, points)


def sampled_equal(comp: Compiled, weights: Weights, side: Side, why: str) -> Comparison:
    total = 0
    for values, fvals, points, m in _draws(comp, weights):
        t = side.floats(fvals, points)
        defined = np.isfinite(t)
        bad = defined & ~_close(m, t, comp)
        total += int(defined.sum())
        if bad.any():
            i = int(np.argmax(bad))
            found = Mismatch(_at(points, comp, i), m[i], values, expected=t[i])
            return differs(comp.inputs, side.name, found, f"float sampling ({why})", exact=False)
    if total == 0:  # nothing was compared: no verdict
        raise CheckUndecided(f"{side.name} is undefined at every sampled point ({why})")
    method = f"float sampling at {total} points, far points up to 1e9 included ({why})"
    return Comparison(True, "", method, False)


def sampled_approx(comp: Compiled, weights: Weights, side: Side, why: str) -> Comparison:
    assert comp.domain is not None and comp.epsilon is not None
    eps = float(comp.epsilon)
    worst: tuple[float, Mismatch] | None = None
    for values, fvals, points, m in _draws(comp, weights, _dense_points):
        t = side.floats(fvals, points)
        err = np.abs(m - t)
        err[np.isnan(t) & np.isnan(m)] = 0.0
        err[np.isnan(err)] = np.inf
        i = int(np.argmax(err))
        if worst is None or err[i] > worst[0]:
            worst = (float(err[i]), Mismatch(_at(points, comp, i), float(m[i]), values, expected=float(t[i])))
    assert worst is not None
    e, found = worst
    holds = e < eps
    where = f"{point_text(comp.inputs, found.point)}{assignment_text(found.draw)}"
    if holds:
        text = f"largest sampled error {e:.6g} at {where}, below epsilon {eps:g}"
    else:
        text = (
            f"largest error {e:.6g} at {where} ({YOUR} gives {fmt(found.network)}, "
            f"{side.name} {fmt(found.expected)}); it must be below epsilon = {eps:g}"
        )
    method = f"float sampling on a dense grid ({why})"
    return Comparison(holds, text, method, False, None if holds else found, largest_error=e)


def sampled_classify(comp: Compiled, weights: Weights, side: Side, why: str) -> Comparison:
    total = 0
    for values, fvals, points, m in _draws(comp, weights):
        truth = side.truth_floats(fvals, points)
        bad = (m > 0) != truth
        total += len(m)
        if bad.any():
            i = int(np.argmax(bad))
            found = Mismatch(_at(points, comp, i), m[i], values, condition=bool(truth[i]))
            text = found.sign_text(comp.inputs, side.holds_text(bool(truth[i])))
            return Comparison(False, text, f"float sampling ({why})", False, found)
    return Comparison(True, "", f"float sampling at {total} points ({why})", False)
