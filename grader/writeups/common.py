"""What every write-up reader gives: the answers it found marked, each with where it was marked,
and warnings that name the file and line of anything it could not take."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from grader.core.folder import Folder
from grader.core.submission import MAX_WARNINGS, SourcePosition, bounded_warnings
from grader.mathlang.candidates import APART, closing_brace, with_prose

MAX_WRITEUP_FILE_BYTES = 1_000_000  # as for answers files
# A notebook keeps its outputs (plots as base64 images); they count, but are never read.
MAX_NOTEBOOK_BYTES = 20_000_000
MAX_WRITEUP_FILES = 64  # LaTeX files read for one submission, \input files included

_PART_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


@dataclass(frozen=True)
class Mark:
    """One answer marked in a write-up."""

    part_id: str
    answer: Any
    position: SourcePosition


@dataclass
class Extraction:
    """What one reader found, in reading order."""

    marks: list[Mark] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dropped: int = 0  # warnings past MAX_WARNINGS, counted, not kept
    # Parts whose marked answer may or may not be what the student submitted (an answer inside
    # a TeX condition that cannot be decided): never graded, on any mark, with why.
    refused: dict[str, str] = field(default_factory=dict)

    def refuse(self, part_id: str, position: SourcePosition, why: str) -> None:
        self.refused.setdefault(part_id, f"{position}: {why}")

    def add(self, part_id: str, answer: Any, position: SourcePosition) -> None:
        self.marks.append(Mark(part_id, answer, position))

    def warn(self, where: SourcePosition | str, message: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(f"{where}: {message}")
        else:
            self.dropped += 1

    def not_read(self, where: SourcePosition | str, error: OSError | ValueError) -> None:
        """A file that could not be read, with why (an OS error's own words when it has them)."""
        self.warn(where, f"not read: {getattr(error, 'strerror', None) or error}")

    def warn_escaping(self, folder: Folder, suffix: str) -> None:
        """Name the folder's ``*suffix`` entries that link outside it (never read)."""
        for name in folder.escaping(suffix):
            self.warn(folder.named(name), "not read: it links outside the submission folder")

    def extend(self, other: Extraction) -> None:
        self.marks += other.marks
        for part_id, why in other.refused.items():
            self.refused.setdefault(part_id, why)
        self.warnings = bounded_warnings(self.warnings + other.warnings, other.dropped)


@dataclass
class Writeup:
    """A write-up read as an answers file is: answers by part id, and where each was marked."""

    answers: dict[str, Any]
    positions: dict[str, SourcePosition]
    warnings: list[str]
    files: list[str]  # the files answers were read from, relative to the submission folder


def gather(extraction: Extraction) -> Writeup:
    """The answers by part id; a part marked twice keeps its last answer, with a warning."""
    answers: dict[str, Any] = {}
    positions: dict[str, SourcePosition] = {}
    warnings = list(extraction.warnings)
    dropped = extraction.dropped
    for mark in extraction.marks:
        if mark.part_id in positions and len(warnings) >= MAX_WARNINGS:
            dropped += 1
        elif mark.part_id in positions:
            warnings.append(
                f"part {mark.part_id} is marked twice: {positions[mark.part_id]} and {mark.position}; "
                "the last one is graded"
            )
        if mark.part_id in positions:
            del answers[mark.part_id]  # the answer takes the place of its last mark
        answers[mark.part_id] = mark.answer
        positions[mark.part_id] = mark.position
    for part_id, why in extraction.refused.items():
        answers.pop(part_id, None)
        positions.pop(part_id, None)
        warnings.append(f"part {part_id} is not graded: {why}")
    files = list(dict.fromkeys(mark.position.file for mark in extraction.marks))
    return Writeup(answers, positions, bounded_warnings(warnings, dropped), files)


def id_problem(part_id: str) -> str | None:
    """Why ``part_id`` cannot name a part, or None when it can."""
    if not part_id:
        return "the part id is missing"
    if not _PART_ID.fullmatch(part_id):
        return f"{part_id!r} is not a part id (letters, digits, '.', '_' and '-', as in q6.full)"
    return None


def strip_math_delimiters(text: str) -> str:
    """Markdown math read as the LaTeX inside: ``$x$`` and ``$$x$$`` lose their dollars; ``\\_``
    (Markdown's escape against emphasis) is ``_``; every other backslash pair (``\\$``) is kept.
    Two spans with only white space between them (``$\\frac{1}{2}$ $1$``) are kept apart
    (:data:`~grader.mathlang.candidates.APART`): two formulas, not one product. Struck-out text
    (``~~...~~``, ``<del>``, ``<s>``) is not submitted: left out. Prose beside the math is set off
    (:func:`~grader.mathlang.candidates.with_prose`)."""
    text = _STRUCK_OUT.sub(" ", text)
    pieces: list[tuple[str, bool]] = []
    out: list[str] = []
    index = 0
    inside = False
    closed_at: int | None = None  # len(out) where the last span closed
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            pair = text[index : index + 2]
            out.append("_" if pair == "\\_" else pair)
            index += 2
            continue
        if char != "$":
            out.append(char)
            index += 1
            continue
        if not inside and closed_at is not None and not "".join(out).strip():
            out.append(f" {APART} ")
        pieces.append(("".join(out), inside))
        out = []
        inside = not inside
        closed_at = None if inside else 0
        index += 2 if text.startswith("$$", index) else 1
    pieces.append(("".join(out), inside))
    return with_prose(pieces)


_STRUCK_OUT = re.compile(r"~~(?=\S)(?:[^~]|~(?!~))*?~~|<(del|s|strike)>.*?</\1>", re.DOTALL | re.IGNORECASE)


def opens_math(text: str) -> bool:
    """Does ``text`` leave a ``$`` math span open (an odd number of unescaped dollars)?"""
    dollars = 0
    index = 0
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        dollars += text[index] == "$"
        index += 1
    return dollars % 2 == 1


def one_line(text: str) -> str:
    """Every run of white space, line breaks included, as one space (as LaTeX reads it)."""
    return " ".join(text.split())


@dataclass(frozen=True)
class Macro:
    """A student's own ``\\newcommand``: its number of arguments and its body (``#1``...)."""

    arguments: int
    body: str


MAX_MACRO_ROUNDS = 16  # a macro using a macro using a macro...
MAX_EXPANDED_CHARS = 50_000  # past this the answer is left as written (and refused as too long)
_MACRO_NAME = re.compile(r"\\([A-Za-z]+)(?![A-Za-z])")
_DEFINITION = re.compile(
    r"\\(?:re)?(?:newcommand|providecommand)\*?\s*(?:\{\s*\\([A-Za-z]+)\s*\}|\\([A-Za-z]+))"
    r"\s*(?:\[\s*([0-9])\s*\])?\s*\{|\\[gex]?def\s*\\([A-Za-z]+)\s*((?:#[0-9])*)\s*\{"
)


_OPERATOR = re.compile(r"\\DeclareMathOperator\*?\s*\{\s*\\([A-Za-z]+)\s*\}\s*\{")


_OPERATOR_NAME = re.compile(r"\\operatorname\*?\{[A-Za-z]+\}")


def find_macros(text: str) -> dict[str, Macro]:
    """``\\newcommand{\\half}{\\frac{1}{2}}``, ``\\newcommand\\sq[1]{#1^2}``, ``\\def\\two{2}`` in
    ``text``, by name (a later definition wins, as in LaTeX)."""
    macros: dict[str, Macro] = {}
    for match in _OPERATOR.finditer(text):  # \DeclareMathOperator{\relu}{ReLU}: the name it prints
        end = closing_brace(text, match.end())
        if end is not None:
            macros[match.group(1)] = Macro(0, f"\\operatorname{{{text[match.end() : end].strip()}}}")
    for match in _DEFINITION.finditer(text):
        end = closing_brace(text, match.end())
        if end is None:
            continue
        name = match.group(1) or match.group(2) or match.group(4)
        count = int(match.group(3) or 0) if match.group(4) is None else len(match.group(5) or "") // 2
        if name != "answer":
            macros[name] = Macro(count, text[match.end() : end])
    return macros


def expand_macros(text: str, macros: dict[str, Macro]) -> str:
    """``text`` with the student's macros replaced by their bodies, as TeX would typeset it;
    nothing is run. A macro with arguments takes them in braces (or one character each)."""
    if not macros:
        return text
    for _ in range(MAX_MACRO_ROUNDS):
        expanded = _expand_once(text, macros)
        if expanded == text or len(expanded) > MAX_EXPANDED_CHARS:
            return text if len(expanded) > MAX_EXPANDED_CHARS else expanded
        text = expanded
    return text


def _expand_once(text: str, macros: dict[str, Macro]) -> str:
    out: list[str] = []
    index = 0
    for match in _MACRO_NAME.finditer(text):
        macro = macros.get(match.group(1))
        if macro is None or match.start() < index or (match.start() > 0 and text[match.start() - 1] == "\\"):
            continue
        arguments, end = _macro_arguments(text, match.end(), macro.arguments)
        if arguments is None:
            continue
        body = macro.body
        for number, argument in enumerate(arguments, start=1):
            body = body.replace(f"#{number}", argument)
        wrapped = _OPERATOR_NAME.fullmatch(body) is None  # \relu(x): an operator's name, not a group
        out += [text[index : match.start()], "{" if wrapped else "", body, "}" if wrapped else ""]
        index = end
    out.append(text[index:])
    return "".join(out)


def _macro_arguments(text: str, start: int, count: int) -> tuple[list[str] | None, int]:
    arguments: list[str] = []
    index = start
    for _ in range(count):
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return None, start
        if text[index] == "{":
            end = closing_brace(text, index + 1)
            if end is None:
                return None, start
            arguments.append(text[index + 1 : end])
            index = end + 1
        else:
            arguments.append(text[index])
            index += 1
    return arguments, index
