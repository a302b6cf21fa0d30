"""Importing this module loads every answer type's checker and what its checks import on first
use (numpy, sympy, python-flint): a process forked after it starts with them. The fork server
of a Dask worker's check processes imports it (grader.batch.cluster_worker), as a local pool's
workers are forked from a command that has loaded its problem set's checkers.
"""

from grader.engine import load_checker
from grader.types import ANSWER_TYPES

for _type in ANSWER_TYPES:
    load_checker(_type)
