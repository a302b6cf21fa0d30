"""The key never leaks through the CLI's formats: every answer type's wrong answer, against a
problem with a distinctive reference (0.73519, [0.125, 0.875), ...), rendered in every
``--format`` a student can read, in the files a batch writes for each student and in
``grader check``, holds no spelling of the reference (grader.reporting.withhold, the rule the
service applies too). Only a TA's rendering (``--show-expected``, the class dashboard) keeps it.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from code_support import skip_unless_code_runs
from leaks_support import graded, leaks, one_part_set, own_texts, spellings

from grader.cli import main
from grader.core.report import Report
from grader.core.submission import Submission
from grader.reporting.check import check_result, render_check
from grader.reporting.files import report_files
from grader.reporting.formats import FORMAT_NAMES, TA_ONLY_BATCHES
from grader.reporting.reporters import REPORTERS
from grader.reporting.withhold import WITHHELD, shown_report
from grader.spec import ProblemSet

# type -> (part spec, wrong answers, literals that state the reference)
CASES: dict[str, tuple[dict[str, Any], list[Any], list[str]]] = {
    "number": (
        {
            "type": "number",
            "answer": "0.73519",
            "mistakes": [{"answer": 0.7, "feedback": "close: it is 0.73519"}],
        },
        [0.5, 0.7, "1/2", "0.735x"],
        ["0.73519"],
    ),
    "array": (
        {
            "type": "array",
            "answer": [0.73519, 2.125],
            "mistakes": [{"answer": [1, 1], "feedback": "use [0.73519, 2.125]"}],
        },
        [[0, 0], [1, 1], [0.5, 2.125, 3], "[0.5"],
        ["0.73519"],
    ),
    "shape": (
        {
            "type": "shape",
            "answer": [7, 13],
            "mistakes": [{"answer": [13, 7], "feedback": "rows first: 7 x 13"}],
        },
        ["7 x 12", [13, 7], "7 x"],
        ["7 x 13", "[7, 13]", "7, 13"],
    ),
    "expression": (
        {
            "type": "expression",
            "symbols": {"x": "real"},
            "answer": "0.73519*x^2 + 3",
            "mistakes": [{"answer": "x^2 + 3", "feedback": "the factor 0.73519 is missing"}],
        },
        ["x^2 + 3", "x^3", "\\frac{x}{", "0.5 x^2 + 3"],
        ["0.73519"],
    ),
    "complexity": (
        {"type": "complexity", "symbols": ["n", "d"], "answer": "Theta(n^3 d)"},
        ["Theta(n^2)", "O(n)", "Theta(d^5)", "Theta(n^3"],
        ["n^3 d", "n^{3} d", "Θ(n^3 d)"],
    ),
    "choice": (
        {
            "type": "choice",
            "options": {"A": "linear", "B": "quadratic", "C": "cubic tanh-spline"},
            "answer": "C",
            "mistakes": [{"answer": "B", "feedback": "not quadratic: the answer is C"}],
        },
        ["A", "B", "Z", "(A) linear"],
        ["answer is C"],  # the options are the question's: a message may list them
    ),
    "interval": (
        {"type": "interval", "answer": "[0.125, 0.875)"},
        ["[0.125, 0.9)", "(0.125, 0.875)", "[0.125, 0.875]", "[0.125", "[0.125, 0.5, 0.875)", "(1, 1)"],
        ["[0.125, 0.875)", "0.875)"],
    ),
    # the finding: a syntax hint whose example is the reference itself
    "interval [0, 1)": (
        {"type": "interval", "answer": "[0, 1)"},
        ["[0, 1, 2)", "[0)", "[0", "(0, 1)", "[0, 2)"],
        ["write [0, 1)", "such as [0, 1)"],
    ),
    "constraint": (
        {
            "type": "constraint",
            "fields": ["k", "s"],
            "require": ["k * s = 73519", "s >= 7"],
            "answer": {"k": 10503, "s": 7},
        },
        [{"k": 1, "s": 1}, {"k": 73519, "s": 1}, "k = 2"],
        ["k * s = 73519", "k*s = 73519", "s >= 7", "10503"],
    ),
    "network": (
        {
            "type": "network",
            "params": {"w0": [2], "b0": [2], "w1": [2]},
            "model": "w1 . relu(w0*x + b0)",
            "target": "0.5*x + 0.25",
            "answer": {"w0": [0.5, -0.5], "b0": [0.25, -0.25], "w1": [1, -1]},
        },
        ["impossible", {"w0": [1, 0], "b0": [0, 0], "w1": [1, 0]}],
        ["[0.5, -0.5]", "[0.25, -0.25]"],
    ),
    "code": (
        {
            "type": "code",
            "entry": "scale",
            "inputs": {"x": {"shape": [3]}},
            "cases": [{"x": [1.0, 2.0, 3.0]}],
            "answer": "def scale(x):\n    return x * 0.73519\n",
        },
        ["def scale(x):\n    return x * 0.5\n"],
        ["0.73519", "x * 0.73519"],
    ),
}


def _cases() -> list[Any]:
    return [
        pytest.param(name, spec, answer, literals, id=f"{name}: {answer!r}"[:80])
        for name, (spec, answers, literals) in CASES.items()
        for answer in answers
    ]


def _normal(text: str) -> str:
    """A rendering as a student reads it: entities decoded, Markdown's and JSON's escapes gone,
    GitHub's encoded newlines and spaces as spaces."""
    text = html.unescape(text).replace("%0A", " ").replace("%0D", " ").replace("%25", "%")
    return re.sub(r"\s+", " ", text.replace("\\n", " ").replace("\\", ""))


