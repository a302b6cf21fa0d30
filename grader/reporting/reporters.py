"""Reporters: one protocol, one registry that also feeds ``--format``.

Each reporter renders one student's report (``render``) and a batch
(``render_batch``) as text. The CLI decides where the text goes.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Protocol

from grader.core.report import DECIDED, PartResult, Report, shown_points
from grader.core.summary import RowMaker, SheetRow
from grader.core.verdict import Status
from grader.mathlang.wording import counted
from grader.reporting.escape import csv_cell, json_text, markdown_text, terminal_text
from grader.reporting.exports import fenced
from grader.reporting.formats import FORMATS, reporter_of
from grader.reporting.handmarks import hand_flags, hand_markdown
from grader.reporting.withhold import shown_report

if TYPE_CHECKING:  # rich draws the terminal tables: imported when one is drawn
    from rich.console import Console
    from rich.text import Text

STATUS_STYLE = {
    Status.CORRECT: "green",
    Status.PARTIAL: "yellow",
    Status.INCORRECT: "red",
    Status.MISSING: "dim",
    Status.INVALID: "magenta",
    Status.MANUAL: "cyan",
    Status.ERROR: "bold red",
}


class Reporter(Protocol):
    def render(self, report: Report, *, show_expected: bool = False, color: bool = False) -> str: ...

    def render_batch(
        self, reports: Sequence[Report], *, show_expected: bool = False, color: bool = False
    ) -> str: ...


@functools.lru_cache(maxsize=4096)
def _points(value: float) -> str:
    """7.0 -> ``7``, 2/3 -> ``0.67`` (remembered: a gradebook shows the same few points thousands
    of times)."""
    return shown_points(value)


def _console(color: bool, width: int = 120) -> Console:
    from rich.console import Console

    return Console(
        file=io.StringIO(),
        force_terminal=color,
        no_color=not color,
        width=width,
        color_system="standard" if color else None,
        highlight=False,
    )


class TableReporter:
    """A terminal table, one row per part (or per student for a batch)."""

    def render(self, report: Report, *, show_expected: bool = False, color: bool = False) -> str:
        from rich import box
        from rich.table import Table
        from rich.text import Text

        report = shown_report(report, show_expected)  # a CI job's log: the student reads it
        table = Table(title=_title(report), box=box.SIMPLE_HEAVY, title_justify="left")
        table.add_column("part", no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("score", justify="right", no_wrap=True)
        if show_expected:
            table.add_column("expected", overflow="fold")
        table.add_column("feedback", overflow="fold")
        for part in report.parts:
            row: list[str | Text] = [
                part.id,
                Text(part.status.value, style=STATUS_STYLE[part.status]),
                f"{_points(part.score)}/{_points(part.max_score)}",
            ]
            if show_expected:
                row.append(_shown(part.expected or ""))
            row.append(_shown(part.feedback))
            table.add_row(*row)
        console = _console(color)
        console.print(table)
        for line in _footer(report):
            console.print(_shown(line), highlight=False)
        return _trimmed(console)

    def render_batch(
        self, reports: Sequence[Report], *, show_expected: bool = False, color: bool = False
    ) -> str:
        if not reports:
            return "no submissions graded\n"
        from rich import box
        from rich.table import Table

        table = Table(
            title=f"{reports[0].assignment}: {counted(len(reports), 'submission')}",
            box=box.SIMPLE_HEAVY,
            title_justify="left",
        )
        table.add_column("student", no_wrap=True)
        table.add_column("score", justify="right", no_wrap=True)
        for status in Status:
            table.add_column(status.value, justify="right", style=STATUS_STYLE[status])
        table.add_column("notes", overflow="fold")
        for report in reports:
            counts = report.counts()
            notes = report.error or ("; ".join(report.warnings) if report.warnings else "")
            table.add_row(
                _shown(report.student),
                f"{_points(report.score)}/{_points(report.max_score)}",
                *[str(counts[s.value] or "") for s in Status],
                _shown(notes),
            )
        console = _console(color)
        console.print(table)
        return _trimmed(console)


def _shown(text: str) -> Text:
    """Student text in a terminal table: no escape sequence, and never read as rich markup."""
    from rich.text import Text

    return Text(terminal_text(text))


def _trimmed(console: Console) -> str:
    """The rendered text without the padding rich adds to fill the console width."""
    text: str = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def _title(report: Report) -> str:
    student = terminal_text(report.student, keep_newlines=False)
    return f"{report.assignment} · {student}: {_points(report.score)}/{_points(report.max_score)}"


def _footer(report: Report) -> list[str]:
    lines = []
    if report.pending:
        lines.append(f"{_points(report.pending)} points await grading by a TA")
    if report.error:
        lines.append(f"error: {report.error}")
    lines.extend(f"warning: {w}" for w in report.warnings)
    lines.extend(f"note: {note}" for note in report.notes)
    return lines


class JsonReporter:
    """The contract's JSON report (section 7); a batch is a list of reports."""

    def render(self, report: Report, *, show_expected: bool = False, color: bool = False) -> str:
        data = shown_report(report, show_expected).to_dict(show_expected)
        return json_text(json.dumps(data, indent=2, ensure_ascii=False)) + "\n"

    def render_batch(
        self, reports: Sequence[Report], *, show_expected: bool = False, color: bool = False
    ) -> str:
        data = [shown_report(r, show_expected).to_dict(show_expected) for r in reports]
        return json_text(json.dumps(data, indent=2, ensure_ascii=False)) + "\n"


