"""Answers marked in Jupyter notebooks, read with nbformat; no cell is ever run.

- A Markdown or raw cell tagged ``answer:q6.full`` (cell metadata tags, as nbgrader and
  otter use them) is the answer to that part; a cell with several such tags answers
  each of those parts. Markdown math in ``$...$`` is read as the LaTeX inside.
- A code cell whose last line assigns ``answer_q6_full = ...`` answers the part whose
  id reads ``q6_full`` with ``.`` and ``-`` as ``_``. The value is read from Python's
  syntax tree, never run: only a string, a number, or a list or mapping of them is taken.
- A code cell tagged ``answer:q10.backward`` that does not end by assigning such a value
  is code: its source (magics blanked) is the answer to a ``code`` part, which runs it in
  the sandbox, never here.
- Other Markdown cells are read like a Markdown write-up (fenced ``answer`` blocks and
  ``Answer q6.full:`` lines).
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Callable
from typing import Any

from grader.core.folder import Folder
from grader.core.submission import SourcePosition
from grader.writeups.common import (
    MAX_NOTEBOOK_BYTES,
    Extraction,
    Macro,
    expand_macros,
    find_macros,
    id_problem,
    one_line,
    strip_math_delimiters,
)
from grader.writeups.markdown import extract_markdown, without_html_comments

TAG_PREFIX = "answer:"
VARIABLE_PREFIX = "answer_"
MAX_LITERAL_DEPTH = 8
# Values in one code cell (counted by their separators, before parsing: Python's parser
# takes about 500 bytes of memory per list element, so 10 million would take gigabytes).
MAX_LITERAL_ELEMENTS = 100_000
_ELEMENT_SEPARATORS = re.compile(r"[,;\n]")
_MAGIC_LINE = re.compile(r"^[ \t]*[%!]")  # IPython magics and shell lines: not Python
_MARKER_HINT = re.compile(r'"answer:|\banswer_\w+\s*=|(?:```|~~~)\s*answer\b|\banswer\s+\S+\s*:', re.I)


class NotLiteralError(ValueError):
    """A value grader would have to run to know."""


def has_marker(text: str) -> bool:
    """A quick look, before any parsing: might this notebook mark an answer?"""
    return _MARKER_HINT.search(text) is not None


def read_notebooks(folder: Folder) -> Extraction:
    """Every answer marked in the folder's notebooks, file by file, cell by cell."""
    found = Extraction()
    found.warn_escaping(folder, ".ipynb")
    for path in folder.files(".ipynb"):
        name = folder.named(path)
        cells = _cells(found, folder.read_text, path, name)
        macros = _macros(cells)
        for number, cell in enumerate(cells, start=1):
            if isinstance(cell, dict):
                _read_cell(found, cell, name, number, macros)
    return found


def _macros(cells: list[Any]) -> dict[str, Macro]:
    """The ``\\newcommand`` macros of every Markdown cell: MathJax keeps them for the whole notebook."""
    sources = (
        cell.get("source") for cell in cells if isinstance(cell, dict) and cell.get("cell_type") == "markdown"
    )
    return find_macros("\n".join(without_html_comments(s) for s in sources if isinstance(s, str)))


def _cells(found: Extraction, read_text: Callable[[str, int], str], path: str, name: str) -> list[Any]:
    try:
        text = read_text(path, MAX_NOTEBOOK_BYTES)
    except ValueError as exc:
        found.not_read(name, exc)
        return []
    invalid: dict[str, Any] = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nbformat warns about ids it adds
            import nbformat  # with jsonschema: imported when a notebook is read

            notebook = nbformat.reads(text, as_version=4, capture_validation_error=invalid)
    except Exception as exc:  # a hostile file may upset nbformat in any way; the student gets a warning
        found.warn(name, f"not read: not a Jupyter notebook ({type(exc).__name__}: {str(exc)[:200]})")
        return []
    if invalid.get("ValidationError") is not None:
        found.warn(name, "is not a valid notebook; its cells are read as far as they can be")
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    return cells if isinstance(cells, list) else []


