"""Answers marked in Markdown: a fenced block whose info string is ``answer q6.full``, or a
line ``Answer q6.full: $[1, 2, 5, 8, 6, 8]$``.

markdown-it-py finds the blocks, so a marker inside a code block or an indented code
block is not one. The answer is its source as typed: math inside ``$...$`` or
``$$...$$`` is read as the LaTeX it is (the dollars dropped, an escaped ``\\$`` kept).
A line marker's answer runs from its colon to the end of its paragraph (the next blank
line), or to the next marker line. A marker line with nothing after it, followed by a code
block (```python ... ```), takes the block's content as typed, line breaks kept: the answer
to a ``code`` part.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from grader.core.folder import Folder
from grader.core.submission import SourcePosition
from grader.writeups.common import (
    MAX_WRITEUP_FILE_BYTES,
    Extraction,
    Macro,
    expand_macros,
    find_macros,
    id_problem,
    one_line,
    opens_math,
    strip_math_delimiters,
)

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

# "Answer q6.full: ...", also in bold: "**Answer q6.full:** ..." or "**Answer q6.full**: ..."
_LINE_MARKER = re.compile(
    r"(?:\*\*)?answer[ \t]+(?P<id>[^\s:*]+)[ \t]*(?:\*\*)?[ \t]*:(?:\*\*)?[ \t]*(?P<rest>.*)", re.IGNORECASE
)
# "Answer q6.full $...$" or "Answer q6.full" alone: a marker that forgot its colon.
_COLONLESS_MARKER = re.compile(
    r"(?:\*\*)?answer[ \t]+(?P<id>[A-Za-z0-9_.\-]*[0-9.][A-Za-z0-9_.\-]*)(?:\*\*)?[ \t]*(?:\$.*)?",
    re.IGNORECASE,
)
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_MARKER_HINT = re.compile(
    r"^[ \t>*-]*(?:```|~~~)[ \t]*answer\b|^[ \t>*-]*(?:\*\*)?answer[ \t]+\S", re.I | re.M
)


@functools.cache
def _parser() -> MarkdownIt:
    """The CommonMark parser, made when a write-up is first read (markdown-it-py)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark")


def has_marker(text: str) -> bool:
    """A quick look, before any parsing: might this Markdown mark an answer?"""
    return _MARKER_HINT.search(text) is not None


def read_markdown(folder: Folder) -> Extraction:
    """Every answer marked in the folder's ``.md`` files, file by file in name order."""
    found = Extraction()
    found.warn_escaping(folder, ".md")
    for path in folder.files(".md"):
        try:
            text = folder.read_text(path, MAX_WRITEUP_FILE_BYTES)
        except ValueError as exc:
            found.not_read(folder.named(path), exc)
            continue
        found.extend(extract_markdown(text, folder.named(path)))
    return found


def extract_markdown(
    text: str, file: str, cell: int | None = None, macros: dict[str, Macro] | None = None
) -> Extraction:
    """The answers marked in one Markdown text (a file, or a notebook's Markdown cell), with
    the student's ``\\newcommand`` macros (of the file, or of every cell of a notebook) expanded."""
    found = Extraction()
    macros = find_macros(without_html_comments(text)) if macros is None else macros
    source_lines = text.splitlines()
    waiting: _OpenAnswer | None = None  # a mark with nothing after it, before a blank line
    for token in _parser().parse(text):
        if token.map is None or token.type in ("paragraph_open", "paragraph_close"):
            continue
        if token.type == "html_block" and not without_html_comments(token.content).strip():
            continue  # a comment between a mark and its display math is never shown
        where = _Where(file, source_lines, cell, macros)
        if waiting is not None:
            if token.type == "inline" and _is_display_math(token.content):
                waiting.lines.append(without_html_comments(token.content))  # each display a candidate
                continue
            if token.type in ("fence", "code_block") and not _is_answer_fence(token) and not waiting.lines:
                found.add(waiting.part_id, token.content.rstrip("\n"), waiting.position)  # code, as typed
                waiting = None
                continue
            waiting.close(found, macros)
            waiting = None
        if _is_answer_fence(token):
            _fenced_answer(found, token, where)
        elif token.type == "inline":
            waiting = _line_answers(found, token, where)
    if waiting is not None:
        waiting.close(found, macros)
    return found


