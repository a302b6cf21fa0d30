"""The TA's similarity pages (issue 63): ``/ta/similarity`` lists the assignments,
``/ta/similarity/{assignment}`` ranks the pairs of the class's counted hand-ins (as
``grader similar`` does) with the two sheets side by side. TAs only: a student gets 403.

Computed on demand, in a worker thread, and kept per assignment for the set of hand-ins it
was computed from (each student's counted version and the verdict it has): a late
hand-in, an extension's new version or a regrade makes a new set, and the next view
computes it again. Nothing is written.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Annotated, Any

import jinja2
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from grader.reporting.html import CSS, page
from grader.service.api import assignment_named
from grader.service.auth import allow
from grader.service.course import LoadedAssignment
from grader.service.db import Role, User, utcnow
from grader.service.deps import get_service
from grader.service.templating import html, nav

router = APIRouter(include_in_schema=False)
PageStaff = Annotated[User, Depends(allow(Role.TA))]
LINK = ("/ta/similarity", "Similar sheets: copied code, write-ups and wrong answers")

_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.ChoiceLoader(
        [
            jinja2.PackageLoader("grader.service", "templates"),
            jinja2.PackageLoader("grader.similarity", "templates"),
        ]
    ),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
_CACHE: dict[tuple[int, str], tuple[str, str]] = {}  # (app, assignment) -> (hand-ins' key, body)
_LOCK = threading.Lock()


def _css() -> str:
    return CSS + _ENVIRONMENT.get_template("similarity.css").render()


@router.get("/ta/similarity")
def similarity_index(request: Request, user: PageStaff) -> Response:
    assignments = [
        {
            "name": a.name,
            "title": a.spec.title or a.name,
            "due": a.due.isoformat(" ", "minutes") if a.due else "",
        }
        for a in get_service(request).course.all()
    ]
    body = _ENVIRONMENT.get_template("ta_similarity_index.html").render(assignments=assignments)
    css = _css()
    return html(page("grader: similar sheets", nav(request, user) + body, css=css), css=css)


@router.get("/ta/similarity/{assignment}")
async def similarity_page(assignment: str, request: Request, user: PageStaff) -> Response:
    loaded = assignment_named(get_service(request), assignment)
    body = await run_in_threadpool(_body, request, loaded)
    css = _css()
    title = f"grader: similar sheets, {loaded.name}"
    return html(page(title, nav(request, user) + body, css=css), css=css)


def _body(request: Request, loaded: LoadedAssignment) -> str:
    from grader.service.hand.logic import counted_submissions

    service = get_service(request)
    with service.db.session(read_only=True) as db:
        handed_in = counted_submissions(db, loaded)
    key = hashlib.sha256(
        repr(
            sorted(
                (
                    user.name,
                    submission.id,
                    None if report is None else [(r.id, str(r.status)) for r in report.parts],
                )
                for user, submission, report in handed_in
            )
        ).encode()
    ).hexdigest()
    cached = (id(request.app), loaded.name)
    with _LOCK:
        found = _CACHE.get(cached)
    if found is not None and found[0] == key:
        return found[1]
    body = _computed(loaded, handed_in)
    with _LOCK:
        _CACHE[cached] = (key, body)
    return body


def _computed(loaded: LoadedAssignment, handed_in: list[Any]) -> str:
    from grader.service.hand.logic import read_answers
    from grader.service.variant_key import student_spec
    from grader.similarity import compare_class
    from grader.similarity.models import SIGNALS
    from grader.similarity.page import LISTED_PAIRS, SHOWN_PAIRS, side_by_side
    from grader.similarity.patterns import Graded, wrong_answers

    spec = loaded.spec
    addresses = [address for address, _, _ in spec.iter_parts()]
    answers: dict[str, dict[str, Any]] = {}
    graded = []
    for user, submission, report in handed_in:
        read = read_answers(submission, user.name)
        given = {} if read.load_error else dict(read.matched_to(addresses).answers)
        answers[user.name] = given
        if report is not None:
            graded.append(Graded(user.name, report, given))
    own_specs = {name: student_spec(spec, name) for name in answers} if spec.parameters else None
    found = compare_class(spec, answers, wrong=wrong_answers(spec, graded), own_specs=own_specs)
    pairs = found.pairs
    shown = [p for p in pairs[:SHOWN_PAIRS] if p.score > 0]
    open_now = loaded.due is not None and utcnow() < loaded.due
    return _ENVIRONMENT.get_template("ta_similarity.html").render(
        title=spec.title or loaded.name,
        assignment=loaded.name,
        students=found.students,
        graded=len(graded),
        before_deadline=open_now,
        signals=SIGNALS,
        pairs=list(pairs[:LISTED_PAIRS]),
        listed_all=len(pairs) <= LISTED_PAIRS,
        total=len(pairs),
        shown=[
            {"pair": p, "number": n, "rows": side_by_side(p, found.sheets)} for n, p in enumerate(shown, 1)
        ],
    )
