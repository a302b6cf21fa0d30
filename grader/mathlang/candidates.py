"""One answer per mark: the candidate answers a text holds when it holds more than one.

``\\frac{1}{2} or 1``, ``2x \\text{ or maybe } x^2``, ``2x. Actually, it is x^2``: a text that
offers a second answer beside the first (joined by "or", or a sentence that corrects the
first) is not one answer, and grading it on either would guess. The text is only cut here,
never rewritten into a formula: words inside ``\\text{...}`` count as words, and what lies
inside braces or an environment (``\\begin{cases} 0 & x < 0 \\text{ or } x > 1``) is part of one
formula. Conditions joined by "or" (``x < -1 or x > 1``) are one condition, not two answers.
"""

from __future__ import annotations

import re

# Between two formulas a write-up shows apart with nothing but white space between them
# (``$\\frac{1}{2}$ $1$``, two displays in one mark): read side by side they would be one
# product; the readers put this separator there instead, and each is a candidate answer.
APART = "\u2063"  # INVISIBLE SEPARATOR

# Around prose a write-up's mark holds beside its math (``the gradient is $2x$, by the chain
# rule``): the readers put it on both sides of each piece of prose. A formula part reads the
# math alone (and refuses prose that withdraws it); other parts read the text without it.
PROSE = "\u2060"  # WORD JOINER
# A piece that starts with a relation or an operator, or one ending with an operator, continues
# the formula before it (working continued on the next line, an ``&=`` row): never a second answer.
_CONTINUES = re.compile(r"^\s*(?:=|\+|\*|/|\\cdot|\\times|\\(?:le|ge|leq|geq|approx)(?![A-Za-z]))")
_CONTINUED = re.compile(r"(?:=|\+|-|\*|/|\\cdot|\\times|\(|\[|,)\s*$")


def with_prose(pieces: list[tuple[str, bool]]) -> str:
    """The text of ``pieces`` (text, is it math), prose beside math set off by :data:`PROSE`."""
    prose_beside_math = any(math for _, math in pieces) and any(
        not math and re.search(r"[A-Za-z]{2,}", text) for text, math in pieces
    )
    if not prose_beside_math:
        return "".join(text for text, _ in pieces)
    return "".join(text if math or not text.strip() else f"{PROSE}{text}{PROSE}" for text, math in pieces)


def math_and_prose(text: str) -> tuple[str, str]:
    """(the math of ``text``, each formula kept apart; the prose beside it)."""
    pieces = text.split(PROSE)
    formulas = [piece.strip() for piece in pieces[0::2] if piece.strip()]
    return f" {APART} ".join(formulas), " ".join(pieces[1::2])


def mended(text: str) -> str:
    """Formulas kept apart that continue one another (``x + x`` then ``= 2x``) joined as one."""
    if APART not in text:
        return text
    pieces = text.split(APART)
    out = pieces[0]
    for piece in pieces[1:]:
        joins = _CONTINUES.match(piece) or _CONTINUED.search(out.replace(PROSE, " "))
        out += " " + piece.strip() if joins else APART + piece
    return out


# Words that say the formula beside them is not the answer (a draft kept, then corrected).
_RETRACTING = (
    r"but|instead|however|first\s+(?:had|got|wrote|tried|thought|try|attempt|guess|answer)|at\s+first|initially|originally"
    r"|previously|earlier|wrong|retract(?:ed)?|withdrawn?|discard(?:ed)?|(?:is|was|looks|seems)\s+(?:wrong|incorrect|off)|incorrect|mistakes?|mistaken"
    r"|typo|corrected|should\s+(?:be|have\s+been|read)|rather\s+than|replaced?\s+(?:by|with)"
    r"|not\s+(?:right|correct|sure)|ignore\s+(?:this|that|it)|crossed\s+out|struck\s+out|draft"
)
# Words that offer another answer, or correct the one before them.
_JOINERS = re.compile(
    r"\b(?:or\s*,?\s*(?:maybe|perhaps|possibly|rather|else|alternatively)?|alternatively|actually"
    r"|i\s+mean|no\s*,?\s*wait|wait|sorry|oops|correction|scratch\s+that|make\s+that|maybe|perhaps|on\s+second\s+thought"
    r"|no\s*,\s*(?:it|the|i)\b"
    # prose that withdraws the formula before it: "is what I first had, but the chain rule gives"
    rf"|{_RETRACTING})\b",
    re.IGNORECASE,
)
_WITHDRAWN = re.compile(rf"\b(?:{_RETRACTING})\b", re.IGNORECASE)
_PLAIN_OR = re.compile(r"or\s*,?", re.IGNORECASE)
# Commands whose braces hold words, not a formula.
_PROSE = re.compile(r"\\(?:text|textrm|textit|textbf|textnormal|textsf|mbox|emph|intertext)\s*\{")
_SPACING = re.compile(r"\\(?:quad|qquad|[,;:! ])")
# Words a correction starts with before its formula: "it is", "the answer should be".
_LEAD_WORDS = frozenset(
    [
        "it",
        "it's",
        "its",
        "is",
        "was",
        "the",
        "answer",
        "value",
        "result",
        "would",
        "be",
        "should",
        "i",
        "think",
        "guess",
        "get",
        "got",
        "mean",
        "equals",
        "then",
        "so",
        "either",
        "equivalently",
        "also",
    ]
)
_RELATION = re.compile(r"<|>|=|\\(?:le|ge|leq|geq|lt|gt|ne|neq|in|leqslant|geqslant)(?![A-Za-z])|≤|≥|≠|∈")
_FORMULA_SIGN = re.compile(r"[0-9\\^_=+*/<>|(\[]|^[A-Za-z]{1,3}$|^[0-9]*[A-Za-z]$|^[A-Za-z](?:\s+[A-Za-z])+$")
_WORD = re.compile(r"[A-Za-z']+")
_PROSE_WORD = re.compile(r"(?:[A-Za-z']{3,}|is|it|I|of|to|by|as|be|so|we|my)[,;:.!?]?")


