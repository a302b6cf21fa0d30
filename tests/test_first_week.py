"""Issue 20: what a TA met in a first week with grader (templates, exports, CI, pages).

Each test reproduces one of the traps end to end, through the command a TA runs."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from grader.cli import main
from grader.core.files import write_atomic
from grader.core.verdict import Status
from grader.engine import check_part
from grader.loading import load_problem_set
from grader.types import ANSWER_TYPES

ROOT = Path(__file__).parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
BASICS = str(FIXTURES / "basics.yaml")
CLASS = FIXTURES / "class"
SELECT_ALL = """\
assignment: select-all
title: Activations
questions:
  - id: q1
    prompt: Which activations are monotone?
    type: choice
    options: {A: relu, B: tanh, C: x^2, D: leaky relu}
    answer: [A, B, D]
  - id: q2
    type: number
    answer: 7
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def select_all(tmp_path: Path) -> Path:
    path = tmp_path / "select-all.yaml"
    path.write_text(SELECT_ALL, encoding="utf-8")
    return path


def test_a_select_all_part_validates_and_bundles(select_all: Path, tmp_path: Path) -> None:
    code, out, err = run("validate", str(select_all))
    assert code == 0, err
    assert "every reference answer grades correct" in out
    code, _, err = run("gradescope-bundle", "-p", str(select_all), "-o", str(tmp_path / "autograder.zip"))
    assert code == 0, err
    assert (tmp_path / "autograder.zip").stat().st_size > 0


@pytest.mark.parametrize(
    "written", ["A,B & D", "A, B and D", "A; B; D", "A B D", "(A) relu, (B) tanh, (D) leaky relu"]
)
def test_every_list_form_of_a_select_all_answer_is_read(
    select_all: Path, tmp_path: Path, written: str
) -> None:
    student = tmp_path / "ann"
    student.mkdir()
    (student / "answers.yaml").write_text(f"answers:\n  q1: '{written}'\n  q2: 7\n", encoding="utf-8")
    code, out, err = run("grade", str(student), "-p", str(select_all), "-f", "json")
    assert code == 0, err
    assert '"score": 2' in out


