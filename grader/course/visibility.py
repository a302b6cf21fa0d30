"""What a student may see of a report: before the release, verdicts of the parts the TA marked
``visible`` only; never a reference answer (each part withheld as grader.reporting.withhold
withholds it for every student-facing rendering); a check (``grader check``, a hand-in's read-back)
as its student may see it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from grader.core.report import PartResult, Report
from grader.core.submission import Submission
from grader.course.files import LoadedAssignment
from grader.course.variant_key import student_spec
from grader.mathlang.wording import counted
from grader.reporting.check import check_json, check_result
from grader.reporting.withhold import student_part as withheld_part
from grader.reporting.withhold import student_view
from grader.versions import code_version


def student_part(result: PartResult) -> PartResult:
    """Without a batch's side file: the service draws the plot in the page."""
    return withheld_part(result, plot_file=None)


def student_report(
    report: Report, assignment: LoadedAssignment, now: dt.datetime
) -> tuple[Report, list[str]]:
    """The report limited to what the student may see now, and the ids of the parts hidden."""
    shown, hidden = _shown_now(report, assignment, now)
    return dataclasses.replace(
        report, parts=[student_part(r) for r in shown], folder=None, positions={}
    ), hidden


def _shown_now(
    report: Report, assignment: LoadedAssignment, now: dt.datetime
) -> tuple[list[PartResult], list[str]]:
    """The parts whose verdicts the student may see now (all after the release, the ``visible``
    ones before), as graded, and the ids of the others."""
    released = assignment.released(now)
    shown = [result for result in report.parts if released or result.visible]
    return shown, [result.id for result in report.parts if not (released or result.visible)]


def score_covers(shown: int, hidden: int) -> str:
    """What a score shown before the release is of: ``on the 1 part released of 11``."""
    return f"on the {counted(shown, 'part')} released of {shown + hidden}" if hidden else ""


def student_json(report: Report, assignment: LoadedAssignment, now: dt.datetime) -> dict[str, Any]:
    """The report as its student may see it now: before the release, its visible parts only."""
    shown, hidden = _shown_now(report, assignment, now)
    data = student_view(dataclasses.replace(report, parts=shown))
    if hidden:
        moment = assignment.release or assignment.due
        data["hidden_parts"] = hidden
        data["hidden_until"] = moment.isoformat() if moment else None
        data["note"] = f"{len(hidden)} part(s) are graded but shown only after the release"
        data["score_covers"] = score_covers(len(shown), len(hidden))
    return data


def kept_student_json(kept: bytes | None, assignment: LoadedAssignment, now: dt.datetime) -> Any:
    """The student's view the pool worker made of a report when it graded it (a verdict's
    ``shown``: :func:`grader.batch.worker.student_view_text`), if it is what :func:`student_json`
    gives now: this code made it and every part is shown now. None otherwise."""
    try:
        view = json.loads(kept) if kept else {}
    except ValueError:
        return None
    shown_now = isinstance(view, dict) and (view.get("all_visible") is True or assignment.released(now))
    if shown_now and view.get("rendering") == code_version() and isinstance(view.get("report"), dict):
        return view["report"]
    return None


def checked(assignment: LoadedAssignment, submission: Submission, report: Report) -> dict[str, Any]:
    """The check of ``report`` as its student may see it: every part read, unanswered or unreadable
    (with the caret), visible or not, in their own variant; verdicts of visible parts only."""
    limited = dataclasses.replace(report, parts=[student_part(p) for p in report.parts])
    result = check_result(student_spec(assignment.spec, report.student), submission, limited)
    return {"assignment": assignment.name, **check_json(result), "warnings": list(limited.warnings)}
