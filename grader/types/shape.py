"""``shape``: the same dimensions in the same order.

Students write ``24 x 24 x 128``, ``24 \\times 24 \\times 128``, ``(24, 24, 128)``,
``[24, 24, 128]``, ``64×7×7``, ``k by d``, ``\\mathbb{R}^{1 \\times k}``,
``\\mathbf{W}_2 \\in \\mathbb{R}^{1 \\times k}`` or a YAML list ``[1, k]``.
Symbolic dimensions are compared by name (``k`` is not ``K``), a product of
names (``h d_v``) by its parsed form, numeric ones by value. Feedback quotes the
dimensions as the student wrote them, never the parsed form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

from grader.core.numeric import EVALUATOR, strip_math_delimiters
from grader.core.parts import PartBase
from grader.core.verdict import AnswerError, Certificate, Verdict, caret_excerpt, read_reference
from grader.mathlang import ast
from grader.mathlang.parser import dump, parse
from grader.types.base import AnswerType, example_hint

# What may trail a dimension in its own text: a separator or a closing bracket.
_TRAILERS = (",", "×", "\\times", "x", "by", ")", "]", "}", "$")


@dataclass(frozen=True)
class Dim:
    """One dimension: ``key`` is compared (a size, a name, the canonical form of a
    product); ``text`` is shown, as the student wrote it."""

    key: int | str
    text: str = field(compare=False)
    position: int | None = field(default=None, compare=False)  # in the answer, for a product
    product: bool = field(default=False, compare=False)

    def __str__(self) -> str:
        return self.text


class ShapePart(PartBase):
    type: Literal["shape"]
    answer: Any


def check(part: ShapePart, answer: Any) -> Verdict:
    expected = read_reference(read_shape, part.answer, "the reference shape cannot be read")
    received = read_shape(answer)
    if received == expected:
        return Verdict.correct()
    if len(received) != len(expected):
        count = f"{len(received)} dimension{'s' if len(received) != 1 else ''}"
        message = f"{show_shape(received)} has {count}; {len(expected)} are expected"
        return Verdict.incorrect(message + _products_note(received, answer))
    if sorted(str(d.key) for d in received) == sorted(str(d.key) for d in expected):
        return Verdict.incorrect(f"{show_shape(received)} has the right dimensions in the wrong order")
    wrong = [i + 1 for i, (r, e) in enumerate(zip(received, expected, strict=False)) if r != e]
    which = ", ".join(map(str, wrong))
    return Verdict.incorrect(f"{show_shape(received)}: dimension {which} is not right")


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


def read_shape(value: Any) -> tuple[Dim, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(_dim_from_item(item) for item in value)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise AnswerError(f"expected a shape such as 24 x 24 x 128, got a {type(value).__name__}")
    if isinstance(value, int):
        return (_size(value),)
    text = strip_math_delimiters(value.strip())
    node = parse(text, mode="shape")
    items = node.items if isinstance(node, ast.TupleLit) else (node,)
    return tuple(_dim_from_node(item, text, _end_of(items, k, text)) for k, item in enumerate(items))


def _end_of(items: tuple[ast.Node, ...], k: int, text: str) -> int:
    """Where the text of dimension ``k`` ends: at the next one's start, or the end."""
    return items[k + 1].pos if k + 1 < len(items) else len(text)


def _dim_from_item(item: Any) -> Dim:
    if isinstance(item, bool):
        raise AnswerError("a dimension cannot be true/false")
    if isinstance(item, int):
        return _size(item)
    if isinstance(item, float) and item.is_integer():
        return _size(int(item))
    if isinstance(item, str):
        dims = read_shape(item)
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
        return Dim(node.name, node.name)
    if not ast.free_names(node):
        from grader.mathlang.evaluate import constant_value  # numpy: imported when a formula is read

        value = constant_value(node)
        if isinstance(value, Fraction) and value.denominator == 1:
            return _size(int(value))
        raise AnswerError("a dimension must be a whole number", text, node.pos)
    written = _without_trailers(text[node.pos : end]) or text[node.pos : end].strip()
    # a symbolic product such as h d_v: compared by its canonical form, shown as written
    return Dim(dump(node), written, position=node.pos, product=True)


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
