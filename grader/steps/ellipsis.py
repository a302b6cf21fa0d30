"""Ellipses read where their pattern is unambiguous: a sum written with dots as a sum over an
index, a function of a list written with dots at the list's generic entry.

A sum ``t_1 + t_2 + \\dots + t_n`` whose terms differ only in one index (the term after the dots
is the one before with a size symbol for its number, the terms written before it the pattern's
previous ones) is ``\\sum_{l=1}^{n} t_l``; ``t_1 + \\dots + t_j + \\dots + t_n`` (a middle term
at an index ``j``) the same sum; ``t_1 + \\dots + t_j + \\dots`` (no last term) a sum whose number
of terms is not written, read as a sum without bounds (``\\sum_l t_l``: shown by probes, never
refuted). A term written before the pattern that is none of its terms (``1 + e^{x_2} + \\dots``)
stays a term of its own; one that is a term of the pattern but not the previous one
(``x_1 + x_3 + \\dots + x_n``: the odd ones?) leaves the sum unread. A term is the pattern's
when written the same or when equal to it exactly (``e^0`` is ``e^{x_1 - x_1}``: the caller's
exact identity). ``0 + 0 + \\dots + 1 + \\dots + 0`` has no index: its terms and its count are
not written, and it is not read.

``S([x_1, x_2, \\dots, x_K]) = S([0, x_2 - x_1, \\dots, x_K - x_1])`` with ``S`` defined entry by
entry in the write-up (``S(\\mathbf{x})_i = ...``, :mod:`grader.steps.entries`) and every item of
each list the pattern's (``0`` is ``x_1 - x_1``), the two lists of one length ``K``: the step at
a generic entry ``i`` of the ``K``, the definition's sums without bounds running to ``K``.

Pure text work: the step so read is decided like any step with sums (:mod:`grader.steps.sums`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from grader.mathlang import ast
from grader.mathlang.intervals import split_top_level
from grader.steps.latex import term_end, term_start
from grader.steps.opaque import sum_span
from grader.steps.read import Context, read_side

Same = Callable[[str, str], bool]  # two formulas equal exactly (the checker's identity)
_DOTS = r"(?:\\dots|\\cdots|\\ldots|\.\.\.)"
_SUM_DOTS = re.compile(rf"\+\s*{_DOTS}")
_CLOSER = re.compile(r"\s*(?:\\right\s*[)\]]|\\big[gl]?\s*\)|[)\]}]|$)")
_INDEX_LETTERS = "ijkmn"  # an index a middle term is written at (t_j)
_BOUND_LETTERS = "lpqruvw"  # a fresh index for a sum so read
_SIMPLE_SUBSCRIPT = re.compile(r"^\s*[a-z0-9](?:\s*[a-z0-9]){1,2}\s*$")
MAX_BEFORE = 6  # terms of the pattern written before the dots
MAX_SUMS = 4  # sums with dots in one side


@dataclass(frozen=True)
class Reading:
    """The step's sides with their dots read, how (for the certificate), and whether a point
    where the step so read fails is a witness (the count of every sum written); ``why`` when
    the dots are read but the step so read means nothing definite."""

    left: str
    right: str
    said: str
    exact: bool
    why: str = ""
    least: dict[str, int] = field(default_factory=dict)  # a size below is no witness's


def put(text: str, name: str, value: str) -> str:
    """``name`` given ``value`` (a number or an index letter): in a subscript of letters and
    digits (``x_{nj}``) letter by letter, in another subscript as a token, elsewhere in brackets."""

    def in_script(m: re.Match[str]) -> str:
        inner = m.group(1)
        if _SIMPLE_SUBSCRIPT.match(inner):
            return "_{" + inner.replace(name, value) + "}"
        return "_{" + re.sub(rf"(?<![A-Za-z\\]){name}(?![A-Za-z])", value, inner) + "}"

    text = re.sub(r"_\{([^{}]*)\}", in_script, text)
    text = re.sub(rf"([_^])\s*{name}(?![A-Za-z])", lambda m: f"{m.group(1)}{{{value}}}", text)
    return re.sub(rf"(?<![A-Za-z\\]){name}(?![A-Za-z])", f"({value})", text)


def _squeeze(text: str) -> str:
    return re.sub(r"\s+|[{}]|\\left|\\right", "", text)


def _is(term: str, pattern: str, name: str, value: str, same: Same) -> bool:
    """``term`` is ``pattern`` at ``name = value``: written the same, or equal exactly."""
    at = put(pattern, name, value)
    squeezed = _squeeze(term)
    if squeezed in (_squeeze(at), f"({_squeeze(at)})") or _squeeze(at) == f"({squeezed})":
        return True
    return bool(re.search(r"[A-Za-z0-9]", term)) and same(term, at)


def _letters(text: str) -> set[str]:
    """Single letters standing as names or indices (``x_{nj}``: x, n, j)."""
    found = set(re.findall(r"(?<![A-Za-z\\])([A-Za-z])(?![A-Za-z])", re.sub(r"_\{[^{}]*\}", " ", text)))
    for m in re.finditer(r"_\{([^{}]*)\}", text):
        inner = m.group(1)
        found |= (
            set(inner.replace(" ", ""))
            if _SIMPLE_SUBSCRIPT.match(inner)
            else set(re.findall(r"(?<![A-Za-z\\])([A-Za-z])(?![A-Za-z])", inner))
        )
    return {c for c in found if c.isalpha()}


def _size_of(before: str, after: str, same: Same) -> tuple[str, int] | None:
    """The size symbol of ``after`` and the number k with ``before`` the term ``after`` at k."""
    found = [
        (name, k)
        for name in sorted(_letters(after))
        for k in range(0, MAX_BEFORE + 1)
        if _is(before, after, name, str(k), same)
    ]
    return found[0] if len({name for name, _ in found}) == 1 and len(found) == 1 else None


@dataclass(frozen=True)
class _Run:
    start: int  # where the sum's first term starts
    end: int  # where it ends (the last term, or the trailing dots)
    pattern: str  # the general term, at the index ``name``
    name: str
    first: int  # the index of the first term the sum stands for
    last: str  # the size symbol, or "" (no last term: the count not written)
    least: int  # the least size with the terms written (x_1 + x_2 + \\dots + x_n: 3)


def _previous_terms(
    text: str, start: int, pattern: str, name: str, k: int, same: Same
) -> tuple[int, int] | None:
    """The first of the pattern's terms written just before the one at ``start`` (index k),
    each the previous one: its start and index; None when one of them is a term of the pattern but not
    the previous one (``x_1 + x_3 + \\dots``). A term none of the pattern's stays one of its own."""
    for _ in range(MAX_BEFORE):
        head = text[:start].rstrip()
        if not head.endswith("+"):
            return start, k
        at = term_start(head, len(head) - 1)
        prior = head[at : len(head) - 1]
        if _negated(head, at):  # a - x_1 + x_2 + \dots: -x_1 stays a term of its own
            return start, k
        if k >= 1 and _is(prior, pattern, name, str(k - 1), same):
            start, k = at, k - 1
            continue
        if any(_is(prior, pattern, name, str(j), same) for j in range(0, MAX_BEFORE + 1)):
            return None
        return start, k
    return None


