"""Runs every checker table in tests/cases/*.yaml through the engine's check_part."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from code_support import skip_unless_code_runs
from pydantic import TypeAdapter

from grader.core.yamlio import load_with_positions
from grader.engine import check_part
from grader.spec import Part

CASES = Path(__file__).parent / "cases"
PART = TypeAdapter(Part)


def _load_cases() -> list[Any]:
    params = []
    for path in sorted(CASES.glob("*.yaml")):
        groups, _ = load_with_positions(path.read_text(encoding="utf-8"))
        for group in groups:
            for test in group["tests"]:
                test_id = f"{path.stem}: {group['description']}: {test['description']}"
                params.append(pytest.param(group["spec"], test, id=test_id))
    return params


@pytest.mark.parametrize(("spec", "test"), _load_cases())
def test_case(spec: dict[str, Any], test: dict[str, Any]) -> None:
    skip_unless_code_runs(spec)
    part = PART.validate_python({"id": "p", **spec})
    verdict = check_part(part, test["answer"])
    assert verdict.status.value == test["status"], verdict.feedback
    if "score" in test:
        assert verdict.score == pytest.approx(test["score"]), verdict.feedback
    if "feedback" in test:
        assert test["feedback"].lower() in verdict.feedback.lower(), verdict.feedback
    if "certificate" in test:
        assert verdict.decision is not None, verdict.feedback
        assert verdict.decision.kind.value == test["certificate"], verdict.decision.method
