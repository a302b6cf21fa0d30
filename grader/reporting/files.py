"""A student's files from their report: ``<stem>.json`` (the contract's report), ``<stem>.md``
and ``<stem>.html`` (their pages), and an SVG plot of each wrong network, by file name."""

from __future__ import annotations

from typing import Any

from grader.core.files import safe_filename
from grader.core.report import Report
from grader.core.verdict import Status
from grader.reporting.html import render_student_page
from grader.reporting.plots import render_plot_svg
from grader.reporting.reporters import REPORTERS
from grader.reporting.withhold import shown_report
from grader.spec import ProblemSet

PLOTTED = (Status.INCORRECT, Status.PARTIAL)


def render_artefacts(report: Report, stem: str, show_expected: bool, spec: ProblemSet) -> dict[str, bytes]:
    """``<stem>.json``, ``<stem>.md`` and a plot per wrong network, by file name."""
    artefacts = _plots(report, stem)
    artefacts.update(report_files(report, stem, show_expected, spec))
    return artefacts


def report_files(
    report: Report, stem: str, show_expected: bool, spec: ProblemSet | None = None
) -> dict[str, bytes]:
    """``<stem>.json`` (the contract's report), ``<stem>.md`` and ``<stem>.html`` (the student's pages)."""
    # What the student may see, worked out once for the three files; each renderer withholds
    # again, which changes nothing in a report so shown (withhold.shown_report is idempotent).
    shown = shown_report(report, show_expected)
    files = {
        f"{stem}{suffix}": REPORTERS[fmt].render(shown, show_expected=show_expected).encode("utf-8")
        for fmt, suffix in (("json", ".json"), ("markdown", ".md"))
    }
    files[f"{stem}.html"] = render_student_page(shown, show_expected, spec=spec).encode("utf-8")
    return files


def _plots(report: Report, stem: str) -> dict[str, bytes]:
    """An SVG of each wrong network, drawn from the plot data its verdict carries."""
    artefacts: dict[str, bytes] = {}
    for result in report.parts:
        if result.status not in PLOTTED or result.plot is None:
            continue
        svg = _svg_of(result.plot)
        if svg:
            name = f"{stem}-{safe_filename(result.id)}.svg"
            artefacts[name] = svg.encode("utf-8")
            result.plot_file = name  # the Markdown and HTML pages link the file
    return artefacts


def _svg_of(plot: Any) -> str:
    return render_plot_svg(plot)  # drawn once for its data (kept by plots.render_plot_svg)