def _negated(text: str, start: int) -> bool:
    """The term at ``start`` comes after a minus (``- x_2 + \\dots``): the pattern's terms are
    added, this one is subtracted."""
    return text[:start].rstrip().endswith("-")


def _next_term(text: str, at: int) -> tuple[int, int] | None:
    """The term after ``+`` at or after ``at`` (its start and end), or None."""
    m = re.compile(r"\s*\+\s*").match(text, at)
    if m is None:
        return None
    return m.end(), term_end(text, m.end())


def _run(text: str, m: re.Match[str], same: Same) -> _Run | None:
    """The sum a ``+ \\dots`` belongs to, from the first of the pattern's terms written before
    it: ``B + \\dots + A`` (A the term at the size symbol), else :func:`_middle_run`."""
    start = term_start(text, m.start())
    before = text[start : m.start()].strip()
    after = _next_term(text, m.end())
    if not before or after is None:
        return None  # B + \dots at the end: no term after the dots to read a pattern from
    if _negated(text, start):
        return None  # x_1 - x_2 + \dots + x_n: -x_2 then +x_3, ...? the pattern's sign is not written
    term = text[after[0] : after[1]].strip()
    tail = re.compile(rf"\s*\+\s*{_DOTS}").match(text, after[1])
    if tail is not None:
        return _middle_run(text, start, before, term, tail.end(), same)
    size = _size_of(before, term, same)
    found = None if size is None else _previous_terms(text, start, term, size[0], size[1], same)
    if size is None or found is None:
        return None
    return _Run(found[0], after[1], term, size[0], found[1], size[0], size[1] + 1)


