"""Reading a submission folder as a check process does: under the time and memory limits of
the problem set's checks, from the folder itself or from its files shipped to a worker elsewhere.

``grader check`` reads a student's folder with these functions, as a batch worker does,
without the rest of the worker (rendering, the verdict store, hand grades).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from grader.core.submission import Submission
from grader.core.timelimit import CheckTimeout, Watchdog, memory_limit, run_with_time_limit
from grader.loading import load_submission

if TYPE_CHECKING:
    from grader.core.verdict import Verdict
    from grader.spec import ProblemSet

VerdictKey = tuple[str, str]  # (part digest, answer digest)
READING_SECONDS = 5.0  # the least CPU time a submission's files get to be read


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
class ShippedFile:
    """One file of a submission folder, sent to a worker that cannot read the folder."""

    path: str  # relative to the submission folder, with / separators
    data: bytes  # the whole file, or its first bytes when it is larger than any reader accepts
    size: int  # its size on disk
    link: str | None = None  # a symbolic link, to this path (relative to the link's folder)
    outside: bool = False  # a link out of the submission folder
    fifo: bool = False  # a named pipe
    directory: bool = False


@dataclass(frozen=True)
class SubmissionTask:
    key: str  # the submission folder relative to the class: the student's identity
    folder: str  # where the folder is, for workers on this machine
    stem: str  # file name stem of this student's reports
    digest: str  # digest of every file in the folder, taken before it is read ("": not yet)
    prior: Mapping[VerdictKey, Verdict] = field(default_factory=dict)
    files: tuple[ShippedFile, ...] | None = None  # the folder itself, for workers elsewhere
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


@dataclass(frozen=True)
class CheckLimits:
    """How a process bounds a check besides its time limit."""

    watchdog: Watchdog | None = None  # ends this process if the check hangs in C code
    # Cap this process's address space around the check; only where no other thread of the
    # process allocates meanwhile (not in a Dask worker, whose memory its nanny watches).
    cap_memory: bool = True


def reading_limits(spec: ProblemSet) -> tuple[float, int]:
    """(seconds, MiB) for reading a submission: the largest limits a check of it may have, and
    at least :data:`READING_SECONDS` (a 1 MB answers file takes a second of CPU time to read)."""
    parts = [part for _, _, part in spec.iter_parts()]
    seconds = max([READING_SECONDS, *(part.time_limit for part in parts)])
    return seconds, max(part.memory_limit for part in parts)


def read_within_limits(
    task: SubmissionTask, limits: CheckLimits, seconds: float, mebibytes: int, within_class: bool = True
) -> Submission:
    """The submission as read, under the same time and memory limits as a check: a write-up
    that takes a minute or gigabytes to read is one row saying so, never a stuck batch."""
    memory = memory_limit(mebibytes) if limits.cap_memory else contextlib.nullcontext()
    try:  # CPU time: readers are Python code, which a signal interrupts (no watchdog needed)
        with memory:
            return run_with_time_limit(lambda: read_submission(task, within_class), seconds)
    except CheckTimeout:
        reason = f"reading the submission took more than {seconds:g} s of CPU time and was stopped"
    except MemoryError:
        reason = f"reading the submission needed more than {mebibytes} MiB of memory and was stopped"
    return Submission(
        student=PurePosixPath(task.key).name, folder=task.key, source=task.folder, load_error=reason
    )


def read_submission(task: SubmissionTask, within_class: bool = True) -> Submission:
    """The submission as the driver's machine reads it, wherever this worker is. In a class
    run, files are named from the class folder when the TA named it by an absolute path
    (a report shown to a student carries no path of the TA's machine)."""
    shown = task.folder
    if within_class and Path(task.folder).is_absolute():
        shown = task.key
    if task.files is None:
        submission = load_submission(task.folder)
        if shown != task.folder:
            submission = _relocated(submission, task.folder, shown)
    else:
        with tempfile.TemporaryDirectory(prefix="grader-") as scratch:
            folder = Path(scratch) / "class" / PurePosixPath(task.key).name
            _materialise(folder, task.files)
            # Messages name the folder where it was read: name the student's instead.
            submission = _relocated(load_submission(folder), str(folder), shown)
    submission.folder = task.key
    return submission


def _relocated(value: Any, scratch: str, folder: str) -> Any:
    """``value`` with the scratch folder's path replaced by the submission folder's, in every
    text it holds (messages, warnings, source positions)."""
    if isinstance(value, str):
        return value.replace(scratch, folder)
    if isinstance(value, list | tuple):
        return type(value)(_relocated(item, scratch, folder) for item in value)
    if isinstance(value, dict):
        return {key: _relocated(item, scratch, folder) for key, item in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: _relocated(getattr(value, f.name), scratch, folder) for f in dataclasses.fields(value)
        }
        return replace(value, **changes)
    return value


NOWHERE = ".grader-nowhere"  # what a link that leads nowhere (or loops) leads to on a worker


def _materialise(folder: Path, files: tuple[ShippedFile, ...]) -> None:
    """Recreate a shipped folder: what leaves it on the driver's machine leaves it here."""
    folder.mkdir(parents=True)
    outside = folder.parent / ".outside-the-submission"
    outside.touch()
    for shipped in files:
        relative = PurePosixPath(shipped.path)
        if relative.is_absolute() or ".." in relative.parts:
            continue
        target = folder.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        if shipped.directory:
            target.mkdir(exist_ok=True)
        elif shipped.outside:
            os.symlink(outside, target)
        elif shipped.link is not None:
            os.symlink(shipped.link, target)
        elif shipped.fifo:
            os.mkfifo(target)
        else:
            with target.open("wb") as stream:
                stream.write(shipped.data)
                if shipped.size > len(shipped.data):  # not read by any reader: same size, sparse
                    stream.truncate(shipped.size)
