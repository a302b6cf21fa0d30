"""The engine isolates every check: time limits, crashes and mistakes."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest
from pydantic import TypeAdapter

from grader import engine
from grader.core.timelimit import CheckTimeout, run_with_time_limit
from grader.core.verdict import Status, Verdict
from grader.engine import check_part
from grader.spec import Part
from grader.types import ANSWER_TYPES

PART = TypeAdapter(Part)


def _part(**fields: Any) -> Any:
    return PART.validate_python({"id": "p", **fields})


@pytest.fixture
def fake_checker(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def install(behaviour: Any) -> None:
        fake = dataclasses.replace(ANSWER_TYPES["number"], check=behaviour)
        monkeypatch.setitem(ANSWER_TYPES, "number", fake)

    return install


def test_a_hanging_check_is_stopped_and_reported(fake_checker: Any) -> None:
    def hang(part: Any, answer: Any) -> Verdict:
        while True:
            time.sleep(0.01)

    fake_checker(hang)
    started = time.monotonic()
    verdict = check_part(_part(type="number", answer=1, time_limit=0.3), 1)
    assert verdict.status is Status.ERROR
    assert "longer than 0.3 s" in verdict.feedback
    assert time.monotonic() - started < 2


def test_a_crashing_check_is_an_error_not_a_crash(fake_checker: Any) -> None:
    def crash(part: Any, answer: Any) -> Verdict:
        raise ZeroDivisionError("boom")

    fake_checker(crash)
    verdict = check_part(_part(type="number", answer=1), 1)
    assert verdict.status is Status.ERROR and "ZeroDivisionError" in verdict.feedback


def test_time_limit_in_a_thread_also_stops_waiting() -> None:
    import threading

    outcome: dict[str, BaseException] = {}

    def run() -> None:
        try:
            run_with_time_limit(lambda: time.sleep(5), 0.2)
        except CheckTimeout as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(3)
    assert isinstance(outcome.get("error"), CheckTimeout)


def test_nested_time_limits_restore_the_outer_one() -> None:
    with pytest.raises(CheckTimeout):
        run_with_time_limit(lambda: (run_with_time_limit(lambda: 1, 5), time.sleep(2)), 0.3)


def test_mistake_feedback_and_score() -> None:
    part = _part(type="number", answer=10, mistakes=[{"answer": 5, "feedback": "halved", "score": 0.5}])
    verdict = check_part(part, 5)
    assert (verdict.status, verdict.score, verdict.feedback) == (Status.PARTIAL, 0.5, "halved")
    assert check_part(part, 10).status is Status.CORRECT
    assert check_part(part, 7).status is Status.INCORRECT


def test_oversized_answer_is_refused_before_any_work(fake_checker: Any) -> None:
    calls: list[Any] = []
    fake_checker(lambda part, answer: calls.append(answer) or Verdict.correct())
    verdict = check_part(_part(type="number", answer=1), "1" * (engine.MAX_ANSWER_CHARS + 1))
    assert verdict.status is Status.INVALID and not calls


def test_text_parts_are_manual_with_points_pending() -> None:
    from grader.loading import Submission, parse_problem_set

    spec = parse_problem_set("assignment: a\nquestions:\n  - {id: q1, type: text, points: 4}\n")
    report = engine.grade(spec, Submission("s", "s", {"q1": "a proof"}))
    assert report.parts[0].status is Status.MANUAL and report.pending == 4 and report.score == 0
