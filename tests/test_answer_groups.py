"""Grading by question: a part's answers in groups (``grader hand groups``), wrong groups
named by the known slip of the reference they are, offered as ``mistakes:`` entries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from code_support import needs_sandbox

from grader.batch import BatchOptions, run_batch, submission_folders
from grader.cli import main
from grader.cli_hand import class_groups
from grader.core.plainjson import packed, unpacked
from grader.hand.misconceptions import identify
from grader.loading import load_problem_set, parse_problem_set
from grader.types.code import runs, sandbox

ROOT = Path(__file__).parent.parent
PROBLEMS = ROOT / "problems" / "mfdnn-hw3.yaml"

ANSWERS = {
    # three spellings of the reference sigma(z)(1 - sigma(z)): one group
    "s1": {"q5.softplus_second": r"\sigma(z)(1-\sigma(z))", "q5.softplus_derivative": "-exp(z)/(1+exp(z))"},
    "s2": {"q5.softplus_second": "e^{-z}/(1+e^{-z})^2", "q5.softplus_derivative": "-1/(1+exp(-z))"},
    "s3": {"q5.softplus_second": r"\sigma(z)\sigma(-z)", "q5.softplus_derivative": "exp(z)/(1+exp(z))/2"},
    "s4": {
        "q5.softplus_second": "sigmoid(z)",
        "q5.lipschitz": "1/4 +",
        "q4": "The function is locally affine.",
    },
    "s5": {
        "q5.softplus_second": "sigmoid(z)^2",
        "q5.lipschitz": "1/2",
        "q4": "the function is  locally affine",
    },
    "s6": {"q5.softplus_second": "sigmoid(z)**2", "q5.lipschitz": "0.5", "q4": "Something else."},
    "s7": {"q5.lipschitz": "L <= 1/4", "q4": "the function is locally affine."},
}


@pytest.fixture
def course(tmp_path: Path) -> Path:
    for student, answers in ANSWERS.items():
        (tmp_path / "class" / student).mkdir(parents=True)
        (tmp_path / "class" / student / "answers.yaml").write_text(yaml.safe_dump(answers))
    return tmp_path


def _groups(course: Path, *extra: str) -> dict[str, list[dict]]:
    args = ["hand", "groups", str(course / "class"), "-p", str(PROBLEMS), "--json", *extra]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["parts"]


def test_right_answers_are_one_group_by_proven_meaning(course: Path) -> None:
    groups = _groups(course, "--part", "q5.softplus_second")["q5.softplus_second"]
    right = next(g for g in groups if g["kind"] == "correct")
    assert sorted(right["students"]) == ["s1", "s2", "s3"]
    wrong = [g for g in groups if g["kind"] == "wrong"]
    # sigmoid(z)^2 and sigmoid(z)**2 are one wrong answer; sigmoid(z) another; largest first
    assert [sorted(g["students"]) for g in wrong] == [["s5", "s6"], ["s4"]]
    assert groups[-1]["kind"] == "missing" and sorted(groups[-1]["students"]) == ["s7"]


def test_wrong_groups_name_the_known_slip(course: Path) -> None:
    groups = _groups(course, "--part", "q5.softplus_derivative")["q5.softplus_derivative"]
    by_student = {s: g for g in groups for s in g["students"]}
    # -e^z/(1+e^z) and -1/(1+e^-z) differ at grader's rounded sample values but are proven one
    assert by_student["s1"] is by_student["s2"]
    assert by_student["s1"]["misconception"] == "sign flipped"
    assert by_student["s3"]["misconception"] == "a factor 2 too small"


def test_unreadable_answers_come_first(course: Path) -> None:
    groups = _groups(course, "--part", "q5.lipschitz")["q5.lipschitz"]
    kinds = [g["kind"] for g in groups]
    assert kinds[:2] == ["invalid", "invalid"] and "wrong" in kinds
    half = next(g for g in groups if g["kind"] == "wrong")
    assert sorted(half["students"]) == ["s5", "s6"] and half["misconception"] == "a factor 2 too large"


def test_text_parts_group_by_normalised_text_largest_first(course: Path) -> None:
    groups = _groups(course, "--part", "q4")["q4"]
    assert groups[0]["kind"] == "text" and sorted(groups[0]["students"]) == ["s4", "s5", "s7"]
    assert [g["kind"] for g in groups[1:]] == ["single", "missing"]


def test_a_commented_wrong_group_is_offered_as_a_mistakes_entry(course: Path) -> None:
    hand = course / "hand.yaml"
    hand.write_text(
        "- {student: s5, part: q5.lipschitz, points: 0.5, by: ta, reason: partial credit,"
        " comment: 'sup |sigma_s| is at z = 0, where it is 1/4, not 1/2'}\n"
    )
    args = ["hand", "groups", str(course / "class"), "-p", str(PROBLEMS), "--part", "q5.lipschitz"]
    result = CliRunner().invoke(main, [*args, "--hand", str(hand), "--mistakes"])
    assert result.exit_code == 0, result.output
    assert "(1 graded)" in result.stdout
    snippet = result.stdout[result.stdout.index("# under part q5.lipschitz") :]
    entry = yaml.safe_load(snippet)["mistakes"][0]
    assert entry == {
        "answer": "1/2",
        "feedback": "sup |sigma_s| is at z = 0, where it is 1/4, not 1/2",
        "score": 0.25,
    }
    # pasted into the problem file, it grades the group automatically
    text = PROBLEMS.read_text().replace(
        "        answer: 1/4\n",
        "        answer: 1/4\n" + "\n".join("        " + line for line in snippet.splitlines()[1:]) + "\n",
    )
    part = next(p for a, _, p in parse_problem_set(text).iter_parts() if a == "q5.lipschitz")
    assert part.mistakes and part.mistakes[0].answer == "1/2"


@pytest.mark.parametrize(
    ("part_id", "answer", "slip"),
    [
        ("q5.softplus_derivative", "-exp(z)/(1 + exp(z))", "sign flipped"),
        ("q5.softplus_derivative", "2 exp(z)/(1 + exp(z))", "a factor 2 too large"),
        ("q5.softplus_derivative", "exp(z)/(1 + exp(z))/z", "a factor 1/z too many"),
        ("q5.softplus_second", "tanh(z)(1 - tanh(z))", None),
        ("q5.softplus_derivative", "exp(z)", None),
    ],
)
def test_misconceptions_are_proven_by_the_checker(part_id: str, answer: str, slip: str | None) -> None:
    part = next(p for a, _, p in load_problem_set(PROBLEMS).iter_parts() if a == part_id)
    found = identify(part, answer)
    assert (found.name if found else None) == slip


def test_a_term_missing_and_the_wrong_activation() -> None:
    spec = parse_problem_set(
        """
