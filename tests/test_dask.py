"""Grading on a Dask cluster (LocalCluster, 2 worker processes): the same files as a local run,
a killed worker loses nothing, a lost scheduler leaves every finished report written."""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

from grader.batch import BatchOptions, LocalExecutor, run_batch, submission_folders  # noqa: E402
from grader.batch.cluster import DaskExecutor, executor_for  # noqa: E402
from grader.batch.executors import ExecutorLost  # noqa: E402
from grader.batch.store import STORE_FILE  # noqa: E402
from grader.loading import load_problem_set  # noqa: E402

ROOT = Path(__file__).parent.parent


def _make_class_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("make_class", ROOT / "benchmarks" / "make_class.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _start_cluster() -> distributed.LocalCluster:
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        return distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=50
        )


@pytest.fixture(scope="module")
def cluster() -> Iterator[distributed.LocalCluster]:
    with _start_cluster() as started:
        yield started


def files_written(out: Path) -> dict[str, bytes]:
    """Every file of --out but the verdict store (its pages and row order are SQLite's)."""
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if not p.name.startswith(STORE_FILE)}


def grade_both_ways(problem_file: Path, root: Path, tmp_path: Path, address: str) -> tuple[dict, dict]:
    spec = load_problem_set(problem_file)
    folders = submission_folders(root)
    local, dask = tmp_path / "local", tmp_path / "dask"
    run_batch(spec, root, folders, BatchOptions(out=local, executor=LocalExecutor(2)))
    result = run_batch(
        spec, root, folders, BatchOptions(out=dask, executor=DaskExecutor(address), chunk_size=4)
    )
    assert result.failed == 0
    return files_written(local), files_written(dask)


@pytest.mark.parametrize(
    "problem_set",
    sorted(p.stem for p in (ROOT / "problems").glob("*.yaml") if (ROOT / "submissions" / p.stem).is_dir()),
)
def test_shipped_submissions_graded_on_dask_are_byte_identical(
    cluster: distributed.LocalCluster, tmp_path: Path, problem_set: str
) -> None:
    problem_file = ROOT / "problems" / f"{problem_set}.yaml"
    local, dask = grade_both_ways(
        problem_file, ROOT / "submissions" / problem_set, tmp_path, cluster.scheduler_address
    )
    assert {"grades.csv", "changes.csv", "index.html"} <= set(local)
    assert dask == local


def test_a_synthetic_class_of_200_sheets_on_dask_is_byte_identical(
    cluster: distributed.LocalCluster, tmp_path: Path
) -> None:
    problem_file, root = _make_class_module().make_class(tmp_path / "synthetic", 200, seed=7, parts=24)
    local, dask = grade_both_ways(problem_file, root, tmp_path, cluster.scheduler_address)
    assert len([name for name in local if name.endswith(".json")]) == 200
    assert dask == local


def test_a_killed_dask_worker_loses_no_submission(tmp_path: Path) -> None:
    problem_file, root = _make_class_module().make_class(tmp_path / "synthetic", 60, seed=3, parts=24)
    spec = load_problem_set(problem_file)
    with _start_cluster() as local_cluster, distributed.Client(local_cluster) as client:
        victims = list(client.run(os.getpid).values())
        killed: list[int] = []

        def kill_one_worker(done: int, total: int) -> None:
            if done >= 4 and not killed:
                killed.append(victims[0])
                os.kill(victims[0], signal.SIGKILL)

        options = BatchOptions(
            out=tmp_path / "out", executor=DaskExecutor(local_cluster.scheduler_address), chunk_size=2
        )
        result = run_batch(spec, root, submission_folders(root), options, kill_one_worker)
    assert killed
    assert sorted(r.folder for r in result.reports) == sorted(p.name for p in root.iterdir())
    assert all((tmp_path / "out" / f"{r.folder}.json").exists() for r in result.reports)
    assert result.failed == 0  # the chunks on the killed worker were retried elsewhere


def test_a_lost_scheduler_ends_the_run_with_finished_reports_written(tmp_path: Path) -> None:
    problem_file, root = _make_class_module().make_class(tmp_path / "synthetic", 80, seed=5, parts=24)
    spec = load_problem_set(problem_file)
    out = tmp_path / "out"
    local_cluster = _start_cluster()
    closing: list[threading.Thread] = []

    def stop_the_scheduler(done: int, total: int) -> None:
        if done >= 6 and not closing:
            closing.append(threading.Thread(target=local_cluster.close))
            closing[0].start()

    options = BatchOptions(out=out, executor=DaskExecutor(local_cluster.scheduler_address), chunk_size=2)
    with pytest.raises(ExecutorLost, match="lost the connection to the Dask scheduler"):
        run_batch(spec, root, submission_folders(root), options, stop_the_scheduler)
    closing[0].join()
    finished = sorted(p.stem for p in out.glob("*.json"))
    assert len(finished) >= 6
    rows = (out / "grades.csv").read_text().splitlines()
    assert {row.split(",")[1] for row in rows[2:]} == set(finished)
    resumed = run_batch(
        spec, root, submission_folders(root), BatchOptions(out=out, executor=LocalExecutor(2))
    )
    # Finished students come from the store (unless a verdict of theirs may change on a re-run).
    assert resumed.regraded < 80
    assert len(list(out.glob("*.json"))) == 80


def test_executor_names() -> None:
    assert isinstance(executor_for("local", 3), LocalExecutor)
    assert executor_for("dask", 3).address is None  # type: ignore[union-attr]
    assert executor_for("dask://sched:8786", 1).address == "tcp://sched:8786"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="unknown executor"):
        executor_for("spark", 1)


def test_without_distributed_the_message_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ValueError, match=r'pip install "grader\[dask\]"'):
        executor_for("dask://sched:8786", 1)
