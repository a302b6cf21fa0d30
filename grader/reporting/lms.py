"""Gradebook CSVs that Canvas and Moodle import, with a roster mapping folders to students.

A roster is a CSV with a ``folder`` column (the submission folder's name, or the
``student:`` name of the answers file) and the LMS identity of each student.
Headers are matched without case, spaces or underscores, so a Canvas gradebook
export with a ``folder`` column added works as is:

* Canvas: ``Student`` (or ``name``), ``ID``, ``SIS User ID`` (else Moodle's ``ID number``),
  ``SIS Login ID`` (else ``username``), ``Section``: Canvas's importer matches a row by
  ``ID``, then ``SIS User ID``, then ``SIS Login ID``, then the student's exact name;
* Moodle: ``email`` (or Moodle's ``Email address``), ``idnumber`` or ``username``: of these,
  the one most graded students have (e-mail first on a tie) is the identifier.

:func:`identity` reads these from the headers of Canvas's gradebook export, Moodle's
participants and grades exports and the LMS's roster service. A graded student the roster
does not know keeps a Canvas row (identity cells empty) and is listed by
:meth:`RosterReporter.unmatched`; :meth:`RosterReporter.left_out` names the students an
importer could not match (the service writes no row for them). Moodle gets no row without an
identifier (its importer would book it to the student of the row before, or stop
when it is the first): such students are listed instead. The grade is the
auto-graded points: points that wait for a TA are not in it. Canvas's column is
``Title (assignment id)`` (the roster's own header when it is a Canvas gradebook
export, or ``--canvas-id``), so Canvas fills the existing assignment, with the
assignment's full points as ``Points Possible``.
"""

from __future__ import annotations

import csv
import io
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from grader.core.report import Report
from grader.reporting.escape import csv_cell
from grader.reporting.exports import points

CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
# Moodle's own names for the user fields its grade import can match on, best first.
MOODLE_IDENTIFIERS = (("email", "Email address"), ("idnumber", "ID number"), ("username", "Username"))
MAX_ROSTER_BYTES = 5_000_000
MAX_ROSTER_ROWS = 20_000
# The column that names a student, by roster: ``name,email``; Moodle's participants export
# (Username, ID number, Email address); Canvas's gradebook (SIS Login ID, SIS User ID, ID).
NAME_COLUMNS = ("name", "username", "sisloginid", "sisuserid", "idnumber", "emailaddress", "email")
EMAIL_COLUMNS = ("email", "emailaddress", "sisloginid")
CANVAS_COLUMN = re.compile(r"^(.*\S)\s*\((\d+)\)$")  # an assignment column of Canvas: Title (id)


class RosterError(ValueError):
    """A roster file that cannot be used, with why."""


@dataclass(frozen=True)
class Roster:
    """Rows of the roster CSV by folder name, each a mapping of normalised header -> value."""

    rows: dict[str, dict[str, str]] = field(default_factory=dict)
    columns: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()  # as written: Canvas's ``Homework 3 (12345)``

    def find(self, report: Report) -> dict[str, str] | None:
        for key in (_folder(report), report.student):
            if key and key in self.rows:
                return self.rows[key]
        return None


def header_key(name: str) -> str:
    """``SIS User ID`` -> ``sisuserid``: how roster headers are compared."""
    return re.sub(r"[\s_\-]+", "", name.strip().lower())


IDENTITY_KEYS = ("student", "id", "sisuserid", "sisloginid", "section", "email", "idnumber", "username")


def identity(values: dict[str, str]) -> dict[str, str]:
    """A roster row's LMS identity under the keys of :data:`IDENTITY_KEYS`, from ``values``
    (by :func:`header_key`): Canvas's ``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``,
    ``Section``; Moodle's ``First name`` and ``Last name`` (or ``Full name``), ``Email
    address``, ``ID number``, ``Username``; plain ``email``. Empty fields are left out."""
    first_last = " ".join(v for v in (values.get("firstname", ""), values.get("lastname", "")) if v)
    found = {
        "student": values.get("student") or values.get("fullname") or first_last,
        "id": values.get("id", ""),
        "sisuserid": values.get("sisuserid", ""),
        "sisloginid": values.get("sisloginid", ""),
        "section": values.get("section", ""),
        "email": values.get("email") or values.get("emailaddress", ""),
        "idnumber": values.get("idnumber", ""),
        "username": values.get("username", ""),
    }
    return {key: value.strip() for key, value in found.items() if value and value.strip()}


