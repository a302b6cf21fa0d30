"""The service's commands: ``grader serve``, ``grader users`` and a student's ``grader submit``.
Heavy imports (FastAPI, SQLAlchemy, uvicorn) happen inside them, so other commands start as fast as before."""

from __future__ import annotations

import csv
import functools
import io
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from grader.service.db import Database
    from grader.service.service import Service


# The options and arguments several commands take.
COURSE_ARG = click.argument("course_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
DB_OPTION = click.option(
    "--db", "db_url", help="Database URL (default: SQLite in COURSE_DIR/.grader-service/)."
)
URL_OPTION = click.option(
    "--url",
    envvar="GRADER_SERVER",
    help="The service's address as students reach it, for the log-in links. Env: GRADER_SERVER.",
)
DAYS_OPTION = click.option(
    "--days",
    type=click.FloatRange(min=0.01, max=365),
    default=14.0,
    show_default=True,
    help="A link expires after this.",
)


def USER_ARGS(command: Any) -> Any:
    """COURSE_DIR NAME: the arguments of the commands about one user."""
    return COURSE_ARG(click.argument("name")(command))


TEXT_OR_JSON = click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True
)


@click.command(name="serve")
@click.argument("course_dir", required=False, type=click.Path(file_okay=False, path_type=Path))
@DB_OPTION
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int, help="0 picks a free port.")
@click.option(
    "--workers", default=2, show_default=True, type=click.IntRange(0, 256), help="Grading processes."
)
@click.option("--executor", help="dask://HOST:PORT grades on a Dask cluster instead of local processes.")
@click.option(
    "--worker", is_flag=True, help="Run only the grading loop (no web server), beside `grader serve`."
)
@click.option(
    "--web-only", is_flag=True, help="Serve the web side only: `grader serve --worker` processes grade."
)
@click.option(
    "--max-upload",
    "max_upload_bytes",
    default=1 << 20,
    show_default=True,
    type=click.IntRange(1),
    help="Bytes per upload.",
)
@click.option(
    "--rate-limit",
    default=120,
    show_default=True,
    type=click.IntRange(1),
    help="Requests per token per minute.",
)
@click.option(
    "--max-checks",
    default=8,
    show_default=True,
    type=click.IntRange(1),
    help="Checks (POST .../check) in flight on the server; past them, 503 and /healthz 'saturated'.",
)
@click.option(
    "--student-checks",
    default=2,
    show_default=True,
    type=click.IntRange(1),
    help="Checks one student may have in flight; past them, 429.",
)
@click.option(
    "--student-hand-ins",
    default=100,
    show_default=True,
    type=click.IntRange(1),
    help="Hand-ins of one student waiting to be graded; past them, 429.",
)
@click.option("--secure-cookies", is_flag=True, help="Mark cookies Secure (behind TLS).")
@click.option(
    "--poll-seconds",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="How often idle workers look for jobs queued by another server on the same database "
    "(this server's own hand-ins are graded at once).",
)
@click.option(
    "--counts-seconds",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="The queue's counts (/healthz, /api/v1/queue, /metrics, /ta) are one look at the "
    "database, shared by every answer for this long.",
)
@click.option(
    "--request-threads",
    default=8,
    show_default=True,
    type=click.IntRange(1, 1024),
    help="Threads for requests' database and file work (more help a distant PostgreSQL).",
)
@click.option(
    "--header-timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Seconds a client has to send a request's line and headers (from its connection, or the "
    "answer before); past them the connection is closed. Idle kept-alive connections close then too.",
)
@click.option(
    "--body-timeout",
    default=60.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Seconds a client has to send a request's body once the server reads it; past them, 408.",
)
@click.option(
    "--lti-key-days",
    type=click.FloatRange(0, min_open=True),
    help="Rotate the LTI tool's signing key when it is this many days old (docs/lms.md).",
)
@click.option(
    "--db-connect-timeout",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Seconds to open a database connection before the database counts as down.",
)
@click.option(
    "--db-statement-timeout",
    default=15.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Seconds one database statement may run or wait for a lock (PostgreSQL), or a write "
    "wait for another's (SQLite), before the request is answered 503.",
)
@click.option(
    "--demo",
    is_flag=True,
    help="A throw-away course from the shipped problems, a TA and one student per submission.",
)
@click.option(
    "--credentials",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --demo: write the TA's and students' credentials here as JSON.",
)
def serve_command(course_dir: Path | None, demo: bool, credentials: Path | None, **options: Any) -> None:
    """Run the grading service for the course in COURSE_DIR (problems/*.yaml, course.yaml).

    Students hand in over HTTP (/api/v1) or the web pages; grading runs in WORKERS
    processes; problem files are re-read when they change."""
    from grader.core import allocator

    allocator.limit_arenas()  # before any thread starts (docs/service.md, "Memory")
    from grader.service.settings import Settings
    from grader.shipped import SHIPPED

    if options["worker"] and course_dir is not None:  # the grading loop alone: no web module imported
        from grader.service.lti.scores import database_hooks
        from grader.service.worker import run_worker

        options = {key: value for key, value in options.items() if key not in ("host", "port", "worker")}
        settings = Settings(course_dir=course_dir, grading=not options.pop("web_only"), **options)
        run_worker(settings, database_hooks(course_dir))
        return
    from grader.service.server import free_port, serve

    if demo:
        serve_demo(course_dir or SHIPPED, options["host"], options["port"], credentials)
        return
    if course_dir is None:
        raise click.UsageError("give the COURSE_DIR (a folder with problems/*.yaml), or --demo")
    if not (course_dir / "problems").is_dir():
        click.echo(f"error: {course_dir} has no problems/ folder (one problem file per assignment)", err=True)
        sys.exit(2)
    host, port, _ = options.pop("host"), options.pop("port"), options.pop("worker")
    settings = Settings(course_dir=course_dir, grading=not options.pop("web_only"), **options)
    serve(settings, host, port or free_port(host))


