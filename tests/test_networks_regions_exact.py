"""Several inputs decided exactly by walking activation regions (grader/networks/regions_exact.py)."""

from __future__ import annotations

import time
from fractions import Fraction as F
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_budget import examples
from pydantic import TypeAdapter

from grader.core.verdict import Status, Witness
from grader.loading import load_problem_set
from grader.mathlang.parser import parse
from grader.networks import regions_exact as rx
from grader.networks.affine import Aff, NotPolyhedral, Point, TooManyRegions, as_aff
from grader.networks.cells import Atom, Cells, condition_cells, holds_at
from grader.networks.intervals import Interval, simplest_in, simplicity_key
from grader.networks.systems import Bounds, ExactLP, Lin, System, add_atoms
from grader.spec import Part
from grader.types.network import NetworkPart, classify, walk
from grader.types.network import checker as network
from grader.types.network.compile import compile_part
from grader.types.network.sides import reference_side
from grader.types.network.weights import Weights, read_answer

ROOT = Path(__file__).resolve().parent.parent
PART: TypeAdapter[Any] = TypeAdapter(Part)
A2 = {
    pid: part
    for pid, _, part in load_problem_set(ROOT / "problems" / "approximation-backprop-cifar.yaml").iter_parts()
}


@pytest.fixture(autouse=True)
def _decided_afresh() -> None:
    """A part's decision is kept by its weights' values (issue 59): a test that makes the walk
    stop early (a smaller cap, no time share) must not be answered by an earlier test's."""
    network.forget_decisions()


def _witness(verdict: Any) -> Witness:
    assert verdict.witness is not None
    return verdict.witness


def _part(**fields: Any) -> NetworkPart:
    part = PART.validate_python({"id": "p", "type": "network", **fields})
    assert isinstance(part, NetworkPart)
    return part


XOR = {
    "W1": [[-1, 0], [0, 1], [1, 0], [0, -1]],
    "b1": [0, 0, 0, 0],
    "W2": [[1, -1, 0, 0], [0, 0, 1, -1]],
    "b2": [0, 0],
    "W3": [[1, 0, 1, 0, -1, -1]],
    "b3": [0],
}


# ---- seed 002 through the checker ------------------------------------------------------------


@pytest.mark.parametrize("pid", ["q7.or", "q7.xor"])
def test_seed_002_decided_exactly(pid: str) -> None:
    part = A2[pid]
    verdict = network.check(part, part.answer)
    assert verdict.status is Status.CORRECT
    assert verdict.decision.exact is True
    assert "not a proof" not in verdict.feedback and "sampling" not in verdict.feedback
    assert verdict.decision.method.startswith("exact: ")
    assert "activation regions" in verdict.decision.method


def test_seed_002_xor_mistakes_have_simple_witnesses() -> None:
    part = A2["q7.xor"]
    dropped = network.check(part, {**XOR, "W3": [[1, 0, 1, 0, -1, 0]]})
    assert dropped.status is Status.INCORRECT and dropped.decision.exact is True
    assert dropped.feedback == "at (x1, x2) = (1, 0) your network gives 1 > 0, but x1*x2 < 0 does not hold"
    assert dropped.witness == Witness(point={"x1": "1", "x2": "0"}, received="1", condition=False)
    flipped = network.check(part, {**XOR, "W3": [[-1, 0, -1, 0, 1, 1]]})
    assert flipped.status is Status.INCORRECT and "holds" in flipped.feedback


def test_seed_002_or_wrong_bias() -> None:
    part = A2["q7.or"]
    verdict = network.check(part, {"W1": [[1, 0], [0, 1]], "b1": [0, 0], "W2": [[1, 1]], "b2": [1]})
    assert verdict.status is Status.INCORRECT
    assert (
        verdict.feedback
        == "at (x1, x2) = (0, 0) your network gives 1 > 0, but x1 > 0 or x2 > 0 does not hold"
    )


# ---- a failure confined to a sliver far from every probe point ------------------------------

