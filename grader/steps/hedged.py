"""Words around a relation in prose that deny, quote, ask or restrict it without stating a
condition grader reads: its steps get no witness (kept as conditions not read), so a claim the
student does not make is never marked a wrong step.

- denied or quoted: ``It is not true that $(a+b)^2 = a^2 + b^2$``, ``A common mistake is
  $...$``, ``Students often wrongly write $...$``, ``"$...$"``;
- asked: ``Is $(p+q)^2 = p^2 + q^2$? No.``, ``whether $...$``;
- restricted after it, in its sentence: ``$x^2 = x$ for $x$ in \\{0, 1\\}``, ``$y^2 = y$ is 0
  or 1``, ``$t^3 = t$ except when ...``, ``$f = g$ on $[0, 1]$``, ``$z^2 = z$ means ...``
  (a condition that follows and is read, ``for $x > 0$``, is read where it is: not here);
- restricted by the next sentence: ``$\\sqrt{u^2} = u$. This holds when $u \\ge 0$.``
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from grader.steps.stated import Piece

_DENIED_BEFORE = re.compile(
    r"\b(?:not\s+(?:true|the\s+case|correct|valid|always|in\s+general|necessarily)|false|never"
    r"|wrong(?:ly)?|incorrect(?:ly)?|mistaken(?:ly)?|mistakes?|erroneous(?:ly)?|fallac\w*|misconceptions?"
    r"|pitfalls?|counter-?examples?|whether|(?:is|does|can)\s+it|tempting|naive(?:ly)?|fails?"
    r"|(?:an?|one|common|typical|frequent|classic(?:al)?)\s+(?:\w+\s+)?errors?)\b",
    re.IGNORECASE,
)
_OPEN_QUOTE = re.compile(r"(?:``|\"|\u201c|\u2018|\\enquote\s*\{|\\textquotedblleft\s*)\s*$")
_CLOSE_QUOTE = re.compile(r"^\s*(?:''|\"|\u201d|\u2019|\})")
# words right after a relation that restrict it (a condition follows, or a set of values)
_RESTRICTED_AFTER = re.compile(
    r"^[\s,]*(?:only\b|(?:for|when|whenever|if|iff|unless|except|provided|in|on|at)\b"
    r"|(?:is|are)\s+(?:either\s+|only\s+|exactly\s+)?(?:-?\d|true\s+only|valid|zero\b|one\b)"
    r"|holds?\s+(?:only|when|if|for|exactly|whenever|on|at)\b"
    r"|(?:has|have)\s+(?:the\s+|two\s+|no\s+|a\s+|one\s+)?(?:real\s+)?(?:solutions?|roots?)\b"
    r"|means\b|so\s+that\b|exactly\s+when\b)"
    r"(?!\s+(?:all|any|every|each|arbitrary|general)\b)",  # "for all $x$": no restriction
    re.IGNORECASE,
)
# a sentence right after that says when the relation before it holds
_RESTRICTED_NEXT = re.compile(
    r"^\s*(?:this|that|it|which|the\s+(?:identity|equality|equation|formula|step|claim|result|bound"
    r"|inequality|relation))\s+(?:\w+\s+)?(?:only\s+)?(?:holds?|is\s+(?:only\s+)?(?:true|valid|correct|right)"
    r"|works|applies|requires|needs|assumes|fails)\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?;]\s|\n\s*\n|\$\$|\\\]")


def hedged(
    text: str, pieces: Sequence[Piece], conditions_in: Callable[[str], list[str]]
) -> dict[int, list[str]]:
    """The words that deny, quote, ask or restrict each relation's piece of math, by its offset
    (``conditions_in``: the conditions a piece of math states, when it is one that is read)."""
    out: dict[int, list[str]] = {}
    prose = list(text)  # words inside math are no prose ("\\text{not}")
    for piece in pieces:
        prose[piece.start : _end(piece)] = " " * len(piece.math)
    words_only = "".join(prose)
    for index, piece in enumerate(pieces):
        following = pieces[index + 1] if index + 1 < len(pieces) else None
        words = _denied(text, words_only, piece) or _restricted(text, piece, following, conditions_in)
        if words:  # without its $: about the step it follows, whatever names it writes
            out.setdefault(piece.start, []).append(" ".join(words.replace("$", "").split()))
    return out


def _end(piece: Piece) -> int:
    return piece.start + len(piece.math)


_CLOSING = re.compile(r"\$\$|\$|\\\)|\\\]|\\end\s*\{[A-Za-z*]+\}")


def _after(text: str, piece: Piece) -> int:
    """Where the prose after a piece of math starts (past its closing ``$``, ``$$``, ``\\)``, ...)."""
    closing = _CLOSING.match(text, _end(piece))
    return closing.end() if closing else _end(piece)


def _sentence_before(text: str, piece: Piece) -> str:
    before = re.sub(r"(?:\$|\\\()\s*$", "", text[max(0, piece.start - 160) : piece.start])
    return _SENTENCE_END.split(before)[-1]


def _rest_of_sentence(text: str, piece: Piece) -> tuple[str, int]:
    """The words after a piece of math to the end of its sentence (its "?" kept), and where the
    next sentence starts."""
    start = _after(text, piece)
    rest = text[start : start + 200] + " "
    end = _SENTENCE_END.search(rest)
    if end is None:
        return rest, start + len(rest)
    return rest[: end.start()] + ("?" if end.group().startswith("?") else ""), start + end.end()


def _denied(text: str, words_only: str, piece: Piece) -> str | None:
    before = _sentence_before(words_only, piece)
    if (m := _DENIED_BEFORE.search(before)) is not None:
        return before[m.start() :].strip() + " ..."
    raw_before = text[max(0, piece.start - 20) : piece.start].rstrip("$(\\[ ")
    raw_after = text[_after(text, piece) : _after(text, piece) + 20]
    if _OPEN_QUOTE.search(raw_before) and _CLOSE_QUOTE.match(raw_after):
        return "quoted"
    if "?" in _rest_of_sentence(text, piece)[0].split("$")[0]:
        return "asked: ...?"
    return None


def _restricted(
    text: str, piece: Piece, following: Piece | None, conditions_in: Callable[[str], list[str]]
) -> str | None:
    rest, next_sentence = _rest_of_sentence(text, piece)
    words = rest.split("$")[0]
    if (m := _RESTRICTED_AFTER.match(words)) is not None:
        read_next = (
            following is not None
            and not following.display
            and not text[_end(piece) : following.start]
            .strip(" $\\()\n,")
            .lower()
            .endswith(("except", "except when", "except for", "except if", "unless"))
            and bool(conditions_in(following.math))
        )
        if not (read_next and not words[m.end() :].strip()):
            return " ".join(rest.split())[:80]
    if "$" not in rest and _RESTRICTED_NEXT.match(text[next_sentence : next_sentence + 120]):
        return text[next_sentence : next_sentence + 80].split("\n\n")[0].strip()
    return None