def serve_demo(shipped: Path, host: str, port: int, credentials_file: Path | None) -> None:
    """``grader serve --demo``: a throw-away course folder of the shipped problem files, with a TA
    and one student per shipped submission folder (their credentials said, or written)."""
    import secrets
    import shutil
    import tempfile

    from grader.batch import submission_folders
    from grader.core.files import write_atomic
    from grader.service.crud.accounts import add_user
    from grader.service.server import free_port, serve
    from grader.service.service import Service
    from grader.service.settings import Settings

    target = Path(tempfile.mkdtemp(prefix="grader-demo-"))
    try:
        shutil.copytree(shipped / "problems", target / "problems")
        service = Service(Settings(course_dir=target), start_workers=False)
        password = secrets.token_urlsafe(12)
        credentials: dict[str, Any] = {"students": {}}
        with service.db.session() as db:
            _, token = add_user(db, "ta", "ta", password)
            credentials["ta"] = {"user": "ta", "password": password, "token": token}
            roots = submission_folders(shipped / "submissions")
            for name in sorted({folder.name for root in roots for folder in submission_folders(root)}):
                _, token = add_user(db, name, "student")
                credentials["students"][name] = {"token": token}
        service.db.dispose()
        port = port or free_port(host)
        credentials["url"] = url = f"http://{host}:{port}"
        if credentials_file is not None:
            write_atomic(credentials_file, json.dumps(credentials, indent=2) + "\n", mode=0o600)  # passwords
        click.echo(f"grader demo course at {url}/  (data in {target})")
        click.echo(f"TA log-in: user 'ta', password {credentials['ta']['password']!r}")
        if credentials_file is not None:
            click.echo(
                f"credentials of the TA and {len(credentials['students'])} students: {credentials_file}"
            )
        serve(Settings(course_dir=target, workers=2), host, port)
    finally:
        shutil.rmtree(target, ignore_errors=True)


