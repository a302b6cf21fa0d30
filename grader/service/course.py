"""The course folder: ``problems/*.yaml`` (one assignment each) and ``course.yaml`` (the
course's time zone and deadlines), kept in step with the database.

The database holds what is in force, for every server that shares it: each assignment's
problem text (what is graded) and its deadlines. A file of the folder is put in force when it
is a version the course has not had, or when it changed in this folder since the version this
folder held last (an edit, or an edit taken back); a file that is a version the course has
since moved past (another server's folder holds the newer one) is left alone and named as
older. Each version seen is a row of ``course_file_versions``: folders are told apart by
``host:/path``, versions by their SHA-256, never by a modification time.

A file that does not load changes nothing: what is in force stays, and the file, line and
message are in :attr:`CourseState.notices`, which ``/ta`` and ``/healthz`` show. A changed
problem file queues a regrade of every submission of the assignment, which the verdict store
makes cheap: only the parts that changed are decided again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import socket
import threading
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grader.core.yamlio import YamlError, load_with_positions, locate
from grader.loading import (
    RUBRIC_FILE,
    ProblemFileError,
    RubricFile,
    is_problem_file,
    parse_problem_set,
    read_rubric_file,
)
from grader.service import queue
from grader.service.counting import Penalty, close_for
from grader.service.db import Database
from grader.service.models import Assignment, Course, CourseFileVersion, Submission, extension_for, utcnow
from grader.spec import ProblemSet

# Called with the assignment, its rubric items in force before and after, when problems/rubric.yaml
# puts items in force (edited by hand, or written by a server stopped before its commit).
RubricFileHook = Callable[[Session, Assignment, Mapping[str, Any], Mapping[str, Any]], None]
log = logging.getLogger("grader.service")
COURSE_FILE = "course.yaml"
PROBLEMS = "problems"
# A bare date's due is its last microsecond in the course's zone: a hand-in at any time of
# that day is on time (late is "handed in after due"), one at midnight is not.
END_OF_DAY = dt.time(23, 59, 59, 999999)
ZONE_HINT = (
    "put the course's zone in course.yaml (timezone: Europe/Berlin, an IANA name), "
    "or give the time with its offset (2026-12-01T17:00:00+01:00, or Z for UTC)"
)


@dataclass(frozen=True)
class FileNotice:
    """A file of the course folder that is not in force, and why: what a TA acts on."""

    file: str  # as the TA finds it in the folder: course.yaml, problems/a1.yaml
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}{'' if self.line is None else f':{self.line}'}: {self.message}"

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "message": self.message}


class CourseFileError(Exception):
    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


class CanvasLink(BaseModel):
    """course.yaml's ``canvas: {id: 4242, title: HW2}``: the Canvas assignment the export fills."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: int = Field(gt=0)
    title: str = Field(min_length=1, max_length=300)


@dataclass(frozen=True)
class Deadlines:
    due: dt.datetime | None = None  # aware, UTC
    release: dt.datetime | None = None
    extensions: dict[str, dt.datetime] = field(default_factory=dict)  # student -> their due
    close: dt.datetime | None = None  # hand-ins refused after it
    penalty: Penalty | None = None
    canvas: CanvasLink | None = None
    anonymous: bool = False  # the grading view shows pseudonyms, not the students' names
    regrade_until: dt.datetime | None = None  # regrade requests taken until then (none without it)


@dataclass(frozen=True)
class CourseConfig:
    """``COURSE_DIR/course.yaml``: the course's name, time zone and each assignment's deadlines."""

    name: str | None = None
    deadlines: dict[str, Deadlines] = field(default_factory=dict)
    timezone: str | None = None


class _RegradeFields(BaseModel):
    """``regrade_requests: {until: 2026-12-20}``: students ask for regrades until then."""

    model_config = ConfigDict(extra="forbid")
    until: str


class _DeadlineFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    due: str | None = None  # the YAML loader keeps a date or time as the text written
    release: str | None = None
    close: str | None = None
    penalty: Penalty | None = None
    canvas: CanvasLink | None = None
    anonymous: bool = False
    regrade_requests: _RegradeFields | None = None
    extensions: dict[str, str] = {}  # student -> their due


