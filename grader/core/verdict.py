"""What a checker says about one answer: a status, a score fraction and feedback.

Checkers return a :class:`Verdict` whose ``score`` is a fraction of the part's
points (0..1). The engine turns it into a :class:`grader.core.report.PartResult`
with points, ids and context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


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


class AnswerError(Exception):
    """An answer (or a part of it) cannot be read: the checker turns it into ``invalid``.

    ``position`` is a character offset into ``text`` when known, so the report can
    draw a caret under the offending character.
    """

    def __init__(self, message: str, text: str | None = None, position: int | None = None):
        super().__init__(message)
        self.message = message
        self.text = text
        self.position = position

    def render(self) -> str:
        if self.text is None or self.position is None:
            return self.message
        return f"{self.message}\n{caret_excerpt(self.text, self.position)}"


class CheckUndecided(Exception):
    """The checker cannot decide with confidence: reported as status ``error`` with why."""


def caret_excerpt(text: str, position: int, width: int = 72) -> str:
    """The line of ``text`` holding ``position``, with a caret under that character."""
    position = max(0, min(position, len(text)))
    line_start = text.rfind("\n", 0, position) + 1
    line_end = text.find("\n", position)
    if line_end == -1:
        line_end = len(text)
    line = text[line_start:line_end]
    column = position - line_start
    if len(line) > width:  # keep the caret visible in a long answer
        start = max(0, min(column - width // 2, len(line) - width))
        line = ("…" if start > 0 else "") + line[start : start + width]
        column = column - start + (1 if start > 0 else 0)
    return f"    {line}\n    {' ' * column}^"
