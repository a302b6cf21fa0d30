"""One student's answers as read from disk, before grading."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Submission:
    student: str
    folder: str
    answers: dict[str, Any] = field(default_factory=dict)
    source: str | None = None
    # The answers file could not be read at all: one clear error row for the student.
    load_error: str | None = None
    warnings: list[str] = field(default_factory=list)
