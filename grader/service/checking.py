"""``POST .../check``: what ``grader check`` shows, over HTTP, nothing stored.

The upload is read by the CLI's loader, graded by the batch's executor (a worker
process, under every limit a batch has), and rendered by ``grader.reporting.check``
with the verdicts of ``visible`` parts only, each as a student may see it.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from grader.core.report import points_value
from grader.core.verdict import Status
from grader.loading import load_submission
from grader.reporting.check import check_result, render_check
from grader.service.course import LoadedAssignment
from grader.service.intake import scratch_folder, unreadable
from grader.service.visibility import student_part

if TYPE_CHECKING:
    from grader.service.workers import GradingWorkers


def run_check(
    workers: GradingWorkers, assignment: LoadedAssignment, student: str, filename: str, content: bytes
) -> dict[str, Any]:
    from grader.service.workers import one_task

    spec = assignment.spec
    with scratch_folder(filename, content, student) as folder:
        submission = load_submission(folder)
        if submission.load_error:
            raise unreadable(submission, assignment.name)
    setup = workers.setup_for(assignment.problem_hash, spec)
    report = next(iter(workers.executor.grade(setup, [[one_task(student, filename, content)]])))[0].report
    report.student = student
    limited = dataclasses.replace(report, parts=[student_part(p) for p in report.parts])
    result = check_result(spec, submission, limited)
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
        if part.visible and part.status is not Status.MISSING:
            entry["verdict"] = {
                "status": part.status.value,
                "score": points_value(part.score),
                "max_score": points_value(part.max_score),
                "feedback": part.feedback,
            }
        parts.append(entry)
    return {
        "assignment": assignment.name,
        "unreadable": result.unreadable,
        "parts": parts,
        "warnings": list(report.warnings),
        "text": render_check(result),
    }
