"""The service's upload readers: an upload that ends the reader reading it is never read in the
server's own process (it would take the server down with it); the HTTP-level behaviour (the same
422, a killed reader replaced) is tested over real HTTP in test_service_api.py."""

from __future__ import annotations

import multiprocessing
import os
from multiprocessing.connection import Connection

import pytest

from grader.service import intake
from grader.service.errors import ApiError
from grader.service.intake import UploadReader, _Reader


def _end_on_first_upload(connection: Connection) -> None:
    connection.recv()
    os._exit(1)  # as a reader killed by what it was reading


class ReadersThatEnd(UploadReader):
    """Readers forked here, each ending on the first upload it is sent."""

    spawned = 0

    @staticmethod
    def _spawn() -> _Reader:
        ReadersThatEnd.spawned += 1
        context = multiprocessing.get_context("fork")
        ours, theirs = context.Pipe()
        process = context.Process(target=_end_on_first_upload, args=(theirs,), daemon=True)
        process.start()
        theirs.close()
        return _Reader(process, ours)


def test_an_upload_that_ends_two_readers_is_refused_and_never_read_in_the_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def read_in_the_server(*_: object) -> None:
        raise AssertionError("the upload was read in the server's process")

    monkeypatch.setattr(intake, "read_upload", read_in_the_server)
    readers = ReadersThatEnd(processes=1)
    readers._idle.put(readers._spawn())
    readers._started = True
    with pytest.raises(ApiError) as refused:
        readers.read("answers.yaml", b"answers: {q1: 1}\n", "alice", "a1")
    assert refused.value.status == 422
    assert "stopped the reader twice" in refused.value.message
    # the first reader, the one the upload was read again in, and the one left for the next upload
    assert ReadersThatEnd.spawned == 3
    left = readers._idle.get_nowait()
    assert left.process.is_alive()
    left.connection.close()
    left.process.join(5)
