"""The hand grades' JSON API: groups of a part, a grade, a group's grade, export and audit."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response

from grader.service.crud.hand_grades import (
    audit_csv,
    audit_rows,
    export_grades,
    grades_yaml,
    group_json,
    part_groups,
    part_of,
    write_grades,
)
from grader.service.deps import AssignmentDep, ReadSession, ServiceDep, Staff, assignment_in
from grader.service.errors import ApiError
from grader.service.hand.anonymous import names_hidden, pseudonym, real_names
from grader.service.hand.model import GradeBody, GroupBody, StaleWrite

router = APIRouter()


# ---- routes ---------------------------------------------------------------------------------


def _stale_response(exc: StaleWrite) -> ApiError:
    return ApiError(409, str(exc), conflicts=[c.to_dict() for c in exc.conflicts])


@router.get("/api/v1/assignments/{assignment}/parts/{part}/groups")
def api_groups(
    part: str, service: ServiceDep, user: Staff, loaded: AssignmentDep, names: str = ""
) -> dict[str, Any]:
    """The part's answer groups; with names hidden (the assignment's ``anonymous``, or
    ``names=hidden``), each student is their pseudonym, which a grade of the group accepts."""
    with service.db.session(read_only=True) as db:
        groups, versions = part_groups(db, loaded, part)
    spec_part = part_of(loaded, part)
    data = [group_json(g, versions, spec_part, part) for g in groups]
    hidden = names_hidden(loaded, names)
    if hidden:
        for group in data:
            group["students"] = [pseudonym(loaded, s) for s in group["students"]]
            for member in group["members"]:
                member["student"] = pseudonym(loaded, member["student"])
    return {"assignment": loaded.name, "part": part, "anonymous": hidden, "groups": data}


@router.put("/api/v1/assignments/{assignment}/hand/{student}/{part}")
def api_grade(
    student: str,
    part: str,
    body: GradeBody,
    service: ServiceDep,
    user: Staff,
    loaded: AssignmentDep,
) -> dict[str, Any]:
    try:
        with service.db.session() as db:
            rows = write_grades(db, loaded, part, body, {student: body.version}, user)
            return {"student": student, "part": part, "version": rows[0].version}
    except StaleWrite as exc:
        raise _stale_response(exc) from None


@router.post("/api/v1/assignments/{assignment}/parts/{part}/groups/{group_id}")
def api_grade_group(
    assignment: str,
    part: str,
    group_id: str,
    body: GroupBody,
    service: ServiceDep,
    user: Staff,
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
            return {
                "group": group_id,
                "graded": len(rows),
                "versions": {s: v for s, v in zip(body.versions, (r.version for r in rows), strict=False)},
            }
    except (StaleWrite, ApiError) as exc:
        naming = isinstance(exc, StaleWrite) or exc.status == 404  # these say which students
        if naming and any(given != name for given, name in named.items()):  # graded anonymously
            raise ApiError(409, f"group {group_id} changed meanwhile: reload and grade again") from None
        raise _stale_response(exc) if isinstance(exc, StaleWrite) else exc from None


@router.get("/api/v1/assignments/{assignment}/hand")
def api_export(
    user: Staff, loaded: AssignmentDep, service: ServiceDep, db: ReadSession, format: str = "json"
) -> Response:
    grades = export_grades(db, loaded.id)
    if format == "yaml":
        return PlainTextResponse(
            grades_yaml(grades, loaded.name),
            media_type="application/yaml",
            headers={"Content-Disposition": f'attachment; filename="{loaded.name}-hand.yaml"'},
        )
    if format != "json":
        raise ApiError(422, f"unknown format {format!r}; use json or yaml")
    return PlainTextResponse(
        json.dumps(
            {"assignment": loaded.name, "grades": [g.model_dump(mode="json") for g in grades]},
            ensure_ascii=False,
        ),
        media_type="application/json",
    )


@router.get("/api/v1/assignments/{assignment}/hand/audit")
def api_audit(
    user: Staff, loaded: AssignmentDep, service: ServiceDep, db: ReadSession, format: str = "json"
) -> Response:
    rows = audit_rows(db, loaded.name)
    if format == "csv":
        return PlainTextResponse(
            audit_csv(rows),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{loaded.name}-hand-audit.csv"'},
        )
    if format != "json":
        raise ApiError(422, f"unknown format {format!r}; use json or csv")
    return PlainTextResponse(
        json.dumps({"assignment": loaded.name, "changes": rows}, ensure_ascii=False),
        media_type="application/json",
    )