def remote_check_options(command: Any) -> Any:
    """``grader check``'s options for a grading service."""
    for option in reversed(
        [
            click.option(
                "--server", envvar="GRADER_SERVER", help="The course's grading service. Env: GRADER_SERVER."
            ),
            click.option("--token", envvar="GRADER_TOKEN", help="Your token for it. Env: GRADER_TOKEN."),
            click.option(
                "--assignment", envvar="GRADER_ASSIGNMENT", help="Which assignment (when it has several)."
            ),
        ]
    ):
        command = option(command)
    return command


def run_remote_check(path: Path, server: str, token: str | None, assignment: str | None) -> None:
    """Print the service's check of PATH and exit as ``grader check`` does (1: unreadable)."""
    from grader.client import RemoteCheckError, check_remote

    if not token:
        raise click.UsageError("--server needs --token (or GRADER_TOKEN): the token your course gave you")
    try:
        result = check_remote(path, server, token, assignment, _say)
    except RemoteCheckError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(result.text, nl=not result.text.endswith("\n"))
    sys.exit(1 if result.unreadable else 0)


def _say(line: str) -> None:
    """What a client of the service tells its user on the way (a 503 sent again), on stderr."""
    click.echo(line, err=True)


# grader submit's exit codes besides 0 (graded), 1 (refused: the file cannot be read), 2 (an error)
EXIT_NOT_GRADED_YET = 3


@click.command(name="submit")
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@remote_check_options
@click.option(
    "--wait",
    "wait_seconds",
    type=click.FloatRange(min=0),
    default=300,
    show_default=True,
    help="Wait this many seconds for the verdict (0: hand in and return).",
)
@click.option("--pages", default=None, help="A PDF hand-in: the pages of each question, e.g. q1=1-2,q3=4.")
@TEXT_OR_JSON
def submit_command(
    path: Path,
    server: str | None,
    token: str | None,
    assignment: str | None,
    wait_seconds: float,
    output_format: str,
    pages: str | None,
) -> None:
    """Hand in the answers in PATH (default: here) to the course's grading service and show the verdict.

    The answers file (or write-up) is handed in as a new version, then the verdict is awaited
    (the service answers the moment it is graded) and shown as you may see it: parts the TA
    made visible before the release, all of them after. Exit 0 graded, 1 the file cannot be
    read (nothing handed in), 2 an error, 3 handed in but not graded within --wait."""
    from grader.client import RemoteCheckError, render_submission, submit_remote
    from grader.reporting.escape import terminal_text

    if not server or not token:
        raise click.UsageError(
            "give the course service and your token: --server URL --token T (or GRADER_SERVER, GRADER_TOKEN)"
        )
    try:
        submitted = submit_remote(path, server, token, assignment, wait_seconds, _say, pages)
    except RemoteCheckError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    if submitted.unreadable is not None:
        click.echo(terminal_text(submitted.unreadable), nl=not submitted.unreadable.endswith("\n"))
        sys.exit(1)
    if output_format == "json":
        click.echo(json.dumps(submitted.data, indent=2, ensure_ascii=True))
    else:
        click.echo(render_submission(submitted, server), nl=False)
    sys.exit(0 if submitted.graded else EXIT_NOT_GRADED_YET)


@click.group(name="users")
def users_group() -> None:
    """The users of a course served by `grader serve`: add, list, remove, import, links, tokens."""


def open_service(course_dir: Path, db_url: str | None) -> Service:
    """The course's service for a command that writes (no grading workers), with the LMS's
    score hook when ``lti.yaml`` lists a platform: a due, an extension or a grade a command
    changes queues the students' LMS scores in its own transaction, as the server does."""
    from grader.service.lti.scores import database_hooks
    from grader.service.service import Service
    from grader.service.settings import Settings

    return Service(
        Settings(course_dir=course_dir, db_url=db_url), start_workers=False, hooks=database_hooks(course_dir)
    )


