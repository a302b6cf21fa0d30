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
import zoneinfo
from collections import Counter
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from grader.core.report import Report, points_value, shown_points
from grader.reporting.dashboard import DASHBOARD_CSS, SORT_SCRIPT, render_dashboard
from grader.reporting.html import CSS, page, page_policy, render_student_page
from grader.reporting.typeset import SERVICE_ASSETS
from grader.service import queue
from grader.service.api import (
    assignment_named,
    audit,
    counted_rows,
    service_of,
    sheet_of,
    store_submission,
    stored_report,
    submission_for,
    submission_state,
    submissions_where,
)
from grader.service.auth import (
    LINK_PATH,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    allow,
    authenticate,
    csrf_ok,
    end_session,
    is_staff,
    login_form_ok,
    login_form_token,
    new_secret,
    redeem_login_link,
    set_session_cookie,
    start_session,
    verify_password,
)
from grader.service.checking import checked
from grader.service.counting import counted_version, is_late, newest_verdict
from grader.service.course import FileNotice, LoadedAssignment, read_moment
from grader.service.db import Role, Submission, User, utcnow
from grader.service.errors import ApiError
from grader.service.extensions import grant_extension
from grader.service.hand.request_pages import feedback_section
from grader.service.hand.requests import open_count
from grader.service.intake import answers_text_file, canonical_name, read_handed_in
from grader.service.shown import shown_time, time_html
from grader.service.templating import render, render_page
from grader.service.throttle import KNOWN_COOKIE, KNOWN_COOKIE_DAYS, is_known, known_cookie
from grader.service.variant_key import student_spec
from grader.service.visibility import score_covers, student_report

router = APIRouter(include_in_schema=False)
PageUser = Annotated[User, Depends(allow(Role.STUDENT, Role.TA))]
PageStaff = Annotated[User, Depends(allow(Role.TA))]
LIVE_SECONDS = 5  # the TA's pages and a queued submission's page reload themselves this often

SERVICE_CSS = """
pre.answer { white-space: pre-wrap; overflow-wrap: anywhere; }
form.stack { display: grid; gap: .5rem; max-width: 40rem; margin: .75rem 0; }
label { font-weight: 600; }
input[type=text], input[type=password], textarea { font: inherit; padding: .3rem .4rem;
  border: 1px solid var(--line); border-radius: 6px; width: 100%; }
textarea { font-family: ui-monospace, monospace; min-height: 10rem; }
button, input[type=submit] { font: inherit; padding: .3rem .9rem; border: 1px solid var(--line);
  border-radius: 6px; background: var(--panel); cursor: pointer; }
.late { color: #9a6700; font-weight: 600; }
"""
PAGE_CSS = CSS + SERVICE_CSS


def html(document: str, css: str = PAGE_CSS, script: str = "", status: int = 200) -> HTMLResponse:
    """The page, with a Content-Security-Policy header that allows its stylesheet (and
    script) by hash, KaTeX's files from ``/static/``, and nothing else."""
    policy = page_policy(css, script) + "; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    return HTMLResponse(document, status_code=status, headers={"Content-Security-Policy": policy})


def csrf_field(request: Request) -> str:
    session = getattr(request.state, "web_session", None)
    token = session.csrf_token if session is not None else ""
    return f"<input type='hidden' name='csrf' value='{escape(token)}'>"


def check_csrf(request: Request, sent: str | None) -> None:
    session = getattr(request.state, "web_session", None)
    if session is None or not csrf_ok(session, sent):
        raise ApiError(403, "the form's CSRF token is missing or stale: reload the page and send it again")


def nav(request: Request, user: User | None) -> str:
    links = ["<a href='/'>Assignments</a>"]
    if user is not None and is_staff(user):
        links.append("<a href='/ta'>Class</a>")
    if user is not None:
        links.append(f"<span class='who'>{escape(user.name)} ({escape(user.role)})</span>")
        links.append(
            f"<form class='inline' method='post' action='/logout'>{csrf_field(request)}"
            "<button type='submit'>Log out</button></form>"
        )
    return f"<nav class='top'>{''.join(links)}</nav>"


def refreshing(document: str, seconds: int | None) -> str:
    """The page reloads itself every ``seconds`` (live without JavaScript)."""
    if not seconds:
        return document
    return document.replace("<head>\n", f"<head>\n<meta http-equiv='refresh' content='{seconds}'>\n", 1)


