"""Which stated conditions reach a chain (used by :mod:`grader.steps.find`).

A condition is a case: a later case on the same symbol replaces an earlier one ("If $x > 0$
then ..., and if $x < 0$ then ..."), conditions listed together in one statement ("for $x > 0$
and $x < 1$", ``0 < x < 1``) hold together, words that make a symbol general again ("let $x$
be any real number", "for all $x$") or state another case of it in words ("for negative $x$")
end the conditions on it, and a condition written after a chain applies to it only in the
chain's own clause ("$|x| = x$ for $x > 0$", not "$|x| = x$, and if $x < 0$ ...")."""

from __future__ import annotations

import re
from collections.abc import Sequence

from grader.steps import premise

IDENTIFIER = re.compile(r"\\?[A-Za-z]+(?:_\{[^{}]*\}|_\w)?")
NOT_SYMBOLS = {"\\in", "\\mathbb", "\\le", "\\leq", "\\ge", "\\geq", "\\lt", "\\gt", "R", "N", "Z"}

# what lies between two pieces of math listed in one statement: "$x > 0$ and $x < 1$", "$a$, $b$"
_LISTED = re.compile(r"[\s$()\\]*(?:,|\band\b|\bor\b)?[\s$()\\]*", re.IGNORECASE)
# a new clause or sentence between a chain and a condition after it
_BREAK = re.compile(
    r"[.;!?](?:\s|$)|\n\s*\n|\b(?:and|but|while|whereas|then|so|hence|thus|now|next|also)\b", re.IGNORECASE
)
_NAME = r"\\?([A-Za-z]+(?:_\{?\w+\}?)?)"
_REAL = r"(?:\\in\s*\\mathbb\s*\{?\s*R\s*\}?\s*)?"
# "any real $x$", "for all $x$", "every $x \in \mathbb{R}$", "$x$ be any real number",
# "$x$ is arbitrary", "\forall x," : the symbol is general again
_QUALIFIED = r"(?!\s*(?:in|with|such|satisfying|that|where|from|between|on|of|near|close)\b)"
_GENERAL_SYMBOL = re.compile(
    rf"\b(?:any|every|all|each|arbitrary)\s+(?:real\s+)?(?:(?:numbers?|values?)\s+(?:of\s+)?)?\$\s*{_NAME}\s*{_REAL}\${_QUALIFIED}"
    rf"|\$\s*{_NAME}\s*{_REAL}\$\s*(?:be|is|being)\s+(?:an?\s+)?(?:any|arbitrary)\b(?!\s+(?:positive|negative|non))"
    rf"|\\forall\s*{_NAME}\s*{_REAL}(?=[,:$]|\\quad|\\colon)",
    re.IGNORECASE,
)
# the math a sign in words is about: "for negative $x$", "positive values of $x$"
_SIGN_OF = re.compile(rf"\s+(?:(?:values?|numbers?)\s+(?:of\s+)?)?\$\s*{_NAME}\s*\$")


def names_in(condition: str) -> set[str]:
    return {n for n in IDENTIFIER.findall(condition) if n not in NOT_SYMBOLS}


def crossed(
    plain: str, chain_start: int, conditions: list[tuple[int, str, int]]
) -> set[tuple[int, str, int]]:
    """(line, condition, offset) of the cases stated in an earlier paragraph of words than the
    chain's (not standing assumptions, not under a case's heading): :func:`other_paragraph`."""
    return {
        (line, condition, start)
        for line, condition, start in conditions
        if start < chain_start and not standing(plain, start) and other_paragraph(plain, start, chain_start)
    }


def not_replaced(
    conditions: list[tuple[int, str, int]], crossed: set[tuple[int, str, int]]
) -> list[tuple[int, str, int]]:
    """(line, condition, offset) without those of ``crossed`` that a later condition on the
    same names replaces ("For $x > 0$ ... <paragraph> For $x < 0$ we get ..."): no longer cases."""
    kept = []
    for line, condition, start in conditions:
        names = names_in(condition)
        if (line, condition, start) in crossed and any(
            later > start and names_in(other) == names for _, other, later in conditions if other != condition
        ):
            continue
        kept.append((line, condition, start))
    return kept


def about_steps(conditions: tuple[str, ...], steps: str) -> tuple[str, ...]:
    """The conditions that may restrict the steps (``steps``: their sides written out): those on
    a name they write, and those on a name such a condition writes (``x \\in \\mathbb{R}^n``
    then ``n > 5`` for ``x^\\top y``); a condition only on other names changes nothing they claim."""
    kept: list[str] = []
    reached = steps
    grew = True
    while grew:
        grew = False
        for condition in conditions:
            if condition not in kept and may_restrict(condition, reached):
                kept.append(condition)
                reached += " " + condition
                grew = True
    return tuple(c for c in conditions if c in kept)


def restricting(unread: list[str], read: list[str], steps: str) -> tuple[str, ...]:
    """The conditions not read that may restrict the steps, through them or a condition read."""
    return tuple(c for c in about_steps((*read, *unread), steps) if c in unread)


def with_sizes(steps: str, sizes: Sequence[tuple[str, tuple[str, ...]]]) -> str:
    """The steps' text and the sizes declared for the names they write (``x \\in \\mathbb{R}^n``:
    a condition on ``n`` restricts ``x^\\top y``)."""
    return " ".join([steps, *(" ".join(dims) for name, dims in sizes if may_restrict(name, steps))])


