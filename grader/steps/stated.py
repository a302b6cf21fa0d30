"""Conditions stated in words around the math, read into conditions (or, where they are not
read, kept as conditions not read, which refuse a witness): never a false "wrong step".

- after a display: ``$$\\sqrt{x^2} = x$$ where $x > 0$.`` (:func:`trailing`);
- a sign or a kind in words: ``$T$ is positive``, ``$p$ is a probability``, ``the learning
  rate $\\eta$``, ``$n$ is the number of samples`` (:func:`worded`);
- a bound stated alone: ``All weights are positive: $w_i > 0$.`` (:func:`worded`);
- parity: ``for even $n$`` and words in a row's comment (``\\quad (n \\text{ even})``): conditions
  not read, no witness (:func:`comment_words`);
- a bound on a generic entry (``x_i > 0``, ``\\mathbf{x} \\ge 0``) covers every entry of
  that name (:func:`entry_bounds`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from typing import Protocol

from grader.mathlang import ast

# a sentence that opens with these words states hypotheses up to its first conclusion word
PREMISE_LEAD = re.compile(
    r"^\W*(?:assume|assuming|suppose|let(?!\s+us\b|\s+me\b|'s)|given|we\s+are\s+(?:told|given)|throughout"
    r"|set(?:ting)?)\b",
    re.IGNORECASE,
)
# "When $\\phi$ is ReLU, and $b = 1 - a$": one more hypothesis after words that open a case
# (a name bounded: find._premise_sentence; session 29)
JOINED = re.compile(r"^\W*(?:when|whenever|if)\b.*\band\s*\$*\s*$", re.IGNORECASE | re.DOTALL)


class Piece(Protocol):
    math: str
    start: int
    display: bool


# a single name: x, \eta, x_i, w_{i}
_NAME = r"\\?[A-Za-z]+(?:_\{?[A-Za-z0-9]+\}?)?"
_SIGNS = {"positive": ">", "negative": "<", "nonnegative": r"\ge", "nonpositive": r"\le", "nonzero": r"\ne"}
_SIGN = r"(positive|negative|non-?\s?negative|non-?\s?positive|non-?zero)"
_SIGN_AFTER = re.compile(
    r"^\s*(?:is|be|are)\s+(?:always\s+|strictly\s+|also\s+|assumed\s+(?:to\s+be\s+)?)?(?:an?\s+)?"
    r"(?:(?:strictly|real|small)\s+)?" + _SIGN + r"\b(?!\s+(?:definite|semi))",
    re.I,
)
_SIGN_BEFORE = re.compile(
    r"\b" + _SIGN + r"\s+(?:real\s+)?(?:(?:numbers?|constants?|scalars?|reals?)\s+)?$", re.I
)
_PROBABILITY_AFTER = re.compile(r"^\s*(?:is|be)\s+(?:a\s+)?probabilit(?:y|ies)\b", re.I)
_SMALL_AFTER = re.compile(r"^\s*(?:is|be)\s+(?:a\s+)?small\b", re.I)
# quantities that are positive by what they are
_POSITIVE_KIND = (
    r"(?:learning\s+rate|step[\s-]*size|temperature|standard\s+deviation|variance|bandwidth|radius)"
)
# quantities that are counts: positive integers
_COUNT_KIND = (
    r"(?:number\s+of\s+[a-z]+|batch[\s-]*size|sample\s+size|dimension(?:ality)?|(?:hidden\s+)?width)"
)
_KIND_BEFORE = re.compile(r"\b(?:(" + _POSITIVE_KIND + r")|(" + _COUNT_KIND + r"))\s*$", re.I)
_KIND_AFTER = re.compile(
    r"^\s*,?\s*(?:is|be|denotes)?\s*(?:the|a|our|its)\s+(?:[a-z]+\s+)?"
    r"(?:(" + _POSITIVE_KIND + r")|(" + _COUNT_KIND + r"))\b",
    re.I,
)
_PARITY_BEFORE = re.compile(r"\b(even|odd)\s*$", re.I)
# words in the rest of a sentence about a name that state what it is: read or not, never ignored
_KIND_WORDS = re.compile(
    r"\b(?:positive|negative|non-?zero|probabilit\w*|bounded|integer|natural|even|odd|greater|less"
    r"|larger|smaller|at\s+(?:least|most)|between)\b",
    re.I,
)
# a name bounded by a number, alone: "x_i > 0", "0 \le p \le 1", "\forall i: x_i \ge 0"
_OP = r"(?:>|<|\\geq?|\\leq?|\\neq?|\\gt|\\lt)"
_NUM = r"-?\d+(?:\.\d+)?"
_BOUND = re.compile(rf"\s*(?:{_NAME}\s*{_OP}\s*{_NUM}|{_NUM}\s*{_OP}\s*{_NAME}\s*{_OP}\s*{_NUM})\s*")
_FORALL = re.compile(r"^\s*\\forall\s*[A-Za-z](?:\s*\\in\s*[^:,]*)?\s*[:,]\s*")
_CLAIM = re.compile(
    r"\b(?:hence|thus|therefore|so|then|conclude|follows|shows?|prove|proves|obtain|get|gives|implies)\b",
    re.I,
)
# words after a display that state a condition on it, up to the math of the condition
_TRAILING = re.compile(
    r"^[\s$,.\\\](]*(?:(?:which|this|that|it|the\s+\w+)\s+(?:is\s+|are\s+)?"
    r"(?:valid|true|holds?|applies|works)\s+)?(?:(?:is\s+)?valid\s+)?(?:holds?\s+)?(?:only\s+)?"
    r"(?:for|when|whenever|if|where|provided|assuming|as\s+long\s+as)(?:\s+that)?"
    r"(?:\s+(?:all|any|every|each))?\s*(?:(even|odd)\s*)?[$\\(]*$",
    re.I,
)

Found = tuple[int, str, int]  # (line, condition or words, offset)


def _after(text: str, piece: Piece) -> str:
    end = piece.start + len(piece.math)
    return re.sub(r"^(?:\$|\\\))", "", text[end : end + 80])


def _before(text: str, piece: Piece) -> str:
    return re.sub(r"(?:\$|\\\()\s*$", "", text[max(0, piece.start - 80) : piece.start])


def _sentence_before(text: str, piece: Piece) -> str:
    return re.split(r"[.!?;:]\s|\n\s*\n|\$\$", _before(text, piece))[-1]


def _name(piece: Piece) -> str | None:
    math = piece.math.strip()
    return math if not piece.display and re.fullmatch(_NAME, math) else None


def _line(text: str, at: int) -> int:
    return text.count("\n", 0, at) + 1


def worded(text: str, pieces: Sequence[Piece]) -> tuple[list[Found], list[Found]]:
    """The conditions stated in words on a name of inline math, and the words about a name
    that are not read (conditions not read)."""
    conditions: list[Found] = []
    unread: list[Found] = []
    for piece in pieces:
        line = _line(text, piece.start)
        read = [] if _questioned(text, piece) else _bare_bound(text, piece) or _name_conditions(text, piece)
        conditions += [(line, c, piece.start) for c in read]
        parity = _PARITY_BEFORE.search(_before(text, piece).rstrip())
        if parity is not None and _name(piece) is not None:
            unread.append((line, f"{parity.group(1).lower()} ${piece.math.strip()}$", piece.start))
        elif not read and _name(piece) is not None:
            rest = re.split(r"[.!?;]\s|\n\s*\n|\$", _after(text, piece))[0]
            words = _KIND_WORDS.search(rest)
            if words is not None:
                unread.append((line, f"${piece.math.strip()}$ {rest.strip()}", piece.start))
    return conditions, unread


# a sentence that asks or denies, not states: "Is it true that $x > 0$? No."
_ASKED = re.compile(r"\b(?:is\s+it|whether|check|verify|not|never|false|wrong)\b|\?", re.I)


def _questioned(text: str, piece: Piece) -> bool:
    rest = re.split(r"[.!;]\s|\n\s*\n|\$\$", _after(text, piece) + " ")[0]
    return bool(_ASKED.search(_sentence_before(text, piece)) or "?" in rest)


def _name_conditions(text: str, piece: Piece) -> list[str]:
    name = _name(piece)
    if name is None:
        return []
    after, before = _after(text, piece), _before(text, piece).rstrip()
    sign = _SIGN_AFTER.match(after) or _SIGN_BEFORE.search(before)
    if sign is not None:
        word = re.sub(r"[-\s]", "", sign.group(1).lower())
        return [f"{name} {_SIGNS[word]} 0"]
    if _PROBABILITY_AFTER.match(after):
        return [f"{name} \\ge 0", f"{name} \\le 1"]
    if _SMALL_AFTER.match(after):
        return [f"{name} > 0"]
    kind = _KIND_AFTER.match(after) or _KIND_BEFORE.search(before)
    if kind is not None and "_" not in name:
        return [f"{name} > 0"] if kind.group(1) else [f"{name} \\in \\mathbb{{N}}"]
    return []


def _bare_bound(text: str, piece: Piece) -> list[str]:
    """ "All weights are positive: $w_i > 0$", "$\\forall i: x_i \\ge 0$": a name bounded by a
    number, stated on its own (no claim word before it in its sentence)."""
    if piece.display:
        return []
    math = _FORALL.sub("", piece.math)
    if not _BOUND.fullmatch(math) or _CLAIM.search(_sentence_before(text, piece)):
        return []
    return [math.strip()]


def trailing(
    text: str, pieces: Sequence[Piece], conditions_in: Callable[[str], list[str]]
) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """The conditions (and the parity words, not read) stated in the words right after each
    display (``$$\\sqrt{x^2} = x$$ where $x > 0$.``), by the display's offset."""
    conditions: dict[int, list[str]] = {}
    unread: dict[int, list[str]] = {}
    for display, following in itertools.pairwise(pieces):
        if not display.display or following.display:
            continue
        between = text[display.start + len(display.math) : following.start]
        m = _TRAILING.match(between)
        if (
            m is None
            or len(between) > 60
            or re.search(r"\n\s*\n", between)
            or _leads(text, between, following)
        ):
            continue
        if m.group(1):
            unread.setdefault(display.start, []).append(f"{m.group(1).lower()} ${following.math.strip()}$")
            continue
        found = conditions_in(_FORALL.sub("", following.math)) or _name_conditions(text, following)
        if found:
            conditions.setdefault(display.start, []).extend(found)
        elif _name(following) is None or _KIND_WORDS.search(_after(text, following).split(".")[0]):
            unread.setdefault(display.start, []).append(between.strip(" $\n") + " " + following.math)
    return conditions, unread


