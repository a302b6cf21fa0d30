"""``constraint``: a tuple of named values (``k, s, p, d``) checked against predicates.

Several answers may be right (any conv configuration giving the output size),
so the reference is only an example; an answer is correct when

* every field has a value (a field the question fixes in ``given`` may be left
  out: it takes the given value);
* every ``given`` value is kept (``d`` given as 7, an answer with ``d = 1`` is wrong);
* values are whole numbers unless ``integer_fields: false``;
* every ``require`` predicate holds, evaluated exactly over Fractions (no floats):
  comparisons, ``=``, ``and``/``or``/``not``, ``floor``/``ceil``/``mod``.

An answer is a mapping (``{k: 8, s: 2, p: 3, d: 1}``) or text: ``k = 8, s = 2``,
``k=8; s=2``, one per line, ``(k, s, p, d) = (8, 2, 3, 1)``. Values may be
expressions (``2^3``). Names that are not fields are ignored and mentioned in
the feedback. The feedback says which of the question's conditions the values do not meet
(by its number in ``require``), never the condition itself: the predicate is the TA's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any, Literal

from pydantic import Field

from grader.core.numeric import EVALUATOR, read_number_text, read_written_number, strip_math_delimiters
from grader.core.numeric import show as show_number
from grader.core.parts import PartBase, Scalar
from grader.core.verdict import AnswerError, Certificate, Verdict
from grader.mathlang import ast
from grader.mathlang.errors import EvalError, MathError
from grader.mathlang.parser import parse
from grader.types.base import AnswerType

Value = Fraction
_UNDEFINED = "undefined"


class ConstraintPart(PartBase):
    type: Literal["constraint"]
    fields: tuple[str, ...]
    given: dict[str, Scalar] = Field(default_factory=dict)
    require: tuple[str, ...]
    answer: dict[str, Scalar]
    # Fields are whole numbers unless the TA says otherwise (kernel sizes, strides...).
    integer_fields: bool = True


@dataclass(frozen=True)
class Predicate:
    text: str
    tree: ast.Node


@dataclass(frozen=True)
class Setting:
    fields: tuple[str, ...]
    given: tuple[tuple[str, Value], ...]
    require: tuple[Predicate, ...]


@dataclass
class Assignment:
    """The values an answer gives, and the names it gives that are not fields."""

    values: dict[str, Value]
    unknown: list[str]


def check(part: ConstraintPart, answer: Any) -> Verdict:
    setting = _setting(
        tuple(part.fields), tuple((str(k), str(v)) for k, v in part.given.items()), tuple(part.require)
    )
    fixed = {name for name, _ in setting.given}
    open_fields = tuple(f for f in setting.fields if f not in fixed)
    assignment = read_assignment(answer, setting.fields, open_fields)
    verdict = judge(assignment, setting, part.integer_fields)
    if assignment.unknown:
        note = f"ignored {', '.join(assignment.unknown)}: not one of {', '.join(setting.fields)}"
        feedback = f"{verdict.feedback}; {note}" if verdict.feedback else note
        return dataclasses.replace(verdict, feedback=feedback)
    return verdict


def same_answer(part: ConstraintPart, listed: Any, answer: Any) -> bool:
    """Whether ``answer`` gives the values of the listed mistake ``listed``.

    Correctness here comes from the predicates, not from comparing with a reference,
    so a known mistake is recognised by its values (the engine's mistake matcher)."""
    setting = _setting(
        tuple(part.fields), tuple((str(k), str(v)) for k, v in part.given.items()), tuple(part.require)
    )
    fixed = {name for name, _ in setting.given}
    open_fields = tuple(f for f in setting.fields if f not in fixed)
    try:
        mistake = read_assignment(listed, setting.fields, open_fields)
    except AnswerError as exc:
        raise ValueError(f"problem spec: a listed mistake cannot be read: {exc.render()}") from exc
    given = read_assignment(answer, setting.fields, open_fields)
    return _completed(mistake.values, setting) == _completed(given.values, setting)


def _completed(values: dict[str, Value], setting: Setting) -> dict[str, Value]:
    return {**dict(setting.given), **values}


# -- the spec ------------------------------------------------------------------


@lru_cache(maxsize=256)
def _setting(
    fields: tuple[str, ...], given: tuple[tuple[str, str], ...], require: tuple[str, ...]
) -> Setting:
    """Parsed predicates and exact given values; problems in the spec are ValueError."""
    if len(set(fields)) != len(fields):
        raise ValueError(f"problem spec: fields {list(fields)} repeat a name")
    predicates = tuple(Predicate(text, _spec_predicate(text, fields)) for text in require)
    values = []
    for name, value in given:
        if name not in fields:
            raise ValueError(f"problem spec: given {name!r} is not one of the fields {list(fields)}")
        try:
            values.append((name, read_value(value)))
        except AnswerError as exc:
            raise ValueError(f"problem spec: given {name} = {value!r}: {exc.message}") from exc
    return Setting(fields, tuple(values), predicates)


def _spec_predicate(text: str, fields: tuple[str, ...]) -> ast.Node:
    try:
        tree = parse(text, symbols=fields)
    except MathError as exc:
        raise ValueError(f"problem spec: require {text!r} cannot be read: {exc.render()}") from exc
    unknown = sorted(ast.free_names(tree) - set(fields))
    if unknown:
        raise ValueError(f"problem spec: require {text!r} uses {unknown}, which are not fields")
    if not isinstance(tree, ast.Relation | ast.Logic):
        raise ValueError(f"problem spec: require {text!r} is not a condition")
    return tree


# -- reading answers --------------------------------------------------------------


def read_assignment(answer: Any, fields: tuple[str, ...], open_fields: tuple[str, ...] = ()) -> Assignment:
    """The values of an answer. A bare value (``8``) is accepted when exactly one field,
    ``open_fields``, is not fixed by the question."""
    if isinstance(answer, Mapping):
        return _from_mapping(answer, fields)
    if len(open_fields) == 1 and _is_bare_value(answer):
        return Assignment({open_fields[0]: read_value(answer)}, [])
    if isinstance(answer, str):
        return _from_text(answer, fields)
    example = ", ".join(f"{f} = 1" for f in fields)
    raise AnswerError(f"expected values for {', '.join(fields)} such as {example}, got {answer!r}")


def _is_bare_value(answer: Any) -> bool:
    if isinstance(answer, bool):
        return False
    return isinstance(answer, int | float | Fraction) or (isinstance(answer, str) and "=" not in answer)


def _field_name(name: str, fields: tuple[str, ...]) -> str:
    """``K`` means ``k`` when only one field matches it ignoring case."""
    if name in fields:
        return name
    matches = [f for f in fields if f.lower() == name.lower()]
    return matches[0] if len(matches) == 1 else name


def _from_mapping(answer: Mapping[Any, Any], fields: tuple[str, ...]) -> Assignment:
    values: dict[str, Value] = {}
    unknown: list[str] = []
    for key, value in answer.items():
        name = _field_name(str(key).strip(), fields)
        if name not in fields:
            unknown.append(name)
            continue
        try:
            values[name] = read_value(value)
        except AnswerError as exc:
            raise AnswerError(f"{name}: {exc.message}", exc.text, exc.position) from exc
    return Assignment(values, unknown)


def read_value(value: Any) -> Value:
    """An exact value from a YAML scalar or a formula without symbols (``2^3``); a decimal
    is the number written (``0.1`` is 1/10)."""
    if isinstance(value, bool) or value is None:
        raise AnswerError(f"expected a number, got {value!r}")
    if isinstance(value, Fraction):
        return value
    if not isinstance(value, str):
        return Fraction(read_written_number(value).value)  # ints and floats are read exactly
    text = strip_math_delimiters(value.strip())
    if not text:
        raise AnswerError("expected a number, got nothing")
    try:
        number = read_number_text(text).value
    except MathError as exc:
        raise _with_text(exc, text) from exc
    if not isinstance(number, Fraction):
        raise EvalError(f"{text} is not a rational number", text, 0)
    return number


def _constant(node: ast.Node, text: str) -> Value:
    from grader.mathlang.constant import constant_value  # numpy: imported when a formula is read
    from grader.mathlang.values import show as show_node

    try:
        value = constant_value(node)
    except MathError as exc:
        raise _with_text(exc, text) from exc
    if not isinstance(value, Fraction):
        raise EvalError(f"{show_node(node)} is not a rational number", text, node.pos)
    return value


def _from_text(answer: str, fields: tuple[str, ...]) -> Assignment:
    text = _separators(strip_math_delimiters(answer.strip()))
    tree = parse(text, symbols=fields)
    values: dict[str, Value] = {}
    unknown: list[str] = []
    for name_node, value_node in _pairs(tree, text):
        name = _field_name(name_node.name, fields)
        names = sorted(ast.free_names(value_node))
        if names:
            message = f"the value of {name} must be a number, not a formula in {', '.join(names)}"
            raise AnswerError(message, text, value_node.pos)
        value = _constant(value_node, text)
        if name not in fields:
            unknown.append(name)
        elif name in values and values[name] != value:
            raise AnswerError(f"{name} is given twice, with different values", text, name_node.pos)
        else:
            values[name] = value
    return Assignment(values, unknown)


def _separators(text: str) -> str:
    """One field per line, or ``k: 8`` written without any ``=``: the same length, so
    positions (carets) stay right."""
    lines = text.split("\n")
    text = ";".join(lines) if len(lines) > 1 else text
    if "=" not in text and ":" in text:
        text = text.replace(":", "=")
    return text


def _pairs(tree: ast.Node, text: str) -> list[tuple[ast.Sym, ast.Node]]:
    """(name, value) pairs of ``k = 8, s = 2``, ``k = 8 and s = 2`` or ``(k, s) = (8, 2)``."""
    match tree:
        case ast.TupleLit(items=items) | ast.Logic(op="and", operands=items):
            return [pair for item in items for pair in _pairs(item, text)]
        case ast.Relation(op="=", left=ast.TupleLit(items=names), right=ast.TupleLit(items=values)):
            if len(names) != len(values):
                raise AnswerError(f"{len(names)} names but {len(values)} values", text, tree.right.pos)
            return [pair for n, v in zip(names, values, strict=True) for pair in _pair(n, v, text)]
        case ast.Relation(op="=", left=left, right=right):
            return _pair(left, right, text)
    raise AnswerError("write each value as name = value, separated by commas (k = 8, s = 2)", text, tree.pos)


def _pair(name: ast.Node, value: ast.Node, text: str) -> list[tuple[ast.Sym, ast.Node]]:
    if not isinstance(name, ast.Sym):
        raise AnswerError("expected name = value pairs separated by commas (k = 8, s = 2)", text, name.pos)
    return [(name, value)]


def _with_text(exc: MathError, text: str) -> MathError:
    if exc.text is None:
        exc.text = text
    return exc


# -- judging --------------------------------------------------------------------


def judge(assignment: Assignment, setting: Setting, integer_fields: bool = True) -> Verdict:
    values = dict(assignment.values)
    for name, fixed in setting.given:
        if name not in values:
            values[name] = fixed  # a field the question fixes may be left out
        elif values[name] != fixed:
            return Verdict.incorrect(
                f"{name} must stay {show_number(fixed)} (the question fixes it); you have "
                f"{show_number(values[name])}"
            )
    missing = [f for f in setting.fields if f not in values]
    if missing:
        return Verdict.incorrect(f"no value for {', '.join(missing)}")
    if integer_fields:
        for name in setting.fields:
            if values[name].denominator != 1:
                return Verdict.incorrect(f"{name} must be a whole number, not {show_number(values[name])}")
    failures = {
        n: f for n, p in enumerate(setting.require, start=1) if (f := _failure(p, values)) is not None
    }
    if not failures:
        return Verdict.correct()
    # What is wrong with the answer, never the condition: the TA's predicate would tell the
    # student what to solve for (issue 60). The TA finds condition n in the problem file's require.
    first = min(failures, key=lambda n: (failures[n] == _UNDEFINED, n))  # plain failures first
    shown = ", ".join(f"{name} = {show_number(values[name])}" for name in setting.fields)
    total = len(setting.require)
    what = f"condition {first} of the question's {total}" if total > 1 else "the question's condition"
    said = (
        f"with {shown}, {what} cannot be evaluated (your values leave it undefined)"
        if failures[first] == _UNDEFINED
        else f"{shown} does not meet {what}"
    )
    more = len(failures) - 1
    return Verdict.incorrect(
        said + (f" (and {more} more condition{'s' if more > 1 else ''})" if more else "")
    )


def _failure(predicate: Predicate, values: dict[str, Value]) -> str | None:
    """None when ``predicate`` holds at ``values``; else "fails", or :data:`_UNDEFINED` when it
    cannot be evaluated there (a division by zero)."""
    try:
        return None if _holds(predicate.tree, values) else "fails"
    except MathError:
        return _UNDEFINED


def _holds(tree: ast.Node, values: dict[str, Value]) -> bool:
    from grader.mathlang.evaluate import evaluate_exact  # numpy: imported when a predicate is judged

    return bool(evaluate_exact(tree, values))


def template_hint(part: ConstraintPart) -> str:
    return "{" + ", ".join(f"{name}: ..." for name in part.fields) + "}"


ANSWER_TYPE = AnswerType(
    name="constraint",
    part=ConstraintPart,
    check=check,
    hint=template_hint,
    same_mistake=same_answer,
    decided=Certificate.EXACT,
    loads=(EVALUATOR,),
    value_after_label=False,
    formulas_apart="items",
)
