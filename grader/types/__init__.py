"""One module per answer type, each a ``check(part, answer) -> Verdict`` function,
gathered in one explicit registry.

A checker only states what is wrong. It may raise :class:`grader.core.verdict.AnswerError`
(the answer cannot be read: status ``invalid``, with a caret) or
:class:`grader.core.verdict.CheckUndecided` (it cannot decide: status ``error``);
the engine adds ids, points, mistakes, time limits and crash isolation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from grader.core.verdict import Verdict
from grader.types import array, choice, constraint, number, shape, text
from grader.types.complexity import check as complexity
from grader.types.expression import check as expression
from grader.types.network import check as network

Checker = Callable[[Any, Any], Verdict]
# (part, listed mistake answer, student answer) -> does the student give that mistake?
MistakeMatcher = Callable[[Any, Any, Any], bool]

CHECKERS: dict[str, Checker] = {
    "number": number.check,
    "array": array.check,
    "shape": shape.check,
    "choice": choice.check,
    "text": text.check,
    "expression": expression.check,
    "complexity": complexity.check,
    "constraint": constraint.check,
    "network": network.check,
}

# How a known mistake is recognised where grading the student's answer against the
# mistake (the default) cannot tell: constraints are judged by predicates, networks
# against a target.
MISTAKE_MATCHERS: dict[str, MistakeMatcher] = {
    "constraint": constraint.same_answer,
    "network": network.same_answer,
}
