"""The ``grader`` command: a thin shell over the pure core (contract section 6).

Exit codes: 0 graded, 1 graded but below ``--fail-under``, 2 bad usage or a
bad problem file (with file and line).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from grader import __version__
from grader.batch import has_submissions, run_batch, submission_folders
from grader.core.report import Report
from grader.engine import grade
from grader.loading import ProblemFileError, is_submission_folder, load_problem_set, load_submission
from grader.reporting.reporters import REPORTERS
from grader.reporting.template import render_template
from grader.selftest import validate_problem_set
from grader.spec import ProblemSet

EXIT_BELOW_THRESHOLD = 1
EXIT_USAGE = 2


def _load_spec(path: Path) -> ProblemSet:
    try:
        return load_problem_set(path)
    except ProblemFileError as exc:
        click.echo(exc.render(), err=True)
        sys.exit(EXIT_USAGE)


def _color(ctx_color: bool | None) -> bool:
    return sys.stdout.isatty() if ctx_color is None else ctx_color


class Threshold(click.ParamType):
    """``--fail-under 6`` (points) or ``--fail-under 60%`` (of the maximum)."""

    name = "points-or-percent"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[float, bool]:
        text = str(value).strip()
        is_percent = text.endswith("%")
        try:
            number = float(text.rstrip("%"))
        except ValueError:
            self.fail(f"{value!r} is not a number of points or a percentage such as 60%", param, ctx)
        if number < 0:
            self.fail("must not be negative", param, ctx)
        return number, is_percent


def _below(report: Report, threshold: tuple[float, bool] | None) -> bool:
    if threshold is None:
        return False
    number, is_percent = threshold
    limit = number / 100 * report.max_score if is_percent else number
    return report.score < limit - 1e-9


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="grader")
def main() -> None:
    """Grade deep-learning-theory homework against YAML problem sets."""


@main.command()
@click.argument(
    "problem_files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def validate(problem_files: tuple[Path, ...]) -> None:
    """Check problem files and self-test every reference answer and listed mistake."""
    failed = False
    for path in problem_files:
        try:
            spec = load_problem_set(path)
        except ProblemFileError as exc:
            click.echo(exc.render(), err=True)
            failed = True
            continue
        problems = validate_problem_set(spec)
        for problem in problems:
            click.echo(f"{path}: {problem}", err=True)
        if problems:
            failed = True
        else:
            count = len(spec.iter_parts())
            click.echo(
                f"{path}: ok ({count} parts, {spec.max_score:g} points; "
                "every reference answer grades correct)"
            )
    if failed:
        sys.exit(EXIT_USAGE)


@main.command(name="grade")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "-p",
    "--problems",
    "problem_file",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="The problem set (YAML), or a folder of them: then PATH holds one folder of "
    "submissions per problem set, named like its file.",
)
@click.option(
    "-f", "--format", "fmt", type=click.Choice(sorted(REPORTERS)), default="table", show_default=True
)
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write <student>.json, <student>.md and grades.csv here.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Grade this many submissions at once (batch only).",
)
@click.option(
    "--fail-under",
    type=Threshold(),
    default=None,
    help="Exit 1 if a score is below this many points, or this percentage (60%).",
)
@click.option("--show-expected", is_flag=True, help="Include the reference answers in the output.")
@click.option("--color/--no-color", default=None, help="Colour the table (default: when a terminal).")
def grade_command(
    path: Path,
    problem_file: Path,
    fmt: str,
    out: Path | None,
    jobs: int,
    fail_under: tuple[float, bool] | None,
    show_expected: bool,
    color: bool | None,
) -> None:
    """Grade one submission folder, or every submission folder under PATH."""
    options = GradeOptions(fmt, out, jobs, fail_under, show_expected, _color(color))
    if problem_file.is_dir():
        sys.exit(_grade_course(path, problem_file, options))
    sys.exit(_grade_assignment(path, _load_spec(problem_file), options))


@dataclass(frozen=True)
class GradeOptions:
    fmt: str
    out: Path | None
    jobs: int
    fail_under: tuple[float, bool] | None
    show_expected: bool
    color: bool


def _grade_assignment(path: Path, spec: ProblemSet, options: GradeOptions) -> int:
    reporter = REPORTERS[options.fmt]
    out, show_expected, color, fail_under = (
        options.out,
        options.show_expected,
        options.color,
        options.fail_under,
    )
    if is_submission_folder(path):
        report = grade(spec, load_submission(path))
        if out:
            from grader.batch import ReportWriter

            ReportWriter(out, show_expected, spec).add(report)
        click.echo(reporter.render(report, show_expected=show_expected, color=color), nl=False)
        return EXIT_BELOW_THRESHOLD if _below(report, fail_under) else 0
    if not has_submissions(path):
        click.echo(
            f"error: {path} holds no submissions (no answers.yaml/answers.json in it or in its subfolders)",
            err=True,
        )
        return EXIT_USAGE
    folders = submission_folders(path)
    reports = _run_with_progress(spec, folders, out, options.jobs, show_expected)
    click.echo(reporter.render_batch(reports, show_expected=show_expected, color=color), nl=False)
    if out:
        click.echo(f"wrote {len(reports)} reports and grades.csv to {out}", err=True)
    return EXIT_BELOW_THRESHOLD if any(_below(r, fail_under) for r in reports) else 0


def _grade_course(path: Path, problem_dir: Path, options: GradeOptions) -> int:
    """Every ``problems/<name>.yaml`` against ``PATH/<name>/`` (or ``PATH/<assignment id>/``)."""
    if options.fmt in ("json", "csv") and not options.out:
        click.echo(f"error: --format {options.fmt} with a folder of problem sets needs --out", err=True)
        return EXIT_USAGE
    problem_files = sorted(problem_dir.glob("*.yaml")) + sorted(problem_dir.glob("*.yml"))
    if not problem_files:
        click.echo(f"error: {problem_dir} holds no problem sets (*.yaml)", err=True)
        return EXIT_USAGE
    codes = []
    for problem_file in problem_files:
        try:
            spec = load_problem_set(problem_file)
        except ProblemFileError as exc:
            click.echo(exc.render(), err=True)
            codes.append(EXIT_USAGE)
            continue
        folder = next((f for f in (path / problem_file.stem, path / spec.assignment) if f.is_dir()), None)
        if folder is None:
            click.echo(
                f"{problem_file.name}: no submissions (looked for {path / problem_file.stem})", err=True
            )
            continue
        out = options.out / problem_file.stem if options.out else None
        codes.append(_grade_assignment(folder, spec, replace(options, out=out)))
    return max(codes, default=0)


def _run_with_progress(
    spec: ProblemSet, folders: list[Path], out: Path | None, jobs: int, show_expected: bool
) -> list[Report]:
    console = Console(stderr=True)
    if not console.is_terminal:
        return run_batch(spec, folders, out, jobs, show_expected)
    columns = (TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("grading", total=len(folders))
        return run_batch(spec, folders, out, jobs, show_expected, on_report=lambda _: progress.advance(task))


@main.command()
@click.option(
    "-p",
    "--problems",
    "problem_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the template here instead of printing it.",
)
def template(problem_file: Path, output: Path | None) -> None:
    """Print a blank answers.yaml for students, with each part's prompt as a comment."""
    spec = _load_spec(problem_file)
    text = render_template(spec)
    if output:
        from grader.core.files import write_atomic

        write_atomic(output, text)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


if __name__ == "__main__":  # pragma: no cover
    main()
