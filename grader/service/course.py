"""The course folder kept in step with the database, which holds what is in force for every server
(docs/service.md, "Running it for a course"); a file that does not load is a notice."""

from __future__ import annotations

import json
import logging
import threading
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from grader.course.files import (
    COURSE_FILE,
    OLDER,
    TAKE,
    CourseConfig,
    CourseFolder,
    Deadlines,
    FileNotice,
    FolderFile,
    LoadedAssignment,
    Version,
    decide,
    older_notice,
    policy_kept,
    policy_read,
    spec_with_rubric,
)
from grader.service.crud import assignments, queue
from grader.service.db import Database
from grader.service.models import Assignment, Course, CourseFileVersion, extension_for, utcnow
from grader.spec import ProblemSet

# Called with the assignment, its rubric items in force before and after, when problems/rubric.yaml
# puts items in force (edited by hand, or written by a server stopped before its commit).
RubricFileHook = Callable[[Session, Assignment, Mapping[str, Any], Mapping[str, Any]], None]
log = logging.getLogger("grader.service")


class CourseState:
    """The assignments in force; :meth:`sync` brings the folder in (the grading process),
    :meth:`check_folder` only sets the notices (a --web-only server)."""

    def __init__(
        self, db: Database, course_dir: Path, course_name: str, on_rubric_file: RubricFileHook | None = None
    ):
        self.db = db
        self.course_name = course_name
        self.on_rubric_file = on_rubric_file
        self.files = CourseFolder(course_dir)
        self.notices: tuple[FileNotice, ...] = ()  # files of the folder not in force, and why
        self._lock = threading.Lock()
        self._by_name: dict[str, LoadedAssignment] = {}
        self._by_hash: dict[str, ProblemSet] = {}  # the versions in force (text and rubric), read
        self._seen: dict[Path, tuple[int, int]] = {}
        self._checked: tuple[Any, ...] = ()
        self._db_stamp: tuple[tuple[Any, ...], ...] = ()
        self.course_id = 0

    def get(self, name: str) -> LoadedAssignment | None:
        return self._by_name.get(name)

    def zone(self) -> zoneinfo.ZoneInfo | None:
        """course.yaml's ``timezone``, for pages of no one assignment."""
        return next((a.zone for a in self.all() if a.zone is not None), None)

    def all(self) -> list[LoadedAssignment]:
        return sorted(self._by_name.values(), key=lambda a: a.name)

    def by_id(self, assignment_id: int) -> LoadedAssignment | None:
        return next((a for a in self._by_name.values() if a.id == assignment_id), None)

    def sync(self, force: bool = False) -> list[str]:
        """Bring what changed in the folder into the database; the assignments whose text changed."""
        with self._lock:
            stamps = self.files.stamps()
            if not force and stamps == self._seen:
                return []
            config, problems = self.files.read()
            with self.db.session() as db:
                name = config.loaded.name if isinstance(config.loaded, CourseConfig) else None
                self.course_id = self._course(db, name or self.course_name).id
                changed, notices = self._bring_in(db, config, problems, write=True)
            self._seen = stamps  # only once written: a failed round is tried again
            self._tell(notices)
            self._load_all()
            return changed

    def refresh(self) -> None:
        """Take what another process put in force: one small query when nothing changed."""
        with self._lock:
            with self.db.read_one() as db:  # after every claim of the grading loop: one statement
                stamp = assignments.assignments_stamp(db, self.course_id)
            if stamp != self._db_stamp:
                self._load_all()

    def check_folder(self) -> None:
        with self._lock:
            with self.db.session(read_only=True) as db:
                newest = assignments.newest_file_version(db, self.course_id)
                stamp = (self.files.stamps(), newest)
                if stamp == self._checked:
                    return
                config, problems = self.files.read()
                _, notices = self._bring_in(db, config, problems, write=False)
                db.rollback()
            self._checked = stamp
            self.notices = tuple(notices)

    def _bring_in(
        self, db: Session, config: FolderFile, problems: list[FolderFile], write: bool
    ) -> tuple[list[str], list[FileNotice]]:
        """Decide each file against what is in force and, with ``write``, put those to take in
        force; the assignments regraded, and the files not in force."""
        history = self._history(db)
        notices: list[FileNotice] = []
        in_force = self._config_in_force(db, config, history[COURSE_FILE], write, notices)
        rubrics = self.files.rubrics(notices)
        added: dict[str, dict[str, list[dict[str, Any]]] | None] = {}
        rows = {row.name: row for row in assignments.assignments_of(db, self.course_id)}
        changed = []
        for problem in problems:
            if not isinstance(problem.loaded, ProblemSet):
                notices.append(problem.error or FileNotice(problem.name, None, "not loaded"))
                continue
            name = problem.loaded.assignment
            added[name] = self.files.rubric_for(problem, rubrics, notices)
            row = rows.get(name)
            if row is None and in_force is None:
                message = (
                    f"assignment {name} is taken in once course.yaml, which holds its deadlines, is in force"
                )
                notices.append(FileNotice(problem.name, None, message))
                continue
            decision = decide(
                problem.digest, row.problem_hash if row else None, history[problem.key], self.files.name
            )
            if decision == OLDER:
                notices.append(
                    older_notice(problem, history[problem.key], f"the problem text in force for {name}")
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
        decision = decide(config.digest, taken[-1] if taken else None, history, self.files.name)
        if decision == OLDER:
            notices.append(older_notice(config, history, "the deadlines in force"))
            return None
        if write:
            self._record(db, config, history, taken=decision == TAKE)
        return config.loaded

    def _history(self, db: Session) -> defaultdict[str, list[Version]]:
        history: defaultdict[str, list[Version]] = defaultdict(list)
        for row in assignments.file_versions(db, self.course_id):
            history[row.file].append(Version(row.digest, row.folder, row.taken, row.at))
        return history

    def _record(self, db: Session, file: FolderFile, history: list[Version], taken: bool) -> None:
        """Note the version this folder holds, once (a folder's newest row is what it holds)."""
        here = [version.digest for version in history if version.folder == self.files.name]
        if taken or not here or here[-1] != file.digest:
            db.add(
                CourseFileVersion(
                    course_id=self.course_id,
                    file=file.key,
                    digest=file.digest,
                    folder=self.files.name,
                    taken=taken,
                )
            )

    def _take_problem(
        self, db: Session, row: Assignment | None, file: FolderFile, spec: ProblemSet
    ) -> Assignment:
        """Put the folder's problem text in force (a changed text queues its regrades)."""
        if row is None:
            row = Assignment(course_id=self.course_id, name=spec.assignment)
            db.add(row)
        row.title, row.source_path = spec.title, str(self.files.course_dir / file.name)
        row.problem_hash, row.problem_text, row.updated_at = file.digest, file.text, utcnow()
        db.flush()
        if row.id is not None:
            self._regrade(db, row, f"problem file {file.name} changed")
        return row

    def _regrade(self, db: Session, row: Assignment, why: str) -> None:
        """Queue a regrade of every submission (the verdict store decides again only what changed)."""
        if queue.queue_regrades(db, row.id):
            log.info("%s: regrading %s", why, row.name)

    def _course(self, db: Session, name: str) -> Course:
        course = assignments.first_course(db)
        if course is None:
            course = Course(name=name)
            db.add(course)
            db.flush()
        return course

    def _tell(self, notices: list[FileNotice]) -> None:
        """Log each file newly (not) in force, and keep the list."""
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

    def _spec(self, row: Assignment, rubric: dict[str, Any], in_force: dict[str, ProblemSet]) -> ProblemSet:
        """The problem text with the rubric items in force, read once per version."""
        key = row.problem_hash + (json.dumps(rubric, sort_keys=True) if rubric else "")
        found = in_force.get(key) or self._by_hash.get(key)
        if found is None:
            found = spec_with_rubric(row.problem_text, row.source_path, row.name, rubric)
        in_force[key] = found
        return found

    def _load_all(self) -> None:
        with self.db.session(read_only=True) as db:
            rows = assignments.assignments_of(db, self.course_id)
        loaded: dict[str, LoadedAssignment] = {}
        # Only the versions in force are kept: a term's worth of edits and rubric items (each a
        # compiled problem set, megabytes for a large one) grew the server without bound.
        in_force: dict[str, ProblemSet] = {}
        for row in rows:
            policy = row.policy or {}
            rubric = policy.get("rubric") or {}
            students = {*(row.extensions or {}), *(row.granted_extensions or {})}
            loaded[row.name] = LoadedAssignment(
                row.id,
                row.name,
                row.problem_hash,
                self._spec(row, rubric, in_force),
                row.due,
                row.release,
                {student: due for student in students if (due := extension_for(row, student)) is not None},
                **policy_read(policy),
            )
        self._by_name = loaded
        self._by_hash = in_force
        self._db_stamp = tuple((row.id, row.problem_hash, row.updated_at) for row in rows)


def _set_deadlines(rows: Any, config: CourseConfig, added: Mapping[str, Mapping[str, Any] | None]) -> None:
    """Each assignment's deadlines from ``config``, and the rubric items ``added`` to it (None, or
    no entry, keeps the items in force)."""
    for row in rows:
        new = added.get(row.name)
        rubric = (row.policy or {}).get("rubric") if new is None else new
        deadlines = config.deadlines.get(row.name, Deadlines())
        extensions = {student: due.isoformat() for student, due in sorted(deadlines.extensions.items())}
        policy = policy_kept(deadlines, config.timezone, rubric)
        now = (row.due, row.release, row.extensions or {}, row.policy or {})
        wanted = (deadlines.due, deadlines.release, extensions, policy)
        if now != wanted:
            row.due, row.release, row.extensions, row.policy = wanted
            row.updated_at = utcnow()
