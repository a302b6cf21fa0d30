"""A large class run stores what it takes in from a process of its own (grader.batch.storewriter):
the store it leaves is the one the driver's own thread leaves, entry for entry; the writer
stores every batch it was sent even when the driver is killed or Ctrl-C stops it; a writer
that cannot write stops the run with its reason."""

from __future__ import annotations

import contextlib
import os
import queue
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.batch import BatchOptions, LocalExecutor, run_batch, submission_folders
from grader.batch import runner as batch_runner
from grader.batch.blobs import PACKED, blob_digest, dumps, loads
from grader.batch.reading import SubmissionTask
from grader.batch.spool import SPOOL_FOLDER, Spool, write_spool
from grader.batch.store import STORE_FILE, VerdictStore
from grader.batch.storewriter import (
    BACKLOG,
    StoreBatch,
    StoreWriter,
    StoreWriterFailed,
    _merged,
    connect,
    write_batch,
)
from grader.batch.worker import Graded
from grader.core.report import Report
from grader.core.summary import summary_row
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


def _stored(out: Path) -> tuple[dict[str, tuple[object, ...]], dict[tuple[str, str], bytes]]:
    """Every stored submission's columns (its files' records by content digest only: a file's
    time and inode differ between two runs; its report unpickled: how a worker's pickle shares
    equal values depends on what that worker graded before) and every stored verdict."""
    db = sqlite3.connect(out / STORE_FILE)
    try:
        submissions = {}
        for folder, source, problem_set, answers, artefacts, made_from, report, row, digest in db.execute(
            "SELECT folder, source, problem_set, answers, artefacts, made_from, report, row, report_digest "
            "FROM submissions"
        ):
            records = {name: record.split(" ")[0] for name, record in yaml.safe_load(artefacts).items()}
            assert digest == blob_digest(report)
            submissions[folder] = (source, problem_set, answers, records, made_from, loads(report), row)
        chosen = db.execute("SELECT part, answer, verdict FROM verdicts")
        verdicts = {(part, answer): blob for part, answer, blob in chosen}
    finally:
        db.close()
    return submissions, verdicts


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if not p.name.startswith(STORE_FILE)}


def test_the_writer_process_stores_what_the_drivers_thread_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    problem_file, root = _class(tmp_path)
    spec = load_problem_set(problem_file)
    outs = {}
    sent: list[StoreBatch] = []
    real_send = StoreWriter.send
    monkeypatch.setattr(StoreWriter, "send", lambda self, batch: sent.append(batch) or real_send(self, batch))
    for name, threshold in (("thread", 10**9), ("process", 1)):
        monkeypatch.setattr(batch_runner, "STORE_PROCESS_FROM", threshold)
        started = []
        real = batch_runner.StoreWriter

        def counted(*args: object, real: type = real, started: list[object] = started) -> object:
            started.append(args)
            return real(*args)

        monkeypatch.setattr(batch_runner, "StoreWriter", counted)
        out = tmp_path / name
        result = run_batch(
            spec,
            root,
            submission_folders(root),
            BatchOptions(out=out, executor=LocalExecutor(2), chunk_size=3),
        )
        assert result.regraded == 24 and result.unstored == 0
        assert len(started) == (1 if name == "process" else 0)
        outs[name] = out
    # The workers, which write their students' files, left the store's entries in spool files
    # for the writer: the driver sent it the files' names and each folder's problem-set key.
    spooled = {folder for batch in sent for _, folders in batch[3] for folder in folders}
    assert spooled == {f"s{n:03d}" for n in range(24)}
    assert not [entry for batch in sent for entry in batch[2]], "no entry went through the driver"
    assert not (outs["process"] / SPOOL_FOLDER).exists(), "each spool file is removed once stored"
    assert _files(outs["process"]) == _files(outs["thread"]), "reports, grades.csv, dashboard: the same bytes"
    assert _stored(outs["process"]) == _stored(outs["thread"]), "the same entries in the store"
    dashboard = (outs["process"] / "index.html").stat().st_mtime_ns
    again = run_batch(spec, root, submission_folders(root), BatchOptions(out=outs["process"]))
    assert again.regraded == 0 and again.untrusted == 0, "every entry the writer sealed is trusted"
    # The dashboard, made while the writer stored its last batches, is recorded as made from them.
    assert (outs["process"] / "index.html").stat().st_mtime_ns == dashboard


def _batch(number: int) -> StoreBatch:
    fields = (f"s{number}", "source", "set", "{}", "{}", "", b"report", b"row", "digest")
    return [f"failed{number}"], [(f"part{number}", "answer", b"verdict")], [fields], [(f"{number:032x}", {})]


def test_the_batches_read_while_a_transaction_runs_go_in_the_next_one_and_none_is_lost() -> None:
    batches: queue.Queue[Any] = queue.Queue(BACKLOG)
    for number in range(3):
        batches.put(_batch(number))
    merged = _merged(batches)
    assert merged is not None
    assert merged[0] == ["failed0", "failed1", "failed2"]
    assert [fields[0] for fields in merged[2]] == ["s0", "s1", "s2"]  # in the order sent
    batches.put(_batch(3))
    batches.put(None)  # the driver's input ended: the last batch is still stored
    assert _merged(batches) == _batch(3)
    assert _merged(batches) is None


