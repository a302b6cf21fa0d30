"""Sums over an index written out for small sizes, so that a step about them can be checked.

``\\sum_{j=0}^{t-1} \\beta^j = \\frac{1-\\beta^t}{1-\\beta}`` is a claim for every size ``t``: with
``t = 2`` it reads ``\\beta^{0} + \\beta^{1} = \\frac{1-\\beta^{2}}{1-\\beta}``, a step the math
language reads. A size where the written-out step fails at a confirmed point is a witness
(the size is part of it); a step that holds at every size tried is shown by probes only.

Only sums whose bounds are whole numbers or one free symbol plus or minus a whole number are
written out, and only when the index appears nowhere outside its sums (``\\sum_j x_j + y_j``
could mean either reading) and the size symbol is not an index of its own.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from fractions import Fraction

from grader.steps.latex import scripts_end, term_end, term_start
from grader.steps.opaque import sum_span

MAX_TERMS = 4  # a sum is written out with 1 to this many terms
SIZES = range(1, 7)
PAIRS = ((1, 2), (2, 1), (2, 3), (3, 2))  # values of two size symbols, tried in turn
MAX_SUMS = 16  # sums written out in one side (nested sums are copied with their outer sum's terms)
_SUM = re.compile(
    r"\\sum\s*_\s*\{\s*([a-z])\s*=\s*([^{}]+?)\s*\}\s*\^\s*(?:\{\s*([^{}]+?)\s*\}|([0-9A-Za-z]))"
)
SUM_BOUNDED = _SUM  # \\sum_{i=a}^{b}: the index, the lower bound, the upper bound (braced or one token)
_BOUND = re.compile(r"^\s*(?:([A-Za-z])\s*([+-])\s*)?(\d+)\s*$|^\s*([A-Za-z])\s*(?:([+-])\s*(\d+))?\s*$")


def _bound(text: str) -> tuple[str | None, int] | None:
    """``t - 1`` -> ("t", -1); ``3`` -> (None, 3); ``n`` -> ("n", 0); else None."""
    m = _BOUND.match(text)
    if m is None:
        return None
    if m.group(4) is not None:
        offset = int(m.group(6) or 0) * (-1 if m.group(5) == "-" else 1)
        return m.group(4), offset
    if m.group(1) is not None:  # t - 1, n + 2
        return m.group(1), int(m.group(3)) * (-1 if m.group(2) == "-" else 1)
    return None, int(m.group(3))


_DOTS = re.compile(r"\+\s*(?:\\dots|\\cdots|\\ldots|\.\.\.)\s*\+")
# items of a list (``[x_1, x_2, \dots, x_n]``) and rows of a column (``x_1 \\ \vdots \\ x_n``)
_LIST_DOTS = re.compile(r",\s*(?:\\dots|\\cdots|\\ldots|\.\.\.)\s*,")
_COLUMN_DOTS = re.compile(r"\\\\\s*(?:\\vdots|\\dots|\\cdots|\.\.\.)\s*\\\\")
_SEPARATORS: tuple[tuple[re.Pattern[str], str], ...] = (
    (_DOTS, " + "),
    (_LIST_DOTS, ", "),
    (_COLUMN_DOTS, r" \\ "),
)


def has_listed_dots(text: str) -> bool:
    """Items of a list or a column elided with dots (``[x_1, \\dots, x_n]``)."""
    return bool(_LIST_DOTS.search(text) or _COLUMN_DOTS.search(text))


def _term_after(text: str, at: int) -> str:
    """The term that starts at ``at``."""
    return text[at : term_end(text, at)]


def _term_before(text: str, at: int) -> tuple[int, str]:
    """The term that ends at ``at`` (its start, its text)."""
    start = term_start(text, at)
    return start, text[start:at]


def _item_bounds(text: str, at: int, step: int, separator: str) -> int:
    """Where the item next to ``at`` ends (``step`` 1: after it; -1: before it): the next
    ``separator`` (``,`` or ``\\\\``) or bracket outside brackets, or a matrix environment."""
    depth, i = 0, at if step > 0 else at - 1
    while 0 <= i < len(text):
        c = text[i]
        if depth == 0 and step > 0 and (text.startswith(separator, i) or text.startswith("\\end", i)):
            return i
        if depth == 0 and step < 0 and (text.startswith(separator, i) or text[: i + 1].endswith("matrix}")):
            return i + (len(separator) if text.startswith(separator, i) else 1)
        if c in "([{" and text[max(0, i - 1) : i] != "\\":
            if step < 0 and depth == 0:
                return i + 1
            depth += step
        elif c in ")]}" and text[max(0, i - 1) : i] != "\\":
            if step > 0 and depth == 0:
                return i
            depth -= step
        i += step
    return i if step > 0 else 0


def _around(text: str, m: re.Match[str], separator: str) -> tuple[str, str]:
    """The item before the dots and the item after them."""
    if separator == " + ":
        return _term_before(text, m.start())[1], _term_after(text, m.end())
    mark = "," if separator == ", " else "\\\\"
    before = text[_item_bounds(text, m.start(), -1, mark) : m.start()]
    after = text[m.end() : _item_bounds(text, m.end(), 1, mark)]
    return before, after


def _squeeze(text: str) -> str:
    return re.sub(r"\s+|[{}]", "", text)


def ellipses_written_out(texts: list[str]) -> Iterator[tuple[dict[str, Fraction], list[str]]]:
    """``a_1 + a_2 + \\dots + a_K``, ``[x_1, x_2, \\dots, x_n]``, ``x_1 \\\\ \\vdots \\\\ x_n`` (the
    item after the dots is the one before with a size symbol for its number): for each size
    tried, the size's value and the texts with the items the dots stand for written out."""
    found: list[tuple[str, int]] = []  # (size symbol, number of the item before the dots)
    for text in texts:
        for pattern, separator in _SEPARATORS:
            for m in pattern.finditer(text):
                match = _pattern(*_around(text, m, separator))
                if match is None or not _consecutive(text, m, separator, match):
                    return
                found.append(match)
    if not found or len({size for size, _ in found}) > 1:
        return
    size = found[0][0]
    start = max(
        max(k for _, k in found), _least_entry(texts, size) - 1
    )  # d/dx_4 (x_1 + \\dots + x_n): n >= 4
    for value in range(start + 1, start + MAX_TERMS + 1):
        out = []
        for text in texts:
            for pattern, separator in _SEPARATORS:
                for _ in range(8):
                    dots = pattern.search(text)
                    if dots is None:
                        break
                    match = _pattern(*_around(text, dots, separator))
                    if match is None:
                        return
                    after = _around(text, dots, separator)[1]
                    middle = [_put(after, size, k).strip() for k in range(match[1] + 1, value)]
                    joined = "".join(f"{separator}{t}" for t in middle)
                    text = text[: dots.start()] + joined + separator + text[dots.end() :]
            out.append(_put(text, size, value))
        yield {size: Fraction(value)}, out


