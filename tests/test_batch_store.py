"""The driver stores what it takes in, one transaction a chunk: reports compressed and read back
whole, a verdict many workers decided stored once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from grader.batch import BatchOptions, LocalExecutor, run_batch, submission_folders
from grader.batch.blobs import PACKED, dumps, loads
from grader.batch.reading import SubmissionTask
from grader.batch.store import STORE_FILE, VerdictStore
from grader.batch.worker import Graded
from grader.core.report import Report
from grader.core.verdict import Verdict
from grader.loading import load_problem_set
from tests.small_class import small_class, three_part_problems

PROBLEMS = three_part_problems("writer-demo", "Writer demo")

GIVEN = [
    {"q1": "x + x", "q2": "A proof.", "q3": "x*x"},
    {"q1": "2x +", "q2": "Another proof.", "q3": "x^3"},
    {"q1": "3*x", "q3": "x**2 + 0"},
    {},
]


def _class(tmp_path: Path, sheets: int = 24) -> tuple[Path, Path]:
    return small_class(tmp_path, PROBLEMS, GIVEN, sheets, "writer-demo")


def test_the_store_keeps_reports_compressed_and_reads_them_back_whole(tmp_path: Path) -> None:
    """A large class's storing is bounded by the bytes it writes: each report is kept
    compressed (a 45-part report: a third of its pickle), and read back as the report the run made."""
    problem_file, root = _class(tmp_path)
    spec = load_problem_set(problem_file)
    out = tmp_path / "out"
    result = run_batch(spec, root, submission_folders(root), BatchOptions(out=out, executor=LocalExecutor(2)))
    db = sqlite3.connect(out / STORE_FILE)
    try:
        blobs = dict(db.execute("SELECT folder, report FROM submissions"))
    finally:
        db.close()
    assert sorted(blobs) == sorted(row.folder for row in result.rows)
    for folder, blob in blobs.items():
        report = loads(blob)
        assert report is not None and report.folder == folder
        assert blob.startswith(PACKED) and len(blob) < len(dumps(report))
    store = VerdictStore(out / STORE_FILE)
    try:
        assert [store.report(row.folder or "") for row in result.rows] == result.reports
    finally:
        store.close()


def test_a_verdict_decided_by_several_workers_is_stored_once(tmp_path: Path) -> None:
    store = VerdictStore(tmp_path / STORE_FILE)
    written: list[list[tuple[str, str]]] = []
    try:
        task = SubmissionTask("s1", str(tmp_path / "s1"), "s1", "digest")
        shared, own = ("part", "answer"), ("part", "other")
        for fresh in ({shared: Verdict.correct()}, {shared: Verdict.correct(), own: Verdict.correct()}):
            before = set(store.verdict_blobs([shared, own]))
            store.save([(Graded(task, Report("demo", "s1", []), {}, fresh=fresh), "src", "ps", {})])
            written.append(sorted(set(store.verdict_blobs([shared, own])) - before))
    finally:
        store.close()
    assert written == [[shared], [own]]
