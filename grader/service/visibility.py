"""What a student may see of a report.

Before release only the parts the TA marked ``visible`` carry a verdict; the others
say when they will. Never a reference answer: ``expected`` is dropped, and any
feedback or witness that quotes the reference (a TA's mistake text, "pi is
3.14159") is withheld; an ``error`` verdict's text (the TA's side: a problem file
that cannot be read, a crash) becomes a plain "a TA will look at it".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

from grader.core.report import PartResult, Report, points_value
from grader.core.verdict import Status
from grader.service.course import LoadedAssignment

WITHHELD = "feedback withheld: it would show the reference answer"
ERROR_TEXT = "this answer could not be graded automatically; a TA will look at it"


def reference_strings(result: PartResult) -> list[str]:
    """The reference answer as a report writes it (what must never reach a student)."""
    return [result.expected.strip()] if result.expected and result.expected.strip() else []


def quotes(text: str | None, references: list[str]) -> bool:
    """``text`` contains a reference as a whole token, however it is spaced."""
    if not text:
        return False
    for reference in references:
        pieces = [re.escape(c) for c in reference if not c.isspace()]
        spaced = r"\s*".join(pieces)
        if pieces and re.search(rf"(?<![\w.]){spaced}(?![\w])", text):
            return True
    return False


def student_part(result: PartResult) -> PartResult:
    """The part as a student may see it once its verdict is shown."""
    references = reference_strings(result)
    feedback = result.feedback
    if result.status is Status.ERROR:
        feedback = ERROR_TEXT
    elif quotes(feedback, references):
        feedback = WITHHELD
    witness = result.witness
    if witness is not None and (quotes(witness.expected, references) or quotes(str(witness), references)):
        witness = None
    return dataclasses.replace(result, expected=None, feedback=feedback, witness=witness)


def student_report(
    report: Report, assignment: LoadedAssignment, now: dt.datetime
) -> tuple[Report, list[str]]:
    """The report limited to what the student may see now, and the ids of the parts hidden."""
    released = assignment.released(now)
    shown, hidden = [], []
    for result in report.parts:
        if released or result.visible:
            shown.append(student_part(result))
        else:
            hidden.append(result.id)
    limited = dataclasses.replace(report, parts=shown, folder=None, positions={})
    return limited, hidden


def student_json(report: Report, assignment: LoadedAssignment, now: dt.datetime) -> dict[str, Any]:
    limited, hidden = student_report(report, assignment, now)
    data = limited.to_dict(show_expected=False)
    if hidden:
        moment = assignment.release or assignment.due
        data["hidden_parts"] = hidden
        data["hidden_until"] = moment.isoformat() if moment else None
        data["note"] = f"{len(hidden)} part(s) are graded but shown only after the release"
    for part in data["parts"]:
        part.pop("expected", None)
    data["score"] = points_value(limited.score)
    data["max_score"] = points_value(limited.max_score)
    return data
