"""A real ``grader serve`` for the service tests: a course folder, its users, and the server
as a child process (uvicorn on a free loopback port), talked to over HTTP with httpx."""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest
import yaml

from grader.service.crud.accounts import add_user
from grader.service.location import sqlite_path
from grader.service.server import free_port
from grader.service.service import Service
from grader.service.settings import Settings

ROOT = Path(__file__).parent.parent
SEEDS = ROOT / "submissions"
STARTUP_SECONDS = 60.0
TA_PASSWORD = "correct horse battery staple"


@dataclass
class Course:
    folder: Path
    db_url: str | None
    tokens: dict[str, str] = field(default_factory=dict)  # user -> bearer token
    passwords: dict[str, str] = field(default_factory=dict)


def make_course(
    folder: Path,
    db_url: str | None,
    students: tuple[str, ...] = ("alice", "bob"),
    problems: tuple[str, ...] = ("activations-softmax-conv",),
    course_yaml: str | None = None,
) -> Course:
    """A course folder with its problems and course.yaml, a TA and ``students``: its database
    a copy of one made once a test process for these accounts (see :class:`AccountsTemplate`)."""
    (folder / "problems").mkdir(parents=True)
    for name in problems:
        shutil.copy(ROOT / "problems" / f"{name}.yaml", folder / "problems")
    if course_yaml is not None:
        (folder / "course.yaml").write_text(course_yaml)
    if _names_the_course(course_yaml) or not _copy_accounts(folder, db_url, students):
        return _add_accounts(Course(folder, db_url), students)
    template = _TEMPLATES[_template_key(db_url, students)]
    course = Course(folder, db_url, dict(template.tokens), dict(template.passwords))
    # the service's own start-up on the copy: migrations (none left), the folder's problems
    Service(Settings(course_dir=folder, db_url=db_url), start_workers=False).db.dispose()
    return course


def _add_accounts(course: Course, students: tuple[str, ...]) -> Course:
    service = Service(Settings(course_dir=course.folder, db_url=course.db_url), start_workers=False)
    with service.db.session() as db:
        _, course.tokens["ta"] = add_user(db, "ta", "ta", TA_PASSWORD)
        course.passwords["ta"] = TA_PASSWORD
        for name in students:
            _, course.tokens[name] = add_user(db, name, "student", f"{name}-password")
            course.passwords[name] = f"{name}-password"
    service.db.dispose()
    return course


def _names_the_course(course_yaml: str | None) -> bool:
    """course.yaml's ``name`` names the course when its database is made: not a template's."""
    try:
        loaded = yaml.safe_load(course_yaml or "")
    except yaml.YAMLError:  # not in force: the course keeps the default name
        return False
    return isinstance(loaded, dict) and "name" in loaded


@dataclass
class AccountsTemplate:
    """A course's database with nothing but its accounts (made as :func:`make_course` made them
    in every test before: three argon2 hashes and the migrations, 0.9-2.6 s a course), made once
    a test process for each set of students and database server, and copied for each course:
    the SQLite file, or a PostgreSQL database made with it as ``TEMPLATE``. The copies' tokens
    and passwords are the template's."""

    source: str  # the SQLite file, or the PostgreSQL database's URL
    tokens: dict[str, str]
    passwords: dict[str, str]


_TEMPLATES: dict[tuple[str, tuple[str, ...]], AccountsTemplate] = {}
_TEMPLATE_ROOT: list[Path] = []
_TEMPLATE_NUMBERS = itertools.count()


