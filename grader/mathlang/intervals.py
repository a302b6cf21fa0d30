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
    """``text`` cut at the separators outside any brackets, each piece stripped."""
    pieces, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char in separators and depth == 0:
            pieces.append(text[start:i])
            start = i + 1
    pieces.append(text[start:])
    return [piece.strip() for piece in pieces]
