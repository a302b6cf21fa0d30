"""Where the service's grading runs: the executor (a standing local pool, in-process, or a
Dask cluster), the worker setup of each problem-file version, and a submission as the
task a batch would ship."""

from __future__ import annotations

import hashlib
import multiprocessing
import multiprocessing.context
import os
import threading

from grader.batch import InProcessExecutor
from grader.batch.cluster import executor_for
from grader.batch.executors import Executor, StandingExecutor
from grader.batch.integrity import draw_secret
from grader.batch.limits import limits_in_force, verdict_version
from grader.batch.reading import ShippedFile, SubmissionTask
from grader.batch.store import code_version
from grader.batch.worker import WorkerSetup
from grader.service.settings import Settings
from grader.service.variant_key import course_variant_key
from grader.spec import ProblemSet

WORKER_NICENESS = 10  # grading yields the CPU to the server's requests
# Sheets a pool worker grades before it exits and a fresh one takes its place (GRADER_WORKER_SHEETS
# sets it; 0: never): a worker's caches (its verdicts, sympy's, the parsers') and what its
# allocator keeps are given back every few minutes of a rush, so that a server's workers stay
# the size of a fresh one's few hundred sheets all term. Costs a worker's start per this many.
WORKER_SHEETS = "GRADER_WORKER_SHEETS"
DEFAULT_WORKER_SHEETS = 500


def make_executor(settings: Settings, nice: int = WORKER_NICENESS) -> Executor:
    """Where the service grades: a standing local pool (its workers, and the problem set each
    has prepared, kept from one claimed batch to the next), in-process, or a cluster."""
    if settings.executor:
        return executor_for(settings.executor, max(settings.workers, 1))
    if settings.workers == 0:
        return InProcessExecutor()
    sheets = worker_sheets()
    return StandingExecutor(settings.workers, context=worker_context(), nice=nice, max_tasks=sheets)


def worker_sheets() -> int:
    """Sheets a pool worker grades before a fresh one takes its place (0: never)."""
    given = os.environ.get(WORKER_SHEETS, "").strip()
    if not given:
        return DEFAULT_WORKER_SHEETS
    if not given.isdigit():
        raise ValueError(f"{WORKER_SHEETS} must be a whole number of sheets (0: never), not {given!r}")
    return int(given)


def worker_context() -> multiprocessing.context.BaseContext:
    """Worker processes forked from a single-threaded fork server that has grader's checking
    code loaded: the server's own threads (HTTP, grading loop) are never forked."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["grader.batch.worker", "grader.batch.executors"])
    return context


def one_task(folder: str, filename: str, content: bytes, key: str | None = None) -> SubmissionTask:
    """A submission of one file, shipped to the worker as a batch ships a folder; ``folder``
    is the signed-in student's name, whose variant of a parameterised set grades it."""
    files = (ShippedFile(filename, content, len(content)),)
    digest = hashlib.sha256(content).hexdigest()
    return SubmissionTask(key or folder, folder, "submission", digest, files=files, variant_of=folder)


class WorkerSetups:
    """The worker setup of each problem-file version; the same object each time, so that a
    standing pool's workers, which prepared it once, grade with it again."""

    KEPT = 16  # old versions of edited problem files are dropped beyond this

    def __init__(self, settings: Settings):
        self.store = str(settings.store_path)
        # As a batch keys its verdicts, and as a Dask worker checks it: the deciding code and the
        # GRADER_MAX_* limits this server grades under (shipped to every worker with the setup).
        self.limits = limits_in_force()
        self.version = verdict_version(code_version(deciding_only=True), self.limits)
        self.rendering = code_version()
        self.draw_secret = draw_secret()  # each answer's code trials: a seed no student sees
        self.variant_key = course_variant_key()  # each student's variant of a parameterised set
        self._setups: dict[str, WorkerSetup] = {}  # by problem-file hash
        self._lock = threading.Lock()

    def setup_for(self, problem_hash: str, spec: ProblemSet) -> WorkerSetup:
        with self._lock:
            setup = self._setups.get(problem_hash)
            if setup is None:
                setup = WorkerSetup(
                    spec,
                    False,
                    self.version,
                    self.rendering,
                    store=self.store,
                    limits=self.limits,
                    draw_secret=self.draw_secret,
                    variant_key=self.variant_key,
                    keep_plots=True,  # the pages draw a wrong network in the page, not a side file
                    files=False,  # the pages are made from the report: no student's files
                )
                if len(self._setups) >= self.KEPT:
                    self._setups.pop(next(iter(self._setups)))
                self._setups[problem_hash] = setup
            return setup
