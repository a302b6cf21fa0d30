"""Hand grades: the JSON API (a part's answer groups, a grade, a group's grade, the export and
the audit log) and the TA's pages (the parts of an assignment, the grading view of a part, and
a rubric item's edit: shown first with every score it moves, applied when the TA confirms; a new
item is added at once). Every write carries the version the TA saw (409 over a newer one)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from grader.course.anonymous import names_hidden, pseudonym, real_names
from grader.course.files import LoadedAssignment
from grader.course.grades import GradeBody, GroupBody, StaleWrite, audit_csv, group_json
from grader.course.grading_view import FILTERS, Place
from grader.course.rubric import ItemEdit, Move
from grader.hand.book import grades_yaml
from grader.hand.progress import assignment_progress
from grader.service.crud.hand_grades import (
    NOTHING_GIVEN,
    audit_rows,
    export_grades,
    graded_submissions,
    group_grades,
    in_force,
    part_groups,
    part_of,
    write_grades,
)
from grader.service.crud.rubric import apply_edit, check_seen, moves, read_edit
from grader.service.deps import (
    AssignmentDep,
    ReadSession,
    ServiceDep,
    Staff,
    WebService,
    assignment_in,
    checked_form,
)
from grader.service.errors import ApiError
from grader.service.grading_view import KEYS_SCRIPT, TEMPLATE, VIEW_CSS, GradingView
from grader.service.models import User
from grader.service.pdf_shown import part_pages_html
from grader.service.routes.regrade_requests import beside_view
from grader.service.templating import PAGE_CSS, attachment, csrf_field, fragment, templated

router = APIRouter()
KEPT = ("group", "show", "names")  # where the TA was in the grading view, kept on the way back
FIELDS = ("id", "points", "text", "was_points", "was_text")  # a rubric item's form


def _stale(exc: StaleWrite) -> ApiError:
    return ApiError(409, str(exc), conflicts=[asdict(c) for c in exc.conflicts])


@router.get("/api/v1/assignments/{assignment}/parts/{part}/groups")
def api_groups(
    part: str, user: Staff, loaded: AssignmentDep, db: ReadSession, names: str = ""
) -> dict[str, Any]:
    """The part's answer groups; with names hidden (the assignment's ``anonymous``, or
    ``names=hidden``), each student is their pseudonym, which a grade of the group accepts."""
    groups, versions = part_groups(db, loaded, part)
    spec_part = part_of(loaded, part)
    data = [group_json(g, versions, spec_part, part) for g in groups]
    hidden = names_hidden(loaded, names)
    for group in data if hidden else []:
        group["students"] = [pseudonym(loaded, s) for s in group["students"]]
        for member in group["members"]:
            member["student"] = pseudonym(loaded, member["student"])
    return {"assignment": loaded.name, "part": part, "anonymous": hidden, "groups": data}


@router.put("/api/v1/assignments/{assignment}/hand/{student}/{part}")
def api_grade(
    student: str, part: str, body: GradeBody, service: ServiceDep, user: Staff, loaded: AssignmentDep
) -> dict[str, Any]:
    try:
        with service.db.session() as db:
            rows = write_grades(db, loaded, part, body, {student: body.version}, user)
            return {"student": student, "part": part, "version": rows[0].version}
    except StaleWrite as exc:
        raise _stale(exc) from None


@router.post("/api/v1/assignments/{assignment}/parts/{part}/groups/{group_id}")
def api_grade_group(
    assignment: str, part: str, group_id: str, body: GroupBody, service: ServiceDep, user: Staff
) -> dict[str, Any]:
    loaded = assignment_in(service.course, assignment)
    with service.db.session(read_only=True) as db:  # the groups: read, not under the write lock
        groups, _ = part_groups(db, loaded, part)
    group = next((g for g in groups if g.id == group_id), None)
    if group is None:
        raise ApiError(404, f"no group {group_id} in {part} any more: reload the groups")
    members = [m.student for m in group.members]
    named = real_names(loaded, body.versions, members)  # a pseudonym -> the student's name
    outside = sorted(given for given, name in named.items() if name not in members)
    if outside:
        raise ApiError(409, f"not in group {group_id} any more: {', '.join(outside)}; reload the groups")
    seen = {named[given]: version for given, version in body.versions.items()}
    try:
        with service.db.session() as db:
            rows = write_grades(db, loaded, part, body, seen, user)
            versions = dict(zip(body.versions, (r.version for r in rows), strict=False))
            return {"group": group_id, "graded": len(rows), "versions": versions}
    except (StaleWrite, ApiError) as exc:
        naming = isinstance(exc, StaleWrite) or exc.status == 404  # these say which students
        if naming and any(given != name for given, name in named.items()):  # graded anonymously
            raise ApiError(409, f"group {group_id} changed meanwhile: reload and grade again") from None
        raise _stale(exc) if isinstance(exc, StaleWrite) else exc from None


def _download(fmt: str, other: str, body: dict[str, Any], text: str, filename: str, media: str) -> Response:
    """``body`` as JSON (``format=json``), or ``text`` as the file ``filename`` (``format=other``)."""
    if fmt not in ("json", other):
        raise ApiError(422, f"unknown format {fmt!r}; use json or {other}")
    return attachment(text, filename, media) if fmt == other else JSONResponse(body)


@router.get("/api/v1/assignments/{assignment}/hand")
def api_export(user: Staff, loaded: AssignmentDep, db: ReadSession, format: str = "json") -> Response:
    grades = export_grades(db, loaded.id)
    body = {"assignment": loaded.name, "grades": [g.model_dump(mode="json") for g in grades]}
    yaml = grades_yaml(grades, loaded.name)
    return _download(format, "yaml", body, yaml, f"{loaded.name}-hand.yaml", "application/yaml")


@router.get("/api/v1/assignments/{assignment}/hand/audit")
def api_audit(user: Staff, loaded: AssignmentDep, db: ReadSession, format: str = "json") -> Response:
    rows = audit_rows(db, loaded.name)
    body, csv = {"assignment": loaded.name, "changes": rows}, audit_csv(rows)
    return _download(format, "csv", body, csv, f"{loaded.name}-hand-audit.csv", "text/csv")


@router.get("/ta/assignments/{assignment}/parts", include_in_schema=False)
def ta_parts_page(request: Request, user: Staff, loaded: AssignmentDep, db: ReadSession) -> Response:
    """Every part, with how many of the answers that wait for a TA are graded: where to grade next."""
    progress = assignment_progress(loaded.spec, (report for _, _, report in graded_submissions(db, loaded)))
    overall = fragment("progress.html", assignment=loaded.name, progress=progress, current="")
    title, parts = f"{loaded.name}: grade by question", progress.parts
    return templated(request, user, "hand/parts.html", title, name=loaded.name, overall=overall, parts=parts)


@router.get("/ta/assignments/{assignment}/parts/{part}", include_in_schema=False)
def ta_part_page(
    part: str,
    request: Request,
    service: ServiceDep,
    user: Staff,
    loaded: AssignmentDep,
    place: Annotated[Place, Depends()],
    regrade: Annotated[str, Query(alias="request")] = "",
) -> Response:
    """The grading view at ``place``. ``request``: a regrade request of the part, shown beside
    its student's group."""
    number = regrade.isascii() and regrade.isdigit() and len(regrade) < 20  # past 19 digits, no database id
    return part_page(loaded, part, request, service, user, place, regrade=int(regrade) if number else 0)


