"""The TA's pages: the parts of an assignment, and the grading view of a part."""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from grader.batch.answer_groups import AnswerGroup
from grader.core.parts import PartBase
from grader.core.report import HandMark, points_value
from grader.mathlang.wording import counted
from grader.service.auth import allow
from grader.service.course import LoadedAssignment
from grader.service.db import (
    Role,
    User,
)
from grader.service.errors import ApiError
from grader.service.hand.logic import graded_submissions, part_groups, part_of
from grader.service.hand.model import GroupBody
from grader.service.hand.routes import api_grade_group, assignment_of, service_of

router = APIRouter()
Staff = Annotated[User, Depends(allow(Role.TA))]


# ---- the TA's page of a part ----------------------------------------------------------------


@router.get("/ta/assignments/{assignment}/parts", include_in_schema=False)
def ta_parts_page(assignment: str, request: Request, user: Staff) -> Response:
    """Every part, with how many of the counted answers a TA has graded: where to grade next."""
    from grader.service.pages import shell

    loaded = assignment_of(request, assignment)
    with service_of(request).db.session(read_only=True) as db:
        counted = graded_submissions(db, loaded)
        graded: dict[str, int] = {}
        for _, _, report in counted:
            for result in report.parts:
                if result.hand is not None:
                    graded[result.id] = graded.get(result.id, 0) + 1
    rows = "".join(
        f"<tr><td><a href='/ta/assignments/{escape(loaded.name)}/parts/{escape(address)}'>"
        f"{escape(address)}</a></td><td>{escape(part.type)}</td><td>{points_value(part.points)}</td>"
        f"<td>{graded.get(address, 0)} of {len(counted)}</td></tr>"
        for address, _, part in loaded.spec.iter_parts()
    )
    body = (
        f"<h1>{escape(loaded.name)}: grade by question</h1>"
        "<table class='summary'><thead><tr><th>Part</th><th>Type</th><th>Points</th>"
        f"<th>Graded by hand</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return shell(request, user, f"{loaded.name}: grade by question", body)


@router.get("/ta/assignments/{assignment}/parts/{part}", include_in_schema=False)
def ta_part_page(assignment: str, part: str, request: Request, user: Staff) -> Response:
    return part_page(assignment, part, request, user)


def part_page(assignment: str, part: str, request: Request, user: User, message: str = "") -> Response:
    """The TA's page of a part; ``message``: what the server has to say of the last grade (never
    text from the link, which anyone can write).
    """
    from grader.service.pages import csrf_field, shell

    loaded = assignment_of(request, assignment)
    spec_part = part_of(loaded, part)
    with service_of(request).db.session(read_only=True) as db:
        groups, versions = part_groups(db, loaded, part)
    answered = [g for g in groups if g.kind != "missing"]
    graded = sum(g.graded for g in answered)
    total = sum(len(g.members) for g in answered)
    body = [
        f"<h1>{escape(loaded.name)} · {escape(part)}</h1>",
        f"<p class='prompt'>{escape(spec_part.prompt or '')}</p>",
        f"<p id='progress'>{graded} of {counted(total, 'answer')} graded by hand, in "
        f"{counted(len(answered), 'group')} ({escape(spec_part.type)}, "
        f"{counted(spec_part.points, 'point')}).</p>",
    ]
    if message:
        body.append(f"<p class='warning' role='alert'>{escape(message)}</p>")
    for group in groups:
        body.append(_group_section(request, loaded, spec_part, part, group, versions, csrf_field(request)))
    return shell(request, user, f"{loaded.name} {part}: grade by group", "\n".join(body))


def _to_review(mark: HandMark | None) -> bool:
    """The answer, or the verdict under an override, changed since the TA graded it."""
    return mark is not None and (mark.stale or mark.auto_changed)


def _grade_button(answers: int) -> str:
    return "Grade this answer" if answers == 1 else f"Grade these {answers}"


def _group_section(
    request: Request,
    loaded: LoadedAssignment,
    part: PartBase,
    part_id: str,
    group: AnswerGroup,
    versions: dict[str, int],
    csrf: str,
) -> str:
    members = "".join(
        f"<li>{escape(m.student)}: {escape(m.result.status.value)} "
        f"{points_value(m.result.score)}/{points_value(m.result.max_score)}"
        + (f" <em>(graded by {escape(m.result.hand.by)})</em>" if m.result.hand is not None else "")
        + (" <strong class='review'>to review</strong>" if _to_review(m.result.hand) else "")
        + "</li>"
        for m in group.members
    )
    slip = (
        f"<p class='slip'>Known slip: {escape(group.misconception.name)}</p>" if group.misconception else ""
    )
    out = [
        f"<section class='group' id='group-{group.id}'>",
        f"<h2>{escape(group.kind)} · {counted(len(group.members), 'answer')}</h2>",
        f"<pre class='answer'>{escape(group.answer) or '(no answer)'}</pre>",
        slip,
        f"<ul>{members}</ul>",
    ]
    hidden = "".join(
        f"<input type='hidden' name='student' value='{escape(m.student)}'>"
        f"<input type='hidden' name='version' value='{versions.get(m.student, 0)}'>"
        for m in group.members
    )
    rubric = "".join(
        f"<label><input type='checkbox' name='rubric' value='{escape(item.id)}'> "
        f"{'+' if item.points >= 0 else ''}{points_value(item.points)} {escape(item.text)}</label>"
        for item in part.rubric
    )
    reason = (
        "<label>Reason for overriding the automatic verdict "
        "<input type='text' name='reason' required></label>"
        if group.kind not in ("text", "single", "missing")
        else ""
    )
    action = f"/ta/assignments/{escape(loaded.name)}/parts/{escape(part_id)}/groups/{group.id}"
    out.append(
        f"<form class='stack' method='post' action='{action}'>{csrf}{hidden}"
        f"<label>Points (of {points_value(part.points)}) "
        "<input type='text' name='points' inputmode='decimal'></label>"
        f"{rubric}<label>Comment to the students <textarea name='comment'></textarea></label>{reason}"
        f"<button type='submit'>{_grade_button(len(group.members))}</button></form>"
    )
    out.append("</section>")
    return "\n".join(piece for piece in out if piece)


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
    from starlette.concurrency import run_in_threadpool

    page = f"/ta/assignments/{assignment}/parts/{part}"
    try:
        await run_in_threadpool(api_grade_group, assignment, part, group_id, body, request, user)
    except ApiError as exc:
        if exc.status != 409:
            raise
        shown = await run_in_threadpool(part_page, assignment, part, request, user, exc.message)
        shown.status_code = 409
        return shown
    return RedirectResponse(page, status_code=303)