def test_a_batch_that_comes_soon_after_goes_in_the_same_transaction_a_later_one_in_the_next() -> None:
    batches: queue.Queue[Any] = queue.Queue(BACKLOG)
    batches.put(_batch(0))
    threading.Timer(0.05, batches.put, (_batch(1),)).start()  # the driver sends the next chunk
    merged = _merged(batches, wait=2.0)
    assert merged is not None and [fields[0] for fields in merged[2]] == ["s0", "s1"]

    batches.put(_batch(2))
    later = threading.Timer(0.3, batches.put, (_batch(3),))
    later.start()
    assert _merged(batches, wait=0.05) == _batch(2), "not held past its wait"
    later.join()
    assert _merged(batches, wait=0.05) == _batch(3)


DRIVER = """
import os, signal, sys, time
from pathlib import Path
from typing import Any
from grader.batch.store import VerdictStore
from grader.batch.blobs import dumps
from grader.batch.storewriter import StoreWriter
from grader.core.report import Report
from grader.core.summary import summary_row

path, how = Path(sys.argv[1]), sys.argv[2]
store = VerdictStore(path)
writer = StoreWriter(path, store.key)
report = b"r" * 20_000
row = dumps(summary_row(Report("demo", "ann", [])))
for chunk in range(40):
    verdicts = [(f"part{chunk}", f"answer{n}", b"v" * 500) for n in range(4)]
    submissions = [
        (f"s{chunk:03d}-{n}", "src", "ps", "{}", "{}", "made", report, row, "digest") for n in range(16)
    ]
    writer.send(([], verdicts, submissions, []))
print(writer.process.pid, flush=True)
if how == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
os.killpg(os.getpgid(0), signal.SIGINT)  # Ctrl-C: the driver and its writer alike
time.sleep(30)
"""


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return True
    return state in ("Z", "X")


@pytest.mark.parametrize("how", ["kill", "interrupt"])
def test_the_writer_stores_every_batch_it_was_sent_when_the_driver_stops(tmp_path: Path, how: str) -> None:
    path = tmp_path / STORE_FILE
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(DRIVER), encoding="utf-8")
    driver = subprocess.run(
        [sys.executable, str(script), str(path), how],
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,
    )
    assert driver.returncode != 0, "the driver was stopped"
    writer = int(driver.stdout.split()[0])
    deadline = time.monotonic() + 60
    while not _gone(writer) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(writer), "the writer ends once it has written what it read"
    store = VerdictStore(path)
    try:
        assert store.counts() == (160, 640), "every verdict and every submission sent is stored"
        assert len(store.submissions()) == 640 and store.rejected == 0, "each one sealed"
    finally:
        store.close()


def test_a_writer_that_cannot_write_says_why(tmp_path: Path) -> None:
    path = tmp_path / STORE_FILE
    store = VerdictStore(path)
    db = sqlite3.connect(path)
    db.execute("DROP TABLE submissions")
    db.commit()
    db.close()
    writer = StoreWriter(path, store.key)
    writer.send(([], [], [("s1", "src", "ps", "{}", "{}", "made", b"r", b"w", "d")], []))
    with pytest.raises(StoreWriterFailed, match="no such table: submissions"):
        for _ in range(200):  # the writer stops at the first batch: sending fails, or closing says so
            writer.send(([], [], [], []))
            time.sleep(0.005)
        writer.close()
    store.close()
    assert isinstance(StoreWriterFailed("x"), sqlite3.Error), "reported as a store failure (storage_failure)"


def test_a_run_stopped_by_its_own_error_still_has_what_it_sent_stored(tmp_path: Path) -> None:
    path = tmp_path / STORE_FILE
    store = VerdictStore(path)
    writer = StoreWriter(path, store.key)
    writer.send(([], [], [("s1", "src", "ps", "{}", "{}", "made", b"r", b"w", "d")], []))
    writer.abandon()  # raises nothing of the writer's: the run's own error is the one raised
    assert writer.process.returncode == 0
    assert store.counts() == (0, 1)
    store.close()


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


def test_a_verdict_decided_by_several_workers_is_sent_to_be_stored_once(tmp_path: Path) -> None:
    store = VerdictStore(tmp_path / STORE_FILE)
    try:
        task = SubmissionTask("s1", str(tmp_path / "s1"), "s1", "digest")
        shared, own = ("part", "answer"), ("part", "other")
        batches = [
            store.batch_of(
                [(Graded(task, Report("demo", "s1", []), {}, fresh=fresh), "src", "ps", {})], once=True
            )
            for fresh in ({shared: Verdict.correct()}, {shared: Verdict.correct(), own: Verdict.correct()})
        ]
    finally:
        store.close()
    sent = [[(part, answer) for part, answer, _ in verdicts] for _, verdicts, _, _ in batches]
    assert sent == [[shared], [own]]