class _CourseFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    timezone: str | None = None
    assignments: dict[str, _DeadlineFields] = {}


def parse_course_config(text: str) -> CourseConfig:
    """course.yaml's text; :class:`CourseFileError` with the line of the first thing wrong."""
    try:
        data, positions = load_with_positions(text)
    except YamlError as exc:
        raise CourseFileError(exc.line, exc.message) from None
    try:
        fields = _CourseFields.model_validate({} if data is None else data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        loc = tuple(error["loc"])
        what = "unknown key (check the spelling)" if error["type"] == "extra_forbidden" else error["msg"]
        raise _error_at(positions, loc, f"{'.'.join(map(str, loc)) or 'course.yaml'}: {what}") from None
    zone = None
    if fields.timezone is not None:
        try:
            zone = zoneinfo.ZoneInfo(fields.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            message = f"timezone: {fields.timezone!r} is not an IANA time zone (such as Europe/Berlin)"
            raise _error_at(positions, ("timezone",), message) from None
    deadlines = {}
    for name, written in fields.assignments.items():
        where = ("assignments", name)
        due, release, close = (
            _moment(positions, (*where, key), getattr(written, key), zone)
            for key in ("due", "release", "close")
        )
        if close is not None and due is not None and close < due:
            raise _error_at(positions, (*where, "close"), f"{'.'.join(where)}.close: is before the due")
        if written.penalty is not None and due is None:
            message = f"{'.'.join(where)}.penalty: a penalty for lateness needs a due"
            raise _error_at(positions, (*where, "penalty"), message)
        regrades = written.regrade_requests
        regrade_until = (
            _moment(positions, (*where, "regrade_requests", "until"), regrades.until, zone)
            if regrades
            else None
        )
        extensions = {
            student: _moment(positions, (*where, "extensions", student), value, zone)
            for student, value in written.extensions.items()
        }
        deadlines[name] = Deadlines(
            due,
            release,
            {k: v for k, v in extensions.items() if v is not None},
            close,
            written.penalty,
            written.canvas,
            written.anonymous,
            regrade_until,
        )
    return CourseConfig(fields.name, deadlines, fields.timezone)


def _moment(
    positions: dict[Any, Any], loc: tuple[Any, ...], written: str | None, zone: zoneinfo.ZoneInfo | None
) -> dt.datetime | None:
    try:
        return None if written is None else read_moment(written, zone)
    except ValueError as exc:
        raise _error_at(positions, loc, f"{'.'.join(map(str, loc))}: {exc}") from None


def _error_at(positions: dict[Any, Any], loc: tuple[Any, ...], message: str) -> CourseFileError:
    position = locate(positions, loc)
    return CourseFileError(position.line if position else None, message)


def read_moment(written: str, zone: zoneinfo.ZoneInfo | None) -> dt.datetime:
    """A due or release as written in course.yaml, in UTC: a time with an offset is that time;
    one without is in ``zone``; a bare date is the end of that day in ``zone``. Without a zone,
    only a time with an offset is read (ValueError, saying what to write)."""
    text = written.strip()
    try:
        day: dt.date | None = dt.date.fromisoformat(text)
    except ValueError:
        day = None
    if day is not None:
        if zone is None:
            raise ValueError(f"{text} is a date, whose end depends on the time zone: {ZONE_HINT}")
        return _in_zone(dt.datetime.combine(day, END_OF_DAY), zone)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date or a time: write 2026-12-01 (the end of that day), "
            "2026-12-01T17:00 or 2026-12-01T17:00:00+01:00"
        ) from None
    if moment.tzinfo is not None:
        return moment.astimezone(dt.UTC)
    if zone is None:
        raise ValueError(f"{text} has no time zone: {ZONE_HINT}")
    return _in_zone(moment, zone)


def _in_zone(local: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """``local`` on the clocks of ``zone``, in UTC (a time the clocks show twice, as summer
    time ends, is the first); a time they skip is refused."""
    moment = local.replace(tzinfo=zone).astimezone(dt.UTC)
    if moment.astimezone(zone).replace(tzinfo=None) != local:
        raise ValueError(f"{local.isoformat()} does not exist in {zone.key}: the clocks jump past it")
    return moment


def problem_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class LoadedAssignment:
    id: int
    name: str
    problem_hash: str
    spec: ProblemSet
    due: dt.datetime | None
    release: dt.datetime | None
    extensions: Mapping[str, dt.datetime] = field(default_factory=dict)  # student -> their due
    close: dt.datetime | None = None
    penalty: Penalty | None = None
    canvas: CanvasLink | None = None
    zone: zoneinfo.ZoneInfo | None = None  # the course's time zone (course.yaml's timezone)
    anonymous: bool = False  # course.yaml's ``anonymous: true``: graded without the students' names
    regrade_until: dt.datetime | None = None  # course.yaml's ``regrade_requests: {until: ...}``
    # the rubric items problems/rubric.yaml adds (part -> items), merged into ``spec``
    rubric: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict)

    def due_for(self, student: str) -> dt.datetime | None:
        """The due in force for ``student``: their extension, else the assignment's due."""
        return self.extensions.get(student, self.due)

    def close_for(self, student: str) -> dt.datetime | None:
        """When hand-ins of ``student`` are refused from: the close, moved by their extension."""
        return close_for(self.close, self.due, self.due_for(student))

    def released(self, now: dt.datetime) -> bool:
        """Every verdict may be shown: after ``release`` (``due`` when no release is set;
        at once for an assignment with neither)."""
        moment = self.release or self.due
        return moment is None or now >= moment


@dataclass(frozen=True)
class FolderFile:
    """One file of the course folder as read now: course.yaml (empty text when there is none)
    or a problem file, with its content once loaded or what is wrong with it."""

    name: str  # relative to the course folder
    key: str  # its entry in course_file_versions: course.yaml, or assignment:<name>
    text: str
    digest: str
    loaded: CourseConfig | ProblemSet | None
    error: FileNotice | None = None


@dataclass(frozen=True)
class Version:
    digest: str
    folder: str
    taken: bool
    at: dt.datetime


SAME, TAKE, OLDER = "same", "take", "older"


def decide(digest: str, in_force: str | None, history: list[Version], folder: str) -> str:
    """What a folder's file is to the course: the version in force (SAME); one to put in force
    (TAKE: new to the course, or changed in this folder since what it held last, an edit taken
    back included); or a version the course has moved past that this folder still holds (OLDER)."""
    if digest == in_force:
        return SAME
    here = [version.digest for version in history if version.folder == folder]
    if here and here[-1] != digest:
        return TAKE
    if any(version.digest == digest for version in history):
        return OLDER
    return TAKE


def read_config_file(course_dir: Path) -> FolderFile:
    path = course_dir / COURSE_FILE
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    try:
        config: CourseConfig | None = parse_course_config(text)
        error = None
    except CourseFileError as exc:
        config, error = None, FileNotice(COURSE_FILE, exc.line, exc.message)
    return FolderFile(COURSE_FILE, COURSE_FILE, text, problem_digest(text), config, error)


def read_problem_file(course_dir: Path, path: Path) -> FolderFile:
    name = path.relative_to(course_dir).as_posix()
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        spec = parse_problem_set(text, path)
    except ProblemFileError as exc:
        first, more = exc.problems[0], len(exc.problems) - 1
        message = first.message + (f" (and {more} more: {exc.render()})" if more else "")
        return FolderFile(name, "", text, problem_digest(text), None, FileNotice(name, first.line, message))
    return FolderFile(name, f"assignment:{spec.assignment}", text, problem_digest(text), spec)


class CourseState:
    """The assignments in force, by name, as the database has them; :meth:`sync` brings the
    course folder's files in (the grading process), :meth:`refresh` re-reads the database and
    :meth:`check_folder` says what of the folder is not in force without writing (the server)."""

    def __init__(
        self, db: Database, course_dir: Path, course_name: str, on_rubric_file: RubricFileHook | None = None
    ):
        self.db = db
        self.course_dir = course_dir
        self.course_name = course_name
        self.on_rubric_file = on_rubric_file
        self.folder = f"{socket.gethostname()}:{course_dir.resolve()}"
        self.notices: tuple[FileNotice, ...] = ()  # files of the folder not in force, and why
        self._lock = threading.Lock()
        self._by_name: dict[str, LoadedAssignment] = {}
        self._by_hash: dict[str, ProblemSet] = {}
        self._seen: dict[Path, tuple[int, int]] = {}
        self._checked: tuple[Any, ...] = ()
        self._db_stamp: tuple[tuple[Any, ...], ...] = ()
        self.course_id = 0

    def get(self, name: str) -> LoadedAssignment | None:
        return self._by_name.get(name)

    def zone(self) -> zoneinfo.ZoneInfo | None:
        """The course's time zone (course.yaml's ``timezone``), for pages of no one assignment."""
        return next((a.zone for a in self.all() if a.zone is not None), None)

    def all(self) -> list[LoadedAssignment]:
        return sorted(self._by_name.values(), key=lambda a: a.name)

    def by_id(self, assignment_id: int) -> LoadedAssignment | None:
        return next((a for a in self._by_name.values() if a.id == assignment_id), None)

    def sync(self, force: bool = False) -> list[str]:
        """Bring what changed in the course folder into the database; the names of the
        assignments whose problem text changed (their submissions are queued again)."""
        with self._lock:
            stamps = self._folder_stamps()
            if not force and stamps == self._seen:
                return []
            config, problems = self._read_folder()
            with self.db.session() as db:
                name = config.loaded.name if isinstance(config.loaded, CourseConfig) else None
                self.course_id = self._course(db, name or self.course_name).id
                changed, notices = self._bring_in(db, config, problems, write=True)
            self._seen = stamps  # only once written: a failed round is tried again
            self._tell(notices)
            self._load_all()
            return changed

    def refresh(self) -> None:
        """Take the assignments as the database has them now, without reading the folder:
        what another process or server put in force. One small query when nothing changed."""
        with self._lock:
            with self.db.session(read_only=True) as db:
                stamp = tuple(
                    tuple(row)
                    for row in db.execute(
                        select(Assignment.id, Assignment.problem_hash, Assignment.updated_at)
                        .where(Assignment.course_id == self.course_id)
                        .order_by(Assignment.id)
                    )
                )
            if stamp != self._db_stamp:
                self._load_all()

    def check_folder(self) -> None:
        """Set :attr:`notices` from the folder and the database as they are now, writing
        nothing: for a server whose grading process brings the folder in."""
        with self._lock:
            with self.db.session(read_only=True) as db:
                newest = db.scalar(
                    select(func.max(CourseFileVersion.id)).where(
                        CourseFileVersion.course_id == self.course_id
                    )
                )
                stamp = (self._folder_stamps(), newest)
                if stamp == self._checked:
                    return
                config, problems = self._read_folder()
                _, notices = self._bring_in(db, config, problems, write=False)
                db.rollback()
            self._checked = stamp
            self.notices = tuple(notices)

    def _folder_stamps(self) -> dict[Path, tuple[int, int]]:
        files = [*self._problem_paths(), self.course_dir / COURSE_FILE, self.rubric_path]
        return {path: _stamp(path) for path in files}

    @property
    def rubric_path(self) -> Path:
        """The rubric items added from the grading view: problems/rubric.yaml."""
        return self.course_dir / PROBLEMS / RUBRIC_FILE

    def _problem_paths(self) -> list[Path]:
        return [p for p in sorted((self.course_dir / PROBLEMS).glob("*.y*ml")) if is_problem_file(p)]

    def _read_rubrics(self, notices: list[FileNotice]) -> RubricFile | None:
        """problems/rubric.yaml as the folder has it; None (and a notice) when it does not load."""
        try:
            return read_rubric_file(self.rubric_path.parent)
        except ProblemFileError as exc:
            problem = exc.problems[0]
            notices.append(FileNotice(f"{PROBLEMS}/{RUBRIC_FILE}", problem.line, problem.message))
            return None

    def _rubric_for(
        self, problem: FolderFile, rubrics: RubricFile | None, notices: list[FileNotice]
    ) -> dict[str, list[dict[str, Any]]] | None:
        """What the rubric file adds to the problem file's assignment, once checked against the
        problem file (None: the rubric file does not load with it, what is in force stays)."""
        assert isinstance(problem.loaded, ProblemSet)
        name = problem.loaded.assignment
        if rubrics is None:
            return None
        added = rubrics.get(name, {})
        if added:
            try:
                parse_problem_set(problem.text, self.course_dir / problem.name, {name: added})
            except ProblemFileError as exc:
                message = f"the items for {name} do not load: {exc.problems[0].message}"
                notices.append(FileNotice(f"{PROBLEMS}/{RUBRIC_FILE}", None, message))
                return None
        return added

    def _read_folder(self) -> tuple[FolderFile, list[FolderFile]]:
        problems = []
        for path in self._problem_paths():
            try:
                problems.append(read_problem_file(self.course_dir, path))
            except OSError as exc:  # removed while being read: the next round sees it gone
                log.warning("problem file %s not read: %s", path, exc)
        return read_config_file(self.course_dir), problems

    def _bring_in(
        self, db: Session, config: FolderFile, problems: list[FolderFile], write: bool
    ) -> tuple[list[str], list[FileNotice]]:
        """Decide each file of the folder against what is in force and, with ``write``, put
        in force those to take; the assignments regraded, and the files not in force."""
        history = self._history(db)
        notices: list[FileNotice] = []
        in_force = self._config_in_force(db, config, history[COURSE_FILE], write, notices)
        rubrics = self._read_rubrics(notices)
        added: dict[str, dict[str, list[dict[str, Any]]] | None] = {}
        rows = {
            row.name: row
            for row in db.scalars(select(Assignment).where(Assignment.course_id == self.course_id))
        }
        changed = []
        for problem in problems:
            if not isinstance(problem.loaded, ProblemSet):
                notices.append(problem.error or FileNotice(problem.name, None, "not loaded"))
                continue
            name = problem.loaded.assignment
            added[name] = self._rubric_for(problem, rubrics, notices)
            row = rows.get(name)
            if row is None and in_force is None:
                message = (
                    f"assignment {name} is taken in once course.yaml, which holds its deadlines, is in force"
                )
                notices.append(FileNotice(problem.name, None, message))
                continue
            decision = decide(
                problem.digest, row.problem_hash if row else None, history[problem.key], self.folder
            )
            if decision == OLDER:
                notices.append(
                    self._older(problem, history[problem.key], f"the problem text in force for {name}")
                )
                continue
            if not write:
                continue
            if decision == TAKE:
                rows[name] = self._take_problem(db, row, problem, problem.loaded)
                if row is not None:
                    changed.append(name)
            self._record(db, problem, history[problem.key], taken=decision == TAKE)
        if in_force is not None and write:
            rubrics_before = {name: (row.policy or {}).get("rubric") for name, row in rows.items()}
            _set_deadlines(rows.values(), in_force, added)
            db.flush()
            for name, row in rows.items():
                rubric_after = (row.policy or {}).get("rubric")
                if rubric_after != rubrics_before[name] and name not in changed:
                    if self.on_rubric_file is not None:  # its audit rows, in this transaction
                        self.on_rubric_file(db, row, rubrics_before[name] or {}, rubric_after or {})
                    self._regrade(db, row, "its rubric items changed in problems/rubric.yaml")
        return changed, notices

    def _config_in_force(
        self, db: Session, config: FolderFile, history: list[Version], write: bool, notices: list[FileNotice]
    ) -> CourseConfig | None:
        """The folder's course.yaml when it loads and is not older than the one in force."""
        if not isinstance(config.loaded, CourseConfig):
            notices.append(config.error or FileNotice(COURSE_FILE, None, "not loaded"))
            return None
        taken = [version.digest for version in history if version.taken]
        decision = decide(config.digest, taken[-1] if taken else None, history, self.folder)
        if decision == OLDER:
            notices.append(self._older(config, history, "the deadlines in force"))
            return None
        if write:
            self._record(db, config, history, taken=decision == TAKE)
        return config.loaded

    def _older(self, file: FolderFile, history: list[Version], what: str) -> FileNotice:
        taken = [version for version in history if version.taken]
        source = ""
        if taken and taken[-1].folder:
            source = f", taken from {taken[-1].folder} at {taken[-1].at:%Y-%m-%d %H:%M} UTC"
        message = (
            f"an older version than the one in force{source}: {what} stay, and grading uses the "
            "database's text; bring this folder up to date (git pull, or copy the newer file here)"
        )
        return FileNotice(file.name, None, message)

    def _history(self, db: Session) -> defaultdict[str, list[Version]]:
        history: defaultdict[str, list[Version]] = defaultdict(list)
        rows = db.execute(
            select(CourseFileVersion)
            .where(CourseFileVersion.course_id == self.course_id)
            .order_by(CourseFileVersion.id)
        ).scalars()
        for row in rows:
            history[row.file].append(Version(row.digest, row.folder, row.taken, row.at))
        return history

    def _record(self, db: Session, file: FolderFile, history: list[Version], taken: bool) -> None:
        """Note the version this folder holds, once (the newest row of a folder is what it holds)."""
        here = [version.digest for version in history if version.folder == self.folder]
        if taken or not here or here[-1] != file.digest:
            db.add(
                CourseFileVersion(
                    course_id=self.course_id,
                    file=file.key,
                    digest=file.digest,
                    folder=self.folder,
                    taken=taken,
                )
            )

    def _take_problem(
        self, db: Session, row: Assignment | None, file: FolderFile, spec: ProblemSet
    ) -> Assignment:
        """Put the folder's problem text in force; an assignment's changed text queues its regrades."""
        if row is None:
            row = Assignment(course_id=self.course_id, name=spec.assignment)
            db.add(row)
        row.title, row.source_path = spec.title, str(self.course_dir / file.name)
        row.problem_hash, row.problem_text, row.updated_at = file.digest, file.text, utcnow()
        db.flush()
        if row.id is not None:
            self._regrade(db, row, f"problem file {file.name} changed")
        return row

    def _regrade(self, db: Session, row: Assignment, why: str) -> None:
        """Queue a regrade of every submission of the assignment (the verdict store decides
        again only what changed; the hand grades are applied with the rubric in force)."""
        submissions = db.scalars(select(Submission.id).where(Submission.assignment_id == row.id)).all()
        if submissions:
            log.info("%s: regrading %s", why, row.name)
        for submission_id in submissions:
            queue.enqueue(db, submission_id, kind="regrade")

    def _course(self, db: Session, name: str) -> Course:
        course = db.scalar(select(Course).order_by(Course.id))
        if course is None:
            course = Course(name=name)
            db.add(course)
            db.flush()
        return course

    def _tell(self, notices: list[FileNotice]) -> None:
        """Log each file newly not in force (once, not at every re-read), and keep the list."""
        for notice in notices:
            if notice not in self.notices:
                if notice.file == COURSE_FILE:
                    log.error("course.yaml not in force, the deadlines in force stay: %s", notice)
                else:
                    log.error("problem file not loaded, the problem text in force stays: %s", notice)
        for notice in self.notices:
            if notice not in notices:
                log.info("course file %s is in force again", notice.file)
        self.notices = tuple(notices)
        self._checked = ()

    def _spec(self, row: Assignment, rubric: dict[str, Any]) -> ProblemSet:
        """The problem text in force with the rubric items in force (read once per version)."""
        key = row.problem_hash + (json.dumps(rubric, sort_keys=True) if rubric else "")
        found = self._by_hash.get(key)
        if found is None:
            found = spec_with_rubric(row.problem_text, row.source_path, row.name, rubric)
            self._by_hash[key] = found
        return found

    def _load_all(self) -> None:
        with self.db.session(read_only=True) as db:
            rows = db.scalars(
                select(Assignment).where(Assignment.course_id == self.course_id).order_by(Assignment.id)
            ).all()
        loaded: dict[str, LoadedAssignment] = {}
        for row in rows:
            rubric = (row.policy or {}).get("rubric") or {}
            spec = self._spec(row, rubric)
            extensions = {
                student: extension_for(row, student)
                for student in {*(row.extensions or {}), *(row.granted_extensions or {})}
            }
            policy = row.policy or {}
            zone_name = policy.get("timezone")
            loaded[row.name] = LoadedAssignment(
                row.id,
                row.name,
                row.problem_hash,
                spec,
                row.due,
                row.release,
                {student: due for student, due in extensions.items() if due is not None},
                dt.datetime.fromisoformat(policy["close"]) if policy.get("close") else None,
                Penalty.model_validate(policy["penalty"]) if policy.get("penalty") else None,
                CanvasLink.model_validate(policy["canvas"]) if policy.get("canvas") else None,
                zoneinfo.ZoneInfo(zone_name) if zone_name else None,
                bool(policy.get("anonymous")),
                dt.datetime.fromisoformat(policy["regrade_until"]) if policy.get("regrade_until") else None,
                rubric,
            )
        self._by_name = loaded
        self._db_stamp = tuple((row.id, row.problem_hash, row.updated_at) for row in rows)


def spec_with_rubric(text: str, path: str, name: str, rubric: Mapping[str, Any]) -> ProblemSet:
    """A problem text with the rubric items a rubric file adds to it; without them (logged)
    should they no longer load with it."""
    if rubric:
        try:
            return parse_problem_set(text, path, {name: dict(rubric)})
        except ProblemFileError as exc:
            log.error("the rubric items of %s are left out: %s", name, exc)
    return parse_problem_set(text, path)


def _set_deadlines(rows: Any, config: CourseConfig, added: Mapping[str, Mapping[str, Any] | None]) -> None:
    """Each assignment's deadlines from ``config``, and the rubric items ``added`` to it (by
    name; None, or no entry, keeps the items in force)."""
    for row in rows:
        new = added.get(row.name)
        rubric = (row.policy or {}).get("rubric") if new is None else new
        deadlines = config.deadlines.get(row.name, Deadlines())
        extensions = {student: due.isoformat() for student, due in sorted(deadlines.extensions.items())}
        policy = {
            "close": deadlines.close.isoformat() if deadlines.close else None,
            "penalty": deadlines.penalty.model_dump(exclude_none=True) if deadlines.penalty else None,
            "canvas": deadlines.canvas.model_dump() if deadlines.canvas else None,
            "timezone": config.timezone,
            **({"anonymous": True} if deadlines.anonymous else {}),
            **({"regrade_until": deadlines.regrade_until.isoformat()} if deadlines.regrade_until else {}),
            **({"rubric": rubric} if rubric else {}),
        }
        now = (row.due, row.release, row.extensions or {}, row.policy or {})
        if now != (deadlines.due, deadlines.release, extensions, policy):
            row.due, row.release, row.extensions, row.policy = (
                deadlines.due,
                deadlines.release,
                extensions,
                policy,
            )
            row.updated_at = utcnow()


def _stamp(path: Path) -> tuple[int, int]:
    try:
        info = path.stat()
    except OSError:
        return (0, 0)
    return (info.st_mtime_ns, info.st_size)


def describe(loaded: LoadedAssignment) -> dict[str, Any]:
    return {
        "name": loaded.name,
        "title": loaded.spec.title,
        "due": loaded.due.isoformat() if loaded.due else None,
        "release": loaded.release.isoformat() if loaded.release else None,
        "parts": sum(1 for _ in loaded.spec.iter_parts()),
    }
