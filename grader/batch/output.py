"""What a batch leaves in ``--out``: each student's files, ``grades.csv`` and ``changes.csv``.

Files are written atomically and only when their content changed. ``grades.csv``
is one row per submission folder: rows of folders this run did not grade are
kept from the gradebook that was there, so grading one folder adds or replaces
its row and never erases the others. ``changes.csv`` lists the students whose
score differs from that earlier gradebook, and the parts that moved.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.batch.studentfiles import (
    CHANGES,
    DASHBOARD,
    GRADEBOOK,
    PREVIOUS_GRADEBOOK,
    content_digest,
    file_identity,
    write_student_files,
)
from grader.batch.worker import Graded
from grader.core.files import write_atomic, write_if_changed
from grader.core.report import Report
from grader.reporting.dashboard import render_dashboard
from grader.reporting.escape import csv_cell
from grader.reporting.handmarks import HAND_REVIEW_FLAG
from grader.reporting.reporters import REPORTERS, name_clashes
from grader.spec import ProblemSet

FIXED_COLUMNS = ("student", "folder")


@dataclass(frozen=True)
class Gradebook:
    header: list[str]
    points: list[str]  # the points-possible row
    rows: list[list[str]]

    def column(self, name: str) -> int | None:
        return self.header.index(name) if name in self.header else None

    def by_folder(self) -> dict[str, list[str]]:
        """Rows by submission folder (by student for a gradebook without a folder column)."""
        index = self.column("folder")
        if index is None:
            index = 0
        return {row[index]: row for row in self.rows if len(row) > index}


def parse_gradebook(text: str) -> Gradebook | None:
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) < 2 or not rows[0] or rows[0][0] != "student":
        return None
    return Gradebook(rows[0], rows[1], rows[2:])


def render_gradebook(book: Gradebook) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in (book.header, book.points, *book.rows):
        writer.writerow([csv_cell(cell) for cell in row])
    return buffer.getvalue()


@dataclass(frozen=True)
class ScoreChange:
    folder: str
    student: str
    old_total: str
    new_total: str
    moved: tuple[tuple[str, str, str], ...]  # (part, old points, new points)

    def describe(self) -> str:
        parts = "; ".join(f"{part}: {old or '-'} → {new or '-'}" for part, old, new in self.moved)
        return f"{self.student} ({self.folder}): {self.old_total} → {self.new_total}" + (
            f" [{parts}]" if parts else ""
        )


class OutputFolder:
    """``--out``: student files, the gradebook and the list of changed scores."""

    def __init__(self, path: Path):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.before = self._gradebook_before_run()

    def _gradebook_before_run(self) -> Gradebook | None:
        """The gradebook from before this run (from before an interrupted run, if one was)."""
        unfinished = self.path / PREVIOUS_GRADEBOOK
        current = self.path / GRADEBOOK
        if not unfinished.exists() and current.exists():
            write_atomic(unfinished, current.read_bytes())
        try:
            return parse_gradebook(unfinished.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            return None

    def intact(self, artefacts: dict[str, str]) -> bool:
        """Every file a stored grading wrote is still there, unchanged: the same size, time
        and inode as recorded when written (a file touched since is read and its content
        compared)."""
        if not artefacts:
            return False
        for name, record in artefacts.items():
            digest, _, written = record.partition(" ")
            path = self.path / name
            try:
                if written and written == file_identity(path):
                    continue
                if content_digest(path.read_bytes()) != digest:
                    return False
            except OSError:
                return False
        return True

    def write_student(self, graded: Graded, earlier: Iterable[str] = ()) -> dict[str, str]:
        """Write a student's files (those that changed); remove files of theirs no longer made
        (a plot of a part now right). The record of every file, by name."""
        return write_student_files(self.path, graded.artefacts, earlier)

    def write_gradebook(self, reports: Sequence[Report]) -> Gradebook | None:
        book = merged_gradebook(self.before, reports)
        if book is not None:
            write_if_changed(self.path / GRADEBOOK, render_gradebook(book))
        return book

    def has_dashboard(self) -> bool:
        return (self.path / DASHBOARD).is_file()

    def write_dashboard(self, reports: Sequence[Report], spec: ProblemSet, stems: Sequence[str]) -> None:
        """``index.html``: the class dashboard of this run's reports, linking ``<stem>.html``."""
        pages = [f"{stem}.html" for stem in stems]
        write_if_changed(self.path / DASHBOARD, render_dashboard(reports, spec=spec, pages=pages))

    def finish(self, reports: Sequence[Report]) -> list[ScoreChange]:
        """The final gradebook and changes.csv; the run is then complete."""
        book = self.write_gradebook(reports)
        changes = score_changes(self.before, book) if book is not None else []
        write_if_changed(self.path / CHANGES, render_changes(changes))
        (self.path / PREVIOUS_GRADEBOOK).unlink(missing_ok=True)
        return changes


