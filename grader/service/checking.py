"""``POST .../check``: what ``grader check`` shows, over HTTP, nothing stored.

The upload is read by the CLI's loader, graded by the batch's executor (a worker
process, under every limit a batch has), and rendered by ``grader.reporting.check``
with the verdicts of ``visible`` parts only, each as a student may see it.

A check never holds a request thread: it runs in the check runner's own threads while its
request waits in the event loop. At most ``max_checks`` are in flight on the server (503
past them, and /healthz says "saturated"), and ``student_checks`` of one student (429).
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from grader.batch.executors import Executor
from grader.core.report import Report, points_value
from grader.core.submission import Submission
from grader.core.verdict import Status
from grader.loading import load_submission
from grader.reporting.check import check_result, render_check
from grader.service.course import LoadedAssignment
from grader.service.errors import RETRY_AFTER_SECONDS, ApiError
from grader.service.executing import WorkerSetups, make_executor, one_task
from grader.service.intake import scratch_folder, unreadable
from grader.service.settings import Settings
from grader.service.variant_key import student_spec
from grader.service.visibility import student_part

CHECK_NICENESS = 5  # below the server's requests, above the grading queue's workers


class CheckRunner:
    """Grades the checks of the server's requests: one standing worker process (under every
    limit a batch has), started on the first check, so a check never waits behind the
    grading queue; in-process with ``--workers 0``, on the cluster with ``--executor``."""

    def __init__(self, settings: Settings):
        self.settings = settings.model_copy(update={"workers": min(settings.workers, 1)})
        self.setups = WorkerSetups(settings)
        self.limit = settings.max_checks
        self.per_student = settings.student_checks
        self._executor: Executor | None = None
        self._lock = threading.Lock()
        threads = max(self.settings.workers, 1) + 1  # one per check worker, one to read the next upload
        self._threads = ThreadPoolExecutor(threads, thread_name_prefix="grader-check")
        self._in_flight: Counter[str] = Counter()  # by student: running or waiting for a thread
        self._counting = threading.Lock()

    @property
    def in_flight(self) -> int:
        with self._counting:
            return sum(self._in_flight.values())

    @property
    def full(self) -> bool:
        """Every check the server takes is taken: the next one is refused."""
        return self.in_flight >= self.limit

    async def check(
        self, assignment: LoadedAssignment, student: str, filename: str, content: bytes
    ) -> dict[str, Any]:
        """:func:`run_check` in the runner's threads, awaited in the event loop; refused when the
        student's checks or the server's are all in flight. A check counts until it has ended,
        even when its client stopped waiting."""
        self._admit(student)
        try:
            running = self._threads.submit(run_check, self, assignment, student, filename, content)
        except RuntimeError:  # the server is stopping
            self._done(student)
            raise ApiError(503, "the server is stopping; check again in a moment") from None
        running.add_done_callback(lambda _: self._done(student))
        return await asyncio.wrap_future(running)

    def _admit(self, student: str) -> None:
        with self._counting:
            if self._in_flight[student] >= self.per_student:
                error = ApiError(
                    429,
                    f"you have {self._in_flight[student]} checks running, the most a student may have"
                    " at once: wait for their answers, then check again",
                )
            elif sum(self._in_flight.values()) >= self.limit:
                error = ApiError(
                    503, f"the server is running {self.limit} checks, all it takes at once; check again soon"
                )
            else:
                self._in_flight[student] += 1
                return
        error.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        raise error

    def _done(self, student: str) -> None:
        with self._counting:
            self._in_flight[student] -= 1
            if self._in_flight[student] <= 0:
                del self._in_flight[student]

    @property
    def executor(self) -> Executor:
        with self._lock:
            if self._executor is None:
                self._executor = make_executor(self.settings, nice=CHECK_NICENESS)
            return self._executor

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
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
    read, unanswered or unreadable (with the caret), visible or not; verdicts of visible parts only.
    Answers are read with the parts of the report's student's own variant."""
    limited = dataclasses.replace(report, parts=[student_part(p) for p in report.parts])
    result = check_result(student_spec(assignment.spec, report.student), submission, limited)
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