S = "relu(W1 [x1, x2] + b1)"
SLIVER = _part(
    input=["x1", "x2"],
    params={
        "W1": [4, 2],
        "b1": [4],
        "W2": [2, 4],
        "b2": [2],
        "W3": [1, 6],
        "b3": [1],
        "W4": [3, 4],
        "b4": [3],
        "u": [3],
        "c": [],
        "a": [],
    },
    # XOR plus a third-layer unit a relu(c - u . relu(W4 s + b4)); its kinks are not
    # first-layer hyperplanes, so the region probes do not see them
    model=f"W3 concat({S}, relu(W2 {S} + b2)) + b3 + a relu(c - u . relu(W4 {S} + b4))",
    mode="classify",
    positive_when="x1*x2 < 0",
    answer={**XOR, "W4": [[0] * 4] * 3, "b4": [0] * 3, "u": [0] * 3, "c": 0, "a": 0},
)
# relu(1/100 - relu(50 - x1) - relu(71 - x2) - relu(x1 + x2 - 121)) in the first quadrant:
# positive only in a triangle of size about 1/100 around (50, 71), where x1*x2 < 0 fails
BROKEN = {
    **XOR,
    "W4": [[0, 0, -1, 0], [0, -1, 0, 0], [0, 1, 1, 0]],
    "b4": [50, 71, -121],
    "u": [1, 1, 1],
    "c": "1/100",
    "a": 1000,
}


def test_sliver_is_missed_by_probes_and_caught_exactly() -> None:
    comp = compile_part(SLIVER)
    weights = read_answer(comp, BROKEN)
    assert not isinstance(weights, type(None))
    assert isinstance(weights, Weights)
    probes = classify._probes(comp, weights, reference_side(comp))
    assert probes.holds and probes.exact is False  # sampling misses the sliver
    verdict = network.check(SLIVER, BROKEN)
    assert verdict.status is Status.INCORRECT and verdict.decision.exact is True
    witness = _witness(verdict)
    x1, x2 = (F(witness.point[k]) for k in ("x1", "x2"))
    assert abs(x1 - 50) + abs(x2 - 71) < F(1, 50)  # inside the sliver
    assert F(str(witness.received)) > 0 and witness.condition is False
    assert verdict.feedback == "at (x1, x2) = (50, 71) your network gives 10 > 0, but x1*x2 < 0 does not hold"


def test_sliver_unit_switched_off_is_correct() -> None:
    verdict = network.check(SLIVER, {**BROKEN, "a": 0})
    assert verdict.status is Status.CORRECT and verdict.decision.exact is True


# ---- strictness on boundaries ----------------------------------------------------------------

ABS_X1 = {"W": [[1, 0], [-1, 0]], "v": [1, 1], "c": 0}  # |x1|
ONE_LAYER = {
    "input": ["x1", "x2"],
    "params": {"W": [2, 2], "v": [2], "c": []},
    "model": "v . relu(W [x1, x2]) + c",
    "answer": ABS_X1,
}
X1 = {"W": [[1, 0], [-1, 0]], "v": [1, -1], "c": 0}  # x1
RELU_X1 = {"W": [[1, 0], [0, 0]], "v": [1, 0], "c": 0}  # relu(x1)


def test_zero_on_the_axis_where_the_condition_fails_is_fine() -> None:
    part = _part(**ONE_LAYER, mode="classify", positive_when="x1 < 0 or x1 > 0")
    verdict = network.check(part, ABS_X1)
    assert verdict.status is Status.CORRECT and verdict.decision.exact is True
    strict = _part(**ONE_LAYER, mode="classify", positive_when="x1 > 0")
    assert network.check(strict, RELU_X1).status is Status.CORRECT
    assert network.check(strict, X1).status is Status.CORRECT


def test_positive_on_the_axis_where_the_condition_fails_is_caught() -> None:
    part = _part(**ONE_LAYER, mode="classify", positive_when="x1 < 0 or x1 > 0")
    verdict = network.check(part, {**ABS_X1, "c": "1/2"})  # wrong only on the line x1 = 0
    assert verdict.status is Status.INCORRECT and verdict.decision.exact is True
    assert verdict.witness == Witness(point={"x1": "0", "x2": "0"}, received="1/2", condition=False)


