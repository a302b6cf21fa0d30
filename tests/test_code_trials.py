"""Code parts: trials no student can read or tune to, edge inputs, feedback that is no oracle
(issue 45, item 2; issue 47, items 5 and 11)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from code_support import needs_sandbox
from pydantic import TypeAdapter

from grader.batch.worker import part_digest
from grader.core import drawing
from grader.core.report import PartResult
from grader.core.verdict import Status
from grader.engine import check_part
from grader.spec import Part
from grader.types.code.part import CodePart
from grader.types.code.runs import seed_for
from grader.types.code.source import program
from grader.types.code.structure import STRUCTURED, draw_pool
from grader.types.code.trials import CASE, EDGE, RANDOM, draw_trials

PART = TypeAdapter(Part)
SECRET = b"a secret of the grading server, never a student's"


def code_part(**fields: Any) -> CodePart:
    spec = {
        "id": "p",
        "type": "code",
        "entry": "f",
        "inputs": {"x": {"shape": [3]}},
        "answer": "def f(x):\n    return 3 * x + 0.123456\n",
        "trials": 4,
        **fields,
    }
    part = PART.validate_python(spec)
    assert isinstance(part, CodePart)
    return part


@pytest.fixture
def secret() -> Iterator[None]:
    """A grading run's secret, as grader grade and the service draw with it."""
    with drawing.drawing_with(SECRET):
        yield


def _seed(part: CodePart, answer: str) -> int:
    return seed_for(part, program(part, answer))


def test_each_answer_draws_its_own_trials_from_the_secret(secret: None) -> None:
    part = code_part()
    answer = "def f(x):\n    return 3 * x\n"
    commented = answer + "# the same code, another text\n"
    assert _seed(part, answer) == _seed(part, answer)  # a re-run draws the same trials
    assert _seed(part, answer) != _seed(part, commented)
    assert _seed(part, answer) != part.seed
    first = [t.inputs["x"].tolist() for t in draw_trials(part, _seed(part, answer)) if t.kind == RANDOM]
    other = [t.inputs["x"].tolist() for t in draw_trials(part, _seed(part, commented)) if t.kind == RANDOM]
    assert first != other


def test_without_a_secret_the_parts_own_seed_draws() -> None:
    part = code_part(seed=7)
    assert _seed(part, "def f(x):\n    return x\n") == 7


def test_the_verdict_stores_key_holds_the_secret() -> None:
    part = code_part()
    assert part_digest(part, "v", b"one") != part_digest(part, "v", b"two")
    assert part_digest(part, "v", b"one") == part_digest(part, "v", b"one")


def test_trials_hold_each_arguments_edges_then_random_draws() -> None:
    part = code_part(
        sizes={"n": [1, 6]},
        inputs={"v": {"shape": ["n"], "range": [0, 1]}, "k": {"dtype": "int64", "range": [2, 5]}},
        edges=[{"n": 2, "v": [0.5, 0.5], "k": 3}],
    )
    trials = draw_trials(part, 123)
    edges = {t.edge: t for t in trials if t.kind == EDGE}
    assert [t.kind for t in trials] == [EDGE] * 7 + [RANDOM] * 4
    assert edges["zeros"].inputs["v"].tolist() == [0.0] * edges["zeros"].sizes["n"]
    assert edges["the ranges' low ends"].inputs["k"].item() == 2
    assert set(edges["the ranges' high ends"].inputs["v"].tolist()) == {1.0}
    assert edges["the ranges' high ends"].inputs["k"].item() == 4  # integers: low to high - 1
    equal = edges["equal entries"]
    assert equal.sizes["n"] < 2 or len(set(equal.inputs["v"].tolist())) == 1
    assert edges["the smallest sizes"].sizes == {"n": 1}
    assert edges["the largest sizes"].sizes == {"n": 6}
    assert edges["listed by the part"].inputs["v"].tolist() == [0.5, 0.5]


def test_an_edge_past_the_input_size_limit_is_left_out() -> None:
    part = code_part(sizes={"n": [1, 1000]}, inputs={"x": {"shape": ["n", 101]}}, cases=[{"n": 2}], trials=0)
    kinds = {t.edge for t in draw_trials(part, 1)}
    assert "the smallest sizes" in kinds and "the largest sizes" not in kinds


ADAM = """
import numpy as np

def step(m, v):
    return m / (np.sqrt(v) + 1e-8)
"""
EPS_INSIDE = """
import numpy as np

def step(m, v):
    return m / np.sqrt(v + 1e-8)
"""


