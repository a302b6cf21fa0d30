"""The grading view of a part (``hand/grading_view.html``): one answer group at a time, the part's
prompt, model answer and notes beside the group's answer, the students in the group and the grade
given already, pre-filled. Forms and links alone; :data:`KEYS_SCRIPT` adds the keyboard. The model
answer is on TA pages only; the steps' marks are read as stored with the verdict
(:mod:`grader.steps.grading`), never computed by a page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

from markupsafe import Markup

from grader.core.parts import PartBase
from grader.core.report import PartResult
from grader.course.anonymous import names_hidden, pseudonym
from grader.course.files import LoadedAssignment
from grader.hand.progress import automatic
from grader.reporting.answer_groups import AnswerGroup
from grader.reporting.html import PageContext
from grader.reporting.readback import read_back
from grader.reporting.written import CODE_CSS, code_html, prose_html
from grader.service.templating import asset, fragment
from grader.steps.grading import stored_marks

VIEW_CSS = asset("grading_view.css") + CODE_CSS + asset("steps.css")
KEYS_SCRIPT = asset("grading_keys.js")
TEMPLATE = "hand/grading_view.html"
NO_OVERRIDE_KINDS = ("text", "single", "missing")  # graded by a hand grade of their own: no verdict
# The grading view's filters: which groups it goes through.
FILTERS = {
    "all": "all groups",
    "wrong": "wrong",
    "invalid": "invalid",
    "review": "to review",
    "overridden": "overridden",
}
MARK_WORDS = ("shown", "wrong", "undecided")


def model_answer_html(part: PartBase, prose: Callable[[str], str]) -> Markup:
    """The part's reference answer: code as code, prose as prose, a formula (or a mapping of
    them: a network's weights) typeset as grader reads it, never a Python dict."""
    answer = part.answer
    code = str(answer) if part.type == "code" else None
    readings = read_back(part, answer) if part.type not in ("code", "text") else []
    readings = readings if readings and all(r.latex for r in readings) else []
    entries = [(str(k), str(v)) for k, v in answer.items()] if isinstance(answer, dict) else None
    shown = Markup(prose(str(answer))) if code is None and not readings and entries is None else ""
    return fragment("hand/model_answer.html", code=code, readings=readings, entries=entries, prose=shown)


def run_feedback_html(result: PartResult) -> Markup:
    """The verdict of the student's code's run and its feedback, as the student reads them."""
    return fragment("hand/run_feedback.html", result=result, text=result.feedback.strip())


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
class GradingView:
    loaded: LoadedAssignment
    part_id: str
    part: PartBase
    groups: list[AnswerGroup]
    versions: dict[str, int]
    grades: dict[str, dict[str, Any]]  # student -> their grade of the part now
    show: str = "all"  # a key of FILTERS
    names: str = ""  # see Place.names
    pages: str = ""  # a PDF hand-in's pages of the part (HTML), shown with the group's answer
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

    def prose(self, text: str) -> Markup:
        """Prose of this problem set, its math read with the functions its parts declare."""
        declared = (getattr(part, "functions", None) or {} for _, _, part in self.loaded.spec.iter_parts())
        return Markup(prose_html(text, functions=sorted(set().union(*declared))))

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

    def model_answer(self, part: PartBase) -> Markup:
        return model_answer_html(part, self.prose)

    def answer(self, group: AnswerGroup) -> Markup:
        if not group.members or group.kind == "missing":
            return fragment("hand/no_answer.html")
        if group.kind == "page":  # graded from the pages of a PDF hand-in, shown below
            return Markup()
        first = group.members[0]
        written = str(first.answer if first.answer is not None else group.answer)
        if self.part.type == "code":
            return Markup(code_html(written)) + run_feedback_html(first.result)
        if group.kind == "text" or self.part.type == "text":
            return self.prose(written)
        return Markup(PageContext.of(self.loaded.spec).your_answer(first.result))

    def steps(self, group: AnswerGroup) -> Markup:
        """The steps of the group's derivations (a text part), the first wrong one marked."""
        if not group.members or group.kind == "missing" or self.part.type != "text":
            return Markup()
        chains = [c for c in stored_marks(group.members[0].result.steps) if c.steps]
        if not chains:
            return Markup()
        counts = {k: sum(s.status == k for c in chains for s in c.steps) for k in MARK_WORDS}
        wrong = next((s for c in chains for s in c.steps if s.status == "wrong"), None)
        return fragment("hand/steps.html", chains=chains, wrong=wrong, counts=counts)

    def given(self, group: AnswerGroup) -> tuple[dict[str, Any], bool]:
        """The grade to pre-fill (the group's first), and whether the students' grades differ."""
        given = [self.grades[m.student] for m in group.members if m.student in self.grades]
        if not given:
            return {}, False
        keys = ("points", "rubric", "comment", "reason")
        differ = any(tuple(g.get(k) for k in keys) != tuple(given[0].get(k) for k in keys) for g in given)
        return given[0], differ or len(given) < len(group.members)