def merged_gradebook(before: Gradebook | None, reports: Sequence[Report]) -> Gradebook | None:
    """This run's rows, plus the earlier rows of every folder it did not grade."""
    if not reports:
        return before
    ordered = sorted(reports, key=lambda r: (r.student.casefold(), r.student, r.folder or ""))
    fresh = parse_gradebook(REPORTERS["csv"].render_batch(ordered))
    if fresh is None:
        return before
    graded = fresh.by_folder()
    kept = []
    if before is not None:
        for key, row in before.by_folder().items():
            if key not in graded:
                kept.append(_remapped(row, before.header, fresh.header))
    # as a person reads a list of names: "bob" between "Alice" and "Carol"
    rows = sorted([*fresh.rows, *kept], key=lambda row: (row[0].casefold(), row[0], row[1]))
    return Gradebook(fresh.header, fresh.points, _with_clashes(rows, fresh.header))


def _remapped(row: list[str], old_header: list[str], new_header: list[str]) -> list[str]:
    """An earlier row laid out in this run's columns (by column name; absent cells empty)."""
    cells = dict(zip(old_header, row, strict=False))
    if "folder" not in cells:  # a gradebook written before folders were a column
        cells["folder"] = cells.get("student", "")
    return [cells.get(name, "") for name in new_header]


def _with_clashes(rows: list[list[str]], header: list[str]) -> list[list[str]]:
    """Recompute the flags column over every row (names shared by several folders)."""
    if "flags" not in header:
        return rows
    index = header.index("flags")
    flags = name_clashes([(row[0], row[1]) for row in rows])
    return [[*row[:index], _flags(flags.get(row[1], ""), row[index]), *row[index + 1 :]] for row in rows]


def _flags(clash: str, written: str) -> str:
    """The name-clash flag recomputed, the row's other flags (hand grades to review) kept."""
    kept = [flag for flag in written.split("; ") if flag.startswith(HAND_REVIEW_FLAG)]
    return "; ".join(flag for flag in (clash, *kept) if flag)


def score_changes(before: Gradebook | None, after: Gradebook) -> list[ScoreChange]:
    """Students whose total or a part's points differ between two gradebooks."""
    if before is None:
        return []
    old_rows = before.by_folder()
    total = after.header.index("total")
    parts = [
        (index, name) for index, name in enumerate(after.header[2:total], start=2) if name in before.header
    ]
    changes = []
    for key, row in after.by_folder().items():
        old = old_rows.get(key)
        if old is None:
            continue
        old_cells = dict(zip(before.header, old, strict=False))
        moved = tuple(
            (name, old_cells.get(name, ""), row[i]) for i, name in parts if old_cells.get(name, "") != row[i]
        )
        old_total = old_cells.get("total", "")
        if moved or old_total != row[total]:
            changes.append(ScoreChange(key, row[0], old_total, row[total], moved))
    return changes


def render_changes(changes: Sequence[ScoreChange]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "folder", "old total", "new total", "parts that moved"])
    for change in changes:
        moved = "; ".join(f"{part}: {old or '-'} -> {new or '-'}" for part, old, new in change.moved)
        cells = [change.student, change.folder, change.old_total, change.new_total, moved]
        writer.writerow([csv_cell(cell) for cell in cells])
    return buffer.getvalue()
