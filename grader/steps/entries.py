"""Vector functions the write-up defines entry by entry, put in where a step takes an entry.

``S(\\mathbf{x})_i = \\frac{e^{\\mathbf{x}_i}}{\\sum_j e^{\\mathbf{x}_j}}`` (the softmax, "Recall the
definition ...") defines entry ``i`` of ``S`` at a vector ``\\mathbf{x}``; ``\\sigma(\\mathbf{x}) =
1/(1 + e^{-\\mathbf{x}})`` (one occurrence of the vector, element-wise arithmetic) defines
every entry alike. A step's ``S(ARG)_k`` is replaced by the formula at entry ``k`` of ``ARG``,
where ``ARG`` is the vector with scalars and element-wise arithmetic only (``\\mathbf{x} + c``,
``c\\mathbf{x}``): each ``\\mathbf{x}_m`` of the formula becomes ``(ARG with \\mathbf{x} ->
\\mathbf{x}_m)``, the defining index ``i`` becoming ``k``, a bound index renamed when it is
``k``. Pure text work: the result is read (sums written out, derivatives computed) like any
step. ``S(x_1)``, ``S([0, y_1])``, an entry of a matrix, are not put in.

The write-up's Kronecker delta (the words "Kronecker delta", or ``\\delta_{ij} = 1`` if ``i = j``)
is read where indices are given values: ``\\delta_{12}`` is 0, ``\\delta_{22}`` is 1.
"""

from __future__ import annotations

import re

from grader.steps.latex import closing, scripts_end, term_end

# (name, vector as written, defining index or "" for every entry alike, formula, line)
EntryDefinition = tuple[str, str, str, str, int]

_VECTOR = r"\\(?:mathbf|boldsymbol|bm)\s*\{\s*[a-z]\s*\}"
_DEFINITION = re.compile(
    rf"^\s*(?P<name>\\[A-Za-z]+|[A-Z])\s*\(\s*(?P<vector>{_VECTOR})\s*\)"
    r"\s*(?:_\s*(?:\{\s*(?P<a>[a-z])\s*\}|(?P<b>[a-z])))?\s*(?::=|=)\s*(?P<formula>\S.*?)\s*$"
)
_NOT_IN_FORMULA = re.compile(
    r"\\text|\\mathrm|\\operatorname|\\begin|\\lim|\\int|\\partial|\\frac\s*\{\s*d|[<>]|\\[lg]e|="
)
_NAMES = ("S", "\\sigma", "\\phi", "\\varphi", "\\psi", "\\rho", "g", "h", "f", "F", "G", "H")
MAX_PUT_IN = 32
MAX_LENGTH = 6000


def _squeezed(vector: str) -> str:
    return re.sub(r"\s+", "", vector)


def _letter(vector: str) -> str:
    m = re.search(r"\{\s*([a-z])\s*\}", vector)
    assert m is not None
    return m.group(1)


def definition_in(math: str, line: int) -> EntryDefinition | None:
    """The definition a piece of math states, or None: ``S(\\mathbf{x})_i = <formula>`` with the
    entry ``\\mathbf{x}_i`` in the formula, or ``\\sigma(\\mathbf{x}) = <formula>`` with the vector
    once and element-wise arithmetic (no product of it with a vector, no transpose or norm)."""
    m = _DEFINITION.match(math)
    if m is None or m.group("name") not in _NAMES or _NOT_IN_FORMULA.search(m.group("formula")):
        return None
    name, vector, formula = m.group("name"), m.group("vector"), m.group("formula")
    index = m.group("a") or m.group("b") or ""
    bold = re.compile(_bold(vector))
    if index:
        entries = {e for e in re.findall(_bold(vector) + r"\s*_\s*\{?\s*([a-z0-9])", formula)}
        bare = [b for b in bold.finditer(formula) if not re.match(r"\s*_", formula[b.end() :])]
        if index not in entries or bare:
            return None
    else:
        found = list(bold.finditer(formula))
        if len(found) != 1 or re.match(r"\s*_", formula[found[0].end() :]):
            return None
        if re.search(r"\\top|\^\s*\{?\s*T\b|\\\||\\cdot|\\sum|\\prod|\\[lr]Vert", formula):
            return None
    return name.lstrip("\\"), vector, index, formula, line


def _bold(vector: str) -> str:
    command = re.match(r"\\([a-z]+)", vector)
    assert command is not None
    return rf"\\{command.group(1)}\s*\{{\s*{_letter(vector)}\s*\}}"


