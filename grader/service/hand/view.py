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
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from grader.core.parts import PartBase
from grader.core.report import HandMark, PartResult, points_value, shown_points
from grader.mathlang.wording import counted
from grader.reporting.answer_groups import AnswerGroup
from grader.reporting.html import PageContext
from grader.reporting.readback import read_back
from grader.reporting.typeset import math_html
from grader.reporting.written import CODE_CSS, code_html, prose_html
from grader.service.course import LoadedAssignment
from grader.service.hand.anonymous import names_hidden, pseudonym
from grader.service.hand.progress import automatic
from grader.service.hand.steps_view import STEPS_CSS, steps_html

VIEW_CSS = (
    """
body { max-width: 96rem; }
.answer-shown { margin-bottom: 1rem; }
.view { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 2.4fr); gap: 1.25rem; }
.view aside { border-right: 1px solid var(--line); padding-right: 1rem; }
/* the group: its answer (which scrolls with the page) beside the grading form, which stays in view */
.group { display: grid; grid-template-columns: minmax(0, 3fr) minmax(16rem, 2fr); column-gap: 1.25rem;
  align-items: start; }
.group > * { grid-column: 1; }
.group > #grade { grid-column: 2; grid-row: 1 / span 30; position: sticky; top: .5rem; margin: 0;
  max-height: calc(100vh - 1rem); overflow-y: auto; border-left: 1px solid var(--line);
  padding: 0 0 .5rem 1rem; }
@media (max-width: 60rem) { .view, .group { display: block; } .group > #grade { position: static; } }
.run-feedback pre { white-space: pre-wrap; overflow-wrap: anywhere; }
progress { width: 16rem; max-width: 100%; vertical-align: middle; }
.prose { white-space: pre-wrap; overflow-wrap: anywhere; }
.code pre { white-space: pre-wrap; overflow-wrap: anywhere; padding: .5rem; border-radius: 6px; }
nav.groups { display: flex; gap: 1rem; align-items: baseline; flex-wrap: wrap; margin: .5rem 0; }
.rubric label { display: block; font-weight: 400; }
kbd { border: 1px solid var(--line); border-radius: 4px; padding: 0 .3rem; font-size: .85em; }
ul.members { columns: 2; }
"""
    + CODE_CSS
    + STEPS_CSS
)

KEYS_SCRIPT = """
document.addEventListener('keydown', (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) {
    if (event.key === 'Enter' && event.target.matches('textarea')) {
      event.preventDefault(); document.getElementById('grade').requestSubmit();
    }
    return;
  }
  if (event.target.matches('textarea, input[type=text]')) {
    if (event.key === 'Escape') event.target.blur();
    return;
  }
  const go = (id) => { const link = document.getElementById(id); if (link) link.click(); };
  if (/^[1-9]$/.test(event.key)) {
    const box = document.querySelectorAll('#grade input[name=rubric]')[Number(event.key) - 1];
    if (box) { box.checked = !box.checked; event.preventDefault(); }
  } else if (event.key === 'Enter' && !event.target.matches('a, button')) {
    event.preventDefault(); document.getElementById('grade').requestSubmit();
  } else if (event.key === 'ArrowRight') { go('next-group'); }
  else if (event.key === 'ArrowLeft') { go('previous-group'); }
  else if (event.key === '/') { event.preventDefault(); document.getElementById('comment').focus(); }
});
"""

# Kinds of group graded by a hand grade of their own (no automatic verdict to override).
NO_OVERRIDE_KINDS = ("text", "single", "missing")


def model_answer_html(part: PartBase, prose: Callable[[str], str]) -> str:
    """The part's reference answer: code as code, prose as prose, a formula (or a mapping of
    them: a network's weights) typeset as grader reads it, never a Python dict."""
    answer = part.answer
    if part.type == "code":
        return code_html(str(answer))
    if part.type != "text":
        readings = read_back(part, answer)
        if readings and all(r.latex for r in readings):
            return "".join(
                f"<div class='reading'>{math_html((r.label + ' = ' if r.label else '') + str(r.latex))}</div>"
                for r in readings
            )
    if isinstance(answer, dict):
        return "".join(
            f"<div><code>{escape(str(k))} = {escape(str(v))}</code></div>" for k, v in answer.items()
        )
    return prose(str(answer))


