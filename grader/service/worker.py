"""The grading loop (a thread of ``grader serve``, or ``grader serve --worker`` processes): claims
queued jobs under a lease and grades them through the verdict store (docs/service.md, "Processes")."""

from __future__ import annotations

import logging
import os
import signal
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence

from sqlalchemy.orm import Session, sessionmaker

from grader.batch import VerdictStore
from grader.batch.reading import SubmissionTask
from grader.batch.worker import Graded
from grader.core import allocator, memtrace
from grader.core.plainjson import UNREADABLE
from grader.core.report import Report
from grader.course import undecided
from grader.service import metrics
from grader.service.blobs import dumps
from grader.service.course import CourseState
from grader.service.crud import queue, regrades
from grader.service.crud.hand_grades import has_hand_grades, in_force, with_hand_grades
from grader.service.crud.rubric import audit_file_edit
from grader.service.db import Database, lock_students, migrate
from grader.service.executing import WorkerSetups, make_executor, one_task
from grader.service.models import Job, Submission, VerdictRow
from grader.service.settings import Settings
from grader.service.similarity_results import Refresher
from grader.spec import ProblemSet

log = logging.getLogger("grader.service")

CHECKPOINT_SECONDS = 2.0
WARM_ASSIGNMENTS = 2  # a standing pool keeps the setups of two problem files
LEASE_SECONDS = 60.0  # a job whose worker has not renewed its lease this long goes back
BEAT_SECONDS = 2.0  # how often a worker renews its leases and looks for lost jobs


