"""The grading process's entry point: it lowers its CPU priority before importing the
engine (a second of CPU at start-up that the server's first requests must not wait for)."""

from __future__ import annotations

import os
from typing import Any

LOOP_NICENESS = 5  # the loop's own work (verdict rows, the store) yields to requests


def main(*args: Any) -> None:
    os.nice(LOOP_NICENESS)
    from grader.service.grading_loop import run_grading_loop

    run_grading_loop(*args)
