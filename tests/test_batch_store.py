"""The driver stores what it takes in, one transaction a chunk: JSON that sqlite3 reads, sealed,
read back whole, a verdict many workers decided stored once."""

from __future__ import annotations

import json
import math
import sqlite3
import subprocess
from pathlib import Path

from grader.batch import BatchOptions, LocalExecutor, run_batch, submission_folders
from grader.batch.reading import SubmissionTask
from grader.batch.store import STORE_FILE, VerdictStore
from grader.batch.worker import Graded, StoreBlobs
from grader.core.plainjson import packed, unpacked
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


def test_the_store_keeps_json_that_sqlite3_reads_sealed_and_read_back_whole(tmp_path: Path) -> None:
    """Verdicts, reports and rows are JSON (no pickle) that the ``sqlite3`` command shows, each
    entry sealed: one edited by hand is never served, and the rest read back as the run made them."""
    problem_file, root = _class(tmp_path)
    spec = load_problem_set(problem_file)
    out = tmp_path / "out"
    result = run_batch(spec, root, submission_folders(root), BatchOptions(out=out, executor=LocalExecutor(2)))
    shown = subprocess.run(
        ["sqlite3", "-json", str(out / STORE_FILE), "SELECT folder, report, row FROM submissions"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    entries = {entry["folder"]: entry for entry in json.loads(shown)}
    assert sorted(entries) == sorted(row.folder for row in result.rows)
    for folder, entry in entries.items():
        report = json.loads(entry["report"])
        assert report["$class"] == "grader.core.report:Report" and report["fields"]["folder"] == folder
        assert json.loads(entry["row"])["$class"] == "grader.core.summary:SheetRow"
    verdicts = subprocess.run(
        ["sqlite3", str(out / STORE_FILE), "SELECT verdict FROM verdicts"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert verdicts and all(json.loads(v)["$class"] == "grader.core.verdict:Verdict" for v in verdicts)
    store = VerdictStore(out / STORE_FILE)
    try:
        assert [store.report(row.folder or "") for row in result.rows] == result.reports
    finally:
        store.close()

    db = sqlite3.connect(out / STORE_FILE)
    db.execute("UPDATE verdicts SET verdict = replace(verdict, '\"status\"', '\"status\" ')")
    db.execute("UPDATE submissions SET row = replace(row, 'SheetRow', 'SheetRow ') WHERE folder = 's000'")
    db.commit()
    db.close()
    store = VerdictStore(out / STORE_FILE)
    try:
        assert "s000" not in store.submissions() and len(store.submissions()) == len(entries) - 1
        keys = [
            (part, answer)
            for part, answer in sqlite3.connect(out / STORE_FILE).execute("SELECT part, answer FROM verdicts")
        ]
        assert store.verdicts(keys) == {} and store.rejected > 0
    finally:
        store.close()


def test_a_stored_value_names_grader_s_data_classes_only() -> None:
    """What the store reads back builds grader's data classes, enums and plain values and
    nothing else: an entry naming any other class reads as nothing (decided again)."""
    verdict = Verdict.partial(0.5, "half", outputs={"y": (1, 2.5, float("inf"), 10**5000, {3: "x"})})
    assert unpacked(packed(verdict)) == verdict
    for other in (
        "os:system",
        "grader.batch.store:VerdictStore",
        "grader.core.verdict:Status",
        "builtins:eval",
    ):
        assert unpacked(json.dumps({"$class": other, "fields": {}})) is None
        assert unpacked(json.dumps({"$enum": other, "name": "x"})) is None


def test_a_plot_s_floats_are_kept_as_their_bytes_and_read_back_bit_for_bit() -> None:
    """A tuple of many floats (a plot's coordinates) is kept as its IEEE 754 bytes: every float,
    -0.0, infinities and NaN included, reads back as it was; a short tuple stays a list of
    numbers; a damaged entry reads as nothing, never as other numbers."""
    coordinates = (-3.0, -0.30000000000000027, -0.0, 0.0, 1e-310, float("inf"), float("-inf"), 2.5)
    verdict = Verdict.partial(0.5, "half", outputs={"xs": coordinates, "short": (0.1, 0.2)})
    text = packed(verdict)
    assert "$floats" in text and '{"$tuple":[0.1,0.2]}' in text
    back = unpacked(text).outputs
    assert back["short"] == (0.1, 0.2)
    assert [math.copysign(1, x) for x in back["xs"]] == [math.copysign(1, x) for x in coordinates]
    assert back["xs"] == coordinates and type(back["xs"]) is tuple
    with_nan = unpacked(packed(Verdict.partial(0.5, "half", outputs={"xs": (math.nan,) * 8}))).outputs
    assert all(math.isnan(x) for x in with_nan["xs"])
    encoded = json.loads(text)["fields"]["outputs"]["xs"]["$floats"]
    for damaged in (encoded[:-4], encoded[:-1] + "!", "AAAA"):
        assert unpacked(text.replace(encoded, damaged)) is None


def test_a_verdict_decided_by_several_workers_is_stored_once(tmp_path: Path) -> None:
    store = VerdictStore(tmp_path / STORE_FILE)
    written: list[list[tuple[str, str]]] = []
    try:
        task = SubmissionTask("s1", str(tmp_path / "s1"), "s1", "digest")
        shared, own = ("part", "answer"), ("part", "other")
        for fresh in ({shared: Verdict.correct()}, {shared: Verdict.correct(), own: Verdict.correct()}):
            before = set(store.verdict_blobs([shared, own]))
            verdicts = {key: packed(verdict) for key, verdict in fresh.items()}
            blobs = StoreBlobs(packed(Report("demo", "s1", [])), "{}", "digest", "{}")
            store.save([(Graded(task, None, {}, verdicts, blobs=blobs), "src", "ps", {})])
            written.append(sorted(set(store.verdict_blobs([shared, own])) - before))
    finally:
        store.close()
    assert written == [[shared], [own]]