def _read_cell(
    found: Extraction, cell: dict[str, Any], file: str, number: int, macros: dict[str, Macro]
) -> None:
    source = cell.get("source")
    source = source if isinstance(source, str) else ""
    kind = cell.get("cell_type")
    part_ids = _tagged_ids(found, cell, SourcePosition(file, 1, cell=number))
    if kind == "code":
        _code_answer(found, source, part_ids, file, number)
    elif part_ids:
        answer = source.strip()
        if kind == "markdown":
            answer = expand_macros(one_line(strip_math_delimiters(without_html_comments(source))), macros)
        for part_id in part_ids:
            found.add(part_id, answer, SourcePosition(file, 1, cell=number))
    elif kind == "markdown":
        found.extend(extract_markdown(source, file, cell=number, macros=macros))


def _tagged_ids(found: Extraction, cell: dict[str, Any], position: SourcePosition) -> list[str]:
    metadata = cell.get("metadata")
    tags = metadata.get("tags") if isinstance(metadata, dict) else None
    if not isinstance(tags, list):
        return []
    part_ids = []
    for tag in tags:
        if not isinstance(tag, str):
            continue
        if tag.strip().lower() == "answer":
            found.warn(position, f"tag {tag!r} names no part: tag the cell answer:q6.full")
        if not tag.lower().startswith(TAG_PREFIX):
            continue
        part_id = tag[len(TAG_PREFIX) :].strip()
        problem = id_problem(part_id)
        if problem:
            found.warn(position, f"tag {tag!r} is not read: {problem}")
        else:
            part_ids.append(part_id)
    return part_ids


def _code_answer(found: Extraction, source: str, part_ids: list[str], file: str, number: int) -> None:
    """The literal a code cell's last line assigns: to the tagged parts, or to the part its name names."""
    elements = len(_ELEMENT_SEPARATORS.findall(source))
    if elements > MAX_LITERAL_ELEMENTS and (part_ids or VARIABLE_PREFIX in source):
        found.warn(
            SourcePosition(file, 1, cell=number),
            f"the code cell is too large to read (about {elements:,} values; the limit is "
            f"{MAX_LITERAL_ELEMENTS:,}); no answer taken",
        )
        return
    tree = _python_tree(source) if elements <= MAX_LITERAL_ELEMENTS else None
    if tree is None:
        if part_ids or VARIABLE_PREFIX in source:
            found.warn(
                SourcePosition(file, 1, cell=number), "the code cannot be read as Python; no answer taken"
            )
        return
    last, shown = _answer_statement(tree.body)
    for statement in tree.body:
        name = _assigned_name(statement)
        if statement is not last and name and name.startswith(VARIABLE_PREFIX):
            position = SourcePosition(file, statement.lineno, statement.col_offset + 1, cell=number)
            found.warn(position, f"{name} is not on the cell's last line, where grader reads answers")
    name = _assigned_name(last) if last is not None else None
    printed = _printed_value(tree.body, shown) if part_ids and last is None else None
    if printed is not None:
        position = SourcePosition(file, tree.body[-1].lineno, 1, cell=number)
        for part_id in part_ids:  # a cell that only shows a value: the value is the answer
            found.add(part_id, printed, position)
    elif part_ids and not _assigns_literal(last):
        for part_id in part_ids:  # the cell is code: the answer to a code part, run in its sandbox
            found.add(part_id, _without_magics(source), SourcePosition(file, 1, cell=number))
    elif last is not None and name is not None and (part_ids or name.startswith(VARIABLE_PREFIX)):
        _take_assignment(found, last, name, part_ids, SourcePosition(file, last.lineno, 1, cell=number))


def _answer_statement(body: list[ast.stmt]) -> tuple[ast.stmt | None, list[ast.expr]]:
    """The statement that gives the cell's answer, and what the statements after it show: the
    last statement, or the last before ``print(x)`` lines (which show values, never change them).
    None when the cell only shows values."""
    index = len(body)
    shown: list[ast.expr] = []
    while index > 0 and (displayed := _displayed(body[index - 1])) is not None:
        shown.insert(0, displayed)
        index -= 1
    return (body[index - 1] if index > 0 else None), shown


def _displayed(statement: ast.stmt) -> ast.expr | None:
    """The value a ``print(x)`` line (or a bare ``x`` last in a cell) shows, when ``x`` is a name
    or a literal: showing it runs nothing of the student's and changes nothing."""
    if not isinstance(statement, ast.Expr):
        return None
    value = statement.value
    if (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id in ("print", "display")
        and len(value.args) == 1
        and not value.keywords
    ):
        value = value.args[0]
    if isinstance(value, ast.Name) or _is_literal(value):
        return value
    return None


