"""What a student writes around the formula: a derivative written as a label, a short
justification after the result, a decimal comma. The text is only cut, never rewritten
into a formula: the math language still reads what is graded."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from grader.mathlang import ast
from grader.mathlang.errors import ParseError, ReadError
from grader.mathlang.labels import strip_derivative_label

# a result, then words: "n^2 d: n^2 dot products", "2x \quad since ...", "x^2 \text{ because }"
_JUSTIFICATION = re.compile(r"\s*(?::|\\quad|\\qquad|\\text\s*\{|\s(?:since|because|as|where)\s)")
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+,\d+\s*$")


@dataclass(frozen=True)
class Read:
    node: ast.Node
    text: str  # the text graded
    note: str = ""  # what was left out, for the feedback


def read_with_notation(text: str, parse: Callable[[str], ast.Node], known: frozenset[str]) -> Read:
    """The formula in ``text``, allowing a derivative label before it and a short justification
    after it (graded without it, and said so); ``known`` are the names the part declares."""
    text = strip_derivative_label(text)
    try:
        node = parse(text)
    except ParseError as err:
        leading = _leading_formula(text, err.position, parse, known)
        if leading is None:
            raise
        return leading
    if ast.free_names(node) <= known:
        return Read(node, text)
    leading = _leading_formula(text, len(text), parse, known)  # words read as unknown symbols
    return leading if leading is not None else Read(node, text)


def _leading_formula(
    text: str, failed_at: int | None, parse: Callable[[str], ast.Node], known: frozenset[str]
) -> Read | None:
    if failed_at is None:
        return None
    for match in _JUSTIFICATION.finditer(text):
        if match.start() > failed_at or match.start() == 0:
            break
        head, rest = text[: match.start()], text[match.start() :].strip()
        try:
            node = parse(head)
        except ReadError:
            continue
        if not ast.free_names(node) <= known:
            continue
        rest = rest.lstrip(":;").strip()
        ignored = rest if len(rest) <= 60 else rest[:57] + "..."
        return Read(node, head, f"graded {head.strip()}; ignored the words after it: {ignored}")
    return None


def decimal_comma_hint(text: str) -> str | None:
    """``0,0026`` is a decimal written with a comma: the message that says how to write it."""
    if not _DECIMAL_COMMA.match(text):
        return None
    written = text.strip().replace(",", ".")
    return f"{text.strip()} reads as a list of two numbers; for a decimal write {written}"
