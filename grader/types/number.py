"""``number``: a single value, within the part's rtol/atol."""

from __future__ import annotations

from typing import Any, Literal

from grader.core.numeric import close, read_number, show
from grader.core.parts import PartBase, Scalar
from grader.core.verdict import AnswerError, CheckUndecided, Verdict
from grader.types.base import AnswerType, fixed_hint


class NumberPart(PartBase):
    type: Literal["number"]
    answer: Scalar


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


ANSWER_TYPE = AnswerType(
    name="number",
    part=NumberPart,
    check=check,
    hint=fixed_hint("a number: 131072, 2^17, \\frac{1}{2}"),
)
