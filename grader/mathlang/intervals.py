"""Interval notation, read from text before its ends are parsed: ``[0, 1)``, ``]0, 1[``,
``\\left(1, +\\infty\\right)``. The brackets say which ends are closed; ``[0, 1)`` is not a
formula the parser could balance, so intervals are cut at the text level."""

from __future__ import annotations

import re

# \left( ... \right], \bigl[ ...: sizing commands around the brackets
SIZING = re.compile(r"\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|big|Big)(?![A-Za-z])\s*")
# an opening bracket -> is that end closed; ``]0, 1]`` is the French (0, 1]
OPENERS = {"[": True, "(": False, "]": False}
CLOSERS = {"]": True, ")": False, "[": False}


def split_top_level(text: str, separators: str = ",") -> list[str]:
    """``text`` cut at the separators outside any brackets, each piece stripped. A command's
    character is no separator: ``[0,\\, 2]`` (a thin space after the comma) has two ends."""
    pieces, depth, start = [], 0, 0
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char in separators and depth == 0:
            pieces.append(text[start:index])
            start = index + 1
        index += 1
    pieces.append(text[start:])
    return [piece.strip() for piece in pieces]


# \mathbb{R}_{>0}, ℝ_{\ge 0}, \mathbb{R}_{++}: a ray of the real line written as a set. (\mathbb{R}_+
# is [0, oo) in some books and (0, oo) in others: not read.)
_RAY = re.compile(
    r"^\s*(?:\\mathbb\s*\{\s*R\s*\}|ℝ)\s*_\s*\{\s*(?P<sign>>|<|\\geq?|\\leq?|\\gt|\\lt|≥|≤|\+\+)"
    r"\s*(?P<end>[^{}]*?)\s*\}\s*$"
)
_RAY_ENDS = {">": "({}, +\\infty)", "\\gt": "({}, +\\infty)", "<": "(-\\infty, {})", "\\lt": "(-\\infty, {})"}
_RAY_ENDS |= {sign: "[{}, +\\infty)" for sign in ("\\ge", "\\geq", "≥")}
_RAY_ENDS |= {sign: "(-\\infty, {}]" for sign in ("\\le", "\\leq", "≤")}


def ray_as_interval(text: str) -> str:
    """``\\mathbb{R}_{>0}`` -> ``(0, +\\infty)``, ``\\mathbb{R}_{\\le 1}`` -> ``(-\\infty, 1]``,
    ``\\mathbb{R}_{++}`` -> ``(0, +\\infty)``; any other text as it is."""
    match = _RAY.match(text)
    if match is None:
        return text
    sign, end = match["sign"], match["end"]
    if sign == "++":
        return "(0, +\\infty)" if not end else text
    return _RAY_ENDS[sign].format(end) if end else text
