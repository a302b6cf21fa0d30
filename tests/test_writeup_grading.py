"""Grading a folder that holds a write-up: what the student and the TA see in the report,
and the write-up skeletons ``grader template --format latex|markdown|ipynb`` writes."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.cli import main
from grader.core.verdict import Status
from grader.engine import grade
from grader.loading import is_submission_folder, load_problem_set, load_submission, parse_problem_set
from grader.writeups import read_writeup

ROOT = Path(__file__).parent.parent
SPEC = parse_problem_set(
    "assignment: a1\nquestions:\n"
    "  - id: q1\n    parts:\n"
    "      - {id: a, type: number, answer: 2}\n      - {id: b_c, type: number, answer: 3}\n"
    "  - {id: q2, type: array, answer: [1, 2]}\n"
)


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


def test_a_latex_writeup_is_graded(tmp_path: Path) -> None:
    _write(tmp_path, "main.tex", "\\answer{q1.a}{$\\frac{4}{2}$}\n\\answer{q2}{$[1, 3]$}\n")
    assert is_submission_folder(tmp_path)
    report = grade(SPEC, load_submission(tmp_path))
    assert [p.status for p in report.parts] == [Status.CORRECT, Status.MISSING, Status.INCORRECT]
    assert report.notes == [f"graded the write-up: 2 marked answers read from {tmp_path / 'main.tex'}"]
    assert report.warnings == []  # information, not a problem


def test_the_answers_file_wins_and_the_report_says_so(tmp_path: Path) -> None:
    _write(tmp_path, "answers.yaml", "answers: {q1.a: 2}\n")
    _write(tmp_path, "main.tex", "\\answer{q1.a}{5}\n")
    report = grade(SPEC, load_submission(tmp_path))
    assert report.parts[0].status is Status.CORRECT
    assert any(
        "answers.yaml is graded; the write-up main.tex is not read" in warning for warning in report.warnings
    )


def test_an_unknown_marked_id_is_warned_with_its_file_and_line(tmp_path: Path) -> None:
    _write(tmp_path, "hw.md", "# HW\n\nAnswer q1.aa: 2\n")
    report = grade(SPEC, load_submission(tmp_path))
    expected = f"{tmp_path / 'hw.md'}:3:1: answer 'q1.aa' matches no part of a1 and is not graded"
    assert any(
        warning.startswith(expected) and "did you mean 'q1.a'" in warning for warning in report.warnings
    )


def test_a_part_marked_twice_is_graded_by_its_last_mark(tmp_path: Path) -> None:
    _write(tmp_path, "main.tex", "\\answer{q1.a}{5}\n\\answer{q1.a}{2}\n")
    report = grade(SPEC, load_submission(tmp_path))
    assert report.parts[0].status is Status.CORRECT
    main_tex = tmp_path / "main.tex"
    assert (
        f"part q1.a is marked twice: {main_tex}:1:1 and {main_tex}:2:1; the last one is graded"
        in report.warnings
    )


def test_notebook_variables_name_parts_with_dots_and_underscores(tmp_path: Path) -> None:
    notebook = new_notebook(
        cells=[
            new_code_cell("answer_q1_a = 2"),
            new_code_cell("answer_q1_b_c = '3'"),
            new_code_cell("answer_q2 = [1, 2]"),
            new_code_cell("answer_q7 = 1"),
        ]
    )
    for number, cell in enumerate(notebook.cells):
        cell["id"] = f"c{number}"
    nbformat.write(notebook, str(tmp_path / "hw.ipynb"))
    report = grade(SPEC, load_submission(tmp_path))
    assert [p.status for p in report.parts] == [Status.CORRECT] * 3
    unmatched = [w for w in report.warnings if "matches no part" in w]
    assert unmatched == [
        f"{tmp_path / 'hw.ipynb'} cell 4, line 1 (answer_q7): "
        "answer 'q7' matches no part of a1 and is not graded"
    ]


def test_a_variable_and_a_tag_for_one_part_are_a_part_marked_twice(tmp_path: Path) -> None:
    notebook = new_notebook(
        cells=[new_markdown_cell("5", metadata={"tags": ["answer:q1.a"]}), new_code_cell("answer_q1_a = 2")]
    )
    for number, cell in enumerate(notebook.cells):
        cell["id"] = f"c{number}"
    nbformat.write(notebook, str(tmp_path / "hw.ipynb"))
    report = grade(SPEC, load_submission(tmp_path))
    assert report.parts[0].status is Status.CORRECT
    assert any(w.startswith("part q1.a is marked twice") for w in report.warnings)


def test_a_folder_with_only_unmarked_files_is_no_submission(tmp_path: Path) -> None:
    _write(tmp_path, "README.md", "# Notes\n")
    _write(tmp_path, "notes.tex", "\\section{Notes}\n")
    assert not is_submission_folder(tmp_path)
    report = grade(SPEC, load_submission(tmp_path))
    assert report.error is not None and "no answers file" in report.error and ".tex" in report.error


def test_grade_command_on_a_writeup_folder_lists_where_answers_came_from(tmp_path: Path) -> None:
    folder = tmp_path / "alice"
    _write(folder, "main.tex", "\\answer{q1.a}{2}\n\\answer{q9}{1}\n\\answer{q2}\n")
    problems = _write(
        tmp_path,
        "a1.yaml",
        "assignment: a1\nquestions:\n  - {id: q1, parts: [{id: a, type: number, answer: 2}]}\n",
    )
    result = CliRunner().invoke(main, ["grade", str(folder), "-p", str(problems), "-f", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["student"] == "alice" and report["score"] == 1
    warnings = "\n".join(report["warnings"])
    main_tex = folder / "main.tex"
    assert report["notes"] == [f"graded the write-up: 2 marked answers read from {main_tex}"]
    assert f"{main_tex}:2:1: answer 'q9' matches no part" in warnings
    assert f"{main_tex}:3:1: \\answer needs two arguments in braces" in warnings


def test_a_batch_grades_writeup_folders_beside_answers_files(tmp_path: Path) -> None:
    _write(tmp_path / "class" / "alice", "answers.yaml", "answers: {q1.a: 2}\n")
    _write(tmp_path / "class" / "bob", "main.tex", "\\answer{q1.a}{2}\n")
    problems = _write(
        tmp_path,
        "a1.yaml",
        "assignment: a1\nquestions:\n  - {id: q1, parts: [{id: a, type: number, answer: 2}]}\n",
    )
    out = tmp_path / "reports"
    result = CliRunner().invoke(
        main, ["grade", str(tmp_path / "class"), "-p", str(problems), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    for student in ("alice", "bob"):
        assert json.loads((out / f"{student}.json").read_text())["score"] == 1


# ---------------------------------------------------------------------------
# Skeletons


@pytest.mark.parametrize(
    ("fmt", "filename"), [("latex", "main.tex"), ("markdown", "answers.md"), ("ipynb", "answers.ipynb")]
)
def test_a_skeleton_marks_every_part_empty(fmt: str, filename: str, tmp_path: Path) -> None:
    problem_file = ROOT / "problems" / "activations-softmax-conv.yaml"
    spec = load_problem_set(problem_file)
    folder = tmp_path / "student"
    folder.mkdir()
    result = CliRunner().invoke(
        main, ["template", "-p", str(problem_file), "--format", fmt, "-o", str(folder / filename)]
    )
    assert result.exit_code == 0, result.output
    writeup = read_writeup(folder)
    part_ids = [part_id for part_id, _, _ in spec.iter_parts()]
    assert list(writeup.answers) == part_ids
    assert set(writeup.answers.values()) == {""} and writeup.warnings == []
    text = (folder / filename).read_text()
    assert "Full convolution of [1, 2, 3, 4] with [1, 0, 2]" in text  # the prompts are there
    report = grade(spec, load_submission(folder))
    assert {p.status for p in report.parts} == {Status.MISSING}


def test_the_default_template_is_still_the_answers_file() -> None:
    problem_file = ROOT / "problems" / "activations-softmax-conv.yaml"
    result = CliRunner().invoke(main, ["template", "-p", str(problem_file)])
    assert result.exit_code == 0 and "answers:" in result.stdout and "q6.full:" in result.stdout


def test_the_latex_skeleton_carries_grader_sty() -> None:
    problem_file = ROOT / "problems" / "mfdnn-hw3.yaml"
    result = CliRunner().invoke(main, ["template", "-p", str(problem_file), "-f", "latex"])
    assert result.exit_code == 0
    assert "\\begin{filecontents*}[overwrite]{grader.sty}" in result.stdout
    assert (
        "\\usepackage{grader}" in result.stdout and "\\begin{answer}{q5.softplus_derivative}" in result.stdout
    )


def test_a_writeup_linking_out_of_the_folder_is_refused_with_a_reason(tmp_path: Path) -> None:
    """A main.tex that is a link to a classmate's write-up is not read, and the report says why."""
    classmate = tmp_path / "class" / "bob"
    classmate.mkdir(parents=True)
    (classmate / "main.tex").write_text("\\answer{q1}{42}\n")
    alice = tmp_path / "class" / "alice"
    alice.mkdir()
    (alice / "main.tex").symlink_to(classmate / "main.tex")
    submission = load_submission(alice)
    assert submission.answers == {}
    assert submission.load_error is not None
    assert "main.tex: a link to a file outside this submission folder" in submission.load_error


