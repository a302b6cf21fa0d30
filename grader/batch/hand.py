"""Where the hand grades' review after a run was (grader.reporting.handreview)."""

from grader.reporting.handreview import HAND_REVIEW as HAND_REVIEW
from grader.reporting.handreview import HandOutcome as HandOutcome
from grader.reporting.handreview import finish_hand_grades as finish_hand_grades
