"""``grader check``: a student's answers as grader reads them, before they hand them in.

For every part: how the answer was read (plain math and LaTeX), what could not
be read (with a caret), or that it is unanswered; answer keys that match no part
("did you mean"); LaTeX that was read from double quotes. Verdicts only for the
parts the TA marked ``visible: true``, so a check can run before the deadline
without giving answers away.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from grader.core.parts import PartBase
from grader.core.report import PartResult, Report, points_value
from grader.core.submission import SourcePosition, Submission
from grader.core.verdict import Status
from grader.reporting.escape import terminal_output
from grader.reporting.readback import AnswerReading, read_back
from grader.reporting.withhold import shown_report
from grader.spec import ProblemSet

if TYPE_CHECKING:
    from grader.steps import ChainMarks

INDENT = "    "
ONE_LINE = 100  # characters: a mapping answer's fields share a line up to this
MAX_EXCERPT_LINE = 200


@dataclass(frozen=True)
class PartCheck:
    result: PartResult
    readings: list[AnswerReading] = field(default_factory=list)
    position: SourcePosition | None = None
    # the marks of the steps of the student's derivations, for a part with ``steps: visible``
    steps: list[ChainMarks] = field(default_factory=list)

    @property
    def unreadable(self) -> bool:
        return self.result.status is Status.INVALID


@dataclass(frozen=True)
class CheckResult:
    report: Report
    parts: list[PartCheck]

    @property
    def unreadable(self) -> bool:
        """Something could not be read: the file, or one answer."""
        return bool(self.report.error) or any(part.unreadable for part in self.parts)


def check_result(spec: ProblemSet, submission: Submission, report: Report) -> CheckResult:
    """What a student may see of ``report`` before the deadline, with each answer as read
    (each verdict withheld as every student-facing rendering withholds it)."""
    answers = submission.matched_to(part_id for part_id, _, _ in spec.iter_parts()).answers
    report = shown_report(report, show_expected=False)
    checks = []
    for (part_id, _, part), result in zip(spec.iter_parts(), report.parts, strict=True):
        shown = result.status not in (Status.INVALID, Status.MISSING)
        given = answers.get(part_id)  # None: a part of a PDF a TA grades from its pages, nothing read
        readings = read_back(part, given) if shown and not report.error and given is not None else []
        steps = _step_marks(part, result) if shown and not report.error else []
        checks.append(PartCheck(result, readings, report.positions.get(part_id), steps))
    return CheckResult(report, checks)


def _step_marks(part: PartBase, result: PartResult) -> list[ChainMarks]:
    """Step marks only where the problem file says ``steps: visible``: those computed when the
    part was graded, from the student's own text (never the reference)."""
    if part.steps != "visible":
        return []
    from grader.steps.grading import stored_marks

    return stored_marks(result.steps)


def render_check(result: CheckResult, *, color: bool = False) -> str:
    report = result.report
    lines = [_style(f"{report.assignment} · {report.student}", color, bold=True), ""]
    if report.error:
        lines += _unreadable_file(report, color)
    else:
        for part in result.parts:
            lines += _part_lines(part, color)
    lines += [_style(f"warning: {w}", color, fg="yellow") for w in report.warnings]
    lines += ["", _summary(result)]
    return terminal_output("\n".join(lines) + "\n", color)


def check_json(result: CheckResult) -> dict[str, Any]:
    """The check as the service's API answers it: each part read, unanswered or unreadable,
    with its verdict when the part is visible and answered; the text ``grader check`` prints."""
    parts = []
    for checked in result.parts:
        part = checked.result
        entry: dict[str, Any] = {"id": part.id, "type": part.type}
        if part.status is Status.MISSING:
            entry["state"] = "unanswered"
        elif part.status is Status.INVALID:
            entry["state"] = "unreadable"
            entry["message"] = part.feedback
        else:
            entry["state"] = "read"
            entry["read_as"] = [
                {"text": r.text, "latex": r.latex, "label": r.label} for r in checked.readings
            ]
            if not checked.readings and part.received is not None:  # code: read as typed
                entry["typed"] = part.received
            elif not checked.readings and (part.status is Status.MANUAL or part.hand is not None):
                # a part of a PDF a TA grades from its pages: nothing read from it
                entry["on_pages"] = True
        if part.visible and part.status is not Status.MISSING:
            entry["verdict"] = {
                "status": part.status.value,
                "score": points_value(part.score),
                "max_score": points_value(part.max_score),
                "feedback": part.feedback,
            }
        parts.append(entry)
    return {"unreadable": result.unreadable, "parts": parts, "text": render_check(result)}


