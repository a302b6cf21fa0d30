"""``<student>.html``: a student's feedback page, one self-contained file.

Each question is a heading, each part a section with its prompt, the answer as
grader read it (MathML from grader's own parse tree, the raw text beside it),
the verdict as an icon and a word (never colour alone), the score, the
feedback (caret excerpts kept in ``<pre>``), the witness, the plot of a wrong
network when the report carries one (or why there is none), and the reference
answer only with ``show_expected``.

Formulas are typeset by KaTeX (:mod:`grader.reporting.typeset`): the page links the
vendored library from ``grader-assets/`` beside it (the service serves it under
``/static/``), so it needs no network. CSS is inline, plots are files next to the
page, and a Content-Security-Policy allows only the page's own stylesheet and the
scripts of its own origin (no inline script but the one allowed by hash), so even a
mistake in escaping could not run a student's ``<script>``. Without JavaScript a
formula shows as its LaTeX source.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from grader.core.parts import PartBase
from grader.core.plotdata import CurvePlot, PlanePlot
from grader.core.report import DECIDED, PartResult, Report, shown_points
from grader.core.verdict import Status, Witness
from grader.mathlang import ast
from grader.mathlang.render import to_latex
from grader.reporting.answers import ReadAnswer, graded_side, read_context, read_received, shown_text
from grader.reporting.escape import html_text as escape
from grader.reporting.handmarks import hand_html
from grader.reporting.plots import describe_plot, render_plot_svg
from grader.reporting.readback import read_back
from grader.reporting.typeset import (
    REPORT_ASSETS,
    asset_head,
    asset_scripts,
    math_html,
    prose_math,
)
from grader.reporting.withhold import shown_report
from grader.reporting.written import CODE_CSS, code_html
from grader.spec import ProblemSet
from grader.types.choice import ChoicePart

STATUS_ICONS = {
    Status.CORRECT: "✓",
    Status.PARTIAL: "◐",
    Status.INCORRECT: "✗",
    Status.MISSING: "○",
    Status.INVALID: "?",
    Status.MANUAL: "✎",
    Status.ERROR: "⚠",
}
STATUS_WORDS = {
    Status.CORRECT: "correct",
    Status.PARTIAL: "partly correct",
    Status.INCORRECT: "incorrect",
    Status.MISSING: "no answer",
    Status.INVALID: "could not be read",
    Status.MANUAL: "graded by a TA",
    Status.ERROR: "not decided: a TA will look",
}
PLOTTED = (Status.INCORRECT, Status.PARTIAL)

CSS = (
    """
:root { --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --panel: #f6f8fa; --link: #0969da; }
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink);
  margin: 0 auto; max-width: 60rem; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.3rem; margin: 2rem 0 .5rem; padding-bottom: .25rem; border-bottom: 2px solid var(--line); }
h3 { font-size: 1.05rem; margin: 0; display: flex; flex-wrap: wrap; gap: .5rem; align-items: baseline; }
a { color: var(--link); }
code, pre { font: .9rem/1.45 ui-monospace, "DejaVu Sans Mono", monospace; }
pre { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: .6rem .8rem;
  overflow-x: auto; white-space: pre; margin: .5rem 0; }
math { math-style: normal; font-size: 1.15em;
  font-family: "STIX Two Math", "Latin Modern Math", "Cambria Math", math; }
mtable.cases mtd { text-align: left; padding-right: 1em; }
.muted { color: var(--muted); }
.score-line { font-size: 1.15rem; margin: .25rem 0; }
.bar { display: block; width: 100%; max-width: 24rem; height: .7rem; }
.part { border: 1px solid var(--line); border-radius: 8px; padding: .9rem 1.1rem; margin: 1rem 0; }
.part-id { font-family: ui-monospace, monospace; }
.points { margin-left: auto; font-weight: 600; }
.prompt { margin: .5rem 0; }
.label { font-weight: 600; margin-right: .4rem; }
.answer { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: .75rem; margin: .6rem 0; }
.answer > div { background: var(--panel); border-radius: 6px; padding: .5rem .75rem; min-width: 0;
  overflow-x: auto; }
