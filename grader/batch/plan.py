"""Which submissions a batch grades, who each student is, and what each folder holds.

A student is their submission folder, named by its path relative to the class
folder: that is unique by construction. The ``student:`` field of an answers
file is only the name shown. A report's file name (its stem) is derived from
the folder alone, so the same folder always writes the same files, whether it
is graded with its class or on its own.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from grader.batch.worker import ShippedFile, SubmissionTask
from grader.core.files import safe_filename
from grader.loading import is_submission_folder

# Files larger than this are told apart by size and modification time, not content:
# no reader accepts them, and hashing one must not cost a batch seconds.
CONTENT_DIGEST_LIMIT = 8 << 20
MAX_FILES = 2_000  # per submission folder; past this only names, sizes and times count


def submission_folders(root: Path) -> list[Path]:
    """Subfolders of ``root`` that are submissions, in name order (hidden ones skipped)."""
    return sorted(
        (child for child in root.iterdir() if child.is_dir() and not child.name.startswith((".", "_"))),
        key=lambda p: p.name,
    )


def has_submissions(root: Path) -> bool:
    return is_submission_folder(root) or bool(submission_folders(root))


def folder_key(folder: Path, root: Path) -> str:
    """The student's identity: the folder relative to the class, with / separators."""
    try:
        return folder.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return folder.name


def report_stem(key: str) -> str:
    """File name stem of a student's reports: the folder's name when it is a safe file
    name, else a safe version of it plus a digest (so two folders never share a stem)."""
    stem = safe_filename(key)
    if stem == key:
        return stem
    return f"{stem}-{hashlib.sha256(key.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


def plan(root: Path, folders: list[Path]) -> list[SubmissionTask]:
    """One task per folder (the folder's files digested now), in the given order."""
    tasks = []
    for folder in folders:
        key = folder_key(folder, root)
        tasks.append(SubmissionTask(key, str(folder), report_stem(key), folder_digest(folder)))
    return tasks


def folder_files(folder: Path) -> Iterator[tuple[str, Path]]:
    """(path relative to the folder, path) of every file in it, sorted; hidden folders skipped."""
    found = []
    for current, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        base = Path(current)
        found += [(base / name).relative_to(folder).as_posix() for name in files]
        if len(found) > MAX_FILES:
            break
    for relative in sorted(found):
        yield relative, folder / relative


def folder_digest(folder: Path) -> str:
    """Digest of the folder's name and of the name, size and content of every file in it."""
    digest = hashlib.sha256(folder.name.encode("utf-8", "surrogatepass"))
    for count, (relative, path) in enumerate(folder_files(folder)):
        digest.update(b"\0" + relative.encode("utf-8", "surrogatepass") + b"\0")
        digest.update(_file_fingerprint(path, with_content=count < MAX_FILES))
    return digest.hexdigest()[:32]


def _file_fingerprint(path: Path, with_content: bool) -> bytes:
    """What a file is, never opening anything but a regular file (a pipe would block)."""
    try:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            return b"link " + os.readlink(path).encode("utf-8", "surrogatepass")
        if not stat.S_ISREG(info.st_mode):
            return f"special {stat.S_IFMT(info.st_mode):o}".encode()
        if with_content and info.st_size <= CONTENT_DIGEST_LIMIT:
            return f"{info.st_size} ".encode() + hashlib.sha256(path.read_bytes()).digest()
        return f"{info.st_size} {info.st_mtime_ns}".encode()
    except OSError as exc:
        return f"unreadable {exc.errno}".encode()


def ship_folder(folder: Path, limit: int = CONTENT_DIGEST_LIMIT) -> tuple[ShippedFile, ...]:
    """The folder's files as bytes, for a worker on another machine (at most ``limit`` bytes
    of each: no reader accepts a larger file, and the worker recreates its size)."""
    shipped = []
    for relative, path in folder_files(folder):
        try:
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):  # a link stays a link: the reader judges where it leads
                shipped.append(ShippedFile(relative, b"", 0, link=os.readlink(path)))
            elif stat.S_ISFIFO(info.st_mode):
                shipped.append(ShippedFile(relative, b"", 0, fifo=True))
            elif stat.S_ISREG(info.st_mode):
                with path.open("rb") as stream:
                    shipped.append(ShippedFile(relative, stream.read(limit), info.st_size))
        except OSError:
            continue
    return tuple(shipped)
