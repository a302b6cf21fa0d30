"""Server-rendered pages: no JavaScript needed, a strict Content-Security-Policy, a CSRF token in
every form, everything a student wrote escaped. Students log in (a password or a one-time link),
hand in or check, and read each version's feedback; TAs see the class, any student, the queue."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from grader.core.report import shown_points
from grader.course.files import LoadedAssignment, read_moment
from grader.course.handed_in import read_handed_in
from grader.course.late import counted_version, is_late
from grader.course.shown import shown_time
from grader.course.variant_key import sheet_of, student_spec
from grader.course.visibility import checked, score_covers, student_report
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
from grader.service.credentials import LINK_PATH, new_secret, verify_password
from grader.service.crud import queue
from grader.service.crud.accounts import active_user
from grader.service.crud.audit import audit
from grader.service.crud.extensions import grant_extension
from grader.service.crud.regrade_requests import open_count
from grader.service.crud.regrades import regrade_assignment
from grader.service.crud.submissions import (
    counted_rows,
    hand_in_count,
    stored_report,
    student_named,
    submission_content,
    submission_for,
    submission_states,
    submission_with_state,
    submissions_where,
)
from grader.service.deps import (
    AnyUser,
    AssignmentDep,
    FormCsrf,
    FormText,
    ReadSession,
    ServiceDep,
    Staff,
    WebService,
    assignment_in,
)
from grader.service.errors import ApiError
from grader.service.intake import answers_text_file, canonical_name
from grader.service.models import Role, Submission, User, is_staff, utcnow
from grader.service.pdf_shown import pdf_section
from grader.service.routes.api import store_submission
from grader.service.routes.regrade_requests import feedback_section
from grader.service.settings import Settings
from grader.service.templating import (
    PAGE_CSS,
    SERVICE_CSS,
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

router = APIRouter(include_in_schema=False)
LIVE_SECONDS = 5  # the TA's pages and a queued submission's page reload themselves this often
# where the service's notes go into a report page the reporting package built
BODY_START, BODY_END, HEADER_END = "<body>\n", "\n</body>", "</header>"
STALE = "This log-in form is stale or from another site: "

# ---- logging in ---------------------------------------------------------------------------


def login_form(
    request: Request, settings: Settings, message: str = "", status: int | None = None, link: str = ""
) -> HTMLResponse:
    """The log-in page (``link``: a one-time link's button), with the CSRF token of the browser's
    log-in cookie."""
    nonce = request.cookies.get(LOGIN_COOKIE) or new_secret()
    csrf = csrf_input(login_form_token(nonce))
    status = status or (401 if message else 200)
    page: dict[str, Any] = {"message": message, "link": link, "csrf": csrf, "navigation": False}
    response = templated(request, None, "login.html", "grader: log in", status=status, **page)
    secure = settings.secure_cookies
    response.set_cookie(LOGIN_COOKIE, nonce, httponly=True, samesite="lax", secure=secure, path="/login")
    return response


@router.get("/login")
def login_page(request: Request, service: ServiceDep) -> Response:
    return login_form(request, service.settings)


@router.get(LINK_PATH + "{secret}")
def link_page(secret: str, request: Request, service: ServiceDep) -> Response:
    """A one-time link shows a button: a GET never uses it up (mail scanners and link previews
    fetch links), the button's POST does (with the log-in form's CSRF token, so another site
    cannot log a browser in with a link of its own)."""
    return login_form(request, service.settings, link=LINK_PATH + secret)


@router.post(LINK_PATH + "{secret}")
async def link_login(secret: str, request: Request, service: ServiceDep, csrf: FormText = "") -> Response:
    """A one-time link exchanged for a session; used, expired and unknown links get one answer."""
    if not login_form_ok(request.cookies.get(LOGIN_COOKIE), csrf):
        return login_form(request, service.settings, STALE + "open your link again.", status=403)
    found, cookie = await run_in_threadpool(_redeem, service, secret)  # never throttled: see throttle.py
    if found is None:
        used = "This log-in link is used up, expired or mistyped: ask your TA for a new one."
        return login_form(request, service.settings, used, status=401)
    return logged_in(found, cookie, service)


def logged_in(user: User, cookie: str, service: WebService) -> Response:
    """The session's cookie, and this browser known to the account (not slowed by others' failures)."""
    response = RedirectResponse("/ta" if user.role != Role.STUDENT else "/", status_code=303)
    set_session_cookie(response, cookie, service.settings)
    cookie_options: Any = {"httponly": True, "samesite": "lax", "secure": service.settings.secure_cookies}
    days = KNOWN_COOKIE_DAYS * 86_400
    response.set_cookie(KNOWN_COOKIE, known_cookie(user.name), max_age=days, path="/login", **cookie_options)
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
    user: FormText = "",
    password: FormText = "",
    csrf: FormText = "",
) -> Response:
    """A password, from the form this server rendered for this browser (another site cannot log
    a browser in to an account of its choosing). Failed log-ins are throttled per account and
    address (:mod:`grader.service.throttle`); a password is checked by the few hashing threads,
    with no transaction open, in the same time whether or not the account exists."""
    if not login_form_ok(request.cookies.get(LOGIN_COOKIE), csrf):
        return login_form(request, service.settings, STALE + "log in on this page.", status=403)
    address = request.client.host if request.client else ""
    known = is_known(request.cookies.get(KNOWN_COOKIE), user)
    wait = service.logins.attempt(user, address, known)
    if wait is not None:
        refused = login_form(
            request, service.settings, f"Too many failed log-ins: try again in {wait:.0f} s.", 429
        )
        refused.headers["Retry-After"] = str(max(1, round(wait)))
        return refused
    found = await run_in_threadpool(_account, service, user)
    stored = found.password_hash if found is not None else None
    if not await asyncio.get_running_loop().run_in_executor(
        service.hashing, verify_password, stored, password
    ):
        found = None
    if found is None:
        wrong = "That user and password do not match an account of this course."
        return login_form(request, service.settings, wrong)
    service.logins.succeeded(user, address, known)
    cookie = await run_in_threadpool(_start, service, found)
    return logged_in(found, cookie, service)


def _account(service: WebService, user: str) -> User | None:
    with service.db.session(read_only=True) as db:
        return active_user(db, user) if user else None


def _start(service: WebService, user: User) -> str:
    with service.db.session() as db:
        cookie = start_session(db, user, service.settings.session_hours)
        audit(db, user, "login", method="password")
    return cookie


@router.post("/logout")
def logout(request: Request, service: ServiceDep, user: AnyUser, _csrf: FormCsrf) -> Response:
    with service.db.session() as db:
        end_session(db, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ---- students -----------------------------------------------------------------------------


@router.get("/")
def home(request: Request, service: ServiceDep) -> Response:
    user = authenticate(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    return assignments_page(request, service, user, user.name, own=True)


def assignments_page(
    request: Request,
    service: WebService,
    user: User,
    student: str,
    *,
    own: bool = False,
    message: str = "",
    status: int = 200,
) -> Response:
    """Each assignment as it is for ``student``: their versions (scores after the release on
    their own page) and the one that counts; the hand-in form on their own page (``own``), the
    extension's on a TA's. ``message``: what the server says of the last change."""
    now = utcnow()
    with service.db.session(read_only=True) as db:
        author = student_named(db, student)
        rows = submissions_where(db, Submission.user_id == author.id)
        states = submission_states(db, [row.id for row in rows])
    sections = []
    for loaded in service.course.all():
        mine = [s for s in rows if s.assignment_id == loaded.id]
        due, close, penalty = loaded.due_for(student), loaded.close_for(student), loaded.penalty
        late = is_late(now, due)
        share = shown_points(penalty.share(now - due)) if late and penalty is not None and due else ""
        counts = counted_version(mine, lambda version: version.created_at, due)
        versions = [(s, *states[s.id], s is counts, is_late(s.created_at, due)) for s in reversed(mine)]
        closed, release = close is not None and now > close, loaded.release or loaded.due
        shown: dict[str, Any] = {
            "name": loaded.name,
            "title": loaded.spec.title or loaded.name,
            "zone": loaded.zone,
        }
        shown |= {"student": student, "due": due, "extended": due is not None and due != loaded.due}
        shown |= {"close": close, "closed": closed, "release": release, "late": late, "late_share": share}
        shown |= {"penalty": penalty.describe() if penalty is not None else "", "versions": versions}
        section = shown | {"scores": not own or loaded.released(now), "hand_in": own and not closed}
        section["extension"] = not own
        sections.append(section)
    heading, title = ("Assignments", "grader: assignments") if own else (student, f"grader: {student}")
    page: dict[str, Any] = {"heading": heading, "message": message, "sections": sections}
    page["csrf"] = csrf_field(request)
    return templated(request, user, "assignments.html", title, status=status, **page)


@router.get("/assignments/{assignment}/sheet")
def sheet_page(request: Request, user: AnyUser, loaded: AssignmentDep) -> Response:
    """The user's own problem sheet: every prompt with their own variant's numbers."""
    sheet = sheet_of(loaded, user.name)
    return templated(request, user, "sheet.html", f"grader: {sheet['assignment']}", sheet=sheet)


async def form_answers(
    service: ServiceDep, text: FormText = "", file: UploadFile | None = None
) -> tuple[str, bytes]:
    """(file name, content) of the hand-in form: the file chosen, or the answers pasted."""
    limit = service.settings.max_upload_bytes
    if file is not None and file.filename:
        filename, content = canonical_name(file.filename), await file.read(limit + 1)
    elif text.strip():
        filename, content = answers_text_file(text)
    else:
        raise ApiError(422, "choose a file or paste your answers")
    if len(content) > limit:
        raise ApiError(413, f"the file is over the limit of {limit:,} bytes")
    return filename, content


# declared after the user, the assignment and the CSRF check: read only for who may hand in
FormAnswers = Annotated[tuple[str, bytes], Depends(form_answers)]


@router.post("/assignments/{assignment}/submit")
async def submit_form(
    service: ServiceDep, user: AnyUser, loaded: AssignmentDep, _csrf: FormCsrf, answers: FormAnswers
) -> Response:
    submission = await run_in_threadpool(store_submission, service, user, loaded, *answers)
    return RedirectResponse(f"/submissions/{submission.id}", status_code=303)


@router.post("/assignments/{assignment}/check")
async def check_form(
    request: Request,
    service: ServiceDep,
    user: AnyUser,
    loaded: AssignmentDep,
    _csrf: FormCsrf,
    answers: FormAnswers,
) -> Response:
    """What ``grader check --server`` prints (the same server function); nothing handed in."""
    shown: dict[str, Any] | str
    try:
        shown, status = await service.checks.check(loaded, user.name, *answers), 200  # no request thread
    except ApiError as exc:
        if exc.status != 422:
            raise
        shown, status = exc.message, 422
    read_back = read_back_html(shown, "How your answers are read")
    title = f"grader: check of {loaded.name}"
    return templated(request, user, "check.html", title, status=status, name=loaded.name, read_back=read_back)


@router.get("/submissions/{submission_id}")
def submission_page(submission_id: int, request: Request, service: ServiceDep, user: AnyUser) -> Response:
    with service.db.session(read_only=True) as db:
        submission, student, (status, verdict) = submission_with_state(db, submission_id, user)
        author = db.get(User, submission.user_id)
        content = submission_content(db, submission_id)
    loaded = service.course.by_id(submission.assignment_id)
    pdf = pdf_section(loaded, submission, student, content, verdict is not None, user) if loaded else Markup()
    if verdict is None or loaded is None:  # how its answers were read, while it waits
        read_back: Any = ""
        if loaded is not None and content is not None:
            check = service.checks.read_back(submission_id, loaded, student, submission.filename, content)
            read_back = read_back_html(check)
        page: dict[str, Any] = {"submission": submission, "state": status, "read_back": read_back, "pdf": pdf}
        title, zone = "grader: waiting for the verdict", loaded.zone if loaded else None
        return templated(request, user, "waiting.html", title, refresh=2, zone=zone, **page)
    report = stored_report(verdict)
    report.student = student or report.student
    document = _feedback(request, service, user, loaded, submission, report, author, content, pdf)
    return html(document, css=PAGE_CSS)


def _feedback(  # noqa: PLR0913 (the version, as the submission page read it)
    request: Request,
    service: WebService,
    user: User,
    loaded: LoadedAssignment,
    submission: Submission,
    report: Any,
    author: User | None,
    content: bytes | None,
    pdf: Markup,
) -> str:
    """A graded version's report page (a student's: the parts released to them) with how each
    answer was read, the PDF's pages (``pdf``) and the author's regrade requests."""
    spec = student_spec(loaded.spec, report.student)  # the prompts with the author's own numbers
    staff, zone = is_staff(user), loaded.zone
    shown, hidden = (report, []) if staff else student_report(report, loaded, utcnow())
    covers = score_covers(len(shown.parts), len(hidden))
    document = render_student_page(
        shown, show_expected=staff, spec=spec, covers=covers, assets=SERVICE_ASSETS, more_css=SERVICE_CSS
    )
    due = loaded.due_for(author.name if author else "")
    notes = {"nav": nav(request, user), "late": is_late(submission.created_at, due)}
    document = placed(document, BODY_START, fragment("feedback_notes.html", where="top", **notes))
    release = loaded.release or loaded.due
    pieces = [fragment("feedback_notes.html", where="hidden", hidden=len(hidden), release=release, zone=zone)]
    if content is not None:  # every unreadable answer with its caret; no verdict of a hidden part
        answers = read_handed_in(submission.filename, content, report.student)
        pieces.append(read_back_html(checked(loaded, answers, report)))
    pieces.append(pdf)  # a PDF's pages, its graded PDF
    if author is not None:  # the author's regrade requests, and the form to ask
        with service.db.session(read_only=True) as db:
            asked = feedback_section(db, loaded, author, csrf_field(request), utcnow(), author.id == user.id)
        if asked:
            pieces.append(fragment("feedback_notes.html", where="jump"))
            document = placed(document, BODY_END, asked, before=True)
    return placed(document, HEADER_END, "".join(map(str, reversed(pieces))))


def read_back_html(check: dict[str, Any] | str, heading: str = "How your answers were read") -> Markup:
    """The check of a hand-in (:func:`grader.course.visibility.checked`) as a section of a page."""
    verdicts = not isinstance(check, str) and any("verdict" in part for part in check["parts"])
    return fragment("read_back.html", check=check, heading=heading, verdicts=verdicts)


# ---- TAs ----------------------------------------------------------------------------------


@router.get("/ta")
def ta_home(request: Request, service: ServiceDep, user: Staff, db: ReadSession) -> Response:
    assignments = service.course.all()
    jobs = service.job_counts().jobs()  # the counts /healthz and /queue show
    counts = {a.name: hand_in_count(db, a.id) for a in assignments}
    trouble = service.grading_trouble()  # why grading cannot make progress, while it cannot
    page: dict[str, Any] = {"assignments": assignments, "trouble": trouble, "jobs": jobs, "counts": counts}
    page |= {"notices": service.course.notices, "requests": open_count(db), "csrf": csrf_field(request)}
    page["extra"] = list(getattr(request.app.state, "ta_links", ()))  # pages an installed part adds (LTI)
    return templated(request, user, "ta_home.html", "grader: class", refresh=LIVE_SECONDS * 2, **page)


@router.get("/ta/assignments/{assignment}")
def ta_dashboard(request: Request, service: ServiceDep, user: Staff, loaded: AssignmentDep) -> Response:
    rows = counted_rows(service.db, loaded)
    if not rows:
        title, name = f"{loaded.name}: class dashboard", loaded.name
        return templated(request, user, "ta_dashboard_empty.html", title, refresh=LIVE_SECONDS, name=name)
    reports = [report for _, report in rows]
    links = [f"/submissions/{submission.id}" for submission, _ in rows]
    document = render_dashboard(
        reports, spec=loaded.spec, pages=links, assets=SERVICE_ASSETS, more_css=SERVICE_CSS
    )
    document = refreshing(document, LIVE_SECONDS * 6)
    flagged = Counter(r.id for report in reports for r in report.parts if r.hand and r.hand.to_review)
    top = fragment(
        "ta_dashboard_top.html", nav=nav(request, user), name=loaded.name, flagged=sorted(flagged.items())
    )
    return html(placed(document, BODY_START, top), css=CSS + DASHBOARD_CSS + SERVICE_CSS, script=SORT_SCRIPT)


@router.get("/ta/students/{student}")
def ta_student(student: str, request: Request, service: ServiceDep, user: Staff) -> Response:
    return assignments_page(request, service, user, student)


@router.post("/ta/students/{student}/extend")
def ta_extend(
    student: str,
    request: Request,
    service: ServiceDep,
    user: Staff,
    _csrf: FormCsrf,
    assignment: FormText = "",
    until: FormText = "",
) -> Response:
    """Grant ``student`` an extension (audited), then show their page with what was done."""
    loaded = assignment_in(service.course, assignment)
    try:
        moment = read_moment(until, loaded.zone)
    except ValueError as exc:
        return assignments_page(
            request, service, user, student, message=f"Extension not granted: {exc}", status=422
        )
    with service.db.session() as db:
        grant_extension(db, loaded.id, student, moment, user)
    service.course.refresh()
    done = f"{student} has until {shown_time(moment, loaded.zone)} for {loaded.name}."
    return assignments_page(request, service, user, student, message=done)


@router.post("/ta/submissions/{submission_id}/regrade")
def ta_regrade(submission_id: int, service: ServiceDep, user: Staff, _csrf: FormCsrf) -> Response:
    with service.db.session() as db:
        queue.enqueue(db, submission_for(db, submission_id, user).id, kind="regrade")
    service.jobs_queued()
    return RedirectResponse(f"/submissions/{submission_id}", status_code=303)


@router.post("/ta/assignments/{assignment}/regrade")
def ta_regrade_assignment(assignment: str, user: Staff, service: ServiceDep, _csrf: FormCsrf) -> Response:
    """A whole assignment regraded (a dependency installed, a checker fixed), from /ta; audited."""
    loaded = assignment_in(service.course, assignment)
    with service.db.session() as db:
        regrade_assignment(db, loaded.id, loaded.name, user.id)
    service.jobs_queued()
    return RedirectResponse("/ta", status_code=303)