# Issue 47, items 3 and 8: what a write-up shows is what is graded, one answer per mark.
READING = parse_problem_set(
    "assignment: a1\nquestions:\n"
    "  - {id: q1, type: number, answer: 0.5}\n"
    "  - {id: q2, type: expression, answer: '2*x', symbols: [x]}\n"
    "  - {id: q3, type: number, answer: 73728}\n"
)


def _statuses(folder: Path) -> dict[str, tuple[str, str]]:
    report = grade(READING, load_submission(folder))
    return {part.id: (part.status.value, part.feedback) for part in report.parts}


def test_latex_text_that_does_not_render_is_never_read(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "main.tex",
        "\\iffalse\n\\answer{q1}{$1$}\n\\fi\n"
        "\\answer{q1}{$\\frac{1}{2}$ \\iffalse or maybe $1$ \\fi}\n"
        "\\begin{answer}{q2}\n  2x % or x^2\n  \\begin{comment} or maybe x^2 \\end{comment}\n\\end{answer}\n"
        "\\answer{q3}{$73{,}728$ \\iffalse \\ifx a b $1$ \\fi $2$ \\fi}\n",
    )
    statuses = _statuses(tmp_path)
    assert {part: status for part, (status, _) in statuses.items()} == {
        "q1": "correct",
        "q2": "correct",
        "q3": "correct",
    }
    assert "marked twice" not in " ".join(grade(READING, load_submission(tmp_path)).warnings)


