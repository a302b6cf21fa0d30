"""Reading a student's answer against the reference form: one formula, an equation, or a
mapping of named formulas (each graded on its own)."""

from __future__ import annotations

from typing import Any

from grader.core.verdict import AnswerError, Certificate, CheckUndecided, Decision, Verdict
from grader.mathlang import ast
from grader.mathlang.errors import EvalError, ParseError
from grader.mathlang.intervals import ray_as_interval
from grader.mathlang.values import show
from grader.types.expression.compare import compare
from grader.types.expression.equations import compare_equations
from grader.types.expression.intervals import (
    IntervalForm,
    as_interval,
    compare_intervals,
    compare_items,
    read_interval,
)
from grader.types.expression.notation import decimal_comma_hint, read_with_notation
from grader.types.expression.outcome import Outcome, Sides, weakest
from grader.types.expression.prepare import Equation, FieldMap, Formula, Prepared, _text_of


def _is_label(node: ast.Node, prep: Prepared) -> bool:
    match node:
        case ast.Sym():
            return True
        case ast.Prime(operand=ast.Sym()) | ast.Index(operand=ast.Sym()):
            return True
        case ast.Call(name=name, args=args):
            builtin_or_declared = name in prep.function_names
            return not builtin_or_declared and all(isinstance(a, ast.Sym) for a in args)
        case ast.BinOp(op="implicit", left=ast.Sym(name=name), right=ast.Sym()):
            return name not in prep.names
    return False


def strip_label(rel: ast.Relation, prep: Prepared) -> ast.Node:
    """``g(x) = x H(x)`` or ``z = ...`` graded on the formula side."""
    if _is_label(rel.left, prep):
        return rel.right
    if _is_label(rel.right, prep):
        return rel.left
    return rel.right


def _parse_answer(prep: Prepared, answer: Any, extra: tuple[str, ...] = ()) -> tuple[ast.Node, str]:
    text = _text_of(answer)
    return prep.parse(text, extra), text


def check_single(prep: Prepared, ref: Formula | Equation | IntervalForm, answer: Any) -> Outcome:
    if isinstance(ref, IntervalForm):
        return check_interval(prep, ref, answer)
    if isinstance(answer, dict):
        return _single_from_mapping(prep, ref, answer)
    text = _text_of(answer)
    if isinstance(ref, Formula) and not isinstance(ref.node, ast.TupleLit):
        hint = decimal_comma_hint(text)
        if hint is not None:
            raise AnswerError(hint)
    elif isinstance(ref, Formula):
        text = ray_as_interval(text)  # against a pair (0, \infty): \mathbb{R}_{>0}
    read = read_with_notation(text, prep.parse, frozenset(prep.names))
    outcome = compare_forms(prep, ref, read.node, read.text)
    outcome.note = read.note
    return outcome


def check_interval(prep: Prepared, ref: IntervalForm, answer: Any) -> Outcome:
    text = ray_as_interval(_text_of(answer))  # \mathbb{R}_{>0} is (0, +\infty)
    interval = read_interval(text, prep.parse)
    if interval is None:
        interval = as_interval(prep.parse(text))
    if interval is None:
        return Outcome(False, f"expected an interval such as {ref.ends().replace(', ', 'a, b')}")
    return compare_intervals(ref, interval, lambda r, a: compare(prep, Sides(r, a, text)))


def compare_forms(prep: Prepared, ref: Formula | Equation, node: ast.Node, text: str) -> Outcome:
    if isinstance(node, ast.TupleLit) and len(node.items) == 1:
        node = node.items[0]
    if isinstance(ref, Formula):
        if isinstance(node, ast.Relation) and node.op == "=":
            node = strip_label(node, prep)
        if isinstance(ref.node, ast.TupleLit) and isinstance(node, ast.TupleLit):
            return compare_items(ref.node.items, node.items, lambda r, a: compare(prep, Sides(r, a, text)))
        if isinstance(node, ast.Relation | ast.Logic | ast.TupleLit):
            return Outcome(
                False, "expected a formula, not a condition or a list", certificate=Certificate.EXACT
            )
        return compare(prep, Sides(ref.node, node, text))
    if isinstance(node, ast.Relation) and node.op == "=":
        return compare_equations(prep, ref.node, node, text)
    iso = ref.isolated()
    if (
        iso is not None
        and iso[0] not in ast.free_names(node)
        and not isinstance(node, ast.Relation | ast.Logic)
    ):
        return compare(prep, Sides(iso[1], node, text, label=iso[0]))
    return Outcome(False, "expected an equation such as " + show(ref.node))


