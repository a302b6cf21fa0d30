"""The graded result of one submission (contract section 7)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from grader.core.plotdata import PlotData
from grader.core.submission import SourcePosition
from grader.core.verdict import Decision, Reading, Status, Witness

# The statuses whose verdict says how it was decided (its certificate).
DECIDED = frozenset({Status.CORRECT, Status.PARTIAL, Status.INCORRECT})


@dataclass(frozen=True)
class RubricMark:
    """A rubric item a TA applied to an answer, with its points as the problem file now says."""

    id: str
    points: float
    text: str = ""


@dataclass(frozen=True)
class HandMark:
    """A TA's grade of one part (a proof graded by hand, or an override of an automatic
    verdict), as it applies to the answer in this report."""

    by: str
    points: float
    comment: str = ""
    rubric: tuple[RubricMark, ...] = ()
    reason: str | None = None  # why an automatic verdict is overridden
    at: str | None = None  # when it was given (ISO 8601), when known
    auto_status: Status | None = None  # the automatic verdict an override replaces
    auto_score: float | None = None
    auto_feedback: str = ""
    answer: str | None = None  # digest of the answer it now applies to (for pinning)
    # The part's result before the TA's grade (a text part's "manual" too), to take it back.
    base_status: Status | None = None
    base_score: float = 0.0
    base_feedback: str = ""
    stale: bool = False  # the student's answer changed since it was graded: to review
    auto_changed: bool = False  # the automatic verdict under the override changed: to review

    @property
    def overrides(self) -> bool:
        return self.auto_status is not None

    @property
    def to_review(self) -> bool:
        """The answer, or the automatic verdict under an override, changed since it was given."""
        return self.stale or self.auto_changed

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"by": self.by, "points": points_value(self.points)}
        if self.comment:
            data["comment"] = self.comment
        if self.rubric:
            data["rubric"] = [
                {"id": item.id, "points": points_value(item.points), "text": item.text}
                for item in self.rubric
            ]
        if self.reason:
            data["reason"] = self.reason
        if self.at:
            data["at"] = self.at
        if self.auto_status is not None:
            data["overrides"] = {
                "status": self.auto_status.value,
                "score": points_value(self.auto_score or 0),
            }
        if self.stale:
            data["stale"] = True
        if self.auto_changed:
            data["auto_changed"] = True
        return data


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
    machine: bool = False  # an error of this machine's (no sandbox, a library missing): Verdict.machine
    visible: bool = False  # the TA shows this part's verdict to students before the deadline
    hand: HandMark | None = None  # graded (or overridden) by a TA
    outputs: Mapping[str, Any] | None = None  # the verdict's ``outputs``: for TAs' groups, never in to_dict
    # The marks of the steps of the answer's derivations (a hand-graded part), computed when it
    # was graded: in a TA's report always, in a student's only where the part says ``steps: visible``.
    steps: tuple[Mapping[str, Any], ...] = ()
    steps_visible: bool = False

    @property
    def auto_status(self) -> Status:
        """The automatic verdict's status, under a TA's override if there is one."""
        if self.hand is not None and self.hand.auto_status is not None:
            return self.hand.auto_status
        return self.status

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
        if self.decision is not None and self.status in DECIDED:
            data["certificate"] = self.decision.to_dict(private=show_expected)
        if show_expected and self.expected is not None:
            data["expected"] = self.expected
        if self.pending:
            data["pending"] = points_value(self.pending)
        if self.hand is not None:
            data["hand"] = self.hand.to_dict()
        if self.steps and (show_expected or self.steps_visible):
            data["steps"] = [_step_chain(chain) for chain in self.steps]
        return data


def _step_chain(chain: Mapping[str, Any]) -> dict[str, Any]:
    """A chain of step marks as ``grader steps --format json`` prints it."""
    keys = ("from", "to", "relation", "status", "certificate", "witness")
    return {"line": chain.get("line"), "steps": [{k: s.get(k) for k in keys} for s in chain.get("steps", ())]}


@dataclass(frozen=True)
class HandIn:
    """The version of a student's work that counts, when it was handed in, and what the
    course's late policy takes off for it (set by the service when it exports or scores it)."""

    version: int
    handed_in: str  # ISO 8601, UTC
    late_seconds: float  # after the due in force for the student (0: on time)
    penalty: float = 0.0  # points taken off the points given
    rule: str = ""  # the late policy in words: "10% of the points a day late, down to 50% at least"

    def describe(self) -> str:
        """``version 2 counts, handed in 26.5 h late: 2 points off (10% ...)``, as a TA reads it."""
        if self.late_seconds <= 0:
            return f"version {self.version} counts, handed in on time"
        late = f"version {self.version} counts, handed in {shown_points(self.late_seconds / 3600)} h late"
        if not self.rule:
            return late + " (no late penalty)"
        return late + f": {shown_points(self.penalty)} points off ({self.rule})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "handed_in": self.handed_in,
            "late": self.late_seconds > 0,
            "late_seconds": self.late_seconds,
            "penalty": self.penalty,
            "rule": self.rule,
        }


@dataclass
class Report:
    assignment: str
    student: str
    parts: list[PartResult]
    warnings: list[str] = field(default_factory=list)
    folder: str | None = None
    notes: list[str] = field(default_factory=list)  # information, not a problem: the write-up read
    # The answers file could not be read: every part is reported invalid, with this reason.
    error: str | None = None
    # Where each answer and the unreadable spot were written (for CI annotations; not in the JSON).
    positions: dict[str, SourcePosition] = field(default_factory=dict)
    error_position: SourcePosition | None = None
    warning_positions: dict[str, SourcePosition] = field(default_factory=dict)  # by warning text
    hand_in: HandIn | None = None  # the counted version and its late penalty (the service's exports)
    variant: str | None = None  # the id of the student's variant (``a=3,b=1/2``) of a parameterised set
    # A PDF hand-in: each part's pages (not in the JSON).
    pages: dict[str, list[int]] = field(default_factory=dict)

    @property
    def points_given(self) -> float:
        """The points of the parts, before any late penalty."""
        return round(sum(p.score for p in self.parts), 6)

    @property
    def score(self) -> float:
        """The points given less the late penalty: what a gradebook records."""
        penalty = self.hand_in.penalty if self.hand_in is not None else 0.0
        return round(self.points_given - penalty, 6)

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
        if self.hand_in is not None:
            data["points_given"] = points_value(self.points_given)
            data["hand_in"] = self.hand_in.to_dict()
        if self.warnings:
            data["warnings"] = list(self.warnings)
        if self.notes:
            data["notes"] = list(self.notes)
        if self.error:
            data["error"] = self.error
        if self.variant is not None:
            data["variant"] = self.variant
        return data


def points_value(value: float) -> int | float:
    """7.0 -> 7 and 2.5 -> 2.5, as a gradebook shows points."""
    rounded = round(value, 6)
    return int(rounded) if rounded == int(rounded) else rounded


def shown_points(value: float) -> str:
    """Points as people read them, at most 2 decimals: 7.0 -> ``7``, 2/3 -> ``0.67`` (JSON keeps
    :func:`points_value`'s exact figure)."""
    return str(points_value(round(value, 2)))
