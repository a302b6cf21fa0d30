"""``number``: a single value, within the part's rtol/atol.

Students may give the value as an approximation (``\\approx 0.0349``): it is the
number after the sign, compared within the part's tolerance.
"""

from __future__ import annotations

from typing import Any, Literal

from grader.core.numeric import EVALUATOR, read_written_number, show
from grader.core.parts import PartBase, Scalar
from grader.core.settle import compare
from grader.core.verdict import Certificate, CheckUndecided, Verdict, read_reference
from grader.types.base import AnswerType, example_hint


class NumberPart(PartBase):
    type: Literal["number"]
    answer: Scalar


def check(part: NumberPart, answer: Any) -> Verdict:
    expected = read_reference(read_written_number, part.answer, "the reference answer is not a number")
    received = read_written_number(answer)
    found = compare(received, expected, part.rtol, part.atol)
    if found.equal:
        return Verdict.correct(decision=found.decision())
    shown = found.received_value if received.formula is not None else None
    shown = shown or show(received.value, received.decimal)
    if found.expected_value is not None and shown == show(expected.value, expected.decimal):
        shown = f"{found.received_value}, not {found.expected_value},"  # the digits that differ
    if expected.value != 0:
        try:
            flipped = compare(received.negated(), expected, part.rtol, part.atol).equal
        except CheckUndecided:
            flipped = False
        if flipped:
            return Verdict.incorrect(f"{shown} has the wrong sign", decision=found.decision())
    return Verdict.incorrect(f"{shown} is not the expected value", decision=found.decision())


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
