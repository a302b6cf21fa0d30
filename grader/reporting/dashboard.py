"""``index.html``: the class dashboard of a batch, for TAs.

The score histogram; per part the mean score and the share of each verdict,
parts with many ``error`` verdicts flagged for review, a difficulty chart, and
the most common wrong answers grouped by what they mean (with the feedback
they got and links to the students' pages); a table of students that sorts
when a header is clicked (a small inline script; the table reads without it).

The numbers come from :mod:`grader.reporting.stats`, shared with ``grader stats``.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from grader.core.files import safe_filename
from grader.core.report import Report, shown_points
from grader.core.summary import RowMaker, SheetRow
from grader.core.verdict import Status
from grader.reporting.answers import ReadContext, read_context, read_received, shown_text
from grader.reporting.charts import difficulty_svg, histogram_svg
from grader.reporting.escape import html_text as escape
from grader.reporting.html import (
    CSS,
    PageContext,
    answer_math,
    page_pieces,
    points_text,
    render_student_page,
    status_badge,
)
from grader.reporting.stats import (
    AnswerGroup,
    BatchStats,
    ClassTally,
    ParameterValueStats,
    PartStats,
    parameter_stats,
)
from grader.reporting.typeset import REPORT_ASSETS
from grader.spec import ProblemSet

# Links to students shown per wrong answer before "and N more".
SHOWN_STUDENTS = 12

DASHBOARD_CSS = """
body { max-width: 75rem; }
.facts { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; margin: .5rem 0 1rem; padding: 0;
  list-style: none; }
.facts li strong { font-size: 1.3rem; display: block; }
figure.chart img, figure.chart svg { max-width: 100%; height: auto; }
table.data { border-collapse: collapse; width: 100%; margin: .75rem 0; font-variant-numeric: tabular-nums; }
table.data th, table.data td { border-bottom: 1px solid var(--line); padding: .3rem .55rem; text-align: left;
  vertical-align: top; }
table.data th.num, table.data td.num { text-align: right; }
table.data thead th { background: var(--panel); position: sticky; top: 0; white-space: nowrap; }
table.data caption { text-align: left; padding: .25rem 0; }
table.data th button { font: inherit; font-weight: 600; border: 0; background: none; padding: 0;
  cursor: pointer; color: var(--ink); text-align: inherit; }
