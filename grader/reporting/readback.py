r"""How grader read an answer, written back in plain math and LaTeX.

``grader check`` shows a student, before the deadline, what grader understood:
``1/2x`` reads ``1/(2 x)``, ``\sigma(x)(1-\sigma(x))`` reads ``sigma(x) (1 - sigma(x))``
when ``sigma`` is a function and ``sigma x (1 - sigma x)`` when it is a symbol,
``(B) piecewise-linear`` reads option ``B``. Nothing here decides right or wrong.

The answer is parsed with the names its part declares (symbols, arrays, lets,
fields, network parameters, functions), as the checker parses it. An answer
that cannot be read gives no reading: the engine's ``invalid`` verdict says why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from grader.core.numeric import read_written_number, show, strip_math_delimiters
from grader.core.parts import PartBase
from grader.core.verdict import AnswerError
from grader.mathlang import ast
from grader.mathlang.errors import MathError
from grader.mathlang.names import function_names
from grader.mathlang.parser import parse
from grader.mathlang.render import to_latex, to_text
from grader.mathlang.values import number_text
from grader.types.choice import ChoicePart, describe, read_choices
from grader.types.shape import read_shape, show_shape

TEXT_PREVIEW_CHARS = 80
# Fields of a part model that declare names a formula may use.
NAME_FIELDS = ("symbols", "arrays", "let", "constants", "params", "fields")


@dataclass(frozen=True)
class AnswerReading:
    """One answer (or one field of a mapping answer) as grader read it."""

    label: str  # "" for the whole answer, the field name for a mapping
    text: str
    latex: str | None = None


def read_back(part: PartBase, answer: Any) -> list[AnswerReading]:
    """The answer as read; an empty list when it cannot be read (the verdict says why)."""
    reader = _READERS.get(part.type, _formula_reading)
    try:
        return reader(part, answer)
    except (AnswerError, MathError, ValueError, TypeError, RecursionError):
        return []


def _choice_reading(part: PartBase, answer: Any) -> list[AnswerReading]:
    assert isinstance(part, ChoicePart)
    chosen = read_choices(part.options, answer, allow_many=not isinstance(part.answer, str))
    keys = [key for key in part.options if key in chosen]  # in the options' order
    options = ", ".join(describe(part.options, key) for key in keys)
    return [AnswerReading("", f"option {options}" if len(keys) == 1 else f"options {options}")]


def _shape_reading(part: PartBase, answer: Any) -> list[AnswerReading]:
    dims = read_shape(answer)
    latex = r" \times ".join(str(d) for d in dims)
    return [AnswerReading("", show_shape(dims), latex)]


def _number_reading(part: PartBase, answer: Any) -> list[AnswerReading]:
    written = read_written_number(answer)
    value = written.value
    # As the student wrote it: a decimal stays a decimal (0.6652, not 1663/2500).
    shown = number_text(value, written.decimal) if isinstance(value, Fraction) else show(value)
    if not isinstance(answer, str):
        return [AnswerReading("", shown, shown)]
    tree = _parse_or_none(strip_math_delimiters(answer.strip()), (), ())
    if tree is None or isinstance(tree, ast.TupleLit | ast.Num):  # 131,072 or a plain number
        return [AnswerReading("", shown, shown)]
    text, latex = to_text(tree), to_latex(tree)
    if not isinstance(tree, ast.Relation):
        value_text = show(value, decimal=written.decimal)
        text, latex = f"{text} = {value_text}", f"{latex} = {value_text}"
    return [AnswerReading("", text, latex)]


def _text_reading(part: PartBase, answer: Any) -> list[AnswerReading]:
    text = " ".join(str(answer).split())
    words = len(text.split())
    preview = text if len(text) <= TEXT_PREVIEW_CHARS else text[:TEXT_PREVIEW_CHARS] + "…"
    return [AnswerReading("", f"{words} words, graded by a TA: {preview}")]


def _formula_reading(part: PartBase, answer: Any) -> list[AnswerReading]:
    names, functions = declared_names(part)
    mode = "complexity" if part.type == "complexity" else "expr"
    if isinstance(answer, dict):
        readings = []
        for key, value in answer.items():
            node = _value_node(value, names, functions, mode)
            readings.append(AnswerReading(str(key), to_text(node), to_latex(node)))
        return readings
    if isinstance(answer, str) and answer.strip().lower() == "impossible":
        return [AnswerReading("", "impossible")]
    node = _value_node(answer, names, functions, mode)
    return [AnswerReading("", to_text(node), to_latex(node))]


def declared_names(part: PartBase) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(names, function names) a formula in this part may use."""
    names: list[str] = []
    for field in NAME_FIELDS:
        value = getattr(part, field, None)
        if isinstance(value, dict | tuple | list):
            names += [str(name) for name in value]
    inputs = getattr(part, "input", None)
    names += [inputs] if isinstance(inputs, str) else list(inputs or ())
    if isinstance(part.answer, dict):  # an expression part's named formulas
        names += [str(key) for key in part.answer]
    declared = tuple(str(name) for name in getattr(part, "functions", {}) or {})
    unique = tuple(dict.fromkeys(names))
    return unique, function_names(declared, unique)


def _value_node(value: Any, names: Iterable[str], functions: Iterable[str], mode: str) -> ast.Node:
    """A YAML value as a tree: text is parsed, numbers and lists are taken as they are."""
    if isinstance(value, bool):
        return ast.Sym(0, str(value).lower())
    if isinstance(value, int):
        return ast.Num(0, Fraction(value))
    if isinstance(value, float):
        return ast.Num(0, Fraction(str(value)), is_float=True)
    if isinstance(value, list):
        return ast.ListLit(0, tuple(_value_node(item, names, functions, mode) for item in value))
    if isinstance(value, str):
        return parse(strip_math_delimiters(value.strip()), symbols=names, functions=functions, mode=mode)
    raise TypeError(f"cannot read a {type(value).__name__}")


def _parse_or_none(text: str, names: Iterable[str], functions: Iterable[str]) -> ast.Node | None:
    try:
        return parse(text, symbols=names, functions=functions)
    except MathError:
        return None


def _code_reading(part: PartBase, answer: Any) -> list[AnswerReading]:
    """Code is read as typed, never as a formula (``return torch.relu(x)`` is no product)."""
    return []


_READERS: dict[str, Callable[[PartBase, Any], list[AnswerReading]]] = {
    "code": _code_reading,
    "choice": _choice_reading,
    "shape": _shape_reading,
    "number": _number_reading,
    "text": _text_reading,
}