def _least_entry(texts: list[str], size: str) -> int:
    """The largest number of an entry written (``x_4``) of a name whose items the dots elide
    (``x_{n}`` after them): the items must reach it."""
    names = {
        m.group(1)
        for t in texts
        for m in re.finditer(rf"(?<![A-Za-z\\])(\\?[A-Za-z]+)\s*_\s*\{{?\s*{size}\s*\}}?(?![A-Za-z0-9])", t)
    }
    numbers = [
        int(m.group(2) or m.group(3))
        for t in texts
        for m in _NUMBERED_ENTRY.finditer(t)
        if m.group(1) in names
    ]
    return max(numbers, default=0)


def _consecutive(text: str, m: re.Match[str], separator: str, match: tuple[str, int]) -> bool:
    """The item written before the one before the dots, if it is one of the pattern's, is its
    previous one (``x_1 + x_2 + \\dots``): ``x_1 + x_3 + \\dots + x_n`` (the odd ones?) is not
    read as ``x_1 + x_3 + x_4 + ... + x_n``; nor ``x_1 - x_2 + \\dots + x_n`` (the term before
    the dots subtracted: ``+ x_3 + x_4`` or the alternating ``+ x_3 - x_4``?)."""
    name, k = match
    after = _around(text, m, separator)[1]
    if separator == " + ":
        start = _term_before(text, m.start())[0]
        head = text[:start].rstrip()
        if head.endswith("-"):
            return False
        if not head.endswith("+"):
            return True
        prior = _term_before(head, len(head) - 1)[1]
    else:
        mark = "," if separator == ", " else "\\\\"
        start = _item_bounds(text, m.start(), -1, mark)
        head = text[:start].rstrip()
        if not head.endswith(mark):
            return True
        end = len(head) - len(mark)
        prior = text[_item_bounds(text, end, -1, mark) : end]
    previous = _pattern(prior, after)  # "1 + e^{x_2 - x_1} + \\dots": 1 is a term of its own
    return previous is None or previous == (name, k - 1)


