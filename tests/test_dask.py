"""Grading on a real Dask cluster: a ``dask scheduler`` and ``dask worker`` processes on loopback,
started as a TA starts them. The same files as a local run (limits, links, directories, large
PDFs included); a mixed cluster, a missing worker and a lost scheduler each end the run with one
line and exit code 4; a killed worker loses nothing; a worker joining late takes work.

The worker processes run with ``tests/cluster_hooks`` on PYTHONPATH: its sitecustomize makes the
``number`` check misbehave for a few answers (see there), in the workers' check processes only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

distributed = pytest.importorskip("distributed")

from grader.batch import BatchOptions, LocalExecutor, run_batch, submission_folders  # noqa: E402
from grader.batch import cluster as cluster_module  # noqa: E402
from grader.batch.cluster import DaskExecutor, executor_for  # noqa: E402
from grader.batch.cluster_worker import check_process_context, fork_server_limits, unseen_folders  # noqa: E402
from grader.batch.executors import ExecutorLost  # noqa: E402
from grader.batch.plan import folder_fingerprint  # noqa: E402
from grader.batch.reading import NotSeenHere, SubmissionTask  # noqa: E402
from grader.batch.runner import chunk_sizes  # noqa: E402
from grader.batch.store import STORE_FILE  # noqa: E402
from grader.cli import main  # noqa: E402
from grader.core.deferred import needs  # noqa: E402
from grader.core.verdict import Verdict  # noqa: E402
from grader.loading import load_problem_set  # noqa: E402
from grader.mathlang import limits as math_limits  # noqa: E402
from grader.reading import ship_folder  # noqa: E402
from grader.spec import ProblemSet  # noqa: E402
from grader.types import ANSWER_TYPES  # noqa: E402
from grader.versions import limits_in_force  # noqa: E402

ROOT = Path(__file__).parent.parent
HOOKS = Path(__file__).parent / "cluster_hooks"
BASICS = ROOT / "tests" / "fixtures" / "basics.yaml"
EXIT_EXECUTOR = 4


def _make_class_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("make_class", ROOT / "benchmarks" / "make_class.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Cluster:
    """A ``dask scheduler`` process and ``dask worker`` processes on 127.0.0.1."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.scheduler = self._start(
            "dask_scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--dashboard-address", ":0"
        )
        self.workers: list[subprocess.Popen[bytes]] = []

    def _start(self, command: str, *args: str, hooks: str = "") -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(HOOKS), os.environ.get("PYTHONPATH")])),
            "GRADER_TEST_WORKER_HOOKS": hooks,
            "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1",
        }
        log = (self.tmp / f"{command}-{time.monotonic_ns()}.log").open("wb")
        return subprocess.Popen(
            [sys.executable, "-m", f"distributed.cli.{command}", *args], env=env, stdout=log, stderr=log
        )

    def add_worker(
        self, hooks: str = "checks", wait: bool = True, preload: bool = False
    ) -> subprocess.Popen[bytes]:
        """A worker process (``preload``: started as the README starts workers, with grader's
        preload, which starts its check processes' fork server at once; else its first run does)."""
        worker = self._start(
            "dask_worker",
            self.address,
            "--nthreads",
            "1",
            "--no-dashboard",
            "--name",
            f"w{len(self.workers)}",
            *(["--preload", "grader.batch.cluster_worker"] if preload else []),
            hooks=hooks,
        )
        self.workers.append(worker)
        if wait:
            with distributed.Client(self.address, timeout="30s") as client:
                client.wait_for_workers(len(self.workers), timeout=60)
        return worker

    def stop(self) -> None:
        for process in [*self.workers, self.scheduler]:
            if process.poll() is None:
                process.terminate()
        for process in [*self.workers, self.scheduler]:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def started_cluster(tmp: Path, workers: int, hooks: tuple[str, ...] = ()) -> Iterator[Cluster]:
    """A cluster whose first worker starts with grader's preload (the others without); worker
    ``n`` with ``hooks[n]`` (see tests/cluster_hooks), else ``checks``."""
    cluster = Cluster(tmp)
    try:
        for number in range(workers):
            cluster.add_worker(hooks=(*hooks, *["checks"] * workers)[number], preload=number == 0)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with started_cluster(tmp_path_factory.mktemp("cluster"), workers=2) as running:
        yield running


