"""Write-ups and proofs as features: formulas on their canonical form, prose on word shingles.

An answer's text (an ``answers.yaml`` string, or a mark read from LaTeX, Markdown or a
notebook: the readers leave the same text) is cut into runs of mathematics and words of
prose. Each run is read by grader's own parser (:mod:`grader.mathlang`, never ``eval``) and
compared on the tree's canonical form, so ``\\frac{a}{b}`` and ``a/b``, ``\\mathbf{W}_1 x``
and ``W_1*x``, ``\\left( \\right)`` and ``( )`` are the same; a run the parser does not
read is compared on its symbols with the typesetting commands left out. Prose is
compared on shingles of three content words (lower case, common words left out, plural
and tense endings cut), so a copy that only re-wraps or re-capitalises stays one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from grader.mathlang.errors import MathError
from grader.mathlang.lexer import GREEK_NAMES
from grader.mathlang.names import FUNCTIONS
from grader.mathlang.parser import dump, parse
from grader.similarity.fingerprints import Fingerprint, Token, stable_hash

FORMULA_GRAM = 4  # canonical tokens in one formula feature
PROSE_GRAM = 2  # content words in one prose shingle
MIN_FORMULA_TOKENS = 3  # a run shorter than this (``x``, ``0``) is common to every sheet
MAX_RUN_CHARS = 2_000  # longer runs are compared on their symbols only, unparsed

_WORD = re.compile(r"\\[A-Za-z]+|[A-Za-z]+|\d+(?:\.\d+)?|\S")
_BRACED = re.compile(r"\\(?:mathbf|mathrm|operatorname|boldsymbol|bm)\s*$")
_CANON = re.compile(r"[()]|[^\s()]+")
_PRODUCTS = {"imp": "*", "cdot": "*", "times": "*", "star": "*"}
_LAYOUT = re.compile(
    r"\\(?:left|right|big|Big|bigg|Bigg|mathbf|mathrm|mathit|boldsymbol|bm|text|operatorname|"
    r"displaystyle|quad|qquad|,|;|!|mathcal|mathbb)\b|[{}$]|\\[,;! ]"
)
_SHORT_PROSE = frozenset("is at of to in on an as be by if or we it so no do".split())  # noqa: SIM905
STOP_WORDS = frozenset(
    """the and for that this with are was were has have had not but its from which then than
    there their they them these those when where what who will would can could may might must
    shall should into onto over under each every all any some one our you your his her she him
    also thus hence therefore since because both such only very more most less least here""".split()  # noqa: SIM905
)
_MATH_WORDS = frozenset(FUNCTIONS) | GREEK_NAMES | {"diag", "trace", "max", "min", "sum", "norm", "outer"}


def _is_prose(word: str) -> bool:
    if not word.isalpha() or word.startswith("\\"):
        return False
    lower = word.lower()
    if lower in _SHORT_PROSE:
        return True
    return len(word) >= 3 and lower not in _MATH_WORDS


def split_text(text: str) -> tuple[list[tuple[int, int]], list[Token]]:
    """The runs of mathematics (character spans) and the words of prose of ``text``."""
    runs: list[tuple[int, int]] = []
    words: list[Token] = []
    start: int | None = None
    end = 0
    brace_command = False  # the word is the argument of \text{..}, \mathbf{..}: mathematics
    for match in _WORD.finditer(text):
        word = match.group()
        if word == "$" or (word in ".;" and text[match.end() : match.end() + 1] in ("", " ", "\n")):
            if start is not None:  # a formula's delimiter or a sentence's end closes the run
                runs.append((start, end))
                start = None
            continue
        if _is_prose(word) and not brace_command:
            if start is not None:
                runs.append((start, end))
                start = None
            words.append(Token(_stem(word.lower()), match.start(), match.end()))
        else:
            if start is None:
                start = match.start()
            end = match.end()
        brace_command = word == "{" and bool(_BRACED.search(text, 0, match.start()))
    if start is not None:
        runs.append((start, end))
    return [_trimmed(text, run) for run in runs if _trimmed(text, run)[1] > _trimmed(text, run)[0]], words


def _trimmed(text: str, run: tuple[int, int]) -> tuple[int, int]:
    start, end = run
    while end > start and text[end - 1] in ",.;:":
        end -= 1
    while start < end and text[start] in ",.;:":
        start += 1
    return start, end


def _stem(word: str) -> str:
    for ending in ("ing", "ed", "es", "s"):
        if len(word) > len(ending) + 3 and word.endswith(ending):
            return word[: -len(ending)]
    return word


def canonical_tokens(formula: str) -> list[str] | None:
    """The canonical tokens of one formula as the parser reads it; None where it cannot."""
    if len(formula) > MAX_RUN_CHARS:
        return None
    try:
        tree = parse(formula)
    except MathError:
        return None
    except (RecursionError, ValueError):
        return None
    tokens = [_PRODUCTS.get(t, t) for t in _CANON.findall(dump(tree))]
    nested, _ = _nested(tokens, 0)
    return _flat_tokens(_flattened(nested))


_Nested = str | list["_Nested"]


def _nested(tokens: list[str], at: int) -> tuple[_Nested, int]:
    """The s-expression of ``tokens`` from ``at`` as nested lists, and where it ends."""
    if tokens[at] != "(":
        return tokens[at], at + 1
    items: list[_Nested] = []
    at += 1
    while at < len(tokens) and tokens[at] != ")":
        item, at = _nested(tokens, at)
        items.append(item)
    return items, at + 1


def _flattened(node: _Nested) -> _Nested:
    """Chains of one associative operation as one: ``(* (* c f) x)`` and ``(* c (* f x))``
    are both ``(* c f x)`` (how ``c f(x)`` and ``c \\cdot f(x)`` group is typesetting)."""
    if isinstance(node, str) or not node:
        return node
    head, *rest = node
    items = [_flattened(item) for item in rest]
    if head in ("*", "+"):
        flat: list[_Nested] = []
        for item in items:
            if isinstance(item, list) and item and item[0] == head:
                flat.extend(item[1:])
            else:
                flat.append(item)
        items = flat
    return [head, *items]


def _flat_tokens(node: _Nested) -> list[str]:
    if isinstance(node, str):
        return [node]
    return ["(", *(t for item in node for t in _flat_tokens(item)), ")"]


def formula_features(text: str) -> list[Fingerprint]:
    """Features of the formulas in ``text``: k-grams of each run's canonical tokens."""
    runs, _ = split_text(text)
    found: list[Fingerprint] = []
    for start, end in runs:
        found += _run_features(text, start, end)
    return found


