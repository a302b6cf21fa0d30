"""Grading a class: many submission folders, in parallel, resumable, regrading only what changed.

:func:`run_batch` plans the class (:mod:`.plan`), reuses what the verdict store
holds (:mod:`.store`), grades the rest on an executor (:mod:`.executors`, whose
workers run :mod:`.worker`) and writes the results (:mod:`.output`).
"""

from grader.batch.executors import Executor, InProcessExecutor, LocalExecutor
from grader.batch.output import CHANGES, GRADEBOOK, ScoreChange
from grader.batch.plan import has_submissions, submission_folders
from grader.batch.runner import BatchOptions, BatchResult, grade_one_in_process, run_batch
from grader.batch.store import STORE_FILE, VerdictStore, remove_store

__all__ = [
    "CHANGES",
    "GRADEBOOK",
    "STORE_FILE",
    "BatchOptions",
    "BatchResult",
    "Executor",
    "InProcessExecutor",
    "LocalExecutor",
    "ScoreChange",
    "VerdictStore",
    "grade_one_in_process",
    "has_submissions",
    "remove_store",
    "run_batch",
    "submission_folders",
]
