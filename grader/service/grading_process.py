"""The grading loop in a process of its own, so that the server's interpreter serves
requests only: receiving workers' results, writing verdict rows and the verdict store
no longer hold the lock a request thread waits for.

The server starts one :class:`GradingProcess`; the child builds its own database
connections, course state and worker pool, and runs :class:`GradingWorkers` until it is
told to stop (the server's shutdown) or until its parent is gone (a server killed with
SIGKILL: the jobs in hand go back to the queue, so the next server grades them); SIGTERM
and SIGINT are the server's to act on. If the child dies, the server starts another one.
Each verdict's grading time travels back to the server's Prometheus metrics over a queue.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.context
import os
import queue as queue_module
import signal
import threading
import time
from typing import Any

from grader.service import metrics
from grader.service.course import CourseState
from grader.service.db import Database
from grader.service.settings import Settings
from grader.service.workers import GradingWorkers

log = logging.getLogger("grader.service")

LOOP_NICENESS = 5  # the loop's own work (verdict rows, the store) yields to requests
PARENT_CHECK_SECONDS = 0.5
RESTART_PAUSE_SECONDS = 2.0  # after the child died, before another is started


def _context() -> multiprocessing.context.SpawnContext:
    # spawn, not fork: the server has threads (uvicorn's, the pool's) that a fork would copy
    return multiprocessing.get_context("spawn")


class GradingProcess:
    """Starts, watches and stops the grading child; the server's side of it."""

    def __init__(self, settings: Settings, grace: float = 30.0):
        self.settings = settings
        self.grace = grace
        context = _context()
        self._stop = context.Event()
        self._graded: multiprocessing.Queue[tuple[float, bool]] = context.Queue()
        self._process: multiprocessing.context.SpawnProcess | None = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="grader-grading-watch", daemon=True)
        self._watcher.start()

    def _spawn(self) -> None:
        process = _context().Process(
            target=run_grading_loop,
            args=(self.settings, self._stop, self._graded, os.getpid(), self.grace),
            name="grader-grading",
        )
        process.start()
        self._process = process
        metrics.GRADING_PROCESS_STARTS.inc()
        log.info("grading process %d started", process.pid)

    def _watch(self) -> None:
        """Feeds the metrics and starts a new child when one dies while the server runs."""
        while not self._stopping.is_set():
            self._drain(timeout=0.5)
            process = self._process
            if process is not None and not process.is_alive() and not self._stopping.is_set():
                log.error(
                    "grading process %d ended (exit code %s); starting another in %.0f s",
                    process.pid,
                    process.exitcode,
                    RESTART_PAUSE_SECONDS,
                )
                if self._stopping.wait(RESTART_PAUSE_SECONDS):
                    return
                self._spawn()

    def _drain(self, timeout: float) -> None:
        try:
            seconds, failed = self._graded.get(timeout=timeout)
        except queue_module.Empty:
            return
        metrics.graded(seconds, failed)
        while True:
            try:
                seconds, failed = self._graded.get_nowait()
            except queue_module.Empty:
                return
            metrics.graded(seconds, failed)

    def stop(self) -> None:
        """Tell the child to stop: it lets the chunk in hand finish (up to the grace time)
        and puts back what is unfinished; past that, it is ended."""
        self._stopping.set()
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join()
        process = self._process
        if process is None:
            return
        deadline = time.monotonic() + self.grace + 10
        while process.is_alive() and time.monotonic() < deadline:
            self._drain(timeout=0.1)
            process.join(0.1)
        if process.is_alive():
            log.error("grading process %d did not stop in time; ending it", process.pid)
            process.terminate()
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join()
        self._drain(timeout=0)
        self._graded.close()


def run_grading_loop(
    settings: Settings,
    stop: Any,
    graded: multiprocessing.Queue[tuple[float, bool]],
    parent_pid: int,
    grace: float,
) -> None:
    """The child: grade until told to stop or orphaned."""
    from grader.service.server import configure_logging  # the server's module imports this one

    configure_logging()
    # Ctrl-C and systemd's SIGTERM reach the whole process group: the server, which gets them
    # too, decides when this process stops (a handler here could not touch ``stop``, whose
    # lock the interrupted wait may hold).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.nice(LOOP_NICENESS)
    graded.cancel_join_thread()  # never wait at exit for a server that no longer reads

    def report(seconds: float, failed: bool) -> None:
        graded.put((seconds, failed))

    db = Database(settings.database_url)
    course = CourseState(db, settings.course_dir, settings.course_name)
    course.sync(force=True)
    workers = GradingWorkers(settings, db, course, on_graded=report)
    workers.start()
    try:
        while not stop.wait(PARENT_CHECK_SECONDS):
            if os.getppid() != parent_pid:
                log.warning("the server (process %d) is gone; putting back the jobs in hand", parent_pid)
                break
    finally:
        workers.stop(grace)
        db.dispose()
