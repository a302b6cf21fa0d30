"""The `network` checker (grader/types/network/): seeds 000 and 002, methods, typed
details, shapes and plot data. Verdict tables are in tests/cases/network.yaml;
speed is measured in benchmarks/bench_networks.py."""

from __future__ import annotations

import gc
import random
import weakref
from fractions import Fraction as F
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_budget import examples
from pydantic import TypeAdapter

from grader.core.deferred import loaded
from grader.core.plotdata import CurvePlot, PlanePlot
from grader.core.verdict import AnswerError, Status, Witness
from grader.engine import check_part, grade
from grader.loading import load_problem_set, load_submission
from grader.reporting.plots import render_plot_svg
from grader.selftest import validate_problem_set
from grader.spec import Part
from grader.types import ANSWER_TYPES
from grader.types.network import NetworkPart, classify
from grader.types.network import checker as network
from grader.types.network import walk as network_walk
from grader.types.network.compile import compile_part
from grader.types.network.sides import reference_side
from grader.types.network.weights import IMPOSSIBLE, Weights, is_impossible, read_answer

ROOT = Path(__file__).resolve().parent.parent
PART: TypeAdapter[Any] = TypeAdapter(Part)


def _problem(name: str) -> dict[str, Any]:
    spec = load_problem_set(ROOT / "problems" / f"{name}.yaml")
    return {pid: part for pid, _, part in spec.iter_parts()}


def _part(**fields: Any) -> NetworkPart:
    part = PART.validate_python({"id": "p", "type": "network", **fields})
    assert isinstance(part, NetworkPart)
    return part


@pytest.fixture(autouse=True)
def _decided_afresh() -> None:
    """A part's decision is kept by its weights' values (issue 59): a test that makes the walk
    stop early (a smaller cap, no time share) must not be answered by an earlier test's."""
    network.forget_decisions()


A0 = _problem("attention-approximation")
A2 = _problem("approximation-backprop-cifar")


def test_registered() -> None:
    assert loaded(ANSWER_TYPES["network"].check) is network.check  # named, imported when first used


# ---- the seeds, through the engine ---------------------------------------------------------------


def _statuses(problem: str, folder: str) -> dict[str, Status]:
    spec = load_problem_set(ROOT / "problems" / f"{problem}.yaml")
    report = grade(spec, load_submission(ROOT / "submissions" / problem / folder))
    return {p.id: p.status for p in report.parts if p.type == "network"}


def test_seed_000() -> None:
    got = _statuses("attention-approximation", "seed-000")
    assert got == {
        "approx.linear": Status.INCORRECT,
        "approx.square_interval_weights": Status.MISSING,
        "approx.square_all_reals": Status.CORRECT,
        "approx.identity": Status.INCORRECT,
        "approx.piecewise": Status.INVALID,
    }


def test_seed_000_feedback() -> None:
    linear = A0["approx.linear"]
    first = check_part(linear, {"w0": "[m, 0]^T", "b0": "[b, 0]^T", "w1": "[1, 0]^T"})
    assert first.mistake is True
    assert "at x = -1 (m = 1, b = 0) your network gives 0, the target -1" in first.feedback
    second = check_part(linear, {"w0": "[1, 1]^T", "b0": "[0, 0]^T", "w1": "[m, 0]^T"})
    assert second.status is Status.INCORRECT
    assert second.feedback == "at x = 0 (m = 0, b = 1) your network gives 0, the target 1"
    assert second.witness == Witness(
        point={"x": "0"}, received="0", expected="1", symbols={"m": "0", "b": "1"}
    )
    identity = check_part(A0["approx.identity"], "impossible")
    assert identity.status is Status.INCORRECT and "such weights exist" in identity.feedback
    piecewise = check_part(
        A0["approx.piecewise"],
        load_submission(ROOT / "submissions/attention-approximation/seed-000").answers["approx.piecewise"],
    )
    assert piecewise.status is Status.INVALID
    assert "expected values for w0, b0 and w1" in piecewise.feedback


def test_seed_000_second_attempt() -> None:
    got = _statuses("attention-approximation", "seed-000-second-attempt")
    assert got["approx.linear"] is Status.INCORRECT


