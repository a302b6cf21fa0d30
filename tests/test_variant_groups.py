"""Answer groups for hand grading across the variants of a set with parameters (issue 51):
each answer read against its student's own variant (``grader hand groups``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from grader.cli import main
from grader.loading import parse_problem_set
from grader.variants import substitute_questions

CASES = Path(__file__).parent / "cases" / "variants"
KEY = "course-secret"
PROBLEM = {
    "assignment": "groups",
    "parameters": {"a": {"integer": [2, 9]}, "b": {"integer": [2, 9]}},
    "questions": [
        {
            "id": "q1",
            "type": "expression",
            "symbols": {"x": "real"},
            "answer": "a*x + b",
            "mistakes": [{"answer": "a*x - b", "feedback": "The sign of {b}."}],
        }
    ],
}


def _cases() -> list[Any]:
    cases = yaml.safe_load((CASES / "groups.yaml").read_text(encoding="utf-8"))
    return [pytest.param(case, id=case["description"]) for case in cases]


def _in_variant(formula: str, student: str) -> str:
    """``formula`` of the parameters with the student's own variant put in."""
    spec = parse_problem_set(yaml.safe_dump(PROBLEM))
    variant = spec.parameter_block().draw(KEY.encode(), spec.assignment, student)
    question = {"id": "q", "type": "expression", "symbols": {"x": "real"}, "answer": formula}
    return str(substitute_questions([question], variant)[0]["answer"])


def _class(root: Path, answers: dict[str, str]) -> Path:
    (root / "set.yaml").write_text(yaml.safe_dump(PROBLEM), encoding="utf-8")
    for student, answer in answers.items():
        (root / "class" / student).mkdir(parents=True)
        (root / "class" / student / "answers.yaml").write_text(yaml.safe_dump({"answers": {"q1": answer}}))
    return root


def _groups(root: Path, *extra: str) -> list[dict[str, Any]]:
    args = ["hand", "groups", str(root / "class"), "-p", str(root / "set.yaml"), "--variant-key", KEY]
    result = CliRunner().invoke(main, [*args, "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["parts"]["q1"]


def test_the_students_have_variants_of_their_own() -> None:
    spec = parse_problem_set(yaml.safe_dump(PROBLEM))
    drawn = {spec.parameter_block().draw(KEY.encode(), "groups", s).id for s in ("s1", "s2", "s3", "s4")}
    assert len(drawn) == 4  # so each case's groups join answers to different variants


@pytest.mark.parametrize("case", _cases())
def test_groups_across_variants(case: dict[str, Any], tmp_path: Path) -> None:
    answers = {s: _in_variant(f, s) for s, f in case.get("answers", {}).items()}
    root = _class(tmp_path, {**answers, **case.get("literal", {})})
    groups = _groups(root)
    shown = [(g["kind"], sorted(g["students"])) for g in groups]
    assert sorted(shown) == sorted((g["kind"], g["students"]) for g in case["groups"]), groups
    assert [kind for kind, _ in shown] == [g["kind"] for g in case["groups"]]  # the order a TA grades in
    by_students = {tuple(sorted(g["students"])): g for g in groups}
    for expected in case["groups"]:
        found = by_students[tuple(expected["students"])]
        if "answer" in expected:
            assert found["answer"] == expected["answer"]
        if "misconception" in expected:
            assert found["misconception"] == expected["misconception"]
        assert ("variant" in found) == expected.get("variant_only", False), found
    assert len({g["id"] for g in groups}) == len(groups)  # a TA's grade names one group


def test_a_slip_across_variants_is_offered_as_a_mistake_in_the_parameters(tmp_path: Path) -> None:
    root = _class(tmp_path, {s: _in_variant("-(a*x + b)", s) for s in ("s1", "s2")})
    args = ["hand", "groups", str(root / "class"), "-p", str(root / "set.yaml"), "--variant-key", KEY]
    result = CliRunner().invoke(main, [*args, "--mistakes"])
    assert result.exit_code == 0, result.output
    assert "- answer: -(a*x + b)\n  feedback: sign flipped" in result.stdout, result.stdout


def test_groups_of_a_set_with_parameters_need_the_key(tmp_path: Path) -> None:
    root = _class(tmp_path, {"s1": "x"})
    result = CliRunner().invoke(main, ["hand", "groups", str(root / "class"), "-p", str(root / "set.yaml")])
    assert result.exit_code == 2 and "--variant-key or GRADER_VARIANT_KEY" in result.stderr
