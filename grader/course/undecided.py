"""Parts left in ``error`` for want of an optional dependency (PyTorch not installed): the
grading loop looks every ``GRADER_DEPENDENCY_SECONDS`` (60) at which of them this machine can
import, and regrades the submissions that waited for one gained (:mod:`grader.service.crud.regrades`)."""

from __future__ import annotations

import importlib
import importlib.util
import os
import re

from grader.core.report import Report
from grader.core.verdict import Status

# What a check says when a dependency is missing (grader.types.code: checker and compare)
MISSING = re.compile(r"needs (?P<what>[\w.-]+), which (?:is not installed|the runner cannot import)")
MODULES = {"pytorch": "torch"}  # the names those messages use for a module, when not its own
WATCHED = ("torch",)  # the optional dependencies a shipped problem may need


def look_seconds() -> float:
    return float(os.environ.get("GRADER_DEPENDENCY_SECONDS") or 60.0)


def importable() -> frozenset[str]:
    """The watched modules this process can import now (installed since start included)."""
    importlib.invalidate_caches()
    return frozenset(module for module in WATCHED if importlib.util.find_spec(module) is not None)


def waiting_for(report: Report) -> set[str]:
    """The modules the report's ``error`` parts were left undecided for."""
    needed = set()
    for part in report.parts:
        if part.status == Status.ERROR:
            for found in MISSING.finditer(part.feedback or ""):
                needed.add(MODULES.get(found["what"].lower(), found["what"].lower()))
    return needed