def part_page(  # noqa: PLR0913 (the view's place, and what the server says of the last grade)
    loaded: LoadedAssignment,
    part: str,
    request: Request,
    service: WebService,
    user: User,
    place: Place,
    message: str = "",
    status: int = 200,
    regrade: int = 0,
) -> Response:
    """The grading view; ``message``: what the server says of the last grade (never text from
    the link, which anyone can write)."""
    spec_part, csrf = part_of(loaded, part), csrf_field(request)
    with service.db.session(read_only=True) as db:
        counted = graded_submissions(db, loaded)
        groups, versions = part_groups(db, loaded, part, counted)
        grades = group_grades(db, loaded, part)
        progress = assignment_progress(loaded.spec, (report for _, _, report in counted))
        hidden = names_hidden(loaded, place.names)
        asker, beside, changed = beside_view(db, loaded, part, regrade, hidden, csrf)
    view = GradingView(loaded, part, spec_part, groups, versions, grades, place.show, place.names)
    group = next((g.id for g in view.groups if any(m.student == asker for m in g.members)), place.group)
    index = view.pick(group, place.after)
    if index is not None:  # a PDF hand-in: the pages of the part beside its answer
        view.pages = part_pages_html(loaded, part, [m.student for m in view.groups[index].members], counted)
    if changed is not None and asker and index is not None:  # the same change for the group's others?
        offer = {"asker": asker, "points": changed, "request_id": regrade, "csrf": csrf}
        beside += fragment("hand/same_change.html", view=view, group=view.groups[index], **offer)
    overall = fragment("progress.html", assignment=loaded.name, progress=progress, current=part)
    page: dict[str, Any] = {"view": view, "index": index, "csrf": csrf, "message": message}
    page |= {"beside": beside, "overall": overall}
    title, css = f"{loaded.name} {part}: grade by group", PAGE_CSS + VIEW_CSS
    return templated(request, user, TEMPLATE, title, status=status, css=css, script=KEYS_SCRIPT, **page)


