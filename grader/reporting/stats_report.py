"""``grader stats reports/``: the dashboard's per-part statistics in a terminal, or as JSON.

Reads the ``<student>.json`` reports of a folder (and of its subfolders, as
``grade -p problems/ --out`` writes one per problem set), groups them by
assignment, and renders :func:`grader.reporting.stats.batch_stats` as rich
tables or JSON.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.core.report import Report, points_value
from grader.core.verdict import Status
from grader.reporting.answers import shown_text
from grader.reporting.escape import json_text
from grader.reporting.stats import BatchStats, parameter_stats, report_from_dict

SHOWN_ANSWER_CHARS = 60
STATUS_COLUMNS = tuple((status.value, status) for status in Status)


@dataclass
class ReportFolder:
    """The reports found under a folder, by assignment, and the files that were not reports."""

    by_assignment: dict[str, list[Report]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def load_reports(folder: Path) -> ReportFolder:
    """Every ``*.json`` report in ``folder`` and its direct subfolders, by assignment."""
    found = ReportFolder()
    for path in sorted([*folder.glob("*.json"), *folder.glob("*/*.json")]):
        try:
            report = report_from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, ValueError, AttributeError) as exc:
            found.skipped.append(f"{path}: {exc}")
            continue
        report.folder = str(path.with_suffix(""))
        found.by_assignment.setdefault(report.assignment, []).append(report)
    return found


def stats_json(batches: Sequence[tuple[BatchStats, Sequence[Report]]]) -> str:
    data = [_with_parameters(stats.to_dict(reports), reports) for stats, reports in batches]
    return json_text(json.dumps(data, indent=2, ensure_ascii=False)) + "\n"


def _with_parameters(data: dict[str, Any], reports: Sequence[Report]) -> dict[str, Any]:
    by_value = parameter_stats(reports)
    if by_value:
        data["by_parameter"] = [row.to_dict() for row in by_value]
    return data


def parameters_table(reports: Sequence[Report]) -> Table | None:
    """Each part's mean score per parameter value (a set with parameters), or None."""
    rows = parameter_stats(reports)
    if not rows:
        return None
    table = Table(title="per parameter value")
    for column in ("part", "parameter", "value", "students", "mean"):
        table.add_column(column)
    for row in rows:
        table.add_row(row.part, row.parameter, row.value, str(row.students), f"{row.mean_fraction:.0%}")
    return table


def stats_tables(
    stats: BatchStats,
    *,
    color: bool = False,
    width: int = 120,
    students: Sequence[str] = (),
    reports: Sequence[Report] = (),
) -> str:
    """The per-part table and the most common wrong answers, as text."""
    console = Console(
        file=io.StringIO(), force_terminal=color, no_color=not color, width=width, highlight=False
    )
    mean = f"{stats.mean_score:.1f}/{points_value(stats.max_score)}"
    console.print(
        f"{stats.assignment}: {stats.students} students, mean {mean}, median {stats.median_score:g}"
    )
    console.print(_parts_table(stats))
    wrong = _wrong_table(stats)
    if wrong.row_count:
        console.print(wrong)
    by_value = parameters_table(reports)
    if by_value is not None:
        console.print(by_value)
    for line in progress_lines(stats, students):
        console.print(line)
    review = [p.id for p in stats.parts if p.needs_review]
    if review:
        console.print(f"review: many verdicts are errors in {', '.join(review)}", style="bold red")
    text: str = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def progress_lines(stats: BatchStats, students: Sequence[str] = ()) -> list[str]:
    """Hand grading per part (graded, waiting, to review) and the unreadable answers."""
    lines = []
    hand = [p for p in stats.parts if p.hand_graded or p.to_grade]
    if hand:
        graded = sum(p.hand_graded for p in hand)
        waiting = sum(p.to_grade for p in hand)
        lines.append(f"hand grading: {graded} graded, {waiting} to grade")
        for part in hand:
            line = f"  {part.id}: {part.hand_graded} graded, {part.to_grade} to grade"
            if part.hand_to_review:
                line += f", {part.hand_to_review} to review"
            lines.append(line)
    for part in stats.parts:
        if part.unreadable:
            names = ", ".join(students[i] if i < len(students) else str(i) for i in part.unreadable)
            lines.append(f"unreadable answers to {part.id} ({len(part.unreadable)}): {names}")
    return lines


def _parts_table(stats: BatchStats) -> Table:
    title = "per part: mean score, and the share of students with each verdict"
    table = Table(box=box.SIMPLE_HEAVY, title=title, title_justify="left")
    table.add_column("part", no_wrap=True)
    table.add_column("mean", justify="right", no_wrap=True)
    for name, _ in STATUS_COLUMNS:
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("flag", no_wrap=True)
    for part in stats.parts:
        mean = "by hand" if part.by_hand else f"{part.mean_score:.2f}"
        table.add_row(
            part.id,
            f"{mean}/{points_value(part.max_score)}",
            *[f"{part.share(status):.0%}" for _, status in STATUS_COLUMNS],
            Text("⚠", style="bold red") if part.needs_review else "",
        )
    return table


def _wrong_table(stats: BatchStats) -> Table:
    title = "most common wrong answers (unreadable ones first: a right answer may hide there)"
    table = Table(box=box.SIMPLE_HEAVY, title=title, title_justify="left")
    table.add_column("part", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column("students", justify="right")
    table.add_column("answer", overflow="fold")
    table.add_column("feedback", overflow="fold")
    for part in stats.parts:
        for group in part.wrong_answers:
            answer = shown_text(group.answer).replace("\n", "; ")
            if len(answer) > SHOWN_ANSWER_CHARS:
                answer = answer[: SHOWN_ANSWER_CHARS - 1] + "…"
            feedback = group.feedback[0] if group.feedback else ""
            table.add_row(part.id, "/".join(group.statuses), str(group.count), answer, feedback)
    return table
