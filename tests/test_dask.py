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


class _KillerPlugin(distributed.WorkerPlugin):
    """In every worker: the number type's check kills its own process for the answer 666."""

    def setup(self, worker: object) -> None:
        import dataclasses

        from grader.types import ANSWER_TYPES

        ANSWER_TYPES["number"] = dataclasses.replace(ANSWER_TYPES["number"], check=_kill_for_666)


def _kill_for_666(part: object, answer: object) -> object:
    from grader.core.verdict import Verdict

    if str(answer) == "666":
        os.kill(os.getpid(), signal.SIGKILL)
    return Verdict.correct()


def test_a_submission_that_kills_its_worker_gets_an_error_row_after_one_retry(tmp_path: Path) -> None:
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    basics = ROOT / "tests" / "fixtures" / "basics.yaml"
    root = tmp_path / "class"
    for number in range(6):
        (root / f"s{number}").mkdir(parents=True)
        answer = "666" if number == 2 else "131072"
        (root / f"s{number}" / "answers.yaml").write_text(f"answers:\n  params: {answer}\n")
    spec = load_problem_set(basics)
    with _start_cluster() as local_cluster, distributed.Client(local_cluster) as client:
        client.register_plugin(_KillerPlugin(), name="killer")
        options = BatchOptions(
            out=tmp_path / "out", executor=DaskExecutor(local_cluster.scheduler_address), chunk_size=3
        )
        result = run_batch(spec, root, submission_folders(root), options)
    by_folder = {r.folder: r for r in result.reports}
    assert sorted(by_folder) == [f"s{n}" for n in range(6)]
    assert result.failed == 1 and "died twice" in (by_folder["s2"].error or "")
    assert all(by_folder[f"s{n}"].error is None and by_folder[f"s{n}"].score == 2 for n in (0, 1, 3, 4, 5))


class _SlowPlugin(distributed.WorkerPlugin):
    """In every worker: the number check takes 3 s for the answer 777."""

    def setup(self, worker: object) -> None:
        import dataclasses

        from grader.types import ANSWER_TYPES

        ANSWER_TYPES["number"] = dataclasses.replace(ANSWER_TYPES["number"], check=_slow_for_777)


def _slow_for_777(part: object, answer: object) -> object:
    import time

    from grader.core.verdict import Verdict

    if str(answer) == "777":
        time.sleep(3)
    return Verdict.correct()


def test_the_time_limit_of_a_check_holds_on_dask_workers(tmp_path: Path) -> None:
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    spec = load_problem_set(ROOT / "tests" / "fixtures" / "basics.yaml")
    quick = spec.model_copy(
        update={
            "questions": tuple(
                q.model_copy(
                    update={"parts": tuple(p.model_copy(update={"time_limit": 0.5}) for p in q.parts)}
                )
                for q in spec.questions
            )
        }
    )
    root = tmp_path / "class"
    for folder, answer in (("slow", "777"), ("fine", "131072")):
        (root / folder).mkdir(parents=True)
        (root / folder / "answers.yaml").write_text(f"answers:\n  params: {answer}\n")
    with _start_cluster() as local_cluster, distributed.Client(local_cluster) as client:
        client.register_plugin(_SlowPlugin(), name="slow")
        options = BatchOptions(executor=DaskExecutor(local_cluster.scheduler_address), chunk_size=1)
        result = run_batch(quick, root, submission_folders(root), options)
    verdicts = {r.folder: next(p for p in r.parts if p.id == "params") for r in result.reports}
    assert verdicts["slow"].status == "error" and "longer than 0.5 s" in verdicts["slow"].feedback
    assert verdicts["fine"].status == "correct"
