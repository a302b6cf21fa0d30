"""The course folder: ``problems/*.yaml`` (one assignment each) and ``course.yaml``
(deadlines), kept in step with the database.

A problem file is read with the CLI's loader. An assignment row holds the text it
is graded with now and its digest; when a TA edits the file, the new text is
taken (a file that no longer loads is refused and the old one kept, with a log
line naming the file, line and column) and every submission of the assignment
is queued for a regrade, which the verdict store makes cheap: only the parts that
changed are decided again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.loading import ProblemFileError, parse_problem_set
from grader.service import queue
from grader.service.db import Assignment, Course, Database, Submission, utcnow
from grader.spec import ProblemSet

log = logging.getLogger("grader.service")
COURSE_FILE = "course.yaml"


class Deadlines(BaseModel):
    model_config = ConfigDict(extra="forbid")
    due: dt.datetime | None = None
    release: dt.datetime | None = None


class CourseConfig(BaseModel):
    """``COURSE_DIR/course.yaml``: the course's name and each assignment's deadlines."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    assignments: dict[str, Deadlines] = {}


def read_course_config(course_dir: Path) -> CourseConfig:
    path = course_dir / COURSE_FILE
    if not path.exists():
        return CourseConfig()
    return CourseConfig.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
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

    def due_for(self, student: str) -> dt.datetime | None:
        """The due in force for ``student``."""
        return self.due

    def released(self, now: dt.datetime) -> bool:
        """Every verdict may be shown: after ``release`` (``due`` when no release is set;
        at once for an assignment with neither)."""
        moment = self.release or self.due
        return moment is None or now >= moment


class CourseState:
    """The assignments as loaded now, by name; re-read from the folder by :meth:`sync`."""

    def __init__(self, db: Database, course_dir: Path, course_name: str):
        self.db = db
        self.course_dir = course_dir
        self.course_name = course_name
        self._lock = threading.Lock()
        self._by_name: dict[str, LoadedAssignment] = {}
        self._by_hash: dict[str, ProblemSet] = {}
        self._seen: dict[Path, tuple[int, int]] = {}
        self._db_stamp: tuple[tuple[Any, ...], ...] = ()
        self.course_id = 0

    def get(self, name: str) -> LoadedAssignment | None:
        return self._by_name.get(name)

    def all(self) -> list[LoadedAssignment]:
        return sorted(self._by_name.values(), key=lambda a: a.name)

    def sync(self, force: bool = False) -> list[str]:
        """Read what changed in the course folder into the database; the names of the
        assignments whose problem file changed (their submissions are queued again)."""
        with self._lock:
            files = sorted((self.course_dir / "problems").glob("*.y*ml"))
            stamps = {p: _stamp(p) for p in [*files, self.course_dir / COURSE_FILE]}
            if not force and stamps == self._seen:
                return []
            self._seen = stamps
            try:
                config = read_course_config(self.course_dir)
            except (ValueError, yaml.YAMLError) as exc:
                log.error("course.yaml not read (%s); deadlines unchanged", exc)
                config = CourseConfig()
            with self.db.session() as db:
                self.course_id = self._course(db, config.name or self.course_name).id
                changed = [name for path in files if (name := self._sync_file(db, path, config))]
            self._load_all()
            return changed

    def refresh(self) -> None:
        """Take the assignments as the database has them now, without reading the folder:
        for a process that serves pages while another one keeps the course in step. One
        small query when nothing changed."""
        with self._lock:
            with self.db.session() as db:
                stamp = tuple(
                    tuple(row)
                    for row in db.execute(
                        select(Assignment.id, Assignment.problem_hash, Assignment.updated_at)
                        .where(Assignment.course_id == self.course_id)
                        .order_by(Assignment.id)
                    )
                )
            if stamp != self._db_stamp:
                self._db_stamp = stamp
                self._load_all()

    def _course(self, db: Session, name: str) -> Course:
        course = db.scalar(select(Course).order_by(Course.id))
        if course is None:
            course = Course(name=name)
            db.add(course)
            db.flush()
        return course

    def _sync_file(self, db: Session, path: Path, config: CourseConfig) -> str | None:
        text = path.read_text(encoding="utf-8", errors="replace")
        digest = problem_digest(text)
        try:
            spec = parse_problem_set(text, path)
        except ProblemFileError as exc:
            log.error("problem file not loaded, the previous version stays in use:\n%s", exc.render())
            return None
        deadlines = config.assignments.get(spec.assignment, Deadlines())
        row = db.scalar(
            select(Assignment).where(
                Assignment.course_id == self.course_id, Assignment.name == spec.assignment
            )
        )
        if row is None:
            row = Assignment(
                course_id=self.course_id, name=spec.assignment, problem_hash=digest, problem_text=text
            )
            db.add(row)
        changed = row.problem_hash != digest
        row.title, row.source_path = spec.title, str(path)
        row.due, row.release = _aware(deadlines.due), _aware(deadlines.release)
        row.problem_hash, row.problem_text, row.updated_at = digest, text, utcnow()
        db.flush()
        if not changed:
            return None
        log.info("problem file %s changed: regrading %s", path, spec.assignment)
        for submission_id in db.scalars(select(Submission.id).where(Submission.assignment_id == row.id)):
            queue.enqueue(db, submission_id, kind="regrade")
        return spec.assignment

    def _load_all(self) -> None:
        with self.db.session() as db:
            rows = db.scalars(select(Assignment).where(Assignment.course_id == self.course_id)).all()
        loaded: dict[str, LoadedAssignment] = {}
        for row in rows:
            spec = self._by_hash.get(row.problem_hash) or parse_problem_set(row.problem_text, row.source_path)
            self._by_hash[row.problem_hash] = spec
            loaded[row.name] = LoadedAssignment(
                row.id, row.name, row.problem_hash, spec, row.due, row.release
            )
        self._by_name = loaded

    def by_id(self, assignment_id: int) -> LoadedAssignment | None:
        return next((a for a in self._by_name.values() if a.id == assignment_id), None)


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