def test_seed_002() -> None:
    got = _statuses("approximation-backprop-cifar", "seed-002")
    assert got == {"q7.or": Status.CORRECT, "q7.xor": Status.CORRECT}


@pytest.mark.parametrize("name", ["attention-approximation", "approximation-backprop-cifar"])
def test_problem_files_validate(name: str) -> None:
    spec = load_problem_set(ROOT / "problems" / f"{name}.yaml")
    network_ids = {pid for pid, _, part in spec.iter_parts() if part.type == "network"}
    problems = [p for p in validate_problem_set(spec) if p.split(":")[0] in network_ids]
    assert problems == []


# ---- methods and details ------------------------------------------------------------------------


def test_exact_method_and_plot_data() -> None:
    part = A0["approx.piecewise"]
    verdict = network.check(part, {"w0": [1, 1, 1], "b0": [2, 0, -2], "w1": [3, -6, 2]})
    assert verdict.status is Status.INCORRECT
    assert verdict.decision is not None and verdict.decision.exact is True
    assert "every breakpoint" in verdict.decision.method
    plot = verdict.plot
    assert isinstance(plot, CurvePlot) and plot.target is not None
    assert plot.xs[0] <= -2 and plot.xs[-1] >= 2 and plot.witness == 3.0
    at_two = plot.xs.index(2.0)  # the target's knot at x = 2 is a grid point
    assert plot.target[at_two] == 0.0 and plot.network[at_two] == 0.0
    at_witness = plot.xs.index(3.0)
    assert plot.network[at_witness] == -1.0 and plot.target[at_witness] == 0.0


def test_non_piecewise_target_uses_compare_expr() -> None:
    verdict = network.check(A0["approx.square_all_reals"], {"w0": [1, -1], "w1": [1, 1]})
    assert verdict.decision is not None and verdict.decision.exact is True
    assert "witness" in verdict.decision.method
    assert verdict.witness == Witness(point={"x": "2"}, received="2", expected="4")


class _Sheet:
    """What a worker holds while it checks a sheet's answers (its report, page and plots)."""


def test_checks_against_a_target_that_is_not_piecewise_linear_keep_nothing_of_their_callers() -> None:
    # The part remembers that x^2 is not piecewise linear. It kept the exception and raised it
    # again at each check, so the exception's traceback grew by each check's frames: a pool
    # worker of the service kept every sheet it had graded, a few hundred KB each.
    part = A0["approx.square_interval_weights"]
    sheets: list[weakref.ref[_Sheet]] = []

    def grade_sheet() -> Status:
        sheet = _Sheet()
        sheets.append(weakref.ref(sheet))
        return check_part(part, part.answer).status

    assert [grade_sheet() for _ in range(20)] == [Status.CORRECT] * 20
    gc.collect()
    assert sum(sheet() is not None for sheet in sheets) == 0


def test_approx_details() -> None:
    part = A0["approx.square_interval_weights"]
    verdict = network.check(part, part.answer)
    assert verdict.status is Status.CORRECT
    assert verdict.decision is not None and verdict.decision.exact is True
    assert verdict.decision.largest_error == pytest.approx(1 / 256)


def test_epsilon_is_the_decimal_written() -> None:
    # the float 0.01 is slightly above 1/100: an error of exactly 1/100 must still fail
    part = _part(
        params={"w0": ["d"], "b0": ["d"], "w1": ["d"]},
        model="w1 . relu(w0*x + b0)",
        target="x^2",
        domain=[0, 1],
        mode="approx",
        epsilon=0.01,
        answer="impossible",
    )
    five = {
        "w0": [1] * 5,
        "b0": [0, "-1/5", "-2/5", "-3/5", "-4/5"],
        "w1": ["1/5", "2/5", "2/5", "2/5", "2/5"],
    }
    assert network.check(part, five).status is Status.INCORRECT


def test_sampled_is_said() -> None:
    part = _part(params={"a": [1]}, model="a*sigmoid(x)", target="sigmoid(x)", answer={"a": 1})
    verdict = network.check(part, {"a": 1})
    assert verdict.status is Status.CORRECT
    assert verdict.decision is not None and verdict.decision.exact is False
    assert "sampling" in verdict.feedback and "far points" in verdict.decision.method


