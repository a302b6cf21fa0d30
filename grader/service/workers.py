"""Grading workers: a thread that takes jobs from the queue and grades them with the
batch's executors (the local worker pool, or Dask), through the shared verdict
store, so an answer given by many students is decided once.

Each job is a :class:`grader.batch.reading.SubmissionTask` whose files travel with
it, exactly as a batch ships a folder to a remote worker; what comes back is a
``Graded`` whose report becomes the job's verdict row, written in the transaction
that marks the job done.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from grader.batch import VerdictStore
from grader.batch.reading import SubmissionTask
from grader.batch.worker import Graded
from grader.service import metrics, queue
from grader.service.blobs import dumps
from grader.service.course import CourseState, LoadedAssignment
from grader.service.db import Database, Job, Submission, User, VerdictRow
from grader.service.executing import WorkerSetups, make_executor, one_task
from grader.service.hand.logic import hand_graded_report
from grader.service.settings import Settings
from grader.spec import ProblemSet

log = logging.getLogger("grader.service")

CHECKPOINT_SECONDS = 2.0
WARM_ASSIGNMENTS = 2  # a standing pool keeps the setups of two problem files


def submission_task(submission: Submission, user_name: str, job_id: int) -> SubmissionTask:
    return one_task(user_name, submission.filename, submission.content, key=f"{submission.id}#{job_id}")


@dataclass
class Group:
    spec: ProblemSet
    items: list[tuple[Job, SubmissionTask]]


class GradingWorkers:
    """The loop that grades queued jobs, on a thread of its own, until :meth:`stop`; it also
    keeps the course in step with its folder (a problem-file edit queues the regrades).
    ``on_graded(submission_id, seconds, failed)`` is told of each verdict once it is committed
    (the metrics, and the requests waiting for it)."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        course: CourseState,
        on_graded: Callable[[int, float, bool], None] | None = None,
        on_ready: Callable[[], None] | None = None,
        checkpoints: bool = False,
    ):
        self.settings = settings
        self.db = db
        self.course = course
        self.on_graded = on_graded or (lambda _, seconds, failed: metrics.graded(seconds, failed))
        self.on_ready = on_ready
        self.ready = threading.Event()  # workers started and warmed up
        self.owner = f"{uuid.uuid4().hex[:12]}"
        self.executor = make_executor(settings)
        self.setups = WorkerSetups(settings)
        self.store = VerdictStore(settings.store_path)
        self._stop = threading.Event()
        self._wake = threading.Event()  # jobs were queued, or stop: look now
        self._thread: threading.Thread | None = None
        self.in_hand: set[int] = set()
        self._claimed: dict[str, Group] = {}  # claimed while grading another problem file
        self._synced_at = 0.0  # when the course folder was last read
        # With ``checkpoints``, this loop checkpoints SQLite's log every few seconds, outside
        # any write: the database's connections (the server's and its own) never do.
        self.checkpoints = checkpoints
        self._checkpointed_at = time.monotonic()

    def nudge(self) -> None:
        self._wake.set()

    def _checkpoint(self) -> None:
        if self.checkpoints and time.monotonic() - self._checkpointed_at > CHECKPOINT_SECONDS:
            self.db.checkpoint()
            self._checkpointed_at = time.monotonic()

    def _sync_due(self) -> bool:
        return time.monotonic() - self._synced_at > self.settings.reload_seconds

    def start(self) -> None:
        with self.db.session() as db:
            back = queue.requeue_abandoned(db, self.owner)
        if back:
            log.info("re-queued %d job(s) left in hand by a server that stopped", back)
        self._thread = threading.Thread(target=self._run, name="grader-workers", daemon=True)
        self._thread.start()

    def stop(self, grace: float = 30.0) -> None:
        """Stop taking jobs, let the chunk in hand finish for up to ``grace`` seconds, and
        put back what is still unfinished."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(grace)
        with self.db.session() as db:
            back = queue.release(db, self.owner)
        if back:
            log.info("shutdown: %d job(s) in hand put back in the queue", back)
        # A chunk still running past the grace is stopped with its workers; its jobs are back
        # in the queue, so what it would have written is refused (queue.mark_done).
        self.executor.close(wait=0.0 if self._thread is not None and self._thread.is_alive() else None)
        if self._thread is not None:
            self._thread.join(grace)
        self.store.close()

    def _warm_up(self) -> None:
        """Grade a blank sheet of the newest assignments (as many as a standing pool keeps
        prepared): the workers start and import their checkers now, not when the first
        hand-ins of a deadline rush arrive."""
        newest = sorted(self.course.all(), key=lambda loaded: loaded.id)[-WARM_ASSIGNMENTS:]
        for loaded in newest:
            if self._stop.is_set():
                return
            setup = self.setups.setup_for(loaded.problem_hash, loaded.spec)
            try:
                for _ in self.executor.grade(
                    setup, [[one_task("warm-up", "answers.yaml", b"answers: {}\n")]]
                ):
                    pass
            except Exception:  # grading will say what is wrong
                log.exception("warming up the workers for %s failed", loaded.name)

    def _run(self) -> None:
        self._warm_up()
        self.ready.set()
        if self.on_ready is not None:
            self.on_ready()
        while not self._stop.is_set():
            try:
                if self._sync_due():
                    self.course.sync()
                    self._synced_at = time.monotonic()
                self._wake.clear()  # a nudge from now on is seen by the wait below
                self._checkpoint()
                if not self.work_once():
                    self._wake.wait(self.settings.poll_seconds)
            except Exception:  # a database hiccup must not end grading for good
                log.exception("grading loop error; retrying")
                self._stop.wait(1.0)

    def work_once(self) -> bool:
        """Claim jobs and grade them, claiming more as the workers free up, until the queue
        is empty; False when it was empty to begin with."""
        self._claim()
        try:
            found = bool(self._claimed)  # jobs whose problem file is gone wait, put back below
            while self._claimed and not self._stop.is_set():
                problem_hash = next(iter(self._claimed))
                self._grade_group(problem_hash, self._claimed.pop(problem_hash))
            return found
        finally:
            self._claimed.clear()
            if self.in_hand:  # stopped or failed mid-way: another worker takes them
                with self.db.session() as db:
                    queue.release(db, self.owner, sorted(self.in_hand))
                self.in_hand = set()

    def _claim(self) -> None:
        """Claim up to a batch of queued jobs into :attr:`_claimed`, by problem file."""
        with self.db.session() as db:
            jobs = queue.claim(db, self.owner, self.settings.batch_size)
            self.in_hand |= {job.id for job in jobs}
            # After the claim: a regrade queued with another server's edit is graded with it.
            if jobs:
                self.course.refresh()
            for job, loaded, task in self._tasks(db, jobs):
                group = self._claimed.setdefault(loaded.problem_hash, Group(loaded.spec, []))
                group.items.append((job, task))

    def _tasks(self, db: Session, jobs: list[Job]) -> Iterator[tuple[Job, LoadedAssignment, SubmissionTask]]:
        """Each claimed job with the problem file it is graded with now, and its task."""
        for job in jobs:
            submission = db.get(Submission, job.submission_id)
            loaded = self.course.by_id(submission.assignment_id) if submission else None
            user = db.get(User, submission.user_id) if submission else None
            if loaded is None or submission is None or user is None:  # the problem file is gone: it waits
                continue
            yield job, loaded, submission_task(submission, user.name, job.id)

    def _grade_group(self, problem_hash: str, group: Group) -> None:
        """Grade a group's jobs; when they are all handed to the workers, claim more, and
        hand on those of the same problem file (the workers never wait for a batch to end)."""
        setup = self.setups.setup_for(problem_hash, group.spec)
        jobs_by_key: dict[str, Job] = {}
        started: dict[int, float] = {}

        def chunks() -> Iterator[list[SubmissionTask]]:
            items = group.items
            while items:
                for job, task in items:
                    if self._stop.is_set():
                        return
                    jobs_by_key[task.key] = job
                    started[job.id] = time.monotonic()
                    yield [task]
                if self._claimed or self._sync_due():  # another problem file's jobs wait, or an edit may
                    return
                self._claim()
                items = self._claimed.pop(problem_hash, Group(group.spec, [])).items

        for chunk in self.executor.grade(setup, chunks()):
            for graded in chunk:
                # let go of each job once written: a rush may keep this loop going for hours
                job = jobs_by_key.pop(graded.task.key)
                self._finish(job, graded, problem_hash, time.monotonic() - started.pop(job.id))

    def _finish(self, job: Job, graded: Graded, problem_hash: str, seconds: float) -> None:
        report = graded.whole_report()
        report.folder = None
        report.student = graded.task.folder
        with self.db.session() as db:
            report = hand_graded_report(db, self.course, job.submission_id, report)  # TAs' grades kept
            pickled = dumps(report)  # before the write lock is taken: a request may be waiting for it
            if not queue.mark_done(db, job.id, self.owner, seconds):
                log.warning("job %d was taken back from this worker; its verdict is not written", job.id)
                db.rollback()
                self.in_hand.discard(job.id)
                return
            db.add(
                VerdictRow(
                    submission_id=job.submission_id,
                    job_id=job.id,
                    problem_hash=problem_hash,
                    score=report.score,
                    max_score=report.max_score,
                    report=pickled,
                )
            )
        self.in_hand.discard(job.id)
        if not graded.failed:
            # One store row per submission (not per job): the verdicts are what is shared.
            keyed = replace(graded, task=replace(graded.task, key=f"service/{job.submission_id}"))
            self.store.save([(keyed, graded.task.digest, problem_hash, {})])
        self.on_graded(job.submission_id, seconds, graded.failed)
        self._checkpoint()
