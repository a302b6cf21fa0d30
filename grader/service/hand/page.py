"""The TA's pages: the parts of an assignment, and the grading view of a part."""

from __future__ import annotations

from html import escape
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from grader.core.report import points_value, shown_points
from grader.mathlang.wording import counted
from grader.reporting.answer_groups import AnswerGroup
from grader.reporting.html import page
from grader.reporting.typeset import SERVICE_ASSETS
from grader.service.auth import allow
from grader.service.course import LoadedAssignment
from grader.service.db import (
    Role,
    User,
)
from grader.service.errors import ApiError
from grader.service.hand.anonymous import names_hidden
from grader.service.hand.logic import NOTHING_GIVEN, graded_submissions, group_grades, part_groups, part_of
from grader.service.hand.model import GroupBody
from grader.service.hand.progress import AssignmentProgress, PartProgress, assignment_progress
from grader.service.hand.request_pages import beside_view, changed_points
from grader.service.hand.routes import api_grade_group, assignment_of, service_of
from grader.service.hand.view import FILTERS, KEYS_SCRIPT, NO_OVERRIDE_KINDS, VIEW_CSS, GradingView, Place
from grader.service.templating import render

router = APIRouter()
Staff = Annotated[User, Depends(allow(Role.TA))]


# ---- the TA's page of a part ----------------------------------------------------------------