def shell(request: Request, user: User | None, title: str, body: str, refresh: int | None = None) -> Response:
    document = page(title, nav(request, user) + body, css=PAGE_CSS, assets=SERVICE_ASSETS)
    return html(refreshing(document, refresh))


def templated(
    request: Request,
    user: User | None,
    template: str,
    title: str,
    *,
    status: int = 200,
    script: str = "",
    css: str = PAGE_CSS,
    **context: Any,
) -> HTMLResponse:
    """A page from ``templates/``: its body template in ``base.html``, with the navigation bar."""
    document, _ = render_page(
        template, title=title, css=css, nav=nav(request, user), script=script, **context
    )
    return html(document, css=css, script=script, status=status)


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


def when(moment: dt.datetime | None, zone: zoneinfo.ZoneInfo | None = None) -> str:
    """A time in a page: in the course's zone, UTC on hover."""
    return time_html(moment, zone)


def deadline_text(assignment: LoadedAssignment, student: str = "") -> str:
    """``due 2026-12-01 17:00 CET · closes ... · all feedback from ...``, in words a student reads."""
    zone, due, close = assignment.zone, assignment.due_for(student), assignment.close_for(student)
    pieces = [f"due {when(due, zone)}" if due else "no deadline"]
    if due is not None and due != assignment.due:
        pieces[0] += " (your extension)"
    if close is not None:
        pieces.append(f"hand-ins taken until {when(close, zone)}")
    if assignment.penalty is not None:
        pieces.append(f"late penalty: {escape(assignment.penalty.describe())}")
    release = assignment.release or assignment.due
    pieces.append(
        f"all feedback from {when(release, zone)}" if release else "all feedback as soon as it is graded"
    )
    return " · ".join(pieces)


def late_notice(assignment: LoadedAssignment, student: str, now: dt.datetime) -> str:
    """What a hand-in now would be: refused (closed), or late and what that costs; "" on time."""
    due, close, zone = assignment.due_for(student), assignment.close_for(student), assignment.zone
    if close is not None and now > close:
        return (
            f"<p class='late' id='closed-{escape(assignment.name)}'>Closed at {when(close, zone)}: "
            "hand-ins are no longer taken. Ask a TA for an extension.</p>"
        )
    if due is None or not is_late(now, due):
        return ""
    penalty = assignment.penalty
    cost = (
        f"it loses {shown_points(penalty.share(now - due))}% of the points possible "
        f"({escape(penalty.describe())}), and more the later it comes"
        if penalty is not None
        else "it has no late penalty, but the gradebook shows it late"
    )
    return (
        f"<p class='late' id='late-{escape(assignment.name)}'>The due ({when(due, zone)}) has passed: "
        f"a hand-in now is late, and {cost}.</p>"
    )


# ---- logging in ---------------------------------------------------------------------------


def login_form(request: Request, message: str = "", status: int | None = None) -> HTMLResponse:
    """The log-in page; its form carries the CSRF token of the browser's log-in cookie."""
    alert = f"<p class='alert'>{escape(message)}</p>" if message else ""
    nonce, csrf = _login_csrf(request)
    body = (
        f"<h1>grader: log in</h1>{alert}"
        f"<form class='stack' method='post' action='/login'>{csrf}"
        "<label for='user'>User</label><input type='text' id='user' name='user' autocomplete='username'>"
        "<label for='password'>Password</label>"
        "<input type='password' id='password' name='password' autocomplete='current-password'>"
        "<button type='submit'>Log in</button></form>"
    )
    response = html(page("grader: log in", body, css=PAGE_CSS), status=status or (401 if message else 200))
    return _with_login_cookie(request, response, nonce)


def _login_csrf(request: Request) -> tuple[str, str]:
    """The browser's log-in nonce (a new one when it has none) and the hidden input of its token."""
    nonce = request.cookies.get(LOGIN_COOKIE) or new_secret()
    return nonce, f"<input type='hidden' name='csrf' value='{escape(login_form_token(nonce))}'>"


def _with_login_cookie(request: Request, response: HTMLResponse, nonce: str) -> HTMLResponse:
    settings = service_of(request).settings
    response.set_cookie(
        LOGIN_COOKIE, nonce, httponly=True, samesite="lax", secure=settings.secure_cookies, path="/login"
    )
    return response