def _leads(text: str, between: str, following: Piece) -> bool:
    """Whether the words after a display start a sentence whose condition leads other math
    ("For $x < 0$: $$...$$", "If $x > 0$, $|x| = x$"), not a condition on the display."""
    if not re.match(r"[\s$,.\\\]]*(?:for|when|whenever|if|where|provided|assuming|as)\b", between, re.I):
        return False  # "This holds when ...", "which is valid for ...": about the display
    if not re.match(r"[\s$,\\\]]*[A-Z]", between):
        return False  # "..., for $x > 0$": the display's sentence goes on
    rest = re.split(r"[.!?]\s|\n\s*\n", _after(text, following) + " ")[0]
    return bool(re.search(r"\$|\\\[|\\\(|\\begin", rest) or re.match(r"\s*:", rest))


_GENERIC_ENTRY = re.compile(r"([A-Za-z]+)_([A-Za-z]{1,2})")  # x_i, w_ij
_VECTOR = re.compile(r"\\(?:mathbf|boldsymbol|bm|vec)\s*\{?\s*\\?([A-Za-z]+)\b")


def entry_bounds(
    bounds: Iterable[tuple[tuple[str, str, Fraction], str]], steps_text: str
) -> list[tuple[ast.Relation, str]]:
    """A bound on a generic entry (``x_i > 0``) or on a vector (``\\mathbf{x} \\ge 0``),
    as a bound on each entry of that name the steps write (``x_1``, ``x_k``): ((name,
    relation, constant), the condition as written) -> (relation on an entry, as written)."""
    out: list[tuple[ast.Relation, str]] = []
    for (name, op, value), written in bounds:
        generic = _GENERIC_ENTRY.fullmatch(name)
        base = generic.group(1) if generic else None
        if base is None and (m := _VECTOR.search(written)) is not None and m.group(1) == name:
            base = name
        if base is None:
            continue
        pattern = rf"(?<![A-Za-z]){re.escape(base)}_\{{?([A-Za-z0-9]+)\}}?"
        indices = set(re.findall(pattern, steps_text))
        if generic:  # x_j > 0 bounds x_1, x_2: not x_i, which may be another entry than the j meant
            indices = {i for i in indices if i.isdigit()}
        for entry in sorted({f"{base}_{i}" for i in indices} - {name}):
            constant: ast.Node = ast.Num(0, abs(value))
            if value < 0:
                constant = ast.Neg(0, constant)
            out.append((ast.Relation(0, op, ast.Sym(0, entry), constant), f"{written} (so {entry})"))
    return out


