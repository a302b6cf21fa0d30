"""Every report format, in one list: its name, the module and class that render it, and
whether the service offers it as a class export. grader.reporting.reporters builds
``REPORTERS`` from it, the CLI reads ``--format``'s names from it at start-up without
importing a reporter, and the service its exports: a new format is its reporter class and
one line here."""

from __future__ import annotations

import importlib
from typing import Any

_HERE = "grader.reporting"
# name -> (module, reporter class, offered by the service's class export)
FORMATS: dict[str, tuple[str, str, bool]] = {
    "csv": (f"{_HERE}.reporters", "CsvReporter", True),
    "canvas": (f"{_HERE}.lms", "CanvasReporter", True),
    "moodle": (f"{_HERE}.lms", "MoodleReporter", True),
    "junit": (f"{_HERE}.junit", "JunitReporter", True),
    "gradescope": (f"{_HERE}.gradescope", "GradescopeReporter", False),  # results.json: no gradebook
    "json": (f"{_HERE}.reporters", "JsonReporter", True),
    "markdown": (f"{_HERE}.reporters", "MarkdownReporter", True),
    "table": (f"{_HERE}.reporters", "TableReporter", False),
    "github": (f"{_HERE}.github", "GithubReporter", False),
    "html": (f"{_HERE}.dashboard", "HtmlReporter", False),
}
FORMAT_NAMES = tuple(sorted(FORMATS))  # --format's choices
# Every format's report is one a student may read (a CI job's log and annotations, Gradescope's
# results, the files a batch writes for each student): it withholds the key
# (grader.reporting.withhold) unless a TA asks for it with --show-expected. A class rendered in
# these formats is a TA's alone, with every detail: the class dashboard.
TA_ONLY_BATCHES = ("html",)
EXPORT_FORMATS = tuple(name for name, (_, _, export) in FORMATS.items() if export)


def reporter_of(name: str) -> Any:
    """A new reporter of the format ``name``."""
    module, kind, _ = FORMATS[name]
    return getattr(importlib.import_module(module), kind)()
