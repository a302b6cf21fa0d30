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

The package holds the grading view's helpers: the request bodies (``model``), pseudonyms
(``anonymous``), progress, the view model (``view``) and the steps panel. Their routes are in
:mod:`grader.service.routes` (``hand``, ``hand_pages``, ``rubric``, ``regrade_requests``); their
reads and writes in :mod:`grader.service.crud` (``hand_grades``, ``rubric``, ``regrade_requests``),
which the grading loop imports without any web module. The package imports nothing itself.
"""