def several_answers(text: str) -> tuple[str, ...]:
    """The candidate answers ``text`` offers when there are two or more; else ()."""
    apart = [piece.strip() for piece in text.split(APART) if piece.strip()]
    if len(apart) > 1:
        return tuple(apart)
    flat = _flatten(text.replace(APART, " "))
    joints = [m for m in _JOINERS.finditer(flat) if _outside(flat, m.start())]
    if not joints:
        return ()
    pieces: list[str] = []
    start = 0
    for joint in joints:
        pieces.append(flat[start : joint.start()])
        start = joint.end()
    pieces.append(flat[start:])
    candidates = [piece for piece in (_cleaned(p) for p in pieces) if _holds_formula(piece)]
    if len(candidates) < 2:
        return ()
    only_or = all(_PLAIN_OR.fullmatch(j.group().strip()) for j in joints)
    if only_or and all(_RELATION.search(c) for c in candidates):
        return ()  # x < -1 or x > 1: one condition
    return tuple(candidates)


_OTHER_RELATION = re.compile(
    r"<|>|!=|==|\\(?:le|ge|leq|geq|lt|gt|ne|neq|in|approx|sim|equiv|to)(?![A-Za-z])|≤|≥|≠|∈"
)


def chain_members(text: str) -> list[str]:
    """``L = x + x = 2x`` (working continued: ``&=`` rows, a next line starting with ``=``) as
    its members ``[L, x + x, 2x]``; [] when ``text`` is no chain of three or more."""
    flat = text.replace(APART, " ")
    if flat.count("=") < 2:  # three members need two signs (most answers: no walk of the text)
        return []
    if _OTHER_RELATION.search(flat) or _PROSE.search(flat):
        return []
    members: list[str] = []
    start = depth = 0
    index = 0
    while index < len(flat):
        if flat.startswith("\\begin", index):
            depth += 1
        elif flat.startswith("\\end", index):
            depth -= 1
        char = flat[index]
        if char == "\\":
            index += 2
            continue
        depth += char in "{(["
        depth -= char in "})]"
        if char in ",;" and depth == 0:
            return []  # a list of assignments or conditions, not one chain
        if char == "=" and depth == 0:
            members.append(flat[start:index].strip())
            start = index + 1
        index += 1
    members.append(flat[start:].strip())
    return members if len(members) >= 3 and all(members[1:]) else []


def withdrawal(text: str) -> str | None:
    """The words that withdraw the formula in ``text`` (``2x \\text{ -- wrong, ignore it}``), or
    None: a formula its own mark disowns is not an answer to grade."""
    flat = _flatten(text.replace(APART, " "))
    for match in _WITHDRAWN.finditer(flat):
        if _outside(flat, match.start()):
            return " ".join(match.group().split())
    return None


def _flatten(text: str) -> str:
    """Words in ``\\text{...}`` as words; spacing commands as spaces; math dollars dropped."""
    out = text
    for _ in range(64):  # nested groups, innermost last
        match = _PROSE.search(out)
        if match is None:
            break
        end = closing_brace(out, match.end())
        if end is None:
            break
        out = f"{out[: match.start()]} {out[match.end() : end]} {out[end + 1 :]}"
    out = _SPACING.sub(" ", out)
    return out.replace("$", " ")


def closing_brace(text: str, start: int) -> int | None:
    """Where the brace opened just before ``start`` closes (escaped braces skipped)."""
    depth = 1
    index = start
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        depth += char == "{"
        depth -= char == "}"
        if depth == 0:
            return index
        index += 1
    return None


def _outside(text: str, position: int) -> bool:
    """Is ``position`` outside every brace and environment (a word between formulas)?"""
    depth = 0
    index = 0
    while index < position:
        if text.startswith("\\begin", index):
            depth += 1
        elif text.startswith("\\end", index):
            depth -= 1
        char = text[index]
        if char == "\\":
            index += 2
            continue
        depth += char == "{"
        depth -= char == "}"
        index += 1
    return depth == 0


def _cleaned(piece: str) -> str:
    piece = piece.strip(" \t\n,;:.!?")
    words = piece.split()
    while words and words[0].lower().strip(",") in _LEAD_WORDS:
        words = words[1:]
    while len(words) > 1 and _PROSE_WORD.fullmatch(words[-1]):
        words = words[:-1]  # "2x is what I": the formula, not the words after it
    while len(words) > 1 and _PROSE_WORD.fullmatch(words[0]):
        words = words[1:]
    piece = " ".join(words).strip(" ,;:.!?")
    if piece.startswith("(") and piece.count("(") > piece.count(")"):
        piece = piece[1:].strip()
    if piece.endswith(")") and piece.count(")") > piece.count("("):
        piece = piece[:-1].strip()
    if piece.endswith("(") and piece.count("(") > piece.count(")"):
        piece = piece[:-1].strip()
    return piece.strip(" ,;:.!?")


def _holds_formula(piece: str) -> bool:
    """A formula rather than words: a digit, a command, an operator, or a short symbol."""
    if not piece:
        return False
    words = _WORD.findall(piece)
    if len(words) > 3 and not re.search(r"[0-9\\^_=+*/]", piece):
        return False  # a sentence
    return _FORMULA_SIGN.search(piece) is not None