def run_feedback_html(result: PartResult) -> str:
    """What the student's page says of their code's run: the verdict and its feedback, as they
    read it (the TA grades what the student sees)."""
    text = result.feedback.strip()
    status = escape(result.status.value)
    shown = f"<pre>{escape(text)}</pre>" if text else "<p class='muted'>(no feedback from the run)</p>"
    return (
        f"<section class='run-feedback' id='run-feedback'><h3>The run, as the student sees it: {status} "
        f"({shown_points(result.score)}/{shown_points(result.max_score)})</h3>{shown}</section>"
    )


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

    def prose(self, text: str) -> str:
        """Prose of this problem set, its math read with the functions its parts declare."""
        declared = (getattr(part, "functions", None) or {} for _, _, part in self.loaded.spec.iter_parts())
        return prose_html(text, functions=sorted(set().union(*declared)))

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

    def render(self, index: int | None, csrf: str, message: str) -> str:
        done = sum(1 for g in self.groups if _done(g))
        answers = sum(len(g.members) for g in self.groups)
        graded = sum(g.graded for g in self.groups)
        out = [
            f"<h1>{escape(self.loaded.name)} · {escape(self.part_id)}</h1>",
            *self._progress(done, answers, graded),
            self.overall,
        ]
        if message:
            out.append(f"<p class='warning' role='alert'>{escape(message)}</p>")
        out.append(self._filters())
        out.append(self._names_toggle(index))
        if index is None:
            out.append(f"<p id='no-group'>No group to grade here ({escape(FILTERS[self.show])}).</p>")
            return "\n".join(out)
        out.append(self._navigation(index))
        out.append("<div class='view'>")
        out.append(self._reference(self.groups[index]))
        out.append(self._group(self.groups[index], csrf))
        out.append("</div>")
        out.append(self._rubric_editor(self.groups[index], csrf))
        return "\n".join(out)

    def _filters(self) -> str:
        links = [
            f"<strong>{escape(label)}</strong>"
            if show == self.show
            else f"<a href='{escape(self._filter_url(show))}'>{escape(label)}</a>"
            for show, label in FILTERS.items()
        ]
        return f"<nav class='groups' id='filters'>Show: {' · '.join(links)}</nav>"

    def _filter_url(self, show: str) -> str:
        base = f"/ta/assignments/{quote(self.loaded.name)}/parts/{quote(self.part_id)}"
        query = {**self._kept(), "show": show}
        query = {k: v for k, v in query.items() if (k, v) != ("show", "all")}
        return base + (f"?{urlencode(query)}" if query else "")

    def _names_toggle(self, index: int | None) -> str:
        """Anonymous grading on or off, staying on the group shown."""
        query = {"names": "shown" if self.anonymous else "hidden"}
        if index is not None:
            query["group"] = self.groups[index].id
        if self.show != "all":
            query["show"] = self.show
        base = f"/ta/assignments/{quote(self.loaded.name)}/parts/{quote(self.part_id)}"
        url = escape(f"{base}?{urlencode(query)}")
        if self.anonymous:
            return (
                "<p id='anonymous'>Anonymous grading: students are shown by pseudonym. "
                f"<a id='names-toggle' href='{url}'>Show names</a></p>"
            )
        return f"<p id='anonymous' class='muted'><a id='names-toggle' href='{url}'>Hide names</a></p>"

    def _navigation(self, index: int) -> str:
        links = [f"<span id='position'>group {index + 1} of {len(self.groups)}</span>"]
        if index > 0:
            previous = self.url(group=self.groups[index - 1].id)
            links.append(f"<a id='previous-group' href='{escape(previous)}'>← previous</a>")
        if index + 1 < len(self.groups):
            following = self.url(group=self.groups[index + 1].id)
            links.append(f"<a id='next-group' href='{escape(following)}'>next →</a>")
        ungraded = [i for i, g in enumerate(self.groups) if not _done(g) and i != index]
        if ungraded:
            target = next((i for i in ungraded if i > index), ungraded[0])
            link = escape(self.url(group=self.groups[target].id))
            links.append(f"<a id='next-ungraded' href='{link}'>next ungraded</a>")
        else:
            links.append("<span id='next-ungraded' class='muted'>every other group is graded</span>")
        links.append(
            "<span class='muted'>keys: <kbd>1</kbd>-<kbd>9</kbd> rubric, <kbd>Enter</kbd> save and next, "
            "<kbd>←</kbd> <kbd>→</kbd> move, <kbd>/</kbd> comment</span>"
        )
        return f"<nav class='groups'>{''.join(links)}</nav>"

    def _progress(self, done: int, answers: int, graded: int) -> list[str]:
        """How far the part is: groups and answers graded by a TA; for a part grader grades, how
        many of its verdicts a TA overrode (never "graded by hand")."""
        kind = f"{escape(self.part.type)}, {counted(self.part.points, 'point')}"
        if automatic(self.part.type):
            return [
                f"<p id='progress'>{counted(len(self.groups), 'group')}, graded automatically</p>",
                f"<p id='answers-progress' class='muted'>{counted(answers, 'answer')} ({kind}): "
                f"{graded} with a TA's grade over the automatic verdict.</p>",
            ]
        return [
            f"<p id='progress'>{done} of {counted(len(self.groups), 'group')} graded</p>",
            f"<p id='answers-progress' class='muted'>{graded} of {counted(answers, 'answer')} graded by hand "
            f"({kind}).</p>",
        ]

    def _reference(self, group: AnswerGroup) -> str:
        """The prompt, the model answer and the notes for TAs: on TA pages only. In a set with
        variants, those of the group's first student's own variant (their own numbers)."""
        own = next((m.part for m in group.members if m.part is not None), None)
        part = own or self.part
        out = ["<aside id='reference'>", "<h2>Prompt</h2>", self.prose(part.prompt or "(no prompt)")]
        if (
            own is not None
            and group.members
            and (own.prompt, own.answer) != (self.part.prompt, self.part.answer)
        ):
            whose = escape(self.student(group.members[0].student))
            variant = f" ({escape(group.variant)})" if group.variant else ""
            out.append(f"<p class='muted' id='variant-shown'>With {whose}'s own numbers{variant}.</p>")
        if part.answer is not None:
            out += [
                "<h2>Model answer</h2>",
                f"<div id='model-answer'>{model_answer_html(part, self.prose)}</div>",
            ]
        notes = [note for note in (part.ta_note, part.note) if note]
        if notes:
            out += ["<h2>Notes for TAs</h2>", *(self.prose(note) for note in notes)]
        out.append("</aside>")
        return "".join(out)

    def _rubric_editor(self, group: AnswerGroup, csrf: str) -> str:
        """A form per rubric item (its points and text: the scores it moves are shown before
        the edit applies) and one to add an item, written to problems/rubric.yaml."""
        where = self.url(group=group.id)  # kept in the query: back to this group after the edit
        action = escape(where.replace("?", "/rubric?", 1))
        kept = csrf
        forms = "".join(
            f"<form method='post' action='{action}' class='rubric-item' id='rubric-{escape(item.id)}'>{kept}"
            f"<input type='hidden' name='id' value='{escape(item.id)}'>"
            f"<input type='hidden' name='was_points' value='{points_value(item.points)}'>"
            f"<input type='hidden' name='was_text' value='{escape(item.text)}'>"
            f"<strong>{escape(item.id)}</strong> <label>points <input type='text' name='points' size='5' "
            f"inputmode='decimal' value='{points_value(item.points)}'></label> "
            f"<label>text <input type='text' name='text' size='40' value='{escape(item.text)}'></label> "
            "<button type='submit'>Change…</button></form>"
            for item in self.part.rubric
        )
        add = (
            f"<form method='post' action='{action}' class='rubric-item' id='rubric-add'>{kept}"
            "<label>id <input type='text' name='id' size='12' required></label> "
            "<label>points <input type='text' name='points' size='5' inputmode='decimal' required></label> "
            "<label>text <input type='text' name='text' size='40' required></label> "
            "<button type='submit'>Add item</button></form>"
        )
        return (
            "<details id='rubric-edit'><summary>Edit the rubric</summary>"
            "<p class='muted'>A changed item applies to every grade given with it: the scores it "
            "moves are listed before it applies. Items are kept in problems/rubric.yaml.</p>"
            f"{forms}{add}</details>"
        )

    def _answer(self, group: AnswerGroup) -> str:
        if not group.members or group.kind == "missing":
            return "<p class='muted'>(no answer)</p>"
        first = group.members[0]
        if self.part.type == "code":
            code = code_html(str(first.answer if first.answer is not None else group.answer))
            return code + run_feedback_html(first.result)
        if group.kind == "text" or self.part.type == "text":
            return self.prose(str(first.answer if first.answer is not None else group.answer))
        return PageContext.of(self.loaded.spec).your_answer(first.result)

    def _steps(self, group: AnswerGroup) -> str:
        """The steps of the group's answer (a hand-graded part), the first wrong one marked."""
        if not group.members or group.kind == "missing":
            return ""
        return steps_html(self.part, group.members[0].result)

    def _group(self, group: AnswerGroup, csrf: str) -> str:
        members = "".join(
            f"<li>{escape(self.student(m.student))}: {escape(m.result.status.value)} "
            f"{shown_points(m.result.score)}/{shown_points(m.result.max_score)}"
            + (f" <em>(graded by {escape(m.result.hand.by)})</em>" if m.result.hand is not None else "")
            + (" <strong class='review'>to review</strong>" if to_review(m.result.hand) else "")
            + "</li>"
            for m in group.members
        )
        slip = (
            f"<p class='slip'>Known slip: {escape(group.misconception.name)}</p>"
            if group.misconception
            else ""
        )
        if group.formula is not None:  # a slip shared across variants (a set with parameters)
            slip += f"<p class='slip'>In each student's own variant: <code>{escape(group.answer)}</code></p>"
        elif group.variant is not None:
            slip += f"<p class='slip'>Variant {escape(group.variant)} only</p>"
        return (
            f"<section class='group' id='group-{group.id}'>"
            f"<h2>{escape(group.kind)} · {counted(len(group.members), 'answer')}</h2>"
            f"<div class='answer-shown'>{self._answer(group)}</div>{self._steps(group)}{slip or ''}"
            f"<h3>Students</h3><ul class='members'>{members}</ul>{self._form(group, csrf)}</section>"
        )

    def _given(self, group: AnswerGroup) -> tuple[dict[str, Any], str]:
        """The grade to pre-fill (the first given in the group), and a note when the students'
        grades differ."""
        given = [self.grades[m.student] for m in group.members if m.student in self.grades]
        if not given:
            return {}, ""
        keys = ("points", "rubric", "comment", "reason")
        differ = any(tuple(g.get(k) for k in keys) != tuple(given[0].get(k) for k in keys) for g in given)
        note = "<p class='warning'>These students' grades differ: saving gives them all this one.</p>"
        return given[0], note if differ or len(given) < len(group.members) else ""

    def _form(self, group: AnswerGroup, csrf: str) -> str:
        given, note = self._given(group)
        hidden = "".join(
            f"<input type='hidden' name='student' value='{escape(self.student(m.student))}'>"
            f"<input type='hidden' name='version' value='{self.versions.get(m.student, 0)}'>"
            for m in group.members
        )
        chosen = set(given.get("rubric") or ())
        rubric = "".join(
            f"<label><input type='checkbox' name='rubric' value='{escape(item.id)}'"
            f"{' checked' if item.id in chosen else ''}> <kbd>{number}</kbd> "
            f"{'+' if item.points >= 0 else ''}{shown_points(item.points)} {escape(item.text)}</label>"
            for number, item in enumerate(self.part.rubric, start=1)
        )
        points = given.get("points")
        reason = (
            "<label>Reason for overriding the automatic verdict "
            f"<input type='text' name='reason' value='{escape(given.get('reason') or '')}' required></label>"
            if group.kind not in NO_OVERRIDE_KINDS
            else ""
        )
        action = escape(self.url() + f"/groups/{group.id}")
        hidden += f"<input type='hidden' name='show' value='{escape(self.show)}'>"
        hidden += f"<input type='hidden' name='names' value='{escape(self.names)}'>"
        answers = len(group.members)
        button = "Save and next" if answers == 1 else f"Save these {answers} and next"
        return (
            f"<form id='grade' class='stack' method='post' action='{action}'>{csrf}{hidden}{note}"
            f"<div class='rubric'>{rubric}</div>"
            f"<label>Points (of {shown_points(self.part.points)}; empty: from the rubric) "
            f"<input type='text' name='points' inputmode='decimal' "
            f"value='{points_value(points) if points is not None else ''}'></label>"
            "<label>Comment to the students "
            f"<textarea id='comment' name='comment'>{escape(given.get('comment') or '')}</textarea></label>"
            f"{reason}<button type='submit'>{button}</button></form>"
        )