def _place() -> str:
    """This machine's name and its PID namespace: two containers on one host name (or one
    network) each see their own process ids, so a pid is checked only in its own namespace."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:  # no /proc: the host name alone
        return socket.gethostname()[:40]
    return f"{socket.gethostname()[:28]}~{namespace}"


HOST = _place()
# Listens to a database's sessions (LTI queues a score with each verdict written)
DatabaseHook = Callable[[sessionmaker[Session]], None]
Author = tuple[int, int]  # a submission's (assignment id, student's user id)
# a problem file's jobs, claimed, each with its sheet and author
Claimed = tuple[ProblemSet, list[tuple[Job, SubmissionTask, Author]]]


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")


def new_owner() -> str:
    return f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_gone(owner: str) -> bool:
    """``owner`` is a worker of this machine and PID namespace whose process no longer runs (any
    other owner's jobs come back only when its lease lapses)."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != HOST or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process: it runs
        pass
    return False


class GradingWorkers:
    """The loop that grades queued jobs on a thread of its own, and keeps the course in step with
    its folder. ``on_graded(submission_id, seconds, failed)`` is told of each verdict committed;
    :attr:`trouble` says why the loop cannot make progress (a full disk), None while it can."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        course: CourseState,
        on_graded: Callable[[int, float, bool], None] | None = None,
    ):
        self.settings = settings
        self.db = db
        self.course = course
        self.on_graded = on_graded or (lambda _, seconds, failed: metrics.graded(seconds, failed))
        self.ready = threading.Event()  # workers started and warmed up
        self.owner = new_owner()
        self.executor = make_executor(settings)
        self.setups = WorkerSetups(settings)
        self.store = VerdictStore(settings.store_path)
        self.trouble: str | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()  # jobs were queued, or stop: look now
        self._thread: threading.Thread | None = None
        self._beat: threading.Thread | None = None
        self._similarity = Refresher(self.db, self.course)  # the TAs' similar sheets
        self.in_hand: set[int] = set()
        self._claimed: dict[str, Claimed] = {}  # by problem file, claimed while grading another
        self._synced_at = 0.0  # when the course folder was last read
        self._checkpointed_at = time.monotonic()
        self._importable: frozenset[str] = frozenset()  # optional dependencies seen importable
        self._looked_at = -float("inf")  # when they were last looked for

    def nudge(self) -> None:
        self._wake.set()

    def _checkpoint(self) -> None:
        """SQLite's log copied back here, outside any write, never by a request (it syncs the file)."""
        if time.monotonic() - self._checkpointed_at > CHECKPOINT_SECONDS:
            self._checkpointed_at = time.monotonic()
            try:
                self.db.checkpoint()
            except Exception as error:  # a full disk: the log grows; claims and verdicts go on
                log.warning("checkpointing the database's log failed: %s", error)

    def _sync_due(self) -> bool:
        return time.monotonic() - self._synced_at > self.settings.reload_seconds

    def start(self) -> None:
        with self.db.session() as db:
            self._requeue_lost(db)
        self._thread = threading.Thread(target=self._run, name="grader-worker", daemon=True)
        self._thread.start()
        self._beat = threading.Thread(target=self._leases, name="grader-worker-lease", daemon=True)
        self._beat.start()
        self._similarity.start()

    def _requeue_lost(self, db: Session) -> None:
        if back := queue.requeue_lost(db, self.owner, LEASE_SECONDS, owner_gone):
            log.info("re-queued %d job(s) left in hand by a worker that is gone", back)

    def _leases(self) -> None:
        while not self._stop.wait(BEAT_SECONDS):
            try:
                with self.db.session() as db:  # one short write: a hand-in waits for it on SQLite
                    queue.renew(db, self.owner)
                    self._requeue_lost(db)
            except Exception as error:  # the database is down or full: the loop reports it
                log.warning("renewing the leases failed: %s", error)

    def stop(self, grace: float = 30.0) -> None:
        """Stop taking jobs, let the chunk in hand finish for up to ``grace`` seconds, and put back
        what is unfinished (a chunk running past it is stopped: what it would write is refused)."""
        self._stop.set()
        self._wake.set()
        self._similarity.stop()
        if self._thread is not None:
            self._thread.join(grace)
        try:
            with self.db.session() as db:
                back = queue.release(db, self.owner)
            if back:
                log.info("shutdown: %d job(s) in hand put back in the queue", back)
        except Exception:  # the lease runs out: another worker takes them then
            log.exception("the jobs in hand could not be put back")
        self.executor.close(wait=0.0 if self._thread is not None and self._thread.is_alive() else None)
        if self._thread is not None:
            self._thread.join(grace)
        if self._beat is not None:
            self._beat.join()
        self.store.close()

    def _warm_up(self) -> None:
        """Grade a blank sheet of the newest assignments (as many as a standing pool keeps): the
        workers start and import their checkers now, not at the first hand-ins of a rush."""
        newest = sorted(self.course.all(), key=lambda loaded: loaded.id)[-WARM_ASSIGNMENTS:]
        for loaded in newest:
            if self._stop.is_set():
                return
            setup = self.setups.setup_for(loaded.problem_hash, loaded.spec)
            try:
                list(self.executor.grade(setup, [[one_task("warm-up", "answers.yaml", b"answers: {}\n")]]))
            except Exception:  # grading will say what is wrong
                log.exception("warming up the workers for %s failed", loaded.name)

    def _run(self) -> None:
        self._warm_up()
        self.ready.set()
        while not self._stop.is_set():
            try:
                if self._sync_due():
                    self.course.sync()
                    self._synced_at = time.monotonic()
                self._wake.clear()  # a nudge from now on is seen by the wait below
                self._checkpoint()
                self._look_for_dependencies()
                found = self.work_once()
                self.trouble = None
                if not found:
                    self._wake.wait(self.settings.poll_seconds)
            except Exception as error:  # a database hiccup (or a full disk) must not end grading
                self.trouble = trouble_of(error)
                log.exception("grading loop error; retrying")
                self._stop.wait(1.0)

    def _look_for_dependencies(self) -> None:
        """Regrade the parts left undecided for want of a dependency this machine now has."""
        if time.monotonic() - self._looked_at < undecided.look_seconds():
            return
        self._looked_at = time.monotonic()
        now = undecided.importable()
        gained = now - self._importable
        if gained:
            with self.db.session() as db:
                queued = regrades.requeue_undecided(db, gained)
            if queued:
                log.info(
                    "%s importable: %d submission(s) queued for a regrade",
                    ", ".join(sorted(gained)),
                    len(queued),
                )
        self._importable = now

    def work_once(self) -> bool:
        """Grade jobs, claiming more as the workers free up, until the queue is empty; False when
        it was empty to begin with."""
        if self.in_hand:  # a round that failed could not put them back: now
            self._release()
        self._claim()
        try:
            found = bool(self._claimed)  # jobs whose problem file is gone wait, put back below
            while self._claimed and not self._stop.is_set():
                problem_hash = next(iter(self._claimed))
                self._grade_group(problem_hash, *self._claimed.pop(problem_hash))
            return found
        finally:
            self._claimed.clear()
            if self.in_hand:  # stopped or failed mid-way: another worker takes them
                self._release()

    def _release(self) -> None:
        # kept in hand (and tried again) when the database refuses
        with self.db.session() as db:
            queue.release(db, self.owner, sorted(self.in_hand))
        self.in_hand = set()

    def _claim(self) -> None:
        with self.db.session() as db:
            jobs = queue.claim(db, self.owner, self.settings.batch_size)
            self.in_hand |= {job.id for job in jobs}
        if not jobs:
            return
        # After the claim: a regrade queued with another server's edit is graded with it.
        self.course.refresh()
        with self.db.read_one() as db:  # the sheets are read outside any write, in one statement
            sheets = queue.sheets_of(db, [job.submission_id for job in jobs])
        for job in jobs:
            sheet = sheets.get(job.submission_id)
            loaded = self.course.by_id(sheet.assignment_id) if sheet is not None else None
            if sheet is None or loaded is None:  # the problem file is gone: it waits
                continue
            task = one_task(sheet.name, sheet.filename, sheet.content, key=f"{sheet.id}#{job.id}")
            claimed = self._claimed.setdefault(loaded.problem_hash, (loaded.spec, []))
            claimed[1].append((job, task, (sheet.assignment_id, sheet.user_id)))

    def _grade_group(
        self, problem_hash: str, spec: ProblemSet, items: list[tuple[Job, SubmissionTask, Author]]
    ) -> None:
        """Grade a problem file's jobs; when all are handed to the workers, claim more, and hand on
        those of the same problem file (the workers never wait for a batch to end)."""
        setup = self.setups.setup_for(problem_hash, spec)
        jobs_by_key: dict[str, tuple[Job, Author]] = {}
        started: dict[int, float] = {}

        def chunks() -> Iterator[list[SubmissionTask]]:
            nonlocal items
            while items:
                for job, task, author in items:
                    if self._stop.is_set():
                        return
                    jobs_by_key[task.key] = job, author
                    started[job.id] = time.monotonic()
                    yield [task]
                if self._claimed or self._sync_due():  # another problem file's jobs wait, or an edit may
                    return
                self._claim()
                items = self._claimed.pop(problem_hash, (spec, []))[1]

        for chunk in self.executor.grade(setup, chunks()):
            for graded in chunk:
                # let go of each job once written: a rush may keep this loop going for hours
                job, author = jobs_by_key.pop(graded.task.key)
                self._finish(job, author, graded, problem_hash, time.monotonic() - started.pop(job.id))

    def _finish(self, job: Job, author: Author, graded: Graded, problem_hash: str, seconds: float) -> None:
        # The JSON is the pool worker's, made outside the transaction (on SQLite it holds the
        # write lock, which every hand-in waits for); made again only when TAs' grades apply.
        stored, score, max_score = stored_report(graded)
        shown = graded.student_view.encode() or None
        with self.db.session() as db:
            by_hand = hand_graded_report(db, self.course, author, job.submission_id, graded)
            if by_hand is not None:  # its student's view is made from it when read
                stored, score, max_score, shown = dumps(by_hand), by_hand.score, by_hand.max_score, None
            if not queue.mark_done(db, job.id, self.owner, seconds):
                log.warning("job %d was taken back from this worker; its verdict is not written", job.id)
                db.rollback()
                self.in_hand.discard(job.id)
                return
            db.add(  # through the ORM: LTI's hook queues the student's score with it
                VerdictRow(
                    submission_id=job.submission_id,
                    job_id=job.id,
                    problem_hash=problem_hash,
                    score=score,
                    max_score=max_score,
                    report=stored,
                    shown=shown,
                )
            )
        self.in_hand.discard(job.id)
        if not graded.failed:
            # The store keeps the parts' verdicts, shared by every sheet giving the same answer.
            try:
                self.store.save_verdicts([(*key, blob) for key, blob in graded.verdicts.items()])
            except sqlite3.Error as error:  # a full disk: the verdict is stored, only sharing waits
                log.warning("the verdict store could not keep %s's verdicts: %s", job.submission_id, error)
        self.on_graded(job.submission_id, seconds, graded.failed)
        self._checkpoint()


def trouble_of(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip().splitlines()
    reason = text[0] if text else type(error).__name__
    if "full" in reason.lower() or "no space" in reason.lower():
        return f"the database's disk is full: {reason}"
    return f"the database refuses the grading loop's writes: {reason}"


def run_worker(settings: Settings, hooks: Sequence[DatabaseHook] = (), grace: float = 30.0) -> None:
    """``grader serve --worker``: the grading loop alone, until SIGTERM or Ctrl-C. ``hooks`` go on
    its sessions before anything is written (LTI queues a score with each verdict)."""
    configure_logging()
    memtrace.start_if_asked("worker")
    migrate(settings.database_url)
    db = Database(settings.database_url, checkpoints=False, timeouts=settings.timeouts)
    for hook in hooks:  # before anything is written
        hook(db.sessions)
    course = CourseState(db, settings.course_dir, settings.course_name, audit_file_edit)
    course.sync(force=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    workers = GradingWorkers(settings, db, course)
    workers.start()
    allocator.start_trimming(stop)  # what its threads free, given back (as the server does)
    log.info("grading worker %s started", workers.owner)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        workers.stop(grace)
        db.dispose()


def stored_report(graded: Graded) -> tuple[bytes, float, float]:
    if graded.blobs is not None and graded.row is not None:
        return graded.blobs.report.encode("utf-8"), graded.row.score, graded.row.max_score
    report = graded.whole_report()  # a sheet whose worker failed: its report of why
    report.folder, report.student = None, graded.task.folder
    return dumps(report), report.score, report.max_score


def hand_graded_report(
    db: Session, course: CourseState, author: Author, submission_id: int, graded: Graded
) -> Report | None:
    """The report with the hand grades of the submission's ``author``, read under the lock a TA's
    write takes (:func:`lock_students`): a grade committed before this verdict is never left out
    of it. None when the student has no hand grade to apply."""
    assignment_id, student_id = author
    loaded = course.by_id(assignment_id)
    if loaded is None:
        return None
    lock_students(db, loaded.id, [student_id])
    if not has_hand_grades(db, loaded.id, student_id):  # most students: no row to read, no content
        return None
    submission = db.get(Submission, submission_id)
    if submission is None:
        return None
    try:
        report = graded.whole_report()
    except UNREADABLE as error:  # the worker's JSON not read back: kept as it came, and said
        log.error("the verdict of submission %d is kept without its TAs' grades: %s", submission_id, error)
        return None
    report.folder, report.student = None, graded.task.folder
    return with_hand_grades(db, in_force(db, loaded), submission, report)
