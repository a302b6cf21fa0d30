"""Who may be a user of a course: a user name, and the students of an LMS roster a TA imports,
each a user name, once; the course folder's ``roster.csv``. The users' table and the import's
writes: :mod:`grader.service.crud.accounts`."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the LMS formats are read when a roster is: `grader users add` starts without them
    from grader.reporting.lms import Roster, RosterStudent

# Letters, digits and . _ @ + - (e-mail addresses and LMS logins fit), starting with a letter
# or digit: a name is a folder name in exports and a path segment in the TA's pages.
USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+\-]{0,199}")


class AccountError(ValueError):
    pass


def read_roster(text: str) -> list[RosterStudent]:
    """The students of an LMS roster (:func:`grader.reporting.lms.roster_students`); AccountError
    lists every row that cannot be used."""
    from grader.reporting.lms import RosterError, roster_students

    try:
        students = roster_students(text)
    except RosterError as exc:
        raise AccountError(str(exc)) from None
    problems: list[str] = []
    seen: set[str] = set()
    for line, name in ((student.line, student.name) for student in students):
        if not USER_NAME.fullmatch(name):
            problems.append(f"line {line}: {name!r} cannot be a user name (letters, digits and . _ @ + -)")
        elif name in seen:
            problems.append(f"line {line}: {name!r} appears twice")
        else:
            seen.add(name)
    if problems:
        raise AccountError(
            "the roster has rows that cannot be used (nobody was added):\n" + "\n".join(problems)
        )
    return students


def file_roster(path: Path) -> Roster | None:
    """``roster.csv``: with a ``folder`` column, as ``grader grade --roster`` reads it; else
    any roster ``grader users import`` reads, each student by the user name it gives them."""
    from grader.reporting.lms import Roster, header_key, load_roster

    if not path.exists():
        return None
    text = path.read_bytes().decode("utf-8", "replace")
    header = next(csv.reader(io.StringIO(text.lstrip("\ufeff"))), [])
    if "folder" in {header_key(h) for h in header}:
        return load_roster(path)
    rows = {s.name: {**s.identity, "folder": s.name} for s in read_roster(text)}
    columns = tuple(dict.fromkeys(key for row in rows.values() for key in row))
    return Roster(rows, columns) if rows else None