assignment: slips
questions:
  - {id: grad, type: expression, symbols: {x: real}, answer: "sigmoid(x) + x^2 - 3"}
  - {id: shape, type: shape, answer: [64, 3, 5]}
  - {id: conv, type: array, answer: [[1, 2], [3, 4]]}
"""
    )
    parts = {a: p for a, _, p in spec.iter_parts()}
    assert identify(parts["grad"], "sigmoid(x) - 3").name == "a term missing"
    assert (
        identify(parts["grad"], "tanh(x) + x^2 - 3").name == "the wrong activation (tanh in place of sigmoid)"
    )
    assert identify(parts["shape"], [64, 3, 4]).name == "off by one in dimension 3"
    assert identify(parts["conv"], [[1, 3], [2, 4]]).name == "transposed"


# ---- code parts: grouped by what each answer did in its own sandbox ----------------------

CODE_PROBLEMS = """
assignment: code-groups
questions:
  - id: double
    type: code
    entry: double
    time_limit: 10
    inputs: {x: {shape: [3]}}
    answer: |
      def double(x):
          return 2 * x
"""

# A student whose code computes nothing: it looks for another job in its sandbox (the
# runner's request, up its own call stack), runs that job's code and returns its outputs,
# and keeps its source. Run beside student A's code, it would join A's group.
COPYCAT = """
import sys

def double(x):
    frame = sys._getframe()
    while frame is not None and not isinstance(frame.f_locals.get("request"), dict):
        frame = frame.f_back
    if frame is None:
        return 0 * x
    others = [job for job in frame.f_locals["request"]["jobs"] if job["id"] != frame.f_locals["job"]["id"]]
    if not others:
        return 0 * x
    scope = {}
    for source in others[0]["sources"]:
        exec(source["text"], scope)
    return scope[others[0]["entry"]](x)
"""

CODE_ANSWERS = {
    "right": "def double(x):\n    return x + x\n",
    "triple-a": "def double(x):\n    return 3 * x\n",
    "triple-b": "def double(x):\n    return x * 3.0\n",
    "copycat": COPYCAT,
}


@pytest.fixture
def code_class(tmp_path: Path) -> Path:
    (tmp_path / "problems.yaml").write_text(CODE_PROBLEMS)
    for student, code in CODE_ANSWERS.items():
        (tmp_path / "class" / student).mkdir(parents=True)
        (tmp_path / "class" / student / "answers.json").write_text(json.dumps({"answers": {"double": code}}))
    return tmp_path


def _students_by_group(groups: list[dict]) -> list[list[str]]:
    return sorted(sorted(group["students"]) for group in groups)


@needs_sandbox
def test_code_answers_are_grouped_by_what_each_did_in_its_own_sandbox(code_class: Path) -> None:
    """The copycat's code never runs beside another student's: it stays alone, with the
    nothing it computes, and the two triples are one group."""
    args = ["hand", "groups", str(code_class / "class"), "-p", str(code_class / "problems.yaml"), "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    groups = json.loads(result.stdout)["parts"]["double"]
    assert _students_by_group(groups) == [["copycat"], ["right"], ["triple-a", "triple-b"]]
    assert next(g for g in groups if g["students"] == ["copycat"])["kind"] == "wrong"


@needs_sandbox
def test_grouping_code_answers_runs_no_code(code_class: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Groups come from the outputs each verdict keeps (a TA's page only reads them): no
    sandbox starts once the class is graded. The outputs are the student's own, kept where
    the report is stored and never in the report a student sees."""
    spec = load_problem_set(code_class / "problems.yaml")
    folders = submission_folders(code_class / "class")
    reports = run_batch(spec, code_class / "class", folders, BatchOptions(use_cache=False)).reports
    stored = [unpacked(packed(report)) for report in reports]

    def no_sandbox(*args: object, **kwargs: object) -> None:
        raise AssertionError("a sandbox started while grouping")

    monkeypatch.setattr(sandbox, "run_runner", no_sandbox)
    monkeypatch.setattr(runs, "run_runner", no_sandbox)
    groups = class_groups(spec, code_class / "class", folders, stored, ("double",))["double"]
    assert _students_by_group([g.to_dict() for g in groups]) == [
        ["copycat"],
        ["right"],
        ["triple-a", "triple-b"],
    ]
    triple = next(r for r in stored if r.student == "triple-a").parts[0]
    assert triple.outputs is not None and "record" in triple.outputs
    assert "outputs" not in json.dumps(triple.to_dict(show_expected=True))
