"""``complexity``: the same dominant terms, decided by exact hull dominance."""

from grader.core.deferred import deferred
from grader.types.base import AnswerType, example_hint
from grader.types.complexity.part import ComplexityPart

COMPLEXITY_EXAMPLES = ("Theta(k^3 m)", r"\Theta(k^3 m)", "O(m log m)")

ANSWER_TYPE = AnswerType(
    name="complexity",
    part=ComplexityPart,
    check=deferred("grader.types.complexity.checker", "check"),
    hint=example_hint("a bound", COMPLEXITY_EXAMPLES),
    examples=COMPLEXITY_EXAMPLES,
)

__all__ = ["ANSWER_TYPE", "ComplexityPart"]
