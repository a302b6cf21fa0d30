"""Hand grades in the service: TAs grade proofs, and override verdicts, by answer group.

A hand grade is a row of ``hand_grades`` (assignment, student, part, points, rubric
items, comment, reason, who, when, the answer digest and automatic verdict it was
given for, and a version). Every write carries the version the TA saw; a write over
a newer version is refused (409) naming who changed it and when, never silently
overwritten. Every change is an ``audit_log`` row with the old and new grade.

Reports stay what every reader already reads: after a write, each version the
student handed in gets a new verdict row, the automatic report with the student's
hand grades applied (:func:`grader.hand.apply_hand_grades`, the file path's own
step); the grading workers apply them to every new verdict too. So a student's
page, the API and every export count them with no change of their own.

``grader hand export`` and ``GET /api/v1/assignments/{a}/hand?format=yaml`` write
the grades in the form ``grader grade --hand`` reads.
"""

from fastapi import APIRouter

from grader.service.hand import page, request_routes, routes, rubric_page
from grader.service.hand.logic import export_grades, grades_yaml, hand_graded_report
from grader.service.hand.model import HandGradeRow

router = APIRouter()
router.include_router(routes.router)
router.include_router(page.router)
router.include_router(request_routes.router)  # regrade requests
router.include_router(rubric_page.router)

__all__ = ["HandGradeRow", "export_grades", "grades_yaml", "hand_graded_report", "router"]
