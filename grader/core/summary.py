"""A report's summary row: what a class run needs of a graded sheet besides its files.

``grades.csv``, the class dashboard, the terminal's summary line, the exit code and
the verdict store's index read a sheet's row, never its whole report: the student,
each part's status and points, the total, and for the few parts that need more
(a wrong or unreadable answer, a TA's grade) what the dashboard lists. A worker
makes the row beside the report and sends it to the driver instead of the report;
the store keeps it beside the pickled report, which is read only where a whole
report is wanted (the terminal table, an export, hand grades).

Plain data classes of plain values: a row pickles and unpickles without running
Python code of its own, and a chunk's rows share their parts' ids and types.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar, cast

from grader.core.report import Report
from grader.core.verdict import Status

_Shared = TypeVar("_Shared", bound=tuple[object, ...])
# Statuses whose received answer the dashboard lists among the wrong answers.
WRONG = (Status.INVALID, Status.INCORRECT, Status.PARTIAL)


@dataclass(frozen=True)
class HandNote:
    """A TA's grade of a part, as the summaries read it."""

    stale: bool  # the answer changed since it was graded
    auto_changed: bool  # the automatic verdict under an override changed
    auto_status: Status | None  # the automatic verdict an override replaces


@dataclass(frozen=True)
class PartNote:
    """What a row keeps of a part beyond its status and points: the answer and feedback of
    a wrong one, and a TA's grade."""

    received: str | None
    feedback: str
    hand: HandNote | None
    # The wrong answer's meaning key (grader.reporting.grouping), when the worker that graded
    # it read it for the class's wrong-answer groups; None: the groups read it themselves. It
    # follows from the answer: two notes of the same answer are equal with or without it.
    meaning: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class PartView:
    """One part of a row, read as a report's part (id, status, points, answer, TA's grade)."""

    id: str
    status: Status
    score: float
    max_score: float
    type: str
    received: str | None = None
    feedback: str = ""
    hand: HandNote | None = None

    @property
    def auto_status(self) -> Status:
        if self.hand is not None and self.hand.auto_status is not None:
            return self.hand.auto_status
        return self.status


@dataclass(frozen=True)
class SheetRow:
    """One graded sheet, as the class's summaries read it (see the module's docstring)."""

    assignment: str
    student: str
    folder: str | None
    error: str | None
    warnings: tuple[str, ...]
    score: float  # as the report gives them (rounded sums over the parts)
    max_score: float
    pending: float
    ids: tuple[str, ...]  # per part, in the report's order
    types: tuple[str, ...]
    max_scores: tuple[float, ...]
    statuses: tuple[Status, ...]
    scores: tuple[float, ...]
    notes: dict[int, PartNote] = field(default_factory=dict)  # by position in ``ids``
    variant: str | None = None  # the variant graded, in a set with parameters (``a=3,k=5``)

    def counts(self) -> dict[str, int]:
        """Parts per status (every status present, as ``Report.counts``)."""
        given = Counter(self.statuses)
        return {status.value: given[status] for status in Status}

    @property
    def has_errors(self) -> bool:
        """The sheet could not be read, or a part's check failed."""
        return bool(self.error) or Status.ERROR in self.statuses

    @property
    def answers_nothing(self) -> bool:
        """No part was answered (or the sheet could not be read)."""
        return bool(self.error) or all(status is Status.MISSING for status in self.statuses)

    def hand_notes(self) -> Iterator[tuple[str, HandNote]]:
        """(part id, TA's grade) of each part a TA graded, in the parts' order."""
        for index, note in self.notes.items():
            if note.hand is not None:
                yield self.ids[index], note.hand

    @property
    def parts(self) -> Iterator[PartView]:
        """The parts, as a report's (for code that reads either)."""
        for index, part_id in enumerate(self.ids):
            note = self.notes.get(index)
            yield PartView(
                part_id,
                self.statuses[index],
                self.scores[index],
                self.max_scores[index],
                self.types[index],
                *((note.received, note.feedback, note.hand) if note else ()),
            )


class RowMaker:
    """Makes rows; the rows it makes share equal tuples of ids, types and maxima, so a chunk
    of them pickles each once."""

    def __init__(self, meaning: Callable[[str, str, str], str | None] | None = None) -> None:
        self._shared: dict[tuple[object, ...], tuple[object, ...]] = {}
        self.meaning = meaning  # (part id, type, wrong answer) -> its meaning key, if given

    def row(self, report: Report) -> SheetRow:
        parts = report.parts
        notes = {}
        for index, part in enumerate(parts):
            hand = part.hand
            wrong = part.status in WRONG
            if wrong or hand is not None:
                noted = None if hand is None else HandNote(hand.stale, hand.auto_changed, hand.auto_status)
                meaning = None
                if wrong and part.received is not None and self.meaning is not None:
                    meaning = self.meaning(part.id, part.type, part.received)
                notes[index] = PartNote(
                    part.received if wrong else None, part.feedback if wrong else "", noted, meaning
                )
        return SheetRow(
            report.assignment,
            report.student,
            report.folder,
            report.error,
            tuple(report.warnings) + ((report.hand_in.describe(),) if report.hand_in is not None else ()),
            report.score,
            report.max_score,
            report.pending,
            self._share(tuple(p.id for p in parts)),
            self._share(tuple(p.type for p in parts)),
            self._share(tuple(p.max_score for p in parts)),
            tuple(p.status for p in parts),
            tuple(p.score for p in parts),
            notes,
            report.variant,
        )

    def _share(self, values: _Shared) -> _Shared:
        if len(self._shared) > 64:
            self._shared.clear()
        return cast(_Shared, self._shared.setdefault(values, values))


def summary_row(report: Report) -> SheetRow:
    """The report's row."""
    return RowMaker().row(report)