@pytest.mark.parametrize("fmt", ["json", "github", "junit", "gradescope", "table"])
def test_grading_dot_names_the_student_by_the_repository(
    select_all: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    repository = tmp_path / "a1-ann-lee"
    repository.mkdir()
    (repository / "answers.yaml").write_text("answers:\n  q1: [A, B, D]\n  q2: 7\n", encoding="utf-8")
    monkeypatch.chdir(repository)
    code, out, err = run("grade", ".", "-p", str(select_all), "-f", fmt)
    assert code == 0, err
    assert "a1-ann-lee" in out


def classroom_points(result: dict[str, Any]) -> str:
    """What GitHub Classroom's reporter (education/autograding-grading-reporter,
    src/notify-classroom.js) records from a runner's result: the tests' scores added up
    against the runner's max_score."""
    total = sum(test["score"] for test in result["tests"])
    return f"Points {total:g}/{result['max_score']:g}"


def test_github_classroom_reads_the_points_of_a_partly_right_submission(tmp_path: Path) -> None:
    output = tmp_path / "github_output"
    result = CliRunner(env={"GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": None}).invoke(
        main, ["grade", str(CLASS / "bob"), "-p", BASICS, "-f", "github"]
    )
    assert result.exit_code == 0, result.stderr
    notice = result.stdout.splitlines()[-1]
    assert notice == "::notice title=Autograding complete::Points 2/9"
    name, _, value = output.read_text().strip().partition("=")
    assert name == "result"
    runner = json.loads(base64.b64decode(value))
    assert runner["version"] == 1 and runner["status"] == "fail"  # not full marks: not "pass"
    assert classroom_points(runner) == "Points 2/9"  # the same as the notice, not 9/9
    tests = {test["name"]: test for test in runner["tests"]}
    assert tests["conv.full"]["status"] == "fail" and tests["conv.full"]["line_no"] > 0
    assert tests["params"] == {**tests["params"], "status": "pass", "score": 2}
    assert tests["proof"]["status"] == "fail"  # not answered


def test_a_part_waiting_for_a_ta_is_no_failed_classroom_test(tmp_path: Path) -> None:
    output = tmp_path / "github_output"
    CliRunner(env={"GITHUB_OUTPUT": str(output)}).invoke(
        main, ["grade", str(CLASS / "alice"), "-p", BASICS, "-f", "github"]
    )
    runner = json.loads(base64.b64decode(output.read_text().strip().partition("=")[2]))
    assert "proof" not in {test["name"] for test in runner["tests"]}  # answered, waits for a TA
    assert classroom_points(runner) == "Points 6/9" and runner["status"] == "pass"


def test_the_action_gives_classroom_reporters_its_result_in_the_problem_file_mode() -> None:
    workflow = yaml.safe_load((ROOT / "docs" / "course-repository-workflow.yml").read_text())
    (job,) = workflow["jobs"].values()
    (grading,) = [step for step in job["steps"] if step.get("id") == "grader"]
    assert grading["uses"].endswith("@v0.1.0")
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    (grade_step,) = [step for step in action["runs"]["steps"] if step.get("id") == "grade"]
    assert action["outputs"]["result"]["value"] == "${{ steps.grade.outputs.result }}"
    assert "grader" in grade_step["run"]


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_moodle_gets_no_row_without_an_identity(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"  # dave first in the class, and carol without an email
    roster.write_text("folder,name,email\nbob,Bob Li,bob@example.edu\ncarol,Carol Diaz,\n", encoding="utf-8")
    code, out, err = run("grade", str(CLASS), "-p", BASICS, "-f", "moodle", "--roster", str(roster), "-q")
    assert code == 0
    rows = _csv_rows(out)
    assert rows == [["Email address", "Full name", "basics"], ["bob@example.edu", "Bob Li", "2"]]
    assert "no row written" in err and "alice" in err and "dave" in err
    assert "no Email address in the roster (no row written: enter this grade in Moodle by hand): carol" in err


def test_canvas_fills_the_existing_assignment_with_its_full_points(tmp_path: Path) -> None:
    code, out, err = run("grade", str(CLASS), "-p", BASICS, "-f", "canvas", "-q", "--canvas-id", "4242")
    assert code == 0, err
    header, possible = _csv_rows(out)[:2]
    assert header[-1] == "basics (4242)" and possible[-1] == "9"  # 6 auto-graded + 3 by hand
    export = tmp_path / "canvas-export.csv"  # Canvas's gradebook export, a folder column added
    export.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section,Basics (977),Quiz 1 (978),folder\n"
        "Alice Martin,101,s101,amartin,Section 1,,,alice\n",
        encoding="utf-8",
    )
    code, out, err = run("grade", str(CLASS), "-p", BASICS, "-f", "canvas", "--roster", str(export), "-q")
    assert code == 0, err
    assert _csv_rows(out)[0][-1] == "Basics (977)"  # the roster's own column: Canvas matches the id
    code, out, err = run("grade", str(CLASS), "-p", BASICS, "-f", "canvas", "-q")
    assert _csv_rows(out)[0][-1] == "basics" and "Canvas will create a new assignment" in err
    code, _, err = run("grade", str(CLASS), "-p", BASICS, "-f", "moodle", "--canvas-id", "1", "-q")
    assert code == 2 and "--canvas-id is for --format canvas" in err


def _class_of(tmp_path: Path, answers: dict[str, str]) -> Path:
    root = tmp_path / "class"
    for name, text in answers.items():
        (root / name).mkdir(parents=True)
        (root / name / "answers.yaml").write_text(text, encoding="utf-8")
    return root


def test_stats_and_dashboard_list_unreadable_answers_first(tmp_path: Path) -> None:
    correlation = "answers:\n  conv.full: [2, 4, 7, 10, 3, 4]\n  proof: By induction.\n"
    root = _class_of(
        tmp_path,
        {
            "ann": correlation,
            "ben": correlation,
            "cas": "answers:\n  conv.full: '[1, 2, 5, 8, 6, 8'\n",  # right, but the bracket is not closed
        },
    )
    out_dir = tmp_path / "reports"
    code, _, err = run("grade", str(root), "-p", BASICS, "--out", str(out_dir), "-q")
    assert code == 0, err
    code, out, _ = run("stats", str(out_dir), "--json")
    (batch,) = json.loads(out)
    conv = next(part for part in batch["parts"] if part["id"] == "conv.full")
    assert [group["statuses"] for group in conv["wrong_answers"]] == [["invalid"], ["incorrect"]]
    assert conv["wrong_answers"][0]["answer"] == "[1, 2, 5, 8, 6, 8"
    code, out, _ = run("stats", str(out_dir), "--no-color")
    proof = next(line for line in out.splitlines() if line.strip().startswith("proof"))
    assert "by hand/3" in proof  # one student left it blank: still no "mean 0"
    table = out[out.index("most common wrong answers") :]
    assert table.index("invalid") < table.index("incorrect")
    page = (out_dir / "index.html").read_text(encoding="utf-8")
    assert page.index("[1, 2, 5, 8, 6, 8</code>") < page.index("[2, 4, 7, 10, 3, 4]</code>")
    chart_row = page[page.index("proof: 2 manual") :]
    assert chart_row[: chart_row.index("</text>")].endswith("graded by hand")  # not "mean 0%"


def test_small_things_a_ta_notices(select_all: Path, tmp_path: Path) -> None:
    root = _class_of(tmp_path, {name: "answers:\n  q2: 7\n" for name in ("bob", "Alice", "carol", "Dave")})
    out_dir = tmp_path / "reports"
    code, out, err = run("grade", str(root), "-p", str(select_all), "--out", str(out_dir), "-q")
    assert code == 0 and out == "" and err == ""  # -q: no table
    with (out_dir / "grades.csv").open(encoding="utf-8") as stream:
        students = [row[0] for row in csv.reader(stream)][2:]
    assert students == ["Alice", "bob", "carol", "Dave"]  # case-insensitive
    single = tmp_path / "single.yaml"
    single.write_text("assignment: s\nquestions:\n  - {id: q1, type: number, answer: 7}\n", encoding="utf-8")
    code, out, _ = run("validate", str(single))
    assert "(1 part, 1 point;" in out


def test_reports_pages_and_templates_get_the_usual_permissions(select_all: Path, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        root = _class_of(tmp_path, {"ann": "answers:\n  q2: 7\n"})
        out_dir = tmp_path / "reports"
        assert run("grade", str(root), "-p", str(select_all), "--out", str(out_dir), "-q")[0] == 0
        assert run("template", "-p", str(select_all), "-o", str(tmp_path / "answers.yaml"))[0] == 0
        written = [*out_dir.glob("*.*"), tmp_path / "answers.yaml"]
        assert {"ann.json", "ann.html", "index.html", "grades.csv", "answers.yaml"} <= {
            p.name for p in written
        }
        for path in written:
            if not path.name.startswith(".grader-store"):
                assert stat.S_IMODE(path.stat().st_mode) == 0o644, path.name
    finally:
        os.umask(old)


SHIPPED_SETS = sorted((ROOT / "problems").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED_SETS, ids=lambda path: path.stem)
def test_no_template_example_is_the_answer_of_a_shipped_part(path: Path) -> None:
    for address, _, part in load_problem_set(path).iter_parts():
        answer_type = ANSWER_TYPES[part.type]
        for example in answer_type.examples:
            assert example in answer_type.hint(part)  # the student sees it
            verdict = check_part(part, example)
            assert verdict.status is not Status.CORRECT, f"the hint's {example!r} answers {address}"


@pytest.mark.parametrize("fmt", ["yaml", "latex", "markdown", "ipynb"])
@pytest.mark.parametrize("path", SHIPPED_SETS, ids=lambda path: path.stem)
def test_no_template_shows_a_reference_answer(path: Path, fmt: str) -> None:
    code, text, _ = run("template", "-p", str(path), "-f", fmt)
    assert code == 0
    for address, _, part in load_problem_set(path).iter_parts():
        if part.type in ("number", "array", "shape", "complexity"):
            written = ", ".join(map(str, part.answer)) if isinstance(part.answer, list) else str(part.answer)
            if len(written) < 4:  # a small number ("2") is in any text: "2 points"
                continue
            assert written not in text, f"{address}'s answer {written!r} is in the {fmt} template"


SHEET = """\
assignment: sheet
title: A sheet
questions:
  - id: q1
    prompt: Is $\\sigma(x)$ monotone for every $x$?
    type: choice
    options: {yes: "yes", no: "no"}
    answer: yes
  - id: q2
    type: expression
    symbols: [x]
    prompt: The derivative of $x^2$.
    answer: 2*x
"""


@pytest.fixture
def sheet(tmp_path: Path) -> Path:
    path = tmp_path / "sheet.yaml"
    path.write_text(SHEET, encoding="utf-8")
    return path


def test_the_latex_skeleton_is_a_usable_problem_sheet(sheet: Path) -> None:
    code, tex, _ = run("template", "-p", str(sheet), "-f", "latex")
    assert code == 0
    assert "\\item[(yes)] yes" in tex and "\\item[(no)] no" in tex  # the options, in the PDF
    assert "Is $\\sigma(x)$ monotone for every $x$?" in tex  # the prompt's math typeset
    assert "single quotes" not in tex and "use |" not in tex  # no advice for YAML
    body = tex[tex.index("\\subsection*{q2") :]
    assert (
        body.index("The derivative")
        < body.index("\\paragraph{Your answer}")
        < body.index("\\begin{answer}{q2}")
    )


@pytest.mark.parametrize("fmt", ["markdown", "ipynb"])
def test_the_markdown_and_notebook_skeletons_list_options_without_yaml_advice(sheet: Path, fmt: str) -> None:
    code, text, _ = run("template", "-p", str(sheet), "-f", fmt)
    assert code == 0
    assert "- (yes) yes" in text and "single quotes" not in text
    if fmt == "ipynb":
        notebook = json.loads(text)
        assert notebook["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_the_latex_skeleton_compiles(sheet: Path, tmp_path: Path) -> None:
    tex = tmp_path / "main.tex"
    assert run("template", "-p", str(sheet), "-f", "latex", "-o", str(tex))[0] == 0
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "main.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    assert (tmp_path / "main.pdf").stat().st_size > 0


def _booleans(data: Any, where: str = "") -> list[str]:
    """Where a YAML 1.1 reader sees a boolean a problem file means as text."""
    if isinstance(data, dict):
        found = [f"{where}/{key}" for key in data if isinstance(key, bool)]
        for key, value in data.items():
            if isinstance(value, bool) and key in ("answer", "options"):
                found.append(f"{where}/{key}")
            found += _booleans(value, f"{where}/{key}")
        return found
    if isinstance(data, list):
        return [hit for index, item in enumerate(data) for hit in _booleans(item, f"{where}[{index}]")]
    return []


@pytest.mark.parametrize("path", SHIPPED_SETS, ids=lambda path: path.stem)
def test_a_yaml_1_1_reader_reads_shipped_problem_files_as_grader_does(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))  # PyYAML reads YAML 1.1: yes, no, on, off
    assert _booleans(data) == []


def test_check_echoes_an_element_wise_product_as_written(tmp_path: Path) -> None:
    problems = tmp_path / "hadamard.yaml"
    problems.write_text(
        "assignment: h\nquestions:\n  - id: q1\n    type: expression\n"
        "    arrays: {a: [3], b: [3]}\n    answer: a * b\n",
        encoding="utf-8",
    )
    student = tmp_path / "ann"
    student.mkdir()
    (student / "answers.yaml").write_text("answers:\n  q1: a * b\n", encoding="utf-8")
    code, out, _ = run("check", str(student), "-p", str(problems))
    assert code == 0
    latex = next(line for line in out.splitlines() if line.strip().startswith("LaTeX"))
    assert latex.split(None, 1)[1] == "a * b"  # not a \\cdot b, a matrix product


def test_a_folder_with_only_a_broken_pdf_is_told_what_to_fix(select_all: Path, tmp_path: Path) -> None:
    """A PDF is a hand-in (issue 62, docs/pdf.md): one that cannot be read says what to fix."""
    student = tmp_path / "ann"
    student.mkdir()
    (student / "homework.pdf").write_bytes(b"%PDF-1.7")
    for command in ("grade", "check"):
        code, out, err = run(command, str(student), "-p", str(select_all))
        assert code in (1, 2), (command, out, err)  # as for an answers file that cannot be read
        assert "homework.pdf: the PDF cannot be read" in out + err
        assert "print it to a new PDF" in out + err


def test_github_annotations_fit_its_limits_most_points_first(tmp_path: Path) -> None:
    parts = "".join(
        f"  - {{id: q{i:02d}, type: number, points: {1 + i % 4}, answer: {i}}}\n" for i in range(25)
    )
    problems = tmp_path / "long.yaml"
    problems.write_text(f"assignment: long\nquestions:\n{parts}", encoding="utf-8")
    student = tmp_path / "ann"
    student.mkdir()
    answers = "".join(f"  q{i:02d}: {i + 1}\n" for i in range(1, 25))  # every one wrong
    (student / "answers.yaml").write_text(f'answers:\n  q00: "\\frac{{1}}{{2}}"\n{answers}', encoding="utf-8")
    _, out, _ = run("grade", str(student), "-p", str(problems), "-f", "github")
    errors = [line for line in out.splitlines() if line.startswith("::error")]
    assert len(errors) == 10  # GitHub shows 10 per step
    assert "title=q03%3A incorrect (0/4)" in errors[0]  # 4 points lost: first
    assert "16 more" in errors[-1] and "job summary" in errors[-1]
    (warning,) = [line for line in out.splitlines() if line.startswith("::warning")]
    assert warning.startswith(f"::warning file={student / 'answers.yaml'},line=2,")  # the double quotes


def test_reading_a_write_up_is_a_note_not_a_warning(tmp_path: Path) -> None:
    student = tmp_path / "ann"
    student.mkdir()
    (student / "answers.md").write_text("Answer params: 131072\n\nAnswer kind: B\n", encoding="utf-8")
    code, out, _ = run("grade", str(student), "-p", BASICS, "-f", "github")
    assert code == 0
    assert not any(line.startswith("::warning") for line in out.splitlines())
    assert any(line.startswith("::notice::graded the write-up") for line in out.splitlines())
    code, out, _ = run("grade", str(student), "-p", BASICS, "-f", "json")
    report = json.loads(out)
    assert "warnings" not in report and report["notes"][0].startswith("graded the write-up")


def test_a_student_page_alone_keeps_its_plot(tmp_path: Path) -> None:
    problems = ROOT / "problems" / "attention-approximation.yaml"
    student = ROOT / "submissions" / "attention-approximation" / "seed-000"
    out_dir = tmp_path / "reports"
    code, _, _ = run("grade", str(student), "-p", str(problems), "--out", str(out_dir))
    assert code == 0
    alone = tmp_path / "uploaded"
    alone.mkdir()
    shutil.copy(out_dir / "seed-000.html", alone)  # a TA uploads the page, nothing else
    page = (alone / "seed-000.html").read_text(encoding="utf-8")
    assert "<img" not in page  # nothing the page needs lies beside it
    figure = page[page.index("<figure><svg") : page.index("</figure>")]
    assert "<polyline" in figure and "<title" in figure


def test_a_secret_is_still_written_for_its_owner_only(tmp_path: Path) -> None:
    secret = tmp_path / "credentials.json"
    write_atomic(secret, "{}", mode=0o600)
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
