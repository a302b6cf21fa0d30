"""What a server that runs all term keeps in memory is bounded (issue 44, item 13): the keys of
the verdicts its grading process wrote to the verdict store, and each pool worker's verdicts
in hand. Each test failed before its bound was set. benchmarks/soak_service.py measures the
whole server over an hour."""

from __future__ import annotations

import hashlib
import os
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from grader.batch import worker
from grader.batch.store import VerdictStore
from grader.batch.worker import Prepared, WorkerSetup
from grader.core.verdict import Status, Verdict
from grader.loading import load_problem_set
from grader.reporting import plots
from grader.service.executing import one_task
from tests.small_class import three_part_problems


def _verdicts(first: int, count: int) -> list[tuple[str, str, bytes]]:
    """Distinct (part digest, answer digest, verdict blob) rows, as a worker's fresh verdicts."""
    numbers = range(first, first + count)
    return [(_digest(f"part {n % 20}"), _digest(f"answer {n}"), b"verdict") for n in numbers]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _traced_growth(warm_up: Callable[[], None], step: Callable[[], None]) -> int:
    """Bytes the Python heap holds more after ``step()`` than after ``warm_up()`` (both traced:
    what was allocated before tracing began is not seen when it is freed)."""
    tracemalloc.start()
    try:
        warm_up()
        before = tracemalloc.get_traced_memory()[0]
        step()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_the_store_remembers_the_verdicts_it_wrote_last_not_every_one(tmp_path: Path) -> None:
    """A server's grading process writes new verdicts all term: what its store remembers of
    them stops growing (it grew about 330 bytes a verdict, 0.7 MiB a minute at 2 hand-ins/s)."""
    store = VerdictStore(tmp_path / "store.sqlite")
    try:

        def write(first: int, last: int) -> None:
            for start in range(first, last, 1000):  # as the grading process writes them: a batch at a time
                store.save_verdicts(_verdicts(start, 1000))

        grown = _traced_growth(lambda: write(0, 6000), lambda: write(6000, 26_000))
        assert grown < 1_000_000, f"the store held {grown} bytes more after 20,000 more verdicts"
        assert store.counts()[0] == 26_000
        # one written again after the store forgot it is still one row, served as before
        store.save_verdicts(_verdicts(0, 10))
        assert store.counts()[0] == 26_000
        key = _verdicts(0, 1)[0][:2]
        assert key in store.verdict_blobs([key])
    finally:
        store.close()


def test_a_workers_verdicts_in_hand_stay_few_and_keep_those_used_often(tmp_path: Path) -> None:
    """A server's pool worker grades all term: it keeps the verdicts it used last (1,000, not
    the 5,000 that took it 13 minutes of a soak to fill), and an answer many students give
    stays in hand however many others come between."""
    problem_file = tmp_path / "memo.yaml"
    problem_file.write_text(three_part_problems("memo", "Memo"), encoding="utf-8")
    prepared = Prepared(WorkerSetup(load_problem_set(problem_file), False, "test"))
    common = ("part", "the answer every other student gives")
    prepared.remember(common, Verdict(Status.CORRECT, 2.0))
    for n in range(6000):
        prepared.remember(("part", f"answer {n}"), Verdict(Status.INCORRECT, 0.0, "not equal"))
        if n % 100 == 0:
            assert prepared.known(common) is not None, f"the common answer was dropped after {n} others"
    assert len(prepared.memo) <= 1000


def _sympy_cached() -> int:
    from sympy.core.cache import CACHE

    return sum(cached.cache_info().currsize for cached in CACHE)


def test_a_pool_worker_empties_sympys_caches_every_so_many_sheets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sympy keeps 1,000 results of each of its functions: a server's workers grew for 20
    minutes as they filled. A worker empties them after every SYMPY_CLEAR_SHEETS sheets."""
    problem_file = tmp_path / "sympy.yaml"
    problem_file.write_text(three_part_problems("sympy", "Sympy"), encoding="utf-8")
    monkeypatch.setattr(worker, "SYMPY_CLEAR_SHEETS", 3, raising=False)
    monkeypatch.setattr(worker, "_PREPARED", None)
    worker.install(WorkerSetup(load_problem_set(problem_file), False, "test", watchdog=False))
    answers = [f"answers:\n  q1: '{n}*x/{n} + x'\n  q3: 'x^{n + 2}'\n".encode() for n in range(3, 6)]
    for sheet in answers[:2]:
        worker.grade_chunk([one_task("student", "answers.yaml", sheet)])
    assert _sympy_cached() > 0  # the checks used sympy
    worker.grade_chunk([one_task("student", "answers.yaml", answers[2])])  # the third sheet
    assert _sympy_cached() == 0


NETWORK_PART = """\
  - id: net
    type: network
    points: 2
    input: x
    params: {w0: [2], b0: [2], w1: [2]}
    model: w1 . relu(w0*x + b0)
    target: x
    answer: {w0: [1, -1], b0: [0, 0], w1: [1, -1]}
