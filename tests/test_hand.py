"""Hand grades through the file path: ``grader grade ... --hand hand.yaml``.

A TA's grade of a proof, or an override of an automatic verdict with a reason, is
counted in every report and export; it is pinned to the answer it was given for,
kept (and listed for review) when that answer or the verdict under it changes, and
never lost by a re-run, a regrade, ``--no-cache`` or a resumed batch.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from grader.cli import main
from grader.hand import parse_hand_grades
from grader.hand.book import hand_grades_schema
from grader.loading import ProblemFileError, parse_problem_set

ROOT = Path(__file__).parent.parent

PROBLEMS = """\
assignment: hand-demo
title: Hand grading demo
questions:
  - id: q1
    type: expression
    symbols: {x: real}
    answer: "2*x"
    points: 2
  - id: q2
    type: text
    points: 4
    prompt: Prove that ReLU is idempotent.
    rubric:
      - {id: cases, points: 2, text: splits into the cases z > 0 and z <= 0}
      - {id: conclude, points: 2, text: concludes for both cases}
  - id: q3
    type: text
    points: 3
    rubric:
      - {id: no-bound, points: -1, text: no bound on the second term}
      - {id: sloppy, points: -0.5, text: sloppy notation}
"""

HAND = """\
# grades of q2 and q3, by Kim
- {student: alice, part: q2, rubric: [cases, conclude], comment: "Both cases, cleanly.", by: ta-kim}
- student: alice
  part: q3
  rubric: [no-bound]
  comment: |
    Right idea; bound the second term.
  by: ta-kim

- student: bob
  part: q1
  points: 2
  reason: "the trailing + is a slip: 2x is right"
  by: ta-lee
