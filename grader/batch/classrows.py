"""The class's summary rows as a run gathers them, and the reports read back where wanted.

A run keeps one summary row per sheet (grader.core.summary), never the reports: a row
received from a worker is tallied for the dashboard as it comes, while the workers grade;
a row read from the store waits until the gradebook or the dashboard needs it (an
unchanged re-run writes no dashboard). A whole report is read from the verdict store only
when something asks for it (the terminal table, an export, hand grades): :class:`ReportReader`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from grader.batch.output import GradebookRows
from grader.batch.reading import SubmissionTask
from grader.batch.store import VerdictStore
from grader.batch.studentfiles import DASHBOARD
from grader.core.files import write_if_changed
from grader.core.report import Report
from grader.core.summary import SheetRow, summary_row
from grader.reporting.dashboard import dashboard_pieces, student_row
from grader.reporting.stats import ClassTally, parameter_stats
from grader.spec import ProblemSet


class ClassRows:
    """Each sheet's summary row, by submission folder, with what is made of it: the gradebook's
    rows, and the dashboard's tally of the rows as they come (by each one's index in the class:
    its wrong answers and TAs' grades tallied, its row of the students' table made)."""

    def __init__(self, tasks: Sequence[SubmissionTask]):
        self.index = {task.key: i for i, task in enumerate(tasks)}
        self.stems = [task.stem for task in tasks]
        self.rows: dict[str, SheetRow] = {}
        self.gradebook = GradebookRows()
        self.tally = ClassTally()
        self.students: dict[int, str] = {}  # each sheet's row of the dashboard's students' table

    def add(self, key: str, row: SheetRow, now: bool) -> None:
        """Keep the folder's row; ``now``: tally it at once (a row from a worker, taken in while
        the workers grade), else when the dashboard needs it."""
        self.rows[key] = row
        self.gradebook.add(row)
        if now:
            self._tally(self.index[key], row)

    def _tally(self, index: int, row: SheetRow) -> None:
        if index not in self.tally:  # a row tallied already is not tallied again
            self.tally.add(index, row)
            self.students[index] = student_row(row, f"{self.stems[index]}.html")

    def ordered(self, keys: Sequence[str]) -> list[SheetRow]:
        return [self.rows[key] for key in keys]

    def write_dashboard(self, out: Path, spec: ProblemSet) -> None:
        """``out/index.html``: the class dashboard of every row, in the class's order, linking
        each student's ``<stem>.html``."""
        for key, row in self.rows.items():
            self._tally(self.index[key], row)  # rows kept as read from the store
        students = [self.students[index] for index in range(len(self.students))]
        pages = [f"{stem}.html" for stem in self.stems]
        by_value = parameter_stats(self.tally.ordered())  # as ``grader stats`` shows them
        write_if_changed(
            out / DASHBOARD, dashboard_pieces(self.tally, pages, students, spec=spec, by_value=by_value)
        )


class ReportReader:
    """Whole reports, by folder: those a run kept (no store, or a failed submission's), the
    others read from the verdict store."""

    def __init__(self, kept: Mapping[str, Report], store: Path | None, rows: Mapping[str, SheetRow]):
        self.kept = kept
        self.store = store
        self.rows = rows  # the run's: a stored report read back must still be the one they summarise

    def read(self, keys: Sequence[str]) -> list[Report]:
        missing = [key for key in keys if key not in self.kept]
        found: dict[str, Report] = {}
        if missing:
            found = self._stored(missing)
        return [self.kept[key] if key in self.kept else found[key] for key in keys]

    def _stored(self, keys: Sequence[str]) -> dict[str, Report]:
        if self.store is None:
            raise RuntimeError(f"no report of {keys[0]} was kept, and no verdict store holds it")
        store = VerdictStore(self.store)
        try:
            found = {key: store.report(key) for key in keys}
        finally:
            store.close()
        lost = [
            key for key, report in found.items() if report is None or summary_row(report) != self.rows[key]
        ]
        if lost:
            raise RuntimeError(
                f"the verdict store {self.store} no longer holds this run's report of {lost[0]} "
                "(changed by another run?): grade again"
            )
        return {key: report for key, report in found.items() if report is not None}
