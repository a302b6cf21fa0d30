"""The Markdown feedback page never carries a student's text as live HTML."""

from __future__ import annotations

from grader.core.report import PartResult, Report
from grader.core.verdict import Status
from grader.reporting.reporters import REPORTERS


def test_student_text_is_escaped_on_markdown_lines() -> None:
    hostile = "<script>alert(1)</script>"
    part = PartResult(
        id="q1", status=Status.INVALID, score=0, max_score=1, feedback=f"unknown symbol '{hostile}'"
    )
    report = Report(
        assignment="a1", student=hostile, parts=[part], warnings=[f"answer '{hostile}' matches no part"]
    )
    page = REPORTERS["markdown"].render(report)
    assert "<script>" not in page
    assert page.startswith("# a1: feedback for &lt;script&gt;alert(1)&lt;/script&gt;")
    assert "unknown symbol '&lt;script&gt;" in page
