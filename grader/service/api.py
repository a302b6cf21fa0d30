"""The JSON API, ``/api/v1``: hand in, poll, check; the TA's lists, regrades and exports.

Routes are thin: they read the request, ask :mod:`grader.service.auth` who may call
them, and hand the work to the queue, the loader, the engine's check and the
reporters, the same code ``grader grade`` and ``grader check`` run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from grader.batch.blobs import loads
from grader.core.report import Report
from grader.reporting.lms import Roster, RosterError, RosterReporter, load_roster
from grader.reporting.reporters import REPORTERS
from grader.service import metrics, queue
from grader.service.auth import allow, is_staff
from grader.service.checking import run_check
from grader.service.course import LoadedAssignment, describe
from grader.service.db import AuditEntry, Job, JobStatus, Role, Submission, User, VerdictRow, utcnow
from grader.service.errors import ApiError
from grader.service.intake import answers_as_file, canonical_name, read_upload
from grader.service.visibility import student_json

router = APIRouter(prefix="/api/v1")
# Who may call a route: a student or staff (own data; staff see all), or staff only.
AnyUser = Annotated[User, Depends(allow(Role.STUDENT, Role.TA))]
Staff = Annotated[User, Depends(allow(Role.TA))]
EXPORT_FORMATS = ("csv", "canvas", "moodle", "junit", "gradescope", "json", "markdown")


def service_of(request: Request) -> Any:
    return request.app.state.service


def assignment_named(request: Request, name: str) -> LoadedAssignment:
    found = service_of(request).course.get(name)
    if found is None:
        known = ", ".join(a.name for a in service_of(request).course.all()) or "none"
        raise ApiError(404, f"no assignment {name!r} in this course (assignments: {known})")
    return found


async def read_body(request: Request) -> tuple[str, bytes]:
    """(canonical file name, content) of a multipart ``file`` or JSON ``{"answers": ...}``."""
    limit = service_of(request).settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise ApiError(413, f"the upload is {int(declared):,} bytes; the limit is {limit:,} bytes")
    kind = request.headers.get("content-type", "")
    if kind.startswith("application/json"):
        body = await request.body()
        if len(body) > limit:
            raise ApiError(413, f"the answers are {len(body):,} bytes; the limit is {limit:,} bytes")
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise ApiError(422, f"the body is not JSON: {exc}") from None
        if not isinstance(data, dict) or "answers" not in data:
            raise ApiError(422, 'send {"answers": {...}} as JSON, or a file as multipart field "file"')
        return answers_as_file(data["answers"])
    if kind.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ApiError(422, 'no file: send the answers file as multipart field "file"')
        content = await upload.read(limit + 1)
        if len(content) > limit:
            raise ApiError(413, f"the file is over the limit of {limit:,} bytes")
        return canonical_name(upload.filename or ""), content
    raise ApiError(
        422, "send the answers file as multipart/form-data (field 'file') or JSON {'answers': {...}}"
    )


def audit(db: Session, user: User | None, action: str, **detail: Any) -> None:
    db.add(AuditEntry(user_id=user.id if user else None, action=action, detail=detail))


def store_submission(
    request: Request, user: User, assignment: LoadedAssignment, filename: str, content: bytes
) -> Submission:
    read_upload(filename, content, user.name, assignment.name)  # 422 with a caret when unreadable
    service = service_of(request)
    now = utcnow()
    with service.db.session() as db:
        for attempt in range(5):  # two uploads at once: the version number is taken again
            version = 1 + (
                db.scalar(
                    select(func.max(Submission.version)).where(
                        Submission.assignment_id == assignment.id, Submission.user_id == user.id
                    )
                )
                or 0
            )
            submission = Submission(
                assignment_id=assignment.id,
                user_id=user.id,
                version=version,
                filename=filename,
                content=content,
                content_hash=hashlib.sha256(content).hexdigest(),
                late=assignment.due is not None and now > assignment.due,
            )
            db.add(submission)
            try:
                db.flush()
                break
            except IntegrityError:
                db.rollback()
                if attempt == 4:
                    raise
        queue.enqueue(db, submission.id)
        audit(db, user, "submit", assignment=assignment.name, submission=submission.id, version=version)
    service.jobs_queued()
    metrics.SUBMISSIONS.inc()
    return submission


@router.get("/assignments")
def list_assignments(request: Request, user: AnyUser) -> dict[str, Any]:
    return {"assignments": [describe(a) for a in service_of(request).course.all()]}


@router.post("/assignments/{assignment}/submissions", status_code=202)
async def submit(assignment: str, request: Request, user: AnyUser) -> JSONResponse:
    loaded = assignment_named(request, assignment)
    filename, content = await read_body(request)
    submission = await run_in_threadpool(store_submission, request, user, loaded, filename, content)
    body: dict[str, Any] = {
        "id": submission.id,
        "status": JobStatus.QUEUED,
        "version": submission.version,
        "late": submission.late,
        "url": f"/api/v1/submissions/{submission.id}",
    }
    return JSONResponse(body, status_code=202, headers={"Location": body["url"]})


def submission_for(db: Session, submission_id: int, user: User) -> Submission:
    """The submission, if ``user`` may see it: its author, or staff (403 for another student's)."""
    submission = db.get(Submission, submission_id)
    if submission is None:
        raise ApiError(404, f"no submission {submission_id}")
    if submission.user_id != user.id and not is_staff(user):
        raise ApiError(403, "this submission belongs to another student")
    return submission


def latest_verdict(db: Session, submission_id: int) -> VerdictRow | None:
    return db.scalar(
        select(VerdictRow)
        .where(VerdictRow.submission_id == submission_id)
        .order_by(VerdictRow.id.desc())
        .limit(1)
    )


def stored_report(row: VerdictRow) -> Report:
    report = loads(row.report)
    if not isinstance(report, Report):
        raise ApiError(500, "a stored verdict could not be read back")
    return report


def submission_state(db: Session, submission: Submission) -> tuple[str, VerdictRow | None]:
    verdict = latest_verdict(db, submission.id)
    pending = db.scalar(
        select(Job.status)
        .where(Job.submission_id == submission.id, Job.status != JobStatus.DONE)
        .order_by(Job.id.desc())
        .limit(1)
    )
    if verdict is not None:
        return "graded", verdict
    return pending or JobStatus.QUEUED, None


def submission_json(
    request: Request, db: Session, submission: Submission, user: User, now: dt.datetime
) -> dict[str, Any]:
    service = service_of(request)
    status, verdict = submission_state(db, submission)
    author = db.get(User, submission.user_id)
    loaded = service.course.by_id(submission.assignment_id)
    data: dict[str, Any] = {
        "id": submission.id,
        "assignment": loaded.name if loaded else None,
        "student": author.name if author else None,
        "version": submission.version,
        "filename": submission.filename,
        "submitted_at": submission.created_at.isoformat(),
        "late": submission.late,
        "status": status,
    }
    if verdict is None or loaded is None:
        return data
    if verdict.problem_hash != loaded.problem_hash:  # graded since a problem-file edit this process missed?
        service.course.refresh()
        loaded = service.course.by_id(submission.assignment_id) or loaded
    report = stored_report(verdict)
    data["graded_at"] = verdict.created_at.isoformat()
    data["current"] = verdict.problem_hash == loaded.problem_hash
    if is_staff(user):
        data["report"] = report.to_dict(show_expected=True)
    else:
        data["report"] = student_json(report, loaded, now)
    return data


@router.get("/submissions/{submission_id}")
def get_submission(submission_id: int, request: Request, user: AnyUser) -> dict[str, Any]:
    with service_of(request).db.session() as db:
        submission = submission_for(db, submission_id, user)
        return submission_json(request, db, submission, user, utcnow())


@router.get("/me/submissions")
def my_submissions(request: Request, user: AnyUser) -> dict[str, Any]:
    with service_of(request).db.session() as db:
        rows = db.scalars(
            select(Submission).where(Submission.user_id == user.id).order_by(Submission.id)
        ).all()
        now = utcnow()
        return {"submissions": [submission_json(request, db, s, user, now) for s in rows]}


@router.post("/assignments/{assignment}/check")
async def check(assignment: str, request: Request, user: AnyUser) -> dict[str, Any]:
    loaded = assignment_named(request, assignment)
    filename, content = await read_body(request)
    service = service_of(request)
    return await run_in_threadpool(run_check, service.checks, loaded, user.name, filename, content)


# ---------------------------------------------------------------------------------------------
# TAs


@router.get("/assignments/{assignment}/submissions")
def class_submissions(assignment: str, request: Request, user: Staff) -> dict[str, Any]:
    loaded = assignment_named(request, assignment)
    with service_of(request).db.session() as db:
        rows = db.scalars(
            select(Submission).where(Submission.assignment_id == loaded.id).order_by(Submission.id)
        ).all()
        now = utcnow()
        return {"submissions": [_summary(request, db, s, user, now) for s in rows]}


def _summary(
    request: Request, db: Session, submission: Submission, user: User, now: dt.datetime
) -> dict[str, Any]:
    data = submission_json(request, db, submission, user, now)
    report = data.pop("report", None)
    if report is not None:
        data["score"], data["max_score"] = report["score"], report["max_score"]
    return data


@router.get("/students/{student}/submissions")
def student_history(student: str, request: Request, user: Staff) -> dict[str, Any]:
    with service_of(request).db.session() as db:
        author = db.scalar(select(User).where(User.name == student))
        if author is None:
            raise ApiError(404, f"no student {student!r}")
        rows = db.scalars(
            select(Submission).where(Submission.user_id == author.id).order_by(Submission.id)
        ).all()
        now = utcnow()
        return {"student": student, "submissions": [submission_json(request, db, s, user, now) for s in rows]}


@router.post("/submissions/{submission_id}/regrade", status_code=202)
def regrade(submission_id: int, request: Request, user: Staff) -> dict[str, Any]:
    with service_of(request).db.session() as db:
        submission = submission_for(db, submission_id, user)
        job = queue.enqueue(db, submission.id, kind="regrade")
        audit(db, user, "regrade", submission=submission.id)
        answer = {"id": submission.id, "job": job.id, "status": JobStatus.QUEUED}
    service_of(request).jobs_queued()
    return answer


def counted_rows(request: Request, assignment: LoadedAssignment) -> list[tuple[Submission, Report]]:
    """Each student's counted version (the last one before ``due``; the last one when every
    version is late) with its newest report, by student name."""
    with service_of(request).db.session() as db:
        rows = db.execute(
            select(Submission, User.name)
            .join(User, User.id == Submission.user_id)
            .where(Submission.assignment_id == assignment.id)
            .order_by(User.name, Submission.version)
        ).all()
        chosen: dict[str, Submission] = {}
        for submission, name in rows:
            earlier = chosen.get(name)
            if earlier is None or not submission.late or earlier.late:
                chosen[name] = submission
        counted = []
        for name, submission in sorted(chosen.items()):
            verdict = latest_verdict(db, submission.id)
            if verdict is None:
                continue
            report = stored_report(verdict)
            report.student = report.folder = name
            counted.append((submission, report))
        return counted


def export_roster(request: Request) -> Roster | None:
    """The roster the Canvas and Moodle exports match students with: the LMS's own when the
    app has one (LTI's roster service, once a TA fetched it), else ``COURSE_DIR/roster.csv``."""
    provider = getattr(request.app.state, "lms_roster", None)
    roster: Roster | None = provider() if provider is not None else None
    roster_file = service_of(request).settings.course_dir / "roster.csv"
    if roster is not None or not roster_file.exists():
        return roster
    try:
        return load_roster(roster_file)
    except RosterError as exc:
        raise ApiError(422, f"roster.csv: {exc}") from None


@router.get("/assignments/{assignment}/export")
def export(assignment: str, request: Request, user: Staff, format: str = "csv") -> PlainTextResponse:
    loaded = assignment_named(request, assignment)
    if format not in EXPORT_FORMATS:
        raise ApiError(422, f"unknown format {format!r}; use one of {', '.join(EXPORT_FORMATS)}")
    reporter = REPORTERS[format]
    if isinstance(reporter, RosterReporter) and (roster := export_roster(request)) is not None:
        reporter = reporter.with_roster(roster)
    text = reporter.render_batch([report for _, report in counted_rows(request, loaded)], show_expected=False)
    media = {"json": "application/json", "junit": "application/xml", "markdown": "text/markdown"}
    suffix = {"junit": "xml", "gradescope": "json", "canvas": "csv", "moodle": "csv", "markdown": "md"}
    filename = f"{loaded.name}-{format}.{suffix.get(format, format)}"
    return PlainTextResponse(
        text,
        media_type=media.get(format, "text/csv"),
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/queue")
def queue_state(request: Request, user: Staff) -> dict[str, Any]:
    with service_of(request).db.session() as db:
        return {"jobs": queue.counts(db)}