table.data th button::after { content: " ↕"; color: var(--muted); }
table.data th[aria-sort=ascending] button::after { content: " ↑"; }
table.data th[aria-sort=descending] button::after { content: " ↓"; }
tr.review td { background: #fff8c5; }
.wrong { margin: 1rem 0 1.5rem; }
.wrong h3 { display: block; margin: 1.25rem 0 .25rem; }
.wrong ol { padding-left: 1.5rem; }
.group-head { margin-bottom: .3rem; }
.table-scroll { overflow-x: auto; }
table.data { font-size: .92rem; }
table.data td.num { white-space: nowrap; }
.wrong li { margin: .6rem 0; padding: .5rem .75rem; border: 1px solid var(--line); border-radius: 6px; }
.count { font-weight: 700; }
.students a { margin-right: .45rem; }
details summary { cursor: pointer; color: var(--link); }
"""

# Sorts a table when a column header is clicked: numbers by data-value, text by its content.
SORT_SCRIPT = """
for (const table of document.querySelectorAll("table.sortable")) {
  const heads = Array.from(table.tHead.rows[0].cells);
  heads.forEach((th, column) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = th.textContent;
    th.textContent = "";
    th.appendChild(button);
    button.addEventListener("click", () => {
      const down = th.getAttribute("aria-sort") === "ascending";
      heads.forEach((h) => h.removeAttribute("aria-sort"));
      th.setAttribute("aria-sort", down ? "descending" : "ascending");
      const body = table.tBodies[0];
      const key = (row) => {
        const cell = row.cells[column];
        const value = cell.dataset.value;
        return value === undefined ? cell.textContent.trim().toLowerCase() : Number(value);
      };
      const rows = Array.from(body.rows);
      rows.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0) * (down ? -1 : 1));
      body.append(...rows);
    });
  });
}
"""


def render_dashboard(
    reports: Sequence[Report],
    *,
    spec: ProblemSet | None = None,
    pages: Sequence[str | None] | None = None,
    stats: BatchStats | None = None,
    assets: str = REPORT_ASSETS,
    more_css: str = "",
) -> str:
    """The dashboard of one assignment's reports. ``pages[i]`` is the page of
    ``reports[i]`` (default ``<student>.html``); ``spec`` lets answers be read with
    each part's names; ``assets``: where KaTeX is (the service: ``/static/``);
    ``more_css``: the stylesheet of what a site adds to the page (the service's bar)."""
    maker = RowMaker()
    tally = ClassTally()
    for index, report in enumerate(reports):
        tally.add(index, maker.row(report))
    links = list(pages) if pages is not None else [safe_filename(r.student) + ".html" for r in reports]
    rows = tally.ordered()
    students = [student_row(row, link) for row, link in zip(rows, links, strict=True)]
    by_value = parameter_stats(reports)  # a set with parameters: as ``grader stats`` shows them
    pieces = dashboard_pieces(
        tally, links, students, spec=spec, stats=stats, by_value=by_value, assets=assets, more_css=more_css
    )
    return "".join(pieces)


def class_dashboard(
    tally: ClassTally,
    links: Sequence[str | None],
    students: Sequence[str],
    *,
    spec: ProblemSet | None = None,
    stats: BatchStats | None = None,
) -> str:
    """The dashboard of a class's summary rows (``tally``): ``links[i]`` is the page of its
    ``i``-th student, ``students[i]`` their row of the students' table (:func:`student_row`)."""
    return "".join(dashboard_pieces(tally, links, students, spec=spec, stats=stats))


def dashboard_pieces(
    tally: ClassTally,
    links: Sequence[str | None],
    students: Sequence[str],
    *,
    spec: ProblemSet | None = None,
    stats: BatchStats | None = None,
    by_value: Sequence[ParameterValueStats] = (),
    assets: str = REPORT_ASSETS,
    more_css: str = "",
) -> list[str]:
    """:func:`class_dashboard` in pieces, to write without joining them (a class of 50,000 is
    a page of about 45 MB)."""
    context = PageContext.of(spec)
    numbers = stats or tally.stats(context.parts)
    names = [row.student for row in tally.ordered()]
    title = spec.title if spec is not None and spec.title else numbers.assignment
    body = [
        _header(numbers, title),
        "\n",
        _histogram(numbers),
        "\n",
        _parts(numbers),
        "\n",
        *_wrong_answers(numbers, _Anchors(names, links), context),
        "\n",
        *([_by_parameter(by_value)] if by_value else []),
        *_students(students),
    ]
    title = f"{numbers.assignment}: class dashboard"
    return page_pieces(title, body, css=_css() + more_css, script=SORT_SCRIPT, assets=assets)


def _by_parameter(rows: Sequence[ParameterValueStats]) -> str:
    """Each part's mean score per value of each parameter (is it harder when a is even?)."""
    body = "".join(
        f"<tr><td>{escape(r.part)}</td><td>{escape(r.parameter)}</td><td>{escape(r.value)}</td>"
        f"<td class='num'>{r.students}</td><td class='num'>{r.mean_fraction:.0%}</td></tr>"
        for r in rows
    )
    return (
        "<section aria-labelledby='by-parameter'><h2 id='by-parameter'>Per parameter value</h2>"
        "<table class='data' id='parameter-stats'><thead><tr><th>Part</th><th>Parameter</th>"
        "<th>Value</th><th class='num'>Students</th><th class='num'>Mean score</th></tr></thead>"
        f"<tbody>{body}</tbody></table></section>\n"
    )


def _css() -> str:
    return CSS + DASHBOARD_CSS


def _header(stats: BatchStats, title: str) -> str:
    mean_share = stats.mean_score / stats.max_score if stats.max_score else 0.0
    facts = [
        ("students", str(stats.students)),
        ("mean score", f"{stats.mean_score:.1f} / {shown_points(stats.max_score)} ({mean_share:.0%})"),
        ("median score", shown_points(stats.median_score)),
    ]
    graded = sum(p.hand_graded for p in stats.parts)
    waiting = sum(p.to_grade for p in stats.parts)
    if graded or waiting or stats.pending:
        facts.append(("answers to hand-graded parts graded so far", f"{graded} of {graded + waiting}"))
    if stats.pending:  # a report's pending points: those of its parts no TA has graded yet
        still = f"up to {shown_points(stats.pending)}"
        facts.append(("points per student not counted until a TA grades them", still))
    unreadable_answers = sum(len(p.unreadable) for p in stats.parts)
    if unreadable_answers:
        facts.append(("unreadable answers", str(unreadable_answers)))
    if stats.unreadable:
        facts.append(("unreadable submissions", str(len(stats.unreadable))))
    items = "".join(f"<li><strong>{escape(v)}</strong>{escape(k)}</li>" for k, v in facts)
    return (
        f"<header><p class='muted'>{escape(stats.assignment)}</p>"
        f"<h1>Class dashboard: {escape(title)}</h1><ul class='facts'>{items}</ul></header>"
    )


def _histogram(stats: BatchStats) -> str:
    svg = histogram_svg(stats.scores, stats.max_score)
    source = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
    alt = f"Histogram of the scores of {stats.students} students, out of {shown_points(stats.max_score)}"
    return (
        "<section aria-labelledby='scores'><h2 id='scores'>Scores</h2>"
        f"<figure class='chart'><img id='histogram' src='{source}' alt='{escape(alt)}' "
        "width='640' height='280'>"
        "<figcaption class='muted'>Students per score range.</figcaption></figure></section>"
    )


# ---- parts ---------------------------------------------------------------------------------

_PART_COLUMNS = (
    ("correct", Status.CORRECT),
    ("partial", Status.PARTIAL),
    ("incorrect", Status.INCORRECT),
    ("missing", Status.MISSING),
    ("unreadable", Status.INVALID),
    ("error", Status.ERROR),
    ("by hand", Status.MANUAL),
)


def _parts(stats: BatchStats) -> str:
    review = [p for p in stats.parts if p.needs_review]
    out = ["<section aria-labelledby='parts'><h2 id='parts'>Parts</h2>"]
    if review:
        items = "".join(
            f"<li>{_part_link(p)}: {p.counts.get('error', 0)} of "
            f"{p.submissions} verdicts are errors (grader could not decide)</li>"
            for p in review
        )
        out.append(
            f"<div class='alert' role='note'><strong>⚠ Review these parts:</strong><ul>{items}</ul></div>"
        )
    out.append(
        f"<figure class='chart'>{difficulty_svg(stats.parts)}"
        "<figcaption class='muted'>Share of each verdict per part; the mean score on the right.</figcaption>"
        "</figure>"
    )
    out.append(_parts_table(stats.parts))
    out.append("</section>")
    return "\n".join(out)


def _parts_table(parts: Sequence[PartStats]) -> str:
    heads = "".join(f"<th scope='col' class='num'>{name}</th>" for name, _ in _PART_COLUMNS)
    rows = []
    for part in parts:
        cells = "".join(
            f"<td class='num' data-value='{part.share(status):.4f}'>{part.share(status):.0%}</td>"
            for _, status in _PART_COLUMNS
        )
        flag = "⚠ review" if part.needs_review else ""
        rows.append(
            f"<tr{' class=review' if part.needs_review else ''}><td>{_part_link(part)}</td>"
            f"<td>{escape(part.type)}</td>"
            f"<td class='num' data-value='{part.mean_fraction:.4f}'>{_mean_text(part)}</td>{cells}"
            f"<td>{flag}</td></tr>"
        )
    return (
        "<div class='table-scroll'><table class='data sortable' id='parts-table'>"
        "<caption class='muted'>Per part: the mean score, and the share of students with each verdict "
        "(unreadable: the answer could not be read).</caption><thead><tr>"
        "<th scope='col'>part</th>"
        f"<th scope='col'>type</th><th scope='col' class='num'>mean score</th>{heads}"
        "<th scope='col'>flag</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>"
    )


def _part_link(part: PartStats) -> str:
    """The part's id, linked to its wrong answers when it has some."""
    if not part.wrong_answers:
        return escape(part.id)
    return f"<a href='#wrong-{escape(part.id)}' title='its most common wrong answers'>{escape(part.id)}</a>"


def _mean_text(part: PartStats) -> str:
    if part.by_hand:
        return f"by hand / {shown_points(part.max_score)}"
    return f"{part.mean_score:.2f} / {shown_points(part.max_score)}"


# ---- wrong answers -------------------------------------------------------------------------


class _Anchors:
    """Each student's link, made once for the whole class on first use (a student is in a
    group of most parts) and read from a list in C (a group may hold most of a class)."""

    def __init__(self, names: Sequence[str], links: Sequence[str | None]):
        self.names, self.links = names, links
        self.every: list[str] | None = None

    def of(self, members: Sequence[int]) -> list[str]:
        """The links of ``members``, in their order."""
        if self.every is None:
            self.every = list(map(_student_link, self.names, self.links))
        return list(map(self.every.__getitem__, members))


def _wrong_answers(stats: BatchStats, anchors: _Anchors, context: PageContext) -> list[str]:
    """The section, in pieces."""
    out = [
        "<section aria-labelledby='wrong' class='wrong'><h2 id='wrong'>Most common wrong answers</h2>\n",
        "<p class='muted'>Per part, the answers grader could not read come first: a right answer "
        "written in a form grader does not read hides there. Answers that are equal as formulas "
        "count as one; the most common spelling is shown first.</p>\n",
    ]
    for part in stats.parts:
        if not part.wrong_answers:
            continue
        out.append(f"<h3 id='wrong-{escape(part.id)}'>{escape(part.id)}</h3>\n<ol>")
        out.extend(_group(g, part, anchors, context) for g in part.wrong_answers)
        out.append("</ol>\n")
    clean = [escape(p.id) for p in stats.parts if not p.wrong_answers]
    if clean:
        out.append(f"<p class='muted'>No wrong answers to {', '.join(clean)}.</p>\n")
    out.append("</section>")
    return out


def _group(
    group: AnswerGroup,
    part: PartStats,
    anchors: _Anchors,
    context: PageContext,
) -> str:
    students = "student" if group.count == 1 else "students"
    badges = " ".join(status_badge(Status(s)) for s in group.statuses)
    lines = [
        f"<li><div class='group-head'><span class='count'>{group.count} {students}</span> {badges}</div>",
        _group_answer(group, read_context(context.parts.get(part.id), part.type)),
    ]
    lines.extend(_feedback_given(text) for text in group.feedback)
    lines.append(_student_links(group.members, anchors))
    return "".join(lines) + "</li>"


def _group_answer(group: AnswerGroup, context: ReadContext | None) -> str:
    """The answer as grader read it beside its most common spelling, and the other spellings."""
    answer = read_received(group.answer, context)
    math = answer_math(answer) if answer is not None else None
    written = f"<code>{escape(shown_text(group.answer))}</code>"
    others = group.spellings[1:]
    if others:
        spelled = ", ".join(f"<code>{escape(s)}</code>" for s in others[:5])
        written += f"<div class='muted'>also written {spelled}{' …' if len(others) > 5 else ''}</div>"
    if math is None:
        return f"<div class='answer single'><div><span class='caption'>written</span>{written}</div></div>"
    return (
        f"<div class='answer'><div><span class='caption'>grader read</span>{math}</div>"
        f"<div><span class='caption'>written</span>{written}</div></div>"
    )


def _feedback_given(text: str) -> str:
    if "\n" in text:
        return f"<div>Feedback given:<pre>{escape(text)}</pre></div>"
    return f"<div>Feedback given: {escape(text)}</div>"


def _student_links(members: Sequence[int], anchors: _Anchors) -> str:
    shown = anchors.of(members)
    first, rest = shown[:SHOWN_STUDENTS], shown[SHOWN_STUDENTS:]
    out = "<div class='students'>Students: " + " ".join(first)
    if rest:
        out += f"<details><summary>and {len(rest)} more</summary>{' '.join(rest)}</details>"
    return out + "</div>"


def _student_link(name: str, link: str | None) -> str:
    if not link:
        return f"<span>{escape(name)}</span>"
    return f"<a href='{escape(link)}'>{escape(name)}</a>"


# ---- students ------------------------------------------------------------------------------


def _students(rows: Sequence[str]) -> list[str]:
    """The section, in pieces (a row each)."""
    heads = "".join(f"<th scope='col' class='num'>{s.value}</th>" for s in Status)
    head = (
        "<section aria-labelledby='students'><h2 id='students'>Students</h2>"
        "<p class='muted'>Click a column header to sort.</p>"
        "<div class='table-scroll'><table class='data sortable' id='students-table'><thead><tr>"
        "<th scope='col'>student</th>"
        f"<th scope='col' class='num'>score</th><th scope='col' class='num'>%</th>{heads}"
        "<th scope='col'>notes</th></tr></thead><tbody>"
    )
    return [head, *rows, "</tbody></table></div></section>"]


def student_row(row: SheetRow, link: str | None) -> str:
    """A student's row of the students' table."""
    score, max_score = row.score, row.max_score  # each a sum over the parts
    share = score / max_score if max_score else 0.0
    counts = row.counts()
    cells = "".join(
        f"<td class='num' data-value='{counts[s.value]}'>{counts[s.value] or ''}</td>" for s in Status
    )
    notes = row.error or "; ".join(row.warnings)
    return (
        f"<tr><td>{_student_link(row.student, link)}</td>"
        f"<td class='num' data-value='{score}'>{points_text(score, max_score)}</td>"
        f"<td class='num' data-value='{share:.4f}'>{share:.0%}</td>{cells}<td>{escape(notes)}</td></tr>"
    )


class HtmlReporter:
    """``--format html``: a student's page, or the class dashboard for a batch."""

    def render(self, report: Report, *, show_expected: bool = False, color: bool = False) -> str:
        return render_student_page(report, show_expected)

    def render_batch(
        self, reports: Sequence[Report], *, show_expected: bool = False, color: bool = False
    ) -> str:
        return render_dashboard(reports)