def test_zero_where_a_closed_condition_holds_is_caught() -> None:
    part = _part(**ONE_LAYER, mode="classify", positive_when="x1 >= 0")
    verdict = network.check(part, X1)
    assert verdict.status is Status.INCORRECT
    assert verdict.feedback == "at (x1, x2) = (0, 0) your network gives 0 <= 0, but x1 >= 0 holds"
    not_equal = _part(**ONE_LAYER, mode="classify", positive_when="x1 != 0")
    assert network.check(not_equal, ABS_X1).status is Status.CORRECT


def test_xor_zero_on_both_axes() -> None:
    # the seed XOR net is 0 on both axes, where x1*x2 < 0 fails: correct only if the
    # boundaries are handled strictly; a net positive on an axis is caught there
    assert network.check(A2["q7.xor"], XOR).status is Status.CORRECT
    axis = network.check(A2["q7.xor"], {**XOR, "W2": [[0] * 4] * 2, "W3": [[1, 0, 1, 0, 0, 0]]})
    assert axis.status is Status.INCORRECT and axis.decision.exact is True
    assert _witness(axis).condition is False


# ---- fallbacks -------------------------------------------------------------------------------


def test_condition_that_is_not_polyhedral_is_sampled() -> None:
    part = _part(**ONE_LAYER, mode="classify", positive_when="x1^2 + x2^2 > 0")
    verdict = network.check(part, ABS_X1)
    assert verdict.status is Status.INCORRECT  # |x1| is 0 at (0, 1)
    good = _part(**ONE_LAYER, mode="classify", positive_when="x1^2 + x2^2 + 1 > 0")
    verdict = network.check(good, {"W": [[0, 0], [0, 0]], "v": [0, 0], "c": 1})
    assert verdict.status is Status.CORRECT and verdict.decision.exact is False
    assert "checked by sampling (not a proof)" in verdict.feedback
    assert "not decided exactly: the condition is not a union of polyhedra" in verdict.decision.method


def test_region_cap_falls_back_to_sampling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rx, "MAX_REGIONS", 2)
    verdict = network.check(A2["q7.xor"], XOR)
    assert verdict.status is Status.CORRECT and verdict.decision.exact is False
    assert "checked by sampling (not a proof)" in verdict.feedback
    method = verdict.decision.method
    assert "probe points" in method and "more than 2 activation regions" in method


def test_time_budget_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(walk, "REGION_WALK_SHARE", 0.0)
    verdict = network.check(A2["q7.xor"], XOR)
    assert verdict.status is Status.CORRECT and verdict.decision.exact is False
    assert "time budget" in verdict.decision.method


def test_smooth_and_step_activations_are_not_walked() -> None:
    base = {
        "input": ["x1", "x2"],
        "params": {"w": [2]},
        "mode": "classify",
        "positive_when": "x1 + x2 > 0",
        "answer": {"w": [1, 1]},
    }
    smooth = network.check(_part(**base, model="tanh(w . [x1, x2])"), {"w": [1, 1]})
    assert smooth.status is Status.CORRECT and smooth.decision.exact is False
    step = network.check(_part(**base, model="heaviside(w . [x1, x2], 0) - 1/2"), {"w": [1, 1]})
    assert step.decision.exact is False
    assert "not piecewise linear in a way the region walk handles" in step.decision.method


# ---- other activations, domains, symbols, mistakes --------------------------------------------


def test_abs_max_min_leaky() -> None:
    base = {"input": ["x1", "x2"], "params": {"a": []}, "mode": "classify", "answer": {"a": 0}}
    cases = [
        ("abs(x1) + abs(x2) - a", "abs(x1) + abs(x2) > 1", 1, True),
        ("max(x1, x2) - a", "x1 > 0 or x2 > 0", 0, True),
        ("min(x1, x2) + a", "x1 > 0 and x2 > 0", 0, True),
        ("leaky_relu(x1, 1/10) + a relu(x2)", "x1 > 0 or (x1 <= 0 and x2 > 0)", 0, False),
        ("leaky_relu(x1, 1/10) + a relu(x2)", "x1 > 0 or (x1 <= 0 and 10 x2 + x1 > 0)", 1, True),
    ]
    for model, condition, a, ok in cases:
        verdict = network.check(_part(**base, model=model, positive_when=condition), {"a": a})
        assert verdict.decision.exact is True, (model, verdict.decision.method)
        assert (verdict.status is Status.CORRECT) == ok, (model, condition, verdict.feedback)