# what an argument may hold besides its vector: scalars (lower-case letters: an upper-case one is
# a matrix, W\mathbf{x} is no entry-wise product), numbers, element-wise arithmetic
_SCALAR_ARITHMETIC = re.compile(
    r"(?:[a-z0-9+\-*/().\s]|\\cdot|\\(?:alpha|beta|gamma|lambda|mu|tau|theta|eta|epsilon)(?![A-Za-z]))*"
)


def _argument_entry(argument: str, vectors: set[str], at: str, arrays: frozenset[str]) -> str | None:
    """Entry ``at`` of an argument made of one vector, scalars and element-wise arithmetic
    (``\\mathbf{x} + c`` -> ``\\mathbf{x}_{i} + c``); None for anything else."""
    if len(vectors) != 1:
        return None
    vector = next(iter(vectors))
    pattern = re.compile(_bold(vector))
    rest = pattern.sub(" ", argument)
    if not _SCALAR_ARITHMETIC.fullmatch(rest):
        return None
    if re.search(r"_|\^", rest) or re.search(pattern.pattern + r"\s*_", argument):
        return None
    if set(re.findall(r"(?<![A-Za-z\\])[a-z](?![A-Za-z])", rest)) & arrays:
        return None  # b declared a vector (b \in \mathbb{R}^n): \mathbf{x} + b is no scalar shift
    # the entry as a plain name (x_{1}), as entries of bold vectors are read (read.plain_entries)
    return pattern.sub(lambda _: f"{_letter(vector)}_{{{at}}}", argument)


def fresh_index(taken: str) -> str | None:
    """A letter for an index that ``taken`` does not use; None when each is used."""
    return next((c for c in "klmnpqruvw" if not re.search(rf"(?<![A-Za-z\\]){c}(?![A-Za-z])", taken)), None)


def _at_entry(
    definition: EntryDefinition, argument: str, at: str, text: str, arrays: frozenset[str]
) -> str | None:
    """The definition's formula at entry ``at`` of ``argument``; None where not read."""
    if _LIST.match(argument):  # S([1, 2])_1: a list written out
        return _at_list_entry(definition, argument, at)
    _name, vector, index, formula, _line = definition
    vectors = {_squeezed(v) for v in re.findall(_VECTOR, argument)}
    if len(vectors) != 1:
        return None
    one = next(iter(vectors))
    bold = re.compile(_bold(vector) + r"\s*_\s*(?:\{\s*([a-z0-9])\s*\}|([a-z0-9]))")
    if not index:  # every entry alike: the vector itself is the entry
        formula = re.sub(_bold(vector), lambda _: f"{vector}_{{{index or 'i'}}}", formula)
        index = "i"
    bound = {b for m in bold.finditer(formula) if (b := m.group(1) or m.group(2)) != index and b.isalpha()}
    for letter in sorted(bound):
        if letter == at or re.search(rf"(?<![A-Za-z\\]){letter}(?![A-Za-z])", text):
            fresh = fresh_index(text + " " + formula + " " + at)
            if fresh is None:
                return None
            formula = re.sub(rf"(?<![A-Za-z\\]){letter}(?![A-Za-z])", fresh, formula)
    out = []
    last = 0
    for m in bold.finditer(formula):
        entry = m.group(1) or m.group(2)
        value = _argument_entry(argument, {one}, at if entry == index else entry, arrays)
        if value is None:
            return None
        out.append(formula[last : m.start()] + f"({value})")
        last = m.end()
    return "".join(out) + formula[last:]


def put_in(
    text: str, definitions: list[EntryDefinition], arrays: frozenset[str] = frozenset()
) -> tuple[str, list[EntryDefinition]] | None:
    """The text with every entry of a defined vector function replaced by its formula, and the
    definitions used (none: the text as it is); None where an application is not read (the
    step then keeps its other readings)."""
    used: list[EntryDefinition] = []
    for _ in range(MAX_PUT_IN):
        for definition in definitions:
            name = definition[0]
            # \frac{dS(\mathbf{x})_i}{d\mathbf{x}_j}: the d of the derivative before the name
            spelled = rf"\\{name}" if len(name) > 1 else rf"(?:(?<![A-Za-z\\])|(?<=\{{d)){name}"
            m = re.search(rf"{spelled}(?![A-Za-z])\s*(?:\\left\s*)?(?=\()", text)
            if m is None:
                continue
            end = closing(text, m.end())
            if end is None:
                return None
            index = re.match(r"\s*_\s*(?:\{\s*([a-z0-9])\s*\}|([a-z0-9]))", text[end:])
            if index is None:
                return None  # the whole vector (S(x)), not one entry: not read here
            argument = re.sub(r"\\right\s*$", "", text[m.end() + 1 : end - 1]).strip()
            formula = _at_entry(definition, argument, index.group(1) or index.group(2), text, arrays)
            if formula is None:
                return None
            text = f"{text[: m.start()]}({formula}){text[end + index.end() :]}"
            if definition not in used:
                used.append(definition)
            if len(text) > MAX_LENGTH:
                return None
            break
        else:
            return text, used
    return None


