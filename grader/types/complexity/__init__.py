"""``complexity``: the same dominant terms, decided by exact hull dominance."""

from grader.types.base import AnswerType, fixed_hint
from grader.types.complexity.checker import check
from grader.types.complexity.part import ComplexityPart

ANSWER_TYPE = AnswerType(
    name="complexity",
    part=ComplexityPart,
    check=check,
    hint=fixed_hint("a bound: 'Theta(n^2 d)', '\\Theta(n^2 d)' or 'O(n log n)'"),
)

__all__ = ["ANSWER_TYPE", "ComplexityPart", "check"]
