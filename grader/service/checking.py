"""``POST .../check``: what ``grader check`` shows, over HTTP, nothing stored: the upload graded
by the batch's executor under every limit a batch has, with the verdicts of ``visible`` parts only.
A check runs in the runner's own threads while its request waits in the event loop; at most
``max_checks`` are in flight on the server (503 past them), ``student_checks`` of one student (429)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter, OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from grader.batch.executors import Executor
from grader.course.files import LoadedAssignment
from grader.course.visibility import checked
from grader.service.errors import ApiError
from grader.service.executing import WorkerSetups, make_executor, one_task
from grader.service.intake import read_upload
from grader.service.settings import Settings

CHECK_NICENESS = 5  # below the server's requests, above the grading queue's workers
READ_BACKS_KEPT = 512  # waiting hand-ins whose read-back is kept for their page's reloads

log = logging.getLogger(__name__)


class CheckRunner:
    """One standing worker process of its own, started on the first check, so a check never waits
    behind the grading queue; in-process with ``--workers 0``, on the cluster with ``--executor``."""

    def __init__(self, settings: Settings):
        self.settings = settings.model_copy(update={"workers": min(settings.workers, 1)})
        self.setups = WorkerSetups(settings)
        self.limit = settings.max_checks
        self.per_student = settings.student_checks
        self._executor: Executor | None = None
        self._lock = threading.Lock()
        # one for the check worker (at most one), one to read the next upload
        self._threads = ThreadPoolExecutor(2, thread_name_prefix="grader-check")
        self._in_flight: Counter[str] = Counter()  # by student: running or waiting for a thread
        self._counting = threading.Lock()
        # hand-in id -> its check ("" while it runs; a message when there is none), for the waiting page
        self._read_backs: OrderedDict[int, dict[str, Any] | str] = OrderedDict()

    @property
    def in_flight(self) -> int:
        with self._counting:
            return sum(self._in_flight.values())

    @property
    def full(self) -> bool:
        return self.in_flight >= self.limit

    async def check(
        self, assignment: LoadedAssignment, student: str, filename: str, content: bytes
    ) -> dict[str, Any]:
        """:func:`run_check`, awaited in the event loop."""
        return await asyncio.wrap_future(self._start(assignment, student, filename, content))

    def _start(
        self, assignment: LoadedAssignment, student: str, filename: str, content: bytes
    ) -> Future[dict[str, Any]]:
        """:func:`run_check` in the runner's threads; 429 or 503 when the student's checks or the
        server's are all in flight. It counts until it has ended, even when nobody waits for it."""
        self._admit(student)
        try:
            running = self._threads.submit(run_check, self, assignment, student, filename, content)
        except RuntimeError:  # the server is stopping
            self._done(student)
            raise ApiError(503, "the server is stopping; check again in a moment") from None
        running.add_done_callback(lambda _: self._done(student))
        return running

    def read_back(
        self, submission_id: int, assignment: LoadedAssignment, student: str, filename: str, content: bytes
    ) -> dict[str, Any] | str:
        """How a hand-in waiting for its grading was read: its check (:func:`checked`), why there
        is none (a file that cannot be read), or "" until that check has run: the first call
        starts it under the limits of a check (past them, a later call tries again)."""
        with self._counting:
            if submission_id in self._read_backs:
                self._read_backs.move_to_end(submission_id)
                return self._read_backs[submission_id]
            self._read_backs[submission_id] = ""  # one check per hand-in, however often it reloads
            while len(self._read_backs) > READ_BACKS_KEPT:
                self._read_backs.popitem(last=False)
        try:
            running = self._start(assignment, student, filename, content)
        except ApiError:  # all taken, or the server is stopping: a reload tries again
            with self._counting:
                self._read_backs.pop(submission_id, None)
            return ""
        running.add_done_callback(lambda done: self._read(submission_id, done))
        return ""

    def _read(self, submission_id: int, done: Future[dict[str, Any]]) -> None:
        error = done.exception()
        text: dict[str, Any] | str
        if error is None:
            text = done.result()
        elif isinstance(error, ApiError) and error.status == 422:  # a file that cannot be read
            text = error.message
        else:
            log.warning("the read-back of hand-in %s failed: %s", submission_id, error)
            text = "These answers could not be checked now; the verdict will say how they were read."
        with self._counting:
            if submission_id in self._read_backs:
                self._read_backs[submission_id] = text

    def _admit(self, student: str) -> None:
        with self._counting:
            if self._in_flight[student] >= self.per_student:
                raise ApiError(
                    429,
                    f"you have {self._in_flight[student]} checks running, the most a student may have"
                    " at once: wait for their answers, then check again",
                ).retry_after()
            if sum(self._in_flight.values()) >= self.limit:
                raise ApiError(
                    503, f"the server is running {self.limit} checks, all it takes at once; check again soon"
                ).retry_after()
            self._in_flight[student] += 1

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
    submission = read_upload(filename, content, student, assignment.name)
    setup = checks.setups.setup_for(assignment.problem_hash, spec)
    graded = next(iter(checks.executor.grade(setup, [[one_task(student, filename, content)]])))[0]
    report = graded.whole_report()
    report.student = student
    return checked(assignment, submission, report)
