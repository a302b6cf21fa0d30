"""``shape``: the same dimensions in the same order.

Students write ``24 x 24 x 128``, ``24 \\times 24 \\times 128``, ``(24, 24, 128)``,
``[24, 24, 128]``, ``64×7×7``, ``k by d``, ``\\mathbb{R}^{1 \\times k}``,
``\\mathbf{W}_2 \\in \\mathbb{R}^{1 \\times k}`` or a YAML list ``[1, k]``.
Dimensions are compared by value: numbers as numbers, symbolic sizes (``k``, ``h d_v``,
``\\lfloor (H + 2p - k)/s \\rfloor + 1``) in exact integer arithmetic at whole-number values
of their symbols over the ranges the part declares in ``symbols`` (0, 1, 2, ... for a symbol
it does not declare), with a point where they differ (:mod:`grader.mathlang.sizes`). A name
is compared as written (``k`` is not ``K``). Feedback quotes the dimensions as the student
wrote them, never the parsed form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

from pydantic import Field, field_validator

from grader.core.numeric import EVALUATOR, strip_math_delimiters
from grader.core.parts import PartBase
from grader.core.verdict import (
    AnswerError,
    Certificate,
    CheckUndecided,
    Decision,
    Verdict,
    Witness,
    caret_excerpt,
    read_reference,
)
from grader.mathlang import ast
from grader.mathlang.domains import SymbolDomain, symbols_from_yaml
from grader.mathlang.parser import dump, parse
from grader.mathlang.sizes import IntegerRange, SizeComparison, compare_sizes, integer_range
from grader.types.base import AnswerType, example_hint

# What may trail a dimension in its own text: a separator or a closing bracket.
_TRAILERS = (",", "×", "\\times", "x", "by", ")", "]", "}", "$")


@dataclass(frozen=True)
class Dim:
    """One dimension: ``key`` is a size or the canonical form of a formula; ``node`` the
    formula of a symbolic size (compared by value); ``text`` is shown, as the student wrote it."""

    key: int | str
    text: str = field(compare=False)
    position: int | None = field(default=None, compare=False)  # in the answer, for a product
    product: bool = field(default=False, compare=False)
    node: ast.Node | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return self.text


class ShapePart(PartBase):
    type: Literal["shape"]
    answer: Any
    # The whole numbers each size symbol takes (``H: {integer: true, min: 1}``); a symbol not
    # declared takes 0, 1, 2, ...
    symbols: dict[str, SymbolDomain] = Field(default_factory=dict)

    @field_validator("symbols", mode="before")
    @classmethod
    def _symbol_words(cls, value: Any) -> Any:
        return symbols_from_yaml(value)


@dataclass
class _Comparer:
    """Dimensions compared by value, remembering how each symbolic pair was decided."""

    ranges: dict[str, IntegerRange]
    probed: int = 0  # points compared where equality was not proved
    witness: SizeComparison | None = None

    def same(self, received: Dim, expected: Dim) -> bool:
        if received.node is None and expected.node is None:
            return received.key == expected.key
        if received.key == expected.key:
            return True
        found = compare_sizes(_formula(received), _formula(expected), self.ranges)
        if found.points == 0:
            raise CheckUndecided(
                f"the reference size {expected.text} has no value at the sizes tried: "
                "declare its symbols' ranges"
            )
        if found.equal and not found.proved:
            self.probed += found.points
        if not found.equal and self.witness is None:
            self.witness = found
        return found.equal


def check(part: ShapePart, answer: Any) -> Verdict:
    names = tuple(part.symbols)  # sH: s times H when both are declared
    expected = read_reference(
        lambda value: read_shape(value, names), part.answer, "the reference shape cannot be read"
    )
    received = read_shape(answer, names)
    compare = _Comparer({name: integer_range(domain) for name, domain in part.symbols.items()})
    if len(received) != len(expected):
        count = f"{len(received)} dimension{'s' if len(received) != 1 else ''}"
        message = f"{show_shape(received)} has {count}; {len(expected)} are expected"
        return Verdict.incorrect(message + _products_note(received, answer))
    wrong = [i + 1 for i, (r, e) in enumerate(zip(received, expected, strict=True)) if not compare.same(r, e)]
    if not wrong:
        decision = _decision(compare)
        return Verdict.correct() if decision is None else Verdict.correct(decision=decision)
    if _reordered(received, expected, _Comparer(compare.ranges)):
        return Verdict.incorrect(f"{show_shape(received)} has the right dimensions in the wrong order")
    which = ", ".join(map(str, wrong))
    message = f"{show_shape(received)}: dimension {which} is not right"
    found = compare.witness
    if found is None or found.witness is None:
        return Verdict.incorrect(message)
    point = {name: str(value) for name, value in found.witness.items()}
    at = ", ".join(f"{name} = {value}" for name, value in point.items())
    got = "no size" if found.received is None else str(found.received)
    message += f" (at {at} it is {got}, not {found.expected})"
    witness = Witness(point, got, str(found.expected))
    return Verdict.incorrect(message, witness=witness)


def _decision(compare: _Comparer) -> Decision | None:
    if not compare.probed:
        return None  # every size equal exactly (numbers, or formulas equal on a proving grid)
    return Decision(
        f"sizes equal at {compare.probed} whole-number points of their symbols' ranges",
        exact=False,
        probes=compare.probed,
        certificate=Certificate.PROBES,
        probe_classes=("small sizes", "constants", "seeded draws"),
    )


def _reordered(received: tuple[Dim, ...], expected: tuple[Dim, ...], compare: _Comparer) -> bool:
    """The same dimensions as the reference in another order."""
    left = list(expected)
    for dim in received:
        match = next((k for k, other in enumerate(left) if compare.same(dim, other)), None)
        if match is None:
            return False
        left.pop(match)
    return True


def _formula(dim: Dim) -> ast.Node:
    return dim.node if dim.node is not None else ast.Num(0, Fraction(int(dim.key)))


def _products_note(received: tuple[Dim, ...], answer: Any) -> str:
    """Where a product of names was read as one dimension, with a caret under it."""
    product = next((d for d in received if d.product and d.position is not None), None)
    if product is None or not isinstance(answer, str) or product.position is None:
        return ""
    text = strip_math_delimiters(answer.strip())
    excerpt = caret_excerpt(text, product.position)
    return f"; `{product.text}` is read as one dimension\n{excerpt}"


def show_shape(dims: tuple[Dim, ...]) -> str:
    return " x ".join(map(str, dims))


def read_shape(value: Any, symbols: tuple[str, ...] = ()) -> tuple[Dim, ...]:
    """A shape from a list or text; ``symbols``: the part's names (a word of them is their product)."""
    if isinstance(value, (list, tuple)):
        return tuple(_dim_from_item(item, symbols) for item in value)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise AnswerError(f"expected a shape such as 24 x 24 x 128, got a {type(value).__name__}")
    if isinstance(value, int):
        return (_size(value),)
    text = strip_math_delimiters(value.strip())
    node = parse(text, mode="shape", symbols=symbols)
    items = node.items if isinstance(node, ast.TupleLit) else (node,)
    return tuple(_dim_from_node(item, text, _end_of(items, k, text)) for k, item in enumerate(items))