def _run_features(text: str, start: int, end: int) -> list[Fingerprint]:
    written = text[start:end]
    tokens = canonical_tokens(written)
    if tokens is None:
        pieces = _pieces(written)
        if len(pieces) > 1:
            found: list[Fingerprint] = []
            for offset, piece in pieces:
                found += _run_features(text, start + offset, start + offset + len(piece))
            return found
        tokens = ["~", *_WORD.findall(_LAYOUT.sub(" ", written))]  # unread: its symbols, as typed
    if len(tokens) < MIN_FORMULA_TOKENS:
        return []
    k = min(FORMULA_GRAM, len(tokens))
    return [
        Fingerprint(stable_hash("f\x1f" + "\x1f".join(tokens[i : i + k])), start, end)
        for i in range(len(tokens) - k + 1)
    ]


def _pieces(written: str) -> list[tuple[int, str]]:
    """A run cut at its top-level commas and semicolons (``W_1 = [1, 0], W_2 = [0, 1]``)."""
    pieces: list[tuple[int, str]] = []
    depth = 0
    last = 0
    for i, char in enumerate(written):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char in ",;" and depth == 0:
            pieces.append((last, written[last:i]))
            last = i + 1
    pieces.append((last, written[last:]))
    return [(offset + len(p) - len(p.lstrip()), p.strip()) for offset, p in pieces if p.strip()]


def prose_features(text: str) -> list[Fingerprint]:
    """Shingles of ``PROSE_GRAM`` content words of ``text`` (its formulas left out)."""
    _, words = split_text(text)
    content = [w for w in words if w.kind not in STOP_WORDS and w.kind not in _SHORT_PROSE]
    return list(_shingles(content))


def _shingles(words: list[Token]) -> Iterator[Fingerprint]:
    if len(words) < PROSE_GRAM:
        return
    for i in range(len(words) - PROSE_GRAM + 1):
        gram = words[i : i + PROSE_GRAM]
        yield Fingerprint(
            stable_hash("p\x1f" + "\x1f".join(w.kind for w in gram)), gram[0].start, gram[-1].end
        )
