"""Reading a submission as a worker does: from its folder on disk, or from its files as they
travel (a Dask task, an upload), under the time and memory limits of the problem set's checks.

A batch worker, ``grader check`` and the service read a submission with these functions; the
answers file, the write-ups and the code files are then read once each, by :mod:`grader.loading`.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import stat
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from grader.core.submission import Submission
from grader.core.timelimit import CheckLimits, CheckTimeout, memory_limit, run_with_time_limit
from grader.loading import ANSWER_FILES, load_submission
from grader.writeups import WRITEUP_SUFFIXES

if TYPE_CHECKING:
    from grader.spec import ProblemSet

READING_SECONDS = 5.0  # the least CPU time a submission's files get to be read
# Files larger than this are told apart by size and modification time, not content:
# no reader accepts them, and hashing (or shipping) one must not cost a batch seconds.
CONTENT_DIGEST_LIMIT = 8 << 20
MAX_FILES = 2_000  # per submission folder; past this only names, sizes and times count
NOWHERE = ".grader-nowhere"  # what a link that leads nowhere (or loops) leads to on a worker
# Files that travel are written where the machine has a RAM file system, if it has one.
SCRATCH_ROOT = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


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


Files = Sequence[ShippedFile] | Mapping[str, bytes]  # a folder's files as they travel


def reading_limits(spec: ProblemSet) -> tuple[float, int]:
    """(seconds, MiB) for reading a submission: the largest limits a check of it may have, and
    at least :data:`READING_SECONDS` (a 1 MB answers file takes a second of CPU time to read)."""
    parts = [part for _, _, part in spec.iter_parts()]
    seconds = max([READING_SECONDS, *(part.time_limit for part in parts)])
    return seconds, max(part.memory_limit for part in parts)


def read_within_limits(
    folder: str,
    key: str,
    files: Files | None,
    limits: CheckLimits,
    seconds: float,
    mebibytes: int,
    shown: str,
) -> Submission:
    """The submission as read, under the same time and memory limits as a check: a write-up
    that takes a minute or gigabytes to read is one row saying so, never a stuck batch."""
    try:  # CPU time: readers are Python code, which a signal interrupts (no watchdog needed)
        with memory_limit(mebibytes):
            return run_with_time_limit(lambda: read_submission(folder, key, files, shown), seconds)
    except CheckTimeout:
        reason = f"reading the submission took more than {seconds:g} s of CPU time and was stopped"
    except MemoryError:
        reason = f"reading the submission needed more than {mebibytes} MiB of memory and was stopped"
    return Submission(student=PurePosixPath(key).name, folder=key, source=folder, load_error=reason)


def read_submission(
    folder: str, key: str, files: Files | None = None, shown: str | None = None
) -> Submission:
    """The submission of the student ``key`` (its folder relative to the class): read from
    ``folder`` on disk, or from ``files`` (what travels of a folder, or an upload's files by
    name), its files named from ``shown`` (default: ``folder``) in every message."""
    shown = folder if shown is None else shown
    if files is None:
        submission = load_submission(folder)
        if shown != folder:
            submission = _relocated(submission, folder, shown)
    else:
        with tempfile.TemporaryDirectory(prefix="grader-", dir=SCRATCH_ROOT) as scratch:
            where = Path(scratch) / "class" / PurePosixPath(key).name
            _materialise(where, _shipped(files))
            # Messages name the folder where it was read: name the student's instead.
            submission = _relocated(load_submission(where), str(where), shown)
    submission.folder = key
    return submission


def _shipped(files: Files) -> Sequence[ShippedFile]:
    if isinstance(files, Mapping):
        return [ShippedFile(name, data, len(data)) for name, data in files.items()]
    return files


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


def _materialise(folder: Path, files: Sequence[ShippedFile]) -> None:
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


def ship_folder(folder: Path, limit: int = CONTENT_DIGEST_LIMIT) -> tuple[ShippedFile, ...]:
    """The folder as a worker on another machine must see it to read it as this machine does:
    the content of the files a reader opens (answers files, write-ups: at most ``limit`` bytes
    each, as no reader accepts more), only the name and size of every other file (a 4 MB PDF
    travels as a few bytes), every directory, and every link as it resolves *here*: inside
    the folder (to its target, which travels too), out of it, or nowhere."""
    if folder.is_symlink():  # a link to another folder is refused, never read (see loading)
        return ()
    home = folder.resolve()
    entries: dict[str, ShippedFile] = {}
    wanted: set[str] = set()  # files whose content travels
    for relative, path, info in _folder_entries(folder):
        if stat.S_ISLNK(info.st_mode):
            link = _shipped_link(relative, path, home)
            entries[relative] = link
            if link.link is not None and not link.outside:
                wanted.add(posixpath.normpath(posixpath.join(posixpath.dirname(relative), link.link)))
        elif stat.S_ISDIR(info.st_mode):
            entries[relative] = ShippedFile(relative, b"", 0, directory=True)
        elif stat.S_ISFIFO(info.st_mode):
            entries[relative] = ShippedFile(relative, b"", 0, fifo=True)
        elif stat.S_ISREG(info.st_mode):
            entries[relative] = ShippedFile(relative, b"", info.st_size)
            if is_read_by_readers(relative):
                wanted.add(relative)
    for relative in sorted(wanted):
        _with_content(entries, folder, relative, home, limit)
    return tuple(entries[name] for name in sorted(entries))


def is_read_by_readers(relative: str) -> bool:
    """Might a reader open this file: an answers file, or a write-up (LaTeX inputs anywhere)?"""
    return relative in ANSWER_FILES or relative.endswith(WRITEUP_SUFFIXES)


def _folder_entries(folder: Path) -> Iterator[tuple[str, Path, os.stat_result]]:
    """(relative path, path, lstat) of every entry under ``folder``, links not followed."""
    count = 0
    for current, dirs, files in os.walk(folder):
        base = Path(current)
        for name in sorted(dirs) + sorted(files):
            path = base / name
            try:
                info = path.lstat()
            except OSError:
                continue
            count += 1
            if count > MAX_FILES:
                return
            yield path.relative_to(folder).as_posix(), path, info


def _shipped_link(relative: str, path: Path, home: Path) -> ShippedFile:
    """A link as it resolves on this machine: to a path inside the folder, out of it, or nowhere."""
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):  # leads nowhere, or a loop
        return ShippedFile(relative, b"", 0, link=NOWHERE)
    if not target.is_relative_to(home):
        return ShippedFile(relative, b"", 0, link="", outside=True)
    inside = target.relative_to(home).as_posix()
    return ShippedFile(
        relative, b"", 0, link=posixpath.relpath(inside or ".", posixpath.dirname(relative) or ".")
    )


def _with_content(
    entries: dict[str, ShippedFile], folder: Path, relative: str, home: Path, limit: int
) -> None:
    """Give the entry ``relative`` its content (a link's target may be hidden from the walk)."""
    path = folder / relative
    try:
        if not path.resolve().is_relative_to(home) or path.is_symlink() or not path.is_file():
            return
        with path.open("rb") as stream:
            entries[relative] = ShippedFile(relative, stream.read(limit), path.stat().st_size)
    except OSError:
        return