def test_what_the_writer_stored_is_in_the_stores_file_when_it_ends_not_only_in_its_log(
    tmp_path: Path,
) -> None:
    path = tmp_path / STORE_FILE
    store = VerdictStore(path)  # the driver's connection stays open, as in a run
    writer = StoreWriter(path, store.key)
    for number in range(20):
        writer.send(_batch(number))
    writer.close()
    assert Path(f"{path}-wal").stat().st_size == 0, "the log emptied by the writer, not left to the driver"
    copy = tmp_path / "copy.sqlite3"
    copy.write_bytes(path.read_bytes())  # the file alone, without its write-ahead log
    db = sqlite3.connect(copy)
    try:
        assert db.execute("SELECT COUNT(*) FROM submissions").fetchone() == (20,)
        assert db.execute("SELECT COUNT(*) FROM verdicts").fetchone() == (20,)
    finally:
        db.close()
        store.close()


def test_the_log_is_copied_into_the_store_s_file_while_the_writer_runs_by_a_process_of_its_own(
    tmp_path: Path,
) -> None:
    """The checkpoints are a child process's (a core of their own, not the writer's), every
    quarter of a second: the store's file alone has what was committed before the run ends."""
    import psutil

    path = tmp_path / STORE_FILE
    store = VerdictStore(path)
    writer = StoreWriter(path, store.key)
    try:
        for number in range(20):
            writer.send(_batch(number))
        deadline = time.monotonic() + 20
        stored = 0
        while stored < 20 and time.monotonic() < deadline:
            time.sleep(0.3)
            copy = tmp_path / "copy.sqlite3"
            copy.write_bytes(path.read_bytes())  # the file alone, without its write-ahead log
            with contextlib.closing(sqlite3.connect(copy)) as db, contextlib.suppress(sqlite3.Error):
                stored = db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]  # no table yet: 0
        children = psutil.Process(writer.process.pid).children()
        assert [child.cmdline()[-2:] for child in children] == [["--checkpoints", str(path)]]
        assert stored == 20, "every committed batch in the store's file while the writer still runs"
    finally:
        writer.close()
        store.close()
    assert not psutil.Process(os.getpid()).children(recursive=True), "the checkpoints' process ended"


def test_a_writer_told_no_more_batches_come_stores_them_and_ends_before_the_driver_waits(
    tmp_path: Path,
) -> None:
    path = tmp_path / STORE_FILE
    store = VerdictStore(path)
    writer = StoreWriter(path, store.key)
    for number in range(5):
        writer.send(_batch(number))
    writer.end_input()  # the driver goes on to grades.csv and the dashboard
    writer.process.wait(timeout=60)  # the writer ends on its own, having stored them
    writer.close()
    try:
        assert store.counts() == (5, 5)
    finally:
        store.close()


def _entry(folder: str) -> tuple[str, str, str, str, str, bytes, bytes, str]:
    report = dumps(Report("demo", folder, []))
    row = dumps(summary_row(Report("demo", folder, [])))
    return (folder, "src", "{}", "{}", "made", report, row, blob_digest(report))


def test_the_writer_stores_a_spool_file_only_as_its_worker_sealed_it(tmp_path: Path) -> None:
    """A spool file missing, altered, renamed or sealed with another run's key stores nothing:
    its folders' earlier entries are removed (they are graded again) and counted; an entry of a
    folder the driver did not take in from that file is not stored; a file stored is removed."""
    path = tmp_path / STORE_FILE
    VerdictStore(path).close()
    key, spool = b"k" * 32, Spool(tmp_path / SPOOL_FOLDER, b"r" * 32)
    db = connect(path)
    earlier = [(f, "old", "ps", "{}", "{}", "made", b"r", b"w", "d") for f in ("a", "b", "c", "d", "e")]
    write_batch(db, key, set(), ([], [], earlier, []))
    good = write_spool(spool.folder, spool.key, [("part", "answer", b"v")], [_entry("a"), _entry("x")])
    altered = write_spool(spool.folder, spool.key, [], [_entry("b")])
    data = (spool.folder / f"{altered}.entries").read_bytes()
    (spool.folder / f"{altered}.entries").write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    foreign = write_spool(spool.folder, b"o" * 32, [], [_entry("c")])
    renamed = write_spool(spool.folder, spool.key, [], [_entry("d")])
    (spool.folder / f"{renamed}.entries").rename(spool.folder / f"{'0' * 32}.entries")
    spooled = [(good, {"a": "ps-a"}), (altered, {"b": "ps"}), (foreign, {"c": "ps"}), ("0" * 32, {"d": "ps"})]
    spooled.append(("f" * 32, {"e": "ps"}))  # never written
    unstored = write_batch(db, key, set(), ([], [], [], spooled), spool)
    db.close()
    assert unstored == 4
    store = VerdictStore(path, key)
    try:
        assert set(store.submissions()) == {"a"}, "b to e removed (graded again); x never taken in"
        assert store.submissions()["a"].problem_set == "ps-a", "the driver's problem-set key"
        assert store.report("a") == Report("demo", "a", []) and store.counts()[0] == 1
    finally:
        store.close()
    assert not (spool.folder / f"{good}.entries").exists(), "a file stored is removed"