def open_database(course_dir: Path, db_url: str | None) -> Database:
    """The course's database alone, at the newest schema, in its private folder: what the
    ``users`` commands need. A Service also reads the course's problem files, readies its
    grading and hooks the LMS: seconds of start-up for one user added (issue 60 item 13)."""
    from grader.service.db import Database, Timeouts, private_folder
    from grader.service.location import data_dir, database_url, sqlite_path

    # the paths alone, not the service's Settings: pydantic is a tenth of the command's start-up
    private_folder(data_dir(course_dir), [sqlite_path(course_dir)] if db_url is None else [])
    database = Database(database_url(course_dir, db_url), timeouts=Timeouts())  # the server's defaults
    if _schema_versions(database) != schema_heads() or not _has_course(database):
        # a new course, or a grader newer than its database: made (migrated, the course read)
        # once as the server makes it
        open_service(course_dir, db_url).db.dispose()
    return database


_REVISION_LINE = re.compile(r"^(revision|down_revision)\b[^=\n]*=(.*)$", re.MULTILINE)


@functools.cache
def schema_heads() -> frozenset[str]:
    """The newest revisions of the service's migrations (Alembic's heads), read from their files'
    ``revision`` and ``down_revision`` lines without loading Alembic."""
    from grader.service.db import MIGRATIONS

    revisions: set[str] = set()
    replaced: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for key, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")):
            names = set(re.findall(r"[\"']([^\"']+)[\"']", value))
            (revisions if key == "revision" else replaced).update(names)
    return frozenset(revisions - replaced)


def _schema_versions(database: Database) -> frozenset[str]:
    """The revisions the database is at (none for a new one)."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with database.read() as connection:
            return frozenset(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except SQLAlchemyError:  # no table yet: a new database
        return frozenset()


def _has_course(database: Database) -> bool:
    from sqlalchemy import select

    from grader.service.models import Course

    with database.read() as connection:
        return connection.execute(select(Course.id).limit(1)).first() is not None


def _with_db(course_dir: Path, db_url: str | None, work: Callable[[Session], Any]) -> Any:
    """``work`` in one transaction on the course's database; an AccountError is the command's error."""
    from grader.service.crud.accounts import AccountError

    database = open_database(course_dir, db_url)
    try:
        with database.session() as db:
            return work(db)
    except AccountError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    finally:
        database.dispose()


def _link(url: str | None, secret: str) -> str:
    from grader.service.credentials import LINK_PATH, login_link

    return login_link(url, secret) if url else LINK_PATH + secret


@users_group.command(name="add")
@COURSE_ARG
@click.argument("names", nargs=-1)
@click.option(
    "--from",
    "names_file",
    type=click.File("r", encoding="utf-8"),
    help="Also add the names in this file, one a line (- for stdin).",
)
@click.option("--role", type=click.Choice(["student", "ta", "admin"]), default="student", show_default=True)
@click.option("--password", is_flag=True, help="Ask for a password (for the web pages).")
@click.option("--link", is_flag=True, help="Also print a one-time log-in link for the web pages.")
@URL_OPTION
@DAYS_OPTION
@DB_OPTION
def users_add(  # noqa: PLR0913 (one parameter per option of the command)
    course_dir: Path,
    names: tuple[str, ...],
    names_file: Any,
    role: str,
    password: bool,
    link: bool,
    url: str | None,
    days: float,
    db_url: str | None,
) -> None:
    """Add users NAMES (one or many, in one transaction: all or none) and print each one's bearer
    token (shown once): the token alone for one user, `name<TAB>token` a line for several; with
    --link, a one-time log-in link too."""
    from grader.service.credentials import issue_login_link
    from grader.service.crud.accounts import add_user

    everyone = [*names, *(line.strip() for line in names_file or () if line.strip())]
    if not everyone:
        raise click.UsageError("name the users to add: NAMES..., or --from FILE (one a line)")
    if password and len(everyone) > 1:
        raise click.UsageError("--password sets one user's password: add the others without it")
    secret = click.prompt("password", hide_input=True, confirmation_prompt=True) if password else None

    def work(db: Session) -> list[tuple[str, str, str]]:
        made = []
        for name in everyone:
            user, token = add_user(db, name, role, secret)
            made.append((name, token, issue_login_link(db, user, days) if link else ""))
        return made

    made = _with_db(course_dir, db_url, work)
    for name, token, once in made:
        click.echo(token if len(made) == 1 else f"{name}\t{token}")
        if once:
            click.echo(f"one-time log-in link (valid {days:g} days): {_link(url, once)}")


@users_group.command(name="list")
@COURSE_ARG
@click.option("--removed", is_flag=True, help="Also list removed users.")
@TEXT_OR_JSON
@DB_OPTION
def users_list(course_dir: Path, removed: bool, output_format: str, db_url: str | None) -> None:
    """List the course's users: name, role, whether they have a password, when added (and removed)."""
    from grader.service.crud.accounts import list_users

    lines = _with_db(course_dir, db_url, lambda db: list_users(db, removed))
    if output_format == "json":
        click.echo(json.dumps([vars(line) for line in lines], indent=2))
        return
    for line in lines:
        extra = f"  removed {line.removed}" if line.removed else ""
        password = "password" if line.password else "no password"
        click.echo(f"{line.name:<24} {line.role:<8} {password:<12} added {line.created}{extra}")


