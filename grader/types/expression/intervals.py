"""Intervals and tuples as answers: ``[0, 1)``, ``(1, +\\infty)``, ``(1, \\frac{9}{2})``.

A half-open interval is read from its text (the brackets say which end is
closed; ``[0, 1)`` is not a formula the parser could balance), each endpoint
parsed as a formula. An open ``(a, b)`` is a pair and a closed ``[a, b]`` a
list to the parser; both compare item by item, which is the same test.

Two intervals are equal when their ends are closed or open alike and the
endpoints are equal as formulas (``\\frac{9}{2}`` and ``4.5``); ``+\\infty``
equals only ``\\infty``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from grader.core.verdict import Certificate
from grader.mathlang import ast
from grader.mathlang.intervals import CLOSERS, OPENERS, SIZING, split_top_level
from grader.types.expression.outcome import Outcome, weakest

_DROP = ("\\lbrack", "\\rbrack", "$")


@dataclass(frozen=True)
class IntervalForm:
    low: ast.Node
    high: ast.Node
    low_closed: bool
    high_closed: bool

    def ends(self) -> str:
        return ("[" if self.low_closed else "(") + ", " + ("]" if self.high_closed else ")")


def read_interval(text: str, parse: Callable[[str], ast.Node]) -> IntervalForm | None:
    """The interval written in ``text``, or None when the text is not one (no error: the
    caller reads it as a formula instead). ``]0, 1]`` is accepted for (0, 1]."""
    clean = SIZING.sub("", text.strip())
    for word in _DROP:
        clean = clean.replace(word, "")
    clean = clean.strip()
    if len(clean) < 5 or clean[0] not in OPENERS or clean[-1] not in CLOSERS:
        return None
    if (clean[0], clean[-1]) in (("(", ")"), ("[", "]")):
        return None  # a tuple or a list (a closed interval reads alike): left to the parser
    parts = split_top_level(clean[1:-1])
    if len(parts) != 2 or not all(p.strip() for p in parts):
        return None
    return IntervalForm(parse(parts[0]), parse(parts[1]), OPENERS[clean[0]], CLOSERS[clean[-1]])


def as_interval(node: ast.Node) -> IntervalForm | None:
    """An open interval written as a pair ``(a, b)``."""
    if isinstance(node, ast.TupleLit) and len(node.items) == 2:
        return IntervalForm(node.items[0], node.items[1], False, False)
    return None


def infinity_sign(node: ast.Node) -> int:
    """+1 for ``\\infty`` / ``+\\infty``, -1 for ``-\\infty``, 0 for anything else."""
    match node:
        case ast.Const(name="inf"):
            return 1
        case ast.Neg(operand=inner):
            return -infinity_sign(inner)
        case ast.Call(name="pos", args=(inner,)):
            return infinity_sign(inner)
    return 0


CompareItems = Callable[[ast.Node, ast.Node], Outcome]


def compare_intervals(reference: IntervalForm, answer: IntervalForm, same: CompareItems) -> Outcome:
    if (reference.low_closed, reference.high_closed) != (answer.low_closed, answer.high_closed):
        return Outcome(
            False,
            f"your interval is {answer.ends()} at its ends (closed or open); the expected one is "
            f"{reference.ends()}",
        )
    return compare_items(
        (reference.low, reference.high), (answer.low, answer.high), same, ("lower end", "upper end")
    )


def compare_items(
    reference: Sequence[ast.Node], answer: Sequence[ast.Node], same: CompareItems, names: Sequence[str] = ()
) -> Outcome:
    """Item by item; an infinite item equals only the same infinity."""
    if len(reference) != len(answer):
        return Outcome(
            False,
            f"your answer has {len(answer)} items; the expected one has {len(reference)}",
            certificate=Certificate.EXACT,
        )
    found = [_compare_item(ref, ans, same) for ref, ans in zip(reference, answer, strict=True)]
    for k, item in enumerate(found):
        if not item.equal:
            name = names[k] if k < len(names) else f"item {k + 1}"
            return Outcome(False, f"{name}: {item.feedback}")
    method = "; ".join(item.method for item in found if item.method) or "each item compared"
    return Outcome(
        True, "", sum(item.points for item in found), method, certificate=weakest([i.kind for i in found])
    )


def _compare_item(ref: ast.Node, ans: ast.Node, same: CompareItems) -> Outcome:
    ref_inf, ans_inf = infinity_sign(ref), infinity_sign(ans)
    if ref_inf or ans_inf:
        if ref_inf == ans_inf:
            return Outcome(True, "", 0, "exact: the same infinity", certificate=Certificate.EXACT)
        return Outcome(
            False, "infinite on one side only" if not (ref_inf and ans_inf) else "the other infinity"
        )
    return same(ref, ans)
