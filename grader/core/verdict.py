"""What a checker says about one answer: a status, a score fraction and feedback.

Checkers return a :class:`Verdict` whose ``score`` is a fraction of the part's
points (0..1). The engine turns it into a :class:`grader.core.report.PartResult`
with points, ids and context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from grader.mathlang.errors import ReadError, caret_excerpt

__all__ = ["AnswerError", "CheckUndecided", "Status", "Verdict", "caret_excerpt"]


class Status(StrEnum):
    CORRECT = "correct"
    PARTIAL = "partial"
    INCORRECT = "incorrect"
    MISSING = "missing"
    INVALID = "invalid"
    MANUAL = "manual"
    ERROR = "error"

    def __str__(self) -> str:  # so f-strings and reports print "correct", not "Status.CORRECT"
        return self.value


@dataclass(frozen=True)
class Verdict:
    status: Status
    score: float = 0.0
    feedback: str = ""
    # Free-form details a reporter may show (witness points, method used, plot data).
    details: dict[str, object] = field(default_factory=dict)

    @classmethod
    def correct(cls, feedback: str = "", **details: object) -> Verdict:
        return cls(Status.CORRECT, 1.0, feedback, dict(details))

    @classmethod
    def incorrect(cls, feedback: str, **details: object) -> Verdict:
        return cls(Status.INCORRECT, 0.0, feedback, dict(details))

    @classmethod
    def partial(cls, score: float, feedback: str, **details: object) -> Verdict:
        if score >= 1.0:
            return cls(Status.CORRECT, 1.0, feedback, dict(details))
        if score <= 0.0:
            return cls(Status.INCORRECT, 0.0, feedback, dict(details))
        return cls(Status.PARTIAL, score, feedback, dict(details))

    @classmethod
    def invalid(cls, feedback: str, **details: object) -> Verdict:
        return cls(Status.INVALID, 0.0, feedback, dict(details))

    @classmethod
    def error(cls, feedback: str, **details: object) -> Verdict:
        return cls(Status.ERROR, 0.0, feedback, dict(details))

    @classmethod
    def manual(cls, feedback: str = "graded by hand", **details: object) -> Verdict:
        return cls(Status.MANUAL, 0.0, feedback, dict(details))

    @classmethod
    def missing(cls) -> Verdict:
        return cls(Status.MISSING, 0.0, "no answer given")


# Every unreadable answer is one class, whether a formula or a list failed to read.
# It is defined by the math language, which may import nothing else of grader.
AnswerError = ReadError


class CheckUndecided(Exception):
    """The checker cannot decide with confidence: reported as status ``error`` with why."""