def load_roster(path: Path) -> Roster:
    """Read a roster CSV; RosterError names what is wrong."""
    if path.stat().st_size > MAX_ROSTER_BYTES:
        raise RosterError(f"{path}: roster is too large (over {MAX_ROSTER_BYTES:,} bytes)")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise RosterError(f"{path}: roster is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = tuple(header_key(h) for h in reader.fieldnames or ())
    if "folder" not in columns:
        raise RosterError(f"{path}: roster needs a 'folder' column naming each student's submission folder")
    rows: dict[str, dict[str, str]] = {}
    for line, row in enumerate(reader, start=2):
        values = {header_key(k): (v or "").strip() for k, v in row.items() if k is not None}
        folder = values.get("folder", "")
        if not folder:
            continue
        if folder in rows:
            raise RosterError(f"{path}:{line}: folder {folder!r} appears twice in the roster")
        rows[folder] = {**values, **identity(values)}
    known = {key for row in rows.values() for key in row}
    columns += tuple(key for key in IDENTITY_KEYS if key in known and key not in columns)
    return Roster(rows, columns, tuple(h.strip() for h in reader.fieldnames or ()))


@dataclass(frozen=True)
class RosterStudent:
    name: str
    email: str
    identity: dict[str, str] = field(default_factory=dict)  # the LMS's name, e-mail, ids
    line: int = 0  # of the roster


def roster_students(text: str) -> list[RosterStudent]:
    """Each student row of an LMS's own roster export (Moodle's participants, Canvas's gradebook)
    or of a ``name,email`` CSV, named by the first name column it fills (Moodle leaves ID number
    empty for some students); RosterError when the roster names no student or is too large."""
    if len(text) > MAX_ROSTER_BYTES:
        raise RosterError(f"the roster is too large (over {MAX_ROSTER_BYTES:,} bytes)")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    headers = {header_key(h or "") for h in reader.fieldnames or ()}
    name_keys = [key for key in NAME_COLUMNS if key in headers]
    if not name_keys:
        raise RosterError(
            "the roster has no column that names a student: give `name,email`, Moodle's participants "
            "export (Username, ID number or Email address) or Canvas's gradebook "
            "(SIS Login ID, SIS User ID or ID)"
        )
    email_key = next((key for key in EMAIL_COLUMNS if key in headers), "")
    students = []
    for line, row in enumerate(reader, start=2):
        if line > MAX_ROSTER_ROWS:
            raise RosterError(f"the roster has more than {MAX_ROSTER_ROWS:,} rows")
        fields = {header_key(k): (v or "").strip() for k, v in row.items() if isinstance(k, str)}
        values = [v for v in row.values() if isinstance(v, str)]
        if "Points Possible" in " ".join(str(v or "") for v in row.values()) or not "".join(values).strip():
            continue  # Canvas's points row, an empty line
        name = next((fields[key] for key in name_keys if fields.get(key)), "")
        students.append(RosterStudent(name, fields.get(email_key, ""), identity(fields), line))
    return students


def merged(*rosters: Roster | None) -> Roster | None:
    """One roster from several, field by field: what an earlier one gives for a student wins
    (the LMS's own roster, then the imported one, then ``roster.csv``); None when all are."""
    given = [roster for roster in rosters if roster is not None]
    if not given:
        return None
    rows: dict[str, dict[str, str]] = {}
    for roster in reversed(given):
        for name, row in roster.rows.items():
            rows[name] = {**rows.get(name, {}), **{k: v for k, v in row.items() if v}}
    columns = tuple(dict.fromkeys(column for roster in given for column in roster.columns))
    headers = tuple(dict.fromkeys(header for roster in given for header in roster.headers))
    return Roster(rows, columns, headers)


class RosterReporter(ABC):
    """A gradebook export that maps each report to a roster row."""

    UNMATCHED = "not in the roster (kept, with empty identity cells)"

    def __init__(
        self,
        roster: Roster | None = None,
        assignment_id: str | None = None,
        assignment_title: str | None = None,
    ):
        self.roster = roster
        self.assignment_id = assignment_id  # the LMS's id of the assignment (--canvas-id)
        self.assignment_title = assignment_title  # its title in the LMS (course.yaml's canvas: title)

    def with_roster(self, roster: Roster) -> RosterReporter:
        return type(self)(roster, self.assignment_id, self.assignment_title)

    def with_assignment_id(self, assignment_id: str, title: str | None = None) -> RosterReporter:
        return type(self)(self.roster, assignment_id, title or self.assignment_title)

    def unmatched(self, reports: Sequence[Report]) -> list[str]:
        """Graded students the roster does not name (all of them without a roster)."""
        return [_name(r) for r in reports if self.roster is None or self.roster.find(r) is None]

    def split(self, reports: Sequence[Report]) -> tuple[list[Report], list[tuple[str, str]]]:
        """The reports the LMS's importer can match to one of its students, and the others'
        students with why: (name, why). The service writes no row for those."""
        return list(reports), []

    def left_out(self, reports: Sequence[Report]) -> list[tuple[str, str]]:
        return self.split(reports)[1]

    def notices(self, reports: Sequence[Report]) -> list[str]:
        """What a TA must know before importing: who is not matched, what the grade counts."""
        if self.roster is None:
            out = ["no --roster: the identity columns are empty; give one to match students to the LMS"]
        else:
            out = [f"{self.UNMATCHED}: {name}" for name in self.unmatched(reports)]
            graded = {key for r in reports for key in (_folder(r), r.student)}
            out += [
                f"in the roster but not graded: {folder}"
                for folder in self.roster.rows
                if folder not in graded
            ]
        pending = sum(1 for r in reports if r.pending)
        if pending:
            out.append(
                f"{pending} student(s) have hand-graded points pending; the exported grade is the "
                "auto-graded points and the hand grades given so far"
            )
        return out

    def render(self, report: Report, *, show_expected: bool = False, color: bool = False) -> str:
        return self.render_batch([report])

    def render_batch(
        self, reports: Sequence[Report], *, show_expected: bool = False, color: bool = False
    ) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for row in self.rows(reports):
            writer.writerow([csv_cell(cell) for cell in row])
        return buffer.getvalue()

    @abstractmethod
    def rows(self, reports: Sequence[Report]) -> list[list[str]]:
        """The gradebook's rows, its header first."""

    def _identity(self, report: Report) -> dict[str, str]:
        return (self.roster.find(report) if self.roster else None) or {}


class CanvasReporter(RosterReporter):
    """Canvas's gradebook import: ``Student, ID, SIS User ID, SIS Login ID, Section, <assignment>``."""

    def rows(self, reports: Sequence[Report]) -> list[list[str]]:
        if not reports:
            return [[*CANVAS_IDENTITY]]
        column = self.column(reports[0].assignment) or reports[0].assignment
        possible = points(reports[0].max_score)  # the whole assignment, hand-graded points included
        rows = [[*CANVAS_IDENTITY, column], ["Points Possible", "", "", "", "", possible]]
        for report in reports:
            person = self._canvas_identity(report)
            rows.append(
                [
                    person["student"] or _name(report),
                    person["id"],
                    person["sisuserid"],
                    person["sisloginid"],
                    person["section"],
                    points(report.score),
                ]
            )
        return rows

    def _canvas_identity(self, report: Report) -> dict[str, str]:
        """What Canvas matches a row on: ``ID``, ``SIS User ID`` (else an ID number), ``SIS
        Login ID`` (else a username), then the name; and the section."""
        person = self._identity(report)
        return {
            "student": person.get("student") or person.get("name", ""),
            "id": person.get("id", ""),
            "sisuserid": person.get("sisuserid") or person.get("idnumber", ""),
            "sisloginid": person.get("sisloginid") or person.get("username", ""),
            "section": person.get("section", ""),
        }

    def split(self, reports: Sequence[Report]) -> tuple[list[Report], list[tuple[str, str]]]:
        """Left out: students with neither a Canvas ID, SIS User ID or SIS Login ID nor a name
        from the roster (Canvas would take the row for an unknown student)."""
        kept, out = [], []
        for report in reports:
            person = self._canvas_identity(report)
            if self.roster is None or self.roster.find(report) is None:
                out.append((_name(report), "not in the roster"))
            elif not any(person[key] for key in ("id", "sisuserid", "sisloginid", "student")):
                out.append((_name(report), "no ID, SIS User ID, SIS Login ID or name in the roster"))
            else:
                kept.append(report)
        return kept, out

    def column(self, assignment: str) -> str | None:
        """``Title (id)``, the header Canvas matches to an existing assignment by its id: the
        roster's (a Canvas export) for ``--canvas-id`` or for a title like the assignment's,
        else ``assignment (id)`` with ``--canvas-id``; None when nothing gives the id."""
        headers = self.roster.headers if self.roster else ()
        ids = {match.group(2): header for header in headers if (match := CANVAS_COLUMN.match(header))}
        if self.assignment_id:
            return ids.get(
                self.assignment_id, f"{self.assignment_title or assignment} ({self.assignment_id})"
            )
        titles = {header: CANVAS_COLUMN.sub(r"\1", header) for header in ids.values()}
        named = [header for header, title in titles.items() if header_key(title) == header_key(assignment)]
        return named[0] if len(named) == 1 else None

    def notices(self, reports: Sequence[Report]) -> list[str]:
        out = super().notices(reports)
        if reports and self.column(reports[0].assignment) is None:
            out.insert(
                0,
                f"the column is named {reports[0].assignment!r}, so Canvas will create a new assignment: "
                "give --canvas-id (the number in the assignment's address) or a roster exported from "
                "Canvas's gradebook to fill the existing one",
            )
        return out


class MoodleReporter(RosterReporter):
    """Moodle's grade import: an identifier column (email, ID number or username) and the grade."""

    UNMATCHED = "not in the roster (no row written: enter this grade in Moodle by hand)"

    def rows(self, reports: Sequence[Report]) -> list[list[str]]:
        key, label = self.identifier(reports)
        assignment = reports[0].assignment if reports else "grade"
        rows = [[label, "Full name", assignment]]
        for report in reports:
            identifier = self._identifier(report, key)
            if not identifier:  # Moodle would stop the whole import at this row
                continue
            person = self._identity(report)
            name = person.get("student") or person.get("name") or _name(report)
            rows.append([identifier, name, points(report.score)])
        return rows

    def _identifier(self, report: Report, key: str) -> str:
        return self._identity(report).get(key) or (_folder(report) if key == "folder" else "")

    def notices(self, reports: Sequence[Report]) -> list[str]:
        out = super().notices(reports)
        key, label = self.identifier(reports)
        if self.roster is not None and key == "folder":
            out.insert(0, "the roster has no email, idnumber or username column for Moodle to match users on")
        out += [
            f"no {label} in the roster (no row written: enter this grade in Moodle by hand): {_name(r)}"
            for r in reports
            if self.roster is not None and self.roster.find(r) is not None and not self._identifier(r, key)
        ]
        return out

    def without_identifier(self, reports: Sequence[Report]) -> list[str]:
        """The graded students Moodle could not match: no roster row with an e-mail, ID number
        or username (all of them when the roster has none of these columns, or there is none)."""
        return [name for name, _ in self.left_out(reports)]

    def split(self, reports: Sequence[Report]) -> tuple[list[Report], list[tuple[str, str]]]:
        """Left out: students without the file's identifier (Moodle stops a whole import at a
        row it cannot match)."""
        key, label = self.identifier(reports)
        kept, out = [], []
        for report in reports:
            if self.roster is None or self.roster.find(report) is None:
                out.append((_name(report), "not in the roster"))
            elif key == "folder":
                out.append((_name(report), "no e-mail, ID number or username in the roster"))
            elif not self._identifier(report, key):
                out.append((_name(report), f"no {label} in the roster (the file's identifier)"))
            else:
                kept.append(report)
        return kept, out

    def identifier(self, reports: Sequence[Report] = ()) -> tuple[str, str]:
        """The roster field Moodle matches users on, and Moodle's name for it: of e-mail, ID
        number and username, the one most of ``reports``' students have (e-mail first on a
        tie; without reports, the first column the roster has)."""
        columns = self.roster.columns if self.roster else ()
        present = [(key, label) for key, label in MOODLE_IDENTIFIERS if key in columns]
        if not present:
            return "folder", "Folder"
        people = [self._identity(report) for report in reports]
        return max(present, key=lambda field: sum(1 for person in people if person.get(field[0])))


def _name(report: Report) -> str:
    folder = _folder(report)
    return report.student if not folder or folder == report.student else f"{report.student} ({folder})"


def _folder(report: Report) -> str:
    return Path(report.folder).name if report.folder else ""
