"""GitHub Actions: annotations at the answer's line, a step summary, and the Points line.

``grader grade . -p problems/a1.yaml --format github`` in a student repository's
workflow prints one workflow command per wrong or unreadable answer
(``::error file=answers.yaml,line=7,title=q2 incorrect::...``), which GitHub shows
on that line of the file; appends a Markdown summary to ``$GITHUB_STEP_SUMMARY``
when the variable is set; and ends with ``Points 6/9``, the line GitHub
Classroom's autograding reads.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from grader.core.report import PartResult, Report, points_value
from grader.core.submission import SourcePosition
from grader.core.verdict import Status

# Which workflow command each status gets; correct and manual parts get none.
LEVELS = {
    Status.INCORRECT: "error",
    Status.INVALID: "error",
    Status.PARTIAL: "warning",
    Status.ERROR: "warning",
    Status.MISSING: "notice",
}
SUMMARY_FEEDBACK_CHARS = 200


class GithubReporter:
    """Workflow commands for GitHub Actions, and a step summary when ``$GITHUB_STEP_SUMMARY`` is set."""

    def render(self, report: Report, *, show_expected: bool = False, color: bool = False) -> str:
        lines = report_commands(report, show_expected)
        lines.append(score_line(report))
        lines.append(f"Points {_points(report.score)}/{_points(report.max_score)}")
        write_step_summary(summary_markdown([report]))
        return "\n".join(lines) + "\n"

    def render_batch(
        self, reports: Sequence[Report], *, show_expected: bool = False, color: bool = False
    ) -> str:
        if len(reports) == 1:
            return self.render(reports[0], show_expected=show_expected)
        lines: list[str] = []
        for report in reports:
            lines += report_commands(report, show_expected)
            lines.append(score_line(report))
        write_step_summary(summary_markdown(reports))
        return "\n".join(lines) + "\n" if lines else ""


def report_commands(report: Report, show_expected: bool = False) -> list[str]:
    """One workflow command per answer that is not right, and one per warning."""
    if report.error:
        return [command("error", f"answers file not read: {report.error}", report.error_position)]
    lines = []
    for part in report.parts:
        level = LEVELS.get(part.status)
        if level is None:
            continue
        title = f"{part.id}: {part.status.value} ({_points(part.score)}/{_points(part.max_score)})"
        lines.append(command(level, _message(part, show_expected), report.positions.get(part.id), title))
    lines += [command("warning", warning) for warning in report.warnings]
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
    head = ",".join(f"{name}={_escape_property(str(value))}" for name, value in properties)
    return f"::{level}{' ' + head if head else ''}::{_escape_data(message)}"


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
    line = f"{report.assignment} · {report.student}: {_points(report.score)}/{_points(report.max_score)}"
    if report.pending:
        line += f" ({_points(report.pending)} points await grading by a TA)"
    return line


def summary_markdown(reports: Sequence[Report]) -> str:
    """The step summary: a score and a table of parts per report."""
    out: list[str] = []
    for report in reports:
        out += [f"### {report.assignment}: {report.student}", "", f"**Score: {score_text(report)}**", ""]
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
    """Text inside one Markdown table cell: one line, no stray pipes."""
    return " ".join(text.split()).replace("|", "\\|")


def write_step_summary(markdown: str) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(markdown + "\n")


def _points(value: float) -> str:
    return str(points_value(value))
