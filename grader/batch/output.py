"""What a batch leaves in ``--out``: each student's files, ``grades.csv`` and ``changes.csv``.

Files are written atomically and only when their content changed. ``grades.csv``
is one row per submission folder: rows of folders this run did not grade are
kept from the gradebook that was there, so grading one folder adds or replaces
its row and never erases the others. ``changes.csv`` lists the students whose
score differs from that earlier gradebook, and the parts that moved.

One run at a time writes an output folder: two runs on the same ``--out`` (a TA grading
one late folder while the class batch runs) would each rewrite ``grades.csv`` from the
gradebook they read when they started, and the later one would drop the row the other
wrote. So a run holds ``<out>/.grader.lock`` while it writes there; a second run waits
for it, says that it waits, and then merges its rows into the gradebook the first one left.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import filelock

from grader.batch.studentfiles import (
    CHANGES,
    DASHBOARD,
    GRADEBOOK,
    PREVIOUS_GRADEBOOK,
    content_digest,
    file_identity,
)
from grader.core.files import write_atomic, write_if_changed
from grader.core.summary import SheetRow
from grader.reporting.escape import csv_cell
from grader.reporting.handmarks import HAND_REVIEW_FLAG
from grader.reporting.reporters import gradebook_cells, gradebook_header, gradebook_points, name_clashes

LOCK_FILE = ".grader.lock"


@contextlib.contextmanager
def output_lock(out: Path | None, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold ``out``'s lock (waiting for another run that holds it); nothing without ``out``."""
    if out is None:
        yield
        return
    out.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(out / LOCK_FILE)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        if on_wait is not None:
            on_wait(f"waiting for another grader run that is writing to {out} to finish")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


@dataclass(frozen=True)
class Gradebook:
    header: list[str]
    points: list[str]  # the points-possible row
    rows: list[list[str]]

    def by_folder(self) -> dict[str, list[str]]:
        """Rows by submission folder (by student for a gradebook without a folder column)."""
        index = self.header.index("folder") if "folder" in self.header else 0
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

    def write_gradebook(self, rows: GradebookRows) -> Gradebook | None:
        """``grades.csv``: this run's rows and the earlier rows of the folders it did not grade."""
        merged = rows.merged(self.before)
        if merged is not None:
            write_if_changed(self.path / GRADEBOOK, render_gradebook(merged))
        return merged

    def has_dashboard(self) -> bool:
        return (self.path / DASHBOARD).is_file()

    def finish(self, rows: GradebookRows) -> list[ScoreChange]:
        """The final gradebook and changes.csv; the run is then complete."""
        merged = self.write_gradebook(rows)
        changes = score_changes(self.before, merged) if merged is not None and self.before else []
        write_if_changed(self.path / CHANGES, render_changes(changes))
        (self.path / PREVIOUS_GRADEBOOK).unlink(missing_ok=True)
        return changes


class GradebookRows:
    """``grades.csv`` built up from summary rows: the CSV reporter's rows merged with the
    earlier gradebook."""

    def __init__(self) -> None:
        self.rows: dict[str, SheetRow] = {}  # by folder

    def add(self, row: SheetRow) -> None:
        """Take a row (in place of the folder's earlier one)."""
        self.rows[row.folder or ""] = row

    def merged(self, before: Gradebook | None) -> Gradebook | None:
        """This run's rows, plus the earlier rows of every folder it did not grade."""
        if not self.rows:
            return before  # as it was
        rows = list(self.rows.values())
        first = min(rows, key=lambda r: (r.student.casefold(), r.student, r.folder or ""))
        header, points = gradebook_header(first), gradebook_points(first)
        graded = {csv_cell(row.folder or "") for row in rows}
        kept = []
        if before is not None:
            for key, old in before.by_folder().items():
                if key not in graded:
                    kept.append(_remapped(old, before.header, header))
        everyone = [(csv_cell(r.student), csv_cell(r.folder or "")) for r in rows]
        everyone += [(row[0], row[1]) for row in kept]
        clashes = name_clashes(everyone)
        fresh_clashes = name_clashes([(r.student, r.folder or "") for r in rows]) if clashes else {}
        flags = header.index("flags")
        for row in kept:
            row[flags] = _flags(clashes.get(row[1], ""), row[flags])
        fresh = [_final_cells(row, first.ids, fresh_clashes, clashes) for row in rows]
        ordered = sorted([*fresh, *kept], key=lambda row: (row[0].casefold(), row[0], row[1]))
        return Gradebook(header, points, ordered)


def _final_cells(
    row: SheetRow, part_ids: Sequence[str], fresh_clashes: dict[str, str], clashes: dict[str, str]
) -> list[str]:
    """A row's cells as the gradebook writes them: the CSV reporter's, the flags recomputed
    over every row."""
    cells = gradebook_cells(row, part_ids, fresh_clashes.get(row.folder or "", ""))
    cells[-1] = csv_cell(_flags(clashes.get(cells[1], ""), cells[-1]))
    return cells


def _remapped(row: list[str], old_header: list[str], new_header: list[str]) -> list[str]:
    """An earlier row laid out in this run's columns (by column name; absent cells empty)."""
    cells = dict(zip(old_header, row, strict=False))
    if "folder" not in cells:  # a gradebook written before folders were a column
        cells["folder"] = cells.get("student", "")
    return [cells.get(name, "") for name in new_header]


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