def other_entries(bounds: Iterable[tuple[tuple[str, str, Fraction], str]], steps_text: str) -> list[str]:
    """The bounds on a generic entry (``x_j > 0``) whose name the steps write with another
    letter (``x_i``): whether the bound is meant for every entry is not read, so no witness."""
    out: list[str] = []
    for (name, _, _), written in bounds:
        generic = _GENERIC_ENTRY.fullmatch(name)
        if generic is None:
            continue
        pattern = rf"(?<![A-Za-z]){re.escape(generic.group(1))}_\{{?([A-Za-z][A-Za-z0-9]*)\}}?"
        if {f"{generic.group(1)}_{i}" for i in re.findall(pattern, steps_text)} - {name}:
            out.append(written)
    return out


def about_steps(unread: Sequence[str], steps_text: str) -> tuple[str, ...]:
    """The conditions not read that apply to steps: words about a name (``$k$ positive``,
    ``even $n$``) only where the steps write that name; other words always."""
    out = []
    for words in unread:
        names = re.findall(r"\$([^$]+)\$", words)
        if all(re.search(rf"(?<![A-Za-z]){re.escape(n.strip())}(?![A-Za-z])", steps_text) for n in names):
            out.append(words)
    return tuple(out)


def comment_words(comment: str) -> list[str]:
    """Words in a row's comment that state what a name is, not read (``\\quad (n \\text{ even})``,
    ``\\text{for positive } x``): conditions not read."""
    words = " ".join(re.findall(r"\\(?:text|textrm|mbox|textnormal|mathrm)\s*\{([^}]*)\}", comment))
    found = _KIND_WORDS.search(words)
    return [comment.strip()] if found is not None else []
