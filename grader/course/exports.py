"""A course's gradebook exports (docs/lms.md): the counted versions' reports in each format, and for
Canvas and Moodle the students the roster cannot match (no row: Moodle stops a whole import at an
unknown user) with the notices a TA reads; each roster row's name and e-mail. No database here:
:mod:`grader.service.routes.exports` reads the counted versions and serves the files."""

from __future__ import annotations

from dataclasses import dataclass

from grader.core.report import Report
from grader.course.files import LoadedAssignment
from grader.reporting.lms import CanvasReporter, MoodleReporter, Roster, RosterReporter
from grader.reporting.reporters import REPORTERS

UNGRADED = "in the roster but not graded: "  # the reporters' notice of each such student
SUFFIX = {"junit": "xml", "canvas": "csv", "moodle": "csv", "markdown": "md"}
# Roster columns that hold a student's name (normalised headers: Moodle's, Canvas's, a plain list)
NAME_PARTS = (("firstname", "lastname"), ("fullname",), ("name",), ("student",))
ID_COLUMNS = ("folder", "username", "email", "emailaddress", "idnumber", "sisloginid", "sisuserid", "loginid")
EMAIL_COLUMNS = ("email", "emailaddress")


@dataclass(frozen=True)
class Built:
    """One export of an assignment: the file, and for Canvas and Moodle who has no row."""

    format: str
    filename: str
    text: str
    rows: int  # the students with a row
    left_out: list[tuple[str, str]]  # (student, why)
    notices: list[str]
    label: str = ""  # the column Moodle identifies users by; the column Canvas fills ("" for a new one)


def build_from(loaded: LoadedAssignment, fmt: str, reports: list[Report], roster: Roster | None) -> Built:
    reporter = REPORTERS[fmt]
    filename = f"{loaded.name}-{fmt}.{SUFFIX.get(fmt, fmt)}"
    if not isinstance(reporter, RosterReporter):
        text = reporter.render_batch(reports, show_expected=False)
        return Built(fmt, filename, text, len(reports), [], [])
    if roster is not None:
        reporter = reporter.with_roster(roster)
    if isinstance(reporter, CanvasReporter) and loaded.canvas is not None:  # as the CLI's --canvas-id
        reporter = reporter.with_assignment_id(str(loaded.canvas.id), loaded.canvas.title)
    kept, left_out = reporter.split(reports)
    text = reporter.render_batch(kept, show_expected=False)
    notices = [n for n in reporter.notices(kept) if not n.startswith(reporter.UNMATCHED)]
    ungraded = sorted(n.removeprefix(UNGRADED) for n in notices if n.startswith(UNGRADED))
    notices = [n for n in notices if not n.startswith(UNGRADED)]
    if ungraded:  # one line, not one a student
        notices.append(f"in the roster but not graded ({len(ungraded)}): {', '.join(ungraded)}")
    label: str | None = None  # the column Moodle identifies users by, or the column Canvas fills
    if isinstance(reporter, MoodleReporter):
        label = reporter.identifier(kept)[1]
    elif kept and isinstance(reporter, CanvasReporter):
        label = reporter.column(kept[0].assignment)
    return Built(fmt, filename, text, len(kept), left_out, notices, label or "")


def people_of(roster: Roster) -> dict[str, tuple[str, str]]:
    """(name, e-mail) of each student of ``roster``, by each identifier of its row."""
    found: dict[str, tuple[str, str]] = {}
    for row in roster.rows.values():
        person = next(
            (" ".join(row[c] for c in columns) for columns in NAME_PARTS if all(row.get(c) for c in columns)),
            "",
        )
        email = next((row[c] for c in EMAIL_COLUMNS if row.get(c)), "")
        for column in ID_COLUMNS:
            if row.get(column):
                found.setdefault(row[column], (person, email))
    return found
