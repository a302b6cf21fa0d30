"""The grading loop in a process of its own, so that the server's interpreter serves
requests only: receiving workers' results, writing verdict rows and the verdict store
no longer hold the lock a request thread waits for.

The server starts one :class:`GradingProcess`; the child builds its own database
connections, course state and worker pool, and runs :class:`GradingWorkers` until it is
told to stop (the server's shutdown) or until its parent is gone (a server killed with
SIGKILL: the jobs in hand go back to the queue, so the next server grades them); SIGTERM
and SIGINT are the server's to act on. If the child dies, the server starts another one.
Each verdict's submission and grading time travel back to the server over a pipe, once the
verdict is committed: for its Prometheus metrics, and to wake the requests waiting for it
(the long poll, :mod:`grader.service.waiting`).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import multiprocessing.connection
import multiprocessing.context
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection

from sqlalchemy.orm import Session, sessionmaker

from grader.core import memtrace
from grader.service import grading_child, metrics
from grader.service.course import CourseState
from grader.service.db import Database, database_timeouts
from grader.service.settings import Settings
from grader.service.workers import GradingWorkers

log = logging.getLogger("grader.service")

PARENT_CHECK_SECONDS = 0.5
STOP_MARGIN_SECONDS = 10.0  # past the grace: putting back the jobs, closing the store
# A pool worker ignores SIGTERM (executors.install_niced): pebble stops one still grading past
# the grace with SIGKILL after this long, one worker after another.
WORKER_KILL_SECONDS = 3.0
RESTART_PAUSE_SECONDS = 2.0  # after the child died, before another is started
READY = "ready"  # the child's message once its workers are warmed up
# Listens to a database's sessions (LTI queues a score with each verdict written): a
# module-level function, so that it reaches the grading process by name
DatabaseHook = Callable[[sessionmaker[Session]], None]


def _context() -> multiprocessing.context.SpawnContext:
    # spawn, not fork: the server has threads (uvicorn's, the pool's) that a fork would copy
    return multiprocessing.get_context("spawn")


@dataclass
class _Child:
    """One grading process and its two pipes. Pipes, not a shared Event or Queue: a child
    killed while holding such an object's lock would leave it held for good."""

    process: multiprocessing.context.SpawnProcess
    control: Connection  # the server writes "stop"; closed when the server dies
    graded: Connection  # (submission id, seconds, failed) of each committed verdict, from the child
    nudges: Connection  # a byte for "jobs were queued", written raw and never blocking
    graded_open: bool = True


