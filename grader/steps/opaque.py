"""Notation the math language has no value for, read as unknowns so that the algebra
around it can still be shown.

A step such as ``\\frac{e^c e^{x_i}}{e^c \\sum_j e^{x_j}} = \\frac{e^{x_i}}{\\sum_j e^{x_j}}``
or ``2\\sigma(2z) - 1 = 2 \\sigma(2z) - 1`` holds whatever the sum or ``\\sigma`` stands for:
each such piece (an undefined function applied, ``f(x)``, ``\\sigma'(z)``, ``S(\\mathbf{x})_i``;
a sum over an index; a derivative ``\\frac{d}{dx}(...)``, ``\\frac{\\partial L}{\\partial w}``;
a norm ``\\|v\\|``; an entry ``\\mathbf{x}_i``; an inner product ``q^\\top k``; an expectation
``\\mathbb{E}[...]``) is replaced by one fresh symbol, the same text by the same symbol on
both sides of the step. When the two sides are then the same function of those symbols
and of the others (the engine's proof or probes), they are equal whatever values the pieces
have: the step is shown. Only scalar pieces are replaced (products of matrices do not
commute), and nothing is ever refuted this way: a point that separates the two sides need
not be a value the pieces can take together, so it is no witness.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from grader.steps.expectation import EXPECTATION, linear_expectations
from grader.steps.latex import closing, group_end, scripts_end, term_end
from grader.steps.read import CALLED_ON_A_NAME, FUNCTION_LETTERS, KNOWN_CALLS

PREFIX = "o"  # fresh symbols o_{1}, o_{2}, ...: the letter o is never a student's name here
_FRESH = re.compile(r"(?<![A-Za-z\\])o_")

_BOLD = r"\\(?:mathbf|boldsymbol|bm|vec)\s*\{\s*[A-Za-z]\s*\}"
# an entry has a letter index (x_i, x_{ij}): with a number (b_1, w_0) it is often a vector of its own
_ENTRY_LOWER = re.compile(r"\\(?:mathbf|boldsymbol|bm)\s*\{\s*[a-z]\s*\}\s*_(?:\{\s*[a-z][a-z,\s]*\}|[a-z])")
_ENTRY_UPPER = re.compile(r"\\(?:mathbf|boldsymbol|bm)\s*\{\s*[A-Z]\s*\}\s*_\{\s*[a-z]\s*,?\s*[a-z]\s*\}")
_VECTOR = r"(?:\\(?:mathbf|boldsymbol|bm)\s*\{\s*[a-z]\s*\}|(?<![A-Za-z\\])[a-z])(?:\s*_(?:\{[^{}]*\}|\w))?"
_TRANSPOSE = r"\s*\^\s*(?:\{\s*(?:T|\\top|\\intercal)\s*\}|T|\\top|\\intercal)\s*"
_INNER = re.compile(rf"{_VECTOR}{_TRANSPOSE}{_VECTOR}")
# what must not be left once the scalar pieces are replaced: vectors, matrices, their operators
_NOT_SCALAR = re.compile(
    rf"{_BOLD}|\\odot|\\otimes|\^\s*\{{?\s*(?:T|\\top|\\intercal)\b|\\begin\s*\{{\s*[bpvBV]?matrix|\\nabla"
)
_CALL_START = re.compile(
    r"(?<![A-Za-z])(\\?[A-Za-z]+)((?:\s*_(?:\{[^{}]*\}|\w))?(?:\s*\^\s*\{[^{}]*\})?\s*'*)\s*(\\left\s*\(|\()"
)
_SUM_START = re.compile(
    r"\\(?:sum|prod|lim|int|iint|oint)(?![A-Za-z])|\\(?:max|min|sup|inf|limsup|liminf)\s*(?=_)"
)
_DERIVATIVE = re.compile(
    r"\\frac\s*\{\s*(?:d|\\partial|\\mathrm\s*\{\s*d\s*\})\s*\}\s*\{\s*(?:d|\\partial|\\mathrm\s*\{\s*d\s*\})"
)
_FRAC_PARTIAL = re.compile(r"\\frac\s*\{\s*(?:d|\\partial|\\mathrm\s*\{\s*d\s*\})\s*[^{}]")
_NORM = re.compile(r"\\lVert|\\\||\|\||\\left\s*\\\|")
_EXPECT = EXPECTATION
_UPPER_LETTER = re.compile(r"(?<![A-Za-z\\{])[A-Z](?![A-Za-z])")
_INDEX_AFTER = re.compile(r"\s*_(?:\{[^{}]*\}|\w)")
MAX_PIECES = 24


class Pieces:
    """The table of replaced pieces shared by the sides of one step: text -> fresh symbol."""

    def __init__(self) -> None:
        self.symbols: dict[str, str] = {}

    def name(self, text: str) -> str:
        key = re.sub(r"\s+|\\(?:left|right)(?![A-Za-z])|\\[,;:!]", "", text)
        if key not in self.symbols:
            self.symbols[key] = f"{PREFIX}_{{{len(self.symbols) + 1}}}"
        return self.symbols[key]


def opaque_sides(
    texts: Sequence[str], functions: Mapping[str, str] | None = None
) -> tuple[list[str], list[str]] | None:
    """The texts with every scalar piece out of the math language's reach replaced by a fresh
    symbol (the same text by the same symbol), and the pieces replaced; None when nothing was
    replaced, a piece may not be a scalar, or the texts already use the fresh names."""
    if any(_FRESH.search(t) for t in texts):
        return None
    pieces = Pieces()
    out = []
    for text in texts:
        replaced = _replace(text, pieces, functions or {})
        if replaced is None:
            return None
        out.append(replaced)
    if not pieces.symbols or len(pieces.symbols) > MAX_PIECES:
        return None
    if any(_NOT_SCALAR.search(t) for t in out):
        return None
    return out, [_shown(key, pieces) for key in pieces.symbols]


def norm_symbols(pieces: Sequence[str]) -> list[str]:
    """The fresh symbols of the pieces :func:`opaque_sides` returns that are norms (a whole
    piece between double bars, its index kept): each a number >= 0."""
    out = []
    for i, piece in enumerate(pieces):
        span = _norm_span(piece)
        if span is not None and span == (0, len(piece)):
            out.append(f"{PREFIX}_{i + 1}")  # the name as read (o_{1} is o_1)
    return out


def _shown(key: str, pieces: Pieces) -> str:
    """A piece as written, the pieces inside it put back."""
    back = {symbol: text for text, symbol in pieces.symbols.items()}
    for _ in range(4):
        key = re.sub(r"o_\{\d+\}", lambda m: back.get(m.group(0), m.group(0)), key)
    return key


def _replace(text: str, pieces: Pieces, functions: Mapping[str, str]) -> str | None:
    text = linear_expectations(text)
    text = _ENTRY_LOWER.sub(lambda m: pieces.name(m.group(0)), text)
    text = _ENTRY_UPPER.sub(lambda m: pieces.name(m.group(0)), text)
    text = _INNER.sub(lambda m: pieces.name(m.group(0)), text)
    for finder in (sum_span, _derivative_span, _expectation_span, _norm_span):
        text_or_none = _replace_spans(text, finder, pieces)
        if text_or_none is None:
            return None
        text = text_or_none
    return _replace_calls(text, pieces, functions)


def _replace_spans(text: str, finder: Callable[[str], tuple[int, int] | None], pieces: Pieces) -> str | None:
    for _ in range(MAX_PIECES):
        span = finder(text)
        if span is None:
            return text
        if span == (-1, -1):
            return None
        start, end = span
        inner = text[start:end]
        scalars_out = _ENTRY_LOWER.sub("", _ENTRY_UPPER.sub("", _INNER.sub("", inner)))
        if finder is not _norm_span and _NOT_SCALAR.search(scalars_out):
            return None  # a derivative or sum of vectors or matrices: maybe not a scalar
        text = text[:start] + " " + pieces.name(inner) + " " + text[end:]
    return None


def _replace_calls(text: str, pieces: Pieces, functions: Mapping[str, str]) -> str:
    pos = 0
    for _ in range(MAX_PIECES * 2):
        m = _CALL_START.search(text, pos)
        if m is None:
            return text
        name = m.group(1).lstrip("\\")
        primed = "'" in m.group(2)
        if not primed and (name in functions or name in KNOWN_CALLS or name.lower() in KNOWN_CALLS):
            pos = m.end()
            continue
        close = closing(text, m.end() - 1)
        if close is None:
            return text
        on_a_name = re.fullmatch(
            r"\s*\\?[A-Za-z]+(?:_\{?\w+\}?)?\s*(?:\\right)?\s*", text[m.end() : close - 1]
        )
        if not primed and name not in FUNCTION_LETTERS and not (name in CALLED_ON_A_NAME and on_a_name):
            pos = m.end()
            continue
        end = close
        index = _INDEX_AFTER.match(text, end)
        if index is not None:
            end = index.end()
        elif _NOT_SCALAR.search(text[m.end() : close - 1]) or _UPPER_LETTER.search(text[m.end() : close - 1]):
            pos = m.end()  # f(\mathbf{x}), f(X): maybe a vector or a matrix, left as written
            continue
        text = text[: m.start()] + " " + pieces.name(text[m.start() : end]) + " " + text[end:]
        pos = m.start()
    return text


def sum_span(text: str) -> tuple[int, int] | None:
    """A sum or product over an index: the operator, its scripts and its body, the body up to
    the next ``+`` or ``-`` or the end of the group it stands in."""
    m = _SUM_START.search(text)
    if m is None:
        return None
    at = scripts_end(text, m.end())
    i = term_end(text, at)
    if not text[at:i].strip():
        return (-1, -1)
    return m.start(), i


def _derivative_span(text: str) -> tuple[int, int] | None:
    """``\\frac{d}{dx} (...)`` with its operand, or ``\\frac{\\partial L}{\\partial w}`` whole."""
    m = _DERIVATIVE.search(text)
    if m is not None:
        first = group_end(text, m.start() + len("\\frac"))
        second = group_end(text, first) if first is not None else None
        if second is None:
            return (-1, -1)
        rest = text[second:]
        operand = re.match(r"\s*(\\left\s*\(|\(|\{)", rest)
        if operand is not None:
            end = closing(text, second + operand.end() - 1)
            return (m.start(), end) if end is not None else (-1, -1)
        call = _CALL_START.match(rest.lstrip())
        if call is not None:
            offset = second + len(rest) - len(rest.lstrip())
            end = closing(text, offset + call.end() - 1)
            return (m.start(), end) if end is not None else (-1, -1)
        return (-1, -1)
    m = _FRAC_PARTIAL.search(text)
    if m is not None:
        first = group_end(text, m.start() + len("\\frac"))
        second = group_end(text, first) if first is not None else None
        return (m.start(), second) if second is not None else (-1, -1)
    return None


def _expectation_span(text: str) -> tuple[int, int] | None:
    m = _EXPECT.search(text)
    if m is None:
        return None
    end = closing(text, m.end() - 1)
    if end is None:
        return (-1, -1)
    right = re.match(r"\s*\\right\s*\]", text[end - 1 :])
    return m.start(), end if right is None else end - 1 + right.end()


def _norm_span(text: str) -> tuple[int, int] | None:
    """A norm between double bars (``\\|v\\|``, ``\\lVert v \\rVert``, ``||v||``), its ``_2`` kept."""
    m = _NORM.search(text)
    if m is None:
        return None
    opening = m.group(0)
    shut = {"\\lVert": r"\\rVert", "\\|": r"\\\|", "||": r"\|\|"}.get(opening, r"\\right\s*\\\|")
    close = re.compile(shut).search(text, m.end())
    if close is None:
        return (-1, -1)
    end = close.end()
    index = _INDEX_AFTER.match(text, end)
    if index is not None:
        end = index.end()
    return m.start(), end
