"""Structured trials for code parts (issue 58, false accept 1): inputs that reach where the
reference's numerics break, found from the reference, within each input's range; a budget
that grows with what the reference does; feedback that says which structure, never the
reference's output."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from code_support import needs_sandbox
from pydantic import TypeAdapter

from grader.core.verdict import Status
from grader.engine import check_part
from grader.spec import Part
from grader.types.code.part import CodePart
from grader.types.code.singular import singular_points
from grader.types.code.structure import PATIENCE, STRUCTURED, TWIN, Pool, covered, draw_pool
from grader.types.code.trials import RANDOM, Trial

PART = TypeAdapter(Part)

ADAM = """
import numpy as np

def adam_step(w, g, m, v, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    m_hat = m / (1 - b1 ** t)
    v_hat = v / (1 - b2 ** t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps)
"""

HARNESS = """
def run(impl, x, scale):
    layer = impl.Norm()
    layer.x = x
    return layer.forward() * scale
"""
SOFTMAX = """
import numpy as np

def attend(scores):
    e = np.exp(scores - {top})
    return e / e.sum(-1, keepdims=True)
"""


def code_part(**fields: Any) -> CodePart:
    spec = {"id": "p", "type": "code", "entry": "f", "trials": 3, **fields}
    part = PART.validate_python(spec)
    assert isinstance(part, CodePart)
    return part


def adam_part() -> CodePart:
    return code_part(
        entry="adam_step",
        sizes={"n": [1, 4]},
        inputs={
            "w": {"shape": ["n"]},
            "g": {"shape": ["n"]},
            "m": {"shape": ["n"], "range": [-1, 1]},
            "v": {"shape": ["n"], "range": [0, 1]},
            "t": {"dtype": "int64", "range": [1, 50]},
        },
        answer=ADAM,
    )


def test_the_inputs_under_a_root_are_found_from_the_reference() -> None:
    points = singular_points(adam_part())
    assert any(p.kind == "zero" and p.inputs == {"g", "v"} for p in points), points
    assert all("t" not in p.inputs for p in points)  # an integer is not drawn near zero


def test_inputs_followed_through_a_harness_and_a_method() -> None:
    part = code_part(
        entry="Norm.forward",
        given="class Norm:\n    def forward(self):\n        raise NotImplementedError\n",
        harness=HARNESS,
        inputs={"x": {"shape": [3]}, "scale": {"shape": [3]}},
        answer="import numpy as np\n\ndef forward(self):\n    return self.x / np.linalg.norm(self.x)\n",
    )
    assert [(p.kind, set(p.inputs)) for p in singular_points(part)] == [("zero", {"x"})]


def test_structured_inputs_stay_in_their_ranges_and_have_their_structure() -> None:
    part = code_part(
        sizes={"b": [1, 4], "n": [1, 5]},
        inputs={"x": {"shape": ["b", "n"], "range": [-500, 500]}, "p": {"shape": ["n"], "range": [0, 1]}},
        answer="import numpy as np\n\ndef f(x, p):\n    return np.sqrt(p) + x\n",
    )
    pool = draw_pool(part, 7)
    by = {t.edge: t for t in pool.trials if t.kind == STRUCTURED}
    for trial in pool.trials:
        assert ((trial.inputs["x"] >= -500) & (trial.inputs["x"] < 500)).all(), trial.edge
        assert ((trial.inputs["p"] >= 0) & (trial.inputs["p"] <= 1)).all(), trial.edge
    rows = np.abs(by["rows of very different scale"].inputs["x"]).max(axis=1)
    assert rows.max() / rows.min() > 1e6
    apart = by["rows far apart"].inputs["x"].max(axis=1)
    assert apart.max() - apart.min() > 700  # one row near 500, one near -500
    near = by["values near zero in p"].inputs["p"]
    assert (near > 0).all() and (near < 0.02).all()
    constant = by["nearly constant rows"].inputs["x"]
    assert (np.ptp(constant, axis=1) < 1e-2).all()
    assert {
        "b at its largest and the other sizes at their smallest",
        "n at its smallest and the other sizes at their largest",
    } <= set(by)
    assert by["b at its largest and the other sizes at their smallest"].sizes == {"b": 4, "n": 1}


def test_every_structured_trial_has_a_twin_a_few_units_in_the_last_place_away() -> None:
    pool = draw_pool(adam_part(), 3)
    for index, trial in enumerate(pool.trials):
        if trial.kind == STRUCTURED:
            twin = pool.trials[index + 1]
            assert twin.kind == TWIN and twin.sizes == trial.sizes
            for name, array in trial.inputs.items():
                assert np.allclose(twin.inputs[name], array, rtol=1e-11, atol=0)
    assert TWIN not in {t.kind for t in pool.plain}


def test_a_part_that_asks_for_no_random_draws_gets_no_structured_ones() -> None:
    part = code_part(inputs={"x": {"shape": [3]}}, answer="def f(x):\n    return x\n", trials=0, cases=[{}])
    assert draw_pool(part, 1).trials == ()


def test_the_pool_is_drawn_again_identically_and_differs_by_seed() -> None:
    part = adam_part()
    one, again, other = draw_pool(part, 11), draw_pool(part, 11), draw_pool(part, 12)
    assert [t.inputs["g"].tolist() for t in one.trials] == [t.inputs["g"].tolist() for t in again.trials]
    assert [t.inputs["g"].tolist() for t in one.trials] != [t.inputs["g"].tolist() for t in other.trials]


def _output(value: float) -> dict[str, Any]:
    return {"output": {"dtype": "float64", "shape": [1], "data": [value]}}


def _pool(mandatory: int, extra: int) -> Pool:
    trial = Trial({}, {"x": np.zeros(1)}, RANDOM)
    return Pool((trial,) * (mandatory + extra), mandatory)


@pytest.mark.parametrize(
    ("new_at", "expected"),
    [((), 2 + PATIENCE), ((3,), 4 + PATIENCE), ((3, 6), 7 + PATIENCE), ((3, 9), 4 + PATIENCE)],
)
def test_the_budget_grows_while_the_reference_shows_new_behaviour(
    new_at: tuple[int, ...], expected: int
) -> None:
    """Extras run until PATIENCE in a row show nothing new: a new line pair of the reference,
    or a new kind of output."""
    pool = _pool(2, 24)
    outputs = [_output(1.0)] * 26
    lines = [[1]] * 26
    for index in new_at:
        lines[index] = [1, index + 100]
    record = {"result": {"trials": outputs, "covered": lines}}
    assert covered(pool, record) == expected
    nan = [*outputs[:5], _output(float("nan")), *outputs[6:]]
    assert covered(pool, {"result": {"trials": nan, "covered": [[1]] * 26}}) == 6 + PATIENCE


def test_the_budget_stops_where_the_reference_did() -> None:
    pool = _pool(2, 24)
    assert covered(pool, {"result": {"trials": [_output(1.0)] * 3, "error": {"trial": 3}}}) == 3
    assert covered(pool, {"killed": "time"}) == 0


@needs_sandbox
def test_feedback_names_the_structure_and_never_the_references_value() -> None:
    part = code_part(
        entry="attend",
        sizes={"n": [2, 3]},
        inputs={"scores": {"shape": ["n", "n"], "range": [-1000, 1000]}},
        answer=SOFTMAX.format(top="scores.max(-1, keepdims=True)"),
        trials=1,
    )
    wrong = SOFTMAX.format(top="scores.max()")
    verdict = check_part(part, wrong)
    assert verdict.status is Status.INCORRECT
    assert (
        "on an input with rows" in verdict.feedback
        and "is nan, which is not the expected value" in verdict.feedback
    )
    trial = next(t for t in draw_pool(part, part.seed).plain if t.edge in verdict.feedback)
    scores = trial.inputs["scores"]
    e = np.exp(scores - scores.max(-1, keepdims=True))
    expected = e / e.sum(-1, keepdims=True)
    shown = {f"{float(v):.{d}g}" for v in expected.ravel() for d in (4, 6, 9)} - {"0", "1", "nan"}
    assert not {text for text in shown if text in verdict.feedback}, verdict.feedback


def _softmax(scores: np.ndarray, top: np.ndarray) -> np.ndarray:
    e = np.exp(scores - top)
    return e / e.sum(axis=-1, keepdims=True)


def _adam(w: Any, g: Any, m: Any, v: Any, t: Any, inside: bool) -> np.ndarray:
    m = 0.9 * m + 0.1 * g
    v = 0.999 * v + 0.001 * g * g
    m_hat, v_hat = m / (1 - 0.9**t), v / (1 - 0.999**t)
    return np.asarray(w - 1e-3 * m_hat / (np.sqrt(v_hat + 1e-8) if inside else np.sqrt(v_hat) + 1e-8))


def _exposed(part: CodePart, seed: int, right: Any, wrong: Any) -> bool:
    with np.errstate(all="ignore"):
        for trial in draw_pool(part, seed).plain:
            good, bad = right(**trial.inputs), wrong(**trial.inputs)
            if not np.isclose(bad, good, rtol=part.rtol, atol=part.atol, equal_nan=True).all():
                return True
    return False


@pytest.mark.parametrize("seed", range(0, 400, 20))
@pytest.mark.parametrize("width", [400, 1000])
def test_the_structured_trials_expose_both_literals_of_issue_58_for_every_seed(seed: int, width: int) -> None:
    """Whatever the answer's seed, some structured trial tells the global max from each row's
    and eps inside the square root from outside (a random draw does 6.6% of the time, or never)."""
    attention = code_part(
        sizes={"b": [1, 3], "n": [1, 5]},
        inputs={"scores": {"shape": ["b", "n"], "range": [-width, width]}},
        answer=SOFTMAX.format(top="scores.max(-1, keepdims=True)").replace("attend", "f"),
    )
    assert _exposed(
        attention,
        seed,
        lambda scores: _softmax(scores, scores.max(-1, keepdims=True)),
        lambda scores: _softmax(scores, scores.max()),
    )
    assert _exposed(
        adam_part(),
        seed,
        lambda **inputs: _adam(**inputs, inside=False),
        lambda **inputs: _adam(**inputs, inside=True),
    )
