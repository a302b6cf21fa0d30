"""Anonymous grading (course.yaml's ``anonymous: true``, or the view's toggle): a pseudonym per
student and assignment in the grading view and the groups; exports and the audit log keep the
names. An HMAC of the assignment and the name, keyed by a server secret (derived from the verdict
store's key, a 0600 file outside the course folder): stable across pages, days and restarts,
different per assignment, not computable from the roster. It hides names from a TA's eye while
grading, not from a TA set on finding them (the toggle shows them)."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Iterable

from grader.core.integrity import seal, store_key
from grader.course.files import LoadedAssignment

PREFIX = "anon-"


@functools.cache
def _pseudonym_key() -> bytes:
    return hmac.digest(store_key(), b"grader: the pseudonyms of anonymous grading", "sha256")


def pseudonym(loaded: LoadedAssignment, student: str) -> str:
    return PREFIX + seal(_pseudonym_key(), str(loaded.id), loaded.name, student)[:10]


def names_hidden(loaded: LoadedAssignment, names: str) -> bool:
    """``names``: the view's toggle (``shown``, ``hidden``); else the assignment's setting."""
    if names in ("shown", "hidden"):
        return names == "hidden"
    return loaded.anonymous


def real_names(loaded: LoadedAssignment, given: Iterable[str], students: Iterable[str]) -> dict[str, str]:
    """Each of ``given`` (a name or pseudonym) -> the name among ``students`` (else itself)."""
    members = set(students)
    known = {pseudonym(loaded, s): s for s in members}
    return {name: name if name in members else known.get(name, name) for name in given}
