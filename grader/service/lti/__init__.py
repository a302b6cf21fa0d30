"""LTI 1.3 and LTI Advantage: the grading service as a tool in Canvas and Moodle (docs/lms.md)."""