def _pattern(before: str, after: str) -> tuple[str, int] | None:
    """The size symbol and the number k when ``before`` is ``after`` with the symbol set to k."""
    names = set(re.findall(r"(?<![A-Za-z\\])([A-Za-z])(?![A-Za-z])", after))
    for name in sorted(names):
        for k in range(0, 4):
            if _squeeze(_put(after, name, k)) in (_squeeze(before), f"({_squeeze(before)})"):
                return name, k
    return None


_IMPLICIT = re.compile(r"\\sum\s*_\s*(?:\{\s*([a-z])\s*\}|([a-z])(?![A-Za-z]))(?!\s*\^)")
IMPLICIT_SIZES = ("N", "K", "M")  # the number of terms of a sum written without bounds


def implicit_size(texts: list[str]) -> str | None:
    """The name given to the number of terms of sums written without bounds (``\\sum_j``):
    one not used in the texts; None when there is no such sum (or no free name)."""
    if not any(_IMPLICIT.search(t) for t in texts):
        return None
    used = {c for t in texts for c in re.findall(r"(?<![A-Za-z\\])[A-Z](?![A-Za-z])", t)}
    return next((n for n in IMPLICIT_SIZES if n not in used), None)


def written_out(texts: list[str]) -> Iterator[tuple[dict[str, Fraction], list[str]]]:
    """For each size tried: the size symbol's value and the texts with every sum written out.
    A sum without bounds runs from 1 to :func:`implicit_size` (the same for all of them)."""
    size_name = implicit_size(texts)
    if size_name is not None:
        texts = [
            _IMPLICIT.sub(lambda m: f"\\sum_{{{m.group(1) or m.group(2)}=1}}^{{{size_name}}}", t)
            for t in texts
        ]
    sums = list(_sums(texts))
    if not sums:
        yield from ellipses_written_out(texts)
        return
    sizes = sorted({s for _, _, _, low, high in sums for s in (low[0], high[0]) if s is not None})
    indices = {index for _, _, index, _, _ in sums}
    if len(sizes) > 2 or set(sizes) & indices:
        return
    outside = [_outside_sums(t) for t in texts]
    if any(_stands_in(o, index) for o in outside for index in indices) or any(
        _times_index(t, index) for t in texts for index in indices
    ):
        return  # the index outside its sum too, x_{2j} (entry (2, j) or 2j): the terms are unclear
    for values in _rounds(sizes, _least_sizes(texts, outside, sums)):
        point = {name: Fraction(v) for name, v in values.items()}
        out = []
        for text in texts:
            expanded = _expand(text, values)
            if expanded is None:
                break
            for name, value in values.items():
                expanded = _put(expanded, name, value)
            out.append(expanded)
        else:
            yield point, out


_NUMBERED_ENTRY = re.compile(r"(?<![A-Za-z\\])(\\?[A-Za-z]+)\s*_\s*(?:\{\s*(\d+)\s*\}|(\d))")