def _single_from_mapping(prep: Prepared, ref: Formula | Equation, answer: dict[Any, Any]) -> Outcome:
    iso = ref.isolated() if isinstance(ref, Equation) else None
    if iso is None or len(answer) != 1:
        raise AnswerError("expected a formula, not a mapping")
    key, value = next(iter(answer.items()))
    if _field_name(prep, key) != iso[0]:
        raise AnswerError(f"expected {iso[0]} = ..., not {key}")
    node, text = _parse_answer(prep, value)
    return compare(prep, Sides(iso[1], node, text, label=iso[0]))


def _field_name(prep: Prepared, key: Any) -> str:
    text = str(key).strip()
    if text.startswith("\\"):
        text = text[1:]
    try:
        node = prep.parse(str(key))
    except ParseError:
        return text
    return node.name if isinstance(node, ast.Sym) else text


def check_fields(prep: Prepared, ref: FieldMap, answer: Any) -> Verdict:
    """Each field graded on its own: the score is the fraction of right fields."""
    given = _answer_fields(prep, ref, answer)
    lines: list[str] = []
    right = 0
    methods: dict[str, str] = {}
    kinds: list[Certificate] = []
    unreadable: list[AnswerError] = []
    for name, form in ref.fields.items():
        if name not in given:
            lines.append(f"{name}: missing")
            continue
        entry = given[name]
        if isinstance(entry, AnswerError):
            unreadable.append(entry)
            lines.append(entry.render())
            continue
        node, text = entry
        try:
            outcome = compare_forms(prep, form, node, text)
        except EvalError as err:
            unreadable.append(_field_error(name, err))
            lines.append(err.render())
            continue
        methods[name] = outcome.method
        kinds.append(outcome.kind)
        if outcome.equal and prep.part.proof == "required" and not outcome.exact:
            raise CheckUndecided(
                f"{name}: equal at every probe, not proved ({outcome.method}); this part requires "
                "a certificate for every field"
            )
        if outcome.equal:
            right += 1
        else:
            lines.append(f"{name}: {outcome.feedback}")
    if unreadable and len(unreadable) == len(given):
        raise unreadable[0]
    extra = sorted(set(given) - set(ref.fields))
    if extra:
        lines.append("not asked for: " + ", ".join(extra))
    score = right / len(ref.fields)
    method = "; ".join(f"{name}: {how}" for name, how in methods.items())
    kind = weakest(kinds)
    decision = Decision(method, exact=kind.certified, certificate=kind)
    return Verdict.partial(score, "\n".join(lines), decision=decision)


FieldEntry = tuple[ast.Node, str] | AnswerError


def _field_error(name: str, err: AnswerError) -> AnswerError:
    if not err.message.startswith(f"{name}: "):
        err.message = f"{name}: {err.message}"
    return err


def _answer_fields(prep: Prepared, ref: FieldMap, answer: Any) -> dict[str, FieldEntry]:
    fields = tuple(ref.fields)
    out: dict[str, FieldEntry] = {}
    if isinstance(answer, dict):
        for key, value in answer.items():
            name = _field_name(prep, key)
            try:
                out[name] = _parse_answer(prep, value)
            except AnswerError as err:
                out[name] = _field_error(name, err)
        return out
    node, text = _parse_answer(prep, answer, fields)
    items = node.items if isinstance(node, ast.TupleLit) else (node,)
    for item in items:
        if isinstance(item, ast.Logic) and item.op == "and":
            candidates: tuple[ast.Node, ...] = item.operands
        else:
            candidates = (item,)
        for rel in candidates:
            if not (isinstance(rel, ast.Relation) and rel.op == "="):
                raise AnswerError(f"expected {', '.join(f'{f} = ...' for f in fields)}", text, item.pos)
            left, right = rel.left, rel.right
            if not _is_field(left, fields) and _is_field(right, fields):
                left, right = right, left
            if not isinstance(left, ast.Sym):
                raise AnswerError(f"expected {', '.join(f'{f} = ...' for f in fields)}", text, rel.pos)
            out[left.name] = (right, text)
    return out


def _is_field(node: ast.Node, fields: tuple[str, ...]) -> bool:
    return isinstance(node, ast.Sym) and node.name in fields
