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
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from grader.batch.reading import SubmissionTask
from grader.core.files import safe_filename
from grader.loading import is_submission_folder
from grader.reading import CONTENT_DIGEST_LIMIT, MAX_FILES

# Why a worker does not read a folder in place (see why_not_in_place).
MISSING, LINKED, CHANGED = "not on this worker's disk", "a link, or holds one", "changed since seen"


# Stems whose report files would take the name of a file the batch writes itself
# (index.html, grades.csv, changes.csv) or read like one: such a folder's stem gets a digest.
RESERVED_STEMS = frozenset({"index", "grades", "changes", "grades.csv", "changes.csv", "index.html"})


def submission_folders(root: Path) -> list[Path]:
    """Subfolders of ``root`` that are submissions, in name order (hidden ones skipped)."""
    return _subfolders(root, skipped=False)


def skipped_folders(root: Path) -> list[Path]:
    """Subfolders of ``root`` a batch does not grade: names starting with ``.`` or ``_``."""
    return _subfolders(root, skipped=True)


def _subfolders(root: Path, skipped: bool) -> list[Path]:
    """Subfolders (links to folders too) whose names start with ``.`` or ``_`` (``skipped``) or
    not, in name order. A directory entry says whether it is a folder: no stat of each (a
    class of 50,000 took 0.4 s to list with one)."""
    with os.scandir(root) as entries:
        names = sorted(
            entry.name for entry in entries if entry.name.startswith((".", "_")) is skipped and entry.is_dir()
        )
    return [root / name for name in names]


def has_submissions(root: Path) -> bool:
    return is_submission_folder(root) or bool(submission_folders(root))


def folder_key(folder: Path, root: Path, resolved_root: Path | None = None) -> str:
    """The student's identity: the folder relative to the class, with / separators (links
    not followed: a folder that is a link to a classmate's is still its own student)."""
    try:
        return folder.absolute().relative_to(root.absolute()).as_posix()
    except ValueError:
        pass
    try:
        return folder.resolve().relative_to(resolved_root or root.resolve()).as_posix()
    except ValueError:
        return folder.name


def report_stem(key: str) -> str:
    """File name stem of a student's reports: the folder's name when it is a safe file
    name, else a safe version of it plus a digest (so two folders never share a stem)."""
    stem = safe_filename(key)
    if stem == key and stem.lower() not in RESERVED_STEMS:
        return stem
    return f"{stem}-{hashlib.sha256(key.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


def plan(root: Path, folders: Sequence[Path], digests: bool = True) -> list[SubmissionTask]:
    """One task per folder, in the given order, its files digested now (``digests``), or
    later: its digest is then empty until :func:`digested` gives it one."""
    tasks = []
    resolved_root = root.resolve()
    inside = "" if str(root) in (".", "/") else f"{root}/"  # a folder named from the class folder
    for folder in folders:
        where = str(folder)
        name = where[len(inside) :] if inside and where.startswith(inside) else ""
        # The folder's key as folder_key gives it, without asking the file system (the usual case).
        key = (
            name
            if name and "/" not in name and name not in (".", "..")
            else folder_key(folder, root, resolved_root)
        )
        tasks.append(SubmissionTask(key, where, report_stem(key), folder_digest(folder) if digests else ""))
    return tasks


def digested(task: SubmissionTask) -> SubmissionTask:
    """The task with its folder's digest (computed now if the plan left it for later)."""
    return task if task.digest else replace(task, digest=folder_digest(Path(task.folder)))


def why_not_in_place(folder: Path, seen: str) -> str | None:
    """None when a worker may read ``folder`` where it is and read what the driver that saw it as
    ``seen`` (its :func:`folder_fingerprint`) would read; else why not: :data:`MISSING` (no such
    folder here: this machine does not see the class's disk), :data:`LINKED` (the folder is a
    link or holds one: a link resolves against each machine's own files, which no fingerprint
    covers) or :data:`CHANGED` (changed since the driver saw it, or another copy). Such a folder
    travels with its files (see grader.reading.ship_folder)."""
    if folder.is_symlink():
        return LINKED
    if not folder.is_dir():
        return MISSING
    here, links = walked(folder, contents=False)
    if links:
        return LINKED
    return None if seen and here == seen else CHANGED


