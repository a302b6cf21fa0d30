"""The graded result of one submission (contract section 7)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from grader.core.plotdata import PlotData
from grader.core.submission import SourcePosition
from grader.core.verdict import Decision, Reading, Status, Witness


@dataclass
class PartResult:
    id: str
    status: Status
    score: float
    max_score: float
    feedback: str = ""
    type: str = ""
    prompt: str | None = None
    received: str | None = None
    expected: str | None = None
    note: str | None = None
    decision: Decision | None = None
    witness: Witness | None = None
    reading: Reading | None = None
    plot: PlotData | None = None  # the checker's plot data (a wrong network), drawn by reporters
    plot_file: str | None = None  # the file the picture was written to, next to the reports
    mistake: bool = False
    visible: bool = False  # the TA shows this part's verdict to students before the deadline

    @property
    def pending(self) -> float:
        """Points that wait for a TA (manual parts)."""
        return self.max_score if self.status is Status.MANUAL else 0.0

    def to_dict(self, show_expected: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "status": self.status.value,
            "score": points_value(self.score),
            "max_score": points_value(self.max_score),
            "feedback": self.feedback,
        }
        if self.received is not None:
            data["received"] = self.received
        if show_expected and self.expected is not None:
            data["expected"] = self.expected
        if self.pending:
            data["pending"] = points_value(self.pending)
        return data


@dataclass
class Report:
    assignment: str
    student: str
    parts: list[PartResult]
    warnings: list[str] = field(default_factory=list)
    folder: str | None = None
    # The answers file could not be read: every part is reported invalid, with this reason.
    error: str | None = None
    # Where each answer and the unreadable spot were written (for CI annotations; not in the JSON).
    positions: dict[str, SourcePosition] = field(default_factory=dict)
    error_position: SourcePosition | None = None

    @property
    def score(self) -> float:
        return round(sum(p.score for p in self.parts), 6)

    @property
    def max_score(self) -> float:
        return round(sum(p.max_score for p in self.parts), 6)

    @property
    def pending(self) -> float:
        return round(sum(p.pending for p in self.parts), 6)

    def counts(self) -> dict[str, int]:
        counts = {status.value: 0 for status in Status}
        for part in self.parts:
            counts[part.status.value] += 1
        return counts

    def to_dict(self, show_expected: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "assignment": self.assignment,
            "student": self.student,
            "score": points_value(self.score),
            "max_score": points_value(self.max_score),
            "parts": [p.to_dict(show_expected) for p in self.parts],
        }
        if self.pending:
            data["pending"] = points_value(self.pending)
        if self.warnings:
            data["warnings"] = list(self.warnings)
        if self.error:
            data["error"] = self.error
        return data


def points_value(value: float) -> int | float:
    """7.0 -> 7 and 2.5 -> 2.5, as a gradebook shows points."""
    rounded = round(value, 6)
    return int(rounded) if rounded == int(rounded) else rounded
