"""``text``: proofs and essays. Never auto-graded: status ``manual``, points pending."""

from __future__ import annotations

from typing import Any

from grader.core.verdict import Verdict
from grader.spec import TextPart


def check(part: TextPart, answer: Any) -> Verdict:
    words = len(str(answer).split())
    return Verdict.manual(f"graded by a TA ({words} words received)")