# ---------------------------------------------------------------------------
# What a folder holds, read from the file system alone: its digest covers the name, size and
# content of every file in it (a verdict store keys a report by it); its fingerprint only the
# names, sizes and modification times (what a Dask worker compares before it reads a folder in place).

MAX_DEPTH = 32  # folder levels walked in a submission folder
LINK_FINGERPRINT = b"link "  # how a link starts its fingerprint in a folder's digest
FINGERPRINT_LENGTH = 32  # hex digits


def folder_digest(folder: Path) -> str:
    """Digest of the folder's name and of the name, size and content of every file in it.
    A folder too large to list in full is never taken from the store: its digest is new
    every time (a reader might open a file the listing did not reach)."""
    return walked(folder, contents=True)[0]


def folder_fingerprint(folder: Path) -> str:
    """What a folder looks like without opening a file: the name, size and modification time of
    every file in it (of the first :data:`MAX_FILES`), as rsync's quick check compares them.
    Another copy of the folder (another disk, an older copy) differs unless it was copied with
    its times and sizes; a third of the cost of :func:`folder_digest`, which the worker that
    reads the folder takes."""
    return walked(folder, contents=False)[0]


def walked(folder: Path, contents: bool) -> tuple[str, bool]:
    """:func:`folder_digest` (``contents``) or :func:`folder_fingerprint`, and whether the
    folder holds a link (found on the same walk)."""
    digest = hashlib.sha256(folder.name.encode("utf-8", "surrogatepass"))
    where = str(folder)
    files, complete = listing(where)
    if not complete:  # a fingerprint of the same files is the same; a digest never is
        digest.update(b"incomplete " + (os.urandom(16) if contents else b""))
    links = False
    for count, relative in enumerate(files):
        fingerprint = _file_fingerprint(os.path.join(where, relative), contents and count < MAX_FILES)
        links = links or fingerprint.startswith(LINK_FINGERPRINT)
        digest.update(b"\0" + relative.encode("utf-8", "surrogatepass") + b"\0")
        digest.update(fingerprint)
    return digest.hexdigest()[:FINGERPRINT_LENGTH], links


def listing(folder: str) -> tuple[list[str], bool]:
    """The sorted relative paths (``/``-separated) of the files under ``folder`` (hidden ones
    too; at most :data:`MAX_FILES` files and :data:`MAX_DEPTH` levels), and whether that is all
    of them; strings all through (a class's planning walks every folder). The walk is a loop,
    not a recursion: a folder of a thousand nested folders costs one row, not the batch."""
    found: list[str] = []
    complete = True
    pending: list[tuple[str, str, int]] = [(folder, "", 0)]  # (folder, its relative path + "/", depth)
    while pending:
        current, prefix, depth = pending.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda entry: entry.name)
        except OSError:
            continue
        for entry in entries:
            try:
                is_folder = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_folder = False
            if not is_folder:
                found.append(prefix + entry.name)
            elif depth + 1 < MAX_DEPTH:
                pending.append((entry.path, f"{prefix}{entry.name}/", depth + 1))
            else:
                complete = False
        if len(found) > MAX_FILES:
            complete = False
            break
    found.sort()
    return found, complete


def _file_fingerprint(path: str, with_content: bool) -> bytes:
    """What a file is, never opening anything but a regular file (a pipe would block)."""
    try:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            return LINK_FINGERPRINT + os.readlink(path).encode("utf-8", "surrogatepass")
        if not stat.S_ISREG(info.st_mode):
            return f"special {stat.S_IFMT(info.st_mode):o}".encode()
        if with_content and info.st_size <= CONTENT_DIGEST_LIMIT:
            with open(path, "rb") as stream:
                return f"{info.st_size} ".encode() + hashlib.sha256(stream.read()).digest()
        return f"{info.st_size} {info.st_mtime_ns}".encode()
    except OSError as exc:
        return f"unreadable {exc.errno}".encode()
