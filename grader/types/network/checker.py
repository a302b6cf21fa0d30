"""``network``: weights for a small network (contract section 5), or ``impossible``.

How each mode is decided (``details["method"]`` names the one used, and
``details["exact"]`` says whether it was a decision or sampling):

* ``exact``, one input, network and target piecewise linear: decided exactly
  by :func:`grader.networks.compare` (every breakpoint and the slopes beyond
  the outermost ones, so a unit switching on at x = 10^6 is caught). Weights
  or targets with symbols (``m``, ``b``): exact for each of a seeded set of
  draws of the symbols (:func:`grader.networks.decide_for_all`). Targets that
  are not piecewise linear (``x^2``): :func:`grader.networks.compare_expr`,
  exact at a witness point.
* ``exact`` with smooth activations (the network is not piecewise linear):
  dense seeded float sampling (a grid, integers, far points up to 10^9, the
  first layer's kinks, random points); a correct verdict then says it was
  sampled. Several inputs: exact values at region probes of the first layer's
  hyperplanes and far points, and exact comparisons along probe lines where
  both sides are piecewise linear (sampling over lines, not a proof).
* ``approx``: :func:`grader.networks.max_error` on the bounded domain (exact
  at breakpoints and the critical points of the target); correct when the
  largest error is strictly below ``epsilon`` (read as the decimal written:
  0.01 is 1/100).
* ``classify``: one input: the set where the network is positive, exactly,
  against the predicate's set. Several inputs, a piecewise-linear network
  (relu, leaky_relu, abs, max, min, affine layers, concat) and a predicate made
  of linear relations and products of affine factors (``x1*x2 < 0``) under
  and/or/not: decided exactly by walking every realised activation region
  (:mod:`grader.networks.regions_exact`; the method says "exact: N activation
  regions"). Otherwise, or past the walk's cap on regions
  (``regions_exact.MAX_REGIONS``) or its share of the time limit
  (``REGION_WALK_SHARE``): region probes of the first layer plus the
  predicate's boundaries, then exact sign checks along lines (sampling; the
  method says why the walk was not used).

A reference ``impossible`` makes a student's ``impossible`` correct and
weights incorrect with a witness; weights that meet the target anyway are
reported as undecided (the reference must be wrong). Known mistakes are
matched by function (the student's network equals the mistake's network),
since the engine's matching compares answers against the target.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import partial
from typing import Any, TypeVar

import numpy as np

from grader.core.verdict import AnswerError, CheckUndecided, Decision, Verdict
from grader.mathlang.domains import SymbolDomain
from grader.mathlang.errors import EvalError, MathError, ShapeError
from grader.mathlang.evaluate import NotExactError
from grader.networks import (
    PL,
    compare,
    compare_expr,
    decide_for_all,
    max_error,
    symbol_draws,
)
from grader.networks.intervals import Interval, Region, as_num, exact
from grader.networks.pl import NonLinearError
from grader.networks.regions import (
    check_classify,
    check_classify_lines,
    point_key,
    probe_lines,
    probe_points,
)
from grader.types.network.compile import (
    Compiled,
    Impossible,
    NotPiecewiseLinear,
    Plane,
    Weights,
    affine_planes,
    compile_part,
    exact_value,
    first_layer,
    formula_floats,
    formula_pl,
    formula_sympy,
    is_impossible,
    join_names,
    model_exact,
    model_floats,
    model_pl,
    predicate_planes,
    read_answer,
    read_weights,
    region_of,
    scalar,
)
from grader.types.network.part import NetworkPart

SYMBOL_DRAWS = 40  # exact decisions per draw
SAMPLED_DRAWS = 8  # draws of the symbols for sampled or sympy checks
PLOT_POINTS = 201
REGION_WALK_SHARE = 0.3  # of the part's time limit; past it the region walk gives way to sampling
YOUR = "your network"


@dataclass
class Outcome:
    """Whether the network meets the target, with a witness when it does not."""

    holds: bool
    witness: str  # "at x = -1 (m = 1, b = 0) your network gives 0, the target -1"
    method: str
    exact: bool
    details: dict[str, Any] = field(default_factory=dict)


# ---- entry point ---------------------------------------------------------------------


def check(part: NetworkPart, answer: Any) -> Verdict:
    comp = compile_part(part)
    reference_impossible = is_impossible(part.answer)
    student = read_answer(comp, answer)
    if isinstance(student, Impossible):
        if reference_impossible:
            return Verdict.correct("right: no such weights exist", decision=Decision("reference answer"))
        return Verdict.incorrect(
            "such weights exist: the network can meet the target; look for a construction",
            decision=Decision("reference answer"),
        )
    outcome = decide(comp, student, reference_side(comp))
    details = {"method": outcome.method, "exact": outcome.exact, **outcome.details}
    decision = Decision(outcome.method, exact=outcome.exact)
    if outcome.holds:
        if reference_impossible:
            raise CheckUndecided(
                "the reference answer says no such weights exist, but these weights meet the target "
                f"({outcome.method}); the reference must be wrong, a TA should look at it"
            )
        note = "" if outcome.exact else f"checked by sampling (not a proof): {outcome.method}"
        return Verdict.correct(_join(outcome.witness, note), decision=decision, details=details)
    feedback = outcome.witness
    if reference_impossible:
        feedback = f"no such weights exist: {feedback}"
    return Verdict.incorrect(feedback, decision=decision, details=details)


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def same_answer(part: NetworkPart, listed: Any, answer: Any) -> bool:
    """Whether the student's network computes the same function as the listed mistake's
    (the engine's mistake matcher: grading against the target cannot tell mistakes apart)."""
    comp = compile_part(part)
    student = read_answer(comp, answer)
    if is_impossible(listed):
        return isinstance(student, Impossible)
    if isinstance(student, Impossible):
        return False
    try:
        other = read_weights(comp, listed)
    except AnswerError as exc:
        raise ValueError(f"problem spec: a listed mistake cannot be read: {exc.render()}") from exc
    mode = "classify" if part.mode == "classify" else "exact"
    return decide(comp, student, NetworkSide(comp, other), mode=mode).holds


# ---- the two sides ---------------------------------------------------------------------


class Side:
    """What the student's network is compared with: the part's target (or
    predicate), or another network (a known mistake). A side supports only the
    comparisons that make sense for it; asking for another is reported as undecided."""

    name = "the target"

    def _unsupported(self, what: str) -> CheckUndecided:
        return CheckUndecided(f"{self.name} cannot be compared by {what} in this mode")

    def pl(self, symvals: Mapping[str, Any]) -> PL:
        raise NotPiecewiseLinear("no exact form")

    def at(self, symvals: Mapping[str, Any], point: Mapping[str, Any]) -> Any:
        raise self._unsupported("its value at a point")

    def floats(self, symvals: Mapping[str, Any], points: Mapping[str, np.ndarray]) -> np.ndarray:
        raise self._unsupported("sampled values")

    def sympy(self) -> Any:
        return None

    def planes(self, symvals: Mapping[str, Any]) -> list[Plane]:
        return []

    # classification: where the side "holds"
    def truth_region(self, symvals: Mapping[str, Any]) -> Region:
        raise NotPiecewiseLinear("no exact form")

    def truth_at(self, symvals: Mapping[str, Any], point: Mapping[str, Any]) -> bool:
        raise self._unsupported("where it holds")

    def truth_floats(self, symvals: Mapping[str, Any], points: Mapping[str, np.ndarray]) -> np.ndarray:
        raise self._unsupported("where it holds (sampled)")


class FormulaSide(Side):
    """The part's target (a formula in the input and the symbols)."""

    def __init__(self, comp: Compiled):
        assert comp.target is not None
        self.comp = comp
        self.node = comp.target

    def pl(self, symvals: Mapping[str, Any]) -> PL:
        try:
            return formula_pl(self.comp, self.node, symvals)
        except ShapeError as err:
            raise CheckUndecided(f"the part's target cannot be evaluated: {err.message}") from None
        except EvalError as err:
            if symvals:  # undefined for these values of the symbols: the draw is skipped
                raise
            raise CheckUndecided(f"the part's target cannot be evaluated: {err.message}") from None

    def at(self, symvals: Mapping[str, Any], point: Mapping[str, Any]) -> Any:
        return scalar(exact_value(self.comp, self.node, {**symvals, **point}), "target")

    def floats(self, symvals: Mapping[str, Any], points: Mapping[str, np.ndarray]) -> np.ndarray:
        return formula_floats(self.comp, self.node, symvals, points, "target")

    def sympy(self) -> Any:
        return formula_sympy(self.comp, self.node)


class PredicateSide(Side):
    """``positive_when``: a condition on the inputs."""

    def __init__(self, comp: Compiled):
        assert comp.predicate is not None
        self.comp = comp
        self.node = comp.predicate
        self.name = comp.predicate_text

    def truth_region(self, symvals: Mapping[str, Any]) -> Region:
        x = PL.identity()
        return region_of(self.comp, self.node, {**symvals, self.comp.inputs[0]: x})

    def truth_at(self, symvals: Mapping[str, Any], point: Mapping[str, Any]) -> bool:
        value = scalar(exact_value(self.comp, self.node, {**symvals, **point}), "positive_when")
        if not isinstance(value, bool | np.bool_):
            raise CheckUndecided(f"positive_when {self.name!r} is not a condition")
        return bool(value)

    def truth_floats(self, symvals: Mapping[str, Any], points: Mapping[str, np.ndarray]) -> np.ndarray:
        return formula_floats(self.comp, self.node, symvals, points, "positive_when") > 0.5

    def planes(self, symvals: Mapping[str, Any]) -> list[Plane]:
        return predicate_planes(self.comp, self.node, symvals)


class NetworkSide(Side):
    """Another set of weights for the same network (a known mistake)."""

    name = "that network"

    def __init__(self, comp: Compiled, weights: Weights):
        self.comp = comp
        self.weights = weights

    def pl(self, symvals: Mapping[str, Any]) -> PL:
        return model_pl(self.comp, self.weights.exact(symvals), symvals)

    def at(self, symvals: Mapping[str, Any], point: Mapping[str, Any]) -> Any:
        return model_exact(self.comp, self.weights.exact(symvals), symvals, point)

    def floats(self, symvals: Mapping[str, Any], points: Mapping[str, np.ndarray]) -> np.ndarray:
        return model_floats(self.comp, self.weights.floats(symvals), symvals, points)

    def planes(self, symvals: Mapping[str, Any]) -> list[Plane]:
        return first_layer(self.comp, self.weights.exact(symvals), symvals)

    def truth_region(self, symvals: Mapping[str, Any]) -> Region:
        return self.pl(symvals).region(">")

    def truth_at(self, symvals: Mapping[str, Any], point: Mapping[str, Any]) -> bool:
        return _positive(self.at(symvals, point))

    def truth_floats(self, symvals: Mapping[str, Any], points: Mapping[str, np.ndarray]) -> np.ndarray:
        return self.floats(symvals, points) > 0


def reference_side(comp: Compiled) -> Side:
    if comp.part.mode == "classify":
        return PredicateSide(comp)
    return FormulaSide(comp)


def _positive(value: Any) -> bool:
    if isinstance(value, PL):
        raise CheckUndecided("the network's output still depends on its input")
    return bool(as_num(value) > 0)


# ---- symbols ---------------------------------------------------------------------------


def _admissible(value: Fraction, dom: SymbolDomain) -> bool:
    if dom.integer and value.denominator != 1:
        return False
    if dom.positive and value <= 0:
        return False
    if dom.nonnegative and value < 0:
        return False
    if dom.nonzero and value == 0:
        return False
    if dom.min is not None and value < Fraction(repr(dom.min)):
        return False
    if dom.max is not None and value > Fraction(repr(dom.max)):
        return False
    if dom.interval is not None:
        lo, hi = (Fraction(repr(v)) if math.isfinite(v) else None for v in dom.interval)
        if (lo is not None and value <= lo) or (hi is not None and value >= hi):
            return False
    return True


def _inside_values(dom: SymbolDomain) -> list[Fraction]:
    """Extra admissible values for narrow domains (intervals, integer ranges)."""
    lo = dom.interval[0] if dom.interval else dom.min
    hi = dom.interval[1] if dom.interval else dom.max
    out: list[Fraction] = []
    if lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi):
        a, b = Fraction(repr(lo)), Fraction(repr(hi))
        if dom.integer:
            out = [Fraction(k) for k in range(math.ceil(a), math.floor(b) + 1)][:40]
        else:
            out = [a + (b - a) * Fraction(k, 11) for k in range(12)]
    elif lo is not None and math.isfinite(lo):
        a = Fraction(repr(lo))
        out = [a + k for k in (0, 1, 2, 3, 10, 1000)] + [a + Fraction(1, k) for k in (2, 3, 1000)]
    elif hi is not None and math.isfinite(hi):
        b = Fraction(repr(hi))
        out = [b - k for k in (0, 1, 2, 3, 10, 1000)] + [b - Fraction(1, k) for k in (2, 3, 1000)]
    return out


