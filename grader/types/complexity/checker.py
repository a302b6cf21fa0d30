"""``complexity``: Θ / O / Ω of an expression in positive, growing symbols.

The answer and the reference become sums of terms (:mod:`grader.types.complexity.reading`;
dominance in :mod:`grader.types.complexity.dominance`); two answers are the same
class when each one's dominant terms are dominated by the other's, so constants,
lower-order terms and expanded or factored forms do not matter:
``O(2n^2 d + n d^2 + n^2)`` is ``Θ(n^2 d + n d^2)``.

* A bare expression (``n^2 d + n d^2``) is read as Θ of it.
* Against a Θ reference, an ``O(...)`` or ``Ω(...)`` of the right class is
  accepted when ``accept_big_o`` (the default); a strictly larger O is "an upper
  bound but not tight".
* Assumptions (``d <= n``, ``d <= n^2``) relate two monomials; with ``d <= n``,
  ``n^2 d + n d^2`` is Θ(n^2 d).
* A symbol the part does not declare (``\\Theta(d^w + nd)``) makes the answer
  invalid, with a caret under it. A subtracted term that is not negligible, or a
  tie only log factors could break, is reported as undecided (status ``error``).
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

from grader.core.numeric import strip_math_delimiters
from grader.core.verdict import AnswerError, Certificate, CheckUndecided, Decision, Reading, Verdict
from grader.mathlang import ast
from grader.mathlang.errors import MathError
from grader.mathlang.limits import check_exact_number
from grader.mathlang.parser import parse
from grader.types.complexity.dominance import Monomial, NotPositive, Space
from grader.types.complexity.part import ComplexityPart
from grader.types.complexity.reading import TermReader

SIGN = {"Theta": "Θ", "O": "O", "Omega": "Ω"}
# Every verdict of this type is decided exactly: terms in a normal form, dominance by exact
# linear programs over rational exponents, exact constants' signs separated by ball arithmetic.
DECIDED = Decision(
    "exact: dominant terms of both classes compared (normal form of growth rates, "
    "exact linear programs over the exponents)",
    certificate=Certificate.EXACT,
)
_UPPER, _LOWER = "O", "Omega"


@dataclass(frozen=True)
class Complexity:
    """A bound kind and the terms that set the class, dominant first."""

    kind: str  # Theta | O | Omega
    terms: tuple[Monomial, ...]
    written: bool = True  # False for a bare expression, read as Θ


@dataclass(frozen=True)
class Setting:
    space: Space
    reference: Complexity


def check(part: ComplexityPart, answer: Any) -> Verdict:
    setting = _setting(part.answer, tuple(part.symbols), tuple(part.assumptions))
    text = _answer_text(answer)
    try:
        student = read_complexity(parse_complexity(text, setting.space.symbols), setting.space, text)
    except NotPositive as exc:
        return Verdict.incorrect(f"not a growth rate: {exc}", decision=DECIDED)
    _check_exponent_sizes(student)
    if any(term.growth for term in student.terms):  # sympy constants: judged each time
        return judge(student, setting.reference, setting.space, part.accept_big_o)
    # A class writes the same class many ways (``Θ(n^2 d)``, ``O(d n n)``, ``\\Theta(3 n^2 d / 3)``):
    # judged once for a class read the same against the same part. Its text is the key: every
    # exponent an exact Fraction, one text is one class.
    text = repr(student)
    if len(text) > _JUDGED_TEXT:  # a long class (hundreds of terms): judged each time, not kept
        return judge(student, setting.reference, setting.space, part.accept_big_o)
    key = (text, part.answer, tuple(part.symbols), tuple(part.assumptions), part.accept_big_o)
    verdict = _JUDGED.get(key)
    if verdict is None:
        verdict = judge(student, setting.reference, setting.space, part.accept_big_o)
        if len(_JUDGED) >= _JUDGED_KEPT:
            _JUDGED.clear()
        _JUDGED[key] = verdict
    return verdict


_JUDGED: dict[tuple[Any, ...], Verdict] = {}
_JUDGED_KEPT = 2048
_JUDGED_TEXT = 2_000  # characters of a class's text, at most, for it to be kept


def _check_exponent_sizes(complexity: Complexity) -> None:
    """Refuse (invalid, as anywhere else) an exponent past the number-size limit:
    ``n^{abs(2^{999})^{20}}`` has an exponent of 6,015 digits, too large to grade."""
    for term in complexity.terms:
        exact_constants = (c.rational for _, c in term.growth)
        for exponent in (*term.powers, *term.logs, *term.loglogs, *exact_constants):
            if exponent is not None:
                check_exact_number(exponent)


# -- reading ---------------------------------------------------------------------


def parse_complexity(text: str, symbols: tuple[str, ...]) -> ast.Node:
    return parse(text, symbols=symbols, mode="complexity")


def read_complexity(tree: ast.Node, space: Space, text: str | None = None) -> Complexity:
    """The class of a parsed answer; ``T(n) = Θ(..)`` keeps the side holding the bound."""
    tree = _bound_side(tree)
    reading = TermReader(space, text).read(tree)
    kinds = {kind for kind, _ in reading.bounds}
    if len(kinds) > 1:
        shown = " and ".join(SIGN[k] for k in sorted(kinds))
        raise CheckUndecided(f"the answer mixes {shown} bounds")
    kind = kinds.pop() if kinds else "Theta"
    terms = space.classify(reading.poly, "the answer")
    return Complexity(kind, terms, written=bool(reading.bounds))


def _bound_side(tree: ast.Node) -> ast.Node:
    """``T(n) = Θ(n^2)`` or a chain ``Θ(a) + Θ(b) = Θ(a + b)``: the last side with a bound."""
    if not isinstance(tree, ast.Relation) or tree.op != "=":
        return tree
    sides = [tree.right, tree.left]
    for side in sides:
        if any(isinstance(n, ast.Call) and n.name in SIGN for n in ast.walk(side)):
            return _bound_side(side)
    return tree


def _answer_text(answer: Any) -> str:
    if isinstance(answer, bool) or not isinstance(answer, (str, int, float, Fraction)):
        raise AnswerError(
            f"expected one complexity class (Θ, O or Ω of an expression), got a {type(answer).__name__}"
        )
    return strip_math_delimiters(str(answer).strip())


@lru_cache(maxsize=256)
def _setting(reference: str, symbols: tuple[str, ...], assumptions: tuple[str, ...]) -> Setting:
    """The part's space (symbols, assumption cone) and its reference class; spec errors are ValueError."""
    text = strip_math_delimiters(str(reference).strip())
    tree = _spec_tree(text, symbols, "reference answer")
    if not symbols:
        symbols = tuple(sorted(ast.free_names(tree)))
    space = Space(symbols)
    cone = tuple(row for a in assumptions for row in _assumption_rows(a, space))
    space = Space(symbols, cone)
    try:
        return Setting(space, read_complexity(tree, space, text))
    except (AnswerError, CheckUndecided) as exc:
        raise ValueError(f"problem spec: reference answer {reference!r}: {_message(exc)}") from exc


