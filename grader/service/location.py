"""Where a course's service keeps its data, and which database it opens: plain paths, no
library. The ``grader users`` commands open the database from these alone, without the
service's settings (pydantic) or anything else of the service (issue 60 item 13)."""

from __future__ import annotations

from pathlib import Path

DATA_DIR = ".grader-service"  # inside COURSE_DIR: the SQLite database and the verdict store


def data_dir(course_dir: Path) -> Path:
    return course_dir / DATA_DIR


def sqlite_path(course_dir: Path) -> Path:
    """The course's own SQLite database (when no database URL is given)."""
    return data_dir(course_dir) / "grader.sqlite3"


def database_url(course_dir: Path, db_url: str | None) -> str:
    """The SQLAlchemy URL of the course's database: ``db_url`` (PostgreSQL's plain URL made
    psycopg 3's, the driver we ship), or SQLite in COURSE_DIR/.grader-service/."""
    url = db_url or f"sqlite:///{sqlite_path(course_dir).resolve()}"
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            url = "postgresql+psycopg://" + url[len(plain) :]
    return url