@router.post("/ta/assignments/{assignment}/parts/{part}/groups/{group_id}", include_in_schema=False)
async def ta_grade_group(
    assignment: str, part: str, group_id: str, request: Request, service: ServiceDep, user: Staff
) -> Response:
    form = await checked_form(request, max_fields=2000)
    loaded = assignment_in(service.course, assignment)
    show, names = str(form.get("show") or "all"), str(form.get("names") or "")
    place = Place(group_id, "", show, names)  # the view of the same group again, when nothing is saved
    points = str(form.get("points") or "").strip()
    if not points and not form.getlist("rubric"):  # Enter on an empty form: the view, saying so
        said = NOTHING_GIVEN[0].upper() + NOTHING_GIVEN[1:] + "."
        return await run_in_threadpool(part_page, loaded, part, request, service, user, place, said)
    students = form.getlist("student")
    try:
        body = GroupBody(
            points=float(points) if points else None,
            rubric=[str(r) for r in form.getlist("rubric")],
            comment=str(form.get("comment") or ""),
            reason=str(form.get("reason") or "") or None,
            versions={str(s): int(str(v)) for s, v in zip(students, form.getlist("version"), strict=True)},
        )
    except (ValueError, ValidationError) as exc:
        raise ApiError(422, f"the grade is not valid: {exc}") from None
    try:
        await run_in_threadpool(api_grade_group, loaded.name, part, group_id, body, service, user)
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        return await run_in_threadpool(
            part_page, loaded, part, request, service, user, place, exc.message, exc.status
        )
    kept = {
        "after": group_id,
        "show": show if show in FILTERS else "",
        "names": names if names in ("shown", "hidden") else "",
    }
    return RedirectResponse(_view_url(loaded, part, kept), status_code=303)


@router.post("/ta/assignments/{assignment}/parts/{part}/rubric", include_in_schema=False)
async def ta_rubric_item(
    part: str, request: Request, service: ServiceDep, user: Staff, loaded: AssignmentDep
) -> Response:
    """A rubric item's edit: without ``confirm``, the scores it moves (``preview``); with it (or
    for a new item), ``applied``; ``refused`` with why."""
    raw = await checked_form(request, max_fields=50)
    form = {key: str(raw.get(key) or "") for key in FIELDS} | {
        k: request.query_params.get(k, "") for k in KEPT
    }
    status, message = 200, ""
    try:
        edit = read_edit(form)
        if edit.was_points is not None and not raw.get("confirm"):
            state, found = "preview", await run_in_threadpool(_preview, service, loaded, part, edit)
        else:
            state, found = "applied", await run_in_threadpool(_apply, service, loaded, part, edit, user)
            if edit.was_points is None:  # a new item: no grade has it yet
                return RedirectResponse(_view_url(loaded, part, form), status_code=303)
            message = edit.item.id
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        state, found, message, status = "refused", [], exc.message, exc.status
    hidden = names_hidden(loaded, form.get("names", ""))
    shown = {m.student: pseudonym(loaded, m.student) if hidden else m.student for m in found}
    page: dict[str, Any] = {"name": loaded.name, "part": part, "form": form, "state": state, "rows": found}
    page |= {"message": message, "shown": shown, "fields": FIELDS, "csrf": csrf_field(request)}
    page |= {"action": _view_url(loaded, part, form, "/rubric"), "back": _view_url(loaded, part, form)}
    title = f"{loaded.name} {part}: rubric item {form.get('id', '')}"
    return templated(request, user, "hand/rubric_item.html", title, status=status, **page)


def _preview(service: WebService, loaded: LoadedAssignment, part: str, edit: ItemEdit) -> list[Move]:
    with service.db.session(read_only=True) as db:
        now = in_force(db, loaded)
        check_seen(now, part, edit)
        return moves(db, now, part, edit.item)


def _apply(
    service: WebService, loaded: LoadedAssignment, part: str, edit: ItemEdit, user: User
) -> list[Move]:
    with service.db.session() as db:
        found = apply_edit(db, loaded, part, edit, user)
    service.course.refresh()  # this server grades with the edited rubric from now on
    return found


def _view_url(loaded: LoadedAssignment, part: str, form: dict[str, str], then: str = "") -> str:
    """The grading view where the TA was (``then``: a page under it, the same place kept)."""
    kept = (*KEPT, "after")
    query = {
        key: value for key, value in form.items() if key in kept and value and (key, value) != ("show", "all")
    }
    base = f"/ta/assignments/{quote(loaded.name)}/parts/{quote(part)}{then}"
    return base + (f"?{urlencode(query)}" if query else "")
