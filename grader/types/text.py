"""``text``: proofs and essays. Never auto-graded: status ``manual``, points pending."""

from __future__ import annotations

from typing import Any, Literal

from grader.core.deferred import deferred
from grader.core.parts import DeclaringPart
from grader.core.verdict import Verdict
from grader.types.base import AnswerType, fixed_hint


class TextPart(DeclaringPart):
    """``symbols``, ``arrays`` and ``functions``: what the part's prompt defines, with which
    the steps of an answer's derivations are checked (a step may be refuted with them;
    ``grader validate`` says when a function does not read)."""

    type: Literal["text"]
    answer: str | None = None  # a model answer for the TA


def check(part: TextPart, answer: Any) -> Verdict:
    """Without the step marks (grader.steps.grading.check, the type's checker, adds them)."""
    words = len(str(answer).split())
    return Verdict.manual(f"graded by a TA ({words} words received)")


ANSWER_TYPE = AnswerType(
    name="text",
    part=TextPart,
    check=deferred("grader.steps.grading", "check"),  # the marks of the answer's steps with it
    hint=fixed_hint("your explanation, graded by a TA"),
    auto_graded=False,
    one_answer=False,
    value_after_label=False,
)