def test_bounded_domain() -> None:
    part = _part(**ONE_LAYER, domain=[0, 1], mode="classify", positive_when="x1 > 0")
    verdict = network.check(part, RELU_X1)
    assert verdict.status is Status.CORRECT and verdict.decision.exact is True
    shifted = network.check(part, {**RELU_X1, "c": "-1/2"})
    assert shifted.status is Status.INCORRECT
    x1 = F(_witness(shifted).point["x1"])
    assert 0 < x1 <= F(1, 2)


def test_symbols_per_draw() -> None:
    part = _part(
        input=["x1", "x2"],
        params={"w": [2]},
        symbols={"m": "positive"},
        model="relu(w . [x1, x2])",
        mode="classify",
        positive_when="m x1 + x2 > 0",
        answer={"w": ["m", 1]},
    )
    verdict = network.check(part, {"w": ["m", 1]})
    # decided exactly at each draw of m, but m was only sampled: probes (issue 47, item 11)
    assert verdict.status is Status.CORRECT and verdict.decision.exact is False
    assert verdict.decision.certificate.value == "probes"
    assert "draws of m" in verdict.decision.method
    assert network.check(part, {"w": [1, 1]}).status is Status.INCORRECT


def test_mistakes_are_matched_exactly() -> None:
    part = A2["q7.xor"]
    same = {**XOR, "W1": [[-2, 0], [0, 2], [2, 0], [0, -2]], "W3": [[1, 0, 1, 0, -1, -1]]}
    assert network.same_answer(part, XOR, same)
    assert not network.same_answer(part, XOR, {**XOR, "W3": [[1, 0, 1, 0, -1, 0]]})


# ---- the module on its own --------------------------------------------------------------------


def _xs(n: int = 2) -> list[Aff]:
    return [Aff.variable(i, n) for i in range(n)]


def _cells(text: str) -> tuple[Cells, Cells]:
    node = parse(text, symbols=("x1", "x2"))
    xs = _xs()

    def evaluate(sub: Any) -> Any:
        from grader.mathlang.evaluate import evaluate_exact

        return evaluate_exact(sub, {"x1": xs[0], "x2": xs[1]})

    return condition_cells(node, evaluate)


def test_product_cells() -> None:
    yes, no = _cells("x1*x2 < 0")
    assert len(yes) == 2 and len(no) == 2
    for p, want in [((1, -1), True), ((-2, 3), True), ((1, 0), False), ((0, 0), False), ((2, 2), False)]:
        q = tuple(F(v) for v in p)
        assert holds_at(yes, q) is want and holds_at(no, q) is not want
    yes, no = _cells("-2 (x1 - 1) x2^2 >= 0")
    for p in [(0, 0), (1, 5), (2, 0), (2, 1), (-3, 1)]:
        q = tuple(F(v) for v in p)
        want = -2 * (q[0] - 1) * q[1] ** 2 >= 0
        assert holds_at(yes, q) is want and holds_at(no, q) is not want
    with pytest.raises(NotPolyhedral):
        _cells("x1*x2 < 1")
    with pytest.raises(NotPolyhedral):
        _cells("x1^2 + x2 > 0")


def test_strict_feasibility_without_epsilon() -> None:
    lp = ExactLP()
    e1 = (F(1), F(0))
    # x1 <= 0 and x1 >= 0 is a line; x1 < 0 and x1 >= 0 is empty
    closed = System([(e1, F(0)), ((F(-1), F(0)), F(0))], [], [])
    assert lp.solve(2, closed) is not None
    strict = System([((F(-1), F(0)), F(0))], [(e1, F(0))], [])
    assert lp.solve(2, strict) is None
    thin = System([((F(-1), F(0)), F(0))], [(e1, F(1, 10**9))], [])
    found = lp.solve(2, thin)
    assert found is not None and 0 <= found[1][0] < F(1, 10**9)
    assert rx.simple_point(2, thin, [0, 1]) == (F(0), F(0))