def symbol_plan(comp: Compiled, count: int = SYMBOL_DRAWS) -> list[dict[str, Fraction]]:
    """Seeded admissible draws of the part's symbols; ``[{}]`` without symbols."""
    names = list(comp.symbols)
    if not names:
        return [{}]
    draws = symbol_draws(names, comp.seed, count)
    ok = [d for d in draws if all(_admissible(d[n], comp.symbols[n]) for n in names)]
    if len(ok) < 8:
        pools = [
            [v for v in _inside_values(comp.symbols[n]) if _admissible(v, comp.symbols[n])] for n in names
        ]
        if all(pools):
            k = max(len(p) for p in pools)
            ok += [{n: pools[i][j % len(pools[i])] for i, n in enumerate(names)} for j in range(k)]
    if not ok:
        raise CheckUndecided(f"no admissible values found for the symbols {join_names(names)}")
    return ok[:count] if count else ok


def _assignment_text(symvals: Mapping[str, Any]) -> str:
    if not symvals:
        return ""
    return " (" + ", ".join(f"{k} = {fmt(v)}" for k, v in symvals.items()) + ")"


def _point_text(comp: Compiled, point: Sequence[Any]) -> str:
    if len(point) == 1:
        return f"{comp.inputs[0]} = {fmt(point[0])}"
    return "(" + ", ".join(comp.inputs) + ") = (" + ", ".join(fmt(v) for v in point) + ")"


