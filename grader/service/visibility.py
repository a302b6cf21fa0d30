"""What a student may see of a report.

Before release only the parts the TA marked ``visible`` carry a verdict; the others
say when they will. Never a reference answer: ``expected`` is dropped, and so are the
checker's reading of the reference (``Reading.expected``) and the reference's value at a
witness point. The checkers word their feedback about the student's answer alone (issue
45); as a second line, any feedback or TA's note that quotes the reference in a spelling
grader writes (as the problem file does, in plain text, in LaTeX, as the checker reads
it: a TA's mistake text, "pi is 3.14159") is withheld; an ``error`` verdict's text (the
TA's side: a problem file that cannot be read, a crash) becomes a plain "a TA will look at it".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from typing import Any

from grader.core.report import PartResult, Report, points_value
from grader.core.verdict import Status
from grader.mathlang.render import to_latex, to_text
from grader.mathlang.wording import counted
from grader.reporting.answers import read_context, read_received
from grader.service.course import LoadedAssignment

WITHHELD = "feedback withheld: it would show the reference answer"
ERROR_TEXT = "this answer could not be graded automatically; a TA will look at it"


def reference_strings(result: PartResult) -> list[str]:
    """The reference answer as a report writes it, and as grader renders it (plain text, LaTeX,
    the checker's own reading): what must never reach a student."""
    if not result.expected or not result.expected.strip():
        return []
    found = {result.expected.strip(), *_listed(result.expected)}
    if result.reading is not None and result.reading.expected.strip():
        found.add(result.reading.expected.strip())
    if result.type == "complexity":  # its terms one by one too (the checker, with sympy: on demand)
        from grader.types.complexity.checker import class_terms

        found |= set(class_terms(result.expected))
    try:
        answer = read_received(result.expected, read_context(None, result.type))
    except Exception:  # a reference grader cannot read back: its text alone is looked for
        answer = None
    if answer is not None and answer.tree is not None:
        found |= {to_text(answer.tree), to_latex(answer.tree)}
    return sorted(found)


def _listed(text: str) -> list[str]:
    """A list reference (a shape, an array, options) as a sentence writes it: ``k x 1``, ``k, 1``."""
    try:
        value = json.loads(text)
    except ValueError:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        return []
    items = [str(v) for v in value]
    return [" x ".join(items), ", ".join(items)]


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
    if witness is not None and result.type != "network":  # a network's target is the question's
        witness = dataclasses.replace(witness, expected=None)
    if witness is not None and quotes(str(witness), references):
        witness = None
    note = None if quotes(result.note, references) else result.note
    return dataclasses.replace(
        result,
        expected=None,
        feedback=feedback,
        witness=witness,
        reading=None,
        note=note,
        plot_file=None,  # a batch's side file: the service draws the plot in the page
    )


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


def score_covers(shown: int, hidden: int) -> str:
    """What a score shown before the release is of: ``on the 1 part released of 11``."""
    if not hidden:
        return ""
    return f"on the {counted(shown, 'part')} released of {shown + hidden}"


def student_json(report: Report, assignment: LoadedAssignment, now: dt.datetime) -> dict[str, Any]:
    limited, hidden = student_report(report, assignment, now)
    data = limited.to_dict(show_expected=False)
    if hidden:
        moment = assignment.release or assignment.due
        data["hidden_parts"] = hidden
        data["hidden_until"] = moment.isoformat() if moment else None
        data["note"] = f"{len(hidden)} part(s) are graded but shown only after the release"
        data["score_covers"] = score_covers(len(limited.parts), len(hidden))
    for part in data["parts"]:
        part.pop("expected", None)
    data["score"] = points_value(limited.score)
    data["max_score"] = points_value(limited.max_score)
    return data
