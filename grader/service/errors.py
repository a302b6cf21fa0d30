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


def out_of_service(exc: BaseException) -> bool:
    """Whether a request failed because the database, or the disk under it, cannot serve it
    now (down, not answering within its timeouts, locked past them, full) rather than by a
    fault of the request or the code. A DB-API OperationalError is, by its definition, such
    an error ("not necessarily under the control of the programmer"); SQLite's full disk is
    one ("database or disk is full"), PostgreSQL's cancelled statement too."""
    if isinstance(exc, OperationalError | PoolTimeout):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
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
    else:
        message = (
            f"the service's database is down or not answering right now: try again in {RETRY_AFTER_SECONDS} s"
        )
    error = ApiError(503, message, kept=False) if writing else ApiError(503, message)
    error.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return error