def class_terms(reference: str) -> list[str]:
    """The class and each term that sets it, as feedback would write them (``n^2 d``): each one
    is the key's. Read without the part's assumptions, which only drop terms; [] when unreadable."""
    try:
        setting = _setting(reference, (), ())
    except (ValueError, AnswerError, CheckUndecided):
        return []
    reference_class = setting.reference
    terms = [setting.space.show(term) for term in reference_class.terms]
    return [show(reference_class, setting.space), setting.space.show_sum(reference_class.terms), *terms]


def _spec_tree(text: str, symbols: tuple[str, ...], what: str) -> ast.Node:
    try:
        return parse_complexity(text, symbols)
    except MathError as exc:
        raise ValueError(f"problem spec: {what} {text!r} cannot be read: {exc.render()}") from exc


def _assumption_rows(text: str, space: Space) -> list[tuple[Fraction, ...]]:
    """``d <= n`` -> the row ``c`` of ``c . t <= 0`` (exponents of d minus those of n)."""
    tree = _spec_tree(text, space.symbols, "assumption")
    relations = tree.operands if isinstance(tree, ast.Logic) and tree.op == "and" else (tree,)
    rows: list[tuple[Fraction, ...]] = []
    for relation in relations:
        if not isinstance(relation, ast.Relation) or relation.op == "!=":
            raise ValueError(f"problem spec: assumption {text!r} must compare two terms (d <= n)")
        small, large = _single_term(relation.left, space, text), _single_term(relation.right, space, text)
        if relation.op in (">", ">="):
            small, large = large, small
        pairs = [(small, large), (large, small)] if relation.op == "=" else [(small, large)]
        for low, high in pairs:
            row = tuple(a - b for a, b in zip(low.powers, high.powers, strict=True))
            if all(x <= 0 for x in row):
                continue  # always true for growing symbols (1 <= n, d <= d n)
            if all(x >= 0 for x in row):
                raise ValueError(f"problem spec: assumption {text!r} would stop a symbol from growing")
            rows.append(row)
    return rows


def _single_term(node: ast.Node, space: Space, text: str) -> Monomial:
    try:
        terms = space.classify(TermReader(space, text).read(node).poly, "an assumption side")
    except (AnswerError, CheckUndecided) as exc:
        raise ValueError(f"problem spec: assumption {text!r}: {_message(exc)}") from exc
    if len(terms) != 1 or any(terms[0].logs) or any(terms[0].loglogs):
        raise ValueError(f"problem spec: assumption {text!r} must compare single terms without logs")
    return terms[0]


