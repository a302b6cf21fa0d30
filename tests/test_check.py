"""The student side: ``grader check`` shows how answers are read before they are handed in,
answers files are read the way a student meant them, and TA-only notes stay with TAs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from grader.cli import main
from grader.core.yamlio import TypedString, load_with_positions
from grader.loading import load_submission, parse_problem_set
from grader.mathlang.parser import parse
from grader.mathlang.render import to_latex, to_text

ROOT = Path(__file__).parent.parent
BASICS = str(Path(__file__).parent / "fixtures" / "basics.yaml")

PROBLEMS = """\
assignment: hw
questions:
  - id: q1
    type: expression
    symbols: {x: positive}
    answer: 1/(2*x)
    mistakes:
      - answer: x/2
        feedback: MISTAKE-FEEDBACK-Q1
  - id: q2
    type: number
    answer: 12
    visible: true
    note: NOTE-FOR-STUDENTS
    ta_note: TA-ONLY-NOTE
  - id: q3
    type: choice
    options: {A: linear, B: piecewise-linear}
    answer: B
  - id: q4
    type: text
    points: 2
    ta_note: TA-ONLY-PROOF-RUBRIC
"""


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner(env=env).invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def course(tmp_path: Path) -> Path:
    (tmp_path / "hw.yaml").write_text(PROBLEMS)
    return tmp_path


def student(course: Path, answers: str, name: str = "ann") -> str:
    folder = course / name
    folder.mkdir()
    (folder / "answers.yaml").write_text(answers)
    return str(folder)


def test_check_writes_back_how_each_answer_was_read(course: Path) -> None:
    folder = student(course, "answers:\n  q1: 1/2x\n  q2: 2^2 * 3\n  q3: (B) piecewise\n")
    code, out, _ = run("check", folder, "-p", str(course / "hw.yaml"))
    assert code == 0
    assert "read as  1/(2 x)" in out and r"LaTeX    \frac{1}{2 x}" in out
    assert "read as  2^2*3 = 12" in out
    assert "read as  option B (piecewise-linear)" in out
    assert "q4  text: unanswered" in out
    assert "(answers.yaml:2)" in out  # where q1 was written


def test_check_writes_a_decimal_back_as_a_decimal(tmp_path: Path) -> None:
    """Issue 49 item 12: ``0.6652`` reads back as ``0.6652``, not ``1663/2500``; in a number, a
    formula and an array alike, and a fraction the student wrote stays a fraction."""
    (tmp_path / "hw.yaml").write_text(
        "assignment: hw\nquestions:\n"
        "  - {id: q1, type: number, answer: 0.6652}\n"
        "  - {id: q2, type: expression, symbols: [x], answer: 0.5*x + 1}\n"
        "  - {id: q3, type: array, answer: [0.25, 1.5]}\n"
        "  - {id: q4, type: number, answer: 2/3}\n"
    )
    answers = "answers:\n  q1: 0.6652\n  q2: 0.5*x + 1.25\n  q3: [0.25, 1.5e-3]\n  q4: 2/3\n"
    folder = student(tmp_path, answers)
    code, out, _ = run("check", folder, "-p", str(tmp_path / "hw.yaml"))
    assert code == 0, out
    assert "read as  0.6652\n" in out and "1663/2500" not in out
    assert "read as  0.5*x + 1.25" in out and "5/4" not in out
    assert "read as  [0.25, 0.0015]" in out
    assert "read as  2/3" in out


def test_check_shows_a_verdict_only_for_visible_parts(course: Path) -> None:
    folder = student(course, "answers:\n  q1: x/2\n  q2: 13\n  q3: A\n")
    code, out, _ = run("check", folder, "-p", str(course / "hw.yaml"))
    assert code == 0
    assert "verdict  incorrect (0/1)" in out  # q2 is visible
    hidden = out.split("q2", 1)[0] + out.split("q3", 1)[1]
    assert "incorrect" not in hidden and "MISTAKE-FEEDBACK-Q1" not in out
    assert "you chose" not in out  # the choice checker's feedback for q3 stays hidden
    assert "Verdicts are shown for the 1 part(s) the TA made visible" in out


def test_check_shows_what_cannot_be_read_with_a_caret_and_exits_1(course: Path) -> None:
    folder = student(course, "answers:\n  q1: '\\frac{1}{2x'\n  q3: C\n  q01: 3\n")
    code, out, _ = run("check", folder, "-p", str(course / "hw.yaml"))
    assert code == 1
    q1 = out.split("q1", 1)[1].split("q2", 1)[0]
    assert "cannot be read:" in q1 and "never closed" in q1 and "^" in q1
    assert "could not tell which option 'C' means" in out
    assert "answer 'q01' matches no part of hw" in out and "did you mean 'q1'?" in out
    assert "0 of 4 parts read, 2 cannot be read, 2 unanswered." in out


def test_check_of_a_file_that_is_not_yaml_shows_the_line_and_exits_1(course: Path) -> None:
    folder = student(course, "answers:\n  q1: [1, 2\n  q2: 3\n")
    code, out, _ = run("check", folder, "-p", str(course / "hw.yaml"))
    assert code == 1
    assert "cannot read the answers file: answers.yaml: not valid YAML" in out
    assert "3 |   q2: 3" in out  # the line where reading stopped, with a caret below
    assert "Every part is invalid until the file can be read." in out


def test_check_finds_the_problem_set_from_the_environment(course: Path, tmp_path: Path) -> None:
    folder = student(course, "answers:\n  q2: 12\n")
    code, out, _ = run("check", folder, env={"GRADER_PROBLEMS": str(course / "hw.yaml")})
    assert code == 0 and "verdict  correct (1/1)" in out
    code, _, err = run("check", str(tmp_path), "-p", str(course / "hw.yaml"))
    assert code == 2 and "no answers in" in err


@pytest.mark.parametrize(
    ("typed", "text", "latex"),
    [
        ("1/2x", "1/(2 x)", r"\frac{1}{2 x}"),
        (r"\frac{1}{2}x", "1/2 x", r"\frac{1}{2} x"),
        ("(a + b)^2", "(a + b)^2", r"\left(a + b\right)^{2}"),
        ("a - (b - c)", "a - (b - c)", r"a - \left(b - c\right)"),
        (r"w_0 + \theta_{1}", "w_0 + theta_1", r"w_{0} + \theta_{1}"),
        ("W^T x", "W^T x", r"W^{\top} x"),
        (r"\sqrt{x} + |x|", "sqrt(x) + abs(x)", r"\sqrt{x} + \left|x\right|"),
        ("0.25 x", "0.25 x", "0.25 x"),
        (
            r"\begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix}",
            "[1, 2; 3, 4]",
            r"\begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix}",
        ),
        ("-2 <= x <= 0", "(-2 <= x) and (x <= 0)", r"-2 \leq x \leq 0"),
        (r"x \in \mathbb{R}^{3 \times n}", "x in R^(3 x n)", r"x \in \mathbb{R}^{3 \times n}"),
    ],
)
def test_a_formula_is_written_back_as_it_was_read(typed: str, text: str, latex: str) -> None:
    tree = parse(typed, symbols=["a", "b", "c", "x", "W", "n", "w_0", "theta_1"])
    assert (to_text(tree), to_latex(tree)) == (text, latex)


def test_latex_written_back_parses_to_the_same_tree() -> None:
    for typed in ("1/2x", r"\frac{a+b}{c d}", "x^{-1} + 2^{x^2}", r"\max(0, x) \cdot e^{-x}", "(a b)^T"):
        tree = parse(typed, symbols=["a", "b", "c", "d", "x"])
        again = parse(to_latex(tree), symbols=["a", "b", "c", "d", "x"])
        assert to_text(again) == to_text(tree), typed


# --- answers files read the way a student meant them


@pytest.mark.parametrize(
    ("yaml_value", "read"),
    [
        (r'"\sigma(x)(1-\sigma(x))"', r"\sigma(x)(1-\sigma(x))"),  # \s: an escape YAML does not know
        (r'"\sqrt{2}"', r"\sqrt{2}"),
        (r'"\left( x \right)"', r"\left( x \right)"),
        (r'"\frac{1}{2}"', r"\frac{1}{2}"),  # \f would be a form feed
        (r'"\theta + \eta + \xi + \nu"', r"\theta + \eta + \xi + \nu"),  # tab, escape, bad hex, newline
        (r'"say \"hi\" \\ \sigma"', r'say "hi" \ \sigma'),  # \" and \\ keep their YAML meaning
    ],
)
def test_latex_in_double_quotes_is_read_as_typed_with_a_note(yaml_value: str, read: str) -> None:
    notes: list[TypedString] = []
    data, _ = load_with_positions(f"answers:\n  q1: {yaml_value}\n", notes)
    assert data["answers"]["q1"] == read
    assert notes == [TypedString(2, read)]


def test_properly_escaped_or_single_quoted_latex_needs_no_note() -> None:
    notes: list[TypedString] = []
    text = 'answers:\n  q1: \'\\sigma(x)\'\n  q2: "\\\\sigma(x)"\n  q3: "\\u03c3"\n'
    data, _ = load_with_positions(text, notes)
    assert data["answers"] == {"q1": "\\sigma(x)", "q2": "\\sigma(x)", "q3": "σ"}
    assert notes == []


def test_the_report_names_the_line_and_suggests_single_quotes(course: Path) -> None:
    folder = student(course, 'answers:\n  q2: 12\n  q1: "\\frac{1}{2 x}"\n')
    submission = load_submission(folder)
    assert submission.answers["q1"] == "\\frac{1}{2 x}"
    (warning,) = submission.warnings
    assert warning.startswith('line 3: "\\frac{1}{2 x}" is in double quotes')
    assert "Put LaTeX in single quotes: '\\frac{1}{2 x}'" in warning
    code, out, _ = run("grade", folder, "-p", str(course / "hw.yaml"), "-f", "json")
    assert code == 0
    report = json.loads(out)
    assert {p["id"]: p["status"] for p in report["parts"]}["q1"] == "correct"
    assert report["warnings"] == [warning]


def test_an_unreadable_answers_file_makes_every_part_invalid_and_fails(course: Path) -> None:
    folder = student(course, "answers:\n  q1: [1, 2\n")
    code, out, err = run("grade", folder, "-p", str(course / "hw.yaml"), "-f", "json")
    assert code == 2 and "could not be read" in err
    parts = json.loads(out)["parts"]
    assert {p["status"] for p in parts} == {"invalid"}
    assert all("not valid YAML" in p["feedback"] for p in parts)


# --- notes for students and notes for TAs


def test_ta_notes_never_reach_a_student_facing_output(course: Path) -> None:
    folder = student(course, "answers:\n  q1: x/2\n  q2: 13\n  q4: By induction.\n")
    problems = str(course / "hw.yaml")
    for fmt in ("table", "json", "markdown", "csv", "github", "gradescope", "junit", "canvas", "moodle"):
        code, out, _ = run("grade", folder, "-p", problems, "-f", fmt, "--show-expected")
        assert code == 0, fmt
        assert "TA-ONLY" not in out, fmt
    code, out, _ = run("grade", folder, "-p", problems, "-f", "json")
    assert {p["id"]: p for p in json.loads(out)["parts"]}["q2"]["status"] == "incorrect"
    _, out, _ = run("grade", folder, "-p", problems, "-f", "markdown")
    assert "NOTE-FOR-STUDENTS" in out  # the student-facing note is shown
    _, out, _ = run("check", folder, "-p", problems)
    assert "TA-ONLY" not in out
    _, out, _ = run("template", "-p", problems)
    assert "TA-ONLY" not in out


def test_validate_lists_the_ta_notes(course: Path) -> None:
    code, out, _ = run("validate", str(course / "hw.yaml"))
    assert code == 0
    assert "q2: TA note (never shown to students): TA-ONLY-NOTE" in out
    assert "q4: TA note (never shown to students): TA-ONLY-PROOF-RUBRIC" in out


NOTE_ROWS = [  # (part, note, the fragment validate names, or None: no warning)
    (
        "{id: q, type: number, answer: 73728}",
        "24 x 24 x 128 written as a product earns the points.",
        "24 x 24 x 128",
    ),
    ("{id: q, type: number, answer: 131072}", "The answer is 2^17, a power of two.", "2^17"),
    ("{id: q, type: number, answer: 131072}", "Biases are not counted; 2048 is one kernel only.", None),
    (
        "{id: q, type: expression, answer: x*H(x), symbols: {x: real}, functions: {H: 'heaviside(x, 1/2)'}}",
        "Any formula equal to max(0, x) earns the points.",
        "max(0, x)",
    ),
    ("{id: q, type: shape, answer: [1, k]}", "A row: 1 x k, not k x 1.", "1 x k"),
    ("{id: q, type: shape, answer: [1, k]}", "Say which side the batch is on.", None),
]


@pytest.mark.parametrize(("part", "note", "named"), NOTE_ROWS)
def test_validate_warns_of_a_student_note_that_states_an_answer(
    tmp_path: Path, part: str, note: str, named: str | None
) -> None:
    problems = tmp_path / "hw.yaml"
    problems.write_text(f"assignment: a\nquestions:\n  - {part[:-1]}, note: {json.dumps(note)}}}\n")
    code, _, err = run("validate", str(problems))
    assert code == 0, err
    warnings = [line for line in err.splitlines() if "states a correct answer" in line]
    if named is None:
        assert not warnings, err
    else:
        assert warnings == [
            f"{problems}: warning: q: its note (shown to students) states a correct answer ({named}): "
            "move it to ta_note"
        ]
    as_ta_note = problems.read_text().replace("note:", "ta_note:")  # for TAs: no warning
    problems.write_text(as_ta_note)
    assert "states a correct answer" not in run("validate", str(problems))[2]


def test_the_shipped_problem_sets_follow_the_note_rule() -> None:
    for path in sorted((ROOT / "problems").glob("*.yaml")):
        code, _, err = run("validate", str(path))
        assert code == 0 and "states a correct answer" not in err, err
        text = path.read_text()
        for talk in ("a TA decides", "a TA marks", "grade the weights", "what is graded"):
            for line in text.splitlines():
                assert not (talk in line and re.search(r"(^|[\s{])note:", line)), (path, line)


def test_visible_and_ta_note_are_part_fields_with_safe_defaults() -> None:
    spec = parse_problem_set("assignment: a\nquestions:\n  - {id: q1, type: number, answer: 1}\n")
    (_, _, part), *_ = spec.iter_parts()
    assert (part.visible, part.ta_note) == (False, None)


# --- hooks for CI and pre-commit


def test_pre_commit_hook_runs_grader_check() -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["entry"] == "grader check" and hook["pass_filenames"] is False
    assert hook["language"] == "python"


def test_the_action_runs_grader_with_its_inputs() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert set(action["inputs"]) >= {"server", "token", "assignment", "problems", "submission", "fail-under"}
    assert action["runs"]["using"] == "composite"
    assert not any(spec.get("required") for spec in action["inputs"].values()), "no problem file is required"
    scripts = " ".join(step.get("run", "") for step in action["runs"]["steps"])
    assert "grader check" in scripts and "--server" in scripts and 'grader "${args[@]}"' in scripts
    for name in action["inputs"]:
        assert f"inputs.{name}" not in scripts, "inputs reach the script through env, never spliced in"


def _steps_text(step: dict) -> str:
    return yaml.safe_dump(step)


def test_the_student_workflow_keeps_the_key_on_the_server() -> None:
    """The workflow a student's repository runs checks on the service: no problem set, no course secret."""
    workflow = yaml.safe_load((ROOT / "docs" / "github-workflow.yml").read_text())
    (job,) = workflow["jobs"].values()
    steps = job["steps"]
    (grading,) = [step for step in steps if step.get("id") == "grader"]
    assert grading["with"]["server"].startswith("https://")
    assert "problems" not in grading["with"]
    assert grading["with"]["token"] == "${{ secrets.GRADER_TOKEN }}"  # the student's own token
    for step in steps:
        text = _steps_text(step)
        assert "problems" not in text and ".yaml" not in text, f"a problem file in the student's job: {step}"
        assert "repository:" not in text, f"another repository checked out in the student's job: {step}"
        secrets = set(re.findall(r"secrets\.(\w+)", text))
        assert secrets <= {"GRADER_TOKEN"}, f"a course secret in the student's job: {secrets}"
    # the action's server mode is what that step runs: grader check --server, never a problem file
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    (server_step,) = [step for step in action["runs"]["steps"] if step.get("id") == "check"]
    assert server_step["if"] == "inputs.server != ''"
    assert "grader check" in server_step["run"] and '--server "$GRADER_SERVER"' in server_step["run"]
    assert "-p" not in server_step["run"].split() and "PROBLEMS" not in server_step["run"]
    (file_step,) = [step for step in action["runs"]["steps"] if step.get("id") == "grade"]
    assert file_step["if"] == "inputs.server == ''"  # the problem-file mode never runs with a server


def test_the_problem_file_workflow_is_for_course_owned_repositories_and_says_why() -> None:
    text = (ROOT / "docs" / "course-repository-workflow.yml").read_text()
    assert "ONLY for a repository the COURSE owns" in text and "Never put this workflow" in text
    workflow = yaml.safe_load(text)
    assert set(workflow[True]) == {"workflow_dispatch"}  # run by a TA, never on a student's push
    (job,) = workflow["jobs"].values()
    (grading,) = [step for step in job["steps"] if step.get("id") == "grader"]
    assert grading["with"]["format"] == "github" and grading["with"]["problems"].endswith(".yaml")
    ci = (ROOT / "docs" / "ci.md").read_text()
    assert "Never put it, or a token that can\nfetch it, in a student's repository" in ci
    for doc in ("docs/ci.md", "docs/commands.md", ".pre-commit-hooks.yaml"):
        assert "COURSE_READ_TOKEN" not in (ROOT / doc).read_text()
