"""Anonymous grading: a stable pseudonym per student and assignment, shown in the grading view
and the groups instead of the student's name (course.yaml's ``anonymous: true``, or the view's
toggle). Exports and the audit log keep the names.

The pseudonym is an HMAC of the assignment (its id and name) and the student's name, keyed by
a server secret (derived from the verdict store's key, ``grader.core.integrity``: a file of mode
0600 outside the course folder, as the CSRF and variant keys): the same on every page, every
day and after a restart, different from one assignment to the next, and not computable from
the roster by anyone without the server's key. It hides names from a TA's eye while grading,
not from a TA set on finding them (the toggle shows them).
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Iterable

from grader.core.integrity import seal, store_key
from grader.service.course_files import LoadedAssignment

PREFIX = "anon-"


@functools.cache
def _pseudonym_key() -> bytes:
    return hmac.digest(store_key(), b"grader: the pseudonyms of anonymous grading", "sha256")


def pseudonym(loaded: LoadedAssignment, student: str) -> str:
    return PREFIX + seal(_pseudonym_key(), str(loaded.id), loaded.name, student)[:10]


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