def test_several_inputs_exact_mode() -> None:
    part = _part(
        input=["x1", "x2"],
        params={"W": [2, 2], "v": [1, 2]},
        model="v relu(W [x1, x2])",
        target="relu(x1) + relu(x2)",
        answer={"W": [[1, 0], [0, 1]], "v": [[1, 1]]},
    )
    good = network.check(part, {"W": [[0, 1], [1, 0]], "v": [1, 1]})
    assert good.status is Status.CORRECT
    assert good.decision is not None and good.decision.exact is True
    assert "activation regions" in good.decision.method and "sampling" not in good.feedback
    bad = network.check(part, {"W": [[1, 0], [0, 1]], "v": [[1, 2]]})
    assert bad.status is Status.INCORRECT
    assert bad.feedback == "at (x1, x2) = (0, 1) your network gives 2, the target 1"


def test_several_inputs_smooth_classifier_is_sampled() -> None:
    part = _part(
        input=["x1", "x2"],
        params={"w": [2]},
        model="tanh(w . [x1, x2])",
        mode="classify",
        positive_when="x1 + x2 > 0",
        answer={"w": [1, 1]},
    )
    good = network.check(part, {"w": [2, 2]})
    assert good.status is Status.CORRECT
    assert good.decision is not None and good.decision.exact is False
    bad = network.check(part, {"w": [1, 2]})
    assert bad.status is Status.INCORRECT and "x1 + x2 > 0" in bad.feedback


def test_symbol_domains_are_respected() -> None:
    # |a x| = a |x| only for a >= 0: with a positive the identity holds
    part = _part(
        params={"w0": [2], "w1": [2]},
        model="w1 . relu(w0*x)",
        symbols={"a": "positive"},
        target="a*abs(x)",
        answer={"w0": ["a", "-a"], "w1": [1, 1]},
    )
    assert network.check(part, {"w0": ["a", "-a"], "w1": [1, 1]}).status is Status.CORRECT
    free = _part(
        params={"w0": [2], "w1": [2]},
        model="w1 . relu(w0*x)",
        symbols={"a": "real"},
        target="a*abs(x)",
        answer={"w0": ["a", "-a"], "w1": [1, 1]},
    )
    verdict = network.check(free, {"w0": ["a", "-a"], "w1": [1, 1]})
    assert verdict.status is Status.INCORRECT and "a = -1" in verdict.feedback


def test_undefined_weights_at_a_draw_are_skipped() -> None:
    part = _part(
        params={"w0": [2], "w1": [2]},
        model="w1 . relu(w0*x)",
        symbols={"m": "nonzero"},
        target="x",
        answer={"w0": ["m", "-m"], "w1": ["1/m", "-1/m"]},
    )
    assert network.check(part, {"w0": ["m", "-m"], "w1": ["1/m", "-1/m"]}).status is Status.CORRECT


# ---- reading answers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "impossible",
        "IMPOSSIBLE",
        "Impossible.",
        "impossible: no such weights",
        "$\\text{Impossible}$",
        "No such weights exist.",
    ],
)
def test_impossible_words(text: str) -> None:
    assert is_impossible(text)


@pytest.mark.parametrize("text", ["possible", "not impossible", "[1, -1]", "w0 = [1, 1]"])
def test_not_impossible(text: str) -> None:
    assert not is_impossible(text)


def test_shapes_rows_columns_and_scalars() -> None:
    part = _part(
        params={"W": [1, 3], "c": [1], "v": [3], "k": []},
        model="W v + c + k",
        target="x",
        answer="impossible",
    )
    comp = compile_part(part)
    got = read_answer(comp, {"W": [1, 2, 3], "c": 5, "v": [[1], [2], [3]], "k": [7]})
    assert isinstance(got, Weights)
    assert got.arrays["W"].shape == (1, 3) and got.arrays["c"].shape == (1,)
    assert got.arrays["v"].shape == (3,) and got.arrays["k"].shape == ()
    assert not got.inexact and not got.symbolic
    assert read_answer(comp, "impossible") is IMPOSSIBLE
    with pytest.raises(
        AnswerError, match=r"W is a 2×2 matrix \(4 entries\); this part asks for a 1×3 matrix"
    ):
        read_answer(comp, {"W": [[1, 2], [3, 4]], "c": 5, "v": [1, 2, 3], "k": 1})


