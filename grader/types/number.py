"""``number``: a single value, within the part's rtol/atol.

Students may give the value as an approximation (``\\approx 0.0349``): it is the
number after the sign, compared within the part's tolerance.
"""

from __future__ import annotations

from typing import Any, Literal

from grader.core.numeric import EVALUATOR, close, read_number, read_written_number, show
from grader.core.parts import PartBase, Scalar
from grader.core.verdict import Certificate, Verdict, read_reference
from grader.types.base import AnswerType, example_hint


class NumberPart(PartBase):
    type: Literal["number"]
    answer: Scalar


def check(part: NumberPart, answer: Any) -> Verdict:
    expected = read_reference(read_number, part.answer, "the reference answer is not a number")
    received = read_written_number(answer)
    if close(received.value, expected, part.rtol, part.atol):
        return Verdict.correct()
    shown = show(received.value, received.decimal)
    if expected != 0 and close(-received.value, expected, part.rtol, part.atol):
        return Verdict.incorrect(f"{shown} has the wrong sign")
    return Verdict.incorrect(f"{shown} is not the expected value")


NUMBER_EXAMPLES = ("42", "2^10", r"\frac{3}{4}")

ANSWER_TYPE = AnswerType(
    name="number",
    part=NumberPart,
    check=check,
    hint=example_hint("a number", NUMBER_EXAMPLES),
    examples=NUMBER_EXAMPLES,
    decided=Certificate.EXACT,
    loads=(EVALUATOR,),
)
