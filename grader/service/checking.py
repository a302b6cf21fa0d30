"""``POST .../check``: what ``grader check`` shows, over HTTP, nothing stored.

The upload is read by the CLI's loader, graded by the batch's executor (a worker
process, under every limit a batch has), and rendered by ``grader.reporting.check``
with the verdicts of ``visible`` parts only, each as a student may see it.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from grader.batch.executors import Executor
from grader.core.report import Report, points_value
from grader.core.submission import Submission
from grader.core.verdict import Status
from grader.loading import load_submission
from grader.reporting.check import check_result, render_check
from grader.service.course import LoadedAssignment
from grader.service.executing import WorkerSetups, make_executor, one_task
from grader.service.intake import scratch_folder, unreadable
from grader.service.settings import Settings
from grader.service.visibility import student_part

CHECK_NICENESS = 5  # below the server's requests, above the grading queue's workers


class CheckRunner:
    """Grades the checks of the server's requests: one standing worker process (under every
    limit a batch has), started on the first check, so a check never waits behind the
    grading queue; in-process with ``--workers 0``, on the cluster with ``--executor``."""

    def __init__(self, settings: Settings):
        self.settings = settings.model_copy(update={"workers": min(settings.workers, 1)})
        self.setups = WorkerSetups(settings)
        self._executor: Executor | None = None
        self._lock = threading.Lock()

    @property
    def executor(self) -> Executor:
        with self._lock:
            if self._executor is None:
                self._executor = make_executor(self.settings, nice=CHECK_NICENESS)
            return self._executor

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.close()


def run_check(
    checks: CheckRunner, assignment: LoadedAssignment, student: str, filename: str, content: bytes
) -> dict[str, Any]:
    spec = assignment.spec
    with scratch_folder(filename, content, student) as folder:
        submission = load_submission(folder)
        if submission.load_error:
            raise unreadable(submission, assignment.name)
    setup = checks.setups.setup_for(assignment.problem_hash, spec)
    graded = next(iter(checks.executor.grade(setup, [[one_task(student, filename, content)]])))[0]
    report = graded.whole_report()
    report.student = student
    return checked(assignment, submission, report)


def checked(assignment: LoadedAssignment, submission: Submission, report: Report) -> dict[str, Any]:
    """The check of a graded ``report`` of ``submission`` as its student may see it: every part
    read, unanswered or unreadable (with the caret), visible or not; verdicts of visible parts only."""
    limited = dataclasses.replace(report, parts=[student_part(p) for p in report.parts])
    result = check_result(assignment.spec, submission, limited)
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
        "warnings": list(limited.warnings),
        "text": render_check(result),
    }
