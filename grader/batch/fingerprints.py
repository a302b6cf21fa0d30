"""What a submission folder holds, read from the file system alone: its digest and fingerprint.

A folder's digest covers the name, size and content of every file in it (a verdict store keys
a report by it); its fingerprint only the names, sizes and modification times (what a Dask
worker compares before it reads a folder in place).
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from grader.reading import CONTENT_DIGEST_LIMIT, MAX_FILES

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