@users_group.command(name="remove")
@USER_ARGS
@DB_OPTION
def users_remove(course_dir: Path, name: str, db_url: str | None) -> None:
    """Remove user NAME: their tokens, sessions, links and password stop working; every version
    they handed in, its verdicts and hand grades are kept (`grader users add` brings them back)."""
    from grader.service.crud.accounts import remove_user

    _with_db(course_dir, db_url, lambda db: remove_user(db, name))
    click.echo(f"removed {name}; their hand-ins are kept")


@users_group.command(name="reset-password")
@USER_ARGS
@click.option("--none", "no_password", is_flag=True, help="Remove the password (log in by link or token).")
@DB_OPTION
def users_reset_password(course_dir: Path, name: str, no_password: bool, db_url: str | None) -> None:
    """Set a new password for NAME (asked twice); their open sessions end."""
    from grader.service.crud.accounts import reset_password

    secret = None if no_password else click.prompt("new password", hide_input=True, confirmation_prompt=True)
    _with_db(course_dir, db_url, lambda db: reset_password(db, name, secret))
    click.echo(f"password of {name} {'removed' if secret is None else 'changed'}; their sessions ended")


@users_group.command(name="new-token")
@USER_ARGS
@DB_OPTION
def users_new_token(course_dir: Path, name: str, db_url: str | None) -> None:
    """Print a new bearer token for NAME (shown once); their older tokens stop working."""
    from grader.service.crud.accounts import new_token

    click.echo(_with_db(course_dir, db_url, lambda db: new_token(db, name)))


@users_group.command(name="link")
@USER_ARGS
@URL_OPTION
@DAYS_OPTION
@DB_OPTION
def users_link(course_dir: Path, name: str, url: str | None, days: float, db_url: str | None) -> None:
    """Print a one-time log-in link for NAME: it starts one web session, once, and is void after."""
    from grader.service.crud.accounts import new_login_link

    click.echo(_link(url, _with_db(course_dir, db_url, lambda db: new_login_link(db, name, days))))


