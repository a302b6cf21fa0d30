"""One running service: settings, database, course, grading workers, rate limits."""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from grader.service import metrics
from grader.service.checking import CheckRunner
from grader.service.course import CourseState
from grader.service.crud import queue
from grader.service.crud.rubric import audit_file_edit
from grader.service.crud.verdicts import verdicts_since
from grader.service.db import Database, migrate, private_folder
from grader.service.location import sqlite_path
from grader.service.settings import Settings
from grader.service.throttle import LoginThrottle
from grader.service.waiting import VerdictWaiters
from grader.service.worker import DatabaseHook, GradingWorkers

log = logging.getLogger("grader.service")

REFRESH_SECONDS = 0.5  # how often a --web-only server looks for assignments the workers changed
HASHING_THREADS = 2  # passwords checked at once


class RateLimiter:
    """At most ``limit`` requests per key in any ``window`` seconds (per process); keys with no
    request within the window are dropped, whatever is sent."""

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

    def _sweep(self, now: float) -> None:
        self._hits = defaultdict(
            deque, {key: hits for key, hits in self._hits.items() if hits and hits[-1] > now - self.window}
        )
        self._swept_at = now


class Companion(Protocol):
    """Background work that runs while the service does (LTI's grade passback)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class CourseRefresh:
    """A ``--web-only`` server's view of the assignments, kept in step with the database, where
    the ``--worker`` processes write what they read from the course folder."""

    def __init__(self, course: CourseState, seconds: float):
        self.course = course
        self.seconds = seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()
        self.trouble: str | None = None

    def start(self) -> None:
        self.ready.set()
        self._thread = threading.Thread(target=self._run, name="grader-course-refresh", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.seconds):
            try:
                self.course.refresh()
                self.course.check_folder()
            except Exception:  # a database hiccup: the next round tries again
                log.exception("the course could not be refreshed from the database")

    def nudge(self) -> None:
        """The workers elsewhere find the job at their next poll."""

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


class Service:
    """The web side's state; with ``settings.grading`` the grading loop runs as a thread of this
    process, sharing its database and course (``--web-only``: in ``--worker`` processes). ``hooks``
    go on the database's sessions before anything is written (the course's sync may move a due)."""

    def __init__(self, settings: Settings, start_workers: bool = True, hooks: Sequence[DatabaseHook] = ()):
        self.settings = settings
        sqlite = [sqlite_path(settings.course_dir)] if settings.db_url is None else []
        private_folder(settings.data_dir, [*sqlite, settings.store_path])
        migrate(settings.database_url)
        # the grading loop checkpoints SQLite's log, outside any write; without one, commits do
        self.db = Database(
            settings.database_url,
            checkpoints=not (start_workers and settings.grading),
            timeouts=settings.timeouts,
        )
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
        self.verdicts = VerdictWaiters(self._verdicts_since)  # the long polls, woken by each verdict
        self.grading: GradingWorkers | CourseRefresh
        if settings.grading and start_workers:  # a command's service (no workers) makes no pool
            self.grading = GradingWorkers(settings, self.db, self.course, on_graded=self._graded)
        else:
            self.grading = CourseRefresh(self.course, REFRESH_SECONDS)
        self.companions: list[Companion] = []  # started and stopped with the grading
        self.queue_counts = queue.CountsLook(lambda: self.db.session(read_only=True), settings.counts_seconds)
        self.start_workers = start_workers
        self.started = time.time()

    def hook_database(self, hook: DatabaseHook) -> None:
        hook(self.db.sessions)

    def grading_trouble(self) -> str | None:
        return self.grading.trouble

    def _verdicts_since(self, last: int | None) -> tuple[int, list[int]]:
        with self.db.read() as db:
            return verdicts_since(db, last)

    def start(self) -> None:
        if self.start_workers:
            self.grading.start()
            for companion in self.companions:
                companion.start()
        self.verdicts.start()

    def _graded(self, submission_id: int, seconds: float, failed: bool) -> None:
        metrics.graded(seconds, failed)
        self.verdicts.graded(submission_id)

    def job_counts(self) -> queue.QueueCounts:
        return self.queue_counts.now()

    def jobs_queued(self) -> None:
        """Called after a commit that queued jobs: the grading loop claims them at once."""
        if self.start_workers:
            self.grading.nudge()

    def stop(self) -> None:
        self.verdicts.stop()
        if self.start_workers:
            self.grading.stop()
        for companion in self.companions:
            companion.stop()
        self.checks.close()
        self.hashing.shutdown(wait=False, cancel_futures=True)
        self.db.dispose()
