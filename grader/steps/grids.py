"""Square matrices written with ``\\cdots``, ``\\vdots`` and ``\\ddots``, written out at small sizes.

A student writes the Jacobian of softmax as its first rows and columns, dots, and its last
row and column::

    \\begin{bmatrix} s_1 (1 - s_1) & -s_1 s_2 & \\cdots & -s_1 s_n \\\\
                    -s_2 s_1 & s_2 (1 - s_2) & \\cdots & -s_2 s_n \\\\
                    \\vdots & \\vdots & \\ddots & \\vdots \\\\
                    -s_n s_1 & -s_n s_2 & \\cdots & s_n (1 - s_n) \\end{bmatrix}

Such a matrix is a family over its size ``n``: row ``r`` and column ``c`` of the rows and
columns written before the dots are rows and columns ``1, 2, ...``, the ones after them
row and column ``n``. An entry's pattern is read from its written entries alone, one
pattern for the diagonal and one for the entries off it (or one above and one below it):
the pattern is a written entry with its subscripts that equal its row and column numbers
made the row's and the column's index, and it must give back *every* written entry of its
kind. A matrix whose written entries two patterns would read differently (rows ``x_2``,
``x_4``, dots: not ``1, 2, ...``) is not written out. At each size tried the matrix is
written out whole (``n = 3, 4, 5``), the size symbol given its value elsewhere in the step.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from fractions import Fraction

from grader.steps.sums import put_value

SIZES_AFTER = 3  # sizes tried: the written rows plus 1, 2 and 3
_BEGIN = re.compile(r"\\begin\s*\{\s*([bpvBV]?matrix)\s*\}")
_DOTS = re.compile(r"^\s*\\(?:cdots|vdots|ddots|dots|ldots)\s*$")
_SUB = re.compile(r"_\s*(?:\{\s*([A-Za-z0-9]+)\s*\}|([A-Za-z0-9]))")
Index = str  # "1", "2", ... or the size symbol


def _split(text: str, mark: str) -> list[str]:
    """``text`` cut at ``mark`` outside braces, brackets and environments."""
    out, depth, env, start, i = [], 0, 0, 0, 0
    while i < len(text):
        if text.startswith("\\begin", i):
            env += 1
        elif text.startswith("\\end", i):
            env -= 1
        c = text[i]
        if c in "({[" and text[i - 1 : i] != "\\":
            depth += 1
        elif c in ")}]" and text[i - 1 : i] != "\\":
            depth -= 1
        if depth == 0 and env == 0 and text.startswith(mark, i):
            out.append(text[start:i])
            start = i + len(mark)
            i += len(mark)
            continue
        i += 1
    out.append(text[start:])
    return out


def _matrices(text: str) -> Iterator[tuple[int, int, str, str]]:
    """Each matrix environment of the text: (start, end, environment, body)."""
    for m in _BEGIN.finditer(text):
        end_tag = re.compile(rf"\\end\s*\{{\s*{m.group(1)}\s*\}}")
        depth, i = 0, m.end()
        while i < len(text):
            if _BEGIN.match(text, i):
                depth += 1
            e = end_tag.match(text, i)
            if e is not None:
                if depth == 0:
                    yield m.start(), e.end(), m.group(1), text[m.end() : i]
                    break
                depth -= 1
            i += 1


def _squeeze(text: str) -> str:
    return re.sub(r"\s+|[{}]|\\left|\\right|\\cdot", "", text)


def _template(cell: str, row: Index, col: Index) -> str:
    """The cell with its subscripts equal to its row (column) number as ``{I}`` (``{J}``)."""

    def sub(m: re.Match[str]) -> str:
        inner = m.group(1) or m.group(2)
        if inner == row:
            return "_{{I}}"
        if inner == col:
            return "_{{J}}"
        if row != col and inner == row + col:
            return "_{{I}{J}}"
        return "_{" + inner + "}"

    return _SUB.sub(sub, cell)


def _put(template: str, row: Index, col: Index) -> str:
    return template.replace("{I}", row).replace("{J}", col)


class _Grid:
    """A matrix written with dots: its written rows and columns and their indices."""

    def __init__(self, cells: list[list[str]], rows: list[Index], cols: list[Index], size: str) -> None:
        self.cells, self.rows, self.cols, self.size = cells, rows, cols, size
        self.patterns: dict[str, str] = {}

    def kind(self, r: Index, c: Index) -> str:
        if r == c:
            return "diagonal"
        if r == self.size or (c != self.size and int(r) > int(c)):
            return "below"
        return "above"

    def read(self) -> bool:
        """One pattern for each kind of entry that gives back every written entry of it;
        entries off the diagonal share one pattern when one does."""
        written = [(r, c, self.cells[a][b]) for a, r in enumerate(self.rows) for b, c in enumerate(self.cols)]
        for kinds in (("diagonal", "off"), ("diagonal", "above", "below")):
            patterns: dict[str, str] = {}
            for kind in kinds:
                mine = [(r, c, t) for r, c, t in written if self._of(kind, r, c)]
                if not mine:
                    continue
                r, c, t = mine[0]
                pattern = _template(t, r, c)
                if any(_squeeze(_put(pattern, r2, c2)) != _squeeze(t2) for r2, c2, t2 in mine):
                    break
                patterns[kind] = pattern
            else:
                self.patterns = patterns
                return True
        return False

    def _of(self, kind: str, r: Index, c: Index) -> bool:
        k = self.kind(r, c)
        return k == kind or (kind == "off" and k != "diagonal")

    def written_out(self, n: int, environment: str) -> str:
        rows = []
        for i in range(1, n + 1):
            cells = []
            for j in range(1, n + 1):
                k = self.kind(str(i), str(j))
                pattern = self.patterns.get(k) or self.patterns.get("off", "")
                cells.append(_put(pattern, str(i), str(j)))
            rows.append(" & ".join(cells))
        return f"\\begin{{{environment}}} " + r" \\ ".join(rows) + f" \\end{{{environment}}}"


def _grid(body: str) -> _Grid | None:
    """The written rows and columns of a matrix with dots: rows ``1..p``, a row of dots,
    the last row (the same for columns, ``\\cdots`` at one place in every row)."""
    rows = [[c.strip() for c in _split(r, "&")] for r in _split(body, "\\\\") if r.strip()]
    dots_rows = [a for a, r in enumerate(rows) if all(_DOTS.match(c) for c in r)]
    if len(dots_rows) != 1 or dots_rows[0] != len(rows) - 2 or len({len(r) for r in rows}) != 1:
        return None
    kept = [r for a, r in enumerate(rows) if a != dots_rows[0]]
    dots_cols = {b for r in kept for b, c in enumerate(r) if _DOTS.match(c)}
    width = len(kept[0])
    if len(dots_cols) != 1 or next(iter(dots_cols)) != width - 2:
        return None
    if any(not _DOTS.match(r[width - 2]) for r in kept):
        return None
    cells = [[c for b, c in enumerate(r) if b != width - 2] for r in kept]
    if any(_DOTS.search(c) or "\\dots" in c or "\\cdots" in c for r in cells for c in r):
        return None
    last_row = {m.group(1) or m.group(2) for c in cells[-1] for m in _SUB.finditer(c)}
    last_col = {m.group(1) or m.group(2) for r in cells for m in _SUB.finditer(r[-1])}
    symbols = sorted(s for s in last_row & last_col if len(s) == 1 and s.isalpha())
    if len(symbols) != 1:
        return None
    size = symbols[0]
    numbered = [str(k) for k in range(1, len(cells))] + [size]
    if len(cells[0]) != len(cells):
        return None  # square families only
    grid = _Grid(cells, numbered, numbered, size)
    return grid if grid.read() else None


class _Line:
    """A column (``a_1 \\\\ a_2 \\\\ \\vdots \\\\ a_n``) or a row (``[a_1 \\quad a_2 \\quad \\cdots
    \\quad a_n]``) written with dots: items ``1, 2, ...``, dots, item ``n``; one pattern that
    gives back every written item."""

    def __init__(self, items: list[str], column: bool, environment: str) -> None:
        self.items, self.column, self.environment = items, column, environment
        self.size = ""
        self.pattern = ""

    def read(self) -> bool:
        last = {m.group(1) or m.group(2) for m in _SUB.finditer(self.items[-1])}
        symbols = sorted(s for s in last if len(s) == 1 and s.isalpha())
        if len(symbols) != 1 or len(self.items) < 3:
            return False
        self.size = symbols[0]
        numbered = [str(k) for k in range(1, len(self.items))] + [self.size]
        self.pattern = _template(self.items[0], "1", "1")
        return all(
            _squeeze(_put(self.pattern, k, k)) == _squeeze(t)
            for k, t in zip(numbered, self.items, strict=True)
        )

    @property
    def rows(self) -> list[str]:
        return self.items

    def written_out(self, n: int, environment: str) -> str:
        items = [_put(self.pattern, str(k), str(k)) for k in range(1, n + 1)]
        mark = r" \\ " if self.column else " & "
        return f"\\begin{{{self.environment}}} " + mark.join(items) + f" \\end{{{self.environment}}}"


def _column(body: str, environment: str) -> _Line | None:
    rows = [r.strip() for r in _split(body, "\\\\") if r.strip()]
    if any("&" in r for r in rows) or len(rows) < 4 or not _DOTS.match(rows[-2]):
        return None
    items = rows[:-2] + rows[-1:]
    if any(_DOTS.search(t) for t in items):
        return None
    line = _Line(items, True, environment)
    return line if line.read() else None


_QUAD_ROW = re.compile(r"\[([^\[\]]*\\quad[^\[\]]*)\]")


def _quad_row(inside: str) -> _Line | None:
    items = [t.strip() for t in re.split(r"\\quad", inside)]
    if len(items) < 4 or not _DOTS.match(items[-2]) or any(_DOTS.match(t) for t in items[:-2] + items[-1:]):
        return None
    line = _Line(items[:-2] + items[-1:], False, "bmatrix")
    return line if line.read() else None


def _families(text: str) -> list[tuple[int, int, str, _Grid | _Line]] | None:
    """Every matrix, column or row of the text written with dots, read; None when one is not."""
    found: list[tuple[int, int, str, _Grid | _Line]] = []
    for start, end, environment, body in _matrices(text):
        if not re.search(r"\\(?:cdots|vdots|ddots)", body):
            continue
        family: _Grid | _Line | None = _grid(body) or _column(body, environment)
        if family is None:
            return None
        found.append((start, end, environment, family))
    for m in _QUAD_ROW.finditer(text):
        if re.search(r"\\(?:cdots|dots|ldots)", m.group(1)):
            row = _quad_row(m.group(1))
            if row is None:
                return None
            found.append((m.start(), m.end(), "bmatrix", row))
    return sorted(found, key=lambda f: f[0])


def has_grid_dots(text: str) -> bool:
    """A square matrix, or a row with ``\\quad`` between its items, written with dots."""
    families = _families(text)
    return bool(families) and any(isinstance(f, _Grid) or not f.column for *_, f in families or [])


def grids_written_out(texts: list[str]) -> Iterator[tuple[dict[str, Fraction], list[str]]]:
    """For each size tried: the size and the texts with every matrix written with dots (and
    every column or row with dots beside one) written out whole, the size symbol given its
    value everywhere else too, a function's value beside its entries as their column
    (:func:`values_as_columns`); nothing when a matrix with dots is not read, or the sizes
    are named differently."""
    found: list[list[tuple[int, int, str, _Grid | _Line]]] = []
    for text in texts:
        families = _families(text)
        if families is None:
            return
        found.append(families)
    families_all = [f for mine in found for *_, f in mine]
    if (
        not any(isinstance(f, _Grid) or not f.column for f in families_all)
        or len({f.size for f in families_all}) != 1
    ):
        return
    size = families_all[0].size
    first = max(len(f.rows) for f in families_all)
    for n in range(first, first + SIZES_AFTER):
        out = []
        for text, mine in zip(texts, found, strict=True):
            for start, end, environment, family in reversed(mine):
                text = text[:start] + family.written_out(n, environment) + text[end:]
            out.append(put_value(text, size, n))
        yield {size: Fraction(n)}, values_as_columns(out, n)


_VALUE = r"\\?[A-Za-z]+\s*\(\s*\\(?:mathbf|boldsymbol|bm)\s*\{\s*[a-z]\s*\}\s*\)"
_DIAG = re.compile(r"\\(?:text|operatorname|mathrm)\s*\{\s*diag\s*\}\s*\(")
_ELEMENT_WISE = re.compile(rf"^(?:\s|{_VALUE}|[-+*()0-9]|\\odot)*$")


def values_as_columns(texts: list[str], n: int) -> list[str]:
    """A function's value of a bold vector (``S(\\mathbf{x})``) whose entries ``1`` to ``n`` the
    texts name (``S(\\mathbf{x})_1``) as the column of them; ``\\text{diag}(...)`` of such values
    joined element-wise (``+ - *``, ``\\odot``, numbers) as the diagonal matrix of the entries."""
    joined = " ".join(texts)
    values = {}
    for m in re.finditer(_VALUE, joined):
        value = m.group(0)
        entries = re.compile(re.escape(value) + r"\s*_\s*\{?\s*(\d+)\s*\}?")
        if {int(e.group(1)) for e in entries.finditer(joined)} == set(range(1, n + 1)):
            values[value] = entries
    if not values:
        return texts
    out = []
    for text in texts:
        for _ in range(4):
            d = _DIAG.search(text)
            if d is None:
                break
            end = _closing_paren(text, d.end() - 1)
            inside = text[d.end() : end]
            if end < 0 or not _ELEMENT_WISE.match(inside) or not any(v in inside for v in values):
                break
            rows = []
            for k in range(1, n + 1):
                entry = inside
                for v in values:
                    entry = entry.replace(v, f"{v}_{{{k}}}")
                entry = entry.replace("\\odot", "*")
                rows.append(" & ".join(f"({entry})" if j == k else "0" for j in range(1, n + 1)))
            text = (
                text[: d.start()]
                + r"\begin{bmatrix} "
                + r" \\ ".join(rows)
                + r" \end{bmatrix}"
                + text[end + 1 :]
            )
        for value in values:
            column = (
                r"\begin{bmatrix} "
                + r" \\ ".join(f"{value}_{{{k}}}" for k in range(1, n + 1))
                + r" \end{bmatrix}"
            )
            text = re.sub(re.escape(value) + r"(?!\s*_)", column.replace("\\", "\\\\"), text)
        out.append(text)
    return out


def _closing_paren(text: str, at: int) -> int:
    depth = 0
    for i in range(at, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1


_APPLIED_ENTRY = re.compile(
    r"(\\?[A-Za-z]+)\s*\(\s*((?:\\(?:mathbf|boldsymbol|bm)\s*\{\s*[a-z]\s*\}|[a-z])(?:\s*[+-]\s*[a-z0-9])?)\s*\)\s*_\s*(?:\{\s*(\d+)\s*\}|(\d))"
)


def applied_entries(text: str) -> tuple[str, list[str]]:
    """Entries of a function's value (``S(\\mathbf{x})_1``, ``\\sigma(\\mathbf{x})_2``) as names of
    their own (the same text, the same name), and the pieces so read."""
    pieces: list[str] = []

    def name(m: re.Match[str]) -> str:
        pieces.append(m.group(0))
        key = zlib.crc32(re.sub(r"\s+", "", m.group(1) + m.group(2)).encode()) % 10000
        return f" o_{{f{key}v{m.group(3) or m.group(4)}}} "

    return _APPLIED_ENTRY.sub(name, text), pieces