def test_markdown_and_notebook_html_comments_are_never_read(tmp_path: Path) -> None:
    _write(
        tmp_path / "md",
        "hw.md",
        "Answer q1: $0.5$ <!-- or maybe $1$ -->\n\nAnswer q2: $2x$ <!-- or\n$x^2$ -->\n",
    )
    assert {part: status for part, (status, _) in _statuses(tmp_path / "md").items()} == {
        "q1": "correct",
        "q2": "correct",
        "q3": "missing",
    }
    notebook = new_notebook(
        cells=[
            new_markdown_cell("$\\frac{1}{2}$ <!-- $1$ -->", metadata={"tags": ["answer:q1"]}),
            new_markdown_cell("Answer q2: $2x$ <!-- or $x^2$ -->"),
        ]
    )
    (tmp_path / "nb").mkdir()
    nbformat.write(notebook, str(tmp_path / "nb" / "hw.ipynb"))
    assert _statuses(tmp_path / "nb")["q1"][0] == "correct"
    assert _statuses(tmp_path / "nb")["q2"][0] == "correct"


@pytest.mark.parametrize(
    ("name", "text", "shown"),
    [
        ("main.tex", "\\answer{q1}{$\\frac{1}{2}$ or $1$}", "\\frac{1}{2}; 1"),
        ("main.tex", "\\answer{q2}{$2x \\text{ or maybe } x^2$}", "2x; x^2"),
        ("main.tex", "\\answer{q1}{$1$. Actually, it is $\\frac{1}{2}$.}", "1; \\frac{1}{2}"),
        ("hw.md", "Answer q1: $1$, or maybe $0.5$\n", "1; 0.5"),
        ("hw.md", "Answer q2: $x^2$. Sorry, I mean $2x$.\n", "x^2; 2x"),
    ],
)
def test_a_mark_with_two_answers_is_graded_on_neither(
    tmp_path: Path, name: str, text: str, shown: str
) -> None:
    _write(tmp_path, name, text)
    statuses = _statuses(tmp_path)
    part = "q2" if "q2" in text else "q1"
    assert statuses[part] == ("invalid", f"two answers here: {shown}; keep one")


def test_a_notebook_mark_with_two_answers_is_graded_on_neither(tmp_path: Path) -> None:
    notebook = new_notebook(
        cells=[
            new_markdown_cell("$2x$ \\text{or maybe} $x^2$", metadata={"tags": ["answer:q2"]}),
            new_code_cell("answer_q1 = r'\\frac{1}{2} \\text{ or } 1'"),
        ]
    )
    nbformat.write(notebook, str(tmp_path / "hw.ipynb"))
    statuses = _statuses(tmp_path)
    assert statuses["q2"] == ("invalid", "two answers here: 2x; x^2; keep one")
    assert statuses["q1"] == ("invalid", "two answers here: \\frac{1}{2}; 1; keep one")


def test_latex_labels_macros_and_grouped_thousands_are_read(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "main.tex",
        "\\newcommand{\\half}{\\frac{1}{2}}\n\\newcommand\\twice[1]{2 #1}\n\\def\\kilo{1{,}000}\n"
        "\\answer{q1}{$\\eta_{\\max} = \\half$}\n"
        "\\answer{q2}{$\\frac{\\partial L}{\\partial x} = \\twice{x}$}\n"
        "\\answer{q3}{$73{,}728$}\n",
    )
    assert {part: status for part, (status, _) in _statuses(tmp_path).items()} == {
        "q1": "correct",
        "q2": "correct",
        "q3": "correct",
    }


