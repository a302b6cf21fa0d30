"""The grading view of a part, as HTML: one answer group at a time, the part's prompt, model
answer and rubric notes beside the group's answer, the students in the group and the grade
given already, pre-filled.

It works with forms and links alone; :data:`KEYS_SCRIPT` adds the keyboard (1-9 toggle rubric
items, Enter saves and goes to the next ungraded group, arrows move, ``/`` goes to the comment).
Everything shown is escaped; the model answer is on TA pages only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from markupsafe import Markup

from grader.core.parts import PartBase
from grader.core.report import HandMark, PartResult
from grader.reporting.answer_groups import AnswerGroup
from grader.reporting.html import PageContext
from grader.reporting.readback import read_back
from grader.reporting.written import CODE_CSS, code_html, prose_html
from grader.service.course_files import LoadedAssignment
from grader.service.hand.anonymous import names_hidden, pseudonym
from grader.service.hand.progress import automatic
from grader.service.hand.steps_view import STEPS_CSS, steps_html
from grader.service.templating import asset, fragment, render

VIEW_CSS = asset("grading_view.css") + CODE_CSS + STEPS_CSS

KEYS_SCRIPT = asset("grading_keys.js")

TEMPLATE = "hand/grading_view.html"
# Kinds of group graded by a hand grade of their own (no automatic verdict to override).
NO_OVERRIDE_KINDS = ("text", "single", "missing")


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
    """What the student's page says of their code's run: the verdict and its feedback, as they
    read it (the TA grades what the student sees)."""
    return fragment("hand/run_feedback.html", result=result, text=result.feedback.strip())


def to_review(mark: HandMark | None) -> bool:
    """The answer, or the verdict under an override, changed since the TA graded it."""
    return mark is not None and mark.to_review


# The grading view's filters: which groups it goes through.
FILTERS = {
    "all": "all groups",
    "wrong": "wrong",
    "invalid": "invalid",
    "review": "to review",
    "overridden": "overridden",
}


def shown_by(group: AnswerGroup, show: str) -> bool:
    """``review``: a grade whose answer, or the verdict under it, changed since it was given;
    ``overridden``: a TA's grade over an automatic verdict."""
    if show == "review":
        return any(to_review(m.result.hand) for m in group.members)
    if show == "overridden":  # a TA's grade over an automatic verdict
        return any(m.result.hand is not None and m.result.hand.auto_status is not None for m in group.members)
    if show in ("wrong", "invalid"):
        return group.kind == show
    return True


@dataclass(frozen=True)
class Place:
    """Where the view is: the group asked for, the group just graded, the filter."""

    group: str = ""
    after: str = ""
    show: str = "all"
    names: str = ""  # the toggle: "shown", "hidden", or "" for the assignment's setting


