"""The course folder's files as read (``course.yaml``: time zone, each assignment's deadlines and
late policy; ``problems/*.yaml`` and ``problems/rubric.yaml``: :class:`CourseFolder`), and an
assignment as loaded from the database. No database here: :mod:`grader.service.course` keeps the
files and the database in step."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import socket
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from grader.core.yamlio import YamlError, load_with_positions, locate
from grader.course.late import Penalty, close_for
from grader.loading import (
    RUBRIC_FILE,
    ProblemFileError,
    RubricFile,
    is_problem_file,
    parse_problem_set,
    read_rubric_file,
)
from grader.spec import ProblemSet

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
        return dataclasses.asdict(self)


class CourseFileError(Exception):
    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class CanvasLink(BaseModel):
    """``canvas: {id: 4242, title: HW2}``: the Canvas assignment the export fills."""

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
    name: str | None = None
    deadlines: dict[str, Deadlines] = field(default_factory=dict)
    timezone: str | None = None


class _RegradeFields(BaseModel):  # regrade_requests: {until: 2026-12-20}
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
        until = written.regrade_requests.until if written.regrade_requests else None
        regrade_until = _moment(positions, (*where, "regrade_requests", "until"), until, zone)
        extensions = {
            student: moment
            for student, value in written.extensions.items()
            if (moment := _moment(positions, (*where, "extensions", student), value, zone)) is not None
        }
        deadlines[name] = Deadlines(
            due, release, extensions, close, written.penalty, written.canvas, written.anonymous, regrade_until
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
    """A due or release as written in course.yaml, in UTC: a time without an offset is in ``zone``,
    a bare date the end of that day there (without a zone: ValueError, saying what to write)."""
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
    """``local`` on the clocks of ``zone``, in UTC (a time shown twice is the first; one skipped
    is refused)."""
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
        """Their extension, else the assignment's due."""
        return self.extensions.get(student, self.due)

    def close_for(self, student: str) -> dt.datetime | None:
        return close_for(self.close, self.due, self.due_for(student))

    def released(self, now: dt.datetime) -> bool:
        """Every verdict may be shown: after ``release`` (else ``due``; at once without either)."""
        moment = self.release or self.due
        return moment is None or now >= moment


@dataclass(frozen=True)
class FolderFile:
    """course.yaml (empty text when there is none) or a problem file as read now: loaded, or what
    is wrong with it."""

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
    """A folder's file is the version in force (SAME); one to put in force (TAKE: new to the
    course, or changed in this folder since, an edit taken back included); or one the course
    has moved past that this folder still holds (OLDER)."""
    if digest == in_force:
        return SAME
    here = [version.digest for version in history if version.folder == folder]
    if here and here[-1] != digest:
        return TAKE
    if any(version.digest == digest for version in history):
        return OLDER
    return TAKE


def older_notice(file: FolderFile, history: list[Version], what: str) -> FileNotice:
    """What a TA reads of a folder's file the course has moved past (:data:`OLDER`)."""
    taken = [version for version in history if version.taken]
    source = ""
    if taken and taken[-1].folder:
        source = f", taken from {taken[-1].folder} at {taken[-1].at:%Y-%m-%d %H:%M} UTC"
    message = (
        f"an older version than the one in force{source}: {what} stay, and grading uses the "
        "database's text; bring this folder up to date (git pull, or copy the newer file here)"
    )
    return FileNotice(file.name, None, message)


def policy_kept(
    deadlines: Deadlines, timezone: str | None, rubric: Mapping[str, Any] | None
) -> dict[str, Any]:
    """What the database keeps of an assignment's course.yaml entry beside its due, release and
    extensions (``assignments.policy``), and the rubric items in force: :func:`policy_read` reads it."""
    return {
        "close": deadlines.close.isoformat() if deadlines.close else None,
        "penalty": deadlines.penalty.model_dump(exclude_none=True) if deadlines.penalty else None,
        "canvas": deadlines.canvas.model_dump() if deadlines.canvas else None,
        "timezone": timezone,
        **({"anonymous": True} if deadlines.anonymous else {}),
        **({"regrade_until": deadlines.regrade_until.isoformat()} if deadlines.regrade_until else {}),
        **({"rubric": rubric} if rubric else {}),
    }


