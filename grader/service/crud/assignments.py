"""The course and its assignments as the database has them in force, and the versions of the
course's files each server's folder held (:mod:`grader.service.course` decides what to take)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from grader.service.models import Assignment, Course, CourseFileVersion


def first_course(db: Session) -> Course | None:
    return db.scalar(select(Course).order_by(Course.id))


def assignments_of(db: Session, course_id: int) -> list[Assignment]:
    return list(
        db.scalars(select(Assignment).where(Assignment.course_id == course_id).order_by(Assignment.id))
    )


def assignments_stamp(db: Session | Connection, course_id: int) -> tuple[tuple[object, ...], ...]:
    """What changes when an assignment in force changes: (id, problem digest, updated) of each."""
    rows = db.execute(
        select(Assignment.id, Assignment.problem_hash, Assignment.updated_at)
        .where(Assignment.course_id == course_id)
        .order_by(Assignment.id)
    )
    return tuple(tuple(row) for row in rows)


def newest_file_version(db: Session, course_id: int) -> int | None:
    return db.scalar(select(func.max(CourseFileVersion.id)).where(CourseFileVersion.course_id == course_id))


def file_versions(db: Session, course_id: int) -> list[CourseFileVersion]:
    """Every version of the course's files the servers' folders held, oldest first."""
    return list(
        db.scalars(
            select(CourseFileVersion)
            .where(CourseFileVersion.course_id == course_id)
            .order_by(CourseFileVersion.id)
        )
    )