def _part_lines(part: PartCheck, color: bool) -> list[str]:
    result = part.result
    where = f"  ({_where(part.position)})" if part.position else ""
    head = f"{_style(result.id, color, bold=True)}  {result.type}{where}"
    if result.status is Status.MISSING:
        return [f"{head}: {_style('unanswered', color, fg='bright_black')}"]
    if result.status is Status.INVALID:
        body = [_style("cannot be read:", color, fg="magenta"), *result.feedback.splitlines()]
        return [head, *(INDENT + line for line in body)]
    lines = [head]
    for text, latex in _joined(part.readings):
        lines.append(f"{INDENT}read as  {text}")
        if latex and latex != text:
            lines.append(f"{INDENT}LaTeX    {latex}")
    if not part.readings and result.received is not None:
        lines += _typed_lines(result.received)
    if result.visible:
        lines += _verdict_lines(result, color)
    lines += _step_lines(part.steps, color)
    return lines


STEP_MARKS = {"shown": ("ok", "green"), "wrong": ("wrong", "red"), "undecided": ("?", "bright_black")}


def _step_lines(chains: list[ChainMarks], color: bool) -> list[str]:
    lines = []
    for chain in chains:
        for step in chain.steps:
            word, colour = STEP_MARKS[step.status]
            lines.append(
                f"{INDENT}step  {_style(word, color, fg=colour)}  {step.left}  {step.relation}  {step.right}"
            )
            if step.witness is not None:
                at = ", ".join(f"{k} = {v}" for k, v in step.witness.at.items())
                lines.append(
                    f"{INDENT}{INDENT}fails at {at}: {step.witness.left} against {step.witness.right}"
                )
    return lines


def _typed_lines(received: str) -> list[str]:
    """An answer read as typed; code of several lines below the label, each line as typed."""
    text = received.strip("\n")
    if "\n" not in text:
        return [f"{INDENT}read as typed  {received}"]
    return [f"{INDENT}read as typed:", *(f"{INDENT}  {line}".rstrip() for line in text.split("\n"))]


def _where(position: SourcePosition) -> str:
    name = Path(position.file).name
    if position.cell is not None:
        return f"{name} cell {position.cell}, line {position.line}"
    return f"{name}:{position.line}"


def _joined(readings: list[AnswerReading]) -> list[tuple[str, str | None]]:
    """(text, LaTeX) lines: a mapping's fields on one line when they fit, else one line each."""
    if not readings or not readings[0].label:
        return [(r.text, r.latex) for r in readings]
    pairs = [(f"{r.label} = {r.text}", f"{r.label} = {r.latex or r.text}") for r in readings]
    text = ", ".join(t for t, _ in pairs)
    if len(text) <= ONE_LINE:
        return [(text, r",\quad ".join(latex for _, latex in pairs))]
    return [(t, latex) for t, latex in pairs]


def _verdict_lines(result: PartResult, color: bool) -> list[str]:
    colours = {Status.CORRECT: "green", Status.PARTIAL: "yellow", Status.INCORRECT: "red"}
    score = f"{points_value(result.score)}/{points_value(result.max_score)}"
    verdict = _style(f"{result.status.value} ({score})", color, fg=colours.get(result.status, "cyan"))
    lines = [f"{INDENT}verdict  {verdict}"]
    lines += [
        INDENT + INDENT + line for line in result.feedback.splitlines() if result.status is not Status.CORRECT
    ]
    return lines


def _unreadable_file(report: Report, color: bool) -> list[str]:
    lines = [_style(f"cannot read the answers file: {report.error}", color, fg="magenta")]
    position = report.error_position
    excerpt = _line_of(position) if position else None
    if position and excerpt is not None:
        gutter = " " * len(str(position.line))
        lines += [
            f"{INDENT}{position.line} | {excerpt}",
            f"{INDENT}{gutter} | {' ' * (position.column - 1)}^",
        ]
    lines.append("Every part is invalid until the file can be read.")
    return lines


def _line_of(position: SourcePosition) -> str | None:
    return None if position.excerpt is None else position.excerpt[:MAX_EXCERPT_LINE]


def _summary(result: CheckResult) -> str:
    parts = result.parts
    unreadable = sum(1 for p in parts if p.unreadable)
    unanswered = sum(1 for p in parts if p.result.status is Status.MISSING)
    read = len(parts) - unreadable - unanswered
    visible = sum(1 for p in parts if p.result.visible)
    text = f"{read} of {len(parts)} parts read, {unreadable} cannot be read, {unanswered} unanswered."
    if result.report.error:
        text = f"The answers file cannot be read: none of the {len(parts)} parts was read."
    if visible:
        text += (
            f" Verdicts are shown for the {visible} part(s) the TA made visible; the rest are graded later."
        )
    else:
        text += " Verdicts are not shown before grading."
    return text


def _style(text: str, color: bool, fg: str | None = None, bold: bool = False) -> str:
    return click.style(text, fg=fg, bold=bold) if color else text