def policy_read(policy: Mapping[str, Any]) -> dict[str, Any]:
    """The :class:`LoadedAssignment` fields a kept policy (:func:`policy_kept`) gives."""
    zone_name = policy.get("timezone")
    return {
        "close": dt.datetime.fromisoformat(policy["close"]) if policy.get("close") else None,
        "penalty": Penalty.model_validate(policy["penalty"]) if policy.get("penalty") else None,
        "canvas": CanvasLink.model_validate(policy["canvas"]) if policy.get("canvas") else None,
        "zone": zoneinfo.ZoneInfo(zone_name) if zone_name else None,
        "anonymous": bool(policy.get("anonymous")),
        "regrade_until": dt.datetime.fromisoformat(policy["regrade_until"])
        if policy.get("regrade_until")
        else None,
        "rubric": policy.get("rubric") or {},
    }


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


class CourseFolder:
    """The course folder as this machine reads it: course.yaml, the problem files and
    problems/rubric.yaml; ``name`` (``host:/path``) tells its versions from another folder's."""

    def __init__(self, course_dir: Path):
        self.course_dir = course_dir
        self.name = f"{socket.gethostname()}:{course_dir.resolve()}"
        self.rubric_path = course_dir / PROBLEMS / RUBRIC_FILE  # the grading view's rubric items

    def stamps(self) -> dict[Path, tuple[int, int]]:
        files = [*self.problem_paths(), self.course_dir / COURSE_FILE, self.rubric_path]
        return {path: _stamp(path) for path in files}

    def problem_paths(self) -> list[Path]:
        return [p for p in sorted((self.course_dir / PROBLEMS).glob("*.y*ml")) if is_problem_file(p)]

    def rubrics(self, notices: list[FileNotice]) -> RubricFile | None:
        """problems/rubric.yaml as the folder has it; None (and a notice) when it does not load."""
        try:
            return read_rubric_file(self.rubric_path.parent)
        except ProblemFileError as exc:
            problem = exc.problems[0]
            notices.append(FileNotice(f"{PROBLEMS}/{RUBRIC_FILE}", problem.line, problem.message))
            return None

    def rubric_for(
        self, problem: FolderFile, rubrics: RubricFile | None, notices: list[FileNotice]
    ) -> dict[str, list[dict[str, Any]]] | None:
        """What the rubric file adds to the problem file's assignment (None: it does not load with
        it, or not at all: what is in force stays)."""
        assert isinstance(problem.loaded, ProblemSet)
        name = problem.loaded.assignment
        added = rubrics.get(name, {}) if rubrics is not None else None
        if added:
            try:
                parse_problem_set(problem.text, self.course_dir / problem.name, {name: added})
            except ProblemFileError as exc:
                message = f"the items for {name} do not load: {exc.problems[0].message}"
                notices.append(FileNotice(f"{PROBLEMS}/{RUBRIC_FILE}", None, message))
                return None
        return added

    def read(self) -> tuple[FolderFile, list[FolderFile]]:
        problems = []
        for path in self.problem_paths():
            try:
                problems.append(read_problem_file(self.course_dir, path))
            except OSError as exc:  # removed while being read: the next round sees it gone
                log.warning("problem file %s not read: %s", path, exc)
        return read_config_file(self.course_dir), problems


def _stamp(path: Path) -> tuple[int, int]:
    try:
        info = path.stat()
    except OSError:
        return (0, 0)
    return (info.st_mtime_ns, info.st_size)


def spec_with_rubric(text: str, path: str, name: str, rubric: Mapping[str, Any]) -> ProblemSet:
    """A problem text with the rubric items a rubric file adds to it (left out, logged, should
    they no longer load with it)."""
    if rubric:
        try:
            return parse_problem_set(text, path, {name: dict(rubric)})
        except ProblemFileError as exc:
            log.error("the rubric items of %s are left out: %s", name, exc)
    return parse_problem_set(text, path)


def describe(loaded: LoadedAssignment) -> dict[str, Any]:
    return {
        "name": loaded.name,
        "title": loaded.spec.title,
        "due": loaded.due.isoformat() if loaded.due else None,
        "release": loaded.release.isoformat() if loaded.release else None,
        "parts": sum(1 for _ in loaded.spec.iter_parts()),
    }
