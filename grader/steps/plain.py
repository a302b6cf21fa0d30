"""Math written without delimiters, among words: an answer typed into a form or a YAML file
(``If z > 0, \\sigma(z) = z \\Rightarrow \\sigma(\\sigma(z)) = z``) read as a write-up is,
each run of math between words in ``$...$`` and the words left as prose, so that the words
state conditions ("If", "for", "since") as they do around delimited math.

A word is prose unless it is math: a single letter, a name the math language or the part
knows (``exp``, ``log``, ``sigma``, a declared ``sigma_s``), a LaTeX command, or a word
joined to math with no space between (``2ab``, ``(wx+b)``, ``x_max``, ``f'``); ``int``,
``sum``, ``lim`` are math (read as out of scope). Braces are never split; a comma, a
semicolon, a colon or a full stop ends a run only outside brackets. A run that starts or
ends with a relation, or ends with an operator, stays prose: ``dL/dp = -1/p`` with ``dL``
and ``dp`` words, ``x =`` with words after it, are no steps. ``!=`` is ``\\neq``, ``->`` is ``\\to``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from grader.mathlang.lexer import GREEK_NAMES
from grader.steps.latex import closing
from grader.steps.read import FUNCTION_LETTERS, KNOWN_CALLS

# said of every chain of such an answer: the words may state a condition the cut dropped
GUESSED = "the words around math typed without delimiters"
_TOKEN = re.compile(
    r"(?P<space>\s+)|(?P<command>\\[A-Za-z]+|\\.)|(?P<hyphenated>[A-Za-z]{2,}(?:-[A-Za-z]{2,})+)"
    r"|(?P<word>[A-Za-z]+)|(?P<stop>[,;:.?!](?=\s|$))|(?P<other>.)"
)
_OPENS, _CLOSES = "([", ")]"
_OPERATOR = re.compile(r"[-+*/^=<>|]")
_JOINED_AFTER = re.compile(r"[-+*/^=<>|_({'0-9]")
_JOINED_BEFORE = re.compile(r"[-+*/^=<>|_)\]}0-9]")
_RELATION_FIRST = re.compile(
    r"(?:<=>|=>|->|[=<>]|\\(?:le|ge|leq|geq|neq|ne|approx|Rightarrow|Leftrightarrow|iff|implies|to)(?![A-Za-z]))"
)
# a run that ends with a relation or an operator, or starts with one that needs a left operand
_UNFINISHED = re.compile(
    r"(?:<=>|=>|->|[-+*/^_=<>]|\\(?:le|ge|leq|geq|neq|ne|approx|Rightarrow|Leftrightarrow|iff|implies|to|cdot|times))\s*$"
    r"|^[*/^_]"
)


def delimited(text: str, names: Iterable[str] = ()) -> str:
    """The text with each run of math among its words put in ``$...$`` (line by line)."""
    known = frozenset(names)
    return "\n".join(_line(_ascii_relations(line), known) for line in text.splitlines())


def _ascii_relations(line: str) -> str:
    """``!=`` as ``\\neq``, ``->`` as ``\\to`` (``delta^T -> 0`` is no ``>`` step)."""
    return re.sub(r"(?<![<=-])->", r"\\to ", line.replace("!=", "\\neq "))


def _line(line: str, known: frozenset[str]) -> str:
    out = []
    for is_math, piece in _pieces(line, known):
        run = _balanced(piece.strip()) if is_math else ""
        if not re.search(r"[A-Za-z0-9]", run) or _RELATION_FIRST.match(run) or _UNFINISHED.search(run):
            out.append(piece)
            continue
        at = piece.index(run)
        out.append(f"{piece[:at]}${run}${piece[at + len(run) :]}")
    return "".join(out)


def _balanced(run: str) -> str:
    """The run without the brackets at its ends that it does not close or open (``(exp``,
    ``0)``, ``x (``): those belong to the words around it."""
    while run and (run[0] in _CLOSES or (run[0] in _OPENS and closing(run, 0) is None)):
        run = run[1:].lstrip()
    while run and (run[-1] in _OPENS or (run[-1] in _CLOSES and _opened(run) < 0)):
        run = run[:-1].rstrip()
    return run


def _opened(run: str) -> int:
    return sum((c in _OPENS) - (c in _CLOSES) for c in run)


def _pieces(line: str, known: frozenset[str]) -> list[tuple[bool, str]]:
    """The line cut into math and prose, in order (alternating)."""
    pieces: list[tuple[bool, str]] = []
    depth, at = 0, 0
    while at < len(line):
        if line[at] == "{":
            end = closing(line, at)
            end = len(line) if end is None else end
            _add(pieces, True, line[at:end])
            at = end
            continue
        m = _TOKEN.match(line, at)
        assert m is not None  # the last alternative takes any character
        kind, token = m.lastgroup, m.group(0)
        if kind == "space":
            _add(pieces, pieces[-1][0] if pieces else False, token)
        elif kind == "hyphenated":  # non-negative, two-layer
            _add(pieces, False, token)
        elif kind == "word":
            _add(pieces, _is_math_word(line, m, known), token)
        elif kind == "stop":
            _add(pieces, depth > 0, token)
        else:
            depth += (token in _OPENS) - (token in _CLOSES)
            depth = max(depth, 0)
            _add(pieces, True, token)
        at = m.end()
    return pieces


def _add(pieces: list[tuple[bool, str]], is_math: bool, token: str) -> None:
    if pieces and pieces[-1][0] == is_math:
        pieces[-1] = (is_math, pieces[-1][1] + token)
    else:
        pieces.append((is_math, token))


def _is_math_word(line: str, m: re.Match[str], known: frozenset[str]) -> bool:
    """A single letter, a name the math language or the part knows, or a word joined to math
    with no space (``2ab``, ``wx+b``, ``dL/dp``, ``x_max``, ``relu(``, ``(xy)``)."""
    word = m.group(0)
    if len(word) == 1 or word in known or word in GREEK_NAMES or word in FUNCTION_LETTERS:
        return True
    if word in _OPERATOR_WORDS or (
        word not in _WORDS_TOO and (word in KNOWN_CALLS or word.lower() in KNOWN_CALLS)
    ):
        return True
    after = line[m.end() : m.end() + 1]
    before = line[m.start() - 1 : m.start()] if m.start() else ""
    bracketed = bool(before and after) and before in "([{," and after in ")]},"
    if _JOINED_AFTER.match(after) or _JOINED_BEFORE.match(before) or bracketed:
        return True
    # between operators, spaced: a^2 + ab + b^2
    left, right = line[: m.start()].rstrip()[-1:], line[m.end() :].lstrip()[:1]
    return bool(left and _OPERATOR.match(left) and (not right or _OPERATOR.match(right) or right in ")]},."))


_OPERATOR_WORDS = frozenset({"int", "sum", "prod", "lim", "inf", "sup"})  # math, read as out of scope
_WORDS_TOO = frozenset({"left", "right", "sign", "max", "min", "mean"})  # words alone, names joined
