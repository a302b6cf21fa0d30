"""The TA's pages: the parts of an assignment, and the grading view of a part."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from grader.reporting.answer_groups import AnswerGroup
from grader.service.course_files import LoadedAssignment
from grader.service.crud.hand_grades import (
    NOTHING_GIVEN,
    graded_submissions,
    group_grades,
    part_groups,
    part_of,
)
from grader.service.deps import ServiceDep, Staff, WebService, assignment_in, checked_form
from grader.service.errors import ApiError
from grader.service.hand.anonymous import names_hidden
from grader.service.hand.model import GroupBody
from grader.service.hand.progress import AssignmentProgress, assignment_progress
from grader.service.hand.view import (
    FILTERS,
    KEYS_SCRIPT,
    NO_OVERRIDE_KINDS,
    TEMPLATE,
    VIEW_CSS,
    GradingView,
    Place,
)
from grader.service.models import User
from grader.service.pdf_shown import part_pages_html
from grader.service.routes.hand import api_grade_group
from grader.service.routes.regrade_views import beside_view, changed_points
from grader.service.templating import PAGE_CSS, csrf_field, fragment, templated

router = APIRouter()


# ---- the TA's page of a part ----------------------------------------------------------------


@router.get("/ta/assignments/{assignment}/parts", include_in_schema=False)
def ta_parts_page(assignment: str, request: Request, service: ServiceDep, user: Staff) -> Response:
    """Every part, with how many of the counted answers that wait for a TA are graded (a part
    grader grades: how many of its verdicts a TA overrode): where to grade next."""
    loaded = assignment_in(service.course, assignment)
    with service.db.session(read_only=True) as db:
        reports = [report for _, _, report in graded_submissions(db, loaded)]
    progress = assignment_progress(loaded.spec, reports)
    return templated(
        request,
        user,
        "hand/parts.html",
        f"{loaded.name}: grade by question",
        name=loaded.name,
        overall=progress_html(loaded, progress),
        parts=progress.parts,
        base=f"/ta/assignments/{loaded.name}/parts",
        base_quoted=f"/ta/assignments/{quote(loaded.name)}/parts",
    )


def progress_html(loaded: LoadedAssignment, progress: AssignmentProgress, current: str = "") -> Markup:
    """The assignment's progress over every part, and the parts with answers left to grade."""
    base = f"/ta/assignments/{quote(loaded.name)}/parts"
    open_parts = [
        {"address": p.address, "url": f"{base}/{quote(p.address)}", "left": p.to_grade - p.graded}
        for p in progress.parts
        if p.to_grade > p.graded and p.address != current
    ]
    return fragment(
        "progress.html", assignment=loaded.name, progress=progress, parts_url=base, open_parts=open_parts
    )


@router.get("/ta/assignments/{assignment}/parts/{part}", include_in_schema=False)
def ta_part_page(  # noqa: PLR0913 (the query's fields)
    assignment: str,
    part: str,
    request: Request,
    service: ServiceDep,
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
    return part_page(assignment, part, request, service, user, place, regrade=int(regrade) if number else 0)


def part_page(  # noqa: PLR0913 (the view's place, and what the server says of the last grade)
    assignment: str,
    part: str,
    request: Request,
    service: WebService,
    user: User,
    place: Place,
    message: str = "",
    status: int = 200,
    regrade: int = 0,
) -> Response:
    """The grading view of a part, one answer group at a time; ``message``: what the server has
    to say of the last grade (never text from the link, which anyone can write)."""
    loaded = assignment_in(service.course, assignment)
    spec_part = part_of(loaded, part)
    with service.db.session(read_only=True) as db:
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
    if index is not None:  # a PDF hand-in: the pages of the part beside its answer
        view.pages = part_pages_html(loaded, part, [m.student for m in view.groups[index].members], counted)
    if changed is not None and asker and index is not None:  # the same change for the group's others?
        beside += same_change_offer(view, view.groups[index], asker, changed, regrade, csrf_field(request))
    # the request first in the column beside the group's answer
    return templated(
        request,
        user,
        TEMPLATE,
        f"{loaded.name} {part}: grade by group",
        status=status,
        css=PAGE_CSS + VIEW_CSS,
        script=KEYS_SCRIPT,
        **view.context(index, csrf_field(request), message, beside),
    )


def same_change_offer(
    view: GradingView, group: AnswerGroup, asker: str, points: float, request_id: int, csrf: str
) -> Markup:
    """After a regrade answer changed ``asker``'s points: the same points for the other answers
    of their group that have others (one form, the group's grade), or a rubric edit."""
    others = [m for m in group.members if m.student != asker and m.result.score != points]
    if not others or all(m.student != asker for m in group.members):
        return Markup()
    return fragment(
        "hand/same_change.html",
        view=view,
        group=group,
        asker=view.student(asker),
        others=others,
        points=points,
        request_id=request_id,
        csrf=Markup(csrf),
        override=group.kind not in NO_OVERRIDE_KINDS,
    )


@router.post("/ta/assignments/{assignment}/parts/{part}/groups/{group_id}", include_in_schema=False)
async def ta_grade_group(
    assignment: str, part: str, group_id: str, request: Request, service: ServiceDep, user: Staff
) -> Response:
    form = await checked_form(request, max_fields=2000)
    students = [str(s) for s in form.getlist("student")]
    seen = [str(v) for v in form.getlist("version")]
    points_text = str(form.get("points") or "").strip()
    if not points_text and not form.getlist("rubric"):  # Enter on an empty form: the view, saying so
        said = NOTHING_GIVEN[0].upper() + NOTHING_GIVEN[1:] + "."
        return await run_in_threadpool(
            _again, assignment, part, group_id, request, service, user, form, said, 200
        )
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
        await run_in_threadpool(api_grade_group, assignment, part, group_id, body, service, user)
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
        _again, assignment, part, group_id, request, service, user, form, refused.message, refused.status
    )


def _again(  # noqa: PLR0913 (the view's place, kept from the form)
    assignment: str,
    part: str,
    group_id: str,
    request: Request,
    service: WebService,
    user: User,
    form: Any,
    said: str,
    status: int,
) -> Response:
    """The view of the same group again, saying why nothing was saved (never an error page)."""
    place = Place(group_id, "", str(form.get("show") or "all"), str(form.get("names") or ""))
    return part_page(assignment, part, request, service, user, place, said, status)
