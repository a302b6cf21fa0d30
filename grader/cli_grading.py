"""The grading commands: ``grader grade`` (one submission, a class or a course), ``grader check``
(a student's answers as grader reads them), ``grader stats`` (of the reports) and ``grader cache``
(the verdict store)."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from grader.batch.reading import SubmissionTask, read_within_limits
from grader.batch.studentfiles import STORE_FILE
from grader.cli_options import (
    _UNSAFE_RUN_CODE,
    _VARIANT_KEY,
    EXIT_BELOW_THRESHOLD,
    EXIT_EXECUTOR,
    EXIT_INTERRUPTED,
    EXIT_STORAGE,
    EXIT_USAGE,
    _load_spec,
    _student_spec,
    _variant_key,
    storage_failure,
)
from grader.cli_service import remote_check_options, run_remote_check
from grader.core.timelimit import CheckLimits
from grader.core.verdict import Status
from grader.engine import grade
from grader.loading import (
    SUBMISSION_FORMS,
    ProblemFileError,
    is_problem_file,
    is_submission_folder,
    load_problem_set,
    no_submission_message,
)
from grader.mathlang.wording import counted
from grader.reading import reading_limits
from grader.reporting.escape import terminal_output, workflow_text
from grader.reporting.formats import FORMAT_NAMES

if TYPE_CHECKING:
    from grader.batch import BatchOptions, BatchResult
    from grader.core.report import Report
    from grader.core.summary import SheetRow
    from grader.hand import HandBook
    from grader.reporting.handreview import HandOutcome
    from grader.reporting.reporters import Reporter
    from grader.spec import ProblemSet

# The machinery of one command (the batch driver and its executors, the verdict store, the
# reporters, the statistics, the self-test) is imported by the function that runs it, so the
# other commands start without it: `grader check` loads what reading a problem set, a
# submission and printing the check need (tests/test_cli.py keeps it so).

FORMATS = FORMAT_NAMES  # the names of --format (grader.reporting.formats)

MAX_LISTED = 20  # students listed by name in a message about a batch


FC = TypeVar("FC", bound=Callable[..., Any])  # a click command function


def _color_option(what: str) -> Callable[[FC], FC]:
    """``--color/--no-color``: colour ``what`` (default: when stdout is a terminal)."""
    return click.option(
        "--color/--no-color", default=None, help=f"Colour the {what} (default: when a terminal)."
    )


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


def _below(report: Report | SheetRow, threshold: tuple[float, bool] | None) -> bool:
    """Below ``--fail-under``, counting auto-graded points only: points that wait for a TA
    are out of both the score and the maximum."""
    if threshold is None:
        return False
    return report.score < _limit(report, threshold) - 1e-9


def _limit(report: Report | SheetRow, threshold: tuple[float, bool]) -> float:
    number, is_percent = threshold
    return number / 100 * (report.max_score - report.pending) if is_percent else number


def _below_message(report: Report | SheetRow, threshold: tuple[float, bool]) -> str:
    """Why a report is below ``--fail-under``: the score, the threshold, what was counted."""
    number, is_percent = threshold
    counted = report.max_score - report.pending
    share = f" ({100 * report.score / counted:.1f}%)" if counted else ""
    wanted = f"{number:g}% ({_limit(report, threshold):g} points)" if is_percent else f"{number:g} points"
    text = (
        f"{workflow_text(report.student)}: below --fail-under: {report.score:g} of {counted:g} "
        f"auto-graded points{share}, under {wanted}"
    )
    if report.pending:
        text += f"; {report.pending:g} hand-graded points are pending and counted on neither side"
    return text


def _threshold_code(reports: Sequence[Report | SheetRow], threshold: tuple[float, bool] | None) -> int:
    if threshold is None:
        return 0
    below = [r for r in reports if _below(r, threshold)]
    for report in below[:MAX_LISTED]:
        click.echo(_below_message(report, threshold), err=True)
    if len(below) > MAX_LISTED:
        click.echo(f"... and {len(below) - MAX_LISTED} more below --fail-under", err=True)
    return EXIT_BELOW_THRESHOLD if below else 0


@click.command(name="grade")
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
    "-f",
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="How results are printed [default: table; for a class with --out, nothing: the files are "
    "the results, and --format table prints the table too].",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write <student>.json, <student>.md, grades.csv and changes.csv here.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, 256),
    default=1,
    show_default=True,
    help="Grade this many submissions at once (batch only).",
)
@click.option(
    "--executor",
    envvar="GRADER_EXECUTOR",
    default="local",
    show_default=True,
    help="Where a batch is graded: local (a process pool), dask (a Dask cluster on this "
    "machine) or dask://HOST:PORT (an existing Dask scheduler). Env: GRADER_EXECUTOR.",
)
@click.option(
    "--cache",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"The verdict store (default: {STORE_FILE} in --out).",
)
@click.option("--no-cache", is_flag=True, help="Regrade everything; neither read nor write the store.")
@click.option("--diff", "show_diff", is_flag=True, help="List the students whose score changed.")
@click.option("-q", "--quiet", is_flag=True, help="No progress and no summary line.")
@click.option(
    "--fail-under",
    type=Threshold(),
    default=None,
    help="Exit 1 if a score is below this many points, or this percentage (60%).",
)
@click.option(
    "--roster",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A roster CSV with a 'folder' column, matching students to LMS identities "
    "(--format canvas or moodle).",
)
@click.option(
    "--canvas-id",
    help="The Canvas assignment's id (the number in its address): the column becomes "
    "'<assignment> (<id>)', so Canvas fills that assignment instead of creating one.",
)
@click.option(
    "--show-expected",
    is_flag=True,
    help="For TAs: include the reference answers, and feedback that quotes them, in the output "
    "(without it every format withholds them, as students read it).",
)
@click.option(
    "--hand",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A hand-grades file (YAML): TAs' grades of proofs and overrides, counted in every "
    "report; grader pins each new grade to the answer it was given for (docs/formats.md).",
)
@_VARIANT_KEY
@_color_option("table")
@_UNSAFE_RUN_CODE
def grade_command(path: Path, problem_file: Path, **settings: Any) -> None:
    """Grade one submission folder, or every submission folder under PATH."""
    settings["color"] = _color(settings["color"])
    settings["format_asked"] = settings["fmt"] is not None
    settings["fmt"] = settings["fmt"] or "table"
    options = GradeOptions(**settings)
    if problem_file.is_dir():
        if options.hand:
            click.echo("error: --hand is for one problem set; grade each with its own file", err=True)
            sys.exit(EXIT_USAGE)
        sys.exit(_grade_course(path, problem_file, options))
    sys.exit(_grade_assignment(path, _load_spec(problem_file), options))


@dataclass(frozen=True)
class GradeOptions:
    fmt: str
    out: Path | None
    jobs: int
    executor: str
    cache: Path | None
    no_cache: bool
    show_diff: bool
    quiet: bool
    fail_under: tuple[float, bool] | None
    roster: Path | None
    show_expected: bool
    color: bool
    canvas_id: str | None = None
    hand: Path | None = None
    hand_grades: HandBook | None = None  # the --hand file, read against the problem set
    variant_key: str | None = None  # --variant-key
    format_asked: bool = True  # --format was given

    def prints_class_table(self) -> bool:
        """The terminal table of a class: never with -q; with --out only when asked for (a
        table of thousands of rows costs seconds and the files hold it all)."""
        if self.fmt != "table":
            return True
        return not self.quiet and (self.out is None or self.format_asked)

    def batch(self) -> BatchOptions:
        from grader.batch import BatchOptions

        return BatchOptions(
            out=self.out,
            jobs=self.jobs,
            show_expected=self.show_expected,
            cache=self.cache,
            use_cache=not self.no_cache,
            on_wait=lambda message: click.echo(message, err=True),
            hand=self.hand_grades.by_folder() if self.hand_grades else {},
            variant_key=(self.variant_key or "").encode("utf-8"),
        )


def _reporter(options: GradeOptions) -> Reporter | None:
    """The reporter of ``--format``, given the ``--roster`` when there is one; None after
    saying why it cannot be used."""
    from grader.reporting.lms import RosterError, RosterReporter, load_roster
    from grader.reporting.reporters import REPORTERS

    reporter = REPORTERS[options.fmt]
    if options.canvas_id is not None:
        if options.fmt != "canvas":
            click.echo(f"error: --canvas-id is for --format canvas, not --format {options.fmt}", err=True)
            return None
        reporter = reporter.with_assignment_id(options.canvas_id)  # type: ignore[attr-defined]
    if options.roster is None:
        return reporter
    if not isinstance(reporter, RosterReporter):
        click.echo(f"error: --roster is for the LMS formats, not --format {options.fmt}", err=True)
        return None
    try:
        return reporter.with_roster(load_roster(options.roster))
    except RosterError as exc:
        click.echo(f"error: {exc}", err=True)
        return None


def _grade_assignment(path: Path, spec: ProblemSet, options: GradeOptions) -> int:
    from grader.batch import submission_folders
    from grader.batch.plan import skipped_folders
    from grader.hand import load_hand_grades

    reporter = _reporter(options)
    if reporter is None:
        return EXIT_USAGE
    if spec.parameters and not options.variant_key:
        folders = [path] if is_submission_folder(path) else submission_folders(path) if path.is_dir() else []
        _variant_key(spec, options.variant_key, [folder.resolve().name for folder in folders])
    if options.hand is not None:
        try:
            options = replace(options, hand_grades=load_hand_grades(options.hand, spec))
        except ProblemFileError as exc:
            click.echo(exc.render(), err=True)
            return EXIT_USAGE
    if is_submission_folder(path):
        return _grade_one(path, spec, reporter, options)
    folders = submission_folders(path) if path.is_dir() else []
    skipped = skipped_folders(path) if path.is_dir() else []
    if skipped and not options.quiet:
        names = workflow_text(", ".join(folder.name for folder in skipped[:MAX_LISTED]))
        more = f" and {len(skipped) - MAX_LISTED} more" if len(skipped) > MAX_LISTED else ""
        click.echo(
            f"note: skipped {len(skipped)} folders whose names start with '.' or '_': {names}{more}", err=True
        )
    if not folders:
        click.echo(
            f"error: {path} holds no submissions, in it or in its subfolders: {no_submission_message(path)}",
            err=True,
        )
        return EXIT_USAGE
    result = _run_class(spec, path, folders, options)
    if result is None:
        return EXIT_USAGE
    if options.prints_class_table():
        rendered = reporter.render_batch(
            result.reports, show_expected=options.show_expected, color=options.color
        )
        click.echo(rendered, nl=False)
    _class_notices(reporter, options, result)
    if options.show_diff:
        click.echo(_diff_text(result), nl=False)
    _summary(path, spec, result, options)
    if _graded_nothing(result.rows):
        click.echo(_nothing_graded_message(path, spec, result.rows), err=True)
        return EXIT_USAGE
    return _threshold_code(result.rows, options.fail_under)


def _grade_one(path: Path, spec: ProblemSet, reporter: Reporter, options: GradeOptions) -> int:
    import sqlite3

    from grader.batch import grade_one_in_process

    try:
        result = grade_one_in_process(spec, path, options.batch())
    except (OSError, sqlite3.Error) as exc:
        click.echo(storage_failure(exc, options.out, options.batch().store_path()), err=True)
        return EXIT_STORAGE
    _untrusted_store_warning(result)
    report = result.reports[0]
    click.echo(reporter.render(report, show_expected=options.show_expected, color=options.color), nl=False)
    _export_notices(reporter, [report])
    _hand_notices(options, [report], whole_class=False)
    problem = _unusable(report)
    if problem:
        click.echo(problem, err=True)
        return EXIT_USAGE
    return _threshold_code([report], options.fail_under)


def _class_notices(reporter: Reporter, options: GradeOptions, result: BatchResult) -> None:
    """The export's and the hand grades' notices: only they read the whole reports (from the
    verdict store), and only when there is something to say of them."""
    from grader.reporting.lms import RosterReporter

    if isinstance(reporter, RosterReporter):
        _export_notices(reporter, result.reports)
    if options.hand_grades is not None:
        _hand_notices(options, result.reports, whole_class=True)


def _export_notices(reporter: Reporter, reports: list[Report]) -> None:
    """What a TA must know before importing a gradebook export (who the roster missed)."""
    from grader.reporting.lms import RosterReporter

    if isinstance(reporter, RosterReporter):
        for notice in reporter.notices(reports):
            click.echo(f"note: {workflow_text(notice)}", err=True)


def _hand_notices(options: GradeOptions, reports: list[Report], *, whole_class: bool) -> None:
    """Pin the new hand grades; list those to review and those naming no folder graded."""
    if options.hand_grades is None:
        return
    from grader.reporting.handreview import finish_hand_grades

    outcome = finish_hand_grades(options.hand_grades, reports, whole_class=whole_class, out=options.out)
    for line in hand_notice_lines(outcome, options.hand_grades.path):
        click.echo(line, err=True)


def hand_notice_lines(outcome: HandOutcome, path: str) -> list[str]:
    from grader.reporting.handreview import HAND_REVIEW

    lines = []
    if outcome.pinned:
        lines.append(f"pinned {outcome.pinned} hand grades in {path} to the answers they were given for")
    if outcome.pin_skipped:
        lines.append(f"warning: {outcome.pin_skipped}")
    if outcome.review:
        lines.append(
            f"{len(outcome.review)} hand grades to review (kept and counted; {HAND_REVIEW} in --out):"
        )
        lines += [
            f"  {item.student} ({item.folder}) {item.part}: {item.why}"
            for item in outcome.review[:MAX_LISTED]
        ]
    if outcome.unmatched:
        names = ", ".join(outcome.unmatched[:MAX_LISTED])
        lines.append(f"warning: {path} grades folders that were not graded now: {names}")
    return lines


def _unusable(report: Report) -> str | None:
    """Why one submission's report grades nothing: its answers file could not be read, or
    no answer matches a part (the wrong problem set?)."""
    if report.error:
        return (
            f"error: {workflow_text(report.folder or '')}: the answers file could not be read "
            f"({workflow_text(report.error)}); "
            "every part is invalid"
        )
    answered = any(p.status is not Status.MISSING for p in report.parts)
    if not answered and any("matches no part" in w for w in report.warnings):
        return (
            f"error: {workflow_text(report.folder or '')}: no answer matches a part of {report.assignment} "
            "(is -p the right problem set?)"
        )
    return None


def _run_class(
    spec: ProblemSet, path: Path, folders: Sequence[Path], options: GradeOptions
) -> BatchResult | None:
    import sqlite3

    from grader.batch import run_batch
    from grader.batch.cluster import executor_for
    from grader.batch.executors import ExecutorLost
    from grader.reporting.progress import batch_progress

    try:
        batch = replace(options.batch(), executor=executor_for(options.executor, options.jobs))
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        return None
    try:
        with batch_progress(options.quiet) as on_progress, _stopped_by_sigterm():
            result = run_batch(spec, path, folders, batch, on_progress)
        sharing = getattr(batch.executor, "sharing", "")
        if sharing and not options.quiet:
            click.echo(f"verdict sharing across the cluster's machines: {sharing}", err=True)
        route = getattr(batch.executor, "route", "")
        if route and not options.quiet:
            click.echo(f"results from the cluster's workers: {route}", err=True)
        return result
    except ExecutorLost as exc:
        click.echo(
            f"error: {exc}; every report finished so far is written, and running the same "
            "command again goes on from there",
            err=True,
        )
        sys.exit(EXIT_EXECUTOR)
    except (OSError, sqlite3.Error) as exc:
        click.echo(storage_failure(exc, options.out, batch.store_path()), err=True)
        sys.exit(EXIT_STORAGE)
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, Terminated) else signal.SIGINT
        click.echo(
            f"stopped ({signal.Signals(signum).name}): every submission finished so far is kept, "
            "and running the same command again grades the rest",
            err=True,
        )
        sys.exit(EXIT_INTERRUPTED + signum)


class Terminated(KeyboardInterrupt):
    """SIGTERM (a CI job cancelled, ``timeout``, ``kill``), stopping a run as Ctrl-C does."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _stopped_by_sigterm() -> Iterator[None]:
    """While a class is graded, SIGTERM stops it as Ctrl-C does: the workers are stopped,
    every finished submission is written and stored, and the command says so (by default
    SIGTERM ended the command at once, silently, its workers left to notice)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may handle signals
        return

    def stop(signum: int, _frame: object) -> None:
        raise Terminated(signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _untrusted_store_warning(result: BatchResult) -> None:
    """Said even with --quiet: someone may have edited the store."""
    if result.untrusted:
        click.echo(
            f"warning: {result.untrusted} entries of the verdict store failed their integrity check "
            "(edited, or sealed with another key); they were not used: what they held was regraded",
            err=True,
        )


def _summary(path: Path, spec: ProblemSet, result: BatchResult, options: GradeOptions) -> None:
    from grader.batch import CHANGES, GRADEBOOK

    _untrusted_store_warning(result)
    if options.quiet:
        return
    stored = len(result.rows) - result.regraded
    # Sheets the problem file's edit left as they were: none of their verdicts moved.
    kept = f" ({result.kept_after_edit} of them after the edit)" if result.kept_after_edit else ""
    line = (
        f"{spec.assignment}: {counted(len(result.rows), 'student')}, {result.with_errors} with errors "
        f"({result.regraded} graded, {stored} unchanged from the store{kept}, {result.seconds:.1f} s)"
    )
    if options.out:
        line += f"; reports, {GRADEBOOK} and {CHANGES} in {options.out}"
    click.echo(line, err=True)
    for name, folders in sorted(result.clashes.items()):
        click.echo(
            f"warning: {len(folders)} folders give the student name {workflow_text(repr(name))}: "
            f"{workflow_text(', '.join(folders))} "
            "(each is its own student; flagged in grades.csv)",
            err=True,
        )
    if result.changes and not options.show_diff:
        click.echo(f"{len(result.changes)} scores changed since the last run (--diff lists them)", err=True)
    if result.removed_temporaries:
        click.echo(f"removed {len(result.removed_temporaries)} files left by an interrupted run", err=True)


def _diff_text(result: BatchResult) -> str:
    if not result.changes:
        return "no score changed since the last run\n"
    lines = [f"{len(result.changes)} scores changed:"]
    lines += [f"  {workflow_text(change.describe())}" for change in result.changes]
    return "\n".join(lines) + "\n"


def _graded_nothing(rows: list[SheetRow]) -> bool:
    """No submission was read, or none answered any part (the wrong problem set?)."""
    return all(row.answers_nothing for row in rows)


def _nothing_graded_message(path: Path, spec: ProblemSet, reports: list[SheetRow]) -> str:
    unreadable = sum(1 for r in reports if r.error)
    unanswered = len(reports) - unreadable
    return (
        f"error: graded nothing in {path}: {len(reports)} submission folders, {unreadable} without "
        f"a readable answers file or write-up ({SUBMISSION_FORMS}), {unanswered} answering no part of "
        f"{spec.assignment} (is -p the right problem set?)"
    )


def _grade_course(path: Path, problem_dir: Path, options: GradeOptions) -> int:
    """Every ``problems/<name>.yaml`` against ``PATH/<name>/`` (or ``PATH/<assignment id>/``)."""
    if options.fmt in ("json", "csv") and not options.out:
        click.echo(f"error: --format {options.fmt} with a folder of problem sets needs --out", err=True)
        return EXIT_USAGE
    problem_files = [
        path
        for path in sorted(problem_dir.glob("*.yaml")) + sorted(problem_dir.glob("*.yml"))
        if is_problem_file(path)
    ]
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
        cache = options.cache.with_suffix(f".{problem_file.stem}.sqlite3") if options.cache else None
        codes.append(_grade_assignment(folder, spec, replace(options, out=out, cache=cache)))
    if not codes:
        message = f"error: graded nothing: no folder of {path} is named like a problem set in {problem_dir}"
        click.echo(message, err=True)
        return EXIT_USAGE
    return max(codes)


@click.group()
def cache() -> None:
    """The verdict store that lets a re-run regrade only what changed."""


@cache.command(name="clear")
@click.argument("out", type=click.Path(path_type=Path))
def cache_clear(out: Path) -> None:
    """Forget every stored verdict: OUT is the --out folder of a batch, or a --cache file."""
    from grader.batch.store import remove_store

    target = out / STORE_FILE if out.is_dir() else out
    if remove_store(target):
        click.echo(f"removed the verdict store {target}", err=True)
    else:
        click.echo(f"no verdict store at {target}", err=True)


@cache.command(name="info")
@click.argument("out", type=click.Path(exists=True, path_type=Path))
def cache_info(out: Path) -> None:
    """How many verdicts and submissions the store in OUT (or the --cache file OUT) holds."""
    from grader.batch.store import VerdictStore

    target = out / STORE_FILE if out.is_dir() else out
    if not target.is_file():
        click.echo(f"no verdict store at {target}", err=True)
        sys.exit(EXIT_USAGE)
    store = VerdictStore(target)
    verdicts, submissions = store.counts()
    store.close()
    click.echo(f"{target}: {verdicts} verdicts, {submissions} submissions, {target.stat().st_size:,} bytes")


@click.command()
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "-p",
    "--problems",
    "problem_file",
    envvar="GRADER_PROBLEMS",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The problem set your course ships (a path). Env: GRADER_PROBLEMS.",
)
@remote_check_options
@_VARIANT_KEY
@click.option("--student", help="Whose variant to check against (default: the folder's name).")
@_color_option("output")
def check(
    path: Path,
    problem_file: Path | None,
    color: bool | None,
    variant_key: str | None,
    student: str | None,
    **remote: Any,
) -> None:
    """Show how grader reads the answers in PATH (default: here) before you hand them in.

    For every part: your answer written back in plain math and LaTeX, what cannot be
    read (with a caret), what is unanswered, answer keys that match no part. Verdicts
    only for parts the TA made visible. Exit 1 when something cannot be read.
    With --server and --token, the course's grading service checks them (no problem file)."""
    if remote["server"]:
        run_remote_check(path, **remote)
    if problem_file is None:
        raise click.UsageError(
            "give the problem set (-p FILE), or a grading service (--server URL --token T)"
        )
    spec = _load_spec(problem_file)
    if not is_submission_folder(path):
        click.echo(f"error: no answers in {path}: {no_submission_message(path)}", err=True)
        sys.exit(EXIT_USAGE)
    task = SubmissionTask(key=str(path), folder=str(path), stem="", digest="")
    submission = read_within_limits(task, CheckLimits(), *reading_limits(spec))  # as a batch reads it
    spec = _student_spec(spec, student or path.resolve().name, variant_key)
    verdicts = grade(spec, submission)
    from grader.reporting.check import check_result, render_check  # once checked: sooner at work

    result = check_result(spec, submission, verdicts)
    click.echo(render_check(result, color=_color(color)), nl=False)
    sys.exit(1 if result.unreadable else 0)


