"""A class run builds grades.csv and the dashboard from each sheet's summary row, never from
the whole reports: what it writes is what the reports give, byte for byte, and a store
written before rows existed is migrated without losing a verdict."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import yaml

from grader.batch import BatchOptions, LocalExecutor, run_batch, submission_folders
from grader.batch.executors import Chunk
from grader.batch.output import Gradebook, GradebookRows, parse_gradebook, render_gradebook
from grader.batch.store import STORE_FILE, VerdictStore
from grader.batch.worker import Graded, WorkerSetup, failed_report
from grader.core.integrity import seal
from grader.core.report import Report
from grader.core.summary import RowMaker, summary_row
from grader.core.verdict import Status, Verdict
from grader.hand import load_hand_grades
from grader.loading import load_problem_set
from grader.reporting.dashboard import render_dashboard
from tests.small_class import three_part_problems

PROBLEMS = three_part_problems("rows-demo", "Rows demo")

ANSWERS = {
    "alice": {"q1": "x + x", "q2": "A proof.", "q3": "x*x"},
    "bob": {"q1": "2x +", "q2": "Another proof.", "q3": "x^3"},
    "carol": {"q1": "3*x", "q2": "Trivial.", "q3": "x**2 + 0"},
    "dave": {"q1": "(((", "q3": "2*x"},
    "erin": {},
    "fred": {"q1": "3*x", "q3": "x^3"},
}

HAND = """\
- {student: alice, part: q2, points: 4, by: ta-kim}
- {student: bob, part: q1, points: 2, reason: "a slip", by: ta-lee}
- {student: bob, part: q2, points: 1.5, by: ta-lee}
"""


def _course(tmp_path: Path) -> tuple[Path, Path, Path]:
    problem_file = tmp_path / "rows-demo.yaml"
    problem_file.write_text(PROBLEMS, encoding="utf-8")
    root = tmp_path / "class"
    for student, given in ANSWERS.items():
        (root / student).mkdir(parents=True)
        (root / student / "answers.yaml").write_text(yaml.safe_dump(given), encoding="utf-8")
    (root / "gina").mkdir()
    (root / "gina" / "answers.yaml").write_text("q1: [unclosed\n", encoding="utf-8")
    (root / "same-name").mkdir()  # gives the name of another folder: flagged in grades.csv
    (root / "same-name" / "answers.yaml").write_text("student: alice\nq1: 2*x\n", encoding="utf-8")
    hand = tmp_path / "hand.yaml"
    hand.write_text(HAND, encoding="utf-8")
    return problem_file, root, hand


class _FailingOne:
    """A pool whose worker for ``fred`` dies: his row is an error row made by the driver."""

    def __init__(self) -> None:
        self.inner = LocalExecutor(2)

    def grade(self, setup: WorkerSetup, chunks: Iterable[Chunk]) -> Iterator[list[Graded]]:
        for chunk in self.inner.grade(setup, chunks):
            yield [
                failed_report(setup.spec, g.task, "the worker was killed", False)
                if g.task.key == "fred"
                else g
                for g in chunk
            ]

    def close(self) -> None:
        """Nothing kept."""


def merged_gradebook(before: Gradebook | None, reports: Sequence[Report]) -> Gradebook | None:
    """This run's rows, plus the earlier rows of every folder it did not grade."""
    rows = GradebookRows()
    maker = RowMaker()
    for report in reports:
        rows.add(maker.row(report))
    return rows.merged(before)


def test_grades_csv_and_the_dashboard_from_rows_are_those_the_reports_give(tmp_path: Path) -> None:
    problem_file, root, hand_file = _course(tmp_path)
    spec = load_problem_set(problem_file)
    hand = load_hand_grades(hand_file, spec).by_folder()
    out = tmp_path / "out"
    out.mkdir()
    (out / "grades.csv").write_text("student,folder,q1,total,flags\npoints possible,,2,9,\nzed,gone,1,1,\n")
    options = BatchOptions(out=out, executor=_FailingOne(), chunk_size=1, hand=hand)
    result = run_batch(spec, root, submission_folders(root), options)

    reports = result.reports  # read back from the store: the run itself read rows only
    statuses = {p.status for r in reports for p in r.parts}
    assert {Status.CORRECT, Status.INCORRECT, Status.MISSING, Status.INVALID, Status.MANUAL} <= statuses
    assert Status.ERROR in statuses and any(r.error for r in reports)
    assert any(p.hand is not None and p.hand.overrides for r in reports for p in r.parts)
    assert [summary_row(r) for r in reports] == result.rows

    pages = [f"{r.folder}.html" for r in reports]
    assert (out / "index.html").read_text() == render_dashboard(reports, spec=spec, pages=pages)
    before = parse_gradebook("student,folder,q1,total,flags\npoints possible,,2,9,\nzed,gone,1,1,\n")
    book = merged_gradebook(before, reports)
    assert book is not None
    written = (out / "grades.csv").read_text()
    assert written == render_gradebook(book)
    assert "zed,gone," in written and "name 'alice' also given by folder" in written

    again = run_batch(spec, root, submission_folders(root), BatchOptions(out=out, hand=hand))
    assert again.regraded == 1, "only the failed submission is graded again"
    unchanged = [line for line in written.splitlines() if not line.startswith("fred,")]
    assert [
        line for line in (out / "grades.csv").read_text().splitlines() if not line.startswith("fred,")
    ] == (unchanged), "the stored rows give the same lines"


def test_a_store_of_pickles_is_started_anew_and_its_sheets_regraded(tmp_path: Path) -> None:
    """A store an older grader wrote (schema 4: pickled entries, sealed with this store's own
    key) is never read: its verdicts and sheets are gone, and the class is graded again."""
    problem_file, root, _ = _course(tmp_path)
    spec = load_problem_set(problem_file)
    out = tmp_path / "out"
    run_batch(spec, root, submission_folders(root), BatchOptions(out=out))
    path = out / STORE_FILE
    store = VerdictStore(path)
    key = store.key
    store.close()
    from grader.service.blobs import dumps

    verdict = dumps(Verdict.correct("stored by an older grader"))
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '4' WHERE key = 'schema'")
    db.execute("INSERT INTO verdicts VALUES (?, ?, ?, ?)", ("p", "a", verdict, seal(key, "p", "a", verdict)))
    db.commit()
    db.close()

    store = VerdictStore(path)
    try:
        assert store.meta("schema") == "5" and store.counts() == (0, 0)
        assert store.verdicts([("p", "a")]) == {}
    finally:
        store.close()
    again = run_batch(spec, root, submission_folders(root), BatchOptions(out=out))
    assert again.regraded == len(submission_folders(root)) == 8
