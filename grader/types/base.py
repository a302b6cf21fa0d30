"""What an answer type is: its part model, its checker, how it recognises a known
mistake, and how the blank answers template tells a student to answer.

Each module (or package) in ``grader/types/`` declares one :class:`AnswerType`
named ``ANSWER_TYPE``; :data:`grader.types.ANSWER_TYPES` gathers them, and every
list of types elsewhere (the problem-file schema, the template, the engine) is
derived from that registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from grader.core.parts import PartBase
from grader.core.verdict import Verdict

# A checker only states what is wrong. It may raise AnswerError (the answer cannot
# be read: status invalid, with a caret) or CheckUndecided (it cannot decide:
# status error); the engine adds ids, points, mistakes, time limits and crash isolation.
Checker = Callable[[Any, Any], Verdict]
# (part, listed mistake answer, student answer) -> does the student give that mistake?
MistakeMatcher = Callable[[Any, Any, Any], bool]
# part -> the "answer with ..." line of the blank answers template
TemplateHint = Callable[[Any], str]


@dataclass(frozen=True)
class AnswerType:
    name: str
    part: type[PartBase]
    check: Checker
    hint: TemplateHint
    # How a known mistake is recognised where grading the student's answer against the
    # mistake (the default, None) cannot tell: constraints are judged by predicates,
    # networks against a target.
    same_mistake: MistakeMatcher | None = None
    # False for answers a TA grades by hand: no time limit, no size limit, no self-test.
    auto_graded: bool = True


def fixed_hint(text: str) -> TemplateHint:
    return lambda part: text
