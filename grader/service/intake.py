"""What a student hands in, read with the CLI's own loader before it is stored.

An upload is an answers file (``answers.yaml``/``.yml``/``.json``) or a write-up
(``.tex``, ``.md``, ``.ipynb``), or answers sent as JSON. It is read from memory under its
canonical name by ``grader.loading``, with the same hostile-input limits as ``grader grade``;
a file that cannot be read is refused (422) with the line and caret ``grader check`` prints.
"""

from __future__ import annotations

import json
import logging
import queue
import signal
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path, PurePosixPath
from typing import Any

from grader.core.folder import Folder
from grader.core.report import Report
from grader.core.submission import Submission
from grader.loading import load_submission
from grader.reporting.check import CheckResult, render_check
from grader.service.errors import ApiError
from grader.service.executing import worker_context

log = logging.getLogger("grader.service")

# Upload suffix -> the file name it is graded under.
CANONICAL_NAMES = {
    ".yaml": "answers.yaml",
    ".yml": "answers.yaml",
    ".json": "answers.json",
    ".tex": "main.tex",
    ".md": "answers.md",
    ".ipynb": "answers.ipynb",
}


def canonical_name(filename: str) -> str:
    suffix = PurePosixPath(filename or "").suffix.lower()
    name = CANONICAL_NAMES.get(suffix)
    if name is None:
        kinds = ", ".join(sorted(CANONICAL_NAMES))
        raise ApiError(
            422, f"a {suffix or 'file without suffix'} file cannot be graded; send one of: {kinds}"
        )
    return name


def answers_as_file(answers: Any) -> tuple[str, bytes]:
    """JSON ``{"answers": {...}}`` as the answers.json it stands for."""
    if not isinstance(answers, dict):
        raise ApiError(422, "'answers' must be a mapping from part id to answer")
    return "answers.json", json.dumps({"answers": answers}, ensure_ascii=False).encode("utf-8")


def answers_text_file(text: str) -> tuple[str, bytes]:
    """Answers pasted in the hand-in form, as the answers.yaml they are."""
    return "answers.yaml", text.replace("\r\n", "\n").encode("utf-8")


def read_handed_in(filename: str, content: bytes, student: str) -> Submission:
    """A stored hand-in's answers, read as at hand-in (the CLI's loader), named from ``student``."""
    return load_submission(Folder.from_files({filename: content}, student))


def read_upload(filename: str, content: bytes, student: str, assignment: str) -> Submission:
    """The submission as grader reads it; 422 with the CLI's caret when it cannot be read."""
    submission = read_handed_in(filename, content, student)
    if submission.load_error:
        raise unreadable(submission, assignment)
    return submission


def unreadable(submission: Submission, assignment: str) -> ApiError:
    """The 422 for a file that cannot be read, with the caret under its line."""
    report = Report(
        assignment,
        submission.student,
        [],
        error=submission.load_error,
        error_position=submission.error_position,
    )
    text = render_check(CheckResult(report, []))
    where = submission.error_position
    message = (submission.load_error or "").replace(str(Path(submission.folder)) + "/", "")
    return ApiError(
        422,
        f"the file cannot be read: {message}",
        line=where.line if where else None,
        column=where.column if where else None,
        detail=text.replace(str(Path(submission.folder)) + "/", ""),
    )


def unreadable_fields(filename: str, content: bytes, student: str, assignment: str) -> dict[str, Any] | None:
    """None when the upload reads; else the fields of its 422 (``ApiError(422, **fields)``)."""
    try:
        read_upload(filename, content, student, assignment)
    except ApiError as error:
        return {"message": error.message, **error.extra}
    return None


def _serve_reads(connection: Connection) -> None:
    """The reader process: read each upload sent until the server closes its end (or dies)."""
    # SIGTERM and Ctrl-C reach the whole process group: the server decides when this ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        try:
            upload = connection.recv()
        except (EOFError, OSError):
            return
        connection.send(unreadable_fields(*upload))


@dataclass
class _Reader:
    process: BaseProcess
    connection: Connection  # the server's end; the reader's end is only in the reader


READER_WAIT_SECONDS = 5.0
# The 422 of an upload whose reading ended two reader processes in a row.
READ_STOPPED: dict[str, Any] = {"message": "this file could not be read: reading it stopped the reader twice"}


class UploadReader:
    """Reads uploads in ``processes`` processes of their own, so that the server's interpreter
    serves other requests while a 45-part answers file is parsed (about 2 ms of CPU each).
    The same loader and limits, the same 422; a reader that dies is replaced and the upload
    read in the request's thread. A reader ends when the server closes its pipe or dies."""

    def __init__(self, processes: int = 1):
        self.processes = processes
        self._idle: queue.SimpleQueue[_Reader] = queue.SimpleQueue()
        self._started = False

    def start(self) -> None:
        for _ in range(self.processes):
            self._idle.put(self._spawn())
        self._started = True
        for _ in range(self.processes):  # each imports what reading needs now, not at the first upload
            self.read("answers.yaml", b"answers: {}\n", "warm-up", "warm-up")

    @staticmethod
    def _spawn() -> _Reader:
        context = worker_context()
        ours, theirs = context.Pipe()
        process: BaseProcess = context.Process(  # type: ignore[attr-defined]  # every context has it
            target=_serve_reads, args=(theirs,), name="grader-reader", daemon=True
        )
        process.start()
        theirs.close()
        log.info("upload reader %d started", process.pid)
        return _Reader(process, ours)

    def read(self, filename: str, content: bytes, student: str, assignment: str) -> None:
        """Raises the 422 of an upload that cannot be read (call from a request thread)."""
        if not self._started:
            read_upload(filename, content, student, assignment)
            return
        try:
            reader = self._idle.get(timeout=READER_WAIT_SECONDS)
        except queue.Empty:  # the server is stopping (or every reader has been busy that long)
            read_upload(filename, content, student, assignment)
            return
        upload = (filename, content, student, assignment)
        fields: dict[str, Any] | None = READ_STOPPED
        try:
            # A reader that ends under an upload is replaced and the upload read again in the new
            # one; one that ends a second reader is refused, never read in the server itself.
            for _ in range(2):
                try:
                    reader.connection.send(upload)
                    fields = reader.connection.recv()
                    break
                except (EOFError, OSError):
                    log.error("upload reader %s ended; starting another", reader.process.pid)
                    reader.connection.close()
                    reader = self._spawn()
        finally:
            self._idle.put(reader)
        if fields is not None:
            raise ApiError(422, **fields)

    def stop(self) -> None:
        self._started = False
        for _ in range(self.processes):
            try:
                reader = self._idle.get(timeout=READER_WAIT_SECONDS)
            except queue.Empty:  # a request still holds it: the reader ends with the server
                continue
            reader.connection.close()  # its end sees EOF and returns
            reader.process.join(5)
            if reader.process.is_alive():
                reader.process.kill()
