"""Grading a class: many submission folders, in parallel, resumable, regrading only what changed.

:func:`run_batch` plans the class (:mod:`.plan`), reuses what the verdict store
holds (:mod:`.store`), grades the rest on an executor (:mod:`.executors`, whose
workers run :mod:`.worker`) and writes the results (:mod:`.output`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grader.batch.executors import Executor, InProcessExecutor, LocalExecutor
    from grader.batch.output import CHANGES, GRADEBOOK, ScoreChange
    from grader.batch.plan import has_submissions, submission_folders
    from grader.batch.runner import BatchOptions, BatchResult, grade_one_in_process, run_batch
    from grader.batch.store import STORE_FILE, VerdictStore, remove_store

# name -> the module of this package that defines it, imported when the name is first used:
# an unchanged re-run never starts a worker, so it never imports the executors (pebble).
_WHERE = {
    "Executor": "executors",
    "InProcessExecutor": "executors",
    "LocalExecutor": "executors",
    "CHANGES": "output",
    "GRADEBOOK": "output",
    "ScoreChange": "output",
    "has_submissions": "plan",
    "submission_folders": "plan",
    "BatchOptions": "runner",
    "BatchResult": "runner",
    "grade_one_in_process": "runner",
    "run_batch": "runner",
    "STORE_FILE": "store",
    "VerdictStore": "store",
    "remove_store": "store",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


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
