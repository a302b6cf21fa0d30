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
    # sympy, imported by the checks that prove two formulas equal (symbolic, equations, polynomial)
    loads=("grader.mathlang.to_sympy",),
)

__all__ = ["ANSWER_TYPE", "ExpressionPart"]
