"""Parts a server could not decide for want of a dependency (PyTorch not installed), graded
again once it is there. The grading loop looks at start and every :data:`LOOK_SECONDS` which
optional dependencies this machine can import; when one it waited for is importable, each
submission whose newest verdict has a part in ``error`` for want of it is queued for a regrade,
with an audit row, in one transaction. A TA may also regrade a whole assignment
(:func:`grader.service.crud.regrades.regrade_assignment`, from /ta). The queries are in
:mod:`grader.service.crud.regrades`; this module reads what a report waits for."""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
from collections.abc import Iterable

from grader.core.report import Report
from grader.core.verdict import Status

LOOK_SECONDS = 60.0  # GRADER_DEPENDENCY_SECONDS sets another
# What a check says when a dependency is missing (grader.types.code: checker and compare)
MISSING = re.compile(r"needs (?P<what>[\w.-]+), which (?:is not installed|the runner cannot import)")
# The names those messages use, and the module each stands for (others: the name itself)
MODULES = {"pytorch": "torch"}
WATCHED = ("torch",)  # the optional dependencies a shipped problem may need


def look_seconds() -> float:
    return float(os.environ.get("GRADER_DEPENDENCY_SECONDS") or LOOK_SECONDS)


def module_of(name: str) -> str:
    return MODULES.get(name.lower(), name.lower())


def importable(modules: Iterable[str] = WATCHED) -> frozenset[str]:
    """The ``modules`` this process can import now (installed since start included)."""
    importlib.invalidate_caches()
    return frozenset(module for module in modules if importlib.util.find_spec(module) is not None)


def waiting_for(report: Report) -> set[str]:
    """The modules the report's ``error`` parts were left undecided for."""
    needed = set()
    for part in report.parts:
        if part.status == Status.ERROR:
            needed |= {module_of(found["what"]) for found in MISSING.finditer(part.feedback or "")}
    return needed