@click.command(name="stats")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "-p",
    "--problems",
    "problem_file",
    type=click.Path(exists=True, path_type=Path),
    help="The problem set (or a folder of them): answers are then read with each part's names.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON, for scripts.")
@_color_option("tables")
def stats_command(folder: Path, problem_file: Path | None, as_json: bool, color: bool | None) -> None:
    """Per-part statistics of the <student>.json reports in FOLDER (and its subfolders):
    mean score, share of each verdict, the most common wrong answers grouped by meaning."""
    from grader.reporting.stats import batch_stats
    from grader.reporting.stats_report import load_reports, stats_json, stats_tables

    found = load_reports(folder)
    for skipped in found.skipped:
        click.echo(f"skipped {skipped}", err=True)
    if not found.by_assignment:
        click.echo(f"error: {folder} holds no grader reports (<student>.json)", err=True)
        sys.exit(EXIT_USAGE)
    parts = _parts_by_assignment(problem_file) if problem_file else {}
    batches = [
        (batch_stats(reports, parts.get(assignment)), reports)
        for assignment, reports in sorted(found.by_assignment.items())
    ]
    if as_json:
        click.echo(stats_json(batches), nl=False)
        return
    for numbers, reports in batches:
        names = [r.student for r in reports]
        tables = stats_tables(numbers, color=_color(color), students=names, reports=reports)
        click.echo(terminal_output(tables, _color(color)), nl=False)


def _parts_by_assignment(problem_file: Path) -> dict[str, dict[str, Any]]:
    files = (
        [p for p in sorted(problem_file.glob("*.y*ml")) if is_problem_file(p)]
        if problem_file.is_dir()
        else [problem_file]
    )
    specs = [_load_spec(path) for path in files]
    return {spec.assignment: {pid: part for pid, _, part in spec.iter_parts()} for spec in specs}