@needs_sandbox
def test_an_optimizer_step_wrong_only_near_a_zero_second_moment_is_caught() -> None:
    """Issue 47, item 5: eps inside the square root differs only where v is near 0, which the
    stated domain holds; random draws in [0, 1) never came near it."""
    part = code_part(
        entry="step",
        inputs={"m": {"shape": [3]}, "v": {"shape": [3], "range": [0, 1]}},
        answer=ADAM,
        trials=5,
        rtol=1e-6,
    )
    verdict = check_part(part, EPS_INSIDE)
    assert verdict.status is Status.INCORRECT, verdict.feedback
    assert "v of shape 3 (a vector) = [0, 0, 0]" in verdict.feedback


def _entries(values: np.ndarray) -> set[str]:
    """An output's entries as feedback could print them (6, 9, 12 and 17 digits)."""
    return {f"{float(v):.{digits}g}" for v in values.ravel() for digits in (6, 9, 12, 17)}


@needs_sandbox
def test_feedback_gives_the_students_value_never_a_drawn_trials_expected_output(secret: None) -> None:
    part = code_part()
    answer = "def f(x):\n    return 3 * x\n"
    verdict = check_part(part, answer)
    assert verdict.status is Status.INCORRECT
    assert "your output[0] is " in verdict.feedback
    assert "which is not the expected value" in verdict.feedback
    expected = set().union(
        *(_entries(3 * t.inputs["x"] + 0.123456) for t in draw_trials(part, _seed(part, answer)))
    )
    assert not {entry for entry in expected if entry in verdict.feedback}, verdict.feedback
    assert verdict.witness is not None and verdict.witness.expected is None


@needs_sandbox
@pytest.mark.parametrize("shown", [False, True])
def test_a_fixed_case_shows_its_expected_output_only_when_the_part_says_so(shown: bool) -> None:
    part = code_part(cases=[{"x": [1, 2, 3]}], show_case_expected=shown, trials=1)
    verdict = check_part(part, "def f(x):\n    return 3 * x\n")
    assert "with x of shape 3 (a vector) = [1, 2, 3]: your output[0] is 3" in verdict.feedback
    assert ("the expected 3.12346" in verdict.feedback) is shown, verdict.feedback


def _lookup_table(part: CodePart) -> str:
    """An answer that computes nothing: the outputs of the trials a student can read, looked up."""
    trials = [*draw_trials(part), *draw_pool(part, part.seed).plain]
    table = {tuple(t.inputs["x"].tolist()): (3 * t.inputs["x"] + 0.123456).tolist() for t in trials}
    lookup = "np.array(TABLE.get(tuple(x.tolist()), [0, 0, 0]))"
    return f"import numpy as np\n\nTABLE = {table!r}\n\ndef f(x):\n    return {lookup}\n"


@needs_sandbox
def test_a_lookup_table_of_the_trials_scores_nothing_when_graded(secret: None) -> None:
    """The attack of issue 45: trials the same for every student and run were read through
    /check, and a lookup table of their outputs scored full marks. A grading run draws each
    answer's trials from a secret: the table meets inputs it does not hold."""
    part = code_part(trials=3)
    table = _lookup_table(part)
    with drawing.drawing_with(b""):
        assert check_part(part, table).status is Status.CORRECT  # the part's own, public draws
    assert check_part(part, table).status is Status.INCORRECT


@needs_sandbox
def test_a_code_verdict_says_probes_with_its_trials_and_which_were_edges(secret: None) -> None:
    part = code_part(sizes={"n": [1, 4]}, inputs={"x": {"shape": ["n"], "range": [-1, 1]}}, trials=2)
    verdict = check_part(part, "def f(x):\n    return 0.123456 + x * 3\n")
    assert verdict.status is Status.CORRECT, verdict.feedback
    decision = verdict.decision
    assert decision is not None
    structured = [t for t in draw_pool(part, decision.seed or 0).plain if t.kind == STRUCTURED]
    assert decision.probes is not None and decision.probes > 8 + len({t.edge for t in structured}) // 2
    assert decision.describe().endswith("points (edges, random draws, structured inputs)")
    assert "6 edges, " in decision.method and " structured inputs)" in decision.method
    assert "trial 1 (zeros); 2 (the ranges' low ends)" in decision.method
    assert "the structured inputs: " in decision.method and "rows of very different scale" in decision.method
    assert "seed" not in decision.to_dict()
    result = PartResult("p", verdict.status, 1, 1, decision=decision)
    assert "seed" not in result.to_dict(show_expected=False)["certificate"]
    assert result.to_dict(show_expected=True)["certificate"]["seed"] == decision.seed
    assert decision.seed == _seed(part, "def f(x):\n    return 0.123456 + x * 3\n")
    assert CASE not in decision.probe_classes
