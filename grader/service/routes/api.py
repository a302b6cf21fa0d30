"""The JSON API, ``/api/v1``: hand in, poll, check; the TA's lists and regrades. The work is
the queue's, the loader's and the engine's check: the code ``grader grade`` and ``grader check`` run."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from grader.core.report import points_value
from grader.course.files import LoadedAssignment, describe
from grader.course.late import is_late
from grader.course.shown import shown_time
from grader.course.variant_key import sheet_of
from grader.course.visibility import kept_student_json, student_json
from grader.service import metrics
from grader.service.crud import queue
from grader.service.crud.audit import audit
from grader.service.crud.submissions import (
    add_submission,
    stored_report,
    student_named,
    submission_for,
    submission_states,
    submission_with_state,
    submissions_where,
    user_names,
)
from grader.service.db import lock_students
from grader.service.deps import AnyUser, AssignmentDep, ServiceDep, Staff, WebService
from grader.service.errors import ApiError
from grader.service.intake import answers_as_file, canonical_name, read_upload
from grader.service.models import JobStatus, Submission, User, VerdictRow, detached, is_staff, utcnow
from grader.service.waiting import MAX_WAIT_SECONDS, read_report, wait_for

router = APIRouter(prefix="/api/v1")


async def read_body(request: Request, limit: int) -> tuple[str, bytes]:
    """(canonical file name, content) of a multipart ``file`` or JSON ``{"answers": ...}``,
    at most ``limit`` bytes."""
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
        _, filename, content = await form_file(request, limit, "the answers file")
        return canonical_name(filename), content
    raise ApiError(
        422, "send the answers file as multipart/form-data (field 'file') or JSON {'answers': {...}}"
    )


async def form_file(
    request: Request, limit: int, what: str, max_fields: int = 10, advice: str = ""
) -> tuple[FormData, str, bytes]:
    """(the form, the file's name, its content) of a multipart upload's field ``file`` (``what``
    it should hold), at most ``limit`` bytes: one reader for every upload of the API."""
    form = await request.form(max_files=1, max_fields=max_fields)
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise ApiError(422, f'no file: send {what} as multipart field "file"')
    content = await upload.read(limit + 1)
    if len(content) > limit:
        raise ApiError(413, f"{what} is over the limit of {limit:,} bytes{advice}")
    return form, upload.filename or "", content


def store_submission(
    service: WebService, user: User, assignment: LoadedAssignment, filename: str, content: bytes
) -> Submission:
    """Keep a new version and queue its grading; detached, without its content."""
    now = utcnow()
    refuse_after_close(assignment, user.name, now)
    read_upload(filename, content, user.name, assignment.name)  # 422 with a caret when unreadable
    late = is_late(now, assignment.due_for(user.name))  # as it was then; pages derive it anew
    fields: dict[str, Any] = {"assignment_id": assignment.id, "user_id": user.id, "filename": filename}
    fields |= {"content_hash": hashlib.sha256(content).hexdigest(), "late": late, "created_at": now}
    with service.db.write() as db:
        # Hand-ins of one student at once take turns, so each takes the next version number.
        lock_students(db, assignment.id, [user.id])
        add_submission(db, fields, content, service.settings.student_hand_ins)
        queue.enqueue(db, fields["id"])
        handed_in = {"assignment": assignment.name, "submission": fields["id"], "version": fields["version"]}
        audit(db, user, "submit", **handed_in)
    service.jobs_queued()
    metrics.SUBMISSIONS.inc()
    return detached(Submission, fields)


def refuse_after_close(assignment: LoadedAssignment, student: str, now: dt.datetime) -> None:
    """403 once the assignment closed for ``student`` (their extension moves their close)."""
    close = assignment.close_for(student)
    if close is not None and now > close:
        raise ApiError(
            403,
            f"{assignment.name} closed at {shown_time(close, assignment.zone)}: hand-ins are no longer "
            "taken; ask a TA for an extension",
        )


@router.get("/assignments")
def list_assignments(service: ServiceDep, user: AnyUser) -> dict[str, Any]:
    return {"assignments": [describe(a) for a in service.course.all()]}


@router.get("/assignments/{assignment}/sheet")
def assignment_sheet(
    service: ServiceDep, user: AnyUser, loaded: AssignmentDep, student: str | None = None
) -> dict[str, Any]:
    """The caller's own sheet; a TA may ask for a student's (``?student=``)."""
    if student is not None and student != user.name and not is_staff(user):
        raise ApiError(403, "a student sees their own sheet only")
    return sheet_of(loaded, student or user.name)


@router.post("/assignments/{assignment}/submissions", status_code=202)
async def submit(request: Request, service: ServiceDep, user: AnyUser, loaded: AssignmentDep) -> JSONResponse:
    filename, content = await read_body(request, service.settings.max_upload_bytes)
    submission = await run_in_threadpool(store_submission, service, user, loaded, filename, content)
    return accepted(submission)


def accepted(submission: Submission, **extra: Any) -> JSONResponse:
    """202 for a hand-in kept and queued: where to follow it (``Location``), and ``extra``."""
    url = f"/api/v1/submissions/{submission.id}"
    body = {"id": submission.id, "status": JobStatus.QUEUED, "version": submission.version}
    body |= {"late": submission.late, "url": url, **extra}
    return JSONResponse(body, status_code=202, headers={"Location": url})


def submission_json(
    service: WebService, db: Session | Connection, submission_id: int, user: User, now: dt.datetime
) -> dict[str, Any]:
    return submission_data(service, *submission_with_state(db, submission_id, user), user, now)


def submission_data(
    service: WebService,
    submission: Submission,
    author: str | None,
    state: tuple[str, VerdictRow | None],
    user: User,
    now: dt.datetime,
    with_report: bool = True,
) -> dict[str, Any]:
    """A submission as ``user`` may see it, from its ``state`` (:func:`submission_with_state`); late
    after the due in force now (its student's extension counts)."""
    status, verdict = state
    assignment = service.course.by_id(submission.assignment_id)
    due = assignment.due_for(author or "") if assignment is not None else None
    data: dict[str, Any] = {"id": submission.id, "assignment": assignment.name if assignment else None}
    data |= {"student": author, "version": submission.version, "filename": submission.filename}
    data |= {"submitted_at": submission.created_at.isoformat(), "late": is_late(submission.created_at, due)}
    data["status"] = status
    if verdict is None or assignment is None:
        return data
    if verdict.problem_hash != assignment.problem_hash:  # graded since an edit this process missed?
        service.course.refresh()
        assignment = service.course.by_id(submission.assignment_id) or assignment
    data["graded_at"] = verdict.created_at.isoformat()
    data["current"] = verdict.problem_hash == assignment.problem_hash
    if not with_report:  # a list's row: the verdict's score as its row keeps it, no report read back
        data["score"], data["max_score"] = points_value(verdict.score), points_value(verdict.max_score)
    elif is_staff(user):
        data["report"] = stored_report(verdict).to_dict(show_expected=True)
    else:
        kept = kept_student_json(verdict.shown, assignment, now)  # the pool worker's, if it may be
        data["report"] = kept or student_json(stored_report(verdict), assignment, now)
    return data


def read_submission(service: WebService, submission_id: int, user: User) -> dict[str, Any]:
    with service.db.read_one() as db:  # what students poll: one statement
        return submission_json(service, db, submission_id, user, utcnow())


WaitSeconds = Annotated[
    float | None,
    Query(
        ge=0,
        le=MAX_WAIT_SECONDS,
        allow_inf_nan=False,
        description=(
            "Long poll: hold the answer until the submission is graded, for at most this many"
            f" seconds (0 to {MAX_WAIT_SECONDS:g}), then answer with its state as it is then."
            " A client waiting for a verdict asks again while the status is not `graded`."
        ),
    ),
]


@router.get("/submissions/{submission_id}")
async def get_submission(
    submission_id: int, service: ServiceDep, user: AnyUser, wait: WaitSeconds = None
) -> dict[str, Any]:
    """A submission's state (`queued`, `grading`, `graded`) and, once graded, its report as the
    caller may see it. With `?wait=SECONDS`, answers as soon as it is graded."""
    if not wait:
        return await read_report(read_submission, service, submission_id, user)
    # Waiting for the verdict before reading the state: one committed in between still wakes it.
    # It waits in the event loop (no thread, no connection), woken by the grading process's report.
    with service.verdicts.watch(submission_id) as graded:
        data = await read_report(read_submission, service, submission_id, user)
        if data["status"] == "graded":
            return data
        await wait_for(graded, wait)  # graded, the time is up, or the server is stopping
    return await read_report(read_submission, service, submission_id, user)


@router.get("/me/submissions")
def my_submissions(service: ServiceDep, user: AnyUser) -> dict[str, Any]:
    with service.db.read() as db:
        rows = submissions_where(db, Submission.user_id == user.id)
        now = utcnow()
        return {"submissions": [submission_json(service, db, s.id, user, now) for s in rows]}


@router.post("/assignments/{assignment}/check")
async def check(
    request: Request, service: ServiceDep, user: AnyUser, loaded: AssignmentDep
) -> dict[str, Any]:
    filename, content = await read_body(request, service.settings.max_upload_bytes)
    return await service.checks.check(loaded, user.name, filename, content)  # no request thread


CLASS_LIST_BATCH = 500  # the class's list is read and sent this many hand-ins at a time


@router.get("/assignments/{assignment}/submissions", response_model=None)
def class_submissions(service: ServiceDep, user: Staff, loaded: AssignmentDep) -> StreamingResponse:
    """Every version of everyone, oldest first, each with its state and score (no report): sent
    as it is read, a batch at a time, so what the server holds is a batch, not the term's
    hand-ins. The first batch is read before the answer starts (a database that cannot answer
    is the JSON 503 of any request); a later read that fails ends the connection mid-list."""
    now = utcnow()
    first = class_batch(service, loaded.id, user, now, after=0)
    return StreamingResponse(class_list(service, loaded.id, user, now, first), media_type="application/json")


def class_batch(
    service: WebService, assignment_id: int, user: User, now: dt.datetime, after: int
) -> list[dict[str, Any]]:
    """The class list's rows of the next :data:`CLASS_LIST_BATCH` hand-ins after id ``after``."""
    with service.db.read() as db:
        rows = submissions_where(
            db, Submission.assignment_id == assignment_id, Submission.id > after, limit=CLASS_LIST_BATCH
        )
        states = submission_states(db, [row.id for row in rows])
        authors = user_names(db, [row.user_id for row in rows])
    return [
        submission_data(service, row, authors.get(row.user_id), states[row.id], user, now, with_report=False)
        for row in rows
    ]


def class_list(
    service: WebService, assignment_id: int, user: User, now: dt.datetime, batch: list[dict[str, Any]]
) -> Iterator[bytes]:
    """``{"submissions": [...]}`` in pieces, from ``batch`` (the first) on; each later batch
    read in a transaction of its own (a slow client holds no connection)."""
    yield b'{"submissions":['
    separator = b""
    while batch:
        yield separator + b",".join(json_bytes(row) for row in batch)
        separator = b","
        if len(batch) < CLASS_LIST_BATCH:
            break
        after, batch = batch[-1]["id"], []  # let go of one batch before reading the next
        batch = class_batch(service, assignment_id, user, now, after)
    yield b"]}"


def json_bytes(value: Any) -> bytes:
    """``value`` as FastAPI's JSONResponse writes it."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


@router.get("/students/{student}/submissions")
def student_history(student: str, service: ServiceDep, user: Staff) -> dict[str, Any]:
    with service.db.session(read_only=True) as db:
        author = student_named(db, student)
        rows = submissions_where(db, Submission.user_id == author.id)
        now = utcnow()
        return {
            "student": student,
            "submissions": [submission_json(service, db, s.id, user, now) for s in rows],
        }


@router.post("/submissions/{submission_id}/regrade", status_code=202)
def regrade(submission_id: int, service: ServiceDep, user: Staff) -> dict[str, Any]:
    with service.db.session() as db:
        submission = submission_for(db, submission_id, user)
        job_id = queue.enqueue(db, submission.id, kind="regrade")
        audit(db, user, "regrade", submission=submission.id)
        answer = {"id": submission.id, "job": job_id, "status": JobStatus.QUEUED}
    service.jobs_queued()
    return answer


@router.get("/queue")
def queue_state(service: ServiceDep, user: Staff) -> dict[str, Any]:
    counted = service.job_counts()  # what /healthz shows, from the same look
    return {"jobs": counted.jobs(), "counted_at": counted.at.isoformat()}