@router.get("/ta/assignments/{assignment}/parts", include_in_schema=False)
def ta_parts_page(assignment: str, request: Request, user: Staff) -> Response:
    """Every part, with how many of the counted answers that wait for a TA are graded (a part
    grader grades: how many of its verdicts a TA overrode): where to grade next."""
    from grader.service.pages import shell

    loaded = assignment_of(request, assignment)
    with service_of(request).db.session(read_only=True) as db:
        reports = [report for _, _, report in graded_submissions(db, loaded)]
    progress = assignment_progress(loaded.spec, reports)
    review = {p.address: p.review for p in progress.parts}
    rows = "".join(
        f"<tr><td><a href='/ta/assignments/{escape(loaded.name)}/parts/{escape(p.address)}'>"
        f"{escape(p.address)}</a></td><td>{escape(p.type)}</td><td>{shown_points(p.points)}</td>"
        f"<td>{_graded_text(p, len(reports))}</td>"
        f"<td>{_review_link(loaded, p.address, review)}</td></tr>"
        for p in progress.parts
    )
    body = (
        f"<h1>{escape(loaded.name)}: grade by question</h1>"
        + progress_html(loaded, progress)
        + "<table class='summary' id='parts'><thead><tr><th>Part</th><th>Type</th><th>Points</th>"
        f"<th>Graded by a TA</th><th>To review</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return shell(request, user, f"{loaded.name}: grade by question", body)


def _graded_text(part: PartProgress, counted_versions: int) -> str:
    if not part.automatic:
        return f"{part.graded} of {part.to_grade}"
    text = f"automatic; {part.overridden} overridden"
    waiting = part.to_grade - part.graded
    return text + (f", {waiting} undecided (waits for a TA)" if waiting > 0 else "")


def progress_html(loaded: LoadedAssignment, progress: AssignmentProgress, current: str = "") -> str:
    """The assignment's progress over every part, and the parts with answers left to grade."""
    base = f"/ta/assignments/{quote(loaded.name)}/parts"
    open_parts = [
        {"address": p.address, "url": f"{base}/{quote(p.address)}", "left": p.to_grade - p.graded}
        for p in progress.parts
        if p.to_grade > p.graded and p.address != current
    ]
    return render(
        "progress.html", assignment=loaded.name, progress=progress, parts_url=base, open_parts=open_parts
    )


def _review_link(loaded: LoadedAssignment, address: str, review: dict[str, int]) -> str:
    """The grades of a part flagged "to review" (the answer, or the automatic verdict under an
    override, changed since), linked to the grading view showing only those."""
    count = review.get(address, 0)
    if not count:
        return ""
    url = f"/ta/assignments/{quote(loaded.name)}/parts/{quote(address)}?show=review"
    return f"<a class='review' href='{escape(url)}'>{counted(count, 'grade')} to review</a>"


@router.get("/ta/assignments/{assignment}/parts/{part}", include_in_schema=False)
def ta_part_page(
    assignment: str,
    part: str,
    request: Request,
    user: Staff,
    group: str = "",
    after: str = "",
    show: str = "all",
    names: str = "",
) -> Response:
    """The grading view: ``group`` is the group shown; ``after``, the group just graded (the
    view shows the next ungraded one after it); neither: the first ungraded group. ``names``:
    ``hidden`` or ``shown`` turns anonymous grading on or off (default: the assignment's).
    ``request``: a regrade request of the part, shown beside its student's group."""
    regrade = request.query_params.get("request", "")
    number = regrade.isascii() and regrade.isdigit() and len(regrade) < 20  # past 19 digits, no database id
    place = Place(group, after, show, names)
    return part_page(assignment, part, request, user, place, regrade=int(regrade) if number else 0)


def part_page(
    assignment: str,
    part: str,
    request: Request,
    user: User,
    place: Place,
    message: str = "",
    status: int = 200,
    regrade: int = 0,
) -> Response:
    """The grading view of a part, one answer group at a time; ``message``: what the server has
    to say of the last grade (never text from the link, which anyone can write)."""
    from grader.service.pages import PAGE_CSS, csrf_field, html, nav

    loaded = assignment_of(request, assignment)
    spec_part = part_of(loaded, part)
    with service_of(request).db.session(read_only=True) as db:
        counted = graded_submissions(db, loaded)
        groups, versions = part_groups(db, loaded, part, counted)
        grades = group_grades(db, loaded, part)
        progress = assignment_progress(loaded.spec, (report for _, _, report in counted))
        hidden = names_hidden(loaded, place.names)
        asker, beside = (
            beside_view(db, loaded, part, regrade, hidden, csrf_field(request)) if regrade else ("", "")
        )
        changed = changed_points(db, loaded, part, regrade) if regrade else None
    view = GradingView(loaded, part, spec_part, groups, versions, grades, place.show, place.names)
    view.overall = progress_html(loaded, progress, current=part)
    group = next((g.id for g in view.groups if any(m.student == asker for m in g.members)), place.group)
    index = view.pick(group, place.after)
    body = view.render(index, csrf_field(request), message)
    if changed is not None and asker and index is not None:  # the same change for the group's others?
        beside += same_change_offer(view, view.groups[index], asker, changed, regrade, csrf_field(request))
    if beside:  # the request first in the column beside the group's answer
        anchor = "<aside id='reference'>"
        body = body.replace(anchor, anchor + beside, 1) if anchor in body else body + beside
    title = f"{loaded.name} {part}: grade by group"
    document = page(
        title, nav(request, user) + body, css=PAGE_CSS + VIEW_CSS, script=KEYS_SCRIPT, assets=SERVICE_ASSETS
    )
    return html(document, css=PAGE_CSS + VIEW_CSS, script=KEYS_SCRIPT, status=status)


def same_change_offer(
    view: GradingView, group: AnswerGroup, asker: str, points: float, request_id: int, csrf: str
) -> str:
    """After a regrade answer changed ``asker``'s points: the same points for the other answers
    of their group that have others (one form, the group's grade), or a rubric edit."""
    others = [m for m in group.members if m.student != asker and m.result.score != points]
    if not others or all(m.student != asker for m in group.members):
        return ""
    listed = ", ".join(
        f"{escape(view.student(m.student))} ({shown_points(m.result.score)})" for m in others[:20]
    ) + (" …" if len(others) > 20 else "")
    hidden = "".join(
        f"<input type='hidden' name='student' value='{escape(view.student(m.student))}'>"
        f"<input type='hidden' name='version' value='{view.versions.get(m.student, 0)}'>"
        for m in others
    )
    hidden += f"<input type='hidden' name='points' value='{points_value(points)}'>"
    hidden += f"<input type='hidden' name='show' value='{escape(view.show)}'>"
    hidden += f"<input type='hidden' name='names' value='{escape(view.names)}'>"
    if group.kind not in NO_OVERRIDE_KINDS:
        hidden += f"<input type='hidden' name='reason' value='as regrade request #{request_id}'>"
    action = escape(view.url() + f"/groups/{group.id}")
    return (
        "<section class='warning' id='same-change'><h2>The same change for the group?</h2>"
        f"<p>Regrade request #{request_id} gave {escape(view.student(asker))} "
        f"{shown_points(points)} points. The group's other answers have other points: {listed}.</p>"
        f"<form method='post' action='{action}' id='same-change-form'>{csrf}{hidden}"
        f"<button type='submit'>Give these {counted(len(others), 'answer')} {shown_points(points)} points too"
        "</button></form><p>Or <a href='#rubric-edit'>edit the rubric</a>: a changed item moves every "
        "grade given with it.</p></section>"
    )


@router.post("/ta/assignments/{assignment}/parts/{part}/groups/{group_id}", include_in_schema=False)
async def ta_grade_group(
    assignment: str, part: str, group_id: str, request: Request, user: Staff
) -> Response:
    from grader.service.pages import check_csrf

    form = await request.form(max_fields=2000)
    check_csrf(request, str(form.get("csrf") or ""))
    students = [str(s) for s in form.getlist("student")]
    seen = [str(v) for v in form.getlist("version")]
    points_text = str(form.get("points") or "").strip()
    if not points_text and not form.getlist("rubric"):  # Enter on an empty form: the view, saying so
        said = NOTHING_GIVEN[0].upper() + NOTHING_GIVEN[1:] + "."
        return await run_in_threadpool(_again, assignment, part, group_id, request, user, form, said, 200)
    try:
        body = GroupBody(
            points=float(points_text) if points_text else None,
            rubric=[str(r) for r in form.getlist("rubric")],
            comment=str(form.get("comment") or ""),
            reason=str(form.get("reason") or "") or None,
            versions={s: int(v) for s, v in zip(students, seen, strict=True)},
        )
    except (ValueError, ValidationError) as exc:
        raise ApiError(422, f"the grade is not valid: {exc}") from None
    try:
        await run_in_threadpool(api_grade_group, assignment, part, group_id, body, request, user)
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        refused = exc
    else:
        show = str(form.get("show") or "all")
        names = str(form.get("names") or "")
        query = urlencode(
            {
                "after": group_id,
                **({"show": show} if show in FILTERS and show != "all" else {}),
                **({"names": names} if names in ("shown", "hidden") else {}),
            }
        )
        url = f"/ta/assignments/{quote(assignment)}/parts/{quote(part)}?{query}"
        return RedirectResponse(url, status_code=303)
    return await run_in_threadpool(
        _again, assignment, part, group_id, request, user, form, refused.message, refused.status
    )


def _again(
    assignment: str, part: str, group_id: str, request: Request, user: User, form: Any, said: str, status: int
) -> Response:
    """The view of the same group again, saying why nothing was saved (never an error page)."""
    place = Place(group_id, "", str(form.get("show") or "all"), str(form.get("names") or ""))
    return part_page(assignment, part, request, user, place, said, status)