def _template_key(db_url: str | None, students: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    server = "sqlite" if db_url is None else db_url.rsplit("/", 1)[0]
    return server, students


def _copy_accounts(folder: Path, db_url: str | None, students: tuple[str, ...]) -> bool:
    """The template's database copied as ``folder``'s (made first if need be); False when
    ``db_url`` names a database that is not empty."""
    if db_url is not None and not _pg_empty(db_url):
        return False
    key = _template_key(db_url, students)
    if key not in _TEMPLATES or not _template_there(_TEMPLATES[key]):
        _TEMPLATES[key] = _make_template(db_url, students)
    source = _TEMPLATES[key].source
    if db_url is None:
        sqlite_file = sqlite_path(folder)
        sqlite_file.parent.mkdir(mode=0o700)
        for suffix in ("", "-wal"):  # no log is left once the template's engine is closed
            if Path(source + suffix).exists():
                shutil.copy(source + suffix, str(sqlite_file) + suffix)
    else:
        name = db_url.rsplit("/", 1)[1]
        template = source.rsplit("/", 1)[1]
        _pg_admin(db_url, f'DROP DATABASE "{name}"', f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return True


def _template_there(template: AccountsTemplate) -> bool:
    """False when the template went with its PostgreSQL cluster (a test's own, whose port a later
    cluster may take)."""
    if "://" not in template.source:  # a SQLite file
        return Path(template.source).exists()
    import psycopg

    server, name = template.source.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres") as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def _make_template(db_url: str | None, students: tuple[str, ...]) -> AccountsTemplate:
    if not _TEMPLATE_ROOT:
        _TEMPLATE_ROOT.append(Path(tempfile.mkdtemp(prefix="grader-course-templates-")))
        atexit.register(shutil.rmtree, _TEMPLATE_ROOT[0], True)
    number = next(_TEMPLATE_NUMBERS)
    folder = _TEMPLATE_ROOT[0] / f"course-{number}"
    (folder / "problems").mkdir(parents=True)
    template_url = None
    if db_url is not None:
        template_url = f"{db_url.rsplit('/', 1)[0]}/grader_template_{os.getpid()}_{number}"
        _pg_admin(db_url, f'CREATE DATABASE "{template_url.rsplit("/", 1)[1]}"')
    course = _add_accounts(Course(folder, template_url), students)
    source = template_url or str(sqlite_path(folder))
    return AccountsTemplate(source, course.tokens, course.passwords)


def _pg_empty(db_url: str) -> bool:
    import psycopg

    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
    return row is not None and row[0] == 0


def _pg_admin(db_url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(f"{db_url.rsplit('/', 1)[0]}/postgres", autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def add_account(course: Course, name: str, role: str, password: str) -> str:
    """Another account of the course (a second TA); its bearer token, kept in ``course.tokens``."""
    service = Service(Settings(course_dir=course.folder, db_url=course.db_url), start_workers=False)
    with service.db.session() as db:
        _, course.tokens[name] = add_user(db, name, role, password)
    service.db.dispose()
    course.passwords[name] = password
    return course.tokens[name]


# What `grader serve` runs with when --workers is not given: what a test's server runs with
# unless it asks for another number.
SERVICE_WORKERS = Settings.model_fields["workers"].default


class Server:
    """``grader serve`` in a child process; :meth:`stop` sends SIGTERM, :meth:`kill` SIGKILL."""

    def __init__(self, course: Course, workers: int = SERVICE_WORKERS, *extra: str, port: int | None = None):
        self.course = course
        self.port = port or free_port()  # a restart may take the port of the server before
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = course.folder / f"server-{self.port}.log"
        command = [
            sys.executable,
            "-c",
            "from grader.cli import main; main()",
            "serve",
            str(course.folder),
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            *(("--db", course.db_url) if course.db_url else ()),
            *extra,
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"grader serve exited ({self.process.returncode}):\n{self.log.read_text()}"
                )
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"grader serve did not answer in {STARTUP_SECONDS} s:\n{self.log.read_text()}")

    def client(self, user: str | None = None, token: str | None = None) -> httpx.Client:
        token = token or (self.course.tokens[user] if user else None)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def stop(self, timeout: float = 60, group: bool = False) -> int:
        """SIGTERM to the server, or with ``group`` to all its processes (as systemd stops a
        service); its exit code (0 after a graceful stop)."""
        if self.process.poll() is None:
            if group:
                os.killpg(self.process.pid, signal.SIGTERM)
            else:
                os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return int(self.process.returncode or 0)

    def outliving(self, timeout: float = 30) -> list[str]:
        """The processes of the server's group (its grading process, fork servers, workers)
        still running ``timeout`` seconds after it stopped: pid, parent and command line."""
        deadline = time.monotonic() + timeout
        while True:
            alive = []
            for process in psutil.process_iter(["pid", "ppid", "cmdline", "status"]):
                try:
                    in_group = os.getpgid(process.pid) == self.process.pid
                except OSError:
                    continue
                if in_group and process.info["status"] != psutil.STATUS_ZOMBIE:
                    command = " ".join(process.info["cmdline"] or [])[:200]
                    alive.append(f"{process.pid} (parent {process.info['ppid']}): {command}")
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.2)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if exc[0] is not None:  # a failing test shows what the server logged
            print(f"--- {self.log.name} ---\n{self.log.read_text(errors='replace')[-30000:]}")


def log_in(browser: httpx.Client, user: str = "", password: str = "", **fields: str) -> httpx.Response:
    """``POST /login`` as a browser sends it: the log-in page first (its form's CSRF token and
    the log-in cookie that goes with it, kept by ``browser``), then the form filled in."""
    page = browser.get("/login")
    token = re.search(r"name='csrf' value='([^']+)'", page.text)
    assert token is not None, page.text
    return browser.post("/login", data={"user": user, "password": password, "csrf": token.group(1), **fields})


def wait_graded(client: httpx.Client, submission_id: int, timeout: float = 120) -> dict:  # type: ignore[type-arg]
    """Wait for the verdict as a client should: a long poll (``?wait=``) asked again while the
    submission is not graded, waiting when told to (429)."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        wait = max(1, min(round(left), 20))
        response = client.get(
            f"/api/v1/submissions/{submission_id}", params={"wait": wait}, timeout=wait + 30
        )
        if response.status_code == 429:
            time.sleep(float(response.headers["retry-after"]))
            continue
        response.raise_for_status()
        body = response.json()
        if body["status"] == "graded":
            return body  # type: ignore[no-any-return]
    raise AssertionError(f"submission {submission_id} not graded in {timeout} s")


def grading_processes(server: Server) -> list[psutil.Process]:
    """The grading pool's workers (the grading loop itself is a thread of the server): the
    server's descendants at the grading workers' niceness, below the check runner's."""
    from grader.service.checking import CHECK_NICENESS
    from grader.service.executing import WORKER_NICENESS

    top = psutil.Process(server.process.pid)
    if top.nice() + CHECK_NICENESS >= 19:  # both pools (and the fork server) at nice 19
        pytest.skip(f"at nice {top.nice()} the grading pool cannot be told from the check runner's")
    niceness = min(top.nice() + WORKER_NICENESS, 19)
    return [process for process in top.children(recursive=True) if process.nice() >= niceness]


@contextlib.contextmanager
def grading_paused(server: Server) -> Iterator[None]:
    """The server's grading pool stopped (SIGSTOP) while inside: what is handed in is not
    graded (it waits, queued or claimed), as in a long queue; checks still run."""
    wait_workers_ready(server)
    paused = grading_processes(server)
    assert paused, "the server has no grading workers to pause"
    for process in paused:
        process.suspend()
    try:
        yield
    finally:
        for process in paused:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.resume()


class Worker:
    """``grader serve --worker`` for a course, in a process group of its own."""

    def __init__(self, course: Course, workers: int = 1, *extra: str, python: tuple[str, ...] = ()):
        self.log = course.folder / f"worker-{time.monotonic_ns()}.log"
        command = [
            sys.executable,
            *python,
            "-c",
            "from grader.cli import main; main()",
            "serve",
            str(course.folder),
            "--worker",
            "--workers",
            str(workers),
            *(("--db", course.db_url) if course.db_url else ()),
            *extra,
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def stop(self, timeout: float = 60) -> int:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return int(self.process.returncode or 0)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)


def wait_workers_ready(server: Server, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while httpx.get(f"{server.url}/healthz").json()["workers"] != "ready":
        assert time.monotonic() < deadline, "the workers never warmed up"
        time.sleep(0.1)


def seed_file(assignment: str, seed: str) -> bytes:
    return (SEEDS / assignment / seed / "answers.yaml").read_bytes()
