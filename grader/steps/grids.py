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


def has_grid_dots(text: str) -> bool:
    return any(_grid(body) is not None for _, _, _, body in _matrices(text))


def grids_written_out(texts: list[str]) -> Iterator[tuple[dict[str, Fraction], list[str]]]:
    """For each size tried: the size and the texts with every matrix written with dots
    written out whole (the size symbol given its value everywhere else too); nothing when
    a matrix with dots is not read, or the matrices' sizes are named differently."""
    found: list[list[tuple[int, int, str, _Grid]]] = []
    for text in texts:
        mine = []
        for start, end, environment, body in _matrices(text):
            if not re.search(r"\\(?:cdots|vdots|ddots)", body):
                continue
            grid = _grid(body)
            if grid is None:
                return
            mine.append((start, end, environment, grid))
        found.append(mine)
    grids = [g for mine in found for *_, g in mine]
    if not grids or len({g.size for g in grids}) != 1:
        return
    size = grids[0].size
    first = max(len(g.rows) for g in grids)
    for n in range(first, first + SIZES_AFTER):
        out = []
        for text, mine in zip(texts, found, strict=True):
            for start, end, environment, grid in reversed(mine):
                text = text[:start] + grid.written_out(n, environment) + text[end:]
            out.append(put_value(text, size, n))
        yield {size: Fraction(n)}, out


_APPLIED_ENTRY = re.compile(
    r"(\\?[A-Za-z]+)\s*\(\s*((?:\\(?:mathbf|boldsymbol|bm)\s*\{\s*[a-z]\s*\}|[a-z])(?:\s*[+-]\s*[a-z0-9])?)\s*\)\s*_\s*(?:\{\s*(\d+)\s*\}|(\d))"
)


def applied_entries(text: str) -> tuple[str, list[str]]:
    """Entries of a function's value (``S(\\mathbf{x})_1``, ``\\sigma(\\mathbf{x})_2``) as names of
    their own (the same text, the same name), and the pieces so read."""
    pieces: list[str] = []

    def name(m: re.Match[str]) -> str:
        pieces.append(m.group(0))
        key = re.sub(
            r"[^A-Za-z0-9]", "", m.group(1) + m.group(2).replace("mathbf", "").replace("boldsymbol", "")
        )
        return f" o_{{{key}{m.group(3) or m.group(4)}}} "

    return _APPLIED_ENTRY.sub(name, text), pieces
