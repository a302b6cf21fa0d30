"""Fingerprints taken ahead of a large Dask run's window by a helper process
(grader.batch.fingerprints): the same fingerprint the driver would take itself for every kind of
folder, in the order the chunks go, never more than a bounded number of folders ahead, and a run
that goes on, its driver taking the fingerprints itself, when the helper cannot start or stops."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from grader.batch import fingerprints
from grader.batch.fingerprints import FingerprintsAhead, fingerprinted_ahead, folder_fingerprint
from grader.batch.reading import ShippedFile, SubmissionTask


def _task(folder: Path) -> SubmissionTask:
    return SubmissionTask(folder.name, str(folder), folder.name, "")


def _chunks(tasks: list[SubmissionTask], size: int) -> list[list[SubmissionTask]]:
    return [tasks[start : start + size] for start in range(0, len(tasks), size)]


def _plain_folders(root: Path, count: int) -> list[Path]:
    folders = []
    for number in range(count):
        folder = root / f"student-{number:04d}"
        folder.mkdir(parents=True)
        (folder / "answers.yaml").write_text(f"answers: {{}}\n# {number}\n")
        folders.append(folder)
    return folders


def test_the_helper_s_fingerprint_of_every_kind_of_folder_is_the_driver_s(tmp_path: Path) -> None:
    """Nested files, links in and out of the folder or to nowhere, a pipe, names with a newline
    or bytes that are not UTF-8, an empty folder, a folder that is not there: the helper gives
    each exactly what folder_fingerprint gives in the driver."""
    kinds = {name: tmp_path / name for name in ("plain", "nested", "links", "pipe", "odd names", "empty")}
    for folder in kinds.values():
        folder.mkdir()
    (kinds["plain"] / "answers.yaml").write_text("answers: {q1: 1}\n")
    (kinds["nested"] / "figures" / "deep").mkdir(parents=True)
    (kinds["nested"] / "figures" / "deep" / "plot.png").write_bytes(b"\x89PNG" * 100)
    (kinds["nested"] / "main.tex").write_text("\\documentclass{article}")
    (kinds["links"] / "mine.yaml").write_text("answers: {}\n")
    (kinds["links"] / "inside").symlink_to("mine.yaml")
    (kinds["links"] / "outside").symlink_to("/etc/hostname")
    (kinds["links"] / "nowhere").symlink_to("no-such-file")
    os.mkfifo(kinds["pipe"] / "answers.yaml")
    (kinds["odd names"] / "line\nbreak.yaml").write_text("answers: {}\n")
    os.mkdir(os.fsencode(kinds["odd names"]) + b"/caf\xe9")  # not UTF-8
    folders = [*kinds.values(), tmp_path / "not there", Path(os.fsdecode(os.fsencode(tmp_path) + b"/\xff"))]
    folders[-1].mkdir()
    (folders[-1] / "answers.yaml").write_text("answers: {}\n")

    chunks = _chunks([_task(folder) for folder in folders], 3)
    given = [task for chunk in fingerprinted_ahead(iter(chunks), lambda: True) for task in chunk]

    assert [task.folder for task in given] == [str(folder) for folder in folders]  # in order
    assert [task.seen for task in given] == [folder_fingerprint(folder) for folder in folders]


def test_tasks_that_travel_with_their_files_or_were_fingerprinted_already_pass_as_they_are(
    tmp_path: Path,
) -> None:
    folders = _plain_folders(tmp_path, 3)
    shipped = replace(_task(folders[0]), files=(ShippedFile("answers.yaml", b"answers: {}\n", 12),))
    seen = replace(_task(folders[1]), seen="as the driver saw it earlier")
    chunk = [shipped, seen, _task(folders[2])]

    [given] = list(fingerprinted_ahead(iter([chunk]), lambda: True))

    assert given[:2] == [shipped, seen]
    assert given[2].seen == folder_fingerprint(folders[2])


def test_a_chunk_with_nothing_to_fingerprint_leaves_the_helper_in_step_for_the_next(tmp_path: Path) -> None:
    folders = _plain_folders(tmp_path, 6)
    shipped = [replace(_task(f), files=(ShippedFile("answers.yaml", b"", 0),)) for f in folders[:2]]
    chunks = [shipped, [_task(f) for f in folders[2:4]], [_task(f) for f in folders[4:]]]

    given = list(fingerprinted_ahead(iter(chunks), lambda: True, asked_ahead=1))

    assert given[0] == shipped
    assert [t.seen for c in given[1:] for t in c] == [folder_fingerprint(f) for f in folders[2:]]


def test_the_helper_runs_ahead_of_the_window_by_a_bounded_number_of_folders(tmp_path: Path) -> None:
    """The window gets a chunk only once the helper was asked for the chunks after it, never for
    more than ``asked_ahead`` folders it has not taken back (so the helper's answers always fit in
    its pipe and neither process waits on the other)."""
    tasks = [_task(folder) for folder in _plain_folders(tmp_path, 40)]
    pulled = 0

    def source() -> Iterator[list[SubmissionTask]]:
        nonlocal pulled
        for chunk in _chunks(tasks, 4):
            pulled += 1
            yield chunk

    ahead = fingerprinted_ahead(source(), lambda: True, asked_ahead=10)
    first = next(ahead)
    assert pulled == 3  # 12 folders asked: past 10, the first chunk goes
    rest = list(ahead)
    assert [t.seen for t in [*first, *(t for c in rest for t in c)]] == [
        folder_fingerprint(Path(t.folder)) for t in tasks
    ]


def test_a_large_class_goes_through_without_either_process_waiting_on_the_other(tmp_path: Path) -> None:
    """3,000 folders in chunks of 32, with the default look-ahead, taken in a thread so that a
    dead-lock would fail the test rather than hang it."""
    tasks = [_task(folder) for folder in _plain_folders(tmp_path, 3_000)]
    given: list[list[SubmissionTask]] = []
    worker = threading.Thread(
        target=lambda: given.extend(fingerprinted_ahead(iter(_chunks(tasks, 32)), lambda: True)), daemon=True
    )
    worker.start()
    worker.join(120)
    assert not worker.is_alive(), "the driver and its helper waited on each other"
    assert [t.seen for chunk in given for t in chunk] == [folder_fingerprint(Path(t.folder)) for t in tasks]


def test_once_the_workers_stop_reading_in_place_no_fingerprint_is_taken_ahead(tmp_path: Path) -> None:
    """A worker that does not see the class's disk turns the run to shipping folders: from then
    on chunks pass as they are (the window ships them; no fingerprint is wanted)."""
    tasks = [_task(folder) for folder in _plain_folders(tmp_path, 12)]
    in_place = [True]
    given = []
    for chunk in fingerprinted_ahead(iter(_chunks(tasks, 2)), lambda: in_place[0], asked_ahead=2):
        given.append(chunk)
        in_place[0] = False
    assert given[0][0].seen == folder_fingerprint(Path(tasks[0].folder))
    assert [task.seen for chunk in given[2:] for task in chunk] == [""] * 8
    assert [task.key for chunk in given for task in chunk] == [task.key for task in tasks]


@pytest.fixture
def helpers(monkeypatch: pytest.MonkeyPatch) -> list[FingerprintsAhead]:
    """Every helper started from now on, as it was started."""
    started: list[FingerprintsAhead] = []

    class Recorded(FingerprintsAhead):
        def __init__(self) -> None:
            super().__init__()
            started.append(self)

    monkeypatch.setattr(fingerprints, "FingerprintsAhead", Recorded)
    return started


def test_a_helper_that_cannot_start_or_stops_leaves_the_fingerprints_to_the_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, helpers: list[FingerprintsAhead]
) -> None:
    """No fingerprint is made up: tasks the helper did not answer for go without one, and the
    Dask window takes those itself (grader.batch.cluster._seen)."""
    tasks = [_task(folder) for folder in _plain_folders(tmp_path, 8)]
    ahead = fingerprinted_ahead(iter(_chunks(tasks, 2)), lambda: True, asked_ahead=2)
    first = next(ahead)
    assert first[0].seen == folder_fingerprint(Path(tasks[0].folder))
    assert helpers[0].process is not None
    helpers[0].process.kill()
    helpers[0].process.wait()
    rest = [task for chunk in ahead for task in chunk]
    assert [task.key for task in rest] == [task.key for task in tasks[2:]]
    assert rest[-1].seen == ""  # asked after the helper ended
    assert all(task.seen in ("", folder_fingerprint(Path(task.folder))) for task in rest)

    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python-here"))
    assert [t.seen for c in fingerprinted_ahead(iter(_chunks(tasks, 4)), lambda: True) for t in c] == [""] * 8


def test_the_helper_ends_with_the_run_even_when_the_run_stops_early(
    tmp_path: Path, helpers: list[FingerprintsAhead]
) -> None:
    tasks = [_task(folder) for folder in _plain_folders(tmp_path, 8)]
    ahead = fingerprinted_ahead(iter(_chunks(tasks, 2)), lambda: True, asked_ahead=2)
    next(ahead)
    ahead.close()  # the window stopped (an error, Ctrl-C)
    assert helpers[0].process is not None and helpers[0].process.returncode is not None