def _rounds(sizes: list[str], least: Mapping[str, int]) -> list[dict[str, int]]:
    """The values of the size symbols tried, each at least its least (:func:`_least_sizes`)."""
    if len(sizes) == 2:  # two sizes (\\sum_{j=1}^M ... \\sum_{i=1}^D): a few pairs of values
        pairs = [dict(zip(sizes, pair, strict=True)) for pair in PAIRS]
        return [p for p in pairs if all(v >= least.get(name, 0) for name, v in p.items())]
    if not sizes:
        return [{}]
    first = max(SIZES[0], least.get(sizes[0], 0))  # x_3 beside \\sum_{i=1}^{n} x_i: from n = 3
    return [{sizes[0]: first + value - SIZES[0]} for value in SIZES]


def _least_sizes(
    texts: list[str],
    outside: list[str],
    sums: list[tuple[int, int, str, tuple[str | None, int], tuple[str | None, int]]],
) -> dict[str, int]:
    """The least value of each size symbol with every entry written outside the sums
    (``x_3``, ``\\partial x_3``) one of the entries a sum over them runs through
    (``\\sum_{i=1}^{n} x_i``: n >= 3): a smaller size has no such entry, and a point there is
    about a step the student did not write."""
    least: dict[str, int] = {}
    for _, _, index, _, (size, offset) in sums:
        if size is None:
            continue
        summed = {
            m.group(1)
            for t in texts
            for m in re.finditer(
                rf"(?<![A-Za-z\\])(\\?[A-Za-z]+)\s*_\s*\{{?\s*{index}\s*\}}?(?![A-Za-z0-9])", t
            )
        }
        for o in outside:
            for m in _NUMBERED_ENTRY.finditer(o):
                if m.group(1) in summed:
                    least[size] = max(least.get(size, 0), int(m.group(2) or m.group(3)) - offset)
    return least


def _times_index(text: str, index: str) -> bool:
    """A subscript with a digit from 2 to 9 just before the index (``x_{2j}``): the row 2's
    entry ``j`` or the entry ``2 j``, which a student may mean either way."""
    return any(
        re.search(rf"(?<![A-Za-z0-9])[2-9]\s*{index}(?![A-Za-z])", m.group(1))
        for m in re.finditer(r"_\{([^{}]*)\}", text)
    )


def _stands_in(text: str, index: str) -> bool:
    """``index`` in the text as a symbol or as one of a subscript's indices (``x_{ij}``)."""
    if re.search(rf"(?<![A-Za-z\\]){index}(?![A-Za-z])", text):
        return True
    return any(index in m.group(1) for m in re.finditer(r"_\{([^{}]*)\}", text) if _INDICES.match(m.group(1)))


def _sums(texts: list[str]) -> Iterator[tuple[int, int, str, tuple[str | None, int], tuple[str | None, int]]]:
    for text in texts:
        for m in _SUM.finditer(text):
            low, high = _bound(m.group(2)), _bound(m.group(3) or m.group(4))
            if low is None or high is None:
                continue
            yield m.start(), m.end(), m.group(1), low, high


def _outside_sums(text: str) -> str:
    """The text with every sum (operator, scripts and body) cut out."""
    for _ in range(20):
        span = sum_span(text)
        if span is None or span == (-1, -1):
            return text
        text = text[: span[0]] + " " + text[span[1] :]
    return text


def _expand(text: str, values: Mapping[str, int]) -> str | None:
    """Every ``\\sum_{j=a}^{b} body`` of the text as ``(body_a + ... + body_b)``, the size
    symbols at ``values``."""
    for _ in range(MAX_SUMS):
        m = _SUM.search(text)
        if m is None:
            return text
        low, high = _bound(m.group(2)), _bound(m.group(3) or m.group(4))
        if low is None or high is None:
            return None
        first = (values[low[0]] if low[0] else 0) + low[1]
        last = (values[high[0]] if high[0] else 0) + high[1]
        if not 1 <= last - first + 1 <= MAX_TERMS:
            return None
        span = sum_span(text[m.start() :])
        if span is None or span == (-1, -1):
            return None
        end = m.start() + span[1]
        body = text[scripts_end(text, m.start() + len("\\sum")) : end]
        terms = [f"({_put(body, m.group(1), k)})" for k in range(first, last + 1)]
        text = text[: m.start()] + "(" + " + ".join(terms) + ")" + text[end:]
    return None


