"""What a submission folder holds, read from the file system alone: its digest and fingerprint.

A folder's digest covers the name, size and content of every file in it (a verdict store keys
a report by it); its fingerprint only the names, sizes and modification times (what a Dask
worker compares before it reads a folder in place). This module imports nothing of grader, so
that the process that takes fingerprints ahead of a large Dask run (:class:`FingerprintsAhead`,
``python -m grader.batch.fingerprints``) starts in a few milliseconds.

Taken in the driver as each chunk was sent, a folder's fingerprint cost about 35 us of the
driver's one busy core (a third of what it spent a sheet taking in a 50,000-sheet run). A run of
more chunks than one round of tasks has a helper process take them instead, a few hundred folders
ahead of the window: the driver writes each chunk's folders to it and reads back one line of
fingerprints a chunk. A fingerprint taken ahead is as good as one taken as the chunk goes: a
worker that sees the folder otherwise (a student still pushing) sends it back unread, and it
travels with its files, as before. Where the helper cannot start, or stops, the window takes the
fingerprints itself.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol, TypeVar

# Files larger than this are told apart by size and modification time, not content:
# no reader accepts them, and hashing one must not cost a batch seconds.
CONTENT_DIGEST_LIMIT = 8 << 20
MAX_FILES = 2_000  # per submission folder; past this only names, sizes and times count
MAX_DEPTH = 32  # folder levels walked in a submission folder
LINK_FINGERPRINT = b"link "  # how a link starts its fingerprint in a folder's digest
FINGERPRINT_LENGTH = 32  # hex digits
UNKNOWN = "-" * FINGERPRINT_LENGTH  # the helper's answer for a folder it could not fingerprint
# Folders asked of the helper and not yet taken back, at most: its answers (33 bytes a folder)
# then always fit in its output pipe, so it never waits on the driver while the driver waits on it.
AHEAD_FOLDERS = 1_000


class _Sent(Protocol):
    """A task as a Dask window sends it (grader.batch.reading.SubmissionTask: not imported here)."""

    @property
    def folder(self) -> str: ...
    @property
    def files(self) -> object: ...
    @property
    def seen(self) -> str: ...


Task = TypeVar("Task", bound=_Sent)


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


class FingerprintsAhead:
    """The driver's end of the helper process: folders asked for, their fingerprints read back
    in the order asked. Every failure (no process, a process that ended, an answer not as
    written) stops it: :attr:`working` turns False and nothing it said after is used."""

    def __init__(self) -> None:
        self.working = True
        try:
            self.process: subprocess.Popen[bytes] | None = subprocess.Popen(
                [sys.executable, "-m", "grader.batch.fingerprints"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            self.process = None
            self.working = False

    def ask(self, folders: Sequence[str]) -> None:
        """Have the folders fingerprinted (their answer is read by :meth:`answer`, in order)."""
        if not self.working:
            return
        assert self.process is not None and self.process.stdin is not None
        # Each path ends with a NUL (no path holds one), the request with an empty path.
        request = b"".join(os.fsencode(folder) + b"\0" for folder in folders) + b"\0"
        try:
            self.process.stdin.write(request)
            self.process.stdin.flush()
        except (OSError, ValueError):
            self.working = False

    def answer(self, count: int) -> list[str | None]:
        """The fingerprints of the next ``count`` folders asked for (None: not known, the
        helper could not take it or has stopped)."""
        line = self._line() if self.working else b""
        if len(line) != count * FINGERPRINT_LENGTH + 1 or not line.endswith(b"\n"):
            self.working = False
            return [None] * count
        text = line[:-1].decode("ascii", "replace")
        fingerprints = [
            text[start : start + FINGERPRINT_LENGTH] for start in range(0, len(text), FINGERPRINT_LENGTH)
        ]
        return [None if fingerprint == UNKNOWN else fingerprint for fingerprint in fingerprints]

    def _line(self) -> bytes:
        assert self.process is not None and self.process.stdout is not None
        try:
            return self.process.stdout.readline()
        except (OSError, ValueError):
            return b""

    def close(self) -> None:
        """End the helper (it ends when its input does; killed if it does not within a second)."""
        self.working = False
        if self.process is None:
            return
        with contextlib.suppress(OSError, ValueError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        try:
            self.process.wait(1.0)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def fingerprinted_ahead(
    chunks: Iterator[list[Task]],
    wanted: Callable[[], bool],
    asked_ahead: int = AHEAD_FOLDERS,
) -> Generator[list[Task], None, None]:
    """The chunks, each task that travels without its files (``files`` None) and has no
    fingerprint yet given its folder's (``seen``), taken by a helper process while the chunks
    before it are sent: it is asked for up to ``asked_ahead`` folders before they are needed.
    While ``wanted()`` is False (the workers stopped reading folders in place), or once the
    helper fails, chunks pass as they are (the window fingerprints what it sends in place)."""
    helper = FingerprintsAhead()
    asked: collections.deque[tuple[list[Task], list[int]]] = collections.deque()
    waiting = 0  # folders asked and not yet taken back
    try:
        for chunk in chunks:
            if not (helper.working and wanted()):
                if helper.working:
                    helper.close()  # for good: its answers to what was asked are never read
                while asked:
                    yield asked.popleft()[0]
                yield chunk
                continue
            unseen = [index for index, task in enumerate(chunk) if _needs_fingerprint(task)]
            if unseen:  # a chunk with nothing to ask is not asked (and no answer is read for it)
                helper.ask([chunk[index].folder for index in unseen])
            asked.append((chunk, unseen))
            waiting += len(unseen)
            while asked and (waiting > asked_ahead or not helper.working):
                waiting -= len(asked[0][1])
                yield _given(helper, *asked.popleft())
        while asked:
            yield _given(helper, *asked.popleft())
    finally:
        helper.close()


def _given(helper: FingerprintsAhead, chunk: list[Task], unseen: list[int]) -> list[Task]:
    """The chunk with the helper's fingerprints of the folders it was asked for."""
    if not unseen:
        return chunk
    fingerprints = helper.answer(len(unseen))
    given = list(chunk)
    for index, fingerprint in zip(unseen, fingerprints, strict=True):
        if fingerprint is not None:
            given[index] = replace(chunk[index], seen=fingerprint)  # type: ignore[type-var]
    return given


def _needs_fingerprint(task: _Sent) -> bool:
    return task.files is None and not task.seen


def _answer(folder: str) -> str:
    try:
        return folder_fingerprint(Path(folder))
    except Exception:  # the driver's window takes this one itself
        return UNKNOWN


def main() -> int:
    """The helper: each request (the folders' paths, each ended by a NUL, the request by an empty
    path) answered with one line of their fingerprints, until its input ends."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C at the terminal: gone, nothing to keep
    answers = sys.stdout.buffer
    pending, folders = b"", []
    while block := os.read(sys.stdin.fileno(), 1 << 16):
        *paths, pending = (pending + block).split(b"\0")
        for path in paths:
            if path:
                folders.append(os.fsdecode(path))
                continue
            answers.write("".join(_answer(folder) for folder in folders).encode("ascii") + b"\n")
            answers.flush()
            folders = []
    return 0


if __name__ == "__main__":
    sys.exit(main())