"""


def test_a_service_worker_renders_no_students_files_and_keeps_no_plot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service's pages are made from the report: its workers rendered a batch's files too
    (JSON, Markdown, HTML, an SVG of each wrong network) for every hand-in, threw them away,
    and kept the last 500 plots drawn and 20,000 answers as a page shows them (its workers
    grew for half an hour of a soak). A batch still gets its files; the service's report still
    carries the plot its page draws."""
    from grader.reporting import html
    from grader.service.executing import WorkerSetups
    from grader.service.settings import Settings

    problem_file = tmp_path / "net.yaml"
    problem_file.write_text(three_part_problems("net", "Net", NETWORK_PART), encoding="utf-8")
    spec = load_problem_set(problem_file)
    wrong = [f"answers:\n  net: {{w0: [1, 0], b0: [0, 0], w1: [{n}, 0]}}\n".encode() for n in range(2, 6)]
    monkeypatch.setattr(plots, "_DRAWN", {})
    monkeypatch.setattr(worker, "_PREPARED", None)
    batch_setup = WorkerSetup(spec, False, "test", watchdog=False)
    worker.install(batch_setup)
    [graded] = worker.grade_chunk([one_task("student", "answers.yaml", wrong[0])])
    assert any(name.endswith(".svg") for name in graded.artefacts) and len(plots._DRAWN) == 1

    monkeypatch.setattr(plots, "_DRAWN", {})
    monkeypatch.setattr(html, "_CONTEXTS", [])  # the pages' readings of answers, by problem set
    service_setup = WorkerSetups(Settings(course_dir=tmp_path)).setup_for("hash", spec)
    worker.install(service_setup)
    for sheet in wrong:
        [graded] = worker.grade_chunk([one_task("student", "answers.yaml", sheet)])
        assert graded.artefacts == {}
        [net] = [part for part in graded.whole_report().parts if part.id == "net"]
        assert net.status == Status.INCORRECT and net.plot is not None and net.plot_file is None
    assert plots._DRAWN == {}
    assert not any(context.readings for _, context in html._CONTEXTS)  # no page's inputs digested


