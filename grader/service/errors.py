"""Errors as JSON a person can act on: ``{"error": {"status": 404, "message": ...}}``."""

from __future__ import annotations

import errno
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

RETRY_AFTER_SECONDS = 5  # what a 503 asks a client to wait before it sends again
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


class ApiError(Exception):
    def __init__(self, status: int, message: str, **extra: Any):
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra
        self.headers: dict[str, str] = {}

    def body(self) -> dict[str, Any]:
        return {"error": {"status": self.status, "message": self.message, **self.extra}}

    def retry_after(self, seconds: int = RETRY_AFTER_SECONDS) -> ApiError:
        """This error, asking the client to send again in ``seconds``."""
        self.headers["Retry-After"] = str(seconds)
        return self


# PostgreSQL's SQLSTATEs (classes or codes) of a statement the server refused as a whole for
# the state it is in, not for what was asked: a connection lost (08), out of disk, memory or
# connections (53), shutting down or not accepting connections (57), an I/O error (58), a
# read-only transaction (25006: a replica after a fail-over, or default_transaction_read_only),
# a serialization failure or deadlock (40001, 40P01: rolled back, to be sent again).
# psycopg raises several of them as InternalError or IntegrityError's siblings, not OperationalError.
UNAVAILABLE_SQLSTATES = ("08", "53", "57", "58", "25006", "40001", "40P01")


def out_of_service(exc: BaseException) -> bool:
    """Whether a request failed because the database or its disk cannot serve it now (down,
    past its timeouts, full, read-only), not by a fault of the request or the code: a DB-API
    OperationalError by its definition (SQLite's full disk, PostgreSQL's cancelled statement),
    or any error whose SQLSTATE says the server refuses every write for now."""
    if isinstance(exc, OperationalError | PoolTimeout):
        return True
    if isinstance(exc, DBAPIError):
        state = str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or "")
        return exc.connection_invalidated or state.startswith(UNAVAILABLE_SQLSTATES)
    return isinstance(exc, OSError) and exc.errno in DISK_FULL


def unavailable(writing: bool) -> ApiError:
    """The 503 of a request the database could not serve. Its transaction was rolled back: a
    request that writes is told that nothing it sent was kept, so that it is sent again."""
    if writing:
        message = (
            "the service cannot store anything right now (its database is down or not answering, "
            "or its disk is full): what you sent was NOT kept, no hand-in or grade was stored; "
            f"send it again in {RETRY_AFTER_SECONDS} s (grader submit does so by itself)"
        )
        return ApiError(503, message, kept=False).retry_after()
    down = f"the service's database is down or not answering right now: try again in {RETRY_AFTER_SECONDS} s"
    return ApiError(503, down).retry_after()
