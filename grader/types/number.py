"""``number``: a single value, within the part's rtol/atol."""

from __future__ import annotations

from typing import Any

from grader.core.numeric import close, read_number, show
from grader.core.verdict import AnswerError, CheckUndecided, Verdict
from grader.spec import NumberPart


def check(part: NumberPart, answer: Any) -> Verdict:
    try:
        expected = read_number(part.answer)
    except AnswerError as exc:
        raise CheckUndecided(f"the reference answer is not a number: {exc.message}") from None
    received = read_number(answer)
    if close(received, expected, part.rtol, part.atol):
        return Verdict.correct()
    if expected != 0 and close(-received, expected, part.rtol, part.atol):
        return Verdict.incorrect(f"{show(received)} has the wrong sign")
    return Verdict.incorrect(f"{show(received)} is not the expected value")