def _middle_run(text: str, start: int, before: str, term: str, end: int, same: Same) -> _Run | None:
    """``B + \\dots + M + \\dots + A`` (M the term at an index ``j``, B at a number ``k``, A at the
    size symbol): the sum of the pattern; ``B + \\dots + M + \\dots`` (no last term, B the first):
    a sum without its count."""
    at = [(c, k) for c in _INDEX_LETTERS for k in range(0, MAX_BEFORE + 1) if c in _letters(term)]
    at = [(c, k) for c, k in at if _is(before, term, c, str(k), same)]
    first = _previous_terms(text, start, term, at[0][0], at[0][1], same) if len(at) == 1 else None
    if first is None:
        return None
    name, k = at[0]
    if _CLOSER.match(text, end):  # the count not written: a sum from 1 only
        return _Run(first[0], end, term, name, 1, "", 0) if first[1] == 1 else None
    last = _next_term(text, end)
    final = "" if last is None else text[last[0] : last[1]].strip()
    size = _size_of(before, final, same) if last is not None else None
    if last is None or size is None or size[1] != k or not _is(term, final, size[0], name, same):
        return None  # B, M, A one pattern at k, j and n
    return _Run(first[0], last[1], final, size[0], first[1], size[0], k + 1)


def sums_read(text: str, taken: str, same: Same) -> tuple[str, bool, list[str], dict[str, int]] | None:
    """The side with every sum written with dots read as a sum over a fresh index: the text,
    whether every count is written, each sum as read and the least size of each size symbol
    with the terms written; None when one is not read (or there is none)."""
    least: dict[str, int] = {}
    said: list[str] = []
    exact = True
    for _ in range(MAX_SUMS):
        m = _SUM_DOTS.search(text)
        if m is None:
            break
        run = _run(text, m, same)
        if run is None:
            return None
        index = next((c for c in _BOUND_LETTERS if c not in _letters(taken + " " + text)), None)
        if index is None:
            return None
        body = put(run.pattern, run.name, index)
        scripts = f"_{{{index}={run.first}}}^{{{run.last}}}" if run.last else f"_{{{index}}}"
        written = f"\\sum{scripts} ({body})"
        said.append(written)
        exact = exact and bool(run.last)
        if run.last:
            least[run.last] = max(least.get(run.last, 0), run.least)
        text = f"{text[: run.start]}({written}){text[run.end :]}"
    if not said or re.search(_DOTS, text):
        return None
    return text, exact, said, least


def shadowed(text: str) -> str | None:
    """An index of a sum that a sum inside its body binds again (``\\sum_j q_j (\\sum_j k_j)``):
    the index, else None."""
    for m in re.finditer(r"\\sum\s*_\s*\{?\s*([a-z])", text):
        span = sum_span(text[m.start() :])
        if span is None or span == (-1, -1):
            continue
        body = text[m.start() + 5 : m.start() + span[1]]
        if re.search(rf"\\sum\s*_\s*\{{?\s*{m.group(1)}(?![A-Za-z])", body):
            return m.group(1)
    return None


# F([a, b, \dots, z]) or F([...]^\top), F a function the write-up defines entry by entry
_APPLIED_LIST = re.compile(
    r"^\s*(?P<name>\\[A-Za-z]+|[A-Za-z])\s*(?:\\left\s*)?\(\s*\[(?P<items>.*)\]\s*"
    r"(?P<top>\^\s*\{?\s*(?:\\top|T)\s*\}?)?\s*(?:\\right\s*)?\)\s*$"
)


def list_pattern(items: Sequence[str], same: Same) -> tuple[str, str] | None:
    """``[p(1), ..., p(m), \\dots, p(K)]``: the general item and the size symbol ``K``, every
    item written the pattern's at its place."""
    dots = [a for a, item in enumerate(items) if re.fullmatch(_DOTS, item)]
    if len(dots) != 1 or dots[0] != len(items) - 2 or dots[0] == 0:
        return None
    last = items[-1]
    size = _size_of(items[dots[0] - 1], last, same)
    if size is None or size[1] != dots[0]:
        return None
    name = size[0]
    if not all(_is(item, last, name, str(a + 1), same) for a, item in enumerate(items[: dots[0]])):
        return None
    return last, name


