"""How one ``grader serve`` runs: where the course is, which database, how many workers, limits."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from grader.service.db import Timeouts
from grader.service.location import data_dir, database_url


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    course_dir: Path
    course_name: str = "course"
    db_url: str | None = None  # default: SQLite in COURSE_DIR/.grader-service/
    workers: int = Field(default=2, ge=0)  # the grading loop's pool processes; 0 grades in its thread
    grading: bool = True  # the grading loop is a thread of the server; False (--web-only): --worker only
    executor: str | None = None  # dask://host:port for a Dask cluster
    max_upload_bytes: int = Field(default=1 << 20, ge=1)
    rate_limit: int = Field(default=120, ge=1)  # requests per token per rate_window
    rate_window: float = Field(default=60.0, gt=0)
    # In flight at once: checks on the server (/healthz says "saturated" when all are taken), and
    # each student's checks and hand-ins not yet graded (past either, a 429 that says so).
    max_checks: int = Field(default=8, ge=1)
    student_checks: int = Field(default=2, ge=1)
    student_hand_ins: int = Field(default=100, ge=1)
    session_hours: float = Field(default=12.0, gt=0)
    secure_cookies: bool = False  # set behind TLS (--secure-cookies, or a https:// --public-url)
    # How often idle workers look for jobs queued by another server (this one's wake them at once).
    poll_seconds: float = Field(default=1.0, gt=0)
    reload_seconds: float = Field(default=2.0, gt=0)  # how often problem files are re-read
    counts_seconds: float = Field(default=1.0, gt=0)  # the queue's counts are shared this long
    batch_size: int = Field(default=16, ge=1)  # jobs claimed at once
    # Threads that run requests' blocking work. The interpreter runs one at a time: a few serve a
    # burst in arrival order, forty share it and all finish late.
    request_threads: int = Field(default=8, ge=1)
    # Slow clients: a request's head must arrive within header_timeout of the connection (or of
    # the answer before), its body within body_timeout of the route asking for it (else 408).
    header_timeout: float = Field(default=10.0, gt=0)
    body_timeout: float = Field(default=60.0, gt=0)
    lti_key_days: float | None = Field(default=None, gt=0)  # rotate the LTI tool key when this old
    # How long connecting, and one statement (lock waits included), may take before the
    # database counts as down: the request is answered 503, not held.
    db_connect_timeout: float = Field(default=5.0, gt=0)
    db_statement_timeout: float = Field(default=15.0, gt=0)

    @property
    def data_dir(self) -> Path:
        return data_dir(self.course_dir)

    @property
    def database_url(self) -> str:
        return database_url(self.course_dir, self.db_url)

    @property
    def store_path(self) -> Path:
        return self.data_dir / "verdicts.sqlite3"

    @property
    def timeouts(self) -> Timeouts:
        return Timeouts(self.db_connect_timeout, self.db_statement_timeout)
