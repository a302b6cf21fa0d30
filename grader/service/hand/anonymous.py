"""Anonymous grading: a stable pseudonym per student and assignment, shown in the grading view
and the groups instead of the student's name (course.yaml's ``anonymous: true``, or the view's
toggle). Exports and the audit log keep the names.

The pseudonym is an HMAC of the student's name keyed by the assignment (its id and name):
the same on every page and every day, different from one assignment to the next. It
hides names from a TA's eye while grading, not from a TA set on finding them (the toggle shows
them).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from grader.service.course import LoadedAssignment

PREFIX = "anon-"


def pseudonym(loaded: LoadedAssignment, student: str) -> str:
    key = f"grader anonymous grading\0{loaded.id}\0{loaded.name}".encode()
    mac = hmac.new(key, student.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
    return PREFIX + mac[:10]


def names_hidden(loaded: LoadedAssignment, names: str) -> bool:
    """``names``: the view's toggle, ``shown`` or ``hidden``; anything else: the assignment's
    setting."""
    if names in ("shown", "hidden"):
        return names == "hidden"
    return loaded.anonymous


def real_names(loaded: LoadedAssignment, given: Iterable[str], students: Iterable[str]) -> dict[str, str]:
    """Each of ``given`` (a name or a pseudonym) -> the name among ``students`` it stands for;
    a name matching none is kept as it is (refused later as not in the group)."""
    members = set(students)
    known = {pseudonym(loaded, s): s for s in members}
    return {name: name if name in members else known.get(name, name) for name in given}