class MarkdownReporter:
    """A feedback page a student can read."""

    def render(self, report: Report, *, show_expected: bool = False, color: bool = False) -> str:
        report = shown_report(report, show_expected)
        out = [f"# {report.assignment}: feedback for {_inline(report.student)}", ""]
        out.append(f"**Score: {_points(report.score)} / {_points(report.max_score)}**")
        if report.pending:
            out.append(f"({_points(report.pending)} points await grading by a TA)")
        out.append("")
        if report.error:
            out += [f"> **Your answers file could not be read:** {_inline(report.error)}", ""]
        for warning in report.warnings:
            out += [f"> Warning: {_inline(warning)}", ""]
        out += [f"Note: {_inline(note)}\n" for note in report.notes]
        out += ["| part | status | score |", "|---|---|---|"]
        for part in report.parts:
            out.append(
                f"| {part.id} | {part.status.value} | {_points(part.score)}/{_points(part.max_score)} |"
            )
        out.append("")
        for part in report.parts:
            if part.status is Status.CORRECT and not part.feedback:
                continue
            out += _markdown_part(part, show_expected)
        return "\n".join(out).rstrip() + "\n"

    def render_batch(
        self, reports: Sequence[Report], *, show_expected: bool = False, color: bool = False
    ) -> str:
        return "\n---\n\n".join(self.render(r, show_expected=show_expected) for r in reports)


def _markdown_part(part: PartResult, show_expected: bool) -> list[str]:
    out = [f"## {part.id} — {part.status.value} ({_points(part.score)}/{_points(part.max_score)})", ""]
    if part.prompt:
        out += [f"*{part.prompt.strip()}*", ""]
    if part.received:
        out += ["You wrote:", "", fenced(part.received), ""]
    if part.hand is not None:
        out += hand_markdown(part.hand, _inline)
    elif part.feedback:
        out += [fenced(part.feedback) if "\n" in part.feedback else _inline(part.feedback), ""]
    if part.decision is not None and part.status in DECIDED:
        out += [f"Decided by: {_inline(part.decision.describe())}", ""]
    if show_expected and part.expected:
        out += ["Expected:", "", fenced(part.expected), ""]
    if part.note:
        out += [f"Note: {part.note}", ""]
    if part.plot_file:
        out += [f"![your network against the target]({part.plot_file})", ""]
    return out


def _inline(text: str) -> str:
    """Student text on a Markdown line: no tag, link or table cell opens (see escape)."""
    return markdown_text(text)


