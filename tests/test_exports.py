"""Exports to the systems TAs and students already use: GitHub Actions, Gradescope, Canvas,
Moodle and JUnit. Every shipped submission has a reviewed golden export per format in
tests/golden/<format>/; Gradescope's results and the JUnit XML are also checked against
their published formats (tests/schemas/).

After a deliberate change: ``GRADER_UPDATE_GOLDEN=1 python -m pytest tests/test_exports.py``.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import jsonschema
import pytest
import xmlschema
from click.testing import CliRunner
from code_support import skip_unless_problem_set_runs

from grader.cli import main
from grader.core.report import Report
from grader.hand import grade_with_hand, load_hand_grades
from grader.loading import load_problem_set, load_submission
from grader.reporting.lms import load_roster
from grader.reporting.reporters import REPORTERS

ROOT = Path(__file__).parent.parent
TESTS = Path(__file__).parent
GOLDEN = TESTS / "golden"
FIXTURES = TESTS / "fixtures"
BASICS = "tests/fixtures/basics.yaml"
ROSTER = "tests/fixtures/roster.csv"
GRADESCOPE_SCHEMA = json.loads((TESTS / "schemas" / "gradescope-results.schema.json").read_text())
JUNIT_SCHEMA = xmlschema.XMLSchema(str(TESTS / "schemas" / "junit.xsd"))
PER_STUDENT = {"github": ".txt", "gradescope": ".json", "junit": ".xml"}
PER_CLASS = ("canvas", "moodle")


@pytest.fixture(autouse=True)
def _in_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    """Paths as a CI job sees them: relative to the repository, no step summary unless asked."""
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def _shipped() -> list[tuple[str, str]]:
    return [
        (problem_file.stem, student.name)
        for problem_file in sorted((ROOT / "problems").glob("*.yaml"))
        for student in sorted((ROOT / "submissions" / problem_file.stem).iterdir())
        if student.is_dir()
    ]


_REPORTS: dict[tuple[str, str], Report] = {}


def shipped_report(problem_set: str, student: str) -> Report:
    """One shipped submission graded once for all formats (paths relative to the repository)."""
    skip_unless_problem_set_runs(f"problems/{problem_set}.yaml")
    if (problem_set, student) not in _REPORTS:
        spec = load_problem_set(f"problems/{problem_set}.yaml")
        hand = Path(f"submissions/{problem_set}/hand.yaml")  # the TAs' grades of the text parts
        grades = load_hand_grades(hand, spec).by_folder().get(student, ()) if hand.exists() else ()
        submission = load_submission(f"submissions/{problem_set}/{student}")
        _REPORTS[problem_set, student] = grade_with_hand(spec, submission, grades)
    return _REPORTS[problem_set, student]


def check_golden(path: Path, text: str) -> None:
    if os.environ.get("GRADER_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden export {path}; create it with GRADER_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", sorted(PER_STUDENT))
@pytest.mark.parametrize(("problem_set", "student"), _shipped())
def test_golden_export_of_each_shipped_submission(fmt: str, problem_set: str, student: str) -> None:
    text = REPORTERS[fmt].render(shipped_report(problem_set, student))
    check_golden(GOLDEN / fmt / problem_set / f"{student}{PER_STUDENT[fmt]}", text)


@pytest.mark.parametrize("fmt", PER_CLASS)
@pytest.mark.parametrize("problem_set", sorted({p for p, _ in _shipped()}))
def test_golden_gradebook_of_each_shipped_class(fmt: str, problem_set: str) -> None:
    reports = [shipped_report(p, s) for p, s in _shipped() if p == problem_set]
    reporter = REPORTERS[fmt].with_roster(load_roster(Path(ROSTER)))  # type: ignore[attr-defined]
    check_golden(GOLDEN / fmt / f"{problem_set}.csv", reporter.render_batch(reports))


@pytest.mark.parametrize(("problem_set", "student"), _shipped())
def test_gradescope_results_follow_the_published_format(problem_set: str, student: str) -> None:
    report = shipped_report(problem_set, student)
    results = json.loads(REPORTERS["gradescope"].render(report))
    jsonschema.validate(results, GRADESCOPE_SCHEMA, cls=jsonschema.Draft202012Validator)
    # a 0/0 test would show as passed: a proof is a test once a TA graded it (hand.yaml)
    counted = [p.id for p in report.parts if p.type != "text" or p.hand is not None]
    assert [t["name"] for t in results["tests"]] == counted
    assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]))
    assert all(t["output_format"] == "md" for t in results["tests"])


@pytest.mark.parametrize(("problem_set", "student"), _shipped())
def test_junit_xml_follows_the_published_schema(problem_set: str, student: str) -> None:
    report = shipped_report(problem_set, student)
    xml = REPORTERS["junit"].render(report)
    JUNIT_SCHEMA.validate(xml)
    cases = JUNIT_SCHEMA.to_dict(xml)["testsuite"][0]["testcase"]
    assert [c["@name"] for c in cases] == [p.id for p in report.parts]
    for case, part in zip(cases, report.parts, strict=True):
        if part.status.value in ("incorrect", "partial", "missing", "invalid"):
            assert case["failure"][0]["@type"] == part.status.value
            assert part.feedback.splitlines()[0] in case["failure"][0]["$"]
        else:
            assert "failure" not in case


def test_a_batch_is_one_junit_file_and_a_list_of_gradescope_results() -> None:
    code, xml, _ = run("grade", "tests/fixtures/class", "-p", BASICS, "-f", "junit", "-q")
    assert code == 0
    JUNIT_SCHEMA.validate(xml)
    suites = JUNIT_SCHEMA.to_dict(xml)["testsuite"]
    assert [s["@name"] for s in suites] == [f"basics · {n}" for n in ("alice", "bob", "carol", "dave")]
    code, out, _ = run("grade", "tests/fixtures/class", "-p", BASICS, "-f", "gradescope", "-q")
    results = json.loads(out)
    assert [r["extra_data"]["student"] for r in results] == ["alice", "bob", "carol", "dave"]
    for one in results:
        jsonschema.validate(one, GRADESCOPE_SCHEMA, cls=jsonschema.Draft202012Validator)


def test_gradescope_hand_graded_parts_are_no_passed_tests() -> None:
    _, out, _ = run("grade", "tests/fixtures/class/alice", "-p", BASICS, "-f", "gradescope")
    results = json.loads(out)
    tests = {t["name"]: t for t in results["tests"]}
    assert "proof" not in tests  # Gradescope shows a 0/0 test as passed before a TA graded it
    assert "Graded by hand by a TA, not in the autograder score: proof (3 points)" in results["output"]
    assert tests["params"]["status"] == "passed" and tests["params"]["max_score"] == 2


def test_github_annotations_point_at_the_line_of_each_wrong_answer(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    env = {"GITHUB_STEP_SUMMARY": str(summary)}
    result = CliRunner(env=env).invoke(
        main, ["grade", "tests/fixtures/class/bob", "-p", BASICS, "-f", "github"]
    )
    lines = result.stdout.splitlines()
    answers = (FIXTURES / "class" / "bob" / "answers.yaml").read_text().splitlines()
    errors = [line for line in lines if line.startswith("::error ")]
    assert len(errors) == 2  # conv.full and kind are wrong; params is right
    for line in errors:
        properties = dict(item.split("=", 1) for item in line[len("::error ") :].split("::")[0].split(","))
        assert properties["file"] == "tests/fixtures/class/bob/answers.yaml"
        part_id = properties["title"].split("%3A")[0]
        assert answers[int(properties["line"]) - 1].strip().startswith(f"{part_id}:")
    assert lines[-1] == "::notice title=Autograding complete::Points 2/9"  # what GitHub Classroom reads
    page = summary.read_text()
    assert "**Score: 2 / 9**" in page and "| conv.full | incorrect | 0/2 |" in page


def test_github_annotation_of_an_unreadable_answers_file_is_at_its_line() -> None:
    code, out, err = run("grade", "tests/fixtures/class/carol", "-p", BASICS, "-f", "github")
    assert out.startswith("::error file=tests/fixtures/class/carol/answers.yaml,line=3,")
    assert "not valid YAML" in out and out.rstrip().endswith("::Points 0/9")
    assert code == 2 and "could not be read" in err


def test_canvas_gradebook_maps_folders_to_students_with_the_roster() -> None:
    code, out, err = run(
        "grade", "tests/fixtures/class", "-p", BASICS, "-f", "canvas", "--roster", ROSTER, "-q"
    )
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "basics"]
    assert rows[1] == ["Points Possible", "", "", "", "", "9"]  # the whole assignment, proof included
    by_name = {row[0]: row for row in rows[2:]}
    assert by_name["Alice Martin"] == ["Alice Martin", "101", "s101", "amartin", "Section 1", "6"]
    assert by_name["Bob Li"][1:] == ["102", "s102", "bli", "Section 2", "2"]
    assert by_name["dave"] == ["dave", "", "", "", "", "1"]  # not in the roster: kept, and said
    assert "not in the roster (kept, with empty identity cells): dave" in err
    assert "in the roster but not graded: erin" in err


def test_moodle_gradebook_has_an_identifier_column_and_a_grade() -> None:
    code, out, err = run(
        "grade", "tests/fixtures/class", "-p", BASICS, "-f", "moodle", "--roster", ROSTER, "-q"
    )
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["Email address", "Full name", "basics"]
    assert ["alice@example.edu", "Alice Martin", "6"] in rows
    assert not any(row[0] == "" for row in rows)  # Moodle would book it to the row above
    assert "not in the roster (no row written: enter this grade in Moodle by hand): dave" in err


def test_roster_is_only_for_gradebooks_and_must_name_folders(tmp_path: Path) -> None:
    code, _, err = run("grade", "tests/fixtures/class/alice", "-p", BASICS, "-f", "json", "--roster", ROSTER)
    assert code == 2 and "--roster is for" in err and "json" in err
    bad = tmp_path / "roster.csv"
    bad.write_text("name,email\nAlice,a@example.edu\n")
    code, _, err = run("grade", "tests/fixtures/class", "-p", BASICS, "-f", "canvas", "--roster", str(bad))
    assert code == 2 and "needs a 'folder' column" in err


def test_fail_under_says_why_and_counts_auto_graded_points_only() -> None:
    code, _, err = run("grade", "tests/fixtures/class/alice", "-p", BASICS, "--fail-under", "7")
    assert code == 1
    assert "alice: below --fail-under: 6 of 6 auto-graded points (100.0%), under 7 points" in err
    assert "3 hand-graded points are pending and counted on neither side" in err
    code, _, err = run("grade", "tests/fixtures/class/bob", "-p", BASICS, "--fail-under", "50%")
    assert code == 1 and "2 of 9 auto-graded points (22.2%), under 50% (4.5 points)" in err
    code, _, err = run("grade", "tests/fixtures/class/alice", "-p", BASICS, "--fail-under", "100%")
    assert code == 0 and err == ""


def test_a_submission_answering_another_problem_set_exits_2_with_why() -> None:
    code, _, err = run("grade", "submissions/mfdnn-hw3/seed-004", "-p", BASICS)
    assert code == 2 and "no answer matches a part of basics (is -p the right problem set?)" in err


def test_a_course_folder_with_no_submissions_for_any_problem_set_exits_2(tmp_path: Path) -> None:
    (tmp_path / "unrelated").mkdir()
    code, _, err = run("grade", str(tmp_path), "-p", "problems/")
    assert code == 2
    assert f"no submissions (looked for {tmp_path / 'mfdnn-hw3'})" in err and "graded nothing" in err


# ---- the roster's identity, and what Canvas and Moodle can match (issue 60 item 8) ----------

IDENTITIES = [
    (  # Moodle's grades export
        "First name,Last name,ID number,Institution,Department,Email address",
        "Ada,Lovelace,s1000001,Uni,CS,ada@uni.example",
        {"student": "Ada Lovelace", "idnumber": "s1000001", "email": "ada@uni.example"},
    ),
    (  # Moodle's participants, with the username shown
        "Full name,Username,Email address,Roles",
        "Kurt Gödel,kgoedel,,Student",
        {"student": "Kurt Gödel", "username": "kgoedel"},
    ),
    (  # Canvas's gradebook export
        "Student,ID,SIS User ID,SIS Login ID,Section,HW2 (4242)",
        '"Hopper, Grace",101,g-hopper,ghopper,S1,7',
        {
            "student": "Hopper, Grace",
            "id": "101",
            "sisuserid": "g-hopper",
            "sisloginid": "ghopper",
            "section": "S1",
        },
    ),
    ("name,email", "s2000002,kurt@uni.example", {"email": "kurt@uni.example"}),
]


@pytest.mark.parametrize(
    ("header", "row", "expected"), IDENTITIES, ids=["moodle-grades", "moodle-people", "canvas", "plain"]
)
def test_the_identity_of_a_roster_row_from_each_lms_export(
    header: str, row: str, expected: dict[str, str]
) -> None:
    from grader.reporting.lms import header_key, identity

    (values,) = csv.DictReader(io.StringIO(f"{header}\n{row}\n"))
    assert identity({header_key(k): v for k, v in values.items()}) == expected


def _reports(*names: str) -> list[Report]:
    from grader.core.report import PartResult
    from grader.core.verdict import Status

    return [Report("hw2", name, [PartResult("q1", Status.CORRECT, 5.0, 5.0)], folder=name) for name in names]


def test_moodle_keys_on_the_email_address_column_of_moodles_own_export(tmp_path: Path) -> None:
    """The Moodle export keyed on ID number although the docs list e-mail first: Moodle's own
    header is "Email address"; of e-mail, ID number and username the one most graded students
    have is the identifier (e-mail on a tie), and who has none is left out with why."""
    from grader.reporting.lms import CanvasReporter, MoodleReporter

    roster = tmp_path / "roster.csv"
    roster.write_text(
        "folder,First name,Last name,ID number,Email address\n"
        "ada,Ada,Lovelace,s1,ada@uni.example\nalan,Alan,Turing,,alan@uni.example\nkurt,Kurt,Gödel,s3,\n",
        encoding="utf-8",
    )
    reporter = MoodleReporter(load_roster(roster))
    reports = _reports("ada", "alan", "kurt", "emmy")
    rows = list(csv.reader(io.StringIO(reporter.render_batch(reporter.split(reports)[0]))))
    assert rows == [
        ["Email address", "Full name", "hw2"],
        ["ada@uni.example", "Ada Lovelace", "5"],
        ["alan@uni.example", "Alan Turing", "5"],
    ]
    assert reporter.left_out(reports) == [
        ("kurt", "no Email address in the roster (the file's identifier)"),
        ("emmy", "not in the roster"),
    ]
    assert reporter.identifier(_reports("ada", "alan", "kurt")) == ("email", "Email address")  # 2-2: e-mail
    assert reporter.identifier(_reports("ada", "kurt")) == ("idnumber", "ID number")  # what both have
    canvas = CanvasReporter(load_roster(roster))
    kept, out = canvas.split(reports)
    assert [r.student for r in kept] == ["ada", "alan", "kurt"] and out == [("emmy", "not in the roster")]
    rows = list(csv.reader(io.StringIO(canvas.render_batch(kept))))
    assert rows[2:] == [
        ["Ada Lovelace", "", "s1", "", "", "5"],  # Moodle's ID number as the SIS User ID
        ["Alan Turing", "", "", "", "", "5"],  # Canvas matches him by his exact name
        ["Kurt Gödel", "", "s3", "", "", "5"],
    ]
