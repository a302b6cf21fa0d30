"""The answer types: one module (or package) each, gathered in one explicit registry.

Each declares an :class:`~grader.types.base.AnswerType`: its part model, its
``check(part, answer) -> Verdict``, its mistake matcher and its template hint.
The problem-file schema (:mod:`grader.spec`), the engine, the self-test and the
template are all derived from :data:`ANSWER_TYPES`; adding a type is adding a
module here and one line below.
"""

from __future__ import annotations

from grader.types import (
    array,
    choice,
    code,
    complexity,
    constraint,
    expression,
    interval,
    network,
    number,
    shape,
    text,
)
from grader.types.base import AnswerType

ANSWER_TYPES: dict[str, AnswerType] = {
    "number": number.ANSWER_TYPE,
    "array": array.ANSWER_TYPE,
    "shape": shape.ANSWER_TYPE,
    "interval": interval.ANSWER_TYPE,
    "expression": expression.ANSWER_TYPE,
    "complexity": complexity.ANSWER_TYPE,
    "choice": choice.ANSWER_TYPE,
    "constraint": constraint.ANSWER_TYPE,
    "network": network.ANSWER_TYPE,
    "code": code.ANSWER_TYPE,
    "text": text.ANSWER_TYPE,
}

__all__ = ["ANSWER_TYPES", "AnswerType"]
