"""Hand grades in a file: ``grader grade ... --hand hand.yaml``.

A hand-grades file is a YAML list of entries, one per (student folder, part)::

    - {student: alice, part: q3, points: 2, comment: "Good bound; cite the lemma.", by: ta-kim}
    - student: bob
      part: q1.b
      points: 1
      reason: the reader could not read "1/2 x", which is the right answer
      by: ta-kim

An entry for an auto-graded part is an override and needs a ``reason``. ``rubric``
lists ids of the part's rubric items (problem file); with no ``points`` the grade is
computed from them, so changing an item's points changes every grade it is in.

``answer`` (the digest of the answer the grade was given for) and ``auto`` (the
automatic verdict an override replaced) are pins that grader writes into the file
the first time it applies an entry (:func:`pin_text`): a later change of either is
reported for review, and the grade is kept.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from grader.core.parts import MAX_POINTS, PartBase
from grader.core.textfiles import read_text
from grader.core.yamlio import ANSWERS_FILE, Position, YamlError, dump_readable, load_with_positions
from grader.engine import is_auto_graded
from grader.loading import Diagnostic, ProblemFileError, _problems_from
from grader.spec import ProblemSet

MAX_HAND_FILE_BYTES = 20_000_000
DIGEST_PATTERN = re.compile(r"^[0-9a-f]{32}$")
AUTO_PATTERN = re.compile(r"^(correct|partial|incorrect|missing|invalid|manual|error) -?[0-9.e+-]+$")
MAX_COMMENT_CHARS = 20_000


class HandGrade(BaseModel):
    """One TA's grade of one part of one submission."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    student: str = Field(min_length=1, description="the submission folder, relative to the class folder")
    part: str = Field(min_length=1, description="the part's address, as in reports: q1 or q1.b")
    points: float | None = Field(
        None, ge=0, le=MAX_POINTS, allow_inf_nan=False, description="points awarded (default: from rubric)"
    )
    rubric: tuple[str, ...] = Field((), description="ids of the part's rubric items applied")
    comment: str = Field("", max_length=MAX_COMMENT_CHARS, description="shown to the student as the TA's")
    by: str = Field(min_length=1, description="who graded it")
    reason: str | None = Field(
        None, min_length=1, description="why an automatic verdict is overridden (required for one)"
    )
    at: str | None = Field(None, description="when it was given, ISO 8601")
    answer: str | None = Field(None, description="pin: digest of the answer graded (written by grader)")
    auto: str | None = Field(None, description="pin: the automatic verdict overridden (written by grader)")

    @model_validator(mode="after")
    def _points_or_rubric(self) -> HandGrade:
        if self.points is None and not self.rubric:
            raise ValueError("give points, or rubric items to compute them from")
        return self

    @field_validator("at")
    @classmethod
    def _iso_time(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                datetime.fromisoformat(value)
            except ValueError:
                raise ValueError(f"{value!r} is not an ISO 8601 time (2026-11-23T10:40:00+00:00)") from None
        return value

    @field_validator("answer")
    @classmethod
    def _digest_shape(cls, value: str | None) -> str | None:
        if value is not None and not DIGEST_PATTERN.match(value):
            raise ValueError("an answer pin is the 32 hex digits grader writes; remove it to pin anew")
        return value

    @field_validator("auto")
    @classmethod
    def _auto_shape(cls, value: str | None) -> str | None:
        if value is not None and not AUTO_PATTERN.match(value):
            raise ValueError("an auto pin is '<status> <points>' as grader writes it; remove it to pin anew")
        return value

    def awarded(self, part: PartBase) -> float:
        """The points this grade gives: as written, or from the rubric items applied."""
        if self.points is not None:
            return self.points
        items = {item.id: item for item in part.rubric}
        total = part.rubric_start() + sum(items[i].points for i in self.rubric if i in items)
        return min(max(total, 0.0), part.points)


HAND_GRADES = TypeAdapter(list[HandGrade])
HAND_GRADES_SCHEMA_FILE = "hand-grades.json"


def hand_grades_schema() -> dict[str, Any]:
    schema = HAND_GRADES.json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "grader hand grades"
    schema["description"] = (
        "A TA's grades of hand-graded parts and overrides of automatic verdicts, "
        "read by grader grade --hand (docs/formats.md)."
    )
    return schema


@dataclass(frozen=True)
class HandBook:
    """A hand-grades file as read: its entries, and where each was written."""

    path: str
    text: str
    grades: tuple[HandGrade, ...]
    positions: Mapping[Any, Position] = field(default_factory=dict)

    def by_folder(self) -> dict[str, tuple[HandGrade, ...]]:
        found: dict[str, list[HandGrade]] = {}
        for grade in self.grades:
            found.setdefault(grade.student, []).append(grade)
        return {folder: tuple(grades) for folder, grades in found.items()}

    def line_of(self, index: int) -> int | None:
        position = self.positions.get((index,))
        return position.line if position else None


def grades_digest(grades: Sequence[HandGrade]) -> str:
    """Digest of a student's hand grades: part of what their report is made from."""
    text = json.dumps([g.model_dump(mode="json") for g in grades], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def grades_yaml(grades: Sequence[HandGrade], assignment: str) -> str:
    """The grades as a hand-grades file (docs/formats.md §10), exported from the grading service."""
    entries = [g.model_dump(mode="json", exclude_none=True, exclude_defaults=True) for g in grades]
    for entry, grade in zip(entries, grades, strict=True):
        entry.setdefault("student", grade.student)
        entry.setdefault("by", grade.by)
    header = f"# hand grades of {assignment}, exported from the grading service\n"
    return header + (dump_readable(entries) if entries else "[]\n")


def load_hand_grades(path: Path | str, spec: ProblemSet | None = None) -> HandBook:
    """Read and check a hand-grades file (against ``spec``'s parts and rubrics, when given);
    :class:`ProblemFileError` with every problem and its line."""
    path = Path(path)
    try:
        text = read_text(path, MAX_HAND_FILE_BYTES)
    except OSError as exc:
        raise ProblemFileError(path, [Diagnostic(None, None, f"cannot read: {exc.strerror}")]) from None
    except ValueError as exc:
        raise ProblemFileError(path, [Diagnostic(None, None, str(exc))]) from None
    return parse_hand_grades(text, path, spec)


def parse_hand_grades(
    text: str, path: Path | str = "<hand grades>", spec: ProblemSet | None = None
) -> HandBook:
    try:
        data, positions = load_with_positions(text, limits=ANSWERS_FILE)
    except YamlError as exc:
        raise ProblemFileError(path, [Diagnostic(exc.line, exc.column, exc.message)]) from None
    if data is None:
        data = []
    if not isinstance(data, list):
        message = "a hand-grades file is a list of entries (- student: ..., part: ..., points: ...)"
        raise ProblemFileError(path, [Diagnostic(1, 1, message)])
    try:
        grades = tuple(HAND_GRADES.validate_python(data))
    except ValidationError as exc:
        raise ProblemFileError(path, _problems_from(exc, positions)) from None
    book = HandBook(str(path), text, grades, positions)
    problems = _duplicates(book)
    if spec is not None:
        problems += _against(book, spec)
    if problems:
        raise ProblemFileError(path, problems)
    return book


def _duplicates(book: HandBook) -> list[Diagnostic]:
    first: dict[tuple[str, str], int] = {}
    problems = []
    for index, grade in enumerate(book.grades):
        key = (grade.student, grade.part)
        if key in first:
            message = (
                f"[{index}]: {grade.student} {grade.part} is graded twice "
                f"(first at line {book.line_of(first[key])}); keep one entry"
            )
            problems.append(Diagnostic(book.line_of(index), None, message))
        else:
            first[key] = index
    return problems


def _against(book: HandBook, spec: ProblemSet) -> list[Diagnostic]:
    """Entries naming no part of the problem set, an unknown rubric item, more points than
    the part has, an override without a reason."""
    parts = {address: part for address, _, part in spec.iter_parts()}
    problems = []
    for index, grade in enumerate(book.grades):
        line = book.line_of(index)
        part = parts.get(grade.part)
        if part is None:
            known = ", ".join(parts)
            problems.append(
                Diagnostic(line, None, f"[{index}]: {spec.assignment} has no part {grade.part!r} ({known})")
            )
            continue
        for message in entry_problems(grade, part):
            problems.append(Diagnostic(line, None, f"[{index}] {grade.student} {grade.part}: {message}"))
    return problems


def entry_problems(grade: HandGrade, part: PartBase) -> list[str]:
    """What is wrong with one grade of ``part`` (the service checks its writes with this too)."""
    problems = []
    if grade.points is not None and grade.points > part.points + 1e-9:
        problems.append(f"{grade.points:g} points is more than the part's {part.points:g}")
    known = {item.id for item in part.rubric}
    unknown = [i for i in grade.rubric if i not in known]
    if unknown:
        offered = ", ".join(sorted(known)) if known else "the part has no rubric"
        problems.append(f"unknown rubric item {', '.join(unknown)} ({offered})")
    if is_auto_graded(part) and not grade.reason:
        problems.append(
            f"the part is graded automatically ({part.type}): a hand grade overrides its verdict "
            "and needs a reason"
        )
    return problems


# ---------------------------------------------------------------------------
# Pins: the answer (and automatic verdict) each grade was given for


@dataclass(frozen=True)
class Pin:
    index: int  # the entry in the file
    answer: str | None
    auto: str | None


def pin_text(book: HandBook, pins: Sequence[Pin]) -> str:
    """The file's text with ``answer:`` and ``auto:`` keys added to the entries pinned,
    leaving every other line (comments too) as the TA wrote it."""
    lines = book.text.splitlines(keepends=True)
    starts = sorted(
        (position.line, index)
        for (index, *rest), position in ((k, v) for k, v in book.positions.items() if len(k) == 1)
        if not rest
    )
    by_index = {pin.index: pin for pin in pins}
    # Work from the last entry up, so earlier line numbers stay right.
    for order in range(len(starts) - 1, -1, -1):
        line, index = starts[order]
        pin = by_index.get(index)
        if pin is None:
            continue
        keys = [(k, v) for k, v in (("answer", pin.answer), ("auto", pin.auto)) if v is not None]
        if not keys:
            continue
        position = book.positions[(index,)]
        row = lines[line - 1]
        if row[position.column - 1 : position.column] == "{":  # a flow mapping: keys after the brace
            added = "".join(f"{k}: {_scalar(v)}, " for k, v in keys)
            cut = position.column
            lines[line - 1] = row[:cut] + added + row[cut:]
            continue
        indent = " " * (position.column - 1)
        end = starts[order + 1][0] - 1 if order + 1 < len(starts) else len(lines)
        while end > line and _blank_or_comment(lines[end - 1]):
            end -= 1
        if lines[end - 1] and not lines[end - 1].endswith("\n"):
            lines[end - 1] += "\n"
        lines[end:end] = [f"{indent}{k}: {_scalar(v)}\n" for k, v in keys]
    return "".join(lines)


def _blank_or_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _scalar(value: str) -> str:
    return json.dumps(value)  # quoted: a digest of digits only must not read as a number