def may_restrict(condition: str, written: str) -> bool:
    """Whether a condition may restrict what is written: one of its names is written there, or
    its letter is inside a run of letters (``x > 0`` with ``2xy``: kept, erring towards
    restricting); words in ``\\text{ReLU}`` or ``\\operatorname{}`` are no names."""
    written = _WORDS_IN_MATH.sub(" ", written)
    there = {n.split("_")[0] for n in IDENTIFIER.findall(written)}
    runs = [n for n in there if not n.startswith("\\")]
    for name in names_in(condition):
        letters = name.split("_")[0]
        if letters in there or (len(letters) == 1 and any(letters in run for run in runs)):
            return True
    return False


_WORDS_IN_MATH = re.compile(r"\\(?:text|textrm|mathrm|operatorname)\s*\{[^{}]*\}")


def listed(between: str) -> bool:
    """Whether two pieces of math with ``between`` between them are listed in one statement."""
    return len(between) < 16 and _LISTED.fullmatch(between) is not None


def own_clause(plain: str, chain_end: int, start: int) -> bool:
    """Whether a condition at ``start`` after a chain is in the chain's clause (the prose
    between them, math blanked, starts no new clause or sentence)."""
    return _BREAK.search(plain[chain_end:start]) is None


_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_SENTENCE_END = re.compile(r"(?<=[A-Za-z)])[.!?](?:\s|$)")  # an item's "1." ends none


# a case's heading: "**Case 1:** $x_1 \\ge 0$", "Case (ii). $x < 0$": it holds until the next case
_CASE_HEADING = re.compile(
    r"\bcase\s*(?:\d+|[ivx]+|\([a-z0-9]+\)|[a-z])?\s*[:.)]?\s*(?:\*\*|__|\})?\s*$", re.IGNORECASE
)


def other_paragraph(plain: str, start: int, chain_start: int) -> bool:
    """Whether a paragraph of words opens between a condition at ``start`` and a chain: "For $u
    \\ge 0$, ... .  <blank line> The softmax ... . We note $|u| = u$." A case stated in one
    paragraph may not be meant in the next; a word or two between displays ("Hence") goes on,
    and so does a case's heading ("**Case 1:** $x \\ge 0$"), until the next case."""
    if _CASE_HEADING.search(plain[max(0, start - 40) : start].rstrip("$( \\")):
        return False
    breaks = list(_PARAGRAPH_BREAK.finditer(plain, start, chain_start))
    if not breaks:
        return False
    words = plain[breaks[0].end() : chain_start]
    return _SENTENCE_END.search(words) is not None or len(re.findall(r"[A-Za-z]{2,}", words)) >= 4


def symbol_resets(text: str, plain: str) -> tuple[tuple[int, str], ...]:
    """(offset, symbol) where the words make a symbol general again or state a case of it in
    words grader does not read: the conditions on it stated before no longer apply."""
    found = [(m.start(), _bare(next(g for g in m.groups() if g))) for m in _GENERAL_SYMBOL.finditer(text)]
    for at, word in premise.sign_words(plain):
        m = _SIGN_OF.match(text, at + len(word))
        if m is not None:
            found.append((at, _bare(m.group(1))))
    return tuple(sorted(found))


def _bare(name: str) -> str:
    return name.replace("{", "").replace("}", "")


def reset(resets: Sequence[tuple[int, str]], condition: str, start: int, until: int) -> bool:
    """Whether a reset of one of the condition's symbols lies after it, up to ``until``."""
    names = {_bare(n).lstrip("\\") for n in names_in(condition)}
    return any(start < at <= until and name.lstrip("\\") in names for at, name in resets)


# a sentence that opens with these words states a standing assumption ("Let $x > 0$."), not a case
_STANDING = re.compile(
    r"\W*(?:(?:now|next|finally|instead|and|but)\s*,?\s+)?(?:let(?!\s+us\b|\s+me\b|'s)|assume|assuming|suppose|given|throughout|we\s+are\s+(?:told|given))\b",
    re.IGNORECASE,
)


def standing(plain: str, start: int) -> bool:
    """Whether the condition at ``start`` is a standing assumption: its sentence opens with
    "let", "assume", "suppose", "given", ... ("Let $x > 0$. If $x < 1$ then ...": both hold)."""
    # a displayed formula ends a sentence too ("Then $$...$$ Now suppose $x \\ge 0$")
    sentence = re.split(r"[.!?;:](?:\s|$)|\n\s*\n|\$\$|\\\]", plain[max(0, start - 200) : start])[-1]
    return _STANDING.match(sentence) is not None


def latest_per_symbol(conditions: list[tuple[int, str, bool]]) -> list[str]:
    """(offset, condition, standing) -> the conditions that apply. A case stated later (by
    offset) on the same symbols replaces an earlier one ("for $x > 0$ ... for $x < 0$"); a
    standing assumption ("Let $x > 0$.") holds on under a later case and under a later standing
    one (both hold: the domain narrows); a reset ends it. Conditions stated together (one
    offset: listed in one statement) hold together, and so do conditions on other symbols (``x < 0`` and
    ``x + \\epsilon < 0``): the domain is then narrower, never wider."""
    named = [(at, c, frozenset(names_in(c)), kept) for at, c, kept in conditions]
    latest: dict[frozenset[str], int] = {}
    for at, _, names, _ in named:
        latest[names] = max(latest.get(names, at), at)
    # standing assumptions all hold ("Assume $x > 0$. Assume $x < 1$."): none replaces another
    return [c for at, c, names, kept in named if kept or at == latest[names]]


# a math piece's closing delimiter and the spaces after it, on its line (a comma ends the clause:
# "$B$, otherwise $C$" turns after B)
_AFTER_MATH = re.compile(r"(?:\$\$|\$|\\\)|\\\])?[ \t]{0,4}")


def after_math(plain: str, end: int) -> int:
    m = _AFTER_MATH.match(plain, end)
    return end if m is None else m.end()