def fmt(value: Any) -> str:
    """A value for feedback: ``3``, ``-1/2``, ``1000001.000000001`` (exact when short), else a decimal."""
    if hasattr(value, "is_Rational") and value.is_Rational:  # a sympy rational
        value = Fraction(int(value.p), int(value.q))
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return str(value.numerator)
        text = f"{value.numerator}/{value.denominator}"
        if len(text) <= 12:
            return text
        decimal = _exact_decimal_text(value)
        return decimal if decimal is not None else f"{float(value):.10g}"
    try:
        return f"{float(value):.6g}"
    except (TypeError, ValueError):
        return str(value)


def _exact_decimal_text(value: Fraction) -> str | None:
    """The exact decimal expansion when it is finite and short (denominator 2^a 5^b)."""
    q = value.denominator
    twos = fives = 0
    while q % 2 == 0:
        q //= 2
        twos += 1
    while q % 5 == 0:
        q //= 5
        fives += 1
    if q != 1:
        return None
    places = max(twos, fives)
    scaled = abs(value.numerator) * 10**places // value.denominator
    digits = str(scaled).rjust(places + 1, "0")
    text = (digits[:-places] + "." + digits[-places:]).rstrip("0").rstrip(".")
    if len(text.replace(".", "").lstrip("0")) > 20:
        return None
    return ("-" if value < 0 else "") + text


def _difference_text(comp: Compiled, diff: Any, side: Side) -> str:
    point = diff.x if isinstance(diff.x, tuple) else (diff.x,)
    return (
        f"at {_point_text(comp, point)}{_assignment_text(getattr(diff, 'assignment', {}))} {YOUR} gives "
        f"{fmt(diff.model_value)}, {side.name} {fmt(diff.target_value)}"
    )


def _tolerances(comp: Compiled, weights: Weights) -> tuple[Fraction, Fraction]:
    if not weights.inexact:
        return Fraction(0), Fraction(0)
    return Fraction(repr(comp.part.atol)), Fraction(repr(comp.part.rtol))


# ---- dispatch ------------------------------------------------------------------------------


def decide(comp: Compiled, weights: Weights, side: Side, *, mode: str | None = None) -> Outcome:
    mode = mode or comp.part.mode
    if mode == "classify":
        return _classify(comp, weights, side)
    if mode == "approx" and not isinstance(side, NetworkSide):
        return _approx(comp, weights, side)
    return _exact(comp, weights, side)


# ---- exact ---------------------------------------------------------------------------------


def _exact(comp: Compiled, weights: Weights, side: Side) -> Outcome:
    if comp.one_input:
        try:
            return _exact_pl(comp, weights, side)
        except NotPiecewiseLinear:
            pass
        found = _exact_sympy(comp, weights, side)
        if found is not None:
            return found
        return _sampled_equal(comp, weights, side, "the network or the target is not piecewise linear")
    return _exact_several(comp, weights, side)


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