def test_exact_decimals_and_key_spellings() -> None:
    comp = compile_part(A0["approx.identity"])
    got = read_answer(comp, {"w_0": "[0.5, -0.5]", "W1": [2, -2]})
    assert isinstance(got, Weights) and got.inexact
    assert list(got.exact({})["w0"]) == [F(1, 2), F(-1, 2)]


def test_errors_point_at_the_answer() -> None:
    comp = compile_part(A0["approx.linear"])
    with pytest.raises(AnswerError) as info:
        read_answer(comp, {"w0": "[m, -m]", "b0": "[b, -b]", "w1": "[1, -q]"})
    assert info.value.text == "[1, -q]" and info.value.position == 5


# ---- many units ---------------------------------------------------------------------------------


def _cancelling_units(pairs: int, seed: int = 3) -> dict[str, list[Any]]:
    """|x| with ``pairs`` pairs of units that cancel, at random rational kinks."""
    rng = random.Random(seed)
    w0: list[Any] = [1, -1]
    b0: list[Any] = [0, 0]
    w1: list[Any] = [1, 1]
    for _ in range(pairs):
        t, s = F(rng.randint(-999, 999), rng.randint(1, 40)), F(rng.randint(1, 9), rng.randint(1, 9))
        w0 += [str(s), str(s)]
        b0 += [str(-s * t), str(-s * t)]
        w1 += ["1/3", "-1/3"]
    return {"w0": w0, "b0": b0, "w1": w1}


ABS_WIDE = {
    "params": {"w0": ["d"], "b0": ["d"], "w1": ["d"]},
    "model": "w1 . relu(w0*x + b0)",
    "target": "abs(x)",
    "answer": {"w0": [1, -1], "b0": [0, 0], "w1": [1, 1]},
}


@pytest.mark.parametrize("pairs", [49, 2000])
def test_many_units_that_cancel(pairs: int) -> None:
    answer = _cancelling_units(pairs)
    assert network.check(_part(**ABS_WIDE), answer).status is Status.CORRECT
    answer["w1"][-1] = "-1/4"  # one unit of a pair no longer cancels: a kink far from 0
    verdict = network.check(_part(**ABS_WIDE), answer)
    assert verdict.status is Status.INCORRECT
    kink = -F(answer["b0"][-1]) / F(answer["w0"][-1])
    assert verdict.witness is not None
    x = F(verdict.witness.point["x"])
    assert (x > kink) == (F(answer["w0"][-1]) > 0)  # past the kink, where the unit is on


# ---- plot data and pictures ----------------------------------------------------------------------


def test_correct_answers_carry_no_plot() -> None:
    part = A0["approx.piecewise"]
    assert network.check(part, part.answer).plot is None


def test_one_input_plot_data_and_picture() -> None:
    verdict = network.check(A0["approx.linear"], {"w0": "[1, 1]^T", "b0": "[0, 0]^T", "w1": "[m, 0]^T"})
    plot = verdict.plot
    assert isinstance(plot, CurvePlot) and plot.witness == 0.0
    assert plot.xs == tuple(sorted(plot.xs)) and 0.0 in plot.xs
    # the draw m = 0, b = 1 of the witness: the network is 0, the target m x + b is 1
    assert set(plot.network) == {0.0} and set(plot.target or ()) == {1.0}
    svg = render_plot_svg(plot)
    root = ElementTree.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.findtext(f"{ns}title") == "Your network against the target (m = 0, b = 1)"
    assert "they differ at x = 0" in (root.findtext(f"{ns}desc") or "")
    assert len(root.iter(f"{ns}polyline").__next__().get("points", "").split()) == len(plot.xs)
    assert "x = 0" in "".join(t.text or "" for t in root.iter(f"{ns}text"))


def test_approx_plot_has_the_band() -> None:
    part = A0["approx.square_interval_weights"]
    quarters = {
        "w0": [1, 1, 1, 1, 0, 0, 0, 0],
        "b0": ["0", "-1/4", "-1/2", "-3/4", 0, 0, 0, 0],
        "w1": ["1/4", "1/2", "1/2", "1/2", 0, 0, 0, 0],
    }
    plot = network.check(part, quarters).plot
    assert isinstance(plot, CurvePlot) and plot.epsilon == pytest.approx(0.01)
    assert (plot.xs[0], plot.xs[-1]) == (0.0, 1.0) and plot.witness == 0.125
    assert "± 0.01" in render_plot_svg(plot)