def test_walk_counts_only_realised_patterns() -> None:
    def model(xs: list[Aff]) -> Any:
        # 3 parallel kinks: 4 regions of the plane, not 2^3 patterns
        return sum((abs(xs[0] - k) for k in (0, 1, 2)), F(0)) - 3

    result = rx.decide_classify(2, model, lambda xs: ([((-(model(xs)), "<"),)], [((model(xs), "<="),)]))
    assert result.holds and result.regions == 4
    with pytest.raises(TooManyRegions):
        rx.decide_classify(2, model, lambda xs: ([], [()]), max_regions=3)
    with pytest.raises(TooManyRegions):
        rx.decide_classify(2, model, lambda xs: ([], [()]), deadline=time.monotonic() - 1)


def test_decide_equal() -> None:
    def relu_sum(xs: list[Aff]) -> Any:
        return xs[0].relu() + xs[1].relu()

    def via_abs(xs: list[Aff]) -> Any:
        return (xs[0] + abs(xs[0]) + xs[1] + abs(xs[1])) / 2

    result = rx.decide_equal(2, relu_sum, via_abs)
    assert result.equal and result.regions >= 4

    def off(xs: list[Aff]) -> Any:
        return via_abs(xs) + (xs[0] - 7).relu() * F(1, 1000)

    result = rx.decide_equal(2, relu_sum, off)
    assert not result.equal and result.witness is not None
    assert result.witness.point[0] > 7 and result.witness.model_value != result.witness.target_value


def test_decide_equal_within_a_tolerance() -> None:
    def relu_sum(xs: list[Aff]) -> Any:
        return xs[0].relu() + xs[1].relu()

    def off(xs: list[Aff]) -> Any:  # 1/1000 of (x1 - 7) more, for x1 > 7
        return relu_sum(xs) + (xs[0] - 7).relu() * F(1, 1000)

    relative = rx.decide_equal(2, relu_sum, off, tolerance=(F(0), F(1, 100)))
    assert relative.equal  # (x1 - 7)/1000 <= |x1 + relu(x2)|/100 wherever x1 > 7
    absolute = rx.decide_equal(2, relu_sum, off, tolerance=(F(1, 2), F(0)))
    assert not absolute.equal and absolute.witness is not None
    w = absolute.witness
    assert abs(w.model_value - w.target_value) > F(1, 2) and w.point[0] > 507


# ---- the cheap screens before each linear program ---------------------------------------------


def _rows(*rows: tuple[tuple[int, ...], int]) -> list[Lin]:
    return [(tuple(F(v) for v in a), F(b)) for a, b in rows]


def _atom(coef: tuple[int, ...], const: int, kind: str) -> Atom:
    """``coef . x + const  kind  0``."""
    xs = [Aff.variable(i, len(coef)) for i in range(len(coef))]
    return (as_aff(sum((c * x for c, x in zip(coef, xs, strict=True)), F(const)), len(coef)), kind)


def _no_point(dim: int, region: list[Lin], atoms: list[Atom]) -> bool:
    return ExactLP().solve(dim, add_atoms(System(region, [], []), atoms)) is None


@pytest.mark.parametrize(
    ("atoms", "excluded"),
    [
        ([_atom((1, 0), 0, "<=")], False),  # x1 <= 0 meets x1 >= 0 at x1 = 0
        ([_atom((1, 0), 0, "<")], True),  # x1 < 0 does not: the two rows sum to 0 < 0
        ([_atom((1, 0), 0, "=")], False),
        ([_atom((1, 1), 0, "<=")], False),  # x1 + x2 <= 0 at the origin
        ([_atom((1, 1), 0, "<")], True),  # the least of x1 + x2 over the box x >= 0 is 0, reached
        ([_atom((-1, 0), 0, "<"), _atom((1, 1), 0, "<=")], True),  # x1 > 0: then x1 + x2 > 0
        ([_atom((-1, 0), 0, "<"), _atom((1, -1), 0, "<=")], False),  # x1 > 0, x2 >= x1: a point
        ([_atom((0, 0), 1, "<=")], True),  # 1 <= 0
        ([_atom((0, 0), 0, "<=")], False),
    ],
)
def test_screens_rule_out_only_empty_systems(atoms: list[Atom], excluded: bool) -> None:
    """The region x1 >= 0, x2 >= 0: the screens say "no point" exactly when a row or two prove
    it (strict and closed rows told apart); the exact simplex agrees wherever they do."""
    region = _rows(((-1, 0), 0), ((0, -1), 0))
    bounds = Bounds(2, System(region, [], []).le)
    assert bounds.excludes_atoms(atoms) is excluded
    if excluded:
        assert _no_point(2, region, atoms)