def _exact_pl(comp: Compiled, weights: Weights, side: Side) -> Outcome:
    atol, rtol = _tolerances(comp, weights)
    method = "exact piecewise-linear comparison: every breakpoint and the slopes beyond the outermost ones"
    if atol or rtol:
        method += f" (decimal weights: within atol {comp.part.atol:g}, rtol {comp.part.rtol:g})"
    draws = symbol_plan(comp)
    if draws == [{}]:
        model = model_pl(comp, weights.exact({}), {})
        target = side.pl({})
        diff = compare(model, target, comp.domain, atol=atol, rtol=rtol)
        plot = _plot_1d(comp, model, target, None, diff.x if diff else None)
        if diff is None:
            return Outcome(True, "", method, True, {"plot_data": plot})
        witness = _difference_text(comp, diff, side)
        return Outcome(False, witness, method, True, {"witness": _witness(comp, diff), "plot_data": plot})

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
        return Outcome(True, "", f"{method}; {result.method}", True)
    w = result.witness
    assert w is not None
    details: dict[str, Any] = {"witness": _witness(comp, w)}
    values = {k: exact(as_num(v)) for k, v in w.assignment.items()}
    with contextlib.suppress(NotPiecewiseLinear):
        model = model_pl(comp, weights.exact(values), values)
        details["plot_data"] = _plot_1d(comp, model, side.pl(values), None, w.x)
    return Outcome(False, _difference_text(comp, w, side), f"{method}; {result.method}", True, details)


def _witness(comp: Compiled, diff: Any) -> dict[str, Any]:
    point = diff.x if isinstance(diff.x, tuple) else (diff.x,)
    out: dict[str, Any] = {
        "point": {name: fmt(v) for name, v in zip(comp.inputs, point, strict=True)},
        "network": fmt(diff.model_value),
        "target": fmt(diff.target_value),
    }
    if getattr(diff, "assignment", None):
        out["symbols"] = {k: fmt(v) for k, v in diff.assignment.items()}
    return out


def _exact_sympy(comp: Compiled, weights: Weights, side: Side) -> Outcome | None:
    """A piecewise-linear network against a target that is not (x^2): compare_expr."""
    import sympy

    expr = side.sympy()
    if expr is None:
        return None
    from grader.mathlang.to_sympy import symbol_for

    x = symbol_for(comp.inputs[0])
    subs_syms = {name: symbol_for(name, dom) for name, dom in comp.symbols.items()}
    draws = symbol_plan(comp, SAMPLED_DRAWS)
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
            text = (
                f"at {comp.inputs[0]} = {fmt(w.x)}{_assignment_text(values)} {YOUR} gives "
                f"{fmt(w.model_value)}, {side.name} {fmt(w.target_value)}"
            )
            details: dict[str, Any] = {
                "witness": {
                    "point": {comp.inputs[0]: fmt(w.x)},
                    "network": fmt(w.model_value),
                    "target": fmt(w.target_value),
                },
            }
            if values:
                details["witness"]["symbols"] = {k: fmt(v) for k, v in values.items()}
            details["plot_data"] = _plot_1d(comp, model, None, _float_target(comp, side, values), w.x)
            method = f"{decision.method} (the target is not piecewise linear)"
            return Outcome(False, text, method, True, details)
        undecided = undecided or not decision.exact
    method = "symbolic: the target equals each affine piece of the network"
    if comp.symbols:
        method += f" for {len(draws)} draws of {join_names(list(comp.symbols))}"
    return Outcome(True, "", method, not undecided)


def _float_target(
    comp: Compiled, side: Side, symvals: Mapping[str, Any]
) -> Callable[[np.ndarray], np.ndarray]:
    def fn(xs: np.ndarray) -> np.ndarray:
        return side.floats(symvals, {comp.inputs[0]: xs})

    return fn


# ---- sampled equality (smooth activations, targets the exact tools cannot handle) ----------


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


def _close(a: np.ndarray, b: np.ndarray, comp: Compiled) -> np.ndarray:
    rtol = max(comp.part.rtol, 1e-9)
    atol = max(comp.part.atol, 1e-9)
    with np.errstate(all="ignore"):
        return np.abs(a - b) <= atol + rtol * np.maximum(np.abs(a), np.abs(b))


def _kinks_1d(comp: Compiled, weights: Weights, symvals: Mapping[str, Any]) -> list[float]:
    try:
        planes = first_layer(comp, weights.exact(symvals), symvals)
    except (MathError, CheckUndecided):
        return []
    return [float(-c / w[0]) for w, c in planes if len(w) == 1 and w[0] != 0]


def _sampled_equal(comp: Compiled, weights: Weights, side: Side, why: str) -> Outcome:
    rng = np.random.default_rng(comp.seed)
    draws = symbol_plan(comp, SAMPLED_DRAWS)
    total = 0
    for values in draws:
        fvals = {k: float(v) for k, v in values.items()}
        if comp.one_input:
            pts1 = _sample_points(comp, _kinks_1d(comp, weights, values), rng)
            points = {comp.inputs[0]: pts1}
        else:
            points = _sample_box(comp, weights, values, rng)
        m = model_floats(comp, weights.floats(values), fvals, points)
        t = side.floats(fvals, points)
        defined = np.isfinite(t)
        bad = defined & ~_close(m, t, comp)
        total += int(defined.sum())
        if bad.any():
            i = int(np.argmax(bad))
            point = tuple(float(points[n][i]) for n in comp.inputs)
            text = (
                f"at {_point_text(comp, point)}{_assignment_text(values)} {YOUR} gives {fmt(m[i])}, "
                f"{side.name} {fmt(t[i])}"
            )
            method = f"float sampling ({why})"
            details: dict[str, Any] = {
                "witness": {
                    "point": dict(zip(comp.inputs, map(fmt, point), strict=True)),
                    "network": fmt(m[i]),
                    "target": fmt(t[i]),
                },
            }
            return Outcome(False, text, method, False, details)
    method = f"float sampling at {total} points, far points up to 1e9 included ({why})"
    return Outcome(True, "", method, False)