def files_written(out: Path) -> dict[str, bytes]:
    """Every file of --out but the verdict store (its pages and row order are SQLite's), the
    assets folder's files by their path in it."""
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not p.name.startswith(STORE_FILE)
    }


def grade_both_ways(
    spec: ProblemSet, root: Path, tmp_path: Path, address: str, show_expected: bool = False
) -> tuple[dict, dict]:
    """The files of a local run and a Dask run of the class (``show_expected``: the TA's copies,
    each verdict in its own words)."""
    folders = submission_folders(root)
    local, dask = tmp_path / "local", tmp_path / "dask"
    shown = {"show_expected": show_expected}
    run_batch(spec, root, folders, BatchOptions(out=local, executor=LocalExecutor(2), **shown))
    run_batch(
        spec, root, folders, BatchOptions(out=dask, executor=DaskExecutor(address), chunk_size=4, **shown)
    )
    return files_written(local), files_written(dask)


@contextlib.contextmanager
def chunks_sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[SubmissionTask]]]:
    """Every chunk the driver sends to the cluster (a Dask task each)."""
    sent: list[list[SubmissionTask]] = []
    send = cluster_module._DaskWindow._submit

    def sending(window: Any, chunk: list[SubmissionTask]) -> Any:
        sent.append(chunk)
        return send(window, chunk)

    with monkeypatch.context() as spying:
        spying.setattr(cluster_module._DaskWindow, "_submit", sending)
        yield sent


# ---------------------------------------------------------------------------
# The same reports as a local run


def test_shipped_submissions_and_a_synthetic_class_are_byte_identical_on_dask(
    cluster: Cluster, tmp_path: Path
) -> None:
    for problem_file in sorted((ROOT / "problems").glob("*.yaml")):
        root = ROOT / "submissions" / problem_file.stem
        if root.is_dir():
            local, dask = grade_both_ways(
                load_problem_set(problem_file), root, tmp_path / problem_file.stem, cluster.address
            )
            assert {"grades.csv", "changes.csv", "index.html"} <= set(local)
            assert dask == local, problem_file.stem
    problem_file, root = _make_class_module().make_class(tmp_path / "synthetic", 60, seed=7, parts=24)
    # Roomy time limits: on a loaded machine a hostile answer near its limit could land on either side.
    roomy = _with_limits(load_problem_set(problem_file), time_limit=60)
    local, dask = grade_both_ways(roomy, root, tmp_path / "synthetic-out", cluster.address)
    assert len([name for name in local if name.endswith(".json")]) == 60
    assert dask == local


