"""Grading a folder of submission folders, writing each report as soon as it is done.

Finished reports are written atomically one by one and ``grades.csv`` is
rewritten (atomically) after each student, so a crash mid-batch loses at most
the submission being graded.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Iterator
from pathlib import Path

from grader.core.files import safe_filename, write_atomic
from grader.core.report import Report
from grader.core.submission import Submission
from grader.core.verdict import Status
from grader.engine import grade
from grader.loading import is_submission_folder, load_submission
from grader.reporting.reporters import REPORTERS
from grader.spec import ProblemSet
from grader.types.network import NetworkPart

PLOTTED = (Status.INCORRECT, Status.PARTIAL)


def submission_folders(root: Path) -> list[Path]:
    """Subfolders of ``root`` that are submissions, in name order (hidden ones skipped)."""
    return sorted(
        (child for child in root.iterdir() if child.is_dir() and not child.name.startswith((".", "_"))),
        key=lambda p: p.name,
    )


def grade_folder(spec: ProblemSet, folder: Path) -> Report:
    return grade(spec, load_submission(folder))


def _failed_report(spec: ProblemSet, folder: Path, reason: str) -> Report:
    submission = Submission(student=folder.name, folder=str(folder), load_error=reason)
    return grade(spec, submission)


def grade_all(spec: ProblemSet, folders: list[Path], jobs: int = 1) -> Iterator[Report]:
    """Reports in folder order with ``jobs == 1``; in completion order otherwise."""
    if jobs <= 1:
        for folder in folders:
            yield grade_folder(spec, folder)
        return
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(grade_folder, spec, folder): folder for folder in folders}
        for future in concurrent.futures.as_completed(futures):
            folder = futures[future]
            try:
                yield future.result()
            except Exception as exc:  # a worker died: that student gets an error row
                yield _failed_report(spec, folder, f"grading crashed ({type(exc).__name__}: {exc})")


class ReportWriter:
    """Writes ``<student>.json``, ``<student>.md`` and ``grades.csv`` under ``out``;
    with the problem set, also a plot of each wrong network for the feedback page."""

    def __init__(self, out: Path, show_expected: bool = False, spec: ProblemSet | None = None):
        self.out = out
        self.show_expected = show_expected
        self.spec = spec
        self.reports: list[Report] = []
        self._names: dict[str, str] = {}

    def add(self, report: Report) -> None:
        self.reports.append(report)
        name = self._file_stem(report)
        if self.spec is not None:
            self._plot_networks(report, name)
        for fmt, suffix in (("json", ".json"), ("markdown", ".md")):
            text = REPORTERS[fmt].render(report, show_expected=self.show_expected)
            write_atomic(self.out / f"{name}{suffix}", text)
        self.write_gradebook()

    def _plot_networks(self, report: Report, name: str) -> None:
        """``<student>-<part>.png`` for every network part that is not right."""
        assert self.spec is not None
        wanted = {r.id: r for r in report.parts if r.type == "network" and r.status in PLOTTED}
        if not wanted or not report.folder:
            return
        from grader.reporting.plots import plot_network

        answers = load_submission(report.folder).answers
        for part_id, _, part in self.spec.iter_parts():
            if part_id in wanted and isinstance(part, NetworkPart):
                filename = f"{name}-{safe_filename(part_id)}.png"
                if plot_network(part, answers.get(part_id), self.out / filename) is not None:
                    wanted[part_id].details["plot"] = filename

    def write_gradebook(self) -> None:
        ordered = sorted(self.reports, key=lambda r: (r.student, r.folder or ""))
        write_atomic(self.out / "grades.csv", REPORTERS["csv"].render_batch(ordered))

    def _file_stem(self, report: Report) -> str:
        key = report.folder or report.student
        if key not in self._names:
            stem = safe_filename(report.student)
            taken = set(self._names.values())
            if stem in taken:  # two folders claim the same student id
                stem = safe_filename(f"{report.student}-{Path(key).name}")
            self._names[key] = stem
        return self._names[key]


def run_batch(
    spec: ProblemSet,
    folders: list[Path],
    out: Path | None,
    jobs: int = 1,
    show_expected: bool = False,
    on_report: Callable[[Report], None] | None = None,
) -> list[Report]:
    writer = ReportWriter(out, show_expected, spec) if out else None
    reports: list[Report] = []
    for report in grade_all(spec, folders, jobs):
        reports.append(report)
        if writer:
            writer.add(report)
        if on_report:
            on_report(report)
    order = {str(folder): i for i, folder in enumerate(folders)}
    reports.sort(key=lambda r: order.get(r.folder or "", len(order)))
    return reports


def has_submissions(root: Path) -> bool:
    return is_submission_folder(root) or bool(submission_folders(root))