def _end_of(items: tuple[ast.Node, ...], k: int, text: str) -> int:
    """Where the text of dimension ``k`` ends: at the next one's start, or the end."""
    return items[k + 1].pos if k + 1 < len(items) else len(text)


def _dim_from_item(item: Any, symbols: tuple[str, ...] = ()) -> Dim:
    if isinstance(item, bool):
        raise AnswerError("a dimension cannot be true/false")
    if isinstance(item, int):
        return _size(item)
    if isinstance(item, float) and item.is_integer():
        return _size(int(item))
    if isinstance(item, str):
        dims = read_shape(item, symbols)
        if len(dims) != 1:
            raise AnswerError(f"{item!r} is not a single dimension")
        return dims[0]
    raise AnswerError(f"{item!r} is not a dimension")


def _dim_from_node(node: ast.Node, text: str, end: int) -> Dim:
    if isinstance(node, ast.Num):
        if node.value.denominator != 1:
            raise AnswerError(f"a dimension must be a whole number, not {node.value}", text, node.pos)
        return _size(int(node.value))
    if isinstance(node, ast.Sym):
        return Dim(node.name, node.name, node=node)
    if not ast.free_names(node):
        from grader.mathlang.constant import constant_value  # numpy: imported when a formula is read

        value = constant_value(node)
        if isinstance(value, Fraction) and value.denominator == 1:
            return _size(int(value))
        raise AnswerError("a dimension must be a whole number", text, node.pos)
    written = _without_trailers(text[node.pos : end]) or text[node.pos : end].strip()
    # a symbolic size such as h d_v: compared by value, shown as written
    return Dim(dump(node), written, position=node.pos, product=True, node=node)


def _without_trailers(text: str) -> str:
    """``k d x `` -> ``k d``: the separators and closing brackets after a dimension's own text."""
    text = text.rstrip()
    while True:
        trailer = next((t for t in _TRAILERS if text.endswith(t) and _stands_alone(text, t)), None)
        if trailer is None:
            return text
        text = text[: -len(trailer)].rstrip()


def _stands_alone(text: str, trailer: str) -> bool:
    """``x`` and ``by`` separate only as words (``max`` does not end in a separator)."""
    before = text[: -len(trailer)][-1:]
    return not trailer.isalpha() or not (before.isalnum() or before == "_")


def _size(value: int) -> Dim:
    if value < 0:
        raise AnswerError(f"a dimension cannot be negative ({value})")
    return Dim(value, str(value))


SHAPE_EXAMPLES = ("3 x 5 x 7", "(3, 5, 7)")

ANSWER_TYPE = AnswerType(
    name="shape",
    part=ShapePart,
    check=check,
    hint=example_hint("dimensions", SHAPE_EXAMPLES),
    examples=SHAPE_EXAMPLES,
    decided=Certificate.EXACT,
    loads=(EVALUATOR,),
)
