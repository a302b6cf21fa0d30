"""A batch's task: one submission folder, who its student is, and what goes with it to the
worker that reads it (grader.reading reads it, under the limits of the problem set's checks)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from grader.core.submission import Submission
from grader.core.timelimit import CheckLimits
from grader.reading import Entry
from grader.reading import read_within_limits as read_files_within_limits

if TYPE_CHECKING:
    from grader.core.verdict import Verdict

VerdictKey = tuple[str, str]  # (part digest, answer digest)


@dataclass(frozen=True)
class NotSeenHere:
    """A worker's answer to a chunk it was sent to read in place (no files with it): it does not
    see some of its folders as the driver did (grader.batch.plan.why_not_in_place), so those
    must travel with their files; all of them when the worker does not see the class's disk."""

    unseen: tuple[str, ...] = ()  # the keys of the folders not seen as the driver saw them
    # One of them is missing here, or none of the chunk's is seen: another disk, another copy of
    # the class (or a class whose every folder holds links): every folder travels from now on.
    elsewhere: bool = True


@dataclass(frozen=True)
class SubmissionTask:
    key: str  # the submission folder relative to the class: the student's identity
    folder: str  # where the folder is, for workers on this machine
    stem: str  # file name stem of this student's reports
    digest: str  # digest of every file in the folder, taken before it is read ("": not yet)
    prior: Mapping[VerdictKey, Verdict] = field(default_factory=dict)
    files: tuple[Entry, ...] | None = None  # the folder itself, for workers elsewhere
    # What the student's files on disk were made from (grader.batch.worker.report_digest): equal,
    # they are kept.
    rendered: str | None = None
    earlier: tuple[str, ...] = ()  # the files the student's last grading wrote (by name)
    # The folder as the driver saw it (grader.batch.plan.folder_fingerprint), for a worker on
    # another machine to read it in place only where it sees the same.
    seen: str = ""
    # Whose variant of a parameterised set grades this sheet (grader.variants): the service's
    # signed-in student; empty, the folder's name. Never the ``student:`` the sheet itself names.
    variant_of: str = ""

    @property
    def variant_student(self) -> str:
        return self.variant_of or PurePosixPath(self.key).name


def read_within_limits(
    task: SubmissionTask, limits: CheckLimits, seconds: float, mebibytes: int, within_class: bool = True
) -> Submission:
    """The task's submission as the driver's machine reads it, wherever this worker is (see
    grader.reading.read_within_limits). In a class run, files are named from the class folder
    when the TA named it by an absolute path (a report shown to a student carries no path of
    the TA's machine)."""
    shown = task.key if within_class and Path(task.folder).is_absolute() else task.folder
    return read_files_within_limits(task.folder, task.key, task.files, limits, seconds, mebibytes, shown)
