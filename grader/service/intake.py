"""What a student hands in (an answers file or a write-up, a file or JSON), read from memory by
the CLI's loader with the hostile-input limits of ``grader grade``; a file that cannot be read is
refused (422) with the line and caret ``grader check`` prints."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any

from grader.core.report import Report
from grader.core.submission import Submission
from grader.course.handed_in import read_handed_in
from grader.reporting.check import CheckResult, render_check
from grader.service.errors import ApiError

# Upload suffix -> the file name it is graded under.
CANONICAL_NAMES = {
    ".yaml": "answers.yaml",
    ".yml": "answers.yaml",
    ".json": "answers.json",
    ".tex": "main.tex",
    ".md": "answers.md",
    ".ipynb": "answers.ipynb",
}


def canonical_name(filename: str) -> str:
    suffix = PurePosixPath(filename or "").suffix.lower()
    if suffix not in CANONICAL_NAMES:
        kinds = ", ".join(sorted(CANONICAL_NAMES))
        raise ApiError(
            422, f"a {suffix or 'file without suffix'} file cannot be graded; send one of: {kinds}"
        )
    return CANONICAL_NAMES[suffix]


def answers_as_file(answers: Any) -> tuple[str, bytes]:
    """JSON ``{"answers": {...}}`` as the answers.json it stands for."""
    if not isinstance(answers, dict):
        raise ApiError(422, "'answers' must be a mapping from part id to answer")
    return "answers.json", json.dumps({"answers": answers}, ensure_ascii=False).encode("utf-8")


def answers_text_file(text: str) -> tuple[str, bytes]:
    return "answers.yaml", text.replace("\r\n", "\n").encode("utf-8")


def read_upload(filename: str, content: bytes, student: str, assignment: str) -> Submission:
    """The submission as grader reads it; 422 with the CLI's caret when it cannot be read."""
    submission = read_handed_in(filename, content, student)
    if submission.load_error:
        raise unreadable(submission, assignment)
    return submission


def unreadable(submission: Submission, assignment: str) -> ApiError:
    """The 422 for a file that cannot be read, with the caret under its line."""
    where = submission.error_position
    report = Report(assignment, submission.student, [], error=submission.load_error, error_position=where)
    folder = str(Path(submission.folder)) + "/"
    return ApiError(
        422,
        f"the file cannot be read: {(submission.load_error or '').replace(folder, '')}",
        line=where.line if where else None,
        column=where.column if where else None,
        detail=render_check(CheckResult(report, [])).replace(folder, ""),
    )
