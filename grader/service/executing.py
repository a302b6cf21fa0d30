"""Where the service grades: a standing local pool, in-process, or a Dask cluster; the worker
setup of each problem-file version; a submission as the task a batch would ship."""

from __future__ import annotations

import functools
import hashlib
import multiprocessing
import os
import threading

from grader.batch import InProcessExecutor
from grader.batch.cluster import executor_for
from grader.batch.executors import Executor, LocalExecutor
from grader.batch.reading import SubmissionTask
from grader.batch.store import code_version
from grader.batch.worker import WorkerSetup
from grader.core.integrity import draw_secret
from grader.course.variant_key import course_variant_key
from grader.reading import Entry
from grader.service.settings import Settings
from grader.spec import ProblemSet
from grader.versions import limits_in_force, verdict_version

WORKER_NICENESS = 10  # grading yields the CPU to the server's requests
# Sheets a pool worker grades before a fresh one takes its place (0: never): its caches and what
# its allocator keeps are given back every few minutes of a rush, so that the workers stay the
# size of a fresh one all term, for a worker's start per this many.
WORKER_SHEETS = "GRADER_WORKER_SHEETS"
DEFAULT_WORKER_SHEETS = 500


def make_executor(settings: Settings, nice: int = WORKER_NICENESS) -> Executor:
    if settings.executor:
        return executor_for(settings.executor, max(settings.workers, 1))
    if settings.workers == 0:
        return InProcessExecutor()
    sheets = os.environ.get(WORKER_SHEETS, "").strip() or str(DEFAULT_WORKER_SHEETS)
    if not sheets.isdigit():
        raise ValueError(f"{WORKER_SHEETS} must be a whole number of sheets (0: never), not {sheets!r}")
    # forked from a single-threaded fork server with grader's checking code loaded: the
    # server's own threads (HTTP, grading loop) are never forked
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["grader.batch.worker", "grader.batch.executors", __name__])
    # a standing pool: the workers of the two problem files graded last are kept, prepared
    return LocalExecutor(settings.workers, context, int(sheets), nice=nice, keep=2)


def one_task(folder: str, filename: str, content: bytes, key: str | None = None) -> SubmissionTask:
    """A submission of one file, shipped as a batch ships a folder; ``folder``: the student,
    whose variant of a parameterised set grades it."""
    files = (Entry(filename, size=len(content), data=content),)
    digest = hashlib.sha256(content).hexdigest()
    return SubmissionTask(key or folder, folder, "submission", digest, files=files, variant_of=folder)


class WorkerSetups:
    """The worker setup of each problem-file version, the same object each time: a standing
    pool's workers prepared it once."""

    KEPT = 16  # old versions of edited problem files are dropped beyond this

    def __init__(self, settings: Settings):
        # keyed as a batch keys its verdicts: the deciding code and the GRADER_MAX_* limits in force
        limits = limits_in_force()
        self._new = functools.partial(
            WorkerSetup,
            show_expected=False,
            version=verdict_version(code_version(deciding_only=True), limits),
            rendering=code_version(),
            store=str(settings.store_path),
            limits=limits,
            draw_secret=draw_secret(),  # each answer's code trials: a seed no student sees
            variant_key=course_variant_key(),  # each student's variant of a parameterised set
            for_pages=True,  # the pages are made from the report: no files, the plots kept
        )
        self._setups: dict[str, WorkerSetup] = {}  # by problem-file hash
        self._lock = threading.Lock()

    def setup_for(self, problem_hash: str, spec: ProblemSet) -> WorkerSetup:
        with self._lock:
            setup = self._setups.get(problem_hash)
            if setup is None:
                setup = self._new(spec)
                if len(self._setups) >= self.KEPT:
                    self._setups.pop(next(iter(self._setups)))
                self._setups[problem_hash] = setup
            return setup