def _printed_value(body: list[ast.stmt], shown: list[ast.expr]) -> Any:
    """The value a cell of literal assignments and ``print`` lines shows last (None otherwise)."""
    if not shown or len(body) != len(shown):
        return None
    value = shown[-1]
    if isinstance(value, ast.Name):
        return None  # a name the cell does not assign: its value comes from elsewhere
    try:
        return literal(value)
    except NotLiteralError:
        return None


_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)


def _is_arithmetic(node: ast.expr, depth: int) -> bool:
    """Numbers joined by ``+ - * / **`` (and signs): written arithmetic, read as a formula."""
    if depth > MAX_LITERAL_DEPTH:
        return False
    if isinstance(node, ast.Constant):
        return type(node.value) in (int, float)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        return _is_arithmetic(node.operand, depth + 1)
    return (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, _ARITHMETIC)
        and _is_arithmetic(node.left, depth + 1)
        and _is_arithmetic(node.right, depth + 1)
    )


def _is_literal(node: ast.expr) -> bool:
    try:
        literal(node)
    except NotLiteralError:
        return False
    return True


def _take_assignment(
    found: Extraction, statement: ast.stmt, name: str, part_ids: list[str], position: SourcePosition
) -> None:
    value_node = statement.value if isinstance(statement, ast.Assign | ast.AnnAssign) else None
    try:
        value = literal(value_node)
    except NotLiteralError as exc:
        found.warn(position, f"{name} is not read: {exc}; grader never runs code")
        return
    if part_ids:
        for part_id in part_ids:
            found.add(part_id, value, position)
        return
    key = name[len(VARIABLE_PREFIX) :]
    problem = id_problem(key)
    if problem:
        found.warn(position, f"{name} is not read: {problem}")
        return
    found.add(key, value, SourcePosition(position.file, position.line, 1, cell=position.cell, variable=name))


def _assigns_literal(statement: ast.stmt | None) -> bool:
    """Does the cell end by assigning a value grader can read (``answer = [1, 2]``)?"""
    if statement is None or _assigned_name(statement) is None:
        return False
    try:
        literal(statement.value if isinstance(statement, ast.Assign | ast.AnnAssign) else None)
    except NotLiteralError:
        return False
    return True


def _without_magics(source: str) -> str:
    return "\n".join("" if _MAGIC_LINE.match(line) else line for line in source.split("\n")).rstrip()


def _python_tree(source: str) -> ast.Module | None:
    """The cell's syntax tree (parsed, never compiled or run), magics blanked out; None if unreadable."""
    lines = ["" if _MAGIC_LINE.match(line) else line for line in source.split("\n")]
    try:
        return ast.parse("\n".join(lines))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _assigned_name(statement: ast.stmt) -> str | None:
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target = statement.targets[0]
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        target = statement.target
    else:
        return None
    return target.id if isinstance(target, ast.Name) else None


def literal(node: ast.expr | None, depth: int = 0) -> Any:
    """A string, a number, or a list or mapping of them, read from a syntax tree (numbers joined
    by ``+ - * / **`` as the text of that formula); anything else (a name, a call) raises
    NotLiteralError."""
    if depth > MAX_LITERAL_DEPTH:
        raise NotLiteralError("it nests too deeply")
    if isinstance(node, ast.Constant) and type(node.value) in (str, int, float):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        number = literal(node.operand, depth + 1)
        if type(number) in (int, float):
            return -number if isinstance(node.op, ast.USub) else number
    if isinstance(node, ast.BinOp) and _is_arithmetic(node, depth):
        return ast.unparse(node)  # ``1/2``, ``2**10``: a formula for the part to read, never run
    if isinstance(node, ast.List | ast.Tuple):
        return [literal(item, depth + 1) for item in node.elts]
    if isinstance(node, ast.Dict) and all(isinstance(key, ast.Constant) for key in node.keys):
        pairs = zip(node.keys, node.values, strict=True)
        return {str(literal(key, depth + 1)): literal(value, depth + 1) for key, value in pairs}
    raise NotLiteralError("only a string, a number, or a list or mapping of them is read")