_COEF = st.integers(-2, 2)


@st.composite
def _screened(draw: st.DrawFn) -> tuple[int, list[Lin], list[Atom]]:
    dim = draw(st.integers(1, 3))
    vector = st.tuples(*[_COEF] * dim)
    region = [(tuple(F(v) for v in a), F(b)) for a, b in draw(st.lists(st.tuples(vector, _COEF), max_size=5))]
    kinds = st.sampled_from(["<", "<=", "="])
    raw = draw(st.lists(st.tuples(vector, _COEF, kinds), min_size=1, max_size=3))
    return dim, region, [_atom(a, c, kind) for a, c, kind in raw]


@given(_screened())
@settings(max_examples=examples(300), deadline=None)
def test_what_the_screens_rule_out_has_no_point(case: tuple[int, list[Lin], list[Atom]]) -> None:
    dim, region, atoms = case
    if not ExactLP().solve(dim, System(region, [], [])):
        return  # the region is meant to have points (the walk's do)
    if Bounds(dim, System(region, [], []).le).excludes_atoms(atoms):
        assert _no_point(dim, region, atoms)


@st.composite
def _classifiers(draw: st.DrawFn) -> tuple[int, Any, Any, Any]:
    """A random small ReLU net, a condition 'some a . x + c + k relu(e . x) > 0', maybe a box."""
    dim = draw(st.integers(2, 3))
    vector = st.lists(_COEF, min_size=dim, max_size=dim)
    units = draw(st.lists(st.tuples(vector, _COEF, _COEF), min_size=1, max_size=4))
    out = draw(_COEF)
    atoms = draw(st.lists(st.tuples(vector, _COEF), min_size=1, max_size=2))
    kink = draw(st.tuples(_COEF, vector))  # k relu(e . x) in the condition: it asks the walk for sides
    box = draw(st.sampled_from([None, (F(-2), F(3))]))

    def model(xs: list[Aff]) -> Any:
        total: Any = F(out)
        for w, b, v in units:
            total = total + v * (sum((c * x for c, x in zip(w, xs, strict=True)), F(0)) + b).relu()
        return total

    def condition(xs: list[Aff]) -> tuple[Cells, Cells]:
        k, e = kink
        bent = k * sum((c * x for c, x in zip(e, xs, strict=True)), F(0)).relu()
        fs = [sum((c * x for c, x in zip(a, xs, strict=True)), F(b)) + bent for a, b in atoms]
        fs = [f if isinstance(f, Aff) else as_aff(f, dim) for f in fs]
        return [((-f, "<"),) for f in fs], [tuple((f, "<=") for f in fs)]

    return dim, model, condition, box


@given(_classifiers())
@settings(max_examples=examples(60), deadline=None)
def test_the_walk_decides_the_same_with_and_without_its_screens(case: tuple[int, Any, Any, Any]) -> None:
    """The screens (two rows, the box, a step along a plane's normal) only spare programs: the
    regions visited, the verdict and the witness are those of the exact simplex alone."""
    dim, model, condition, box = case
    screened = rx.decide_classify(dim, model, condition, box=box)
    with (
        patch.object(Bounds, "excludes_atoms", return_value=False),
        patch.object(rx._Walk, "_along_normal", return_value=False),
    ):
        plain = rx.decide_classify(dim, model, condition, box=box)
    assert (screened.holds, screened.witness, screened.regions) == (plain.holds, plain.witness, plain.regions)
    assert screened.lps <= plain.lps
    unmade = rx.decide_classify(dim, model, condition, box=box, witness=False)
    assert unmade.holds == plain.holds and unmade.witness is None and unmade.regions == plain.regions
    if not unmade.holds:
        assert rx.simplest_failure(dim, unmade.failures) == plain.witness


