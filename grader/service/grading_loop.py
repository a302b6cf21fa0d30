"""The grading process's loop: its own database connections, course state and worker pool,
grading until the server says stop or is gone (:mod:`grader.service.grading_process` starts it
and watches it; :mod:`grader.service.grading_child` is its entry point)."""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing.connection
import os
import signal
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection

from sqlalchemy.orm import Session, sessionmaker

from grader.core import memtrace
from grader.service.course import CourseState
from grader.service.db import Database, database_timeouts
from grader.service.hand.rubric import audit_file_edit
from grader.service.logs import configure_logging
from grader.service.settings import Settings
from grader.service.similarity import start_refreshing as start_similarity_refresher
from grader.service.workers import GradingWorkers

log = logging.getLogger("grader.service")

PARENT_CHECK_SECONDS = 0.5
READY = "ready"  # the child's message once its workers are warmed up
# Listens to a database's sessions (LTI queues a score with each verdict written): a
# module-level function, so that it reaches the grading process by name
DatabaseHook = Callable[[sessionmaker[Session]], None]


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
    course = CourseState(db, settings.course_dir, settings.course_name, audit_file_edit)
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
    start_similarity_refresher(db, course)  # the TAs' similar sheets, after each deadline (issue 63)
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