def test_two_input_plot_data_and_picture() -> None:
    xor = A2["q7.xor"]
    wrong = {**xor.answer, "W3": [[1, 0, 1, 0, -1, 0]]}
    plot = network.check(xor, wrong).plot
    assert isinstance(plot, PlanePlot) and plot.witness == (1.0, 0.0) and plot.condition is not None
    i, j = plot.ys.index(0.0), plot.xs.index(1.5)
    assert plot.network[i][j] > 0 and plot.condition[i][j] is False  # positive on the axis
    i, j = plot.ys.index(-1.5), plot.xs.index(1.5)
    assert plot.network[i][j] > 0 and plot.condition[i][j] is True
    root = ElementTree.fromstring(render_plot_svg(plot))
    ns = "{http://www.w3.org/2000/svg}"
    colours = {r.get("fill") for r in root.iter(f"{ns}rect")}
    assert "#d62728" in colours  # positive where the condition does not hold
    assert any(p.get("stroke") == "#000000" for p in root.iter(f"{ns}path"))  # the witness cross


def test_unreadable_answers_have_no_plot() -> None:
    verdict = check_part(A0["approx.piecewise"], "a paragraph")
    assert verdict.status is Status.INVALID and verdict.plot is None


def test_check_writes_no_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    network.check(A0["approx.square_interval_weights"], A0["approx.square_interval_weights"].answer)
    network.check(A2["q7.xor"], A2["q7.xor"].answer)
    assert list(tmp_path.iterdir()) == []


def test_several_inputs_exact_mode_catches_a_far_region() -> None:
    part = _part(
        input=["x1", "x2"],
        params={"W": [3, 2], "b": [3], "v": [1, 3]},
        model="v relu(W [x1, x2] + b)",
        target="relu(x1) + relu(x2)",
        answer={"W": [[1, 0], [0, 1], [0, 0]], "b": [0, 0, 0], "v": [[1, 1, 0]]},
    )
    # a third unit that switches on only where x1 + x2 > 10^6, with a tiny weight
    trap = {"W": [[1, 0], [0, 1], [1, 1]], "b": [0, 0, "-10^6"], "v": [[1, 1, "1/10^9"]]}
    verdict = network.check(part, trap)
    assert verdict.status is Status.INCORRECT
    assert verdict.decision is not None and verdict.decision.exact is True
    assert verdict.witness is not None
    assert sum(float(value) for value in verdict.witness.point.values()) > 10**6
    permuted = {"W": [[0, 1], [1, 0], [1, 1]], "b": [0, 0, "-10^6"], "v": [[1, 1, 0]]}
    assert network.check(part, permuted).status is Status.CORRECT


TWO_INPUTS = {
    "id": "p",
    "type": "network",
    "input": ["x1", "x2"],
    "params": {"W": [2, 2], "v": [1, 2]},
    "model": "v relu(W [x1, x2])",
    "target": "relu(x1) + relu(x2)",
    "rtol": 0.01,
    "answer": {"W": [[1, 0], [0, 1]], "v": [[1, 1]]},
}


def test_a_verdict_reached_after_a_deadline_passed_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """The region walk stops at a share of the time limit, which a loaded machine reaches
    sooner: what the check decides then (by sampling) is not stored as the answer's verdict."""
    from grader.engine import limited_check
    from grader.types.network import walk

    part = TypeAdapter(Part).validate_python(TWO_INPUTS)
    answer = {"W": [[1, 0], [0, 1]], "v": [[1.005, 0.995]]}
    verdict, kept = limited_check(part, answer)
    assert verdict.status is Status.CORRECT and verdict.decision and verdict.decision.exact and kept
    monkeypatch.setattr(walk, "REGION_WALK_SHARE", 0.0)  # as if the machine were very slow
    network.forget_decisions()  # else the exact decision kept for these weights answers (issue 59)
    verdict, kept = limited_check(part, answer)
    assert verdict.decision and not verdict.decision.exact, verdict.decision
    assert not kept, "a verdict the clock decided would be stored and served again"


