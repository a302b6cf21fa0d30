"""Workers write their students' files when they see the run's output folder, else the driver
does: the same bytes either way, and a run stopped mid-way keeps every finished student."""

from __future__ import annotations

import gc
import importlib.util
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from grader.batch import BatchOptions, LocalExecutor, run_batch, submission_folders
from grader.batch.executors import Chunk, InProcessExecutor
from grader.batch.output import LOCK_FILE
from grader.batch.plan import CHANGED, LINKED, MISSING, folder_digest, folder_fingerprint, why_not_in_place
from grader.batch.reading import SubmissionTask
from grader.batch.store import STORE_FILE, VerdictStore
from grader.batch.studentfiles import OUT_MARKER, mark_output, reachable_output, unmark_output
from grader.batch.worker import Graded, Prepared, WorkerSetup, grade_task
from grader.core.verdict import Verdict
from grader.loading import load_problem_set
from grader.reading import MAX_FILES, ship_folder
from grader.spec import ProblemSet

ROOT = Path(__file__).parent.parent
SHEETS = 12


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[ProblemSet, Path]:
    spec = importlib.util.spec_from_file_location("make_class", ROOT / "benchmarks" / "make_class.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    problem_file, class_folder = module.make_class(
        tmp_path_factory.mktemp("synthetic"), SHEETS, seed=5, parts=24
    )
    return load_problem_set(Path(problem_file)), Path(class_folder)


class Recording:
    """Grades on ``inner`` (with the setup changed by ``alter``) and keeps every result."""

    def __init__(self, inner: object, alter: dict[str, object] | None = None, stop_after: int | None = None):
        self.inner = inner
        self.alter = alter or {}
        self.stop_after = stop_after
        self.graded: list[Graded] = []

    def grade(self, setup: WorkerSetup, chunks: Iterable[Chunk]) -> Iterator[list[Graded]]:
        for count, chunk in enumerate(self.inner.grade(replace(setup, **self.alter), chunks)):  # type: ignore[attr-defined]
            if self.stop_after is not None and count == self.stop_after:
                raise RuntimeError("the driver crashed")
            self.graded.extend(chunk)
            yield chunk

    def close(self) -> None:
        """Nothing to let go of."""


def _files(out: Path) -> dict[str, bytes]:
    kept = (STORE_FILE, LOCK_FILE)
    return {
        p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file() and not p.name.startswith(kept)
    }


def test_files_written_by_the_workers_are_the_bytes_the_driver_writes(
    synthetic: tuple[ProblemSet, Path], tmp_path: Path
) -> None:
    spec, root = synthetic
    folders = submission_folders(root)
    workers = Recording(LocalExecutor(1))
    run_batch(spec, root, folders, BatchOptions(out=tmp_path / "workers", executor=workers, chunk_size=4))
    # A worker that reads another token (a folder of that name on its own machine) writes nothing.
    elsewhere = Recording(LocalExecutor(1), {"out_token": "another run's token"})
    run_batch(spec, root, folders, BatchOptions(out=tmp_path / "driver", executor=elsewhere, chunk_size=4))

    assert len(workers.graded) == len(elsewhere.graded) == SHEETS
    assert all(g.written and not g.artefacts for g in workers.graded), "the workers wrote every file"
    assert all(g.written is None and g.artefacts for g in elsewhere.graded), "the bytes came back"
    by_workers, by_driver = _files(tmp_path / "workers"), _files(tmp_path / "driver")
    assert len(by_workers) > 3 * SHEETS
    assert by_workers == by_driver
    assert OUT_MARKER not in by_workers, "the run's marker goes with the run"
    for name, data in by_workers.items():  # no path of the TA's machine in any file
        assert str(tmp_path).encode() not in data, name


def test_a_rerun_after_worker_written_files_keeps_them_all(
    synthetic: tuple[ProblemSet, Path], tmp_path: Path
) -> None:
    spec, root = synthetic
    out = tmp_path / "out"
    options = BatchOptions(out=out, executor=InProcessExecutor(), chunk_size=4)
    run_batch(spec, root, submission_folders(root), options)
    first = _files(out)
    again = run_batch(spec, root, submission_folders(root), options)
    assert again.regraded == 0, "the records the workers made show every file intact"
    assert _files(out) == first


def test_a_driver_stopped_mid_run_keeps_every_finished_student(
    synthetic: tuple[ProblemSet, Path], tmp_path: Path
) -> None:
    spec, root = synthetic
    out = tmp_path / "out"
    folders = submission_folders(root)
    stopping = Recording(InProcessExecutor(), stop_after=2)
    with pytest.raises(RuntimeError, match="the driver crashed"):
        run_batch(spec, root, folders, BatchOptions(out=out, executor=stopping, chunk_size=4))
    finished = {g.task.key for g in stopping.graded}
    assert len(finished) == 8
    store = VerdictStore(out / STORE_FILE)
    try:
        stored = store.submissions()
    finally:
        store.close()
    assert set(stored) == finished, "each student received is stored, with the files the worker wrote"
    for record in stored.values():
        assert record.artefacts and all((out / name).is_file() for name in record.artefacts)

    resumed = run_batch(spec, root, folders, BatchOptions(out=out, executor=InProcessExecutor()))
    assert resumed.regraded == SHEETS - len(finished)
    clean = tmp_path / "clean"
    run_batch(spec, root, folders, BatchOptions(out=clean, executor=InProcessExecutor(), use_cache=False))
    assert _files(out) == _files(clean)