def entries_read(
    left: str, right: str, definitions: Sequence[tuple[str, str, str, str, int]], same: Same
) -> Reading | None:
    """``F([...]) = F([...])`` with ``F`` defined entry by entry: the step at a generic entry."""
    sides = [_APPLIED_LIST.match(left), _APPLIED_LIST.match(right)]
    if sides[0] is None or sides[1] is None or sides[0].group("name") != sides[1].group("name"):
        return None
    name = sides[0].group("name").lstrip("\\")
    found = [d for d in definitions if d[0] == name and d[2]]
    if not found:
        return None
    _name, vector, index, formula, line = found[-1]
    patterns = [list_pattern(split_top_level(s.group("items")), same) for s in sides if s is not None]
    if patterns[0] is None or patterns[1] is None or patterns[0][1] != patterns[1][1]:
        return None  # two lengths (or a list not read): entry by entry means nothing
    size = patterns[0][1]
    letter = re.search(r"\{\s*([a-z])\s*\}", vector)
    if letter is None:
        return None
    entry_re = re.compile(
        r"\\(?:mathbf|boldsymbol|bm)\s*\{\s*" + letter.group(1) + r"\s*\}\s*_\s*(?:\{\s*([a-z])\s*\}|([a-z]))"
    )
    if re.search(r"\\(?:mathbf|boldsymbol|bm)", entry_re.sub(" ", formula)):
        return None  # the whole vector in the formula: not entry by entry
    if re.search(r"\\sum\s*_\s*\{?\s*[a-z]\s*=|\\prod", formula):
        return None  # a sum with bounds of its own: its size may not be the lists'
    taken = left + " " + right + " " + formula
    at = next((c for c in _INDEX_LETTERS if c not in _letters(taken)), None)
    bound = {m.group(1) or m.group(2) for m in entry_re.finditer(formula)} - {index}
    if at is None or bound & (_letters(patterns[0][0]) | _letters(patterns[1][0])):
        return None  # a letter of an item (x_K + j) would be the definition's bound index
    formula = re.sub(
        r"\\sum\s*_\s*(?:\{\s*([a-z])\s*\}|([a-z])(?![A-Za-z]))",
        lambda m: f"\\sum_{{{m.group(1) or m.group(2)}=1}}^{{{size}}}",
        formula,
    )
    texts = []
    for pattern, _ in (patterns[0], patterns[1]):

        def entry(m: re.Match[str], pattern: str = pattern) -> str:
            which = m.group(1) or m.group(2)
            return f"({put(pattern, size, at if which == index else which)})"

        texts.append(f"({entry_re.sub(entry, formula)})")
    said = f"entry by entry, at a generic entry {at} of the {size} entries"
    said += f", {name} as the write-up defines it on line {line}"
    if bool(sides[0].group("top")) != bool(sides[1].group("top")):
        said += " (one list written transposed, the other not: compared entry by entry)"
    return Reading(texts[0], texts[1], said, exact=False)


def has_dots(text: str) -> bool:
    """Dots in a sum (``+ \\dots``) or a list (``, \\dots``)."""
    return bool(re.search(rf"[+,]\s*{_DOTS}", text))


def same_by(context: Context, identity: Callable[[ast.Node, ast.Node], bool]) -> Same:
    """Two formulas equal exactly: both read, and the checker's ``identity`` holds."""

    def same(a: str, b: str) -> bool:
        left, right = read_side(a, context), read_side(b, context)
        return left.node is not None and right.node is not None and identity(left.node, right.node)

    return same


def read(
    left: str, right: str, definitions: Sequence[tuple[str, str, str, str, int]], same: Same
) -> Reading | None:
    """The step with its ellipses read (module doc), or None."""
    by_entry = entries_read(left, right, definitions, same)
    if by_entry is not None:
        return by_entry
    sides: list[str] = []
    said: list[str] = []
    least: dict[str, int] = {}
    exact = True
    for side, other in ((left, right), (right, left)):
        if not re.search(_DOTS, side):
            sides.append(side)
            continue
        found = sums_read(side, other, same)
        if found is None:
            return None
        sides.append(found[0])
        exact = exact and found[1]
        said += found[2]
        least.update({k: max(v, least.get(k, 0)) for k, v in found[3].items()})
    if not said:
        return None  # dots of a column or a matrix (\vdots): not a sum's
    text = "the dots read as " + ", ".join(said)
    if not exact:
        text += " (a sum without its last term: its number of terms is not written)"
    bound = shadowed(sides[0]) or shadowed(sides[1])
    if bound is not None:
        why = f"a sum over {bound} inside a sum over {bound}: which {bound} each term names is not clear"
        return Reading(sides[0], sides[1], text, exact, why=why)
    return Reading(sides[0], sides[1], text, exact, least=least)