def eight_input_or() -> tuple[NetworkPart, dict[str, Any]]:
    """``x1 > 0 or ... or x8 > 0`` as W2 relu(W1 x + b1) + b2 with 10 units (two cancel)."""
    xs = [f"x{i}" for i in range(1, 9)]
    unit = [[int(j == i) for j in range(8)] for i in range(8)]
    both = [1, 1, 0, 0, 0, 0, 0, 0]
    answer = {"W1": [*unit, both, both], "b1": [0] * 10, "W2": [[1] * 8 + [1, -1]], "b2": [0]}
    part = PART.validate_python(
        {
            "id": "p",
            "type": "network",
            "input": xs,
            "params": {"W1": [10, 8], "b1": [10], "W2": [1, 10], "b2": [1]},
            "model": f"W2 relu(W1 [{', '.join(xs)}] + b1) + b2",
            "mode": "classify",
            "positive_when": " or ".join(f"{x} > 0" for x in xs),
            "answer": answer,
        }
    )
    return part, answer


def test_many_inputs_wrong_classifier_is_found_by_probe_points_before_the_walk() -> None:
    """Eight inputs and ten units may make 10^5 activation regions: the probe points go first
    (issue 27), and a point of wrong sign decides, exactly, without walking the regions."""
    part, answer = eight_input_or()
    wrong = {**answer, "b2": [-1]}  # negative everywhere near 0: x = (1/2, 0, ..., 0) is wrong
    verdict = network.check(part, wrong)
    assert verdict.status is Status.INCORRECT
    assert verdict.decision is not None and verdict.decision.exact is True
    assert "probe points" in verdict.decision.method and "region walk" not in verdict.decision.method


def test_many_inputs_right_classifier_is_proved_by_the_region_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    """A right answer of the eight-input part is decided exactly (issue 27): the walk visits its
    384 regions, so no probe lines are needed. Its share of the time limit is lifted: how fast
    the walk is on this machine is the benchmarks' to say, not this test's (it failed at load 20)."""
    monkeypatch.setattr(network_walk, "REGION_WALK_SHARE", 1000.0)
    part, answer = eight_input_or()
    verdict = network.check(part, answer)
    assert verdict.status is Status.CORRECT
    assert verdict.decision is not None and verdict.decision.exact is True
    assert verdict.decision.method == "exact: 384 activation regions"
    assert "sampling" not in verdict.feedback


def _changed(
    answer: dict[str, Any], name: str, row: int, column: int | None, value: int | str
) -> dict[str, Any]:
    changed = {key: [list(r) if isinstance(r, list) else r for r in rows] for key, rows in answer.items()}
    if column is None:
        changed[name][row] = value
    else:
        changed[name][row][column] = value
    return changed


@pytest.mark.parametrize(
    ("change", "decided_by"),
    [
        (("b1", 8, None, -1), "exact evaluation at 16 probe points"),  # past the first 5 points
        (("W1", 7, 0, 1), "exact: activation region walk"),  # relu(x1 + x8): no probe point shows it
    ],
)
def test_many_inputs_first_probes_then_the_walk_give_the_verdict_of_all_probes_first(
    monkeypatch: pytest.MonkeyPatch, change: tuple[str, int, int | None, int], decided_by: str
) -> None:
    """The first probe points, the walk's pass to a wrong sign, the rest of the points, then the
    whole walk: the same verdict, witness and count of points as when every point went first."""
    part, answer = eight_input_or()
    wrong = _changed(answer, *change)
    # the order of the methods is the question, not the machine's load: the walk is never cut
    monkeypatch.setattr(network_walk, "REGION_WALK_SHARE", 1000.0)
    monkeypatch.setattr(classify, "PROBE_FIRST_POINTS", 10**9)
    all_first = network.check(part, wrong)
    monkeypatch.setattr(classify, "PROBE_FIRST_POINTS", 5)
    few_first = network.check(part, wrong)
    assert all_first.status is few_first.status is Status.INCORRECT
    assert all_first.decision is not None and few_first.decision is not None
    assert few_first.decision.method == all_first.decision.method
    assert few_first.decision.method.startswith(decided_by)
    assert (few_first.feedback, few_first.witness) == (all_first.feedback, all_first.witness)


