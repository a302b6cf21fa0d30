"""Grading workers: a thread that takes jobs from the queue and grades them with the
batch's executors (the local worker pool, or Dask), through the shared verdict
store, so an answer given by many students is decided once.

Each job is a :class:`grader.batch.worker.SubmissionTask` whose files travel with
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
from grader.batch.blobs import dumps
from grader.batch.worker import Graded, SubmissionTask
from grader.service import metrics, queue
from grader.service.course import CourseState
from grader.service.db import Database, Job, Submission, User, VerdictRow
from grader.service.executing import WorkerSetups, make_executor, one_task
from grader.service.hand import hand_graded_report
from grader.service.settings import Settings
from grader.spec import ProblemSet

log = logging.getLogger("grader.service")

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
    ``on_graded(seconds, failed)`` is told of each verdict (the metrics)."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        course: CourseState,
        on_graded: Callable[[float, bool], None] = metrics.graded,
        on_ready: Callable[[], None] | None = None,
    ):
        self.settings = settings
        self.db = db
        self.course = course
        self.on_graded = on_graded
        self.on_ready = on_ready
        self.ready = threading.Event()  # workers started and warmed up
        self.owner = f"{uuid.uuid4().hex[:12]}"
        self.executor = make_executor(settings)
        self.setups = WorkerSetups(settings)
        self.store = VerdictStore(settings.store_path)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.in_hand: set[int] = set()

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
        if self._thread is not None:
            self._thread.join(grace)
        with self.db.session() as db:
            back = queue.release(db, self.owner)
        if back:
            log.info("shutdown: %d job(s) in hand put back in the queue", back)
        self.executor.close()
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
        last_sync = 0.0
        while not self._stop.is_set():
            try:
                if time.monotonic() - last_sync > self.settings.reload_seconds:
                    self.course.sync()
                    last_sync = time.monotonic()
                if not self.work_once():
                    self._stop.wait(self.settings.poll_seconds)
            except Exception:  # a database hiccup must not end grading for good
                log.exception("grading loop error; retrying")
                self._stop.wait(1.0)

    def work_once(self) -> bool:
        """Claim a batch of jobs and grade it; False when the queue was empty."""
        with self.db.session() as db:
            jobs = queue.claim(db, self.owner, self.settings.batch_size)
            if not jobs:
                return False
            self.in_hand = {job.id for job in jobs}
            groups = self._groups(db, jobs)
        try:
            for problem_hash, group in groups.items():
                self._grade_group(problem_hash, group)
        finally:
            if self.in_hand:  # stopped or failed mid-way: another worker takes them
                with self.db.session() as db:
                    queue.release(db, self.owner, sorted(self.in_hand))
                self.in_hand = set()
        return True

    def _groups(self, db: Session, jobs: list[Job]) -> dict[str, Group]:
        """The claimed jobs by the problem file they are graded with now."""
        groups: dict[str, Group] = {}
        for job in jobs:
            submission = db.get(Submission, job.submission_id)
            loaded = self.course.by_id(submission.assignment_id) if submission else None
            user = db.get(User, submission.user_id) if submission else None
            if loaded is None or submission is None or user is None:  # the problem file is gone: it waits
                continue
            groups.setdefault(loaded.problem_hash, Group(loaded.spec, []))
            groups[loaded.problem_hash].items.append((job, submission_task(submission, user.name, job.id)))
        return groups

    def _grade_group(self, problem_hash: str, group: Group) -> None:
        items = group.items
        setup = self.setups.setup_for(problem_hash, group.spec)
        jobs_by_key = {task.key: job for job, task in items}
        started = {job.id: time.monotonic() for job, _ in items}

        def chunks() -> Iterator[list[SubmissionTask]]:
            for _job, task in items:
                if self._stop.is_set():
                    return
                yield [task]

        for chunk in self.executor.grade(setup, chunks()):
            for graded in chunk:
                job = jobs_by_key[graded.task.key]
                self._finish(job, graded, problem_hash, time.monotonic() - started[job.id])

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
        self.on_graded(seconds, graded.failed)
