"""``interval``: a set of real numbers between two ends, each open or closed.

Students write ``[0, 1)``, ``(1, +\\infty)``, ``(-\\infty, 0]``, ``]0, 1[``,
``\\left[0, \\frac{1}{2}\\right]``, ``x \\in [0, 1)``, or the inequalities
``0 \\le x < 1``, ``x > 1``. Ends are numbers or constant formulas (``\\pi``,
``\\frac{1}{2}``) compared within the part's tolerance; an infinite end is always
open. Correct when both ends have the right value and the right kind (open or closed).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import model_validator

from grader.core.numeric import EVALUATOR, Number, close, read_written_number, show, strip_math_delimiters
from grader.core.parts import PartBase
from grader.core.verdict import AnswerError, Certificate, Verdict, read_reference
from grader.mathlang import ast
from grader.mathlang.errors import MathError
from grader.mathlang.intervals import CLOSERS, OPENERS, SIZING, ray_as_interval, split_top_level
from grader.mathlang.parser import parse
from grader.types.base import AnswerType, example_hint

_MEMBER = re.compile(r"^\s*[A-Za-z\\{}_0-9]{1,20}?\s*(?:\\in|∈)\s*")
_INFINITY = re.compile(r"^([+-]?)\s*(?:\\infty|∞|inf|infty|infinity|oo)$")


@dataclass(frozen=True)
class End:
    value: Number  # a float ±inf for an infinite end
    closed: bool
    decimal: bool = False

    @property
    def infinite(self) -> bool:
        return isinstance(self.value, float) and math.isinf(self.value)

    def shown(self) -> str:
        if self.infinite:
            return "∞" if self.value > 0 else "-∞"
        return show(self.value, self.decimal)


@dataclass(frozen=True)
class Interval:
    low: End
    high: End

    def shown(self) -> str:
        left = "[" if self.low.closed else "("
        right = "]" if self.high.closed else ")"
        return f"{left}{self.low.shown()}, {self.high.shown()}{right}"


class IntervalPart(PartBase):
    type: Literal["interval"]
    answer: str

    @model_validator(mode="after")
    def _reference_is_an_interval(self) -> IntervalPart:
        try:
            read_interval(self.answer)
        except AnswerError as exc:
            raise ValueError(f"answer {self.answer!r} is not an interval: {exc.message}") from None
        return self


def check(part: IntervalPart, answer: Any) -> Verdict:
    expected = read_reference(read_interval, part.answer, "the reference interval cannot be read")
    received = read_interval(answer)
    problems = [
        problem
        for problem in (
            _end_problem("left", received.low, expected.low, part),
            _end_problem("right", received.high, expected.high, part),
        )
        if problem
    ]
    if not problems:
        return Verdict.correct()
    return Verdict.incorrect(f"{received.shown()}: " + "; ".join(problems))


def _end_problem(side: str, received: End, expected: End, part: IntervalPart) -> str:
    if not _same_value(received, expected, part):
        return f"the {side} end {received.shown()} is not right"
    if received.closed != expected.closed:
        kind = "included (a square bracket)" if expected.closed else "excluded (a parenthesis)"
        return f"the {side} end {received.shown()} is right but should be {kind}"
    return ""


def _same_value(received: End, expected: End, part: IntervalPart) -> bool:
    if received.infinite or expected.infinite:
        return received.value == expected.value
    return close(received.value, expected.value, part.rtol, part.atol)


# -- reading ------------------------------------------------------------------------


def read_interval(value: Any) -> Interval:
    """An interval from text: brackets (``[0, 1)``) or inequalities (``0 <= x < 1``)."""
    if not isinstance(value, str):
        raise AnswerError(f"expected an interval such as [0, 1), got a {type(value).__name__}")
    text = SIZING.sub("", strip_math_delimiters(value.strip()))
    text = ray_as_interval(_MEMBER.sub("", text, count=1).strip())  # \mathbb{R}_{>0}
    if not text:
        raise AnswerError("expected an interval such as [0, 1), got nothing")
    if text[0] in OPENERS and text[-1] in CLOSERS:
        interval = _from_brackets(text)
    else:
        interval = _from_inequalities(text)
    _check_ends(interval)
    return interval


def _from_brackets(text: str) -> Interval:
    inner = text[1:-1]
    pieces = split_top_level(inner, ",;")
    if len(pieces) != 2:
        raise AnswerError(
            f"an interval has two ends separated by a comma, not {len(pieces)}: write [0, 1)", text, 0
        )
    low = _end(pieces[0], OPENERS[text[0]])
    high = _end(pieces[1], CLOSERS[text[-1]])
    return Interval(low, high)


def _end(text: str, closed: bool) -> End:
    infinity = _INFINITY.match(text)
    if infinity is not None:
        return End(-math.inf if infinity.group(1) == "-" else math.inf, closed)
    if not text:
        raise AnswerError("an end of the interval is missing: write [0, 1)")
    number = read_written_number(text)
    return End(number.value, closed, number.decimal)


def _from_inequalities(text: str) -> Interval:
    """``0 \\le x < 1``, ``x > 1``, ``-1 < x``: one name compared with constants."""
    try:
        tree = parse(text)
    except MathError as exc:
        raise AnswerError(
            f"expected an interval such as [0, 1) or 0 <= x < 1: {exc.message}", text, exc.position
        ) from None
    relations = tree.operands if isinstance(tree, ast.Logic) and tree.op == "and" else (tree,)
    names = {name for relation in relations for name in ast.free_names(relation)}
    if len(names) != 1 or len(relations) > 2:
        raise AnswerError("expected an interval such as [0, 1) or 0 <= x < 1", text, tree.pos)
    low, high = End(-math.inf, False), End(math.inf, False)
    for relation in relations:
        if not isinstance(relation, ast.Relation) or relation.op in ("=", "!="):
            raise AnswerError("expected an interval such as [0, 1) or 0 <= x < 1", text, relation.pos)
        bound, upper = _bound(relation, text)
        if upper:
            high = bound
        else:
            low = bound
    return Interval(low, high)


def _bound(relation: ast.Relation, text: str) -> tuple[End, bool]:
    """(the end, whether it is the upper one) of ``x < 1`` or ``1 < x``."""
    name_on_left = isinstance(relation.left, ast.Sym)
    other = relation.right if name_on_left else relation.left
    if isinstance(other, ast.Sym) or ast.free_names(other):
        raise AnswerError("compare the variable with numbers: 0 <= x < 1", text, other.pos)
    left_is_smaller = relation.op in ("<", "<=")
    name_is_smaller = left_is_smaller == name_on_left
    from grader.mathlang.evaluate import constant_value  # numpy: imported when a formula is read

    try:
        value = constant_value(other)
    except MathError as exc:
        raise AnswerError(exc.message, text, exc.position) from None
    if isinstance(value, float) and math.isinf(value):
        return End(value, False), name_is_smaller
    decimal = any(isinstance(node, ast.Num) and node.is_float for node in ast.walk(other))
    return End(value, relation.op in ("<=", ">="), decimal), name_is_smaller


def _check_ends(interval: Interval) -> None:
    low, high = interval.low, interval.high
    if (low.infinite and low.closed) or (high.infinite and high.closed):
        opened = Interval(_open_if_infinite(low), _open_if_infinite(high))
        raise AnswerError(f"an infinite end is always open: write {opened.shown()}")
    if (low.value == math.inf) or (high.value == -math.inf):
        raise AnswerError(f"{interval.shown()} is empty: give the smaller end first")
    if float(low.value) > float(high.value) or (low.value == high.value and not (low.closed and high.closed)):
        raise AnswerError(f"{interval.shown()} is empty: give the smaller end first")


def _open_if_infinite(end: End) -> End:
    return End(end.value, False, end.decimal) if end.infinite else end


INTERVAL_EXAMPLES = ("[2, 5)", r"(3, \infty)", "2 <= x < 5")

ANSWER_TYPE = AnswerType(
    name="interval",
    part=IntervalPart,
    check=check,
    hint=example_hint("an interval", INTERVAL_EXAMPLES),
    examples=INTERVAL_EXAMPLES,
    decided=Certificate.EXACT,
    loads=(EVALUATOR,),
)
