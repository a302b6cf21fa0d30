"""What the fork server of a Dask worker's check processes imports before its first fork
(grader.batch.fork_server): grader's checking code, every answer type's checker (a fresh
interpreter spends about 1.3 s of CPU time importing them) and the worker's main module, so
that every check process starts with them loaded."""

from __future__ import annotations

# Loaded for the check processes (the names are not used here).
import grader.batch.executors
import grader.batch.worker  # noqa: F401
from grader.batch.fork_server import load_main_module
from grader.engine import load_checker
from grader.types import ANSWER_TYPES

for _name in ANSWER_TYPES:
    load_checker(_name)
load_main_module()
