"""Reading a submission as a worker does: from its folder on disk, or from its files as they
travel (a Dask task, an upload), under the time and memory limits of the problem set's checks.

A batch worker, ``grader check`` and the service read a submission with these functions: the
folder is looked at once (grader.core.folder), then its answers file, write-ups and code files
are read once each, by :mod:`grader.loading`. Nothing is written to disk to read files that
travelled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from grader.core.folder import MAX_FILES, Entry, Folder
from grader.core.submission import Submission
from grader.core.timelimit import CheckLimits, CheckTimeout, memory_limit, run_with_time_limit
from grader.loading import (
    ANSWER_FILES,
    MAX_ANSWERS_FILE_BYTES,
    MAX_CODE_FILE_BYTES,
    find_answers_file,
    load_submission,
)
from grader.pdf.limits import IMAGE_SUFFIXES, PdfLimits
from grader.pdf.tags import TAGS_FILE
from grader.writeups import WRITEUP_SUFFIXES, writeup_files
from grader.writeups.common import MAX_NOTEBOOK_BYTES, MAX_WRITEUP_FILE_BYTES

if TYPE_CHECKING:
    from grader.spec import ProblemSet

__all__ = ["MAX_FILES", "Entry", "Files", "read_submission", "read_within_limits", "ship_folder"]

READING_SECONDS = 10.0  # the least CPU time a submission's files get to be read
# Files larger than this are told apart by size and modification time, not content:
# no reader accepts them, and hashing (or shipping) one must not cost a batch seconds.
CONTENT_DIGEST_LIMIT = 8 << 20
# The largest file any reader opens: a larger one travels as its size alone.
LARGEST_READ = max(
    MAX_ANSWERS_FILE_BYTES,
    MAX_CODE_FILE_BYTES,
    MAX_WRITEUP_FILE_BYTES,
    MAX_NOTEBOOK_BYTES,
    PdfLimits().max_bytes,
)
# A PDF hand-in, its page photos and its page tags (grader.pdf) are read too.
PDF_HAND_IN = (".pdf", *IMAGE_SUFFIXES)

Files = Iterable[Entry] | Mapping[str, bytes]  # a folder's files as they travel, or an upload's by name


def reading_limits(spec: ProblemSet) -> tuple[float, int]:
    """(seconds, MiB) for reading a submission: the largest limits a check of it may have, and
    at least :data:`READING_SECONDS` (an answers file of 180,000 numbers, 540 KB, takes about 2 s
    of CPU time to read on an idle machine and over 5 s on a busy one)."""
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
        submission = load_submission(Folder.from_disk(folder, shown))
    else:
        submission = load_submission(Folder.from_files(files, shown, PurePosixPath(key).name))
    submission.folder = key
    return submission


def ship_folder(folder: Path) -> tuple[Entry, ...]:
    """The folder as a worker on another machine must see it to read it as this machine does:
    the content of the files a reader opens (answers files, write-ups, code files, a PDF
    hand-in), only the kind and size of every other entry (a 4 MB dataset travels as a few
    bytes), and every link as
    it resolves *here*: inside the folder (to its target, whose content travels), out of it, or
    nowhere. A folder that is itself a link travels as that (it is refused, never read)."""
    shipped = Folder.from_disk(folder)
    if not _hands_in_a_pdf(shipped):  # an answers file or a write-up is read: a PDF beside it is not
        return shipped.travelling(is_read_by_readers, LARGEST_READ)
    return shipped.travelling(lambda path: is_read_by_readers(path) or is_pdf_hand_in(path), LARGEST_READ)


def _hands_in_a_pdf(folder: Folder) -> bool:
    if find_answers_file(folder) is not None or writeup_files(folder):
        return False
    from grader.pdf.intake import pdf_hand_in  # the PDF reader: only for a folder that may hold one

    return bool(pdf_hand_in(folder))


def is_read_by_readers(relative: str) -> bool:
    """Might a reader open this file: an answers file, a write-up (LaTeX inputs anywhere), code?"""
    return relative in ANSWER_FILES or relative.endswith((*WRITEUP_SUFFIXES, ".py"))


def is_pdf_hand_in(relative: str) -> bool:
    """A PDF hand-in's files: the PDF or page photos, and its pages.txt (read only in a folder
    with no answers file and no write-up)."""
    return relative == TAGS_FILE or ("/" not in relative and relative.lower().endswith(PDF_HAND_IN))
