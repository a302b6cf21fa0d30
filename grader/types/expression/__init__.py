"""``expression``: formulas, equations and mappings of formulas, scalar or matrix."""

from __future__ import annotations

from grader.core.deferred import deferred
from grader.types.base import AnswerType
from grader.types.expression.part import ExpressionPart


def template_hint(part: ExpressionPart) -> str:
    if isinstance(part.answer, dict):
        return "{" + ", ".join(f"{name}: ..." for name in part.answer) + "}"
    return "a formula, in LaTeX or plain text"


ANSWER_TYPE = AnswerType(
    name="expression",
    part=ExpressionPart,
    check=deferred("grader.types.expression.checker", "check"),
    hint=template_hint,
    # sympy is not among what it loads: the steps that prove two formulas equal with it
    # (symbolic, equations, polynomial, a simplified difference) say so when they are reached
    # (grader.core.deferred.needs), most checks never are, and sympy is a third of a second
    # to import.
    value_after_label=False,
)

__all__ = ["ANSWER_TYPE", "ExpressionPart"]
