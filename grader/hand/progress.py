"""How far the TAs are with an assignment: for each part, the answers that wait for a TA (every
answer of a part graded by hand; an automatic verdict a TA must decide, ``manual`` or ``error``)
and those graded; automatic parts say how many of their verdicts a TA overrode, never "graded
by hand"."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from grader.core.report import Report
from grader.core.verdict import Status
from grader.spec import ProblemSet
from grader.types import ANSWER_TYPES

WAITING = (Status.MANUAL, Status.ERROR)  # verdicts a TA decides


@dataclass
class PartProgress:
    address: str
    type: str
    points: float
    automatic: bool  # its answers are graded by grader; a TA only overrides
    answers: int = 0  # counted versions that answer it
    to_grade: int = 0  # answers that need a TA: all of a part graded by hand, else the undecided
    graded: int = 0  # of those, graded by a TA and not flagged to review
    overridden: int = 0  # automatic verdicts a TA replaced
    review: int = 0  # TA grades flagged to review (the answer changed since)

    @property
    def done(self) -> bool:
        return self.graded >= self.to_grade


@dataclass
class AssignmentProgress:
    parts: list[PartProgress]

    @property
    def to_grade(self) -> int:
        return sum(p.to_grade for p in self.parts)

    @property
    def graded(self) -> int:
        return sum(min(p.graded, p.to_grade) for p in self.parts)

    @property
    def review(self) -> int:
        return sum(p.review for p in self.parts)

    def part(self, address: str) -> PartProgress | None:
        return next((p for p in self.parts if p.address == address), None)


def assignment_progress(spec: ProblemSet, reports: Iterable[Report]) -> AssignmentProgress:
    """Each part's progress over the counted versions' reports."""
    parts = {
        address: PartProgress(address, part.type, part.points, automatic(part.type))
        for address, _, part in spec.iter_parts()
    }
    for result in (result for report in reports for result in report.parts if result.id in parts):
        progress, hand, missing = parts[result.id], result.hand, result.status is Status.MISSING
        progress.answers += not missing or hand is not None
        progress.to_grade += (
            hand is not None or result.status in WAITING or not (progress.automatic or missing)
        )
        if hand is not None:
            progress.review += hand.to_review
            progress.graded += not hand.to_review
            progress.overridden += hand.auto_status is not None
    return AssignmentProgress(list(parts.values()))


def automatic(type_name: str) -> bool:
    """Whether grader grades the type's answers (a TA only overrides), not a TA."""
    answer_type = ANSWER_TYPES.get(type_name)
    return answer_type.auto_graded if answer_type is not None else True
