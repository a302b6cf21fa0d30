"""Where a course's service keeps its data, and which database it opens: plain paths, so that
``grader users`` opens the database without the service's settings (issue 60 item 13)."""

from __future__ import annotations

from pathlib import Path


def data_dir(course_dir: Path) -> Path:
    return course_dir / ".grader-service"


def sqlite_path(course_dir: Path) -> Path:
    return data_dir(course_dir) / "grader.sqlite3"


def database_url(course_dir: Path, db_url: str | None) -> str:
    """``db_url`` (PostgreSQL's plain URL made psycopg 3's, the driver we ship), or the course's SQLite."""
    url = db_url or f"sqlite:///{sqlite_path(course_dir).resolve()}"
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            url = "postgresql+psycopg://" + url[len(plain) :]
    return url