def _is_answer_fence(token: Token) -> bool:
    """A fenced block that marks an answer itself: ```answer q6.full."""
    words = token.info.split()
    return token.type == "fence" and bool(words) and words[0].lower() == "answer"


def without_html_comments(text: str) -> str:
    """``<!-- ... -->`` (never shown) left out; its line breaks kept, so lines keep their numbers."""
    return _HTML_COMMENT.sub(lambda match: "\n" * match.group().count("\n"), text)


def _is_display_math(text: str) -> bool:
    """A paragraph that is display math alone: ``$$...$$`` or ``\\[...\\]``."""
    stripped = without_html_comments(text).strip()
    return (stripped.startswith("$$") and stripped.endswith("$$") and len(stripped) > 4) or (
        stripped.startswith("\\[") and stripped.endswith("\\]")
    )


@dataclass(frozen=True)
class _Where:
    file: str
    source_lines: list[str]
    cell: int | None
    macros: dict[str, Macro]

    def position(self, line_index: int, text: str) -> SourcePosition:
        """Line ``line_index`` (from 0), at the column where ``text`` starts on it."""
        source = self.source_lines[line_index] if line_index < len(self.source_lines) else ""
        column = source.find(text.strip()[:40]) + 1 if text.strip() else 1
        return SourcePosition(self.file, line_index + 1, max(column, 1), cell=self.cell)


def _fenced_answer(found: Extraction, token: Token, where: _Where) -> None:
    assert token.map is not None
    position = where.position(token.map[0], token.markup)
    words = token.info.split()
    if len(words) != 2:
        found.warn(position, "an answer block names one part after 'answer': ```answer q6.full")
        return
    part_id = words[1].replace("\\_", "_")
    problem = id_problem(part_id)
    if problem:
        found.warn(position, f"answer not read: {problem}")
        return
    found.add(part_id, expand_macros(strip_math_delimiters(token.content).strip(), where.macros), position)


@dataclass
class _OpenAnswer:
    part_id: str
    position: SourcePosition
    lines: list[str] = field(default_factory=list)

    def close(self, found: Extraction, macros: dict[str, Macro]) -> None:
        text = "\n".join(self.lines)
        if opens_math(text):
            found.warn(self.position, f"answer {self.part_id}: a $ opens math that is never closed")
        found.add(self.part_id, expand_macros(one_line(strip_math_delimiters(text)), macros), self.position)


def _line_answers(found: Extraction, token: Token, where: _Where) -> _OpenAnswer | None:
    """Each marker line of a paragraph opens an answer that runs to the next marker or the
    paragraph's end (Markdown wraps a paragraph's lines as it likes). A last mark with nothing
    after it is returned open: display math after a blank line is its answer."""
    assert token.map is not None
    current: _OpenAnswer | None = None
    for offset, line in enumerate(without_html_comments(token.content).split("\n")):
        position = where.position(token.map[0] + offset, line)
        marker = _LINE_MARKER.fullmatch(line.strip())
        colonless = marker is None and _COLONLESS_MARKER.fullmatch(line.strip()) is not None
        if marker is None and not colonless:
            if current is not None:
                current.lines.append(line)
            continue
        if current is not None:
            current.close(found, where.macros)
        current = _open(found, marker, position) if marker is not None else None
        if colonless:
            found.warn(
                position, "this looks like an answer marker without its colon: write 'Answer q6.full: ...'"
            )
    if current is not None and not "".join(current.lines).strip():
        return current
    if current is not None:
        current.close(found, where.macros)
    return None


def _open(found: Extraction, marker: re.Match[str], position: SourcePosition) -> _OpenAnswer | None:
    part_id = marker["id"].replace("\\_", "_")
    problem = id_problem(part_id)
    if problem:
        found.warn(position, f"answer not read: {problem}")
        return None
    rest = marker["rest"].strip()
    return _OpenAnswer(part_id, position, [rest] if rest else [])
