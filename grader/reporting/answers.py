"""A received answer read back the way grader reads it, for pages and statistics.

A report keeps each answer as text (``PartResult.received``: the student's
string, or JSON for a YAML list or mapping). :func:`read_received` parses it
with the part's names (``nd`` is ``n d`` when the part declares n and d) into
grader's own tree, field by field for a mapping; an answer that is not a
formula (a choice, an essay, unreadable text) keeps only its text.

Nothing is evaluated here, and nothing a student writes is run: the text goes
to :func:`grader.mathlang.parser.parse` only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from grader.core.numeric import strip_math_delimiters
from grader.core.parts import PartBase
from grader.core.verdict import CheckUndecided
from grader.mathlang import ast
from grader.mathlang.errors import MathError
from grader.mathlang.lexer import GREEK_NAMES
from grader.mathlang.names import function_names
from grader.mathlang.parser import parse
from grader.reporting.readback import declared_names
from grader.types.expression.intervals import IntervalForm, read_interval
from grader.types.expression.part import ExpressionPart

# Answers to these types are prose or an option, never shown as formulas.
TEXT_TYPES = frozenset({"text", "choice"})
# Longest symbol name in an answer of unknown type still taken for a formula:
# a sentence parses into long names ("yes", "because"), a formula rarely does.
MAX_UNDECLARED_NAME = 2


@dataclass(frozen=True)
class ReadContext:
    """How grader parses answers to one part."""

    symbols: tuple[str, ...] = ()
    functions: tuple[str, ...] = ()
    mode: str = "expr"
    # False when the part's type is unknown (a report read from JSON): then an
    # answer counts as a formula only when it does not look like words.
    typed: bool = True


@dataclass(frozen=True)
class ReadAnswer:
    """One answer: its text, its tree when it reads as a formula, its fields when a mapping."""

    text: str
    tree: ast.Node | None = None
    fields: tuple[tuple[str, ReadAnswer], ...] = ()
    interval: IntervalForm | None = None  # a half-open interval such as [0, 1)

    @property
    def is_formula(self) -> bool:
        if self.tree is not None or self.interval is not None:
            return True
        return bool(self.fields) and all(f.is_formula for _, f in self.fields)


UNTYPED = ReadContext(functions=function_names(), typed=False)


def read_context(part: PartBase | None, type_name: str = "") -> ReadContext | None:
    """The part's names and parse mode; None when its answers are not formulas."""
    kind = part.type if part is not None else type_name
    if kind in TEXT_TYPES:
        return None
    mode = {"complexity": "complexity", "shape": "shape"}.get(kind, "expr")
    if part is None:
        return UNTYPED if not kind else ReadContext(functions=function_names(), mode=mode)
    kept = _CONTEXTS.get(id(part))  # (part, context): the part held, so its id is never another's
    if kept is None or kept[0] is not part:
        names, functions = declared_names(part)  # as the checker declares them
        kept = (part, ReadContext(names, functions, mode))
        if len(_CONTEXTS) >= _KEPT_CONTEXTS:
            _CONTEXTS.clear()
        _CONTEXTS[id(part)] = kept
    return kept[1]


# Each part's reading context, made once: a page, a digest and the statistics ask it of every
# answer. Parts are not changed once loaded (a changed problem set is loaded anew).
_CONTEXTS: dict[int, tuple[PartBase, ReadContext]] = {}
_KEPT_CONTEXTS = 2_000


def read_received(received: str | None, context: ReadContext | None) -> ReadAnswer | None:
    """The answer as grader reads it; None when there is none."""
    if received is None:
        return None
    if context is None:
        return ReadAnswer(received)
    return _read_value(_decoded(received), received, context)


def _decoded(received: str) -> Any:
    """A YAML list or mapping comes back from its JSON preview; text stays text."""
    if received[:1] in "[{" or _is_number(received):
        try:
            return json.loads(received)
        except ValueError:
            return received
    return received


def shown_text(received: str) -> str:
    """The answer as the student wrote it: a YAML mapping as ``name: value`` lines
    (not the JSON it is kept as), anything else as it is."""
    value = _decoded(received)
    if not isinstance(value, dict):
        return received
    return "\n".join(f"{key}: {_text_of(item)}" for key, item in value.items())


def _is_number(text: str) -> bool:
    return text.strip().lstrip("-").replace(".", "", 1).isdigit()


def _read_value(value: Any, text: str, context: ReadContext) -> ReadAnswer:
    if isinstance(value, dict):
        fields = tuple((str(key), _read_value(item, _text_of(item), context)) for key, item in value.items())
        return ReadAnswer(text, None, fields)
    formula = _text_of(value)
    tree = read_formula(formula, context)
    if tree is None and context.mode == "expr":
        return ReadAnswer(text, None, (), read_half_open(formula, context))
    return ReadAnswer(text, tree)


def read_half_open(text: str, context: ReadContext) -> IntervalForm | None:
    """``[0, 1)`` or ``(1, +\\infty]``: an interval the parser cannot balance, read by ends."""

    def parse_end(end: str) -> ast.Node:
        return parse(end, symbols=context.symbols, functions=context.functions)

    try:
        return read_interval(text, parse_end)
    except (MathError, RecursionError, ValueError):
        return None


def _text_of(value: Any) -> str:
    """A decoded answer back as formula text: ``[1, "m"]`` -> ``[1, m]``."""
    if isinstance(value, list):
        return "[" + ", ".join(_text_of(item) for item in value) + "]"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def read_formula(text: str, context: ReadContext) -> ast.Node | None:
    """The tree of ``text``, or None when it does not read as a formula."""
    try:
        tree = parse(
            strip_math_delimiters(text.strip()),
            symbols=context.symbols,
            functions=context.functions,
            mode=context.mode,
        )
    except (MathError, RecursionError, ValueError):
        return None
    if not context.typed and _looks_like_words(tree):
        return None
    if isinstance(tree, ast.Sym) and _is_word(tree.name) and tree.name not in context.symbols:
        return None  # "impossible", "yes": a word, not a formula
    return tree


def _is_word(name: str) -> bool:
    return len(name) > MAX_UNDECLARED_NAME and name.isalpha() and name not in GREEK_NAMES


def _looks_like_words(tree: ast.Node) -> bool:
    for name in ast.free_names(tree):
        base = name.split("_", 1)[0]
        if len(base) > MAX_UNDECLARED_NAME and base not in GREEK_NAMES:
            return True
    return False


def graded_side(tree: ast.Node, part: PartBase | None) -> tuple[ast.Node, bool]:
    """What the checker grades of ``tree``: for an expression part whose reference is a
    formula, ``g(x) = x H(x)`` is graded on its formula side, the other taken as a
    label. Returns (the graded tree, whether a label was set aside)."""
    if not (isinstance(part, ExpressionPart) and isinstance(tree, ast.Relation) and tree.op == "="):
        return tree, False
    from grader.types.expression.answers import strip_label  # the checker's own reading: numpy, sympy
    from grader.types.expression.prepare import Formula, prepare

    try:
        prepared = prepare(part)
    except (CheckUndecided, MathError):
        return tree, False
    if not isinstance(prepared.ref, Formula):
        return tree, False
    return strip_label(tree, prepared), True