def _done(group: AnswerGroup) -> bool:
    """Every answer graded, and no grade to review: the TA has nothing left to do here."""
    return group.graded == len(group.members) and not any(to_review(m.result.hand) for m in group.members)


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
    overall: str = ""  # the assignment's progress over every part (HTML), shown under the part's
    pages: str = ""  # a PDF hand-in's pages of the part (HTML), shown with the group's answer

    @property
    def anonymous(self) -> bool:
        return names_hidden(self.loaded, self.names)

    def student(self, name: str) -> str:
        """The student as this view shows them: their pseudonym when names are hidden."""
        return pseudonym(self.loaded, name) if self.anonymous else name

    def _kept(self) -> dict[str, str]:
        """The filter and the names' toggle, kept in every link of the view."""
        kept = {"show": self.show} if self.show != "all" else {}
        return kept | ({"names": self.names} if self.names in ("shown", "hidden") else {})

    def prose(self, text: str) -> Markup:
        """Prose of this problem set, its math read with the functions its parts declare."""
        declared = (getattr(part, "functions", None) or {} for _, _, part in self.loaded.spec.iter_parts())
        return Markup(prose_html(text, functions=sorted(set().union(*declared))))

    def __post_init__(self) -> None:
        self.show = self.show if self.show in FILTERS else "all"
        self.names = self.names if self.names in ("shown", "hidden") else ""
        self.groups = [g for g in self.groups if shown_by(g, self.show)]

    def url(self, **query: str) -> str:
        base = f"/ta/assignments/{quote(self.loaded.name)}/parts/{quote(self.part_id)}"
        if query:
            query = {**query, **self._kept()}
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

    def render(self, index: int | None, csrf: str, message: str, beside: str = "") -> str:
        """The view as a partial (``hand/grading_view.html``)."""
        return render(TEMPLATE, **self.context(index, csrf, message, beside))

    def context(self, index: int | None, csrf: str, message: str, beside: str = "") -> dict[str, Any]:
        """What ``hand/grading_view.html`` shows: the group at ``index`` (None: no group to
        grade), what the server says of the last grade (``message``) and what goes beside the
        group's answer."""
        group = self.groups[index] if index is not None else None
        ungraded = [i for i, g in enumerate(self.groups) if not _done(g) and i != index]
        following = next((i for i in ungraded if index is not None and i > index), None)
        given: dict[str, Any] = {}
        differ = False
        if group is not None:
            given, differ = self._given(group)
        return dict(
            view=self,
            index=index,
            group=group,
            csrf=Markup(csrf),
            message=message,
            beside=Markup(beside),
            overall=Markup(self.overall),
            pages=Markup(self.pages),
            filters=FILTERS,
            no_override=NO_OVERRIDE_KINDS,
            done=sum(1 for g in self.groups if _done(g)),
            answers=sum(len(g.members) for g in self.groups),
            graded=sum(g.graded for g in self.groups),
            next_ungraded=following if following is not None else (ungraded[0] if ungraded else None),
            reference=self._reference(group) if group is not None else None,
            answer=self._answer(group) if group is not None else "",
            steps=self._steps(group) if group is not None else "",
            given=given,
            chosen=set(given.get("rubric") or ()),
            grades_differ=differ,
        )

    @property
    def automatic(self) -> bool:
        """A part grader grades: the view counts the verdicts a TA overrode (never "graded by hand")."""
        return automatic(self.part.type)

    def filter_url(self, show: str) -> str:
        base = f"/ta/assignments/{quote(self.loaded.name)}/parts/{quote(self.part_id)}"
        query = {**self._kept(), "show": show}
        query = {k: v for k, v in query.items() if (k, v) != ("show", "all")}
        return base + (f"?{urlencode(query)}" if query else "")

    def names_url(self, index: int | None) -> str:
        """Anonymous grading on or off, staying on the group shown."""
        query = {"names": "shown" if self.anonymous else "hidden"}
        if index is not None:
            query["group"] = self.groups[index].id
        if self.show != "all":
            query["show"] = self.show
        return f"/ta/assignments/{quote(self.loaded.name)}/parts/{quote(self.part_id)}?{urlencode(query)}"

    def _reference(self, group: AnswerGroup) -> dict[str, Any]:
        """The prompt, the model answer and the notes for TAs: on TA pages only. In a set with
        variants, those of the group's first student's own variant (their own numbers)."""
        own = next((m.part for m in group.members if m.part is not None), None)
        part = own or self.part
        return {
            "part": part,
            "variant_shown": own is not None
            and bool(group.members)
            and (own.prompt, own.answer) != (self.part.prompt, self.part.answer),
            "whose": self.student(group.members[0].student) if group.members else "",
            "model_answer": model_answer_html(part, self.prose) if part.answer is not None else "",
            "notes": [note for note in (part.ta_note, part.note) if note],
        }

    def _answer(self, group: AnswerGroup) -> Markup:
        if not group.members or group.kind == "missing":
            return fragment("hand/no_answer.html")
        if group.kind == "page":  # graded from the pages of a PDF hand-in, shown below
            return Markup()
        first = group.members[0]
        if self.part.type == "code":
            code = Markup(code_html(str(first.answer if first.answer is not None else group.answer)))
            return code + run_feedback_html(first.result)
        if group.kind == "text" or self.part.type == "text":
            return self.prose(str(first.answer if first.answer is not None else group.answer))
        return Markup(PageContext.of(self.loaded.spec).your_answer(first.result))

    def _steps(self, group: AnswerGroup) -> Markup:
        """The steps of the group's answer (a hand-graded part), the first wrong one marked."""
        if not group.members or group.kind == "missing":
            return Markup()
        return Markup(steps_html(self.part, group.members[0].result))

    def _given(self, group: AnswerGroup) -> tuple[dict[str, Any], bool]:
        """The grade to pre-fill (the first given in the group), and whether the students'
        grades differ (some of them without one)."""
        given = [self.grades[m.student] for m in group.members if m.student in self.grades]
        if not given:
            return {}, False
        keys = ("points", "rubric", "comment", "reason")
        differ = any(tuple(g.get(k) for k in keys) != tuple(given[0].get(k) for k in keys) for g in given)
        return given[0], differ or len(given) < len(group.members)