def _message(exc: Exception) -> str:
    return exc.render() if isinstance(exc, AnswerError) else str(exc)


# -- judging -----------------------------------------------------------------------


def judge(student: Complexity, reference: Complexity, space: Space, accept_big_o: bool = True) -> Verdict:
    """The verdict, with its certificate: every one of them is decided exactly."""
    return dataclasses.replace(_judge(student, reference, space, accept_big_o), decision=DECIDED)


def _judge(student: Complexity, reference: Complexity, space: Space, accept_big_o: bool) -> Verdict:
    """The verdict, worded about the student's class only: the reference's class and terms stay
    with the TA (``Reading.expected``, shown in the TA's views), the student reads where their
    bound goes wrong ("too small when d grows faster than n")."""
    missing = [t for t in reference.terms if not space.dominated_by(t, student.terms)]
    extra = [t for t in student.terms if not space.dominated_by(t, reference.terms)]
    shown = show(student, space)
    reading = Reading(received=shown, expected=show(reference, space))
    kind, wanted = student.kind, reference.kind
    if kind != "Theta" and wanted != "Theta" and kind != wanted:
        return Verdict.incorrect(
            f"{shown} is {_bound_word(kind)}; the question asks for {_bound_word(wanted)}", reading=reading
        )
    if not missing and not extra:
        if kind == wanted or kind == "Theta":
            return Verdict.correct("", reading=reading)
        if accept_big_o:
            tight = show(dataclasses.replace(student, kind="Theta"), space)
            return Verdict.correct(f"accepted; the tight statement is {tight}", reading=reading)
        return Verdict.incorrect(
            f"{shown} is only {_bound_word(kind)}; the question asks for {_bound_word(wanted)}",
            reading=reading,
        )
    too_small = _too("small", missing, student.terms, space)
    too_large = _too("large", extra, reference.terms, space)
    if kind == _UPPER:
        if not missing:
            return Verdict.incorrect(f"{shown} is an upper bound but not tight: {too_large}", reading=reading)
        return Verdict.incorrect(f"{shown} is not an upper bound: {too_small}", reading=reading)
    if kind == _LOWER:
        if not extra:
            return Verdict.incorrect(f"{shown} is a lower bound but not tight: {too_small}", reading=reading)
        return Verdict.incorrect(f"{shown} is not a lower bound: {too_large}", reading=reading)
    wrong = "; ".join(text for text, terms in ((too_small, missing), (too_large, extra)) if terms)
    return Verdict.incorrect(f"{shown} is not the right class: {wrong}", reading=reading)


def _bound_word(kind: str) -> str:
    return {"O": "an upper bound (O)", "Omega": "a lower bound (Ω)", "Theta": "a tight bound (Θ)"}[kind]


def _too(word: str, outgrowing: list[Monomial], others: tuple[Monomial, ...], space: Space) -> str:
    """``it is too small when d grows faster than n``: a way the symbols grow along which one
    of ``outgrowing`` beats every term of ``others``, named by the symbols alone (never a term)."""
    for term in outgrowing:
        rates = space.outgrowing_direction(term, others)
        if rates is not None:
            return f"it is too {word} {_regime(space.symbols, rates)}"
    if len(space.symbols) == 1:
        return f"it is too {word} as {space.symbols[0]} grows"
    return f"it is too {word} for some ways the symbols grow"


def _regime(symbols: tuple[str, ...], rates: tuple[int, ...]) -> str:
    """``when n grows faster than d``, ``when n and d grow alike and k stays fixed``."""
    if len(symbols) == 1:
        return f"as {symbols[0]} grows"
    speeds = sorted({rate for rate in rates if rate}, reverse=True)
    groups = [[s for s, r in zip(symbols, rates, strict=True) if r == speed] for speed in speeds]
    fixed = [s for s, r in zip(symbols, rates, strict=True) if not r]
    first = groups[0]
    if len(groups) == 1:
        text = f"when {_names(first)} {'grow alike' if len(first) > 1 else 'grows'}"
    else:
        text = f"when {_names(first)} {'grow' if len(first) > 1 else 'grows'} faster than {_names(groups[1])}"
        text += "".join(
            f", and {_names(a)} faster than {_names(b)}" for a, b in itertools.pairwise(groups[1:])
        )
    if fixed:
        text += f" and {_names(fixed)} {'stays' if len(fixed) == 1 else 'stay'} fixed"
    return text


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"


def show(complexity: Complexity, space: Space) -> str:
    return f"{SIGN[complexity.kind]}({space.show_sum(complexity.terms)})"