_INDICES = re.compile(r"^\s*[a-z0-9](?:\s*[a-z0-9]){1,2}\s*$")


def _put(text: str, name: str, value: int) -> str:
    """``name`` given ``value`` everywhere: inside a subscript as digits, elsewhere in braces."""

    def in_script(m: re.Match[str]) -> str:
        if _INDICES.match(m.group(1)):  # x_{ij}, \\omega_{kj}, w_{j0}: each letter an index
            return "_{" + m.group(1).replace(name, str(value)) + "}"
        inner = re.sub(rf"(?<![A-Za-z\\]){name}(?![A-Za-z])", str(value), m.group(1))
        return "_{" + _computed(inner) + "}"

    text = re.sub(r"_\{([^{}]*)\}", in_script, text)
    text = re.sub(rf"([_^])\s*{name}(?![A-Za-z])", lambda m: f"{m.group(1)}{{{value}}}", text)
    return re.sub(rf"(?<![A-Za-z\\]){name}(?![A-Za-z])", f"({value})", text)


_ARITHMETIC = re.compile(r"^\s*\d+(?:\s*[+-]\s*\d+)+\s*$")


def _computed(inner: str) -> str:
    """A subscript of whole numbers added and subtracted (``x_{n+1-j}`` at ``n = 3, j = 1``:
    ``3+1-1``) as the number it is: ``x_{3}``, the same entry as ``x_3``."""
    if not _ARITHMETIC.match(inner):
        return inner
    total, sign = 0, 1
    for token in re.findall(r"\d+|[+-]", inner):
        if token in "+-":
            sign = 1 if token == "+" else -1
        else:
            total += sign * int(token)
    return str(total)


def put_value(text: str, name: str, value: int) -> str:
    """``name`` given ``value`` everywhere (in subscripts as digits)."""
    return _put(text, name, value)


# a name with a superscript index in brackets (\omega_{kj}^{(2)}, w^{(1)}): a layer's weights
_SUPERSCRIPTED = re.compile(
    r"(?<![A-Za-z}])(\\[A-Za-z]+|[A-Za-z])\s*(?:_\s*\{\s*([A-Za-z0-9]*)\s*\}|_\s*([A-Za-z0-9]))?"
    r"\s*\^\s*\{\s*\(\s*(\d)\s*\)\s*\}"
)
_APPLIED = re.compile(r"\s*(?:\(|\\left)")
_DERIVED = frozenset({"f", "g", "h", "F", "G", "H", "\\sigma", "\\phi", "\\varphi", "\\psi", "\\ell"})


def superscript_names(text: str) -> str:
    """Names with a digit in brackets as a superscript (``\\omega_{k1}^{(2)}``, a layer's
    weights) as names of their own (``\\omega_{k1sup2}``); a function's ``f^{(2)}(x)`` (a
    derivative) is left alone, and so is a bold or decorated name (``\\mathbf{x}^{(1)}``)."""

    def name(m: re.Match[str]) -> str:
        sub = m.group(2) if m.group(2) is not None else (m.group(3) or "")
        if not sub and m.group(1) in _DERIVED and _APPLIED.match(text, m.end()):
            return m.group(0)  # f^{(2)}(x): a derivative; w_{kj}^{(2)} (...) is a product
        return f"{m.group(1)}_{{{sub}sup{m.group(4)}}}"

    return _SUPERSCRIPTED.sub(name, text)


_BOLD_LETTER = r"\\(?:mathbf|boldsymbol|bm)\s*\{\s*%s\s*\}"


def _entry(letter: str, m: re.Match[str]) -> str:
    return f"{letter}_{{{m.group(1) or m.group(2)}}}"