KRONECKER_WORDS = re.compile(
    r"Kronecker|\\delta_\{?\s*ij\s*\}?\s*=\s*1\s*\$?\s*(?:\\text\{\s*)?if\s*\$?\s*i\s*=\s*j", re.IGNORECASE
)


def kronecker_valued(text: str) -> str:
    """``\\delta_{12}`` as 0 and ``\\delta_{22}`` as 1 (indices given values)."""
    return re.sub(
        r"\\delta\s*_\s*\{\s*(\d)\s*(\d)\s*\}", lambda m: "(1)" if m.group(1) == m.group(2) else "(0)", text
    )


# a list written out as a function's argument, [1, 2] or [x_1, x_2 - x_1]^\top (no dots)
_LIST = re.compile(r"^\s*\[(?P<items>[^\[\]]*)\]\s*(?:\^\s*(?:\{\s*)?(?:\\top|T)\s*\}?)?\s*$")
MAX_LISTED = 8
_UNBOUNDED_SUM = re.compile(r"\\sum\s*_\s*(?:\{\s*([a-z])\s*\}|([a-z]))(?!\s*\^)")


def listed_items(argument: str) -> list[str] | None:
    """The items of a list written out whole (``[1, 2]``, ``[0, x_2 - x_1]^\\top``: 2 to
    MAX_LISTED items, none elided); None otherwise."""
    m = _LIST.match(argument)
    items = [i.strip() for i in m.group("items").split(",")] if m is not None else []
    if not 2 <= len(items) <= MAX_LISTED or any(not i or "dots" in i or "..." in i for i in items):
        return None
    return items


def _at_list_entry(definition: EntryDefinition, argument: str, at: str) -> str | None:
    """The definition's formula at entry ``at`` (a number) of a list written out: each entry of
    the defined vector put in as the list's item, each sum over an index with no bounds written
    out over the list's items (``\\sum_j e^{\\mathbf{x}_j}`` of ``[1, 2]``: ``e^{(1)} + e^{(2)}``);
    None where an item is elided, the entry is no number of the list, or an entry stays unread."""
    items = listed_items(argument) or []
    if not at.isdigit() or not 1 <= int(at) <= len(items):
        return None
    _name, vector, index, formula, _line = definition
    entry = re.compile(_bold(vector) + r"\s*_\s*(?:\{\s*([a-z0-9])\s*\}|([a-z0-9]))")
    for _ in range(MAX_PUT_IN):
        found = _UNBOUNDED_SUM.search(formula)
        if found is None:
            break
        letter, start = found.group(1) or found.group(2), scripts_end(formula, found.start() + 4)
        end = term_end(formula, start)
        body = formula[start:end]
        terms = [_items_put_in(body, entry, {letter: k}, items) for k in range(1, len(items) + 1)]
        if any(t is None for t in terms):
            return None
        formula = (
            f"{formula[: found.start()]}\\left({' + '.join(f'({t})' for t in terms)}\\right){formula[end:]}"
        )
    return _items_put_in(formula, entry, {index or "i": int(at)}, items, final=True)


def _items_put_in(
    text: str, entry: re.Pattern[str], indices: dict[str, int], items: list[str], final: bool = False
) -> str | None:
    """The text with each entry of the vector at an index given (or a number) put in as the list's
    item; None where ``final`` and an entry at another index is left."""
    out, last = [], 0
    for m in entry.finditer(text):
        at = m.group(1) or m.group(2)
        k = indices.get(at, int(at) if at.isdigit() else None)
        if k is None:
            if final:
                return None
            continue
        if not 1 <= k <= len(items):
            return None
        out.append(text[last : m.start()] + _item(items[k - 1]))
        last = m.end()
    return "".join(out) + text[last:]


def _item(item: str) -> str:
    """An item put in: bare where it is a number or a name (``e^{(1)}`` would read as a
    superscript index), else in brackets."""
    plain = re.fullmatch(r"\d+(?:\.\d+)?|\\?[A-Za-z]+(?:_\{?\w+\}?)?", item)
    return f"{{{item}}}" if plain else f"\\left({item}\\right)"