@users_group.command(name="import")
@COURSE_ARG
@click.argument("roster", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--links",
    "links_file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Write the new students' one-time log-in links here (CSV name,email,link; mode 0600).",
)
@URL_OPTION
@DAYS_OPTION
@DB_OPTION
def users_import(
    course_dir: Path, roster: Path, links_file: Path, url: str | None, days: float, db_url: str | None
) -> None:
    """Add the students of ROSTER (Moodle's or Canvas's CSV export, or `name,email`) the course
    does not have, and write their one-time log-in links to --links. A roster with a row that
    cannot be used adds nobody and lists the rows."""
    from grader.course.roster import AccountError, read_roster
    from grader.service.crud.accounts import import_roster

    try:
        students = read_roster(roster.read_bytes().decode("utf-8", "replace"))
    except AccountError as exc:
        click.echo(f"error: {roster}: {exc}", err=True)
        sys.exit(2)
    done = _with_db(course_dir, db_url, lambda db: import_roster(db, students, days))
    added = [d for d in done if d.added]
    _hand_out(course_dir, db_url, added, url, links_file)
    click.echo(
        f"{len(added)} students added, {len(done) - len(added)} already there; "
        f"their one-time log-in links (valid {days:g} days): {links_file}"
    )
    if not url:
        click.echo("the links are paths: give --url (the service's address) for whole links", err=True)


def _hand_out(
    course_dir: Path, db_url: str | None, added: list[Any], url: str | None, links_file: Path | None
) -> None:
    """The links as CSV (name,email,link) in ``links_file`` (mode 0600), or on standard output,
    then marked sent: a command stopped before this leaves them unsent (`users links --unsent`)."""
    from grader.core.files import write_atomic
    from grader.service.crud.accounts import mark_sent

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "email", "link"])
    writer.writerows([d.name, d.email, _link(url, d.secret)] for d in added)
    if links_file is None:
        click.echo(out.getvalue(), nl=False)
    else:
        write_atomic(links_file, out.getvalue(), mode=0o600)  # the links log students in
    _with_db(course_dir, db_url, lambda db: mark_sent(db, [d.name for d in added]))


@users_group.command(name="links")
@COURSE_ARG
@click.option("--unsent", is_flag=True, required=True, help="The students whose links were never handed out.")
@click.option(
    "--links",
    "links_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write them here (CSV name,email,link; mode 0600) instead of printing them.",
)
@URL_OPTION
@DAYS_OPTION
@DB_OPTION
def users_links(
    course_dir: Path, unsent: bool, links_file: Path | None, url: str | None, days: float, db_url: str | None
) -> None:
    """New one-time log-in links for the students whose links were minted but never handed out
    (a `users import` stopped after adding them, before its links file was written); their
    old links are void."""
    from grader.service.crud.accounts import reissue_unsent

    again = _with_db(course_dir, db_url, lambda db: reissue_unsent(db, days))
    _hand_out(course_dir, db_url, again, url, links_file)
    click.echo(f"{len(again)} students' links issued again (valid {days:g} days)", err=True)


@click.command(name="extend")
@COURSE_ARG
@click.argument("student")
@click.argument("assignment")
@click.argument("until")
@DB_OPTION
def extend_command(course_dir: Path, student: str, assignment: str, until: str, db_url: str | None) -> None:
    """Give STUDENT an extension of ASSIGNMENT until UNTIL.

    UNTIL is 2026-12-03T23:59 in the course's time zone (course.yaml's timezone), a time with
    its offset, or a date (the end of that day). It is the student's due, and their close
    moves as far; it is audited, and edits of course.yaml keep it (the later of course.yaml's
    extension and this one is in force)."""
    from grader.course.files import read_moment
    from grader.course.shown import shown_time
    from grader.service.crud.extensions import grant_extension
    from grader.service.errors import ApiError

    service = open_service(course_dir, db_url)
    try:
        loaded = service.course.get(assignment)
        if loaded is None:
            known = ", ".join(a.name for a in service.course.all()) or "none"
            raise click.UsageError(f"no assignment {assignment!r} (assignments: {known})")
        try:
            moment = read_moment(until, loaded.zone)
        except ValueError as exc:
            raise click.UsageError(f"UNTIL: {exc}") from None
        with service.db.session() as db:
            grant_extension(db, loaded.id, student, moment, None)
    except ApiError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    finally:
        service.db.dispose()
    click.echo(f"{student} has until {shown_time(moment, loaded.zone)} for {assignment}")
