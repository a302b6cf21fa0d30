"""GitHub Actions: annotations at the answer's line, a step summary, and the Points line.

``grader grade . -p problems/a1.yaml --format github`` in a student repository's
workflow prints one workflow command per wrong or unreadable answer
(``::error file=answers.yaml,line=7,title=q2 incorrect::...``), which GitHub shows
on that line of the file; appends a Markdown summary to ``$GITHUB_STEP_SUMMARY``
when the variable is set; and ends with ``::notice title=Autograding
complete::Points 6/9``, the annotation GitHub Classroom reads on the check run of
the job ``run-autograding-tests`` (what its reporter, education/autograding-grading-reporter,
writes). When ``$GITHUB_OUTPUT`` is set it also writes the step output ``result``: the
base64 JSON a Classroom "runner" gives that reporter, one test per auto-graded part
with its points (:func:`classroom_result`).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.core.report import PartResult, Report, points_value
from grader.core.submission import SourcePosition
from grader.core.verdict import Status
from grader.reporting.escape import markdown_text, terminal_text, workflow_text
from grader.reporting.withhold import shown_report

# Which workflow command each status gets; correct and manual parts get none.
LEVELS = {
    Status.INCORRECT: "error",
    Status.INVALID: "error",
    Status.PARTIAL: "warning",
    Status.ERROR: "warning",
    Status.MISSING: "notice",
}
SUMMARY_FEEDBACK_CHARS = 200
ANNOTATION_LIMIT = 10  # GitHub shows this many errors, warnings and notices per step (50 per job)
CLASSROOM_TITLE = "Autograding complete"  # the annotation title GitHub Classroom reads the points from


class GithubReporter:
    """Workflow commands for GitHub Actions, and a step summary when ``$GITHUB_STEP_SUMMARY`` is set."""

    def render(self, report: Report, *, show_expected: bool = False, color: bool = False) -> str:
        report = shown_report(report, show_expected)  # the student's job log and summary
        lines = capped(report_annotations(report, show_expected), reserved_notices=1)
        lines.append(score_line(report))
        points = f"Points {_points(report.score)}/{_points(report.max_score)}"
        lines.append(command("notice", points, title=CLASSROOM_TITLE))
        write_step_summary(summary_markdown([report]))
        write_step_output("result", classroom_result_text(report))
        return "\n".join(lines) + "\n"

    def render_batch(
        self, reports: Sequence[Report], *, show_expected: bool = False, color: bool = False
    ) -> str:
        if len(reports) == 1:
            return self.render(reports[0], show_expected=show_expected)
        reports = [shown_report(report, show_expected) for report in reports]
        annotations = [a for report in reports for a in report_annotations(report, show_expected)]
        lines = capped(annotations) + [score_line(report) for report in reports]
        write_step_summary(summary_markdown(reports))
        return "\n".join(lines) + "\n" if lines else ""


@dataclass(frozen=True)
class Annotation:
    level: str  # error, warning, notice
    at_stake: float  # the points the student lost there: what is shown first
    name: str  # the part, or "" for a message about the whole submission
    line: str  # the workflow command


def report_annotations(report: Report, show_expected: bool = False) -> list[Annotation]:
    """One annotation per answer that is not right, per warning and per note, the answers that
    cost most points first."""
    if report.error:
        text = command("error", f"answers file not read: {report.error}", report.error_position)
        return [Annotation("error", report.max_score, "", text)]
    found = []
    for part in report.parts:
        level = LEVELS.get(part.status)
        if level is None:
            continue
        title = f"{part.id}: {part.status.value} ({_points(part.score)}/{_points(part.max_score)})"
        text = command(level, _message(part, show_expected), report.positions.get(part.id), title)
        found.append(Annotation(level, part.max_score - part.score, part.id, text))
    found.sort(key=lambda annotation: -annotation.at_stake)
    found += [
        Annotation("warning", 0, "", command("warning", w, report.warning_positions.get(w)))
        for w in report.warnings
    ]
    found += [Annotation("notice", 0, "", command("notice", note)) for note in report.notes]
    return found


def capped(annotations: Sequence[Annotation], reserved_notices: int = 0) -> list[str]:
    """GitHub shows at most 10 annotations of each level per step (ANNOTATION_LIMIT): past it,
    the first ones and one line naming the rest (the job summary lists every part)."""
    lines = []
    for level in ("error", "warning", "notice"):
        of_level = [a for a in annotations if a.level == level]
        limit = ANNOTATION_LIMIT - (reserved_notices if level == "notice" else 0)
        if len(of_level) <= limit:
            lines += [a.line for a in of_level]
            continue
        shown, rest = of_level[: limit - 1], of_level[limit - 1 :]
        lines += [a.line for a in shown]
        names = ", ".join(a.name for a in rest if a.name)
        message = f"{len(rest)} more{': ' + names if names else ''} (the job summary lists every part)"
        lines.append(command(level, message, title=f"{len(rest)} more {level}s"))
    return lines


def _message(part: PartResult, show_expected: bool) -> str:
    message = part.feedback or part.status.value
    if show_expected and part.expected:
        message += f"\nexpected: {part.expected}"
    if part.note:
        message += f"\nnote: {part.note}"
    return message


def command(level: str, message: str, position: SourcePosition | None = None, title: str = "") -> str:
    """``::error file=F,line=N,col=C,title=T::message``, escaped as GitHub requires."""
    properties: list[tuple[str, object]] = []
    if position is not None and position.cell is not None:  # a notebook: its JSON lines mean nothing
        properties.append(("file", _relative(position.file)))
        message = f"cell {position.cell}, line {position.line}: {message}"
    elif position is not None:
        properties += [("file", _relative(position.file)), ("line", position.line), ("col", position.column)]
    if title:
        properties.append(("title", title))
    head = ",".join(f"{name}={_escape_property(terminal_text(str(value)))}" for name, value in properties)
    return f"::{level}{' ' + head if head else ''}::{_escape_data(terminal_text(message))}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _relative(file: str) -> str:
    """A path GitHub can place in the repository: relative to the workspace when it is inside it."""
    path = Path(file)
    if not path.is_absolute():
        return path.as_posix()
    root = Path(os.environ.get("GITHUB_WORKSPACE") or Path.cwd())
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def score_line(report: Report) -> str:
    student = workflow_text(report.student)
    line = f"{report.assignment} · {student}: {_points(report.score)}/{_points(report.max_score)}"
    if report.pending:
        line += f" ({_points(report.pending)} points await grading by a TA)"
    return line


def summary_markdown(reports: Sequence[Report]) -> str:
    """The step summary: a score and a table of parts per report."""
    out: list[str] = []
    for report in reports:
        out += [
            f"### {report.assignment}: {_cell(report.student)}",
            "",
            f"**Score: {score_text(report)}**",
            "",
        ]
        if report.error:
            out += [f"Your answers file could not be read: {_cell(report.error)}", ""]
        out += ["| part | status | score | feedback |", "|---|---|---|---|"]
        for part in report.parts:
            feedback = _cell(part.feedback)[:SUMMARY_FEEDBACK_CHARS]
            out.append(
                f"| {part.id} | {part.status.value} | {_points(part.score)}/{_points(part.max_score)} "
                f"| {feedback} |"
            )
        out += [""] + [f"> Warning: {_cell(w)}" for w in report.warnings]
        out.append("")
    return "\n".join(out)


def score_text(report: Report) -> str:
    text = f"{_points(report.score)} / {_points(report.max_score)}"
    if report.pending:
        text += f" ({_points(report.pending)} points await grading by a TA)"
    return text


def _cell(text: str) -> str:
    """Student text inside one Markdown table cell: one line, no stray pipe, link or tag."""
    return markdown_text(text, in_table=True)


def classroom_result(report: Report) -> dict[str, object]:
    """What a GitHub Classroom runner step outputs for its reporter: the reporter adds up the
    tests' ``score`` against ``max_score`` into the points Classroom records. A part that waits
    for a TA is no test (its points are in ``max_score``, as in the Points line)."""
    tests = [
        {
            "name": part.id,
            "status": "pass" if part.status is Status.CORRECT else "fail",
            "score": points_value(part.score),
            "message": part.feedback,
            "test_code": "",
            "filename": _relative(position.file) if (position := report.positions.get(part.id)) else "",
            "line_no": position.line if position else 0,
        }
        for part in report.parts
        if part.status is not Status.MANUAL
    ]
    every = all(test["status"] == "pass" for test in tests)
    status = "error" if report.error else "pass" if every else "fail"
    return {"version": 1, "status": status, "max_score": points_value(report.max_score), "tests": tests}


def classroom_result_text(report: Report) -> str:
    text = json.dumps(classroom_result(report), ensure_ascii=False, separators=(",", ":"))
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def write_step_output(name: str, value: str) -> None:
    """``name=value`` into ``$GITHUB_OUTPUT`` (a step's output) when the variable is set."""
    path = os.environ.get("GITHUB_OUTPUT")
    if path:
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(f"{name}={value}\n")


def write_step_summary(markdown: str) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(markdown + "\n")


def _points(value: float) -> str:
    return str(points_value(value))
