"""The one scanner of LaTeX brackets and scripts the step checker's text work shares
(:mod:`grader.steps.opaque`, :mod:`grader.steps.sums`, :mod:`grader.steps.calculus`).

Pure text work: where a bracket closes, where a braced group or an operator's scripts end,
where a term (a summand) starts and ends. Nothing is parsed or evaluated here.
"""

from __future__ import annotations

import re

PAIRS = {"(": ")", "[": "]", "{": "}"}
_OPENING = "([{"
_CLOSING = ")]}"
_SCRIPT = re.compile(r"\s*[_^]\s*")


def closing(text: str, open_at: int) -> int | None:
    """The offset just past the bracket that closes the one at ``open_at`` (``(``, ``[``, ``{``);
    escaped braces (``\\{``, ``\\}``) are not brackets."""
    depth = 0
    i = open_at
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in "{}":
            i += 2
            continue
        if c in _OPENING:
            depth += 1
        elif c in _CLOSING:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


def group_end(text: str, at: int) -> int | None:
    """The end of the braced group starting at ``at`` (after spaces), or None."""
    while at < len(text) and text[at] == " ":
        at += 1
    if at < len(text) and text[at] == "{":
        return closing(text, at)
    return None


def scripts_end(text: str, at: int) -> int:
    """Past the ``_{...}`` and ``^{...}`` (or one character each) that follow ``at``."""
    while True:
        m = _SCRIPT.match(text, at)
        if not m:
            return at
        at = m.end()
        if at < len(text) and text[at] == "{":
            end = closing(text, at)
            if end is None:
                return at
            at = end
        else:
            at += 1


def term_end(text: str, at: int) -> int:
    """The end of the term that starts at ``at``: the next ``+`` or ``-`` outside brackets once
    the term has begun, a relation, or the end of the group it stands in (a closing bracket
    or ``\\right`` of the group around it)."""
    depth, i, seen = 0, at, False
    while i < len(text):
        c = text[i]
        if c == "\\" and text.startswith(("\\left", "\\right"), i):
            word = "\\left" if text.startswith("\\left", i) else "\\right"
            if word == "\\right" and depth == 0:
                break
            i += len(word)
            continue
        if c in _OPENING:
            depth += 1
        elif c in _CLOSING:
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and ((c in "+-" and seen) or c in "=<>"):
            break
        if not c.isspace():
            seen = True
        i += 1
    return i


def term_start(text: str, at: int) -> int:
    """The start of the term that ends at ``at``: just past the ``+`` or ``-`` outside brackets
    before it, or past the bracket that opens the group it stands in."""
    depth, i = 0, at - 1
    while i >= 0:
        c = text[i]
        if c in _CLOSING:
            depth += 1
        elif c in _OPENING:
            if depth == 0:
                break
            depth -= 1
        elif c in "+-" and depth == 0:
            break
        i -= 1
    return i + 1


def split_top_level(text: str, separator: str, not_after: str = "") -> list[str]:
    """``text`` cut at each ``separator`` outside brackets, except one right after a character
    of ``not_after`` (``:=`` and ``\\le`` are no ``=``)."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        elif c == separator and depth == 0 and (i == 0 or text[i - 1] not in not_after):
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts
