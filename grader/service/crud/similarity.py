"""The similarity pages' stored results (``similarity_results``), and what tells the background
refresher (:mod:`grader.service.similarity_results`) an assignment's page may be stale."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grader.service.models import Assignment, Job, JobStatus, SimilarityResult, Submission, VerdictRow


def rows_of(db: Session, ids: list[int]) -> dict[int, SimilarityResult]:
    found = db.scalars(select(SimilarityResult).where(SimilarityResult.assignment_id.in_(ids)))
    return {row.assignment_id: row for row in found}


def stamp_rows(session: Session) -> tuple[dict[int, dt.datetime], list[Any], list[Any]]:
    """By assignment: when its oldest job still waiting was queued; (assignment, newest
    submission, newest verdict); (assignment, page asked for at, assignment updated at)."""
    waiting = {
        assignment_id: oldest
        for assignment_id, oldest in session.execute(
            select(Submission.assignment_id, func.min(Job.created_at))
            .join(Job, Job.submission_id == Submission.id)
            .where(Job.status != JobStatus.DONE)
            .group_by(Submission.assignment_id)
        )
    }
    handed = session.execute(
        select(Submission.assignment_id, func.max(Submission.id), func.max(VerdictRow.id))
        .outerjoin(VerdictRow, VerdictRow.submission_id == Submission.id)
        .group_by(Submission.assignment_id)
    ).all()
    asked = session.execute(
        select(SimilarityResult.assignment_id, SimilarityResult.requested_at, Assignment.updated_at).join(
            Assignment, Assignment.id == SimilarityResult.assignment_id
        )
    ).all()
    return waiting, list(handed), list(asked)