def student_renderings(report: Report, spec: ProblemSet, submission: Submission) -> dict[str, str]:
    """Every rendering a student can read: each format's report and batch (but a TA's
    dashboard), the batch's files for the student, and ``grader check``."""
    views = {f"--format {name}": REPORTERS[name].render(report) for name in FORMAT_NAMES}
    views |= {
        f"--format {name} (a class)": REPORTERS[name].render_batch([report, report])
        for name in FORMAT_NAMES
        if name not in TA_ONLY_BATCHES
    }
    views |= {name: data.decode() for name, data in report_files(report, "student", False, spec).items()}
    views["grader check"] = render_check(check_result(spec, submission, report))
    return views


@pytest.mark.parametrize(("name", "part_spec", "answer", "literals"), _cases())
def test_no_student_facing_format_shows_the_reference(
    name: str,
    part_spec: dict[str, Any],
    answer: Any,
    literals: list[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    skip_unless_code_runs(part_spec)
    summary = tmp_path / "summary.md"  # GitHub's job summary: the student reads it too
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    spec = one_part_set({**part_spec, "visible": True})
    report, submission = graded(spec, {"q.p": answer})
    result = report.parts[0]
    assert result.status.value not in ("correct", "missing"), (result.status, result.feedback)
    views = student_renderings(report, spec, submission)
    views["GitHub job summary"] = summary.read_text(encoding="utf-8") if summary.exists() else ""
    part = next(p for _, _, p in spec.iter_parts())
    found = leaks(views, spellings(part, result), own_texts(part, result, answer))
    assert not found, f"{result.status}: {result.feedback!r} leaks the reference:\n" + "\n".join(found)
    own = _normal(own_texts(part, result, answer))
    for view, text in views.items():
        for literal in literals:
            if _normal(literal) not in own:
                assert _normal(literal) not in _normal(text), f"{view} states {literal!r}:\n{text}"


def test_the_interval_hint_never_states_an_interval_a_reference_could_be() -> None:
    """The issue's finding "write [0, 1)": a syntax hint whose example was the reference itself.
    Withholding it only there would tell the student the reference by its absence, so the hint
    is written with letters ("write [a, b)") and every student sees it, whatever the reference."""
    for reference in ("[0, 1)", "[2, 3)", "(0, 1]"):
        spec = one_part_set({"type": "interval", "answer": reference})
        report, _ = graded(spec, {"q.p": "[0, 1, 2)"})
        assert "write [a, b)" in report.parts[0].feedback
        for fmt in FORMAT_NAMES:
            text = _normal(REPORTERS[fmt].render(report))
            if fmt not in ("csv", "canvas", "moodle"):  # gradebooks: scores only
                assert "write [a, b)" in text, (fmt, text)
                assert WITHHELD not in text, (fmt, text)
                assert _normal(reference) not in text, (fmt, text)


def test_a_ta_with_show_expected_keeps_every_detail() -> None:
    spec = one_part_set(CASES["number"][0])
    report, _ = graded(spec, {"q.p": 0.7})
    assert shown_report(report, show_expected=True) is report
    for fmt in ("json", "markdown", "github", "gradescope", "junit", "html", "table"):
        text = REPORTERS[fmt].render(report, show_expected=True)
        assert "close: it is 0.73519" in _normal(text), fmt
    dashboard = REPORTERS["html"].render_batch([report])  # the TA's class dashboard
    assert "close: it is 0.73519" in _normal(dashboard)


def test_grade_command_withholds_unless_show_expected(tmp_path: Path) -> None:
    """As a CI job runs it: ``grader grade`` of the student's folder, each format on stdout,
    and the files ``--out`` writes; a TA's ``--show-expected`` shows the reference."""
    problems = tmp_path / "hw.yaml"
    problems.write_text(
        yaml.safe_dump(
            {"assignment": "hw", "questions": [{"id": "q", "type": "interval", "answer": "[0, 1)"}]}
        ),
        encoding="utf-8",
    )
    folder = tmp_path / "alice"
    folder.mkdir()
    (folder / "answers.yaml").write_text("answers:\n  q: '[0)'\n", encoding="utf-8")
    runner = CliRunner()
    for fmt in FORMAT_NAMES:
        out = tmp_path / f"out-{fmt}"
        run = runner.invoke(main, ["grade", str(folder), "-p", str(problems), "-f", fmt, "--out", str(out)])
        assert run.exit_code in (0, 1), run.output
        files = [
            p.read_text(encoding="utf-8")
            for p in out.rglob("*")
            if p.is_file()
            and p.suffix in (".json", ".md", ".html")
            and p.name != "index.html"  # the TA's dashboard
        ]
        for text in [run.stdout, *files]:
            assert "[0, 1)" not in _normal(text), (fmt, text)
    shown = runner.invoke(
        main, ["grade", str(folder), "-p", str(problems), "-f", "markdown", "--show-expected"]
    )
    assert "[0, 1)" in _normal(shown.stdout) and "Expected:" in shown.stdout


def test_every_format_is_checked() -> None:
    """A new format is in FORMAT_NAMES, so the tests above check it: none is left out by name."""
    assert set(FORMAT_NAMES) == set(REPORTERS)
    assert set(TA_ONLY_BATCHES) <= set(FORMAT_NAMES)
    assert json.loads(REPORTERS["json"].render(Report("a", "s", []))) is not None


@pytest.mark.parametrize(
    ("feedback", "machine", "shown"),
    [
        # grader's own words about this machine: a student running grader in CI can fix them
        ("could not decide: no sandbox on this machine: bubblewrap (bwrap) is not installed", True, True),
        ('could not decide: this part needs PyTorch, which is not installed (pip install "x")', True, True),
        # the same words from anywhere else (a checker's message, a crash) are a TA's, not a student's
        ("could not decide: this part needs 131072, which is not installed", False, False),
        ("internal error while checking (ValueError: 131072); a TA should look at it", False, False),
        # flagged, but quoting the key: withheld all the same
        ("could not decide: no sandbox on this machine: 131072", True, False),
    ],
)
def test_an_error_is_shown_to_a_student_only_when_it_is_the_machines(
    feedback: str, machine: bool, shown: bool
) -> None:
    from grader.core.report import PartResult
    from grader.core.verdict import Status
    from grader.reporting.withhold import ERROR_TEXT

    part = PartResult(
        id="a",
        status=Status.ERROR,
        score=0,
        max_score=1,
        feedback=feedback,
        type="number",
        expected="131072",
        machine=machine,
    )
    student = shown_report(Report("hw", "alice", [part]), show_expected=False).parts[0]
    assert student.feedback == (feedback if shown else ERROR_TEXT)


@pytest.mark.parametrize(("name", "part_spec", "answer", "literals"), _cases())
def test_a_report_withheld_twice_is_the_report_withheld_once(
    name: str, part_spec: dict[str, Any], answer: Any, literals: list[str]
) -> None:
    """A batch's files are rendered from the report withheld once (issue 59): each renderer
    withholds again, which must change nothing, so the files are those of the whole report."""
    skip_unless_code_runs(part_spec)
    spec = one_part_set({**part_spec, "visible": True})
    report, _ = graded(spec, {"q.p": answer})
    once = shown_report(report, False)
    assert shown_report(once, False) == once
    files = report_files(report, "student", False, spec)
    assert files["student.json"].decode() == REPORTERS["json"].render(report)
    assert files["student.md"].decode() == REPORTERS["markdown"].render(report)
    from grader.reporting.html import render_student_page

    assert files["student.html"].decode() == render_student_page(report, False, spec=spec)


def test_a_warmed_problem_sets_first_student_view_compiles_almost_no_pattern() -> None:
    """The service warms what a student's first view of each part compiles (the patterns that
    look for the reference) before its first request: under a class's first long polls they
    held the interpreter for 40 ms a problem set. Only the checker's own reading of a reference,
    known once graded, may be compiled afterwards: at most one pattern a part."""
    from grader.engine import preview
    from grader.reporting import withhold

    kept = {name: case for name, case in CASES.items() if name != "code"}
    spec = ProblemSet.model_validate(
        {
            "assignment": "warm",
            "questions": [
                {"id": f"q{n}", "parts": [{"id": "p", **part}]}
                for n, (part, _, _) in enumerate(kept.values())
            ],
        }
    )
    answers = {f"q{n}.p": wrong[0] for n, (_, wrong, _) in enumerate(kept.values())}
    report, _ = graded(spec, answers)

    def compiled_by_first_view(warm: bool) -> int:
        for cache in (withhold._token, withhold._plain, withhold._references):
            cache.cache_clear()
        if warm:
            withhold.warm((part.type, preview(part.answer)) for _, _, part in spec.iter_parts())
        before = withhold._token.cache_info().misses + withhold._plain.cache_info().misses
        shown_report(report, show_expected=False)
        return withhold._token.cache_info().misses + withhold._plain.cache_info().misses - before

    assert compiled_by_first_view(warm=False) >= 2 * len(kept)
    assert compiled_by_first_view(warm=True) <= len(kept)