class CsvReporter:
    """A gradebook: one row per student, one column per part, a points-possible row."""

    def render(self, report: Report, *, show_expected: bool = False, color: bool = False) -> str:
        return self.render_batch([report])

    def render_batch(
        self, reports: Sequence[Report], *, show_expected: bool = False, color: bool = False
    ) -> str:
        if not reports:
            return ""
        maker = RowMaker()
        rows = [maker.row(report) for report in reports]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        flags = name_clashes([(r.student, r.folder or "") for r in rows])
        counted = any(report.hand_in is not None for report in reports)  # the service's gradebook
        varied = any(report.variant is not None for report in reports)  # a parameterised set
        header, possible = gradebook_header(rows[0]), gradebook_points(rows[0])
        writer.writerow(header + (HAND_IN_COLUMNS if counted else []) + (["variant"] if varied else []))
        writer.writerow(
            possible + ([""] * len(HAND_IN_COLUMNS) if counted else []) + ([""] if varied else [])
        )
        for row, report in zip(rows, reports, strict=True):
            cells = gradebook_cells(row, rows[0].ids, flags.get(row.folder or "", ""))
            cells += hand_in_cells(report) if counted else []
            writer.writerow(cells + ([report.variant or ""] if varied else []))
        return buffer.getvalue()


# The service's gradebook: which version counts, its lateness and the penalty ("total" is after it).
HAND_IN_COLUMNS = ["version", "handed in (UTC)", "late by (hours)", "points given", "late penalty"]


def hand_in_cells(report: Report) -> list[str]:
    mark = report.hand_in
    if mark is None:
        return [""] * len(HAND_IN_COLUMNS)
    late = _points(round(mark.late_seconds / 3600, 2)) if mark.late_seconds > 0 else ""
    penalty = _points(mark.penalty) if mark.penalty else ""
    return [str(mark.version), mark.handed_in, late, _points(report.points_given), penalty]


def gradebook_header(first: SheetRow) -> list[str]:
    """The gradebook's header: the parts of its first row."""
    return ["student", "folder", *first.ids, "total", "pending", "error", "flags"]


def gradebook_points(first: SheetRow) -> list[str]:
    """The gradebook's points-possible row, from its first row."""
    return [
        "points possible",
        "",
        *[_points(m) for m in first.max_scores],
        _points(first.max_score),
        "",
        "",
        "",
    ]


def gradebook_cells(row: SheetRow, part_ids: Sequence[str], clash: str) -> list[str]:
    """A student's row of the gradebook: the points of each of ``part_ids`` (empty for a part a
    TA grades), the total, the pending points, the error, and the flags (``clash``: a name
    another folder gives too)."""
    if row.ids == part_ids:
        pairs: Iterable[tuple[Status, float]] = zip(row.statuses, row.scores, strict=True)
    else:
        by_id = dict(zip(row.ids, zip(row.statuses, row.scores, strict=True), strict=True))
        pairs = (by_id[part_id] for part_id in part_ids)
    cells = ["" if status is Status.MANUAL else _points(score) for status, score in pairs]
    flag = "; ".join(f for f in (clash, hand_flags(row)) if f)
    pending = _points(row.pending) if row.pending else ""
    student, folder, error = csv_cell(row.student), csv_cell(row.folder or ""), csv_cell(row.error or "")
    return [student, folder, *cells, _points(row.score), pending, error, csv_cell(flag)]


def name_clashes(students: Sequence[tuple[str, str]]) -> dict[str, str]:
    """For (student name, folder) pairs: a flag for each folder whose student name another
    folder also gives (a student is their folder; the name is only shown)."""
    given = Counter(map(itemgetter(0), students))  # in C: a class's names are nearly all distinct
    if len(given) == len(students):
        return {}
    folders_by_name: dict[str, list[str]] = {}
    for name, folder in students:
        if given[name] > 1:
            folders_by_name.setdefault(name, []).append(folder)
    flags = {}
    for name, folders in folders_by_name.items():
        for folder in folders:
            others = ", ".join(f for f in sorted(folders) if f != folder)
            flags[folder] = f"name {name!r} also given by folder {others}"
    return flags


REPORTERS: dict[str, Reporter] = {name: reporter_of(name) for name in FORMATS}  # defined above: built last
