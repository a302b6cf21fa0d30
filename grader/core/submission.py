"""One student's answers as read from disk, before grading."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

_NOT_IN_PYTHON_NAMES = re.compile(r"[^0-9A-Za-z_]")
# Warnings kept for one submission: the first ones, then how many more there were. One
# student's file with a million unknown keys must not make a million lines of reports.
MAX_WARNINGS = 100
_MORE_WARNINGS = re.compile(r"^\.\.\. and ([\d,]+) more warnings? not shown$")


@dataclass(frozen=True)
class SourcePosition:
    """Where something was written: a file (as the submission path names it), 1-based line and column."""

    file: str
    line: int  # within the cell, for a notebook
    column: int = 1
    cell: int | None = None  # notebooks: the cell's number, counted from 1
    # Notebooks: the variable (answer_q6_full) an answer was read from; its key is
    # matched to a part id at grading (Submission.matched_to).
    variable: str | None = None
    excerpt: str | None = None  # the line as written, where a file stops being readable

    def __str__(self) -> str:
        if self.cell is None:
            where = f"{self.file}:{self.line}:{self.column}"
        else:
            where = f"{self.file} cell {self.cell}, line {self.line}"
        return f"{where} ({self.variable})" if self.variable else where


def python_name(part_id: str) -> str:
    """``q6.full`` -> ``q6_full``: how a notebook variable (``answer_q6_full``) names a part."""
    return _NOT_IN_PYTHON_NAMES.sub("_", part_id)


@dataclass
class Submission:
    student: str
    folder: str
    answers: dict[str, Any] = field(default_factory=dict)
    source: str | None = None
    # The answers file could not be read at all: one clear error row for the student.
    load_error: str | None = None
    warnings: list[str] = field(default_factory=list)
    # What grader did that is worth knowing but is no problem (the write-up it read).
    notes: list[str] = field(default_factory=list)
    # Where a warning's cause was written (a double-quoted LaTeX string), by the warning's text.
    warning_positions: dict[str, SourcePosition] = field(default_factory=dict)
    # Where each answer (by its key in the answers file) was written, for annotations.
    positions: dict[str, SourcePosition] = field(default_factory=dict)
    # Where the answers file stopped being readable, when it is known.
    error_position: SourcePosition | None = None
    # A PDF hand-in (grader.pdf): what was read of it, matched to the parts when graded;
    # then each part's pages, and the parts a TA grades from them (with why).
    pdf: dict[str, Any] | None = None
    pages: dict[str, list[int]] = field(default_factory=dict)
    by_hand: dict[str, str] = field(default_factory=dict)

    def matched_to(self, part_ids: Iterable[str]) -> Submission:
        """This submission with notebook variable keys (``q6_full``) renamed to the part they name."""
        by_python_name: dict[str, list[str]] = {}
        for part_id in part_ids:
            by_python_name.setdefault(python_name(part_id), []).append(part_id)
        answers: dict[str, Any] = {}
        positions: dict[str, SourcePosition] = {}
        warnings = list(self.warnings)
        for key, answer in self.answers.items():
            position = self.positions.get(key)
            candidates = by_python_name.get(key, []) if position and position.variable else []
            part_id = candidates[0] if len(candidates) == 1 else key
            if part_id in answers:  # two keys name one part
                warnings.append(
                    f"part {part_id} is marked twice: {positions.get(part_id)} and {position}; "
                    "the last one is graded"
                )
                del answers[part_id]
            answers[part_id] = answer
            if position is not None:
                positions[part_id] = position
        return dataclasses.replace(self, answers=answers, positions=positions, warnings=warnings)


def bounded_warnings(warnings: list[str], more: int = 0) -> list[str]:
    """The first :data:`MAX_WARNINGS` of ``warnings``, then one line counting the rest (and
    ``more`` already dropped); a count line already in the list is added in, not repeated."""
    kept: list[str] = []
    for warning in warnings:
        counted = _MORE_WARNINGS.match(warning)
        if counted:
            more += int(counted.group(1).replace(",", ""))
        elif len(kept) < MAX_WARNINGS:
            kept.append(warning)
        else:
            more += 1
    if more:
        kept.append(f"... and {more:,} more warning{'s' if more > 1 else ''} not shown")
    return kept