def test_workers_on_the_class_s_disk_read_in_place_and_one_that_sees_another_copy_gets_the_files(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On loopback the workers share the class's disk: chunks go without their files, and the
    driver opens none of them (it sends each folder's fingerprint; the worker digests it). Where
    a worker sees another copy of a folder (here: the driver saw it as something else), the
    chunk comes back unread and goes again with its files, and the run goes on shipping them:
    the same reports either way."""
    problem_file, root = _make_class_module().make_class(tmp_path / "synthetic", 60, seed=9, parts=12)
    spec = load_problem_set(problem_file)
    chunks, in_flight = 15, 2 * DaskExecutor(cluster.address).chunks_per_worker  # 60 sheets, 4 a chunk

    def opened(task: Any) -> Any:
        raise AssertionError(f"the driver read {task.folder}")

    with chunks_sent(monkeypatch) as sent, monkeypatch.context() as reading:
        reading.setattr(cluster_module, "digested", opened)
        reading.setattr(cluster_module, "ship_folder", opened)
        local, in_place = grade_both_ways(spec, root, tmp_path / "in-place", cluster.address)
    assert in_place == local
    assert len(sent) == chunks  # each sent once, read in place

    seen = cluster_module.folder_fingerprint
    monkeypatch.setattr(cluster_module, "folder_fingerprint", lambda folder: "elsewhere " + seen(folder))
    with chunks_sent(monkeypatch) as sent:
        _, shipped = grade_both_ways(spec, root, tmp_path / "shipped", cluster.address)
    assert shipped == local
    assert chunks < len(sent) <= chunks + in_flight  # the chunks in flight went twice, then with their files


def test_a_folder_with_a_link_or_changed_since_the_driver_saw_it_travels_alone(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One student's folder holds a link, another's changed after the driver saw it: each comes
    back from its worker and goes again with its files, while the rest of the class (its own
    chunks' other folders too) is still read in place: the same reports as a local run."""
    problem_file, root = _make_class_module().make_class(tmp_path / "synthetic", 16, seed=6, parts=12)
    spec = load_problem_set(problem_file)
    folders = submission_folders(root)
    (folders[1] / "notes.md").symlink_to("/etc/hostname")
    changed = folders[6].name
    seen, ship = cluster_module.folder_fingerprint, cluster_module.ship_folder
    monkeypatch.setattr(
        cluster_module,
        "folder_fingerprint",
        lambda folder: ("before the edit " if folder.name == changed else "") + seen(folder),
    )
    shipped: list[str] = []

    def shipping(folder: Path) -> Any:
        shipped.append(folder.name)
        return ship(folder)

    monkeypatch.setattr(cluster_module, "ship_folder", shipping)
    with chunks_sent(monkeypatch) as sent:
        local, dask = grade_both_ways(spec, root, tmp_path, cluster.address)
    assert dask == local
    assert sorted(shipped) == sorted([folders[1].name, changed])
    assert len(sent) == 4 + 2  # 16 sheets, 4 a chunk: the two chunks with those folders went twice


def test_a_worker_tells_which_folders_it_does_not_see_and_whether_it_sees_the_class_at_all(
    tmp_path: Path,
) -> None:
    """A folder changed since the driver saw it, or holding a link, is that student's alone; a
    folder missing here, or a chunk none of whose folders is seen, says the worker sees another
    disk or another copy of the class."""
    folders = {}
    for name in ("same", "changed", "linked"):
        folders[name] = tmp_path / name
        folders[name].mkdir()
        (folders[name] / "answers.yaml").write_text("answers: {}\n")
    (folders["linked"] / "data").symlink_to("/etc")
    seen = {name: folder_fingerprint(folder) for name, folder in folders.items()}
    seen["changed"] = "as the driver saw it before the edit"
    folders["missing"], seen["missing"] = tmp_path / "missing", "a folder on the driver's disk"

    def task(name: str) -> SubmissionTask:
        return SubmissionTask(name, str(folders[name]), name, "", seen=seen[name])

    assert unseen_folders([task("same")]) is None
    assert unseen_folders([task("same"), task("changed"), task("linked")]) == NotSeenHere(
        ("changed", "linked"), elsewhere=False
    )
    assert unseen_folders([task("same"), task("missing")]) == NotSeenHere(("missing",), elsewhere=True)
    none_seen = NotSeenHere(("changed", "linked"), elsewhere=True)
    assert unseen_folders([task("changed"), task("linked")]) == none_seen
    shipped = dataclasses.replace(task("changed"), files=ship_folder(folders["changed"]))
    assert unseen_folders([shipped, task("same")]) is None  # a folder that travels is not looked for


class _SeesAnotherFolder(DaskExecutor):
    """Dask workers whose --out is another machine's folder of the same name (another token)."""

    def __init__(self, address: str):
        super().__init__(address)
        self.graded: list[Any] = []

    def grade(self, setup: Any, chunks: Any) -> Iterator[Any]:
        for chunk in super().grade(dataclasses.replace(setup, out_token="not this run's"), chunks):
            self.graded.extend(chunk)
            yield chunk


def test_dask_workers_write_the_files_where_they_see_out_and_send_them_back_where_not(
    cluster: Cluster, tmp_path: Path
) -> None:
    problem_file, root = _make_class_module().make_class(tmp_path / "synthetic", 16, seed=3, parts=24)
    spec = _with_limits(load_problem_set(problem_file), time_limit=60)
    folders = submission_folders(root)
    local = tmp_path / "local"
    run_batch(spec, root, folders, BatchOptions(out=local, executor=LocalExecutor(2)))
    seeing, elsewhere = tmp_path / "seeing", tmp_path / "elsewhere"
    dask = DaskExecutor(cluster.address)
    run_batch(spec, root, folders, BatchOptions(out=seeing, executor=dask, chunk_size=4))
    not_seeing = _SeesAnotherFolder(cluster.address)
    run_batch(spec, root, folders, BatchOptions(out=elsewhere, executor=not_seeing, chunk_size=4))
    assert len(not_seeing.graded) == 16
    assert all(g.written is None and g.artefacts for g in not_seeing.graded), "the bytes came back"
    assert files_written(seeing) == files_written(local) == files_written(elsewhere)


def _misbehaving_check(part: Any, answer: Any) -> Verdict:
    """What tests/cluster_hooks does in the workers, done here for the local run."""
    sys.path.insert(0, str(HOOKS))
    try:
        import sitecustomize  # the hooks module, imported by name from its folder
    finally:
        sys.path.remove(str(HOOKS))
    return sitecustomize._misbehaving_check(part, answer)  # type: ignore[no-any-return]


def _with_limits(spec: ProblemSet, **limits: Any) -> ProblemSet:
    return spec.model_copy(
        update={
            "questions": tuple(
                q.model_copy(update={"parts": tuple(p.model_copy(update=limits) for p in q.parts)})
                for q in spec.questions
            )
        }
    )


def _sheet(params: str) -> str:
    return f"answers:\n  conv.full: [1, 2, 5, 8, 6, 8]\n  params: {params}\n  kind: B\n"


def test_slow_hungry_and_crashing_checks_give_the_local_verdicts_on_dask(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checks on workers run in processes under the part's time and memory limits: a slow check
    is an error at its limit and takes no time from the next; one past its memory limit is an
    error; one that kills its process costs its submission one error row."""
    monkeypatch.setitem(
        ANSWER_TYPES, "number", dataclasses.replace(ANSWER_TYPES["number"], check=_misbehaving_check)
    )
    spec = _with_limits(load_problem_set(BASICS), time_limit=0.5, memory_limit=64)
    root = tmp_path / "class"
    answers = {"slow-1": "777", "slow-2": "777", "hog": "888", "killer": "666"}
    answers |= {f"fine-{n}": "131072" for n in range(6)}
    for folder, params in answers.items():
        (root / folder).mkdir(parents=True)
        (root / folder / "answers.yaml").write_text(_sheet(params))
    local, dask = grade_both_ways(spec, root, tmp_path, cluster.address, show_expected=True)
    assert dask == local
    grades = dask["grades.csv"].decode()
    assert (
        "more than 0.5 s of CPU time" in dask["slow-1.json"].decode()
        and "more than 0.5 s of CPU time" in dask["slow-2.json"].decode()
    )
    assert "64 MiB" in dask["hog.json"].decode()
    assert "SIGKILL" in dask["killer.json"].decode()
    assert all(f"fine-{n},fine-{n},2,0,2,1,0,5," in grades for n in range(6))


def _links_and_directories(root: Path) -> None:
    """Folders whose answers file is a link (in, out, nowhere, a loop) or a directory, one with a
    write-up and a large PDF, and one with a link to a write-up in a hidden folder."""
    sheet = _sheet("131072")
    (root / "bob").mkdir(parents=True)
    (root / "bob" / "answers.yaml").write_text(sheet)
    (root / "to-classmate").mkdir()
    (root / "to-classmate" / "answers.yaml").symlink_to("../bob/answers.yaml")
    (root / "to-etc").mkdir()
    (root / "to-etc" / "answers.yaml").symlink_to("/etc/passwd")
    (root / "dangling").mkdir()
    (root / "dangling" / "answers.yaml").symlink_to("nowhere.yaml")
    (root / "loop").mkdir()
    (root / "loop" / "answers.yaml").symlink_to("answers.yaml")
    (root / "a-directory" / "answers.yaml").mkdir(parents=True)
    (root / "inside").mkdir()
    (root / "inside" / ".drafts").mkdir()
    (root / "inside" / ".drafts" / "final.yaml").write_text(sheet)
    (root / "inside" / "answers.yaml").symlink_to(".drafts/final.yaml")
    (root / "with-pdf").mkdir()
    (root / "with-pdf" / "scan.pdf").write_bytes(os.urandom(4 << 20))
    # a write-up beside the PDF: the write-up is graded, the PDF is not read (docs/pdf.md)
    (root / "with-pdf" / "main.md").write_text("# HW\n\nAnswer params: $131072$\n")


def test_links_directories_and_a_large_pdf_read_as_locally_and_no_path_of_this_machine_travels(
    cluster: Cluster, tmp_path: Path
) -> None:
    root = tmp_path / "class"
    _links_and_directories(root)
    shipped = ship_folder(root / "with-pdf")
    assert sum(len(f.data or b"") for f in shipped) < 10_000  # the PDF travels as its name and size
    spec = load_problem_set(BASICS)
    local, dask = grade_both_ways(spec, root.resolve(), tmp_path, cluster.address)
    assert dask == local
    errors = {name: data.decode() for name, data in dask.items() if name.endswith(".json")}
    assert "outside this submission folder" in errors["to-classmate.json"]
    assert "outside this submission folder" in errors["to-etc.json"]
    assert "cannot be followed" in errors["dangling.json"] and "cannot be followed" in errors["loop.json"]
    assert "not a regular file" in errors["a-directory.json"]
    assert '"error"' not in errors["inside.json"]
    for name, data in dask.items():
        assert str(tmp_path) not in data.decode(errors="replace"), name


def test_grader_max_limits_are_shipped_to_workers_and_key_the_verdicts(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GRADER_MAX_NUMBER_DIGITS=20 on the TA's machine: the workers refuse a 25-digit answer as
    the TA's machine does, whatever their own environment, and the store keeps the two apart."""
    spec = load_problem_set(BASICS)
    root = tmp_path / "class"
    (root / "big").mkdir(parents=True)
    (root / "big" / "answers.yaml").write_text(_sheet("1" + "0" * 24))
    out = tmp_path / "out"
    default = run_batch(
        spec, root, submission_folders(root), BatchOptions(out=out, executor=DaskExecutor(cluster.address))
    )
    before = next(p for p in default.reports[0].parts if p.id == "params")  # read before the next run
    monkeypatch.setitem(math_limits.LIMITS_IN_FORCE, "GRADER_MAX_NUMBER_DIGITS", 20)
    monkeypatch.setattr(math_limits, "MAX_VALUE_DIGITS", 20)
    small = run_batch(
        spec, root, submission_folders(root), BatchOptions(out=out, executor=DaskExecutor(cluster.address))
    )
    assert small.regraded == 1  # the stored report was made under other limits
    after = next(p for p in small.reports[0].parts if p.id == "params")
    assert before.status == "incorrect" and after.status == "invalid"
    assert "20 digits" in after.feedback


def test_an_edit_rerun_on_dask_keeps_the_sheets_whose_verdicts_did_not_move(
    cluster: Cluster, tmp_path: Path
) -> None:
    """The re-run after a tolerance edit grades on the cluster twice (the answers the store has
    no verdict for, then the sheets whose verdicts moved): a cold local run's files."""
    answers = {"a": "131072", "b": "131072", "c": "131073", "d": "131073", "e": "7", "f": "7"}
    root = tmp_path / "class"
    for folder, params in answers.items():
        (root / folder).mkdir(parents=True)
        (root / folder / "answers.yaml").write_text(f"answers:\n  params: {params}\n  kind: B\n")
    spec = load_problem_set(BASICS)
    looser = spec.model_copy(
        update={
            "questions": tuple(
                q.model_copy(update={"parts": tuple(p.model_copy(update={"rtol": 1e-4}) for p in q.parts)})
                if q.id == "params"
                else q
                for q in spec.questions
            )
        }
    )
    folders, out, cold = submission_folders(root), tmp_path / "dask", tmp_path / "cold"
    on_dask = BatchOptions(out=out, executor=DaskExecutor(cluster.address), chunk_size=1)
    run_batch(spec, root, folders, on_dask)
    result = run_batch(looser, root, folders, on_dask)
    run_batch(looser, root, folders, BatchOptions(out=cold, executor=LocalExecutor(2)))
    # a, c and e read to check the edited part's three answers; c and d graded, as they moved.
    assert (result.checked, result.regraded, result.kept_after_edit) == (3, 2, 4)
    since_last_run = "changes.csv"
    assert {name: data for name, data in files_written(out).items() if name != since_last_run} == {
        name: data for name, data in files_written(cold).items() if name != since_last_run
    }


# ---------------------------------------------------------------------------
# A cluster that cannot grade: one line, exit code 4


def _cli(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, list(args), env=env)


def test_a_missing_worker_and_a_worker_running_another_grader_end_the_run_with_exit_4(tmp_path: Path) -> None:
    root = tmp_path / "class"
    (root / "alice").mkdir(parents=True)
    (root / "alice" / "answers.yaml").write_text(_sheet("131072"))
    cluster = Cluster(tmp_path)
    try:
        command = [
            "grade",
            str(root),
            "-p",
            str(BASICS),
            "--out",
            str(tmp_path / "out"),
            "--executor",
            cluster.address,
        ]
        nobody = _cli(*command, env={"GRADER_DASK_WAIT": "2"})
        assert nobody.exit_code == EXIT_EXECUTOR, nobody.output
        assert "no Dask worker connected" in nobody.output and "Traceback" not in nobody.output
        cluster.add_worker(hooks="other-version")
        mixed = _cli(*command)
        assert mixed.exit_code == EXIT_EXECUTOR, mixed.output
        assert "runs grader 0.0.1+other" in mixed.output and "tcp://127.0.0.1:" in mixed.output
        assert not (tmp_path / "out" / "alice.json").exists()
    finally:
        cluster.stop()


def test_a_worker_whose_fork_server_cannot_start_grades_with_fresh_check_processes(tmp_path: Path) -> None:
    """Started with grader's preload where multiprocessing cannot start a fork server: the worker
    still joins, says why in its log, and its check processes start as fresh interpreters: the
    same reports as a local run."""
    problem_file, root = _make_class_module().make_class(tmp_path / "synthetic", 8, seed=4, parts=12)
    spec = load_problem_set(problem_file)
    running = Cluster(tmp_path)
    try:
        running.add_worker(hooks="no-fork-server", preload=True)
        local, dask = grade_both_ways(spec, root, tmp_path, running.address)
        with distributed.Client(running.address) as client:
            assert list(client.run(fork_server_limits).values()) == [None]
            logs = "\n".join(line for _, line in next(iter(client.get_worker_logs().values())))
    finally:
        running.stop()
    assert dask == local
    assert "the fork server did not start (OSError: [Errno 30] Read-only file system" in logs


def test_a_workers_check_processes_start_with_every_checker_imported(cluster: Cluster) -> None:
    """The check processes of a worker are forked from a server that imported every answer type's
    checker and what checks import on first use (numpy, sympy, python-flint) once, with grader:
    a run's check processes do not import them again each, as a local pool's, forked from the
    command, do not."""
    modules = (
        "numpy",
        "grader.types.expression.checker",
        "grader.types.network.checker",
        "grader.mathlang.to_sympy",
        "grader.mathlang.balls",
    )

    def started_without(module: str) -> int | None:
        """The exit code of a check process that stops (NotImported) unless ``module`` came with it."""
        process = check_process_context(limits_in_force()).Process(target=needs, args=(module,))
        process.start()
        process.join()
        return process.exitcode

    with distributed.Client(cluster.address) as client:
        codes = client.run(lambda: [started_without(module) for module in modules])
    assert list(codes.values()) == [[0] * len(modules)] * len(cluster.workers)


def _workers_that_ran_tasks(client: Any, since: float, expected: int) -> int:
    deadline = time.monotonic() + 30
    while True:
        workers = {task["worker"] for task in client.get_task_stream(start=since)}
        if len(workers) >= expected or time.monotonic() > deadline:
            return len(workers)
        time.sleep(0.2)


def test_a_late_worker_takes_work_a_killed_one_loses_nothing_and_a_lost_scheduler_is_resumable(
    tmp_path: Path,
) -> None:
    problem_file, root = _make_class_module().make_class(tmp_path / "synthetic", 100, seed=5, parts=12)
    spec = load_problem_set(problem_file)
    with started_cluster(tmp_path, workers=1) as running, distributed.Client(running.address) as client:
        # Started with grader's preload, the worker forks its check processes from a server that
        # loaded grader when the worker started, under the worker's limits (before any run).
        assert list(client.run(fork_server_limits).values()) == [limits_in_force()]
        client.get_task_stream(start=time.time())  # the scheduler records tasks from now on
        started_at = time.time()

        def add_a_worker(done: int, total: int) -> None:
            if done >= 4 and len(running.workers) == 1:
                running.add_worker()  # the run waits until it is connected: chunks are left for it

        out = tmp_path / "out"
        result = run_batch(
            spec,
            root,
            submission_folders(root),
            BatchOptions(out=out, executor=DaskExecutor(running.address), chunk_size=4),
            add_a_worker,
        )
        assert result.failed == 0 and len(list(out.glob("*.json"))) == 100
        # The late worker graded chunks too.
        assert _workers_that_ran_tasks(client, started_at, expected=2) == 2
        # The late worker, started without the preload: its first run started its fork server.
        assert list(client.run(fork_server_limits).values()) == [limits_in_force()] * 2

        # Kill a worker process mid-run (its nanny starts another): its chunks are retried elsewhere.
        victim = next(iter(client.run(os.getpid).values()))
        killed: list[int] = []

        def kill_a_worker(done: int, total: int) -> None:
            if done >= 4 and not killed:
                killed.append(victim)
                os.kill(victim, signal.SIGKILL)

        again = run_batch(
            spec,
            root,
            submission_folders(root)[:40],
            BatchOptions(out=tmp_path / "again", executor=DaskExecutor(running.address), chunk_size=2),
            kill_a_worker,
        )
        assert killed and again.failed == 0 and len(list((tmp_path / "again").glob("*.json"))) == 40

        # Lose the scheduler mid-run: every finished report is written; a local run goes on.
        def stop_the_scheduler(done: int, total: int) -> None:
            if done >= 6 and running.scheduler.poll() is None:
                running.scheduler.send_signal(signal.SIGKILL)

        lost = tmp_path / "lost"
        with pytest.raises(ExecutorLost, match="lost the connection to the Dask scheduler"):
            run_batch(
                spec,
                root,
                submission_folders(root)[:40],
                BatchOptions(out=lost, executor=DaskExecutor(running.address), chunk_size=2),
                stop_the_scheduler,
            )
    finished = sorted(p.stem for p in lost.glob("*.json"))
    assert len(finished) >= 6
    rows = (lost / "grades.csv").read_text().splitlines()
    # Every student the driver received is in grades.csv with their files; the workers may have
    # written a few more whose results never reached it (regraded on the next run, same bytes).
    assert len(rows[2:]) >= 6 and {row.split(",")[1] for row in rows[2:]} <= set(finished)
    resumed = run_batch(
        spec, root, submission_folders(root)[:40], BatchOptions(out=lost, executor=LocalExecutor(2))
    )
    assert resumed.regraded < 40 and len(list(lost.glob("*.json"))) == 40


def test_a_submission_that_keeps_killing_its_dask_workers_gets_an_error_row_saying_how_often(
    tmp_path: Path,
) -> None:
    """Grading one student's folder kills the Dask worker process itself, every time (its nanny
    starts another): that student gets an error row saying how many times. Dask also counts the
    death against the tasks it had sent the dying worker (queued behind), so a classmate may get
    an error row too (README)."""
    root = tmp_path / "class"
    for name in ["kills-its-worker", *(f"fine-{n}" for n in range(5))]:
        (root / name).mkdir(parents=True)
        (root / name / "answers.yaml").write_text(_sheet("131072"))
    out = tmp_path / "out"
    with started_cluster(tmp_path, workers=1, hooks=("kills-workers",)) as running:
        executor = DaskExecutor(running.address)
        result = run_batch(
            load_problem_set(BASICS),
            root,
            submission_folders(root),
            BatchOptions(out=out, executor=executor, chunk_size=2, show_expected=True),  # the TA's copies
        )
    error = (out / "kills-its-worker.json").read_text()
    assert "the Dask workers grading it died 2 times" in error and "a TA should look at it" in error
    grades = (out / "grades.csv").read_text()
    graded = [n for n in range(5) if f"fine-{n},fine-{n},2,0,2,1,0,5," in grades]
    # Dask counts a death against every task sent to the dying worker: a classmate's too.
    assert result.failed == 1 + 5 - len(graded) and len(list(out.glob("*.json"))) == 6


def test_executor_names() -> None:
    assert isinstance(executor_for("local", 3), LocalExecutor)
    assert executor_for("dask", 3).address is None  # type: ignore[union-attr]
    assert executor_for("dask://sched:8786", 1).address == "tcp://sched:8786"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="unknown executor"):
        executor_for("spark", 1)


def test_without_distributed_the_message_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ValueError, match=r'pip install "dl-theory-grader\[dask\]"'):
        executor_for("dask://sched:8786", 1)


# ---------------------------------------------------------------------------
# The service on a cluster


def test_the_service_grades_hand_ins_on_the_cluster_from_the_file_each_one_carries(
    cluster: Cluster, tmp_path: Path
) -> None:
    """``grader serve --executor dask://...``: a hand-in is on no disk the workers share, so it
    travels with its file, and the cluster grades it as the local pool does."""
    from service_server import Server, make_course, wait_graded

    assignment = "a1-activations-conv"
    course = make_course(tmp_path / "course", None)
    answers = {"q6.full": "[1, 2, 5, 8, 6, 8]", "q7.output_size": 99}
    with distributed.Client(cluster.address) as client:
        started_at = time.time()
        client.get_task_stream(start=started_at)
        with Server(course, 1, "--executor", cluster.address) as server, server.client("bob") as bob:
            response = bob.post(f"/api/v1/assignments/{assignment}/submissions", json={"answers": answers})
            assert response.status_code == 202, response.text
            report = wait_graded(bob, response.json()["id"])["report"]
        assert client.get_task_stream(start=started_at), "graded on the cluster"
    statuses = {part["id"]: part["status"] for part in report["parts"]}
    assert statuses["q6.full"] == "correct"
    assert statuses["q7.output_size"] == "incorrect"
    assert statuses["q2.softmax_jacobian"] == "missing"


@pytest.mark.parametrize(
    ("sheets", "threads", "on_dask", "size"),
    [
        (50_000, 320, True, 26),  # six chunks a thread at least; a cluster's driver pays per chunk
        (500_000, 320, True, 200),  # at most the cluster's largest chunk
        (500_000, 16, False, 16),  # a local pool's chunks stay at most 16 sheets
        (50, 4, True, 2),  # a small class: every thread has chunks to the end
    ],
)
def test_a_clusters_chunks_are_sized_from_its_threads_and_its_per_chunk_cost(
    sheets: int, threads: int, on_dask: bool, size: int
) -> None:
    executor = DaskExecutor(workers=threads) if on_dask else LocalExecutor(threads)
    assert next(chunk_sizes(sheets, executor, threads)) == size


@pytest.mark.parametrize(
    ("error", "lost"),
    [(TimeoutError("no chunk finished in 1 s"), False), (ConnectionResetError("reset"), True)],
)
def test_a_wait_for_chunks_that_times_out_goes_on_at_once(
    monkeypatch: pytest.MonkeyPatch, error: Exception, lost: bool
) -> None:
    """TimeoutError is an OSError: a wait for chunks that timed out was taken for a dropped
    connection, and the driver slept up to LOSS_SECONDS for the client to notice a loss that
    never happened, every second no chunk finished (a cluster whose chunks take more than a
    second ran a third slower). Only a connection error waits for the client to notice."""
    waited: list[Any] = []
    monkeypatch.setattr(cluster_module, "_settled", waited.append)

    def failing() -> None:
        raise error

    with pytest.raises(type(error)):
        cluster_module._call(types.SimpleNamespace(status="running"), failing)
    assert bool(waited) == lost