def _probe_results(part: NetworkPart, answer: dict[str, Any], fmpq_allowed: bool) -> list[Any]:
    """The probe points' result of the eight-input part (first 128, then the rest), with the
    evaluation in FLINT's rationals allowed or not."""
    comp = compile_part(part)
    side = reference_side(comp)
    student = read_answer(comp, answer)
    assert isinstance(student, Weights)
    wv = student.exact({})
    pts = classify._probe_points(comp, side, wv, {})
    saved = classify._fmpq_safe
    try:
        classify._fmpq_safe = (lambda c: saved(c)) if fmpq_allowed else (lambda c: False)  # type: ignore[assignment]
        return [
            classify._point_probes(comp, side, wv, {}, chunk, start)
            for chunk, start in ((pts[:128], 0), (pts[128:], 128))
        ]
    finally:
        classify._fmpq_safe = saved  # type: ignore[assignment]


@settings(max_examples=examples(12), deadline=None)
@given(
    st.sampled_from(["W1", "b1", "W2", "b2"]),
    st.integers(0, 9),
    st.integers(0, 7),
    st.sampled_from([-2, -1, 1, 2, "1/2", "-3/7"]),
)
def test_probe_points_in_fmpq_give_the_results_of_fraction(
    name: str, row: int, column: int, value: F
) -> None:
    """The probe points evaluated in FLINT's rationals: the same points checked, the same
    first point of wrong sign, the same value there, as in Fraction (issue 27)."""
    part, answer = eight_input_or()
    rows = {"W1": 10, "b1": 10, "W2": 1, "b2": 1}[name]
    changed = _changed(answer, name, row % rows, column if name in ("W1", "W2") else None, value)
    if name == "W2":
        changed = _changed(answer, name, 0, row, value)
    assert _probe_results(part, changed, True) == _probe_results(part, changed, False)


def test_probe_points_in_fmpq_decide_without_fraction() -> None:
    """The fmpq evaluation itself finds that a right answer's probe points all have the right
    sign, and a wrong answer's first point of wrong sign (the one Fraction finds)."""
    part, answer = eight_input_or()
    comp = compile_part(part)
    side = reference_side(comp)
    for weights, wrong in ((answer, False), ({**answer, "b2": [-1]}, True)):
        student = read_answer(comp, weights)
        assert isinstance(student, Weights)
        wv = student.exact({})
        pts = classify._probe_points(comp, side, wv, {})
        fast = classify._in_fmpq(wv, {})
        assert fast is not None
        found = classify._fmpq_probes(comp, side, {}, fast, pts)
        by_fraction = classify.check_classify(
            lambda p, wv=wv: classify.model_exact(comp, wv, {}, dict(zip(comp.inputs, p, strict=True))),
            lambda p: side.truth_at({}, dict(zip(comp.inputs, p, strict=True))),
            pts,
        )
        assert by_fraction.holds is not wrong
        assert found == (by_fraction.checked - 1 if wrong else len(pts))


def test_probe_points_are_evaluated_in_fmpq_only_for_a_model_without_comparisons() -> None:
    """A model of sums, products and relu is evaluated in fmpq; one with a condition or a
    function beyond max, min, abs, relu and leaky_relu stays in Fraction (fmpq == Fraction is
    silently False)."""
    part, _ = eight_input_or()
    assert classify._fmpq_safe(compile_part(part))
    for model in (
        "W2 heaviside(W1 [x1, x2, x3, x4, x5, x6, x7, x8] + b1, 0) + b2",
        "W2 relu(W1 [x1, x2, x3, x4, x5, x6, x7, x8] + b1) + b2 + piecewise((1, x1 = 0), (0, true))",
    ):
        other = PART.validate_python({**part.model_dump(), "model": model})
        assert not classify._fmpq_safe(compile_part(other))


def test_few_inputs_wrong_classifier_is_still_found_by_the_walk() -> None:
    """Two inputs and four units make a handful of regions: the exact walk goes first."""
    part = _problem("approximation-backprop-cifar")["q7.xor"]
    wrong = {**part.answer, "b3": [-1]}
    verdict = network.check(part, wrong)
    assert verdict.status is Status.INCORRECT
    assert verdict.decision is not None and "region walk" in verdict.decision.method