.answer .caption { display: block; font-size: .8rem; color: var(--muted); text-transform: uppercase;
  letter-spacing: .04em; }
.answer code { white-space: pre-wrap; word-break: break-word; }
.fields { border-collapse: collapse; }
.fields td { padding: .15rem .5rem .15rem 0; vertical-align: middle; }
.status { display: inline-flex; gap: .3rem; align-items: center; border-radius: 999px; padding: 0 .6rem;
  font-size: .9rem; font-weight: 600; border: 1px solid currentColor; white-space: nowrap; }
.status-correct { color: #116329; background: #dafbe1; }
.status-partial { color: #7d4e00; background: #fff8c5; }
.status-incorrect { color: #a40e26; background: #ffebe9; }
.status-missing { color: #424a53; background: #eaeef2; }
.status-invalid { color: #6639ba; background: #fbefff; }
.status-manual { color: #0550ae; background: #ddf4ff; }
.status-error { color: #ffffff; background: #82071e; }
.feedback { margin: .5rem 0; }
.ta-grade { margin: .5rem 0; padding: .25rem .75rem; border-left: 3px solid #0550ae; }
.ta-grade .override, .ta-grade .review { font-style: italic; }
.witness { margin: .5rem 0; }
.witness table { border-collapse: collapse; }
.witness th, .witness td { text-align: left; padding: .1rem .8rem .1rem 0; }
.note, .expected { border-left: 4px solid var(--line); padding: .2rem .8rem; margin: .5rem 0; }
figure { margin: .75rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
figcaption { font-size: .9rem; color: var(--muted); }
table.summary { border-collapse: collapse; margin: 1rem 0; width: 100%; }
table.summary caption { text-align: left; }
table.summary th, table.summary td { border-bottom: 1px solid var(--line); padding: .3rem .6rem;
  text-align: left; }
table.summary td.num, table.summary th.num { text-align: right; font-variant-numeric: tabular-nums; }
.alert { border: 2px solid #cf222e; background: #ffebe9; border-radius: 6px; padding: .5rem .8rem; }
.warning { border: 1px solid #d4a72c; background: #fff8c5; border-radius: 6px; padding: .5rem .8rem; }
.answer.single { grid-template-columns: 1fr; }
@media (max-width: 40rem) { .answer { grid-template-columns: 1fr; } }
@media print { .part { break-inside: avoid; } }
/* the grading service shows these pages under its navigation bar */
nav.top { display: flex; gap: 1rem; align-items: center; border-bottom: 1px solid var(--line);
  padding: .4rem 0; margin-bottom: 1rem; }
nav.top .who { margin-left: auto; color: var(--muted); }
form.inline { display: inline; }
/* formulas: KaTeX (grader/reporting/typeset.py); a formula it cannot typeset stays source */
.math-error, .math-source, .katex-error { font-family: ui-monospace, monospace; color: #a40e26; }
.katex-display { overflow-x: auto; overflow-y: hidden; }
.code pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }
"""
    + CODE_CSS
)


@dataclass(frozen=True)
class PageContext:
    """What the page knows beyond the report: the problem set's parts and question titles,
    and the answers already rendered for them (a class gives the same answer many times)."""

    parts: dict[str, PartBase]
    titles: dict[str, str]
    question_prompts: dict[str, str]
    readings: dict[tuple[str, ...], str] = dataclasses.field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, spec: ProblemSet | None) -> PageContext:
        if spec is None:
            return cls({}, {}, {})
        for known, context in _CONTEXTS:
            if known is spec:
                return context
        parts = {part_id: part for part_id, _, part in spec.iter_parts()}
        titles = {q.id: q.title for q in spec.questions if q.title}
        prompts = {q.id: q.prompt.strip() for q in spec.questions if not q.single and q.prompt}
        context = cls(parts, titles, prompts)
        _CONTEXTS.insert(0, (spec, context))  # the spec is held: its id is never another's
        del _CONTEXTS[_KEPT_CONTEXTS:]
        return context

    def your_answer(self, result: PartResult) -> str:
        """The "you wrote / grader read" block, rendered once per distinct reading."""
        key = (
            result.id,
            result.type or "",
            str(result.status is Status.INVALID),
            str(bool(result.feedback)),
            type(result.received).__name__,
            repr(result.received),
        )
        block = self.readings.get(key)
        if block is None:
            block = _your_answer(result, self.parts.get(result.id))
            if len(self.readings) >= _KEPT_READINGS:
                self.readings.clear()
            self.readings[key] = block
        return block


_CONTEXTS: list[tuple[ProblemSet, PageContext]] = []  # the problem sets pages were made for lately
_KEPT_CONTEXTS = 4
_KEPT_READINGS = 20_000


# ---- the page shell ---------------------------------------------------------------------


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def page(title: str, body: str, *, css: str = CSS, script: str = "", assets: str = REPORT_ASSETS) -> str:
    """A complete HTML document; only this stylesheet and this script may run (and, on a page
    with formulas, KaTeX from ``assets``)."""
    return "".join(page_pieces(title, [body], css=css, script=script, assets=assets))


def page_pieces(
    title: str, body: Sequence[str], *, css: str = CSS, script: str = "", assets: str = REPORT_ASSETS
) -> list[str]:
    """:func:`page` in pieces, its body given in pieces (a class's dashboard is tens of MB: it
    is written without ever being one string). ``assets``: where KaTeX is, from the page
    (``grader-assets/`` beside a batch's reports, ``/static/`` on the service)."""
    policy = page_policy(css, script)
    script_tag = f"<script>{script}</script>" if script else ""
    formulas = any(MATH_MARK in piece for piece in body)
    head = (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
        "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
        f"<title>{escape(title)}</title>\n{asset_head(assets) if formulas else ''}<style>{css}</style>\n"
        "</head>\n<body>\n"
    )
    tail = asset_scripts(assets) if formulas else ""
    return [head, *body, f"\n{script_tag}{tail}</body>\n</html>\n"]


MATH_MARK = "class='math'"  # a formula in a page's body: the page links KaTeX


def page_policy(css: str, script: str = "") -> str:
    """The Content-Security-Policy of a page: its stylesheet and script by hash, KaTeX's files
    (scripts, a stylesheet, fonts) from the page's own origin, nothing else."""
    scripts = f" {_hash(script)}" if script else ""
    return (
        f"default-src 'none'; img-src 'self' data: file:; style-src 'self' {_hash(css)}; "
        f"font-src 'self'; script-src 'self'{scripts}"
    )


def status_badge(status: Status) -> str:
    """The verdict as an icon and a word; the colour only repeats them."""
    return (
        f"<span class='status status-{status.value}' title='{STATUS_WORDS[status]}'>"
        f"<span aria-hidden='true'>{STATUS_ICONS[status]}</span>{escape(status.value)}</span>"
    )


def points_text(score: float, max_score: float) -> str:
    return f"{shown_points(score)}/{shown_points(max_score)}"


def score_bar(score: float, max_score: float, label: str) -> str:
    """A horizontal bar as SVG (no inline styles, which the page's policy forbids)."""
    share = score / max_score if max_score else 0.0
    width = max(0.0, min(1.0, share)) * 100
    return (
        f"<svg class='bar' viewBox='0 0 100 4' preserveAspectRatio='none' role='img' "
        f"aria-label='{escape(label)}'><rect width='100' height='4' fill='#eaeef2'/>"
        f"<rect width='{width:.2f}' height='4' fill='#2da44e'/></svg>"
    )


# ---- a student's page -------------------------------------------------------------------


def render_student_page(
    report: Report,
    show_expected: bool = False,
    *,
    spec: ProblemSet | None = None,
    covers: str = "",
    assets: str = REPORT_ASSETS,
    more_css: str = "",
) -> str:
    """The feedback page for one report; ``spec`` adds question titles and reads answers
    with each part's declared names, as the checker did; ``covers``: what the score is of,
    when it is not the whole assignment ("on the 1 part released of 11"); ``more_css``: the
    stylesheet of what a site adds to the page (the service's bar)."""
    context = PageContext.of(spec)
    report = shown_report(report, show_expected)  # the student's page: the TA's with show_expected
    title = f"{report.assignment}: feedback for {report.student}"
    body = [_header(report, covers), _summary_table(report)]
    for question, results in _by_question(report.parts):
        body.append(_question(question, results, context, show_expected))
    return page(title, "\n".join(body), css=CSS + more_css, assets=assets)


def page_inputs(report: Report, show_expected: bool, spec: ProblemSet | None) -> str:
    """What the feedback page shows from the problem set besides the report: each question's
    title and prompt, each answer as read with its part's names and reference (and the
    expected answer so read). With the report, everything the page is made from; a batch
    keeps a student's page only while both are unchanged."""
    context = PageContext.of(spec)
    shown = []
    for question, results in _by_question(report.parts):
        shown += [context.titles.get(question, ""), context.question_prompts.get(question, "")]
        for result in results:
            shown.append(context.your_answer(result))
            if show_expected and result.expected is not None:
                shown.append(_expected(result, context.parts.get(result.id)))
    return "\x1f".join(shown)


def _header(report: Report, covers: str = "") -> str:
    share = report.score / report.max_score if report.max_score else 0.0
    of = f" {escape(covers)}" if covers else ""
    lines = [
        f"<header><p class='muted'>{escape(report.assignment)}</p>",
        f"<h1>Feedback for {escape(report.student)}</h1>",
        f"<p class='score-line'><strong>Score: {points_text(report.score, report.max_score)}{of}</strong>"
        f" ({share:.0%})</p>",
        score_bar(report.score, report.max_score, f"score {share:.0%}"),
    ]
    if report.pending:
        lines.append(f"<p>{shown_points(report.pending)} points await grading by a TA.</p>")
    if report.error:
        lines.append(
            "<p class='alert'><strong>Your answers file could not be read:</strong> "
            f"{_text(report.error)}</p>"
        )
    lines.extend(f"<p class='warning'><strong>Warning:</strong> {escape(w)}</p>" for w in report.warnings)
    lines.extend(f"<p class='muted'>{escape(note)}</p>" for note in report.notes)
    lines.append("</header>")
    return "\n".join(lines)


def _summary_table(report: Report) -> str:
    rows = [
        f"<tr><td><a href='#{_anchor(p.id)}'>{escape(p.id)}</a></td><td>{status_badge(p.status)}</td>"
        f"<td class='num'>{points_text(p.score, p.max_score)}</td></tr>"
        for p in report.parts
    ]
    return (
        "<nav aria-label='parts'><table class='summary'><caption class='muted'>Every part at a glance"
        "</caption><thead><tr><th scope='col'>part</th><th scope='col'>verdict</th>"
        "<th scope='col' class='num'>points</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></nav>"
    )


def _anchor(part_id: str) -> str:
    return "part-" + "".join(c if c.isalnum() or c in "-_." else "_" for c in part_id)


def _by_question(parts: Sequence[PartResult]) -> list[tuple[str, list[PartResult]]]:
    grouped: dict[str, list[PartResult]] = {}
    for part in parts:
        grouped.setdefault(part.id.split(".", 1)[0], []).append(part)
    return list(grouped.items())


def _question(question: str, results: list[PartResult], context: PageContext, show_expected: bool) -> str:
    title = context.titles.get(question)
    heading = f"Question {escape(question)}" + (f": {escape(title)}" if title else "")
    out = [f"<section aria-labelledby='q-{_anchor(question)}'><h2 id='q-{_anchor(question)}'>{heading}</h2>"]
    prompt = context.question_prompts.get(question)
    if prompt:
        out.append(f"<p class='prompt'>{_prose(prompt)}</p>")
    for result in results:
        own_prompt = result.prompt if result.prompt and result.prompt.strip() != prompt else None
        out.append(_part(result, context, show_expected, own_prompt))
    out.append("</section>")
    return "\n".join(out)


def _part(result: PartResult, context: PageContext, show_expected: bool, prompt: str | None) -> str:
    part = context.parts.get(result.id)
    out = [
        f"<article class='part' id='{_anchor(result.id)}'>",
        f"<h3><span class='part-id'>{escape(result.id)}</span>{status_badge(result.status)}"
        f"<span class='points'>{points_text(result.score, result.max_score)} points</span></h3>",
    ]
    if prompt:
        out.append(f"<p class='prompt'>{_prose(prompt.strip())}</p>")
    out.append(context.your_answer(result))
    out.append(_feedback(result))
    out.append(_witness(result))
    out.append(_decided(result))
    out.append(_plot(result))
    if show_expected and result.expected is not None:
        out.append(_expected(result, part))
    if result.note:
        out.append(f"<p class='note'><span class='label'>Note from the TA:</span>{_prose(result.note)}</p>")
    out.append("</article>")
    return "\n".join(piece for piece in out if piece)


def _text(text: str) -> str:
    return escape(text).replace("\n", "<br>")


def _prose(text: str) -> str:
    """A prompt or a note: escaped, line breaks kept, its ``$...$`` formulas typeset."""
    return prose_math(text, line_breaks=True)


# ---- the answer, as grader read it --------------------------------------------------------


def _your_answer(result: PartResult, part: PartBase | None) -> str:
    if result.received is None:
        return "" if result.feedback else "<p class='muted'>You gave no answer.</p>"
    if result.type == "code":  # code is shown as code, highlighted: never read as a formula
        shown = code_html(result.received)
        return f"<div class='answer single'><div><span class='caption'>you wrote</span>{shown}</div></div>"
    written = escape(shown_text(result.received))
    raw = f"<div><span class='caption'>you wrote</span><code>{written}</code></div>"
    read = _reading(result, part)
    if read is None:
        return f"<div class='answer single'>{raw}</div>"
    return f"<div class='answer'><div><span class='caption'>grader read</span>{read}</div>{raw}</div>"


def _reading(result: PartResult, part: PartBase | None) -> str | None:
    """MathML of the answer, or the option a choice was read as; None when there is
    nothing to add to the raw text (prose, or an unreadable answer: the feedback says where)."""
    if result.status is Status.INVALID or result.received is None:
        return None
    if isinstance(part, ChoicePart):
        readings = read_back(part, result.received)
        return escape(readings[0].text) if readings else None
    answer = read_received(result.received, read_context(part, result.type))
    if answer is None or answer.tree is None:
        return answer_math(answer) if answer is not None else None
    graded, labelled = graded_side(answer.tree, part)
    math = math_html(to_latex(graded))
    if labelled and isinstance(answer.tree, ast.Relation):
        left = graded is answer.tree.right
        name = answer.text.split("=", 1)[0] + "=" if left else "=" + answer.text.rsplit("=", 1)[1]
        math += f"<div class='muted'>“{escape(name.strip())}” is read as the formula's name</div>"
    return math


def answer_math(answer: ReadAnswer) -> str | None:
    """A formula answer (its LaTeX, as grader read it, for KaTeX), a table of fields for a
    mapping, None for text."""
    if answer.tree is not None:
        return math_html(to_latex(answer.tree))
    if answer.interval is not None:
        ends = answer.interval
        low, high = to_latex(ends.low), to_latex(ends.high)
        opening, closing = "[" if ends.low_closed else "(", "]" if ends.high_closed else ")"
        return math_html(rf"\left{opening} {low}, {high} \right{closing}")
    if not answer.fields:
        return None
    rows = []
    for name, field in answer.fields:
        shown = answer_math(field) or f"<code>{escape(field.text)}</code>"
        label = math_html(to_latex(ast.Sym(0, name)))
        rows.append(f"<tr><td>{label}</td><td>=</td><td>{shown}</td></tr>")
    return "<table class='fields'>" + "".join(rows) + "</table>"


def _expected(result: PartResult, part: PartBase | None) -> str:
    assert result.expected is not None
    if result.type == "code":
        return f"<div class='expected'><span class='label'>Expected:</span>{code_html(result.expected)}</div>"
    answer = read_received(result.expected, read_context(part, result.type))
    shown = answer_math(answer) if answer is not None else None
    raw = f"<code>{escape(result.expected)}</code>"
    if result.reading is not None:
        raw += f" <span class='muted'>(read as {escape(result.reading.expected)})</span>"
    return f"<div class='expected'><span class='label'>Expected:</span>{shown or ''} {raw}</div>"


# ---- verdict details -----------------------------------------------------------------------


def _feedback(result: PartResult) -> str:
    if result.hand is not None:
        return hand_html(result.hand)
    text = result.feedback.strip()
    if not text:
        return ""
    if "\n" in text:  # a caret excerpt: its columns matter
        return f"<pre class='feedback'>{escape(text)}</pre>"
    return f"<p class='feedback'>{_text(text)}</p>"


def _decided(result: PartResult) -> str:
    if result.decision is None or result.status not in DECIDED:
        return ""
    how = escape(result.decision.describe())
    return f"<p class='decided muted'><span class='label'>Decided by:</span> {how}</p>"


def _witness(result: PartResult) -> str:
    rows = _witness_rows(result.witness, result.type) if result.witness is not None else []
    if not rows:
        return ""
    cells = "".join(f"<tr><th scope='row'>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return (
        "<div class='witness'><span class='label'>Where your answer and the expected one differ:</span>"
        f"<table>{cells}</table></div>"
    )


def _witness_rows(witness: Witness, type_name: str) -> list[tuple[str, str]]:
    rows = [("at", _assignments(witness.point))]
    if witness.symbols:
        rows.append(("with", _assignments(witness.symbols)))
    network = type_name == "network"
    if witness.received is not None:
        rows.append(("your network gives" if network else "your answer gives", witness.received))
    if witness.expected is not None:
        rows.append(("the target is" if network else "the expected answer gives", witness.expected))
    if witness.condition is not None:
        rows.append(("the condition holds", "yes" if witness.condition else "no"))
    return rows


def _assignments(values: Any) -> str:
    return ", ".join(f"{k} = {v}" for k, v in dict(values).items())


def _plot(result: PartResult) -> str:
    """The picture of a wrong network: drawn in the page (SVG) from the verdict's plot data, so
    the page alone keeps it; else the file written next to the page; or why there is none."""
    data = result.plot if isinstance(result.plot, CurvePlot | PlanePlot) else None
    if data is not None:
        description = describe_plot(data)
        return f"<figure>{render_plot_svg(data)}<figcaption>{escape(description)}</figcaption></figure>"
    image = result.plot_file
    if isinstance(image, str) and image:
        return _figure(image, "Your network against the target.")
    if result.type != "network" or result.status not in PLOTTED:
        return ""
    return f"<p class='muted'>No plot of this network: {escape(_why_no_plot(result))}.</p>"


def _figure(source: str, description: str) -> str:
    return (
        f"<figure><img src='{escape(source)}' alt='Plot: {escape(description)}'>"
        f"<figcaption>{escape(description)}</figcaption></figure>"
    )


def _why_no_plot(result: PartResult) -> str:
    if (result.received or "").strip().lower() == "impossible":
        return "your answer is that no weights exist, so there is no network to draw"
    return (
        "grader draws a network only when it could read its weights and compare it with the target "
        "at points (networks of one or two inputs)"
    )
