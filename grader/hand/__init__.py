"""Grades given by TAs: hand grades of proofs and essays, and overrides of automatic verdicts.

:mod:`.book` reads a hand-grades file (``grader grade --hand``) and pins each grade
to the answer it was given for; :mod:`.apply` applies them to a report, a pure
step after :func:`grader.engine.grade`.
"""

from grader.hand.apply import (
    ToReview,
    answer_digests,
    apply_hand_grades,
    grade_with_hand,
    pins_needed,
    to_review,
    without_hand_grades,
)
from grader.hand.book import (
    HandBook,
    HandGrade,
    Pin,
    grades_digest,
    load_hand_grades,
    parse_hand_grades,
    pin_text,
)

__all__ = [
    "HandBook",
    "HandGrade",
    "Pin",
    "ToReview",
    "answer_digests",
    "apply_hand_grades",
    "grade_with_hand",
    "grades_digest",
    "load_hand_grades",
    "parse_hand_grades",
    "pin_text",
    "pins_needed",
    "to_review",
    "without_hand_grades",
]
