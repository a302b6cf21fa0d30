"""``POST /ta/assignments/{assignment}/regrade``: a TA regrades a whole assignment (after a
dependency was installed, or a checker fixed), from the button on /ta
(``templates/regrade_assignment.html``); CSRF-protected and audited."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from grader.service.crud.regrades import regrade_assignment
from grader.service.deps import FormCsrf, PageStaff, ServiceDep
from grader.service.errors import ApiError

router = APIRouter()


@router.post("/ta/assignments/{assignment}/regrade")
def regrade_assignment_route(
    assignment: str, user: PageStaff, service: ServiceDep, _csrf: FormCsrf
) -> Response:
    loaded = service.course.get(assignment)
    if loaded is None:
        raise ApiError(404, f"no assignment {assignment!r} in this course")
    with service.db.session() as db:
        regrade_assignment(db, loaded.id, loaded.name, user.id)
    service.jobs_queued()
    return RedirectResponse("/ta", status_code=303)