def test_markdown_display_math_after_a_blank_line_and_macros(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "hw.md",
        "$\\newcommand{\\half}{\\frac{1}{2}}$\n\n**Answer q1:**\n\n$$\n\\eta_{\\max} = \\half\n$$\n\n"
        "Answer q2:\n\n<!-- a draft: x^2 -->\n\n$$\\nabla_x f = 2x$$\n\nAnswer q3:\n\n$$73{,}728$$\n",
    )
    assert {part: status for part, (status, _) in _statuses(tmp_path).items()} == {
        "q1": "correct",
        "q2": "correct",
        "q3": "correct",
    }


def test_a_mark_followed_by_a_paragraph_of_words_is_still_empty(tmp_path: Path) -> None:
    _write(tmp_path, "hw.md", "Answer q1:\n\nI did not finish this one.\n")
    assert _statuses(tmp_path)["q1"][0] == "missing"


def test_notebook_cells_that_assign_or_print_the_answer(tmp_path: Path) -> None:
    notebook = new_notebook(
        cells=[
            new_markdown_cell("$\\newcommand{\\half}{\\frac{1}{2}}$"),
            new_markdown_cell("Answer q1:\n\n$$\\eta_{\\max} = \\half$$"),
            new_code_cell("answer_q3 = 73728\nprint(answer_q3)"),
            new_code_cell("grad = '2x'\nprint(grad)", metadata={"tags": ["answer:q2"]}),
        ]
    )
    nbformat.write(notebook, str(tmp_path / "hw.ipynb"))
    assert {part: status for part, (status, _) in _statuses(tmp_path).items()} == {
        "q1": "correct",
        "q2": "correct",
        "q3": "correct",
    }


def test_notebook_cells_that_only_print_or_compute_with_numbers(tmp_path: Path) -> None:
    notebook = new_notebook(
        cells=[
            new_code_cell("print(1/2)", metadata={"tags": ["answer:q1"]}),
            new_code_cell("answer_q3 = 2**13 * 9"),
            new_code_cell("answer_q2 = '2*x'\nanswer_q2 += ' + 1'\nprint(answer_q2)"),
        ]
    )
    nbformat.write(notebook, str(tmp_path / "hw.ipynb"))
    statuses = _statuses(tmp_path)
    assert statuses["q1"][0] == "correct" and statuses["q3"][0] == "correct"
    assert statuses["q2"][0] == "missing"  # changed after it was assigned: not read


@pytest.mark.parametrize(
    ("name", "text", "shown"),
    [
        ("main.tex", "\\answer{q1}{$\\frac{1}{2}$ $1$}", "\\frac{1}{2}; 1"),  # read together: 1/2 * 1
        ("main.tex", "\\begin{answer}{q2}\n\\[ 2x \\]\n\\[ x^2 \\]\n\\end{answer}", "2x; x^2"),
        (
            "main.tex",
            "\\begin{answer}{q2}\n\\begin{equation*} 2x \\end{equation*} $x^2$\n\\end{answer}",
            "2x; x^2",
        ),
        ("hw.md", "Answer q1: $\\frac{1}{2}$ $1$\n", "\\frac{1}{2}; 1"),
        ("hw.md", "Answer q2:\n\n$$2x$$\n\n$$x^2$$\n", "2x; x^2"),
    ],
)
def test_formulas_side_by_side_in_one_mark_are_two_answers(
    tmp_path: Path, name: str, text: str, shown: str
) -> None:
    _write(tmp_path, name, text)
    part = "q2" if "q2" in text else "q1"
    assert _statuses(tmp_path)[part] == ("invalid", f"two answers here: {shown}; keep one")


def test_formulas_side_by_side_are_the_items_of_a_constraint_and_the_keys_of_a_choice(tmp_path: Path) -> None:
    spec = parse_problem_set(
        "assignment: a1\nquestions:\n"
        "  - {id: q1, type: constraint, fields: [k, s], require: ['k + s = 3'], answer: {k: 1, s: 2}}\n"
        "  - {id: q2, type: choice, options: {A: relu, B: tanh, C: sigmoid}, answer: [A, C]}\n"
    )
    _write(tmp_path, "main.tex", "\\answer{q1}{$k = 1$ $s = 2$}\n\\answer{q2}{$A$ $C$}\n")
    report = grade(spec, load_submission(tmp_path))
    assert [part.status for part in report.parts] == [Status.CORRECT, Status.CORRECT]
    assert all(not part.feedback for part in report.parts)