- {student: bob, part: q2, points: 1.5, comment: "Only the case z > 0.", by: ta-lee}
"""


def _write_class(root: Path, answers: dict[str, dict[str, str]]) -> Path:
    folder = root / "class"
    for student, given in answers.items():
        (folder / student).mkdir(parents=True, exist_ok=True)
        (folder / student / "answers.yaml").write_text(yaml.safe_dump(given), encoding="utf-8")
    return folder


@pytest.fixture
def course(tmp_path: Path) -> dict[str, Path]:
    problem_file = tmp_path / "hand-demo.yaml"
    problem_file.write_text(PROBLEMS, encoding="utf-8")
    folder = _write_class(
        tmp_path,
        {
            "alice": {"q1": "x + x", "q2": "If z > 0 ... if z <= 0 ...", "q3": "The first term is bounded."},
            "bob": {"q1": "2x +", "q2": "For z > 0, relu(relu(z)) = z.", "q3": "Bounded."},
            "carol": {"q1": "3*x", "q2": "Trivial."},
        },
    )
    hand = tmp_path / "hand.yaml"
    hand.write_text(HAND, encoding="utf-8")
    return {"problems": problem_file, "class": folder, "hand": hand, "out": tmp_path / "out"}


def _grade(course: dict[str, Path], *extra: str) -> tuple[int, str, str]:
    args = ["grade", str(course["class"]), "-p", str(course["problems"]), "--hand", str(course["hand"])]
    result = CliRunner().invoke(main, [*args, *extra])
    return result.exit_code, result.stdout, result.stderr


def _reports(out: Path) -> dict[str, dict]:
    return {name: json.loads((out / f"{name}.json").read_text()) for name in ("alice", "bob", "carol")}


def _part(report: dict, part_id: str) -> dict:
    return next(p for p in report["parts"] if p["id"] == part_id)


def test_hand_grades_count_in_the_report_and_pending_is_only_what_nobody_graded(course) -> None:
    code, _, stderr = _grade(course, "-o", str(course["out"]), "-q")
    assert code == 0, stderr
    reports = _reports(course["out"])
    alice = reports["alice"]
    q2 = _part(alice, "q2")
    assert (q2["status"], q2["score"]) == ("correct", 4)
    assert q2["hand"]["by"] == "ta-kim" and q2["hand"]["comment"] == "Both cases, cleanly."
    assert [item["id"] for item in q2["hand"]["rubric"]] == ["cases", "conclude"]
    # A negative rubric takes points off the full mark: 3 - 1.
    q3 = _part(alice, "q3")
    assert (q3["status"], q3["score"]) == ("partial", 2)
    assert alice["score"] == 2 + 4 + 2 and "pending" not in alice

    bob = reports["bob"]
    override = _part(bob, "q1")
    assert override["score"] == 2 and override["status"] == "correct"
    assert override["hand"]["overrides"]["status"] == "invalid"
    assert override["hand"]["reason"].startswith("the trailing +")
    assert _part(bob, "q2")["score"] == 1.5
    assert bob["pending"] == 3  # q3 is still waiting for a TA: only it is pending

    carol = reports["carol"]  # nobody graded carol's proofs
    assert carol["pending"] == 4 and "hand" not in _part(carol, "q2")


def test_student_pages_mark_the_comment_as_the_tas(course) -> None:
    _grade(course, "-o", str(course["out"]), "-q")
    page = (course["out"] / "alice.html").read_text()
    assert "Comment from the TA (ta-kim):" in page and "Both cases, cleanly." in page
    assert "+2 splits into the cases z &gt; 0 and z &lt;= 0" in page
    markdown = (course["out"] / "bob.md").read_text()
    assert "changed the automatic verdict" in markdown and "the trailing + is a slip" in markdown
    assert "**Comment from the TA (ta-lee):** Only the case z &gt; 0." in markdown


def test_every_export_counts_hand_grades(course, tmp_path: Path) -> None:
    _grade(course, "-o", str(course["out"]), "-q")
    book = list(csv.reader((course["out"] / "grades.csv").open()))
    header, rows = book[0], {row[1]: row for row in book[2:]}
    assert rows["alice"][header.index("q2")] == "4" and rows["alice"][header.index("total")] == "8"
    assert rows["carol"][header.index("q2")] == "" and rows["carol"][header.index("pending")] == "4"

    _, canvas, _ = _grade(course, "-f", "canvas", "-q")
    table = list(csv.reader(io.StringIO(canvas)))
    assert table[1][-1] == "9"  # q1, q2 and q3: a TA graded each for someone
    assert {row[0]: row[-1] for row in table[2:]}["alice"] == "8"

    _, moodle, _ = _grade(course, "-f", "moodle", "-q")
    assert {row[1]: row[2] for row in csv.reader(io.StringIO(moodle))}["bob"] == "3.5"

    _, junit, _ = _grade(course, "-f", "junit", "-q")
    suites = ET.fromstring(junit)
    alice = next(s for s in suites if s.get("name", "").endswith("alice"))
    q2 = next(case for case in alice if case.get("name", "").endswith("q2"))
    assert q2.find("skipped") is None and q2.find("failure") is None

    _, gradescope, _ = _grade(course, "-f", "gradescope", "-q")
    results = {r["extra_data"]["student"]: r for r in json.loads(gradescope)}
    test = next(t for t in results["alice"]["tests"] if t["name"] == "q2")
    assert (test["score"], test["max_score"], test["status"]) == (4, 4, "passed")
    assert "Comment from the TA (ta-kim)" in test["output"]
    assert results["alice"]["score"] == 8

    _, github, _ = _grade(course, "-f", "github", "-q")
    assert "await grading by a TA" in github  # carol's and bob's q3
    assert "8/9" in github or "8 / 9" in github or "8/" in github


def test_new_grades_are_pinned_in_the_file_keeping_its_comments(course) -> None:
    _, _, stderr = _grade(course, "-q")
    assert "pinned 4 hand grades" in stderr
    text = course["hand"].read_text()
    assert text.startswith("# grades of q2 and q3, by Kim\n")
    book = parse_hand_grades(text)
    assert all(g.answer and len(g.answer) == 32 for g in book.grades)
    override = next(g for g in book.grades if g.part == "q1")
    assert override.auto is not None and override.auto == "invalid 0"
    assert "Right idea; bound the second term.\n" in text  # the block scalar is intact
    _, _, again = _grade(course, "-q")
    assert "pinned" not in again and course["hand"].read_text() == text


def test_a_changed_answer_keeps_the_grade_marked_stale_and_listed(course) -> None:
    out = course["out"]
    _grade(course, "-o", str(out), "-q")
    (course["class"] / "alice" / "answers.yaml").write_text(
        yaml.safe_dump({"q1": "x + x", "q2": "A new proof.", "q3": "The first term is bounded."})
    )
    code, _, stderr = _grade(course, "-o", str(out))
    assert code == 0
    q2 = _part(_reports(out)["alice"], "q2")
    assert q2["score"] == 4 and q2["hand"]["stale"] is True
    assert "1 hand grades to review" in stderr and "alice (alice) q2: the answer changed" in stderr
    review = list(csv.DictReader((out / "hand-review.csv").open()))
    assert [(r["folder"], r["part"]) for r in review] == [("alice", "q2")]
    flags = {row["folder"]: row["flags"] for row in csv.DictReader((out / "grades.csv").open())}
    assert "q2 (answer changed)" in flags["alice"]
    assert "will look at it again" in (out / "alice.html").read_text()


def test_an_override_stays_when_the_automatic_verdict_under_it_changes(course) -> None:
    course["hand"].write_text(
        '- {student: carol, part: q1, points: 1, reason: "right method, one slip", by: ta-lee}\n'
    )
    _, _, stderr = _grade(course, "-q")
    assert "pinned 1 hand grades" in stderr and 'auto: "incorrect 0"' in course["hand"].read_text()
    course["problems"].write_text(PROBLEMS.replace('answer: "2*x"', 'answer: "3*x"'))
    code, stdout, stderr = _grade(course, "-f", "json")
    assert code == 0
    q1 = _part(next(r for r in json.loads(stdout) if r["student"] == "carol"), "q1")
    assert q1["score"] == 1 and q1["hand"]["overrides"] == {"status": "correct", "score": 2}
    assert q1["hand"]["auto_changed"] is True
    assert "carol (carol) q1: the automatic verdict under ta-lee's override is now correct 2" in stderr


def test_nothing_is_lost_by_a_regrade_an_edited_rubric_or_no_cache(course) -> None:
    out = course["out"]
    _grade(course, "-o", str(out), "-q")
    first = _reports(out)
    course["problems"].write_text(
        PROBLEMS.replace("points: 2\n  - id: q2", "points: 2\n    rtol: 0.001\n  - id: q2")
    )
    _grade(course, "-o", str(out), "-q")
    assert _reports(out)["alice"]["score"] == first["alice"]["score"] == 8
    # Changing a rubric item's points changes every grade it was applied to.
    course["problems"].write_text(PROBLEMS.replace("{id: conclude, points: 2", "{id: conclude, points: 1.5"))
    _grade(course, "-o", str(out), "-q")
    assert _part(_reports(out)["alice"], "q2")["score"] == 3.5
    _grade(course, "-o", str(out), "-q", "--no-cache")
    assert _part(_reports(out)["alice"], "q2")["score"] == 3.5
    assert _part(_reports(out)["bob"], "q1")["score"] == 2


def test_a_changed_hand_file_regrades_only_from_the_store(course) -> None:
    out = course["out"]
    _grade(course, "-o", str(out), "-q")
    course["hand"].write_text(course["hand"].read_text().replace("points: 1.5", "points: 2.5"))
    _, _, stderr = _grade(course, "-o", str(out))
    assert _part(_reports(out)["bob"], "q2")["score"] == 2.5
    assert "1 scores changed" in stderr


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("- {student: bob, part: q1, points: 2, by: ta}", "overrides its verdict and needs a reason"),
        ("- {student: bob, part: q9, points: 2, by: ta}", "has no part 'q9'"),
        ("- {student: bob, part: q2, points: 5, by: ta}", "more than the part's 4"),
        ("- {student: bob, part: q2, rubric: [nope], by: ta}", "unknown rubric item nope"),
        ("- {student: bob, part: q2, by: ta}", "give points, or rubric items"),
        ("- {student: bob, part: q2, points: 1, by: ta, note: x}", "unknown key"),
        ("- {student: bob, part: q2, points: 1}", "required key is missing"),
        (
            "- {student: bob, part: q2, points: 1, by: a}\n- {student: bob, part: q2, points: 2, by: b}",
            "graded twice",
        ),
    ],
)
def test_a_wrong_entry_is_refused_with_its_line(course, entry: str, message: str) -> None:
    course["hand"].write_text("# header\n" + entry + "\n")
    code, _, stderr = _grade(course, "-q")
    assert code == 2
    assert message in stderr and f"{course['hand']}:" in stderr


def test_the_shipped_schema_is_the_models(tmp_path: Path) -> None:
    shipped = json.loads((ROOT / "schemas" / "hand-grades.json").read_text())
    assert shipped == hand_grades_schema()
    jsonschema.validate(yaml.safe_load(HAND), shipped)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([{"student": "a", "part": "q1", "points": 1, "by": "x", "extra": 1}], shipped)


def test_a_rubric_needs_unique_item_ids() -> None:
    text = PROBLEMS.replace("{id: conclude,", "{id: cases,")
    with pytest.raises(ProblemFileError, match="unique"):
        parse_problem_set(text)


def test_a_resumed_batch_keeps_every_hand_grade(tmp_path: Path) -> None:
    problem_file = tmp_path / "hand-demo.yaml"
    problem_file.write_text(PROBLEMS)
    students = {f"s{i:03d}": {"q1": "x + x", "q2": f"proof number {i}"} for i in range(60)}
    folder = _write_class(tmp_path, students)
    hand = tmp_path / "hand.yaml"
    hand.write_text("".join(f"- {{student: {s}, part: q2, points: 3, by: ta}}\n" for s in students))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "grader.cli", "grade", str(folder), "-p", str(problem_file)]
    command += ["--hand", str(hand), "-o", str(out), "-q"]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None and len(list(out.glob("s*.json"))) < 10:
        time.sleep(0.01)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    resumed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    for student in students:
        report = json.loads((out / f"{student}.json").read_text())
        assert _part(report, "q2")["score"] == 3 and report["score"] == 5
    book = list(csv.DictReader((out / "grades.csv").open()))
    assert len(book) == 61 and all(row["q2"] == "3" for row in book[1:])


def test_stats_list_hand_grading_progress_and_unreadable_answers(course) -> None:
    out = course["out"]
    _grade(course, "-o", str(out), "-q")
    result = CliRunner().invoke(main, ["stats", str(out)])
    assert result.exit_code == 0, result.output
    assert "hand grading: 4 graded, 2 to grade" in result.stdout  # carol q2 and bob q3 wait
    assert "  q2: 2 graded, 1 to grade" in result.stdout
    assert "unreadable answers to q1 (1): bob" in result.stdout  # overridden, still listed
    data = json.loads(CliRunner().invoke(main, ["stats", str(out), "--json"]).stdout)[0]
    q3 = next(p for p in data["parts"] if p["id"] == "q3")
    assert (q3["hand_graded"], q3["to_grade"]) == (1, 1)
    page = (out / "index.html").read_text()
    # Issue 49 item 12: what the hand-grading figures count, in words a TA reads at once.
    assert "<strong>4 of 6</strong>answers to hand-graded parts graded so far" in page
    assert "</strong>points per student not counted until a TA grades them" in page
    assert "points graded by hand" not in page


def test_a_rubric_yaml_beside_the_problem_file_is_merged_and_wins_on_an_id(course) -> None:
    out = course["out"]
    (course["problems"].parent / "rubric.yaml").write_text(
        "hand-demo:\n"
        "  q2:\n"
        "    - {id: conclude, points: 1, text: concludes for both cases}\n"
        "    - {id: lemma, points: 1, text: cites the lemma}\n",
        encoding="utf-8",
    )
    course["hand"].write_text(HAND + "- {student: carol, part: q2, rubric: [lemma], by: ta-kim}\n")
    code, _, err = _grade(course, "-o", str(out), "-q")
    assert code == 0, err
    reports = _reports(out)
    assert _part(reports["alice"], "q2")["score"] == 3  # cases 2 + conclude 1 (rubric.yaml's)
    assert _part(reports["carol"], "q2")["score"] == 1  # an item only rubric.yaml has
    groups = CliRunner().invoke(
        main,
        [
            "hand",
            "groups",
            str(course["class"]),
            "-p",
            str(course["problems"]),
            "--part",
            "q2",
            "--hand",
            str(course["hand"]),
        ],
    )
    assert groups.exit_code == 0, groups.stderr
    assert "Trivial." in groups.stdout