class GradingProcess:
    """Starts, watches and stops the grading child; the server's side of it."""

    def __init__(
        self,
        settings: Settings,
        grace: float = 30.0,
        on_verdict: Callable[[int], None] | None = None,
        hooks: Sequence[DatabaseHook] = (),
    ):
        self.settings = settings
        self.grace = grace
        self.on_verdict = on_verdict  # told each graded submission's id (from the watcher thread)
        self.hooks = hooks  # run on the child's sessionmaker (module-level functions: sent by name)
        self._child: _Child | None = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self.ready = threading.Event()  # the grading process has its workers warmed up

    @property
    def pid(self) -> int | None:
        return self._child.process.pid if self._child is not None else None

    def start(self) -> None:
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="grader-grading-watch", daemon=True)
        self._watcher.start()

    def _spawn(self) -> None:
        context = _context()
        control_reader, control_writer = context.Pipe(duplex=False)
        graded_reader, graded_writer = context.Pipe(duplex=False)
        nudge_reader, nudge_writer = context.Pipe(duplex=False)
        process = context.Process(
            target=grading_child.main,  # niced first, then run_grading_loop
            args=(
                self.settings,
                control_reader,
                graded_writer,
                nudge_reader,
                os.getpid(),
                self.grace,
                tuple(self.hooks),
            ),
            name="grader-grading",
        )
        process.start()
        for childs_end in (control_reader, graded_writer, nudge_reader):  # only the child holds them now
            childs_end.close()
        os.set_blocking(nudge_writer.fileno(), False)  # a request never waits on a full pipe
        self._child = _Child(process, control_writer, graded_reader, nudge_writer)
        metrics.GRADING_PROCESS_STARTS.inc()
        log.info("grading process %d started", process.pid)

    def _watch(self) -> None:
        """Feeds the metrics and starts a new child when one dies while the server runs."""
        while not self._stopping.is_set():
            child = self._child
            if child is None:
                return
            self._drain(child, timeout=0.5)
            if child.process.is_alive() or self._stopping.is_set():
                continue
            self._drain(child, timeout=0)
            log.error(
                "grading process %d ended (exit code %s); starting another in %.0f s",
                child.process.pid,
                child.process.exitcode,
                RESTART_PAUSE_SECONDS,
            )
            self._close_pipes(child)
            self.ready.clear()
            if self._stopping.wait(RESTART_PAUSE_SECONDS):
                return
            self._spawn()

    def _drain(self, child: _Child, timeout: float) -> None:
        """Count the verdicts the child reported and pass them on; waits up to ``timeout`` for
        a first one."""
        if not child.graded_open:
            time.sleep(timeout)
            return
        try:
            waiting = child.graded.poll(timeout)
            while waiting:
                message = child.graded.recv()
                if message == READY:
                    self.ready.set()
                else:
                    submission_id, seconds, failed = message
                    metrics.graded(seconds, failed)
                    if self.on_verdict is not None:
                        self.on_verdict(submission_id)
                waiting = child.graded.poll(0)
        except (EOFError, OSError):  # the child is gone
            child.graded_open = False

    def stop(self) -> None:
        """Tell the child to stop: it lets the chunk in hand finish (up to the grace time)
        and puts back what is unfinished; past that, it is ended."""
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join()
        child = self._child
        if child is None:
            return
        with contextlib.suppress(OSError):  # already gone
            child.control.send("stop")
        process = child.process
        deadline = time.monotonic() + self.grace + STOP_MARGIN_SECONDS
        deadline += WORKER_KILL_SECONDS * self.settings.workers
        while process.is_alive() and time.monotonic() < deadline:
            self._drain(child, timeout=0.1)
            process.join(0.1)
        if process.is_alive():
            log.error("grading process %d did not stop in time; ending it", process.pid)
            process.terminate()
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join()
        self._drain(child, timeout=0)
        self._close_pipes(child)

    def nudge(self) -> None:
        """Jobs were queued: one byte down the nudge pipe wakes the child's loop. A full pipe
        (the child is busy) already holds a nudge; a child that is gone has none to read."""
        child = self._child
        if child is None:
            return
        with contextlib.suppress(OSError):  # BlockingIOError (full), BrokenPipeError (gone), closed
            os.write(child.nudges.fileno(), b"!")

    @staticmethod
    def _close_pipes(child: _Child) -> None:
        for pipe in (child.control, child.graded, child.nudges):
            pipe.close()


def run_grading_loop(
    settings: Settings,
    control: Connection,
    graded: Connection,
    nudges: Connection,
    parent_pid: int,
    grace: float,
    hooks: Sequence[DatabaseHook] = (),
) -> None:
    """The child: grade until the server says stop, or is gone (its end of ``control``
    closes with it; the parent check covers a server whose pipe outlives it)."""
    from grader.service.server import configure_logging  # the server's module imports this one

    configure_logging()
    memtrace.start_if_asked("grading")
    # Ctrl-C and systemd's SIGTERM reach the whole process group: the server, which gets them
    # too, decides when this process stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def tell(message: object) -> None:
        with contextlib.suppress(OSError):  # a server that is gone reads no metrics
            graded.send(message)

    # checkpoints outside any write (GradingWorkers.checkpoint), not inside a commit that holds
    # the writers' turn while it syncs the file to disk
    db = Database(settings.database_url, checkpoints=False, timeouts=database_timeouts(settings))
    for hook in hooks:  # before anything is written (the course's sync may move a due)
        hook(db.sessions)
    course = CourseState(db, settings.course_dir, settings.course_name)
    course.sync(force=True)
    workers = GradingWorkers(
        settings,
        db,
        course,
        on_graded=lambda submission_id, seconds, failed: tell((submission_id, seconds, failed)),
        on_ready=lambda: tell(READY),
        checkpoints=True,
    )
    workers.start()
    gc.collect()  # the course, the setups, the imports: out of the collector's sight for good
    gc.freeze()
    try:
        if not _told_to_stop(control, nudges, workers, parent_pid):
            log.warning("the server (process %d) is gone; putting back the jobs in hand", parent_pid)
    finally:
        workers.stop(grace)
        db.dispose()
        graded.close()


def _told_to_stop(control: Connection, nudges: Connection, workers: GradingWorkers, parent_pid: int) -> bool:
    """Pass the server's nudges on to the workers until the server says stop (True) or is
    gone (False)."""
    watched: list[Connection] = [control, nudges]
    while control not in multiprocessing.connection.wait(watched, PARENT_CHECK_SECONDS):
        if nudges in watched and nudges.poll(0):
            if os.read(nudges.fileno(), 4096):
                workers.nudge()
            else:  # the server closed its end
                watched.remove(nudges)
        if os.getppid() != parent_pid:
            return False
    try:
        control.recv()
    except (EOFError, OSError):
        return False
    return True
