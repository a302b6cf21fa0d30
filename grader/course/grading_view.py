"""The grading view of a part as a TA goes through it: which answer groups it shows (its filters),
which one is next, how each student is named and the grade to pre-fill. No HTML: the page is
:mod:`grader.service.grading_view`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

from grader.core.parts import PartBase
from grader.course.anonymous import names_hidden, pseudonym
from grader.course.files import LoadedAssignment
from grader.hand.progress import automatic
from grader.reporting.answer_groups import AnswerGroup

NO_OVERRIDE_KINDS = ("text", "single", "missing")  # graded by a hand grade of their own: no verdict
# The grading view's filters: which groups it goes through.
FILTERS = {
    "all": "all groups",
    "wrong": "wrong",
    "invalid": "invalid",
    "review": "to review",
    "overridden": "overridden",
}


def _to_review(group: AnswerGroup) -> bool:
    """A grade whose answer, or the verdict under it, changed since it was given."""
    return any(m.result.hand is not None and m.result.hand.to_review for m in group.members)


def _done(group: AnswerGroup) -> bool:
    """Every answer graded, and no grade to review: the TA has nothing left to do here."""
    return group.graded == len(group.members) and not _to_review(group)


def shown_by(group: AnswerGroup, show: str) -> bool:
    if show == "review":
        return _to_review(group)
    if show == "overridden":  # a TA's grade over an automatic verdict
        return any(m.result.hand is not None and m.result.hand.auto_status is not None for m in group.members)
    return group.kind == show if show in ("wrong", "invalid") else True


@dataclass(frozen=True)
class Place:
    """Where the view is (the view's query): ``group``, the group shown; ``after``, the group just
    graded (the view shows the next ungraded one after it); neither: the first ungraded group;
    ``show``, the filter."""

    group: str = ""
    after: str = ""
    show: str = "all"
    names: str = ""  # the toggle: "shown", "hidden", or "" for the assignment's setting


@dataclass
class GroupsView:
    loaded: LoadedAssignment
    part_id: str
    part: PartBase
    groups: list[AnswerGroup]
    versions: dict[str, int]
    grades: dict[str, dict[str, Any]]  # student -> their grade of the part now
    show: str = "all"  # a key of FILTERS
    names: str = ""  # see Place.names
    filters: ClassVar[dict[str, str]] = FILTERS
    no_override: ClassVar[tuple[str, ...]] = NO_OVERRIDE_KINDS

    def __post_init__(self) -> None:
        self.show = self.show if self.show in FILTERS else "all"
        self.names = self.names if self.names in ("shown", "hidden") else ""
        self.groups = [g for g in self.groups if shown_by(g, self.show)]

    @property
    def anonymous(self) -> bool:
        return names_hidden(self.loaded, self.names)

    @property
    def automatic(self) -> bool:
        """A part grader grades: the view counts the verdicts a TA overrode (never "graded by hand")."""
        return automatic(self.part.type)

    @property
    def done(self) -> int:
        return sum(1 for g in self.groups if _done(g))

    def student(self, name: str) -> str:
        """The student as this view shows them: their pseudonym when names are hidden."""
        return pseudonym(self.loaded, name) if self.anonymous else name

    def url(self, **query: str) -> str:
        """The view's address; with ``query``, the filter and the names' toggle kept."""
        base = f"/ta/assignments/{quote(self.loaded.name)}/parts/{quote(self.part_id)}"
        if query:
            query |= {k: v for k, v in (("show", self.show), ("names", self.names)) if k not in query}
            query = {k: v for k, v in query.items() if v and (k, v) != ("show", "all")}
        return base + (f"?{urlencode(query)}" if query else "")

    def pick(self, group_id: str, after: str) -> int | None:
        """The index of the group to show: ``group_id``; else the first ungraded group after
        ``after`` (or from the start), else the group ``after`` names, else the first."""
        ids = [g.id for g in self.groups]
        if not ids:
            return None
        if group_id in ids:
            return ids.index(group_id)
        start = ids.index(after) + 1 if after in ids else 0
        for step in range(len(ids)):
            index = (start + step) % len(ids)
            if not _done(self.groups[index]):
                return index
        return ids.index(after) if after in ids else 0

    def next_ungraded(self, index: int) -> int | None:
        """The next group after ``index`` with something left to do, else the first such."""
        ungraded = [i for i, g in enumerate(self.groups) if not _done(g) and i != index]
        return next((i for i in ungraded if i > index), ungraded[0] if ungraded else None)

    def given(self, group: AnswerGroup) -> tuple[dict[str, Any], bool]:
        """The grade to pre-fill (the group's first), and whether the students' grades differ."""
        given = [self.grades[m.student] for m in group.members if m.student in self.grades]
        if not given:
            return {}, False
        keys = ("points", "rubric", "comment", "reason")
        differ = any(tuple(g.get(k) for k in keys) != tuple(given[0].get(k) for k in keys) for g in given)
        return given[0], differ or len(given) < len(group.members)
