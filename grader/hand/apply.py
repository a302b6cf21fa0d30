"""Hand grades applied to a report: a pure step after the automatic grading.

A hand grade replaces the part's points and status (by the share of the points
awarded) and carries the TA's comment, rubric items and, for an override, the
automatic verdict it replaced. It is applied even when the student's answer
changed since it was given (marked ``stale``, to review) or the automatic
verdict under an override changed (``auto_changed``): a grade is never dropped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from grader.core.digests import answer_digest
from grader.core.parts import PartBase
from grader.core.report import HandMark, PartResult, Report, RubricMark, points_value
from grader.core.submission import Submission
from grader.core.verdict import Status
from grader.engine import PartCheck, check_part, grade, is_auto_graded
from grader.hand.book import HandGrade, Pin
from grader.spec import ProblemSet

TA_GRADED = "graded by a TA"


def auto_pin(result: PartResult) -> str:
    """The automatic verdict of a part, as an override's ``auto`` pin: ``invalid 0``."""
    return f"{result.status.value} {points_value(result.score)}"


def hand_status(points: float, max_points: float) -> Status:
    if points >= max_points - 1e-9:
        return Status.CORRECT
    if points <= 1e-9:
        return Status.INCORRECT
    return Status.PARTIAL


def apply_hand_grades(
    report: Report,
    grades: Sequence[HandGrade],
    parts: Mapping[str, PartBase],
    answers: Mapping[str, str],
) -> Report:
    """``report`` with each of the student's hand grades applied to its part. ``answers``:
    each part's answer digest now (a part absent there has no readable answer)."""
    by_part = {grade.part: grade for grade in grades}
    for index, result in enumerate(report.parts):
        grade = by_part.get(result.id)
        part = parts.get(result.id)
        if grade is None or part is None:
            continue
        report.parts[index] = hand_graded(result, grade, part, answers.get(result.id))
    return report


def grade_with_hand(
    spec: ProblemSet, submission: Submission, grades: Sequence[HandGrade], check: PartCheck = check_part
) -> Report:
    """``grade(spec, submission)`` with the student's hand grades applied (the pure core of
    what a batch does with ``--hand``)."""
    report = grade(spec, submission, check)
    if grades:
        parts = {address: part for address, _, part in spec.iter_parts()}
        apply_hand_grades(report, grades, parts, answer_digests(spec, submission))
    return report


def answer_digests(spec: ProblemSet, submission: Submission) -> dict[str, str]:
    """Each part's answer digest, as the batch keys answers (none when the file is unreadable)."""
    if submission.load_error:
        return {}
    matched = submission.matched_to(address for address, _, _ in spec.iter_parts())
    digests = {}
    for address, _, _ in spec.iter_parts():
        digest = answer_digest(matched.answers.get(address))
        if digest is not None:
            digests[address] = digest
    return digests


def hand_graded(result: PartResult, grade: HandGrade, part: PartBase, answer: str | None) -> PartResult:
    points = min(grade.awarded(part), part.points)
    overrides = is_auto_graded(part)
    items = {item.id: item for item in part.rubric}
    mark = HandMark(
        by=grade.by,
        points=points,
        comment=grade.comment.strip(),
        rubric=tuple(RubricMark(i, items[i].points, items[i].text) for i in grade.rubric if i in items),
        reason=grade.reason,
        at=grade.at,
        auto_status=result.status if overrides else None,
        auto_score=result.score if overrides else None,
        auto_feedback=result.feedback if overrides else "",
        answer=answer,
        base_status=result.status,
        base_score=result.score,
        base_feedback=result.feedback,
        stale=grade.answer is not None and grade.answer != answer,
        auto_changed=overrides and grade.auto is not None and grade.auto != auto_pin(result),
    )
    return dataclasses.replace(
        result,
        status=hand_status(points, part.points),
        score=round(points, 6),
        feedback=mark.comment or TA_GRADED,
        hand=mark,
    )


def without_hand_grades(report: Report) -> Report:
    """``report`` as grader graded it, every TA's grade taken back off (to apply them anew)."""
    for index, result in enumerate(report.parts):
        mark = result.hand
        if mark is not None and mark.base_status is not None:
            report.parts[index] = dataclasses.replace(
                result, status=mark.base_status, score=mark.base_score, feedback=mark.base_feedback, hand=None
            )
    return report


def pins_needed(grades: Sequence[HandGrade], reports: Sequence[Report]) -> list[Pin]:
    """Entries not yet pinned whose student was graded now: the answer (and automatic
    verdict) each applies to, to write into the file."""
    results = {(r.folder, p.id): p for r in reports for p in r.parts if p.hand is not None}
    pins = []
    for index, entry in enumerate(grades):
        result = results.get((entry.student, entry.part))
        if result is None or result.hand is None:
            continue
        mark = result.hand
        answer = mark.answer if entry.answer is None else None
        auto = None
        if entry.auto is None and mark.auto_status is not None:
            auto = f"{mark.auto_status.value} {points_value(mark.auto_score or 0)}"
        if answer is not None or auto is not None:
            pins.append(Pin(index, answer, auto))
    return pins


@dataclasses.dataclass(frozen=True)
class ToReview:
    """A hand grade to look at again: the answer changed, or the verdict it overrides did."""

    folder: str
    student: str
    part: str
    why: str


def to_review(reports: Sequence[Report]) -> list[ToReview]:
    found = []
    for report in reports:
        for result in report.parts:
            mark = result.hand
            if mark is None:
                continue
            if mark.stale:
                why = (
                    f"the answer changed after {mark.by} graded it ({points_value(mark.points)} points kept)"
                )
                found.append(ToReview(report.folder or "", report.student, result.id, why))
            if mark.auto_changed:
                why = (
                    f"the automatic verdict under {mark.by}'s override is now {mark.auto_status} "
                    f"{points_value(mark.auto_score or 0)} (the override stays)"
                )
                found.append(ToReview(report.folder or "", report.student, result.id, why))
    return found