def test_a_worker_writes_only_where_it_reads_the_runs_token(tmp_path: Path) -> None:
    assert reachable_output(str(tmp_path), "") is None
    assert reachable_output(None, "token") is None
    assert reachable_output(str(tmp_path), "token") is None, "no marker: not the driver's folder"
    token = mark_output(tmp_path)
    assert reachable_output(str(tmp_path), token) == tmp_path
    assert reachable_output(str(tmp_path), "an earlier run's token") is None
    assert reachable_output(str(tmp_path / "elsewhere"), token) is None
    unmark_output(tmp_path)
    assert reachable_output(str(tmp_path), token) is None


def test_the_reports_a_run_keeps_are_out_of_the_collectors_way_until_it_ends(
    synthetic: tuple[ProblemSet, Path], tmp_path: Path
) -> None:
    frozen: list[int] = []
    run_batch(
        synthetic[0],
        synthetic[1],
        submission_folders(synthetic[1]),
        BatchOptions(out=tmp_path / "out", executor=InProcessExecutor(), chunk_size=4),
        lambda done, total: frozen.append(gc.get_freeze_count()),
    )
    assert frozen[-1] > frozen[0] > 0, "the plan, then each chunk received, frozen as it comes"
    assert gc.get_freeze_count() == 0, "given back to the collector at the end of the run"


def test_a_result_goes_back_without_the_verdicts_and_files_sent_to_its_worker(
    synthetic: tuple[ProblemSet, Path],
) -> None:
    spec, root = synthetic
    folder = submission_folders(root)[0]
    prior = {("a part's digest", "an answer's digest"): Verdict.error("stored before")}
    task = SubmissionTask(folder.name, str(folder), folder.name, "digest", prior, files=ship_folder(folder))
    graded = grade_task(Prepared(WorkerSetup(spec, False, "version", watchdog=False)), task)
    assert graded.task == replace(task, prior={}, files=None)
    assert graded.report.parts and graded.artefacts, "graded, the files' bytes sent back (no --out)"


def test_a_worker_reads_a_folder_in_place_only_where_it_sees_what_the_driver_saw(
    tmp_path: Path,
) -> None:
    """A Dask worker on the driver's disk reads a folder where it is; a folder that differs,
    is missing, is a link or holds a link (which resolves against each machine's own files)
    travels with its files instead, and the worker says why. What the driver sends is the
    folder's fingerprint (names, sizes, times: no file opened); its worker takes the content
    digest."""
    folder = tmp_path / "alice"
    folder.mkdir()
    (folder / "answers.yaml").write_text("answers:\n  params: 3\n")
    (folder / "scan.pdf").write_bytes(b"%PDF" + bytes(1000))
    seen = folder_fingerprint(folder)
    assert why_not_in_place(folder, seen) is None
    assert why_not_in_place(folder, "") == CHANGED  # not seen by the driver
    assert why_not_in_place(tmp_path / "bob", seen) == MISSING  # not on this worker's disk

    answers = folder / "answers.yaml"
    written = answers.stat().st_mtime_ns
    answers.write_text("answers:\n  params: 4\n")  # another copy: the same size, written later
    os.utime(answers, ns=(written, written + 1_000_000))  # (a clock's tick may be coarser than a write)
    assert why_not_in_place(folder, seen) == CHANGED
    seen = folder_fingerprint(folder)
    (folder / "scan.pdf").write_bytes(b"%PDF" + bytes(1001))  # another size
    os.utime(folder / "scan.pdf", ns=(0, (folder / "answers.yaml").stat().st_mtime_ns))
    assert why_not_in_place(folder, seen) == CHANGED
    seen = folder_fingerprint(folder)
    (folder / "notes.md").write_text("")  # one more file
    assert why_not_in_place(folder, seen) == CHANGED

    for file in folder.iterdir():
        os.utime(file, ns=(0, 10**18))  # made long ago: a copy made now has other times
    copy = tmp_path / "copy" / "alice"
    shutil.copytree(folder, copy, copy_function=shutil.copyfile)  # copied without its times
    assert folder_fingerprint(copy) != folder_fingerprint(folder)
    shutil.rmtree(copy)
    shutil.copytree(folder, copy, copy_function=shutil.copy2)  # with its times: the same files
    assert why_not_in_place(copy, folder_fingerprint(folder)) is None
    assert folder_digest(copy) == folder_digest(folder)

    linked = tmp_path / "linked"
    linked.symlink_to(folder, target_is_directory=True)
    assert why_not_in_place(linked, folder_fingerprint(linked)) == LINKED
    (folder / "notes.md").unlink()
    (folder / "notes.md").symlink_to("/etc/hostname")
    assert why_not_in_place(folder, folder_fingerprint(folder)) == LINKED


def test_a_folder_too_large_to_list_whole_keeps_its_fingerprint_but_never_its_digest(tmp_path: Path) -> None:
    """Past MAX_FILES files the listing stops: the digest is new every time (never taken from the
    store), but a worker that sees the same folder still reads it in place."""
    folder = tmp_path / "alice"
    folder.mkdir()
    for number in range(MAX_FILES + 2):
        (folder / f"{number:05}.txt").write_text("x")
    assert folder_digest(folder) != folder_digest(folder)
    assert folder_fingerprint(folder) == folder_fingerprint(folder)
    assert why_not_in_place(folder, folder_fingerprint(folder)) is None