def test_a_side_blocked_at_the_point_is_not_walked_into() -> None:
    """Three kinks through the origin (x1 + x2, x1 - x2, x1) make 6 regions of the plane: in the
    cone x1 + x2 <= 0, x1 - x2 <= 0 the side x1 > 0 is empty, though nothing along x1's normal
    shows it at once (a row of the cone blocks that step; the exact simplex decides)."""

    def model(xs: list[Aff]) -> Any:
        x1, x2 = xs
        return (x1 + x2).relu() + (x1 - x2).relu() + x1.relu() - 1

    result = rx.decide_classify(2, model, lambda xs: ([((-(model(xs)), "<"),)], [((model(xs), "<="),)]))
    assert result.holds and result.regions == 6


def test_a_condition_with_a_kink_is_split_again_in_every_region() -> None:
    """``x2 > relu(x1)`` asks the walk for the side of x1: its cells are made in each region
    (kept only for a condition that asks for no side)."""

    def condition(xs: list[Aff]) -> tuple[Cells, Cells]:
        f = xs[1] - xs[0].relu()
        return [((-f, "<"),)], [((f, "<="),)]

    right = rx.decide_classify(2, lambda xs: xs[1] - xs[0].relu(), condition)
    assert right.holds and right.regions == 2
    wrong = rx.decide_classify(2, lambda xs: xs[1] - xs[0], condition)  # wrong where x1 < 0
    assert not wrong.holds and wrong.witness is not None and wrong.witness.point[0] < 0


@given(_classifiers(), st.sampled_from([(F(0), F(0)), (F(1, 2), F(0)), (F(0), F(1, 10))]))
@settings(max_examples=examples(40), deadline=None)
def test_equality_walk_decides_the_same_with_and_without_its_screens(
    case: tuple[int, Any, Any, Any], tolerance: tuple[F, F]
) -> None:
    """The net against itself with one unit's output weight moved by 1: the same regions,
    verdict and witness with the screens as with the exact simplex alone."""
    dim, model, _, box = case

    def moved(xs: list[Aff]) -> Any:
        return model(xs) + xs[0].relu()

    screened = rx.decide_equal(dim, model, moved, box=box, tolerance=tolerance)
    with (
        patch.object(Bounds, "excludes_atoms", return_value=False),
        patch.object(rx._Walk, "_along_normal", return_value=False),
    ):
        plain = rx.decide_equal(dim, model, moved, box=box, tolerance=tolerance)
    assert (screened.equal, screened.witness, screened.regions) == (plain.equal, plain.witness, plain.regions)
    assert screened.lps <= plain.lps


def _simple_point_by_programs(dim: int, sys: System, order: list[int]) -> Point:
    """simple_point as it was: every value tried by an exact linear program."""
    lp = ExactLP()
    fixed: dict[int, F] = {}
    for i in order:
        e = tuple(F(int(j == i)) for j in range(dim))
        low, high = rx._bound(lp, dim, sys, tuple(-v for v in e), None), rx._bound(lp, dim, sys, e, None)
        lo, hi = (None if low is None else -low[0]), (None if high is None else high[0])
        if lo is not None and lo == hi:
            candidates = [lo]
        else:
            candidates = [simplest_in(Interval.open(lo, hi)), *[v for v in (lo, hi) if v is not None]]
            candidates.sort(key=simplicity_key)
        for v in candidates:
            trial = sys.with_rows(eq=[(e, v)])
            if lp.solve(dim, trial) is not None:
                sys, fixed[i] = trial, v
                break
    return tuple(fixed[i] for i in range(dim))


@given(_screened(), st.booleans())
@settings(max_examples=examples(200), deadline=None)
def test_simple_point_is_the_point_the_programs_alone_give(
    case: tuple[int, list[Lin], list[Atom]], reverse: bool
) -> None:
    """A value is tried by a point on a segment of the system before any program: the same
    simple point as when every value is tried by a program, and a point of the system."""
    dim, region, atoms = case
    sys = add_atoms(System(region, [], []), atoms)
    if any(not any(a) for a, _ in [*sys.le, *sys.lt, *sys.eq]):
        return  # a row 0 <= b: the exact simplex fails on some (IndexError; the walk makes none)
    if ExactLP().solve(dim, sys) is None:
        return
    order = list(reversed(range(dim))) if reverse else list(range(dim))
    found = rx.simple_point(dim, sys, order)
    assert found == _simple_point_by_programs(dim, sys, order)
    assert sys.contains(found)
