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

from grader.core.numeric import (
    EVALUATOR,
    Number,
    WrittenNumber,
    formula_number,
    read_written_number,
    show,
    strip_math_delimiters,
)
from grader.core.parts import PartBase
from grader.core.settle import compare_each
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
    formula: ast.Node | None = None  # a value that is not rational (pi / 2), compared as a formula

    @property
    def infinite(self) -> bool:
        return isinstance(self.value, float) and math.isinf(self.value)

    @property
    def number(self) -> WrittenNumber:
        return WrittenNumber(self.value, self.decimal, self.formula)

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
    ends = ((received.low, expected.low), (received.high, expected.high))
    found = compare_each(
        [None if r.infinite or e.infinite else (r.number, e.number) for r, e in ends], part.rtol, part.atol
    )
    problems = []
    for side, (mine, theirs), comparison in zip(("left", "right"), ends, found.results, strict=True):
        same = comparison.equal if comparison is not None else mine.value == theirs.value
        shown = (comparison.received_value if comparison is not None else None) or mine.shown()
        problems.append(_end_problem(side, shown, mine.closed, theirs.closed, same))
    problems = [problem for problem in problems if problem]
    decision = found.decision()
    if not problems:
        return Verdict.correct(decision=decision)
    return Verdict.incorrect(f"{received.shown()}: " + "; ".join(problems), decision=decision)


def _end_problem(side: str, shown: str, closed: bool, closed_expected: bool, same: bool) -> str:
    if not same:
        return f"the {side} end {shown} is not right"
    if closed != closed_expected:
        kind = "included (a square bracket)" if closed_expected else "excluded (a parenthesis)"
        return f"the {side} end {shown} is right but should be {kind}"
    return ""


# -- reading ------------------------------------------------------------------------


def read_interval(value: Any) -> Interval:
    """An interval from text: brackets (``[0, 1)``) or inequalities (``0 <= x < 1``)."""
    if not isinstance(value, str):
        raise AnswerError(f"expected an interval such as [a, b), got a {type(value).__name__}")
    text = SIZING.sub("", strip_math_delimiters(value.strip()))
    text = ray_as_interval(_MEMBER.sub("", text, count=1).strip())  # \mathbb{R}_{>0}
    if not text:
        raise AnswerError("expected an interval such as [a, b), got nothing")
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
            f"an interval has two ends separated by a comma, not {len(pieces)}: write [a, b)", text, 0
        )
    low = _end(pieces[0], OPENERS[text[0]])
    high = _end(pieces[1], CLOSERS[text[-1]])
    return Interval(low, high)


def _end(text: str, closed: bool) -> End:
    infinity = _INFINITY.match(text)
    if infinity is not None:
        return End(-math.inf if infinity.group(1) == "-" else math.inf, closed)
    if not text:
        raise AnswerError("an end of the interval is missing: write [a, b)")
    number = read_written_number(text)
    return End(number.value, closed, number.decimal, number.formula)


def _from_inequalities(text: str) -> Interval:
    """``0 \\le x < 1``, ``x > 1``, ``-1 < x``: one name compared with constants."""
    try:
        tree = parse(text)
    except MathError as exc:
        raise AnswerError(
            f"expected an interval such as [a, b) or a <= x < b: {exc.message}", text, exc.position
        ) from None
    relations = tree.operands if isinstance(tree, ast.Logic) and tree.op == "and" else (tree,)
    quantities = {_quantity(relation) for relation in relations}
    if len(quantities) != 1 or None in quantities or len(relations) > 2:
        raise AnswerError("expected an interval such as [a, b) or a <= x < b", text, tree.pos)
    low, high = End(-math.inf, False), End(math.inf, False)
    for relation in relations:
        if not isinstance(relation, ast.Relation) or relation.op in ("=", "!="):
            raise AnswerError("expected an interval such as [a, b) or a <= x < b", text, relation.pos)
        bound, upper = _bound(relation, text)
        if upper:
            high = bound
        else:
            low = bound
    return Interval(low, high)


def _quantity(relation: ast.Node) -> str | None:
    """What ``relation`` bounds (``x`` in ``x < 1``, ``\\sigma'(x)`` in ``0 < \\sigma'(x)``), as
    written (positions left out), or None when neither side or both are constants."""
    if not isinstance(relation, ast.Relation):
        return None
    left, right = bool(ast.free_names(relation.left)), bool(ast.free_names(relation.right))
    if left == right:
        return None
    return re.sub(r"pos=\d+, ", "", repr(relation.left if left else relation.right))


def _bound(relation: ast.Relation, text: str) -> tuple[End, bool]:
    """(the end, whether it is the upper one) of ``x < 1``, ``1 < x`` or ``0 < \\sigma'(x)``."""
    name_on_left = bool(ast.free_names(relation.left))
    other = relation.right if name_on_left else relation.left
    if isinstance(other, ast.Sym) or ast.free_names(other):
        raise AnswerError("compare the variable with numbers: 0 <= x < 1", text, other.pos)
    left_is_smaller = relation.op in ("<", "<=")
    name_is_smaller = left_is_smaller == name_on_left
    decimal = any(isinstance(node, ast.Num) and node.is_float for node in ast.walk(other))
    try:
        number = formula_number(other, decimal)
    except MathError as exc:
        raise AnswerError(exc.message, text, exc.position) from None
    if isinstance(number.value, float) and math.isinf(number.value):
        return End(number.value, False), name_is_smaller
    return End(number.value, relation.op in ("<=", ">="), decimal, number.formula), name_is_smaller


def _check_ends(interval: Interval) -> None:
    low, high = interval.low, interval.high
    if (low.infinite and low.closed) or (high.infinite and high.closed):
        opened = Interval(_open_if_infinite(low), _open_if_infinite(high))
        raise AnswerError(f"an infinite end is always open: write {opened.shown()}")
    if (low.value == math.inf) or (high.value == -math.inf):
        raise AnswerError(f"{interval.shown()} is empty: give the smaller end first")
    if _above(low.value, high.value) or (low.value == high.value and not (low.closed and high.closed)):
        raise AnswerError(f"{interval.shown()} is empty: give the smaller end first")


def _above(low: Number, high: Number) -> bool:
    """``low > high``, compared as Fractions and floats compare (exactly: 2^1500 is past the
    float range)."""
    return low > high


def _open_if_infinite(end: End) -> End:
    return End(end.value, False, end.decimal, end.formula) if end.infinite else end


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
