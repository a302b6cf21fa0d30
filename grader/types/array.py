"""``array``: same shape, then every entry within tolerance.

A 1-D list, a row and a column vector are the same vector unless the part says
``strict_shape: true``. Students may write a YAML list, ``[1, 2]``,
``[m, 0]^T`` or a ``\\begin{bmatrix}..\\end{bmatrix}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from grader.core.nested import flatten, nested_shape
from grader.core.numeric import (
    EVALUATOR,
    WrittenNumber,
    formula_number,
    parse_number,
    read_written_number,
    show,
    strip_math_delimiters,
)
from grader.core.parts import PartBase
from grader.core.settle import compare_each
from grader.core.verdict import AnswerError, Certificate, Verdict, read_reference
from grader.mathlang import ast
from grader.mathlang.wording import dims_text
from grader.types.base import AnswerType, example_hint

MAX_ENTRIES = 10_000


class ArrayPart(PartBase):
    type: Literal["array"]
    answer: Any
    strict_shape: bool = False


@dataclass(frozen=True)
class Grid:
    shape: tuple[int, ...]
    entries: tuple[WrittenNumber, ...]  # row-major

    def squeezed(self) -> Grid:
        """Drop length-1 axes of a vector: (1, 3) and (3, 1) become (3,)."""
        kept = tuple(n for n in self.shape if n != 1)
        if len(kept) <= 1:
            return Grid(kept or (1,), self.entries)
        return self


def check(part: ArrayPart, answer: Any) -> Verdict:
    expected = read_reference(read_grid, part.answer, "the reference answer is not an array of numbers")
    received = read_grid(answer)
    if not part.strict_shape:
        expected, received = expected.squeezed(), received.squeezed()
    if received.shape != expected.shape:
        return Verdict.incorrect(
            f"your array has shape {dims_text(received.shape)}; "
            f"the expected shape is {dims_text(expected.shape)}"
        )
    found = compare_each(list(zip(received.entries, expected.entries, strict=True)), part.rtol, part.atol)
    wrong = found.differ
    if not wrong:
        return Verdict.correct(decision=found.decision())
    first, comparison = received.entries[wrong[0]], found.results[wrong[0]]
    shown = (comparison.received_value if comparison else None) or show(first.value, first.decimal)
    where = describe_index(wrong[0], received.shape)
    return Verdict.incorrect(
        f"{len(wrong)} of {len(expected.entries)} entries differ; {where} is {shown}, which is not right",
        decision=found.decision(),
    )


def describe_index(flat: int, shape: tuple[int, ...]) -> str:
    """``entry 3`` or ``entry (2, 1)``, 1-based as students count."""
    index = []
    for size in reversed(shape):
        index.append(flat % size + 1)
        flat //= size
    index.reverse()
    if len(index) == 1:
        return f"entry {index[0]}"
    return f"entry ({', '.join(map(str, index))})"


def read_grid(value: Any) -> Grid:
    if isinstance(value, str):
        value = _nested_from_text(value)
    shape = nested_shape(value)
    flat = flatten(value)
    if len(flat) > MAX_ENTRIES:
        raise AnswerError(f"array too large ({len(flat)} entries; at most {MAX_ENTRIES})")
    return Grid(shape, tuple(_entry(item) for item in flat))


def _entry(item: Any) -> WrittenNumber:
    if isinstance(item, ast.Node):
        decimal = any(isinstance(node, ast.Num) and node.is_float for node in ast.walk(item))
        return formula_number(item, decimal)
    return read_written_number(item)


def _nested_from_text(text: str) -> Any:
    """``[1, 2]``, ``[m, 0]^T``, ``\\begin{bmatrix}..`` -> nested lists of tree nodes."""
    node = parse_number(strip_math_delimiters(text.strip()))
    return _nested_from_node(node, text)


def _nested_from_node(node: ast.Node, text: str) -> Any:
    match node:
        case ast.Transpose(operand=inner):
            nested = _nested_from_node(inner, text)
            if not isinstance(nested, list):
                return nested
            if not nested or not isinstance(nested[0], list):  # 1-D list^T: a column
                return [[item] for item in nested]
            return [list(col) for col in zip(*nested, strict=False)]
        case ast.ListLit(items=items) | ast.TupleLit(items=items):
            return [_nested_from_node(item, text) for item in items]
        case ast.Matrix(rows=rows):
            return [[_nested_from_node(item, text) for item in row] for row in rows]
        case _:
            return node


ARRAY_EXAMPLES = ("[4, 0, -1]", r"\begin{bmatrix} 4 & 0 \end{bmatrix}")

ANSWER_TYPE = AnswerType(
    name="array",
    part=ArrayPart,
    check=check,
    hint=example_hint("a list", ARRAY_EXAMPLES),
    examples=ARRAY_EXAMPLES,
    decided=Certificate.EXACT,
    loads=(EVALUATOR,),
)