@router.get("/login")
def login_page(request: Request) -> Response:
    return login_form(request)


@router.get(LINK_PATH + "{secret}")
def link_page(secret: str, request: Request) -> Response:
    """A one-time link shows a button: a GET never uses it up (mail scanners and link previews
    fetch links), the button's POST does (with the log-in form's CSRF token, so another site
    cannot log a browser in with a link of its own)."""
    nonce, csrf = _login_csrf(request)
    body = (
        "<h1>grader: log in</h1><p>This link logs you in once; it does not work again after.</p>"
        f"<form class='stack' method='post' action='{escape(LINK_PATH + secret)}'>{csrf}"
        "<button type='submit'>Log in</button></form>"
    )
    return _with_login_cookie(request, html(page("grader: log in", body, css=PAGE_CSS)), nonce)


@router.post(LINK_PATH + "{secret}")
async def link_login(secret: str, request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    """Exchanges a one-time link for a session; the link is void after (used, expired or
    unknown links all get the same answer)."""
    service = service_of(request)
    if not login_form_ok(request.cookies.get(LOGIN_COOKIE), csrf):
        return login_form(
            request, "This log-in form is stale or from another site: open your link again.", status=403
        )
    found, cookie = await run_in_threadpool(_redeem, service, secret)  # never throttled: see throttle.py
    if found is None:
        return login_form(
            request,
            "This log-in link is used up, expired or mistyped: ask your TA for a new one.",
            status=401,
        )
    return logged_in(found, cookie, service)


def logged_in(user: User, cookie: str, service: Any) -> Response:
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


def _redeem(service: Any, secret: str) -> tuple[User | None, str]:
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
    service = service_of(request)
    if not login_form_ok(request.cookies.get(LOGIN_COOKIE), csrf):
        return login_form(
            request, "This log-in form is stale or from another site: log in on this page.", status=403
        )
    address = request.client.host if request.client else ""
    known = is_known(request.cookies.get(KNOWN_COOKIE), user)
    wait = service.logins.attempt(user, address, known)
    if wait is not None:
        refused = login_form(request, f"Too many failed log-ins: try again in {wait:.0f} s.", status=429)
        refused.headers["Retry-After"] = str(max(1, round(wait)))
        return refused
    found = await run_in_threadpool(_account, service, user)
    stored = found.password_hash if found is not None else None
    loop = asyncio.get_running_loop()
    # the same time whether or not the account exists or has a password
    if not await loop.run_in_executor(service.hashing, verify_password, stored, password):
        found = None
    if found is None:
        return login_form(request, "That user and password do not match an account of this course.")
    service.logins.succeeded(user, address, known)
    cookie = await run_in_threadpool(_start, service, found, "password")
    return logged_in(found, cookie, service)


def _account(service: Any, user: str) -> User | None:
    """The account of that name, if it is not removed."""
    with service.db.session(read_only=True) as db:
        return db.scalar(select(User).where(User.name == user, User.removed_at.is_(None))) if user else None


def _start(service: Any, user: User, method: str) -> str:
    with service.db.session() as db:
        cookie = start_session(db, user, service.settings.session_hours)
        audit(db, user, "login", method=method)
    return cookie


@router.post("/logout")
def logout(request: Request, user: PageUser, csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, csrf)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    with service_of(request).db.session() as db:
        end_session(db, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ---- students -----------------------------------------------------------------------------


@router.get("/")
def home(request: Request) -> Response:
    user = authenticate(request)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    service = service_of(request)
    with service.db.session(read_only=True) as db:
        mine, states, scores = submissions_of(db, user.id)
    now = utcnow()
    sections = [
        _assignment_section(
            request,
            a,
            [s for s in mine if s.assignment_id == a.id],
            states,
            user.name,
            scores=scores if a.released(now) else None,
        )
        for a in service.course.all()
    ]
    return shell(request, user, "grader: assignments", "<h1>Assignments</h1>" + "".join(sections))


def _assignment_section(
    request: Request,
    assignment: LoadedAssignment,
    mine: list[Submission],
    states: dict[int, str],
    student: str,
    hand_in: bool = True,
    scores: dict[int, str] | None = None,
) -> str:
    """The versions of one assignment, each with its score (``scores``: None before release on
    a student's page) and which one counts (the newest on time, else the newest)."""
    title = escape(assignment.spec.title or assignment.name)
    due, zone = assignment.due_for(student), assignment.zone
    counts = counted_version(mine, lambda version: version.created_at, due)
    rows = "".join(
        f"<tr><td><a href='/submissions/{s.id}'>version {s.version}</a></td>"
        f"<td>{when(s.created_at, zone)}</td>"
        f"<td>{escape(states[s.id])}</td>"
        f"<td class='score'>{_version_score(scores, s.id)}</td>"
        f"<td>{'<strong class=counts>counts</strong>' if s is counts else ''}</td>"
        f"<td>{'<span class=late>late</span>' if is_late(s.created_at, due) else ''}</td></tr>"
        for s in reversed(mine)
    )
    table = (
        "<table class='summary'><thead><tr><th>Version</th><th>Handed in</th><th>Status</th><th>Score</th>"
        "<th>Counts</th><th></th></tr>"
        f"</thead><tbody>{rows}</tbody></table>"
        if rows
        else "<p class='muted'>Nothing handed in yet.</p>"
    )
    name = escape(assignment.name)
    now = utcnow()
    notice = late_notice(assignment, student, now)
    close = assignment.close_for(student)
    hand_in = hand_in and (close is None or now <= close)
    form = (
        f"<form class='stack' method='post' action='/assignments/{name}/submit' "
        "enctype='multipart/form-data'>"
        f"{csrf_field(request)}"
        f"<label for='file-{name}'>Answers file or write-up (.yaml, .json, .tex, .md, .ipynb)</label>"
        f"<input type='file' id='file-{name}' name='file'>"
        f"<label for='text-{name}'>or paste your answers.yaml</label>"
        f"<textarea id='text-{name}' name='text'></textarea>"
        "<button type='submit'>Hand in</button>"
        # an input, not a second button: the section's one submit button hands in
        f"<input type='submit' value='Check' formaction='/assignments/{name}/check'>"
        "<p class='muted'>Check shows how each answer is read, and which cannot be, without handing in.</p>"
        "</form>"
        if hand_in
        else ""
    )
    sheet = f"<p><a href='/assignments/{name}/sheet'>Your problem sheet</a></p>"
    return (
        f"<section class='part' id='assignment-{name}'><h2>{title}</h2>"
        f"<p class='muted'>{name} · {deadline_text(assignment, student)}</p>{notice}{sheet}{table}{form}"
        "</section>"
    )


@router.get("/assignments/{assignment}/sheet")
def sheet_page(assignment: str, request: Request, user: PageUser) -> Response:
    """The user's own problem sheet: every prompt with their own variant's numbers, as the
    answers template they fill in."""
    sheet = sheet_of(assignment_named(request, assignment), user.name)
    body = (
        f"<h1>{escape(sheet['title'] or sheet['assignment'])}</h1>"
        f"<pre class='answer' id='sheet'>{escape(sheet['text'])}</pre>"
    )
    return shell(request, user, f"grader: {sheet['assignment']}", body)


def _version_score(scores: dict[int, str] | None, submission_id: int) -> str:
    if scores is None:
        return "<span class='muted'>after release</span>"
    return scores.get(submission_id, "")


@router.post("/assignments/{assignment}/submit")
async def submit_form(
    assignment: str,
    request: Request,
    user: PageUser,
    csrf: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    file: UploadFile | None = None,
) -> Response:
    check_csrf(request, csrf)
    loaded = assignment_named(request, assignment)
    filename, content = await _form_answers(request, text, file)
    submission = await run_in_threadpool(store_submission, request, user, loaded, filename, content)
    return RedirectResponse(f"/submissions/{submission.id}", status_code=303)


async def _form_answers(request: Request, text: str, file: UploadFile | None) -> tuple[str, bytes]:
    """(file name, content) of the hand-in form: the file chosen, or the answers pasted."""
    limit = service_of(request).settings.max_upload_bytes
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
    assignment: str,
    request: Request,
    user: PageUser,
    csrf: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    file: UploadFile | None = None,
) -> Response:
    """The form's Check: what ``grader check --server`` prints (the same server function), and
    nothing handed in; an unreadable file is shown with its line and caret."""
    check_csrf(request, csrf)
    loaded = assignment_named(request, assignment)
    filename, content = await _form_answers(request, text, file)
    service = service_of(request)
    shown: dict[str, Any] | str
    try:
        shown = await service.checks.check(loaded, user.name, filename, content)  # no request thread
        status = 200
    except ApiError as exc:
        if exc.status != 422:
            raise
        shown, status = exc.message, 422
    body = (
        f"<h1>Check of {escape(loaded.name)}: nothing was handed in</h1>"
        f"<div id='check'>{read_back_html(shown, 'How your answers are read')}</div>"
        "<p><a href='/'>Back to the assignments</a> to hand in.</p>"
    )
    response = shell(request, user, f"grader: check of {loaded.name}", body)
    response.status_code = status
    return response


@router.get("/submissions/{submission_id}")
def submission_page(submission_id: int, request: Request, user: PageUser) -> Response:
    service = service_of(request)
    with service.db.session(read_only=True) as db:
        submission = submission_for(db, submission_id, user)
        status, verdict = submission_state(db, submission)
        author = db.get(User, submission.user_id)
    loaded = service.course.by_id(submission.assignment_id)
    if verdict is None or loaded is None:
        body = (
            f"<h1>Version {submission.version}: {escape(status)}</h1>"
            f"<p>Handed in {when(submission.created_at, loaded.zone if loaded else None)}. "
            "This page reloads itself until the verdict is in.</p>"
        )
        if loaded is not None:
            body += _waiting_read_back(service, loaded, submission_id, author.name if author else "")
        return shell(request, user, "grader: waiting for the verdict", body, refresh=2)
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
            note = (
                f"<p class='warning'>{len(hidden)} more part(s) are graded and shown after the release on "
                f"{when(loaded.release or loaded.due, loaded.zone)}.</p>"
            )
            document = document.replace("</header>", "</header>" + note, 1)
    handed_in_late = is_late(submission.created_at, loaded.due_for(author.name if author else ""))
    late = "<p class='late'>Handed in after the deadline.</p>" if handed_in_late else ""
    document = document.replace("<body>\n", "<body>\n" + nav(request, user) + late, 1)
    document = document.replace("</header>", "</header>" + check, 1)
    if author is not None:  # the author's regrade requests, and the form to ask
        with service.db.session(read_only=True) as db:
            asked = feedback_section(db, loaded, author, csrf_field(request), utcnow(), author.id == user.id)
        if asked:
            jump = "<p><a href='#regrade-requests'>Regrade requests</a>: ask for one, read answers.</p>"
            document = document.replace("</header>", "</header>" + jump, 1)
            document = document.replace("\n</body>", asked + "\n</body>", 1)
    return html(document, css=CSS)  # the report page's own stylesheet


def _read_back(service: Any, loaded: LoadedAssignment, submission_id: int, report: Report) -> str:
    """How each answer of the hand-in was read, as ``grader check --server`` reads it: every
    unreadable answer with its caret, visible part or not, and no verdict of a hidden part;
    each reading typeset, code as code."""
    with service.db.session(read_only=True) as db:
        stored = db.get(Submission, submission_id)
        if stored is None:
            return ""
        answers = read_handed_in(stored.filename, stored.content, report.student)
    return read_back_html(checked(loaded, answers, report))


def _waiting_read_back(service: Any, loaded: LoadedAssignment, submission_id: int, student: str) -> str:
    """While a hand-in waits for its grading: how its answers were read, by the check of what
    was handed in (as ``grader check --server`` reads it: no verdict of a hidden part)."""
    with service.db.session(read_only=True) as db:
        stored = db.get(Submission, submission_id)
        if stored is None:
            return ""
        filename, content = stored.filename, stored.content
    return read_back_html(service.checks.read_back(submission_id, loaded, student, filename, content))


def read_back_html(check: dict[str, Any] | str, heading: str = "How your answers were read") -> str:
    """The check of a hand-in (:func:`grader.service.checking.checked`) as a section of a page;
    a message in its place when there is none ("" while it runs)."""
    verdicts = not isinstance(check, str) and any("verdict" in part for part in check["parts"])
    return render("read_back.html", check=check, heading=heading, verdicts=verdicts)


# ---- TAs ----------------------------------------------------------------------------------


def course_files_alert(notices: tuple[FileNotice, ...]) -> str:
    """The course folder's files that are not in force, with the file, line and message."""
    if not notices:
        return ""
    items = "".join(f"<li><code>{escape(str(notice))}</code></li>" for notice in notices)
    return (
        "<div class='alert' id='course-files'><p>These files of the course folder are not in force; "
        f"the deadlines and problem texts the database holds stay in use:</p><ul>{items}</ul></div>"
    )


def grading_alert(trouble: str | None) -> str:
    """Why grading cannot make progress (a full disk), while it cannot; it resumes by itself."""
    if not trouble:
        return ""
    return f"<div class='alert' id='grading-trouble'><p>Grading is held up: {escape(trouble)}</p></div>"


@router.get("/ta")
def ta_home(request: Request, user: PageStaff) -> Response:
    service = service_of(request)
    with service.db.session(read_only=True) as db:
        jobs = service.job_counts().jobs()  # the counts /healthz and /queue show
        requests = open_count(db)
        counts = {
            a.name: db.scalar(select(func.count()).where(Submission.assignment_id == a.id)) or 0
            for a in service.course.all()
        }
    rows = "".join(
        f"<tr><td><a href='/ta/assignments/{escape(a.name)}'>{escape(a.spec.title or a.name)}</a></td>"
        f"<td>{when(a.due, a.zone)}</td><td>{when(a.release or a.due, a.zone)}</td>"
        f"<td>{counts[a.name]}</td>"
        f"<td><a href='/ta/assignments/{escape(a.name)}/parts'>by question</a>"
        f"{render('regrade_assignment.html', assignment=a.name, csrf=Markup(csrf_field(request)))}</td>"
        f"<td>{export_links(a.name)}</td></tr>"
        for a in service.course.all()
    )
    extra = "".join(  # pages an installed part adds (LTI: grade passback and the LMS roster)
        f"<p><a href='{escape(href)}'>{escape(label)}</a></p>"
        for href, label in getattr(request.app.state, "ta_links", ())
    )
    body = (
        "<h1>Class</h1>"
        f"{course_files_alert(service.course.notices)}{grading_alert(service.grading_trouble())}"
        f"<p id='queue'>Queue: {jobs['queued']} waiting, {jobs['grading']} grading, {jobs['done']} done.</p>"
        f"<p id='regrade-requests'><a href='/ta/regrade-requests'>Regrade requests: {requests} open</a></p>"
        "<table class='summary'><thead><tr><th>Assignment</th><th>Due</th><th>Release</th>"
        f"<th>Submissions</th><th>Grading</th><th>Export</th></tr></thead><tbody>{rows}</tbody></table>"
        f"<p><a href='/ta/students'>Students: log-in links, tokens, passwords</a></p>{extra}"
    )
    return shell(request, user, "grader: class", body, refresh=LIVE_SECONDS * 2)


def export_links(name: str) -> str:
    """The /ta cell of an assignment's exports: each file, and the page of what they leave out."""
    files = " · ".join(
        f"<a href='/api/v1/assignments/{escape(name)}/export?format={fmt}'>{label}</a>"
        for fmt, label in (("csv", "CSV"), ("canvas", "Canvas"), ("moodle", "Moodle"), ("json", "JSON"))
    )
    return f"{files} · <a href='/ta/assignments/{escape(name)}/exports'>all, and who is left out</a>"


@router.get("/ta/assignments/{assignment}")
def ta_dashboard(assignment: str, request: Request, user: PageStaff) -> Response:
    loaded = assignment_named(request, assignment)
    rows = counted_rows(request, loaded)
    if not rows:
        return shell(
            request,
            user,
            f"{loaded.name}: class dashboard",
            f"<h1>{escape(loaded.name)}</h1><p>No verdicts yet.</p>"
            f"<p><a href='/ta/assignments/{escape(loaded.name)}/parts'>Grade by question</a></p>",
            refresh=LIVE_SECONDS,
        )
    reports = [report for _, report in rows]
    links = [f"/submissions/{submission.id}" for submission, _ in rows]
    document = render_dashboard(reports, spec=loaded.spec, pages=links, assets=SERVICE_ASSETS)
    document = refreshing(document, LIVE_SECONDS * 6)
    grading = (
        f"<p><a href='/ta/assignments/{escape(loaded.name)}/parts'>Grade by question</a>: "
        "answer groups, rubrics and the parts waiting for a TA.</p>"
    ) + _to_review(loaded, reports)
    document = document.replace("<body>\n", "<body>\n" + nav(request, user) + grading, 1)
    return html(document, css=CSS + DASHBOARD_CSS, script=SORT_SCRIPT)


def _to_review(loaded: LoadedAssignment, reports: list[Any]) -> str:
    """The hand grades flagged "to review" (the answer, or the automatic verdict under an
    override, changed since), by part, each linked to the grading view showing only those."""
    flagged = Counter(
        r.id for report in reports for r in report.parts if r.hand is not None and r.hand.to_review
    )
    if not flagged:
        return ""
    links = ", ".join(
        f"<a href='/ta/assignments/{escape(loaded.name)}/parts/{escape(part)}?show=review'>"
        f"{escape(part)} ({count})</a>"
        for part, count in sorted(flagged.items())
    )
    return f"<p class='warning' id='to-review'>Hand grades to review: {links}.</p>"


@router.get("/ta/students/{student}")
def ta_student(student: str, request: Request, user: PageStaff) -> Response:
    return student_page(student, request, user)


def student_page(
    student: str, request: Request, user: User, message: str = "", status: int = 200
) -> Response:
    """A student's page for a TA; ``message``: what the server says of the last change (never
    text from the link, which anyone can write)."""
    service = service_of(request)
    with service.db.session(read_only=True) as db:
        author = db.scalar(select(User).where(User.name == student))
        if author is None:
            raise ApiError(404, f"no student {student!r}")
        rows, states, scores = submissions_of(db, author.id)
    sections = [
        _assignment_section(
            request,
            a,
            [s for s in rows if s.assignment_id == a.id],
            states,
            author.name,
            hand_in=False,
            scores=scores,
        )
        + _extension_form(request, a, author.name)
        for a in service.course.all()
    ]
    alert = f"<p class='alert' role='alert'>{escape(message)}</p>" if message else ""
    body = f"<h1>{escape(student)}</h1>{alert}" + "".join(sections)
    response = shell(request, user, f"grader: {student}", body)
    response.status_code = status
    return response


def _extension_form(request: Request, assignment: LoadedAssignment, student: str) -> str:
    name = escape(assignment.name)
    zone = assignment.zone.key if assignment.zone else "UTC"
    return (
        f"<form class='stack extend' method='post' action='/ta/students/{escape(student)}/extend'>"
        f"{csrf_field(request)}<input type='hidden' name='assignment' value='{name}'>"
        f"<label for='until-{name}'>Extension of {name} until ({escape(zone)})</label>"
        f"<input type='datetime-local' id='until-{name}' name='until' required>"
        "<button type='submit'>Grant the extension</button></form>"
    )


@router.post("/ta/students/{student}/extend")
def ta_extend(
    student: str,
    request: Request,
    user: PageStaff,
    csrf: Annotated[str, Form()] = "",
    assignment: Annotated[str, Form()] = "",
    until: Annotated[str, Form()] = "",
) -> Response:
    """Grant ``student`` an extension (audited), then show their page again with what was done."""
    check_csrf(request, csrf)
    loaded = assignment_named(request, assignment)
    try:
        moment = read_moment(until, loaded.zone)
    except ValueError as exc:
        return student_page(student, request, user, message=f"Extension not granted: {exc}", status=422)
    service = service_of(request)
    with service.db.session() as db:
        grant_extension(db, loaded.id, student, moment, user)
    service.course.refresh()
    done = f"{student} has until {shown_time(moment, loaded.zone)} for {loaded.name}."
    return student_page(student, request, user, message=done)


@router.post("/ta/submissions/{submission_id}/regrade")
def ta_regrade(
    submission_id: int, request: Request, user: PageStaff, csrf: Annotated[str, Form()] = ""
) -> Response:
    check_csrf(request, csrf)
    with service_of(request).db.session() as db:
        submission = submission_for(db, submission_id, user)
        queue.enqueue(db, submission.id, kind="regrade")
    service_of(request).jobs_queued()
    return RedirectResponse(f"/submissions/{submission_id}", status_code=303)
