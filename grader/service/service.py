"""One running service: settings, database, course, grading workers, rate limits."""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from grader.service import metrics, queue
from grader.service.checking import CheckRunner
from grader.service.course import CourseState
from grader.service.db import Database, database_timeouts, migrate, private_folder
from grader.service.grading_loop import DatabaseHook
from grader.service.grading_process import GradingProcess
from grader.service.hand.rubric import audit_file_edit
from grader.service.intake import UploadReader
from grader.service.settings import Settings
from grader.service.throttle import LoginThrottle
from grader.service.waiting import VerdictWaiters
from grader.service.workers import GradingWorkers

log = logging.getLogger("grader.service")

REFRESH_SECONDS = 0.5  # how often the server looks for assignments the grading process changed


HASHING_THREADS = 2  # passwords checked at once


class RateLimiter:
    """At most ``limit`` requests per key in any ``window`` seconds (per process). Keys whose
    requests are all older than the window are dropped, so what it holds is bounded by the
    keys seen within one window, whatever is sent."""

    def __init__(self, limit: int, window: float):
        self.limit = limit
        self.window = window
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._swept_at = time.monotonic()

    def retry_after(self, key: str) -> float | None:
        """None when the request may go on (and is counted); else seconds to wait."""
        now = time.monotonic()
        with self._lock:
            if now - self._swept_at > self.window:
                self._sweep(now)
            hits = self._hits[key]
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(hits[0] + self.window - now, 0.0)
            hits.append(now)
            return None

    def forget(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)

    def waiting(self, key: str) -> float | None:
        """What :meth:`retry_after` would say, without counting a request."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits.get(key)
            recent = [hit for hit in hits or () if hit > now - self.window]
            return max(recent[0] + self.window - now, 0.0) if len(recent) >= self.limit else None

    def _sweep(self, now: float) -> None:
        self._hits = defaultdict(
            deque, {key: hits for key, hits in self._hits.items() if hits and hits[-1] > now - self.window}
        )
        self._swept_at = now


class Grading(Protocol):
    """The grading loop, in a process of its own or in a thread."""

    ready: threading.Event  # its workers started and warmed up

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def nudge(self) -> None:
        """Jobs were queued: look now, not at the next poll."""


class Companion(Protocol):
    """Background work that runs while the service does (LTI's grade passback)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class CourseRefresh:
    """Keeps the server's view of the assignments in step with the database, where the
    grading process writes what it reads from the course folder, and its list of the folder's
    files not in force (for /ta and /healthz)."""

    def __init__(self, course: CourseState, seconds: float):
        self.course = course
        self.seconds = seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="grader-course-refresh", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.seconds):
            try:
                self.course.refresh()
                self.course.check_folder()
            except Exception:  # a database hiccup: the next round tries again
                log.exception("the course could not be refreshed from the database")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


class Service:
    """With grading workers (``--workers N`` or ``--executor``), the grading loop runs in a
    process of its own (:mod:`grader.service.grading_process`); with ``--workers 0`` it is a
    thread of the server that grades in-process."""

    def __init__(self, settings: Settings, start_workers: bool = True, hooks: Sequence[DatabaseHook] = ()):
        """``hooks`` go on the database's sessions before anything is written (the course's
        sync may move a due), and on the grading process's (see :meth:`hook_database`)."""
        self.settings = settings
        sqlite = [settings.data_dir / "grader.sqlite3"] if settings.db_url is None else []
        private_folder(settings.data_dir, [*sqlite, settings.store_path])
        migrate(settings.database_url)
        in_process = settings.workers == 0 and not settings.executor
        # with a grading process, that process's commits checkpoint the log, not requests'
        self.db = Database(
            settings.database_url,
            checkpoints=in_process or not start_workers,
            timeouts=database_timeouts(settings),
        )
        self.database_hooks: list[DatabaseHook] = []  # on every process's database that writes
        for hook in hooks:
            self.hook_database(hook)
        self.course = CourseState(self.db, settings.course_dir, settings.course_name, audit_file_edit)
        self.course.sync(force=True)
        self.limiter = RateLimiter(settings.rate_limit, settings.rate_window)
        self.logins = LoginThrottle()
        # Passwords are checked here, a few at a time, never in a request thread: a burst of
        # log-ins (argon2 takes tens of milliseconds of CPU each) leaves the requests served.
        self.hashing = ThreadPoolExecutor(HASHING_THREADS, thread_name_prefix="grader-password")
        self.checks = CheckRunner(settings)
        self.verdicts = VerdictWaiters()  # the long polls, woken by each verdict
        self.uploads = UploadReader()  # reads hand-ins off the server's interpreter once started
        self.grading: Grading
        self.companions: list[Companion] = []  # started and stopped with the grading
        if in_process:
            self.grading = GradingWorkers(settings, self.db, self.course, on_graded=self._graded)
        else:
            self.grading = GradingProcess(
                settings, on_verdict=self.verdicts.graded, hooks=self.database_hooks
            )
            self.companions.append(CourseRefresh(self.course, REFRESH_SECONDS))
        self.queue_counts = queue.CountsLook(lambda: self.db.session(read_only=True), settings.counts_seconds)
        self.start_workers = start_workers
        self.started = time.time()

    def hook_database(self, hook: DatabaseHook) -> None:
        """Run ``hook`` on the server's sessions now, and on the grading process's when it
        starts: verdicts are written there. A hook given twice runs once."""
        if hook in self.database_hooks:
            return
        hook(self.db.sessions)
        self.database_hooks.append(hook)

    def start(self) -> None:
        if self.start_workers:
            self.uploads.start()
            self.grading.start()
            for companion in self.companions:
                companion.start()

    def _graded(self, submission_id: int, seconds: float, failed: bool) -> None:
        metrics.graded(seconds, failed)
        self.verdicts.graded(submission_id)

    def job_counts(self) -> queue.QueueCounts:
        """The queue's counts, as /healthz, /queue, /metrics and /ta all show them (one look)."""
        return self.queue_counts.now()

    def jobs_queued(self) -> None:
        """Called after a commit that queued jobs: the grading loop claims them at once."""
        if self.start_workers:
            self.grading.nudge()

    def stop(self) -> None:
        self.uploads.stop()
        self.grading.stop()
        for companion in self.companions:
            companion.stop()
        self.checks.close()
        self.hashing.shutdown(wait=False, cancel_futures=True)
        self.db.dispose()
