"""What the fork server of a Dask worker's check processes imports before its first fork
(:mod:`grader.batch.cluster_worker`): grader's worker, every answer type's checker and the
modules its checks import on first use (numpy, sympy, python-flint). Each run's check
processes then start with them, as a local pool's start with the problem set's checkers
(forked from the command that loaded them), instead of each importing them again: about a
CPU second a process, in every run.
"""

from __future__ import annotations

import grader.batch.worker  # noqa: F401  (the pool's task and initializer)
from grader.engine import load_checker
from grader.types import ANSWER_TYPES

for _type in ANSWER_TYPES:
    load_checker(_type)
