"""The grading view of a part (``hand/grading_view.html``): one answer group at a time (in the
order of :mod:`grader.course.grading_view`), the part's prompt, model answer and notes beside the
group's answer, the students in the group and the grade given already, pre-filled. Forms and links
alone; :data:`KEYS_SCRIPT` adds the keyboard. The model answer is on TA pages only; the steps' marks
are read as stored with the verdict (:mod:`grader.steps.grading`), never computed by a page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import Markup

from grader.core.parts import PartBase
from grader.core.report import PartResult
from grader.course.grading_view import GroupsView
from grader.reporting.answer_groups import AnswerGroup
from grader.reporting.html import PageContext
from grader.reporting.readback import read_back
from grader.reporting.written import CODE_CSS, code_html, prose_html
from grader.service.templating import asset, fragment
from grader.steps.grading import stored_marks

VIEW_CSS = asset("grading_view.css") + CODE_CSS + asset("steps.css")
KEYS_SCRIPT = asset("grading_keys.js")
TEMPLATE = "hand/grading_view.html"
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


@dataclass
class GradingView(GroupsView):
    """The view's page: a group's answer, its steps, the model answer."""

    pages: str = ""  # a PDF hand-in's pages of the part (HTML), shown with the group's answer

    def prose(self, text: str) -> Markup:
        """Prose of this problem set, its math read with the functions its parts declare."""
        declared = (getattr(part, "functions", None) or {} for _, _, part in self.loaded.spec.iter_parts())
        return Markup(prose_html(text, functions=sorted(set().union(*declared))))

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