def test_a_servers_workers_retire_every_few_sheets_and_each_hand_in_is_graded_once(
    tmp_path: Path, db_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GRADER_WORKER_SHEETS: a pool worker grades that many sheets, then a fresh one takes its
    place (500 by default: what a worker's caches and allocator hold is given back). No hand-in
    is lost or graded twice as workers retire, none gets an error verdict."""
    from service_server import Server, make_course, wait_workers_ready
    from sqlalchemy import select
    from test_service_faults import STUDENTS, database, hand_in_many, pool_workers, verdicts

    from grader.service.blobs import loads
    from grader.service.models import Job

    monkeypatch.setenv("GRADER_WORKER_SHEETS", "4")
    course = make_course(tmp_path / "course", db_url, students=STUDENTS)
    db = database(course.folder, db_url)
    seen: set[int] = set()
    with Server(course, 2, "--rate-limit", "100000") as server:
        wait_workers_ready(server)
        ids = hand_in_many(server, 30)
        deadline = time.monotonic() + 240
        while len(verdicts(db)) < len(ids) and time.monotonic() < deadline:
            seen |= {worker.pid for worker in pool_workers(server)}
            time.sleep(0.05)
        graded = verdicts(db)
        with db.session() as session:
            unfinished = [
                (job.id, job.status) for job in session.scalars(select(Job)) if job.status != "done"
            ]
    db.dispose()
    assert not unfinished, f"jobs not graded in time: {unfinished}"
    assert sorted(v.submission_id for v in graded) == sorted(ids), "a hand-in was lost or graded twice"
    errors = [
        v.submission_id for v in graded if any(p.status.value == "error" for p in loads(v.report).parts)
    ]
    assert not errors, f"error verdicts: {errors}"
    assert len(seen) >= 6, f"the workers did not retire every 4 sheets: {len(seen)} seen for 30 sheets"


def test_a_course_keeps_only_the_problem_sets_in_force_read_however_often_it_is_edited(
    tmp_path: Path,
) -> None:
    """Every problem-file edit (and every rubric item a TA adds) is a new version read into a
    problem set: the server kept every one it had read, all term. It keeps those in force."""
    import gc
    import shutil
    import weakref

    from grader.service.course import CourseState
    from grader.service.db import Database, migrate

    url = f"sqlite:///{tmp_path / 'grader.sqlite3'}"
    migrate(url)
    db = Database(url)
    folder = tmp_path / "course"
    (folder / "problems").mkdir(parents=True)
    problem_file = folder / "problems" / "basics.yaml"
    basics = Path(__file__).parent / "fixtures" / "basics.yaml"
    shutil.copy(basics, problem_file)
    try:
        course = CourseState(db, folder, "course")
        course.sync(force=True)
        read = []
        for n in range(1, 8):  # seven edits, each another answer
            spec = course.get("basics").spec  # type: ignore[union-attr]
            read.append(weakref.ref(spec))
            del spec
            problem_file.write_text(basics.read_text().replace("answer: 131072", f"answer: {131072 + n}"))
            os.utime(problem_file, ns=(n * 10**9, n * 10**9))  # seen as changed whatever the clock
            assert course.sync() == ["basics"]
        gc.collect()
        assert [ref() for ref in read if ref() is not None] == [], "an edited-away version is still held"
        held = course.get("basics").spec  # type: ignore[union-attr]
        course.refresh()  # nothing changed: the version in force is not read again
        assert course.get("basics").spec is held  # type: ignore[union-attr]
    finally:
        db.dispose()


def test_what_a_servers_threads_free_is_given_back_to_the_system(monkeypatch: pytest.MonkeyPatch) -> None:
    """glibc keeps what a thread frees in the thread's arena: a server's RSS grew 20% in 10
    minutes of a soak while its live heap stayed flat. What is freed is given back."""
    import threading

    import psutil

    from grader.core import allocator

    if allocator._glibc() is None:
        pytest.skip("the C library is not glibc: nothing to give back")
    me = psutil.Process()
    kept: list[bytes] = []

    def fragment() -> None:  # in a thread of its own, as a request's: its own arena
        made = [bytes(2048) + n.to_bytes(4, "little") for n in range(20_000)]  # 40 MiB by malloc
        kept.extend(made[::16])  # what lives on is spread through it, the rest freed

    thread = threading.Thread(target=fragment)
    thread.start()
    thread.join()
    before = me.memory_info().rss
    assert allocator.give_back()
    given = before - me.memory_info().rss
    assert given > 16 * 2**20, f"only {given / 2**20:.1f} MiB given back of about 37 MiB freed"
    assert len(kept) == 1250

    stop, trimmed = threading.Event(), threading.Event()
    monkeypatch.setattr(allocator, "give_back", lambda: trimmed.set() or True)
    trimmer = allocator.start_trimming(stop, seconds=0.01)
    try:
        assert trimmer is not None and trimmed.wait(5), "the trimming thread never trimmed"
    finally:
        stop.set()
    trimmer.join(5)
    assert not trimmer.is_alive()


_THREADS_MALLOC = """
import ctypes, sys, tempfile, threading
from grader.core import allocator

if sys.argv[1] == "limited":
    assert allocator.limit_arenas()
ready = threading.Barrier(8)

def request() -> None:  # as a request thread: allocates, all eight alive at once
    kept = [bytes(4096) for _ in range(200)]
    ready.wait()
    del kept

threads = [threading.Thread(target=request) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
libc = ctypes.CDLL("libc.so.6")
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
with tempfile.NamedTemporaryFile(suffix=".xml") as told:
    stream = libc.fopen(told.name.encode(), b"w")
    libc.malloc_info(0, stream)
    libc.fclose(stream)
    print(open(told.name).read().count("<heap nr="))
"""


def test_a_servers_threads_share_two_malloc_arenas_not_one_each() -> None:
    """glibc gives each thread that allocates an arena of its own (up to 8 a core), and the
    free bytes between live ones, spread over 16 arenas, grew a server's RSS 30% in an hour's
    soak although its live heap was flat. Limited at start-up, eight request threads share 2."""
    from grader.core import allocator

    if allocator._glibc() is None:
        pytest.skip("the C library is not glibc: no arenas to limit")
    assert _glibc_script(_THREADS_MALLOC, "default") > allocator.ARENAS  # glibc's own way: an arena a thread
    assert _glibc_script(_THREADS_MALLOC, "limited") <= allocator.ARENAS


def _glibc_script(script: str, mode: str) -> int:
    """The number a script prints, run in a fresh interpreter with glibc's own malloc settings
    (none from the environment); ``mode`` "limited" has it call :func:`allocator.limit_arenas`."""
    import subprocess
    import sys

    unset = ("MALLOC_ARENA_MAX", "GLIBC_TUNABLES", "MALLOC_MMAP_THRESHOLD_")
    environment = {key: value for key, value in os.environ.items() if key not in unset}
    environment["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    done = subprocess.run(
        [sys.executable, "-c", script, mode], env=environment, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


_LARGE_BLOCKS = """
import ctypes, sys
from grader.core import allocator

class Info(ctypes.Structure):
    names = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
    _fields_ = [(name, ctypes.c_size_t) for name in names.split()]

libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.mallinfo2.restype = Info
if sys.argv[1] == "limited":
    assert allocator.limit_arenas()
libc.free(libc.malloc(4 << 20))  # a 4 MiB block, mapped on its own, then freed
before = libc.mallinfo2().hblkhd
block = libc.malloc(512 << 10)  # a reply's 512 KiB, after it
print(libc.mallinfo2().hblkhd - before)
libc.free(block)
"""


def test_a_large_block_is_mapped_on_its_own_however_large_the_last_one_freed_was() -> None:
    """glibc's threshold for mapping a block on its own rises to the largest such block freed;
    from then on blocks under it are carved from the arenas, and the holes they leave stay
    there. With the threshold kept (at start-up, as the arenas' limit), a 512 KiB block after
    a freed 4 MiB one is still mapped on its own, and given back whole when freed."""
    from grader.core import allocator

    if allocator._glibc() is None:
        pytest.skip("the C library is not glibc")
    assert _glibc_script(_LARGE_BLOCKS, "default") == 0  # glibc's own way: carved from the arena
    assert _glibc_script(_LARGE_BLOCKS, "limited") >= 512 << 10


def test_grader_serve_limits_the_arenas_before_it_starts_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``grader serve`` (and ``--worker``) sets the limit first; an administrator's own
    ``MALLOC_ARENA_MAX`` is left as it is."""
    from click.testing import CliRunner

    from grader.cli import main
    from grader.core import allocator

    limited: list[bool] = []
    monkeypatch.setattr(allocator, "limit_arenas", lambda: limited.append(True) or True)
    answered = CliRunner().invoke(main, ["serve", str(tmp_path)])  # no problems/ folder: exits 2
    assert answered.exit_code == 2, answered.output
    assert limited == [True]  # first thing: before the folder is even looked at
    monkeypatch.undo()
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert not allocator.limit_arenas()


def test_sqlite_keeps_a_bounded_cache_however_large_the_database_grows(tmp_path: Path) -> None:
    """The server's pooled SQLite connections each read a database far larger than their page
    cache, and run many distinct statements (an IN list of every length): what SQLite holds
    stays within the connections' small caches (the defaults, 2 MiB of pages and 128 prepared
    statements a connection, grew the server by 25 MiB in an hour's soak)."""
    from sqlalchemy import text

    from grader.core.memtrace import sqlite_used
    from grader.service.db import READ_ONLY, SQLITE_CACHE_KIB, Database

    db = Database(f"sqlite:///{tmp_path / 'big.db'}")
    with db.write() as connection:
        connection.execute(text("CREATE TABLE sheet (id INTEGER PRIMARY KEY, body BLOB)"))
        for _ in range(3000):  # 24 MiB of rows in 4 KiB pages
            connection.execute(text("INSERT INTO sheet (body) VALUES (:body)"), {"body": os.urandom(8000)})
    connections = 6
    before = sqlite_used()
    held = [db.engine.connect().execution_options(**{READ_ONLY: True}) for _ in range(connections)]
    try:
        for connection in held:
            assert connection.execute(text("SELECT count(*), sum(length(body)) FROM sheet")).one()[0] == 3000
            for length in range(1, 129):  # as many statements: an IN list of each length
                ids = ", ".join(str(n) for n in range(length))
                connection.execute(
                    text(f"SELECT s.id FROM sheet s JOIN sheet t ON t.id = s.id WHERE s.id IN ({ids})")
                )
        grown = sqlite_used() - before
    finally:
        for connection in held:
            connection.close()
        db.dispose()
    assert grown < connections * (SQLITE_CACHE_KIB + 768) * 1024, f"SQLite holds {grown / 2**20:.1f} MiB more"