def vectors_of_entries(
    texts: list[str], size: int, declared_else: frozenset[str] = frozenset()
) -> tuple[list[str], list[str]]:
    """A vector written whole beside its entries ``1`` to ``size`` (``\\|\\mathbf{v}\\|^2`` and
    ``\\mathbf{v}_1^2 + ... + \\mathbf{v}_d^2`` once a sum over its entries to the size ``d`` is
    written out): the vector as the column of those entries. A bold name, or a plain letter
    inside a norm or transposed; the entries must be exactly ``1`` to ``size``, and the name
    not declared of another size (``declared_else``). Returns the
    texts and the names so read."""
    found: list[str] = []
    joined = " ".join(texts)
    letters = set(re.findall(_BOLD_LETTER % r"([a-z])", joined))
    for m in _NORMED_OR_TRANSPOSED.finditer(joined):
        letters |= {g for g in m.groups() if g}
    for letter in sorted(letters - declared_else):
        bold = _BOLD_LETTER % letter
        name = rf"(?:{bold}|(?<![A-Za-z\\]){letter})"
        entry = re.compile(rf"{name}\s*_\s*(?:\{{\s*(\d+)\s*\}}|(\d))")
        bare = re.compile(rf"{name}(?!\s*_)(?![A-Za-z])")
        numbers = {int(m.group(1) or m.group(2)) for t in texts for m in entry.finditer(t)}
        letter_entries = re.search(rf"{name}\s*_\s*\{{?\s*[A-Za-z]", joined)
        if numbers != set(range(1, size + 1)) or letter_entries or not any(bare.search(t) for t in texts):
            continue
        if re.search(bold, joined) and re.search(
            rf"(?<![A-Za-z\\{{]){letter}(?![A-Za-z_])", re.sub(bold, " ", joined)
        ):
            continue  # \mathbf{v} and a plain v in one step: two names (v_1 is an entry of either)
        column = (
            r"\begin{bmatrix} "
            + r" \\ ".join(f"{letter}_{{{k}}}" for k in range(1, size + 1))
            + r" \end{bmatrix}"
        )
        texts = [
            bare.sub(column.replace("\\", "\\\\"), entry.sub(functools.partial(_entry, letter), t))
            for t in texts
        ]
        found.append(letter)
    return texts, found


# a plain letter in a norm (\|x\|, ||x||, \lVert x \rVert) or transposed (x^\top, x^T, x^{T}),
# and the letter a transposed one multiplies (q^\top k): a vector if its entries are written
_NORMED_OR_TRANSPOSED = re.compile(
    r"(?:\\\||\|\||\\lVert)\s*([a-z])\s*(?:\\\||\|\||\\rVert)"
    r"|(?<![A-Za-z\\])([a-z])\s*\^\s*(?:\{\s*)?(?:\\top|\\intercal|T(?![A-Za-z]))\s*\}?"
    r"(?:\s*(?:\\cdot\s*)?([a-z])(?![A-Za-z_]))?"
)


def _without_subscripts(text: str) -> str:
    """The text with every subscript (``_{ij}``, ``_n``, ``_{\\text{in}}``) cut out."""
    out, i = [], 0
    while i < len(text):
        if text[i] != "_":
            out.append(text[i])
            i += 1
            continue
        j = i + 1
        while j < len(text) and text[j].isspace():
            j += 1
        if j < len(text) and text[j] == "{":
            depth = 0
            while j < len(text):
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
                if depth == 0:
                    break
        elif j < len(text) and text[j] == "\\":
            j += 1
            while j < len(text) and text[j].isalpha():
                j += 1
        else:
            j += 1
        out.append(" ")
        i = j
    return "".join(out)


def values_of_sizes(texts: list[str], letters: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """The sums' indices and size symbols (and ``letters``) that stand in the texts as values
    (``i^3``, ``\\frac{n(n+1)}{2}``, ``b_k / n``), not only as a sum's bounds or in subscripts
    (``x_i``, ``\\sum_{i=1}^{n}``): the step is then a claim about a function of the size,
    which a few sizes written out do not show for every size."""
    names = set(letters)
    for _, _, index, low, high in _sums(texts):
        names.add(index)
        names.update(s for s in (low[0], high[0]) if s is not None)
    found = []
    bare = [_without_subscripts(_SUM.sub(" ", t)) for t in texts]
    for name in sorted(names):
        if any(re.search(rf"(?<![A-Za-z\\]){re.escape(name)}(?![A-Za-z])", t) for t in bare):
            found.append(name)
    return found
