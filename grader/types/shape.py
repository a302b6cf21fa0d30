"""``shape``: the same dimensions in the same order.

Students write ``24 x 24 x 128``, ``24 \\times 24 \\times 128``, ``(24, 24, 128)``,
``[24, 24, 128]``, ``64×7×7``, ``\\mathbb{R}^{1 \\times k}`` or a YAML list
``[1, k]``. Symbolic dimensions are compared by name (``k`` is not ``K``);
numeric ones by value.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Literal

from grader.core.numeric import strip_math_delimiters
from grader.core.parts import PartBase
from grader.core.verdict import AnswerError, CheckUndecided, Verdict
from grader.mathlang import ast
from grader.types.base import AnswerType, fixed_hint

Dim = int | str


class ShapePart(PartBase):
    type: Literal["shape"]
    answer: Any


def check(part: ShapePart, answer: Any) -> Verdict:
    try:
        expected = read_shape(part.answer)
    except AnswerError as exc:
        raise CheckUndecided(f"the reference shape cannot be read: {exc.message}") from None
    received = read_shape(answer)
    if received == expected:
        return Verdict.correct()
    if len(received) != len(expected):
        return Verdict.incorrect(
            f"{show_shape(received)} has {len(received)} dimensions; {len(expected)} are expected"
        )
    if sorted(map(str, received)) == sorted(map(str, expected)):
        return Verdict.incorrect(f"{show_shape(received)} has the right dimensions in the wrong order")
    wrong = [i + 1 for i, (r, e) in enumerate(zip(received, expected, strict=False)) if r != e]
    which = ", ".join(map(str, wrong))
    return Verdict.incorrect(f"{show_shape(received)}: dimension {which} is not right")


def show_shape(dims: tuple[Dim, ...]) -> str:
    return " x ".join(map(str, dims))


def read_shape(value: Any) -> tuple[Dim, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(_dim_from_item(item) for item in value)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise AnswerError(f"expected a shape such as 24 x 24 x 128, got a {type(value).__name__}")
    if isinstance(value, int):
        return (_positive(value),)
    from grader.mathlang.parser import parse

    node = parse(strip_math_delimiters(value.strip()), mode="shape")
    items = node.items if isinstance(node, ast.TupleLit) else (node,)
    return tuple(_dim_from_node(item, value) for item in items)


def _dim_from_item(item: Any) -> Dim:
    if isinstance(item, bool):
        raise AnswerError("a dimension cannot be true/false")
    if isinstance(item, int):
        return _positive(item)
    if isinstance(item, float) and item.is_integer():
        return _positive(int(item))
    if isinstance(item, str):
        dims = read_shape(item)
        if len(dims) != 1:
            raise AnswerError(f"{item!r} is not a single dimension")
        return dims[0]
    raise AnswerError(f"{item!r} is not a dimension")


def _dim_from_node(node: ast.Node, text: str) -> Dim:
    if isinstance(node, ast.Num):
        if node.value.denominator != 1:
            raise AnswerError(f"a dimension must be a whole number, not {node.value}", text, node.pos)
        return _positive(int(node.value))
    if isinstance(node, ast.Sym):
        return node.name
    from grader.mathlang.evaluate import constant_value
    from grader.mathlang.parser import dump

    if not ast.free_names(node):
        value = constant_value(node)
        if isinstance(value, Fraction) and value.denominator == 1:
            return _positive(int(value))
        raise AnswerError("a dimension must be a whole number", text, node.pos)
    return dump(node)  # a symbolic product such as h d_v, compared by its canonical form


def _positive(value: int) -> int:
    if value < 0:
        raise AnswerError(f"a dimension cannot be negative ({value})")
    return value


ANSWER_TYPE = AnswerType(
    name="shape",
    part=ShapePart,
    check=check,
    hint=fixed_hint("dimensions: 24 x 24 x 128"),
)
