"""Server-rendered pages, in the report pages' own style: no JavaScript needed, no CDN, a
strict Content-Security-Policy (only the page's own stylesheet, by hash), a CSRF token
in every form, everything a student wrote escaped.

Students: log in (password, or a one-time link), see assignments and deadlines, hand in
a file or pasted answers, see the feedback page of each version. TAs: the class
dashboard (refreshed every few seconds), any student's pages, the queue.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from grader.core.report import Report, points_value, shown_points
from grader.reporting.dashboard import DASHBOARD_CSS, SORT_SCRIPT, render_dashboard
from grader.reporting.html import CSS, render_student_page
from grader.reporting.typeset import SERVICE_ASSETS
from grader.service.auth import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    authenticate,
    end_session,
    login_form_ok,
    login_form_token,
    redeem_login_link,
    set_session_cookie,
    start_session,
)
from grader.service.checking import checked
from grader.service.course_files import LoadedAssignment, read_moment
from grader.service.credentials import LINK_PATH, new_secret, verify_password
from grader.service.crud import queue
from grader.service.crud.accounts import active_user
from grader.service.crud.audit import audit
from grader.service.crud.extensions import grant_extension
from grader.service.crud.regrade_requests import open_count
from grader.service.crud.regrades import regrade_assignment
from grader.service.crud.submissions import counted_rows, hand_in_count, student_named
from grader.service.crud.verdicts import newest_verdict
from grader.service.deps import (
    AnyUser,
    AssignmentDep,
    FormCsrf,
    ServiceDep,
    SettingsDep,
    Staff,
    WebService,
    assignment_in,
)
from grader.service.errors import ApiError
from grader.service.intake import answers_text_file, canonical_name, read_handed_in
from grader.service.late import counted_version, is_late
from grader.service.models import Role, Submission, User, is_staff, utcnow
from grader.service.pdf_shown import pdf_section
from grader.service.routes.api import (
    sheet_of,
    store_submission,
    stored_report,
    submission_for,
    submission_state,
    submissions_where,
)
from grader.service.routes.regrade_views import feedback_section
from grader.service.settings import Settings
from grader.service.shown import shown_time
from grader.service.templating import (
    csrf_field,
    csrf_input,
    fragment,
    html,
    nav,
    placed,
    refreshing,
    templated,
)
from grader.service.throttle import KNOWN_COOKIE, KNOWN_COOKIE_DAYS, is_known, known_cookie
from grader.service.variant_key import student_spec
from grader.service.visibility import score_covers, student_report

router = APIRouter(include_in_schema=False)
LIVE_SECONDS = 5  # the TA's pages and a queued submission's page reload themselves this often
# where the service's notes go into a report page the reporting package built
BODY_START, BODY_END, HEADER_END = "<body>\n", "\n</body>", "</header>"


def submissions_of(db: Session, user_id: int) -> tuple[list[Submission], dict[int, str], dict[int, str]]:
    """A user's submissions, oldest first, each one's state (queued, grading, graded) and the
    score of its newest verdict ("7/10"; none while it waits)."""
    rows = submissions_where(db, Submission.user_id == user_id)
    scores = {}
    for submission in rows:
        verdict = newest_verdict(db, submission.id)
        if verdict is not None:
            scores[submission.id] = f"{points_value(verdict.score)}/{points_value(verdict.max_score)}"
    return rows, {s.id: submission_state(db, s)[0] for s in rows}, scores


def assignment_context(
    assignment: LoadedAssignment, student: str, now: dt.datetime | None = None
) -> dict[str, Any]:
    """What ``deadline.html`` and ``late_notice.html`` show of an assignment for ``student``:
    the due (their extension's), the close, the penalty, the release; closed or late now."""
    now = now or utcnow()
    due, close = assignment.due_for(student), assignment.close_for(student)
    penalty = assignment.penalty
    late = due is not None and is_late(now, due)
    return {
        "name": assignment.name,
        "title": assignment.spec.title or assignment.name,
        "zone": assignment.zone,
        "zone_name": assignment.zone.key if assignment.zone else "UTC",
        "student": student,
        "due": due,
        "extended": due is not None and due != assignment.due,
        "close": close,
        "penalty": penalty.describe() if penalty is not None else "",
        "release": assignment.release or assignment.due,
        "closed": close is not None and now > close,
        "late": late,
        "late_share": shown_points(penalty.share(now - due)) if late and penalty is not None and due else "",
    }


# ---- logging in ---------------------------------------------------------------------------


def login_form(
    request: Request, settings: Settings, message: str = "", status: int | None = None, link: str = ""
) -> HTMLResponse:
    """The log-in page (``link``: the button of a one-time link); its form carries the CSRF
    token of the browser's log-in cookie (a new one when it has none)."""
    nonce = request.cookies.get(LOGIN_COOKIE) or new_secret()
    response = templated(
        request,
        None,
        "login.html",
        "grader: log in",
        navigation=False,
        status=status or (401 if message else 200),
        message=message,
        link=link,
        csrf=csrf_input(login_form_token(nonce)),
    )
    response.set_cookie(
        LOGIN_COOKIE, nonce, httponly=True, samesite="lax", secure=settings.secure_cookies, path="/login"
    )
    return response


@router.get("/login")
def login_page(request: Request, settings: SettingsDep) -> Response:
    return login_form(request, settings)


@router.get(LINK_PATH + "{secret}")
def link_page(secret: str, request: Request, settings: SettingsDep) -> Response:
    """A one-time link shows a button: a GET never uses it up (mail scanners and link previews
    fetch links), the button's POST does (with the log-in form's CSRF token, so another site
    cannot log a browser in with a link of its own)."""
    return login_form(request, settings, link=LINK_PATH + secret)


@router.post(LINK_PATH + "{secret}")
async def link_login(
    secret: str, request: Request, service: ServiceDep, csrf: Annotated[str, Form()] = ""
) -> Response:
    """Exchanges a one-time link for a session; the link is void after (used, expired or
    unknown links all get the same answer)."""
    if not login_form_ok(request.cookies.get(LOGIN_COOKIE), csrf):
        return login_form(
            request,
            service.settings,
            "This log-in form is stale or from another site: open your link again.",
            status=403,
        )
    found, cookie = await run_in_threadpool(_redeem, service, secret)  # never throttled: see throttle.py
    if found is None:
        return login_form(
            request,
            service.settings,
            "This log-in link is used up, expired or mistyped: ask your TA for a new one.",
            status=401,
        )
    return logged_in(found, cookie, service)


def logged_in(user: User, cookie: str, service: WebService) -> Response:
    """The answer to a log-in that succeeded: the session's cookie, and this browser known to
    the account from now (it is not slowed by others' failed log-ins to it)."""
    response = RedirectResponse("/ta" if user.role != Role.STUDENT else "/", status_code=303)
    set_session_cookie(response, cookie, service.settings)
    response.set_cookie(
        KNOWN_COOKIE,
        known_cookie(user.name),
        max_age=KNOWN_COOKIE_DAYS * 86_400,
        path="/login",
        httponly=True,
        samesite="lax",
        secure=service.settings.secure_cookies,
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


def _redeem(service: WebService, secret: str) -> tuple[User | None, str]:
    """The link's user and a new session, in one transaction with the link's use and its audit."""
    with service.db.session() as db:
        user = redeem_login_link(db, secret) if len(secret) <= 100 else None
        if user is None:
            return None, ""
        cookie = start_session(db, user, service.settings.session_hours)
        audit(db, user, "login", method="link")
        db.flush()
        db.expunge(user)
    return user, cookie


@router.post("/login")
async def login(
    request: Request,
    service: ServiceDep,
    user: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """A password, from the form this server rendered for this browser (its CSRF
    token matches the browser's log-in cookie: another site cannot log a browser in to an
    account of its choosing); a new session (its cookie HttpOnly, SameSite=Lax, Secure behind TLS),
    whose own CSRF token protects every form after it. Failed log-ins are
    counted per account and per client address (:class:`grader.service.service.LoginThrottle`);
    a password is checked by the service's few hashing threads, never a request thread, and
    with no database transaction open. Students without a password log in by a one-time link."""
    if not login_form_ok(request.cookies.get(LOGIN_COOKIE), csrf):
        return login_form(
            request,
            service.settings,
            "This log-in form is stale or from another site: log in on this page.",
            status=403,
        )
    address = request.client.host if request.client else ""
    known = is_known(request.cookies.get(KNOWN_COOKIE), user)
    wait = service.logins.attempt(user, address, known)
    if wait is not None:
        refused = login_form(
            request, service.settings, f"Too many failed log-ins: try again in {wait:.0f} s.", status=429
        )
        refused.headers["Retry-After"] = str(max(1, round(wait)))
        return refused
    found = await run_in_threadpool(_account, service, user)
    stored = found.password_hash if found is not None else None
    loop = asyncio.get_running_loop()
    # the same time whether or not the account exists or has a password
    if not await loop.run_in_executor(service.hashing, verify_password, stored, password):
        found = None
    if found is None:
        return login_form(
            request, service.settings, "That user and password do not match an account of this course."
        )
    service.logins.succeeded(user, address, known)
    cookie = await run_in_threadpool(_start, service, found, "password")
    return logged_in(found, cookie, service)


def _account(service: WebService, user: str) -> User | None:
    """The account of that name, if it is not removed."""
    with service.db.session(read_only=True) as db:
        return active_user(db, user) if user else None


def _start(service: WebService, user: User, method: str) -> str:
    with service.db.session() as db:
        cookie = start_session(db, user, service.settings.session_hours)
        audit(db, user, "login", method=method)
    return cookie


@router.post("/logout")
def logout(request: Request, service: ServiceDep, user: AnyUser, _csrf: FormCsrf) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE, "")
    with service.db.session() as db:
        end_session(db, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ---- students -----------------------------------------------------------------------------


@router.get("/")
def home(request: Request, service: ServiceDep) -> Response:
    user = authenticate(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    with service.db.session(read_only=True) as db:
        mine, states, scores = submissions_of(db, user.id)
    now = utcnow()
    sections = [
        _assignment_section(
            a,
            [s for s in mine if s.assignment_id == a.id],
            states,
            user.name,
            scores=scores if a.released(now) else None,
        )
        for a in service.course.all()
    ]
    return templated(
        request,
        user,
        "assignments.html",
        "grader: assignments",
        heading="Assignments",
        message="",
        sections=sections,
        csrf=csrf_field(request),
    )


def _assignment_section(
    assignment: LoadedAssignment,
    mine: list[Submission],
    states: dict[int, str],
    student: str,
    hand_in: bool = True,
    scores: dict[int, str] | None = None,
) -> dict[str, Any]:
    """What ``assignment.html`` shows of one assignment: its versions, each with its score
    (``scores``: None before release on a student's page) and which one counts (the newest on
    time, else the newest); the hand-in form while hand-ins are taken (``hand_in``)."""
    now = utcnow()
    shown = assignment_context(assignment, student, now)
    due = shown["due"]
    counts = counted_version(mine, lambda version: version.created_at, due)
    shown["versions"] = [
        {
            "id": s.id,
            "version": s.version,
            "created": s.created_at,
            "state": states[s.id],
            "score": None if scores is None else scores.get(s.id, ""),
            "counts": s is counts,
            "late": is_late(s.created_at, due),
        }
        for s in reversed(mine)
    ]
    shown["hand_in"] = hand_in and not shown["closed"]
    shown["extension"] = not hand_in
    return shown


@router.get("/assignments/{assignment}/sheet")
def sheet_page(request: Request, service: ServiceDep, user: AnyUser, loaded: AssignmentDep) -> Response:
    """The user's own problem sheet: every prompt with their own variant's numbers, as the
    answers template they fill in."""
    sheet = sheet_of(loaded, user.name)
    return templated(request, user, "sheet.html", f"grader: {sheet['assignment']}", sheet=sheet)


@router.post("/assignments/{assignment}/submit")
async def submit_form(
    service: ServiceDep,
    user: AnyUser,
    loaded: AssignmentDep,
    _csrf: FormCsrf,
    text: Annotated[str, Form()] = "",
    file: UploadFile | None = None,
) -> Response:
    filename, content = await _form_answers(service.settings.max_upload_bytes, text, file)
    submission = await run_in_threadpool(store_submission, service, user, loaded, filename, content)
    return RedirectResponse(f"/submissions/{submission.id}", status_code=303)


async def _form_answers(limit: int, text: str, file: UploadFile | None) -> tuple[str, bytes]:
    """(file name, content) of the hand-in form: the file chosen, or the answers pasted (at
    most ``limit`` bytes)."""
    if file is not None and file.filename:
        content = await file.read(limit + 1)
        filename = canonical_name(file.filename)
    elif text.strip():
        filename, content = answers_text_file(text)
    else:
        raise ApiError(422, "choose a file or paste your answers")
    if len(content) > limit:
        raise ApiError(413, f"the file is over the limit of {limit:,} bytes")
    return filename, content


@router.post("/assignments/{assignment}/check")
async def check_form(
    request: Request,
    service: ServiceDep,
    user: AnyUser,
    loaded: AssignmentDep,
    _csrf: FormCsrf,
    text: Annotated[str, Form()] = "",
    file: UploadFile | None = None,
) -> Response:
    """The form's Check: what ``grader check --server`` prints (the same server function), and
    nothing handed in; an unreadable file is shown with its line and caret."""
    filename, content = await _form_answers(service.settings.max_upload_bytes, text, file)
    shown: dict[str, Any] | str
    try:
        shown = await service.checks.check(loaded, user.name, filename, content)  # no request thread
        status = 200
    except ApiError as exc:
        if exc.status != 422:
            raise
        shown, status = exc.message, 422
    return templated(
        request,
        user,
        "check.html",
        f"grader: check of {loaded.name}",
        status=status,
        name=loaded.name,
        read_back=read_back_html(shown, "How your answers are read"),
    )


@router.get("/submissions/{submission_id}")
def submission_page(submission_id: int, request: Request, service: ServiceDep, user: AnyUser) -> Response:
    with service.db.session(read_only=True) as db:
        submission = submission_for(db, submission_id, user)
        status, verdict = submission_state(db, submission)
        author = db.get(User, submission.user_id)
    loaded = service.course.by_id(submission.assignment_id)
    if verdict is None or loaded is None:
        waiting = (
            _waiting_read_back(service, loaded, submission_id, author.name if author else "")
            if loaded is not None
            else ""
        )
        return templated(
            request,
            user,
            "waiting.html",
            "grader: waiting for the verdict",
            refresh=2,
            version=submission.version,
            state=status,
            created=submission.created_at,
            zone=loaded.zone if loaded else None,
            read_back=waiting,
            pdf=pdf_section(service, loaded, submission_id, user) if loaded is not None else "",
        )
    report = stored_report(verdict)
    report.student = author.name if author else report.student
    check = _read_back(service, loaded, submission_id, report)
    spec = student_spec(loaded.spec, report.student)  # the prompts with the author's own numbers
    if is_staff(user):
        document = render_student_page(report, show_expected=True, spec=spec, assets=SERVICE_ASSETS)
    else:
        limited, hidden = student_report(report, loaded, utcnow())
        covers = score_covers(len(limited.parts), len(hidden))
        document = render_student_page(
            limited, show_expected=False, spec=spec, covers=covers, assets=SERVICE_ASSETS
        )
        if hidden:
            note = fragment(
                "feedback_notes.html",
                where="hidden",
                hidden=len(hidden),
                release=loaded.release or loaded.due,
                zone=loaded.zone,
            )
            document = placed(document, HEADER_END, note)
    handed_in_late = is_late(submission.created_at, loaded.due_for(author.name if author else ""))
    top = fragment("feedback_notes.html", where="top", nav=nav(request, user), late=handed_in_late)
    document = placed(document, BODY_START, top)
    document = placed(document, HEADER_END, check)
    pdf = pdf_section(service, loaded, submission_id, user)  # a PDF hand-in: its pages, its graded PDF
    document = placed(document, HEADER_END, pdf)
    if author is not None:  # the author's regrade requests, and the form to ask
        with service.db.session(read_only=True) as db:
            asked = feedback_section(db, loaded, author, csrf_field(request), utcnow(), author.id == user.id)
        if asked:
            jump = fragment("feedback_notes.html", where="jump")
            document = placed(document, HEADER_END, jump)
            document = placed(document, BODY_END, asked, before=True)
    return html(document, css=CSS)  # the report page's own stylesheet


def _read_back(service: WebService, loaded: LoadedAssignment, submission_id: int, report: Report) -> Markup:
    """How each answer of the hand-in was read, as ``grader check --server`` reads it: every
    unreadable answer with its caret, visible part or not, and no verdict of a hidden part;
    each reading typeset, code as code."""
    with service.db.session(read_only=True) as db:
        stored = db.get(Submission, submission_id)
        if stored is None:
            return Markup()
        answers = read_handed_in(stored.filename, stored.content, report.student)
    return read_back_html(checked(loaded, answers, report))


def _waiting_read_back(
    service: WebService, loaded: LoadedAssignment, submission_id: int, student: str
) -> Markup:
    """While a hand-in waits for its grading: how its answers were read, by the check of what
    was handed in (as ``grader check --server`` reads it: no verdict of a hidden part)."""
    with service.db.session(read_only=True) as db:
        stored = db.get(Submission, submission_id)
        if stored is None:
            return Markup()
        filename, content = stored.filename, stored.content
    return read_back_html(service.checks.read_back(submission_id, loaded, student, filename, content))


def read_back_html(check: dict[str, Any] | str, heading: str = "How your answers were read") -> Markup:
    """The check of a hand-in (:func:`grader.service.checking.checked`) as a section of a page;
    a message in its place when there is none ("" while it runs)."""
    verdicts = not isinstance(check, str) and any("verdict" in part for part in check["parts"])
    return fragment("read_back.html", check=check, heading=heading, verdicts=verdicts)


# ---- TAs ----------------------------------------------------------------------------------


@router.get("/ta")
def ta_home(request: Request, service: ServiceDep, user: Staff) -> Response:
    with service.db.session(read_only=True) as db:
        jobs = service.job_counts().jobs()  # the counts /healthz and /queue show
        requests = open_count(db)
        counts = {a.name: hand_in_count(db, a.id) for a in service.course.all()}
    return templated(
        request,
        user,
        "ta_home.html",
        "grader: class",
        refresh=LIVE_SECONDS * 2,
        notices=[str(notice) for notice in service.course.notices],  # files not in force
        grading_trouble=service.grading_trouble(),  # why grading cannot make progress, while it cannot
        csrf=csrf_field(request),  # the forms of 'Regrade all'
        jobs=jobs,
        requests=requests,
        counts=counts,
        assignments=service.course.all(),
        # pages an installed part adds (LTI: grade passback and the LMS roster)
        extra=list(getattr(request.app.state, "ta_links", ())),
    )


@router.get("/ta/assignments/{assignment}")
def ta_dashboard(request: Request, service: ServiceDep, user: Staff, loaded: AssignmentDep) -> Response:
    rows = counted_rows(service.db, loaded)
    if not rows:
        return templated(
            request,
            user,
            "ta_dashboard_empty.html",
            f"{loaded.name}: class dashboard",
            refresh=LIVE_SECONDS,
            name=loaded.name,
        )
    reports = [report for _, report in rows]
    links = [f"/submissions/{submission.id}" for submission, _ in rows]
    document = render_dashboard(reports, spec=loaded.spec, pages=links, assets=SERVICE_ASSETS)
    document = refreshing(document, LIVE_SECONDS * 6)
    flagged = Counter(
        r.id for report in reports for r in report.parts if r.hand is not None and r.hand.to_review
    )
    top = fragment(
        "ta_dashboard_top.html", nav=nav(request, user), name=loaded.name, flagged=sorted(flagged.items())
    )
    document = placed(document, BODY_START, top)
    return html(document, css=CSS + DASHBOARD_CSS, script=SORT_SCRIPT)


@router.get("/ta/students/{student}")
def ta_student(student: str, request: Request, service: ServiceDep, user: Staff) -> Response:
    return student_page(student, request, service, user)


def student_page(
    student: str, request: Request, service: WebService, user: User, message: str = "", status: int = 200
) -> Response:
    """A student's page for a TA; ``message``: what the server says of the last change (never
    text from the link, which anyone can write)."""
    with service.db.session(read_only=True) as db:
        author = student_named(db, student)
        rows, states, scores = submissions_of(db, author.id)
    sections = [
        _assignment_section(
            a, [s for s in rows if s.assignment_id == a.id], states, author.name, hand_in=False, scores=scores
        )
        for a in service.course.all()
    ]
    return templated(
        request,
        user,
        "assignments.html",
        f"grader: {student}",
        status=status,
        heading=student,
        message=message,
        sections=sections,
        csrf=csrf_field(request),
    )


@router.post("/ta/students/{student}/extend")
def ta_extend(
    student: str,
    request: Request,
    service: ServiceDep,
    user: Staff,
    _csrf: FormCsrf,
    assignment: Annotated[str, Form()] = "",
    until: Annotated[str, Form()] = "",
) -> Response:
    """Grant ``student`` an extension (audited), then show their page again with what was done."""
    loaded = assignment_in(service.course, assignment)
    try:
        moment = read_moment(until, loaded.zone)
    except ValueError as exc:
        return student_page(
            student, request, service, user, message=f"Extension not granted: {exc}", status=422
        )
    with service.db.session() as db:
        grant_extension(db, loaded.id, student, moment, user)
    service.course.refresh()
    done = f"{student} has until {shown_time(moment, loaded.zone)} for {loaded.name}."
    return student_page(student, request, service, user, message=done)


@router.post("/ta/submissions/{submission_id}/regrade")
def ta_regrade(
    submission_id: int,
    service: ServiceDep,
    user: Staff,
    _csrf: FormCsrf,
) -> Response:
    with service.db.session() as db:
        submission = submission_for(db, submission_id, user)
        queue.enqueue(db, submission.id, kind="regrade")
    service.jobs_queued()
    return RedirectResponse(f"/submissions/{submission_id}", status_code=303)


@router.post("/ta/assignments/{assignment}/regrade")
def ta_regrade_assignment(assignment: str, user: Staff, service: ServiceDep, _csrf: FormCsrf) -> Response:
    """A TA regrades a whole assignment (after a dependency was installed, or a checker fixed),
    from the button on /ta (``templates/regrade_assignment.html``); audited."""
    loaded = assignment_in(service.course, assignment)
    with service.db.session() as db:
        regrade_assignment(db, loaded.id, loaded.name, user.id)
    service.jobs_queued()
    return RedirectResponse("/ta", status_code=303)