def _sample_box(
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


# ---- several inputs, exact mode ----------------------------------------------------------------


def _exact_several(comp: Compiled, weights: Weights, side: Side) -> Outcome:
    decided = _exact_several_regions(comp, weights, side) if not weights.inexact else "decimal weights"
    if isinstance(decided, Outcome):
        return decided
    try:
        sampled = _exact_several_probes(comp, weights, side)
    except NotExactError:
        return _sampled_equal(comp, weights, side, "values that are not rational (smooth activations)")
    sampled.method += f" (not decided exactly: {decided})"
    return sampled


def _exact_several_regions(comp: Compiled, weights: Weights, side: Side) -> Outcome | str:
    """Decided exactly by walking the activation regions of the network and the
    target together (both piecewise linear); else the reason it could not be."""
    from grader.networks import regions_exact as rx

    dim = len(comp.inputs)
    draws = symbol_plan(comp, SAMPLED_DRAWS)
    deadline = time.monotonic() + REGION_WALK_SHARE * comp.part.time_limit
    regions = 0
    for values in draws:
        wv = weights.exact(values)

        def model_fn(xs: list[Any], wv: Any = wv, values: Any = values) -> Any:
            return model_exact(comp, wv, values, dict(zip(comp.inputs, xs, strict=True)))

        def target_fn(xs: list[Any], values: Any = values) -> Any:
            return side.at(values, dict(zip(comp.inputs, xs, strict=True)))

        result = _region_walk(
            partial(
                rx.decide_equal,
                dim,
                model_fn,
                target_fn,
                box=comp.domain,
                max_regions=rx.MAX_REGIONS - regions,
                deadline=deadline,
            )
        )
        if isinstance(result, str):
            return result
        regions += result.regions
        if not result.equal:
            w = result.witness
            assert w is not None
            outcome = _several_witness(comp, w.point, w.model_value, w.target_value, values, side)
            outcome.method = f"exact: activation region walk ({regions} regions visited)"
            return outcome
    method = f"exact: {regions} activation regions"
    if comp.symbols:
        method += f" over {len(draws)} draws of {join_names(list(comp.symbols))}"
    return Outcome(True, "", method, True, {"regions": regions})


def _exact_several_probes(comp: Compiled, weights: Weights, side: Side) -> Outcome:
    atol, rtol = _tolerances(comp, weights)
    dim = len(comp.inputs)
    draws = symbol_plan(comp, SAMPLED_DRAWS)
    checked_points = checked_lines = 0
    for values in draws:
        wv = weights.exact(values)
        planes = first_layer(comp, wv, values) + side.planes(values)
        W = [list(w) for w, _ in planes]
        b = [c for _, c in planes]
        pts = probe_points(W, b, dim, comp.seed)
        if comp.domain is not None:
            pts = [p for p in pts if all(comp.domain[0] <= v <= comp.domain[1] for v in p)]
        for p in pts:
            point = dict(zip(comp.inputs, p, strict=True))
            try:
                mv = model_exact(comp, wv, values, point)
                tv = side.at(values, point)
            except NotExactError:
                raise
            except EvalError:  # the target is undefined there
                continue
            checked_points += 1
            if not _equal(mv, tv, atol, rtol):
                return _several_witness(comp, p, mv, tv, values, side)
        if comp.domain is not None:
            continue
        for p, v in probe_lines(W, b, dim, comp.seed):
            coords = {name: PL.affine(v[i], p[i]) for i, name in enumerate(comp.inputs)}
            try:
                m_line = model_exact(comp, wv, values, coords)
                t_line = side.at(values, coords)
                diff = compare(m_line, t_line, None, atol=atol, rtol=rtol)
            except (NotPiecewiseLinear, EvalError, TypeError):
                break  # not piecewise linear along lines: the probe points stand alone
            checked_lines += 1
            if diff is not None:
                t0 = exact(as_num(diff.x))
                q = tuple(a + t0 * d for a, d in zip(p, v, strict=True))
                return _several_witness(comp, q, diff.model_value, diff.target_value, values, side)
    if checked_points == 0:
        return _sampled_equal(comp, weights, side, "the target is undefined at every probe point")
    method = f"exact values at {checked_points} probe points of the first layer's regions" + (
        f" and exact comparisons along {checked_lines} lines" if checked_lines else ""
    )
    return Outcome(True, "", method, False)


def _equal(a: Any, b: Any, atol: Fraction, rtol: Fraction) -> bool:
    if isinstance(a, PL) or isinstance(b, PL):
        return compare(a, b) is None
    x, y = as_num(a), as_num(b)
    if not atol and not rtol and isinstance(x, Fraction) and isinstance(y, Fraction):
        return x == y
    return abs(exact(x) - exact(y)) <= atol + rtol * abs(exact(y)) + Fraction(1, 10**12) * (1 + abs(exact(y)))


def _several_witness(
    comp: Compiled, p: Sequence[Any], mv: Any, tv: Any, values: Mapping[str, Any], side: Side
) -> Outcome:
    text = (
        f"at {_point_text(comp, p)}{_assignment_text(values)} {YOUR} gives {fmt(mv)}, {side.name} {fmt(tv)}"
    )
    details = {
        "witness": {
            "point": dict(zip(comp.inputs, map(fmt, p), strict=True)),
            "network": fmt(mv),
            "target": fmt(tv),
        }
    }
    return Outcome(False, text, "exact values at region probes of the first layer", True, details)


# ---- approx -----------------------------------------------------------------------------------


def _approx(comp: Compiled, weights: Weights, side: Side) -> Outcome:
    assert comp.domain is not None and comp.epsilon is not None
    if not comp.one_input:
        return _sampled_approx(comp, weights, side, "several inputs")
    import sympy

    from grader.mathlang.to_sympy import symbol_for

    eps = comp.epsilon
    x = symbol_for(comp.inputs[0])
    subs_syms = {name: symbol_for(name, dom) for name, dom in comp.symbols.items()}
    draws = symbol_plan(comp, SAMPLED_DRAWS)
    worst: Any = None
    all_exact = True
    for values in draws:
        try:
            model = model_pl(comp, weights.exact(values), values)
        except NotPiecewiseLinear:
            return _sampled_approx(comp, weights, side, "the network is not piecewise linear")
        try:
            target: Any = side.pl(values)
        except NotPiecewiseLinear:
            expr = side.sympy()
            if expr is None:
                return _sampled_approx(comp, weights, side, "the target cannot be handled exactly")
            target = expr.subs(
                {subs_syms[k]: sympy.Rational(v.numerator, v.denominator) for k, v in values.items()}
            )
        result = max_error(model, target, comp.domain, x if not isinstance(target, PL) else None)
        all_exact = all_exact and result.exact
        if worst is None or _err_float(result.error) > _err_float(worst[0].error):
            worst = (result, values, model, target)
        if not result.below(eps):
            return _approx_outcome(comp, side, False, result, values, model, target)
    assert worst is not None
    return _approx_outcome(comp, side, True, *worst)


def _err_float(error: Any) -> float:
    try:
        return float(error)
    except (TypeError, ValueError):
        return math.inf


def _approx_outcome(
    comp: Compiled, side: Side, holds: bool, result: Any, values: Mapping[str, Any], model: PL, target: Any
) -> Outcome:
    assert comp.epsilon is not None and comp.domain is not None
    where = f"{comp.inputs[0]} = {fmt(result.x)}"
    if result.side:
        where = f"{comp.inputs[0]} -> {fmt(result.x)} from the {'left' if result.side == '-' else 'right'}"
    error = _error_text(result.error)
    eps = f"{float(comp.epsilon):g}"
    if holds:
        text = f"largest error {error} at {where}{_assignment_text(values)}, below epsilon {eps}"
    else:
        values_text = ""
        if result.model_value is not None:
            values_text = f" ({YOUR} gives {fmt(result.model_value)}, {side.name} {fmt(result.target_value)})"
        text = (
            f"largest error {error} at {where}{_assignment_text(values)}{values_text}; "
            f"it must be below epsilon = {eps}"
        )
    details: dict[str, Any] = {
        "largest_error": _err_float(result.error),
        "at": fmt(result.x),
        "epsilon": float(comp.epsilon),
    }
    target_pl = target if isinstance(target, PL) else None
    target_fn = None if target_pl is not None else _float_target(comp, side, values)
    details["plot_data"] = _plot_1d(comp, model, target_pl, target_fn, result.x)
    return Outcome(holds, text, result.method, bool(result.exact), details)


def _error_text(error: Any) -> str:
    if hasattr(error, "is_Rational") and error.is_Rational:  # a sympy rational
        error = Fraction(int(error.p), int(error.q))
    if isinstance(error, Fraction):
        short = f"{float(error):.6g}"
        exact_text = fmt(error)
        return short if exact_text == short else f"{short} (= {exact_text})"
    value = _err_float(error)
    if math.isinf(value):
        return "unbounded"
    return f"{value:.6g}"


def _sampled_approx(comp: Compiled, weights: Weights, side: Side, why: str) -> Outcome:
    assert comp.domain is not None and comp.epsilon is not None
    rng = np.random.default_rng(comp.seed)
    eps = float(comp.epsilon)
    worst: tuple[float, tuple[float, ...], float, float, dict[str, Fraction]] | None = None
    for values in symbol_plan(comp, SAMPLED_DRAWS):
        fvals = {k: float(v) for k, v in values.items()}
        if comp.one_input:
            a, b = float(comp.domain[0]), float(comp.domain[1])
            kinks = [k for k in _kinks_1d(comp, weights, values) if a <= k <= b]
            points = {comp.inputs[0]: np.concatenate([np.linspace(a, b, 20001), kinks])}
        else:
            points = _sample_box(comp, weights, values, rng)
        m = model_floats(comp, weights.floats(values), fvals, points)
        t = side.floats(fvals, points)
        err = np.abs(m - t)
        err[np.isnan(t) & np.isnan(m)] = 0.0
        err[np.isnan(err)] = np.inf
        i = int(np.argmax(err))
        if worst is None or err[i] > worst[0]:
            worst = (
                float(err[i]),
                tuple(float(points[n][i]) for n in comp.inputs),
                float(m[i]),
                float(t[i]),
                values,
            )
    assert worst is not None
    e, p, mv, tv, values = worst
    holds = e < eps
    where = _point_text(comp, p)
    if holds:
        text = f"largest sampled error {e:.6g} at {where}{_assignment_text(values)}, below epsilon {eps:g}"
    else:
        text = (
            f"largest error {e:.6g} at {where}{_assignment_text(values)} ({YOUR} gives {fmt(mv)}, "
            f"{side.name} {fmt(tv)}); it must be below epsilon = {eps:g}"
        )
    return Outcome(
        holds, text, f"float sampling on a dense grid ({why})", False, {"largest_error": e, "epsilon": eps}
    )


# ---- classify -----------------------------------------------------------------------------------


def _classify(comp: Compiled, weights: Weights, side: Side) -> Outcome:
    if comp.one_input:
        try:
            return _classify_one(comp, weights, side)
        except NotPiecewiseLinear:
            return _sampled_classify(comp, weights, side, "not piecewise linear")
    return _classify_several(comp, weights, side)


def _holds_text(side: Side, truth: bool) -> str:
    if isinstance(side, NetworkSide):
        return "that network is positive" if truth else "that network is not positive"
    return f"{side.name} {'holds' if truth else 'does not hold'}"


def _classify_text(
    comp: Compiled, point: Sequence[Any], value: Any, truth: bool, side: Side, symvals: Mapping[str, Any]
) -> str:
    sign = "> 0" if truth is False else "<= 0"
    return (
        f"at {_point_text(comp, point)}{_assignment_text(symvals)} {YOUR} gives {fmt(value)} {sign}, "
        f"but {_holds_text(side, truth)}"
    )


def _classify_one(comp: Compiled, weights: Weights, side: Side) -> Outcome:
    dom = Interval.closed(*comp.domain) if comp.domain else Interval.all()
    for values in symbol_plan(comp):
        model = model_pl(comp, weights.exact(values), values)
        positive = model.region(">") & dom
        truth = side.truth_region(values) & dom
        bad = (positive - truth) | (truth - positive)
        x = bad.simplest()
        if x is not None:
            value = model(x)
            holds_there = x in truth
            text = _classify_text(comp, (x,), value, holds_there, side, values)
            details = {
                "witness": {
                    "point": {comp.inputs[0]: fmt(x)},
                    "network": fmt(value),
                    "condition": holds_there,
                },
                "plot_data": _plot_1d(comp, model, None, None, x),
            }
            return Outcome(
                False,
                text,
                "exact: the set where the network is positive against the condition's",
                True,
                details,
            )
    method = "exact: the set where the network is positive equals the condition's"
    if comp.symbols:
        method += " for each draw of the symbols"
    return Outcome(True, "", method, True)


W = TypeVar("W")


def _region_walk(walk: Callable[[], W]) -> W | str:
    """The walk's result, or why the region walk cannot decide (then the caller samples)."""
    from grader.networks import regions_exact as rx

    try:
        return walk()
    except rx.NotPolyhedral as err:
        return f"the condition is not a union of polyhedra ({err})"
    except rx.TooManyRegions as err:
        return f"the region walk stopped: {err}"
    except (rx.NotAffine, NotExactError, NotPiecewiseLinear, NonLinearError) as err:
        return f"the network is not piecewise linear in a way the region walk handles ({err})"
    except (EvalError, ZeroDivisionError) as err:
        return f"the exact evaluation failed ({err})"


def _classify_several(comp: Compiled, weights: Weights, side: Side) -> Outcome:
    decided = _classify_regions(comp, weights, side)
    if isinstance(decided, Outcome):
        return decided
    sampled = _classify_probes(comp, weights, side)
    sampled.method += f" (not decided exactly: {decided})"
    return sampled


def _classify_regions(comp: Compiled, weights: Weights, side: Side) -> Outcome | str:
    """Decided exactly by walking the activation regions (piecewise-linear networks and
    polyhedral conditions); else the reason it could not be, as text."""
    from grader.networks import regions_exact as rx

    dim = len(comp.inputs)
    draws = symbol_plan(comp, SAMPLED_DRAWS)
    deadline = time.monotonic() + REGION_WALK_SHARE * comp.part.time_limit
    cap = rx.MAX_REGIONS
    regions = 0
    for values in draws:
        wv = weights.exact(values)

        def at(xs: list[Any], node: Any, values: Any = values) -> Any:
            point = dict(zip(comp.inputs, xs, strict=True))
            return scalar(exact_value(comp, node, {**values, **point}), "positive_when")

        def model_fn(xs: list[Any], wv: Any = wv, values: Any = values) -> Any:
            return model_exact(comp, wv, values, dict(zip(comp.inputs, xs, strict=True)))

        def condition(xs: list[Any], values: Any = values, at: Any = at) -> tuple[Any, Any]:
            if isinstance(side, NetworkSide):
                other = rx.as_aff(side.at(values, dict(zip(comp.inputs, xs, strict=True))), dim)
                return [((-other, "<"),)], [((other, "<="),)]
            if not isinstance(side, PredicateSide):
                raise rx.NotPolyhedral("no condition")
            return rx.condition_cells(side.node, lambda node: at(xs, node))

        outcome = _region_walk(
            partial(
                rx.decide_classify,
                dim,
                model_fn,
                condition,
                box=comp.domain,
                max_regions=cap - regions,
                deadline=deadline,
            )
        )
        if isinstance(outcome, str):
            return outcome
        result = outcome
        regions += result.regions
        if not result.holds:
            w = result.witness
            assert w is not None
            point = dict(zip(comp.inputs, w.point, strict=True))
            value = model_exact(comp, wv, values, point)  # the evaluator's own value, as a check
            truth = side.truth_at(values, point)
            if _positive(value) == truth or as_num(value) != w.model_value:
                return "the region walk's witness did not check out"
            text = _classify_text(comp, w.point, value, truth, side, values)
            details = {
                "witness": {
                    "point": dict(zip(comp.inputs, map(fmt, w.point), strict=True)),
                    "network": fmt(value),
                    "condition": truth,
                },
                "plot_data": _plot_2d(comp, w.point),
            }
            method = f"exact: activation region walk ({regions} regions visited)"
            return Outcome(False, text, method, True, details)
    method = f"exact: {regions} activation regions"
    if comp.symbols:
        method += f" over {len(draws)} draws of {join_names(list(comp.symbols))}"
    return Outcome(True, "", method, True, {"plot_data": _plot_2d(comp, None), "regions": regions})


def _classify_probes(comp: Compiled, weights: Weights, side: Side) -> Outcome:
    dim = len(comp.inputs)
    total = 0
    lines_checked = 0
    for values in symbol_plan(comp, SAMPLED_DRAWS):
        wv = weights.exact(values)
        net_planes = first_layer(comp, wv, values)
        boundary = side.planes(values)
        W = [list(w) for w, _ in net_planes]
        b = [c for _, c in net_planes]
        extra_W = [list(w) for w, _ in boundary]
        extra_b = [c for _, c in boundary]
        pts = probe_points(W, b, dim, comp.seed, extra_W=extra_W, extra_b=extra_b)
        if comp.domain is not None:
            pts = [p for p in pts if all(comp.domain[0] <= v <= comp.domain[1] for v in p)]

        def model_fn(p: Sequence[Fraction], wv: Any = wv, values: Any = values) -> Any:
            return model_exact(comp, wv, values, dict(zip(comp.inputs, p, strict=True)))

        def truth_fn(p: Sequence[Fraction], values: Any = values) -> bool:
            return side.truth_at(values, dict(zip(comp.inputs, p, strict=True)))

        try:
            result = check_classify(model_fn, truth_fn, pts)
        except NotExactError:
            return _sampled_classify(comp, weights, side, "values that are not rational (smooth activations)")
        total += result.checked
        if result.holds and comp.domain is None:
            lines = probe_lines(W, b, dim, comp.seed, extra_W=extra_W, extra_b=extra_b)

            def on_line(coords: list[PL], wv: Any = wv, values: Any = values) -> Any:
                return model_exact(comp, wv, values, dict(zip(comp.inputs, coords, strict=True)))

            try:
                result = check_classify_lines(on_line, truth_fn, lines, boundary=boundary)
                lines_checked += len(lines)
            except NotPiecewiseLinear:
                pass
        if not result.holds:
            w = result.witness
            assert w is not None
            text = _classify_text(comp, w.point, w.model_value, w.predicate_value, side, values)
            details = {
                "witness": {
                    "point": dict(zip(comp.inputs, map(fmt, w.point), strict=True)),
                    "network": fmt(w.model_value),
                    "condition": w.predicate_value,
                },
                "plot_data": _plot_2d(comp, w.point),
            }
            return Outcome(False, text, result.method, True, details)
    method = (
        f"exact signs at {total} probe points of the first layer's regions and the condition's boundaries"
    )
    if lines_checked:
        method += f", and exactly along {lines_checked} lines"
    return Outcome(True, "", method, False, {"plot_data": _plot_2d(comp, None)})


def _sampled_classify(comp: Compiled, weights: Weights, side: Side, why: str) -> Outcome:
    rng = np.random.default_rng(comp.seed)
    total = 0
    for values in symbol_plan(comp, SAMPLED_DRAWS):
        fvals = {k: float(v) for k, v in values.items()}
        if comp.one_input:
            points = {comp.inputs[0]: _sample_points(comp, _kinks_1d(comp, weights, values), rng)}
        else:
            points = _sample_box(comp, weights, values, rng)
        m = model_floats(comp, weights.floats(values), fvals, points)
        truth = side.truth_floats(fvals, points)
        bad = (m > 0) != truth
        total += len(m)
        if bad.any():
            i = int(np.argmax(bad))
            point = tuple(float(points[n][i]) for n in comp.inputs)
            text = _classify_text(comp, point, m[i], bool(truth[i]), side, values)
            return Outcome(False, text, f"float sampling ({why})", False)
    return Outcome(True, "", f"float sampling at {total} points ({why})", False)


# ---- plot data ----------------------------------------------------------------------------------


def _plot_1d(
    comp: Compiled,
    model: PL,
    target: PL | None,
    target_fn: Callable[[np.ndarray], np.ndarray] | None,
    witness: Any,
) -> dict[str, Any]:
    """Curves for a reporter: the network's knots, the target's knots or samples."""
    if comp.domain is not None:
        lo, hi = float(comp.domain[0]), float(comp.domain[1])
    else:
        marks = [float(t) for t in model.breakpoints]
        if target is not None:
            marks += [float(t) for t in target.breakpoints]
        if witness is not None:
            marks.append(float(witness))
        marks = [m for m in marks if math.isfinite(m)] or [0.0]
        lo, hi = min(marks), max(marks)
        pad = max(1.0, 0.25 * (hi - lo))
        lo, hi = lo - pad, hi + pad

    def knots(f: PL) -> list[list[float]]:
        xs = sorted({lo, hi, *(float(t) for t in f.breakpoints if lo <= float(t) <= hi)})
        return [[x, float(f(Fraction(x)) if comp.domain is None else f(_clamp(comp, x)))] for x in xs]

    data: dict[str, Any] = {
        "kind": "curve",
        "input": comp.inputs[0],
        "window": [lo, hi],
        "network": knots(model),
    }
    if target is not None:
        data["target"] = knots(target)
    elif target_fn is not None:
        xs = np.linspace(lo, hi, PLOT_POINTS)
        try:
            ys = target_fn(xs)
            data["target"] = [[float(a), float(b)] for a, b in zip(xs, ys, strict=True) if math.isfinite(b)]
        except (MathError, CheckUndecided):
            pass
    if witness is not None:
        data["witness"] = float(witness)
    if comp.epsilon is not None:
        data["epsilon"] = float(comp.epsilon)
    return data


def _clamp(comp: Compiled, x: float) -> Fraction:
    assert comp.domain is not None
    v = Fraction(x)
    return min(max(v, comp.domain[0]), comp.domain[1])


def _plot_2d(comp: Compiled, witness: Sequence[Any] | None) -> dict[str, Any]:
    window = 3.0
    if witness is not None:
        window = max(window, 1.5 * max(abs(float(v)) for v in witness))
    data: dict[str, Any] = {"kind": "sign", "inputs": list(comp.inputs), "window": [-window, window]}
    if witness is not None:
        data["witness"] = [float(v) for v in witness]
    return data


__all__ = ["Outcome", "affine_planes", "check", "decide", "point_key", "symbol_plan"]
