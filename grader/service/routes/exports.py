"""The class exports (docs/lms.md): the gradebook of counted versions in each format (built by
:mod:`grader.course.exports`), the Canvas and Moodle files' companion (who was left out and why,
how to import the file) and the TA's page of an assignment's exports. Canvas and Moodle match
students with one roster, merged field by field from the LMS's (once a TA fetched it), the
imported one and ``COURSE_DIR/roster.csv``; a student the LMS could not match gets no row (Moodle
stops a whole import at an unknown user), and is named on the page, in the companion and in the
``X-Grader-Left-Out`` header."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from grader.course.exports import Built, build_from
from grader.course.files import LoadedAssignment
from grader.course.roster import AccountError, file_roster
from grader.reporting.formats import EXPORT_FORMATS
from grader.reporting.lms import Roster, RosterError, merged
from grader.service.crud.accounts import stored_roster
from grader.service.crud.submissions import counted_rows
from grader.service.deps import AssignmentDep, ServiceDep, Staff, WebService
from grader.service.errors import ApiError
from grader.service.templating import attachment, render, templated

# Gradescope imports no gradebook: its autograder reads one results.json per hand-in, which
# `grader gradescope-bundle` makes. A batch of them served as a gradebook imported nowhere.
NOT_EXPORTED = {
    "gradescope": "Gradescope imports no gradebook file: grade there with the autograder bundle "
    "(grader gradescope-bundle), or import the csv, canvas or moodle export into your LMS"
}
router = APIRouter()
LEFT_OUT_HEADER = "X-Grader-Left-Out"  # the students an export has no row for (URL-encoded)
LMS_FORMATS = ("canvas", "moodle")
MEDIA = {"json": "application/json", "junit": "application/xml", "markdown": "text/markdown"}


def lms_roster(request: Request) -> Roster | None:
    """A dependency: the LMS's roster, when LTI is installed and a TA fetched it (None else)."""
    provider = getattr(request.app.state, "lms_roster", None)
    return provider() if provider is not None else None


LmsRoster = Annotated[Roster | None, Depends(lms_roster)]


def export_roster(service: WebService, from_lms: Roster | None) -> Roster | None:
    """The roster the Canvas and Moodle exports match students with (see the module's text)."""
    with service.db.session(read_only=True) as db:
        imported = stored_roster(db)
    try:
        from_file = file_roster(service.settings.course_dir / "roster.csv")
    except (RosterError, AccountError) as exc:
        raise ApiError(422, f"roster.csv: {exc}") from None
    return merged(from_lms, imported, from_file)


def build(service: WebService, loaded: LoadedAssignment, fmt: str, roster: Roster | None) -> Built:
    """The export ``fmt`` of the assignment's counted versions (422 for no such format)."""
    if fmt not in EXPORT_FORMATS:
        why = NOT_EXPORTED.get(fmt, f"unknown format {fmt!r}")
        raise ApiError(422, f"{why}; use one of {', '.join(EXPORT_FORMATS)}")
    reports = [report for _, report in counted_rows(service.db, loaded)]
    return build_from(loaded, fmt, reports, roster)


def _refused(built: Built) -> ApiError:
    names = ", ".join(f"{name} ({why})" for name, why in built.left_out)
    by = {"moodle": "e-mail, ID number or username"}.get(
        built.format, "ID, SIS User ID, SIS Login ID or name"
    )
    return ApiError(
        422,
        f"{built.format.capitalize()} matches students by {by}, and the roster gives none for: {names}; "
        "import the class roster (grader users import, the LMS's own export), put it in roster.csv, "
        "or fetch the LMS's roster",
    )


@router.get("/api/v1/assignments/{assignment}/export")
def export(
    user: Staff, loaded: AssignmentDep, service: ServiceDep, roster: LmsRoster, format: str = "csv"
) -> Response:
    built = build(service, loaded, format, export_roster(service, roster))
    if built.left_out and built.rows == 0:
        raise _refused(built)
    headers = {}
    if built.left_out:  # no row: the TA enters these by hand (also on the page and the companion)
        headers[LEFT_OUT_HEADER] = quote(", ".join(name for name, _ in built.left_out), safe=" ,()")
    return attachment(built.text, built.filename, MEDIA.get(format, "text/csv"), **headers)


@router.get("/api/v1/assignments/{assignment}/export/notes")
def export_notes(
    user: Staff, loaded: AssignmentDep, service: ServiceDep, roster: LmsRoster, format: str = "canvas"
) -> Response:
    """The file's companion: who has no row in it and why, how to import it, what else to know."""
    if format not in LMS_FORMATS:
        raise ApiError(422, f"the companion is for the {' and '.join(LMS_FORMATS)} exports")
    built = build(service, loaded, format, export_roster(service, roster))
    notes = render("export_notes.txt", built=built, name=loaded.name)
    return attachment(notes, built.filename.rsplit(".", 1)[0] + "-notes.txt")


@router.get("/ta/assignments/{assignment}/exports", include_in_schema=False)
def exports_page(
    user: Staff, loaded: AssignmentDep, request: Request, service: ServiceDep, from_lms: LmsRoster
) -> Response:
    """Every export of the assignment, linked, and who the Canvas and Moodle files leave out."""
    reports = [report for _, report in counted_rows(service.db, loaded)]
    roster = export_roster(service, from_lms)
    built = {fmt: build_from(loaded, fmt, reports, roster) for fmt in EXPORT_FORMATS if fmt in LMS_FORMATS}
    title = f"{loaded.name}: exports"
    page: dict[str, Any] = {"loaded": loaded, "reports": reports, "roster": roster, "built": built}
    return templated(request, user, "exports.html", title, formats=EXPORT_FORMATS, **page)
