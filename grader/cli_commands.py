"""The ``grader`` command: a thin shell over the pure core (contract section 6).

Exit codes: 0 graded, 1 graded but below ``--fail-under``, 2 bad usage or a
bad problem file (with file and line), 3 the Dask cluster could not grade (no
worker, a worker running another grader, the scheduler lost; resumable).
"""

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

from grader import __version__
from grader.batch.reading import CheckLimits, SubmissionTask, read_within_limits, reading_limits
from grader.batch.studentfiles import STORE_FILE
from grader.core.files import write_atomic
from grader.core.verdict import Status
from grader.engine import grade, is_auto_graded
from grader.loading import (
    SUBMISSION_FORMS,
    ProblemFileError,
    is_problem_file,
    is_submission_folder,
    load_problem_set,
    no_submission_message,
)
from grader.mathlang.wording import counted
from grader.reporting.escape import terminal_output, workflow_text
from grader.reporting.formats import FORMAT_NAMES
from grader.reporting.schema import (
    ANSWERS_SCHEMA_BESIDE_TEMPLATE,
    ANSWERS_SCHEMA_FILE,
    PROBLEM_SET_SCHEMA_FILE,
    REPORT_SCHEMA_FILE,
    answers_schema,
    problem_set_schema,
    report_schema,
)
from grader.reporting.schema import dump as schema_text
from grader.reporting.template import render_template
from grader.reporting.writeup_template import WRITEUP_FORMATS, render_writeup_template
from grader.service.commands import (
    extend_command,
    remote_check_options,
    run_remote_check,
    serve_command,
    submit_command,
    users_group,
)

if TYPE_CHECKING:
    from grader.batch import BatchOptions, BatchResult
    from grader.batch.hand import HandOutcome
    from grader.core.report import Report
    from grader.core.summary import SheetRow
    from grader.hand import HandBook
    from grader.reporting.reporters import Reporter
    from grader.spec import ProblemSet

# The machinery of one command (the batch driver and its executors, the verdict store, the
# reporters, the statistics, the self-test) is imported by the function that runs it, so the
# other commands start without it: `grader check` loads what reading a problem set, a
# submission and printing the check need (tests/test_cli.py keeps it so).

FORMATS = FORMAT_NAMES  # the names of --format (grader.reporting.formats)

EXIT_BELOW_THRESHOLD = 1
EXIT_USAGE = 2
EXIT_STORAGE = 3  # --out or the verdict store cannot be written or read (disk full, read-only, damaged)
EXIT_EXECUTOR = 4  # the cluster failed: no worker, a refused worker, the scheduler lost
EXIT_INTERRUPTED = 128  # + the signal's number, as a shell reports a command a signal ended
MAX_LISTED = 20  # students listed by name in a message about a batch


# -p as the commands that read one problem file take it
_PROBLEM_FILE = click.option(
    "-p",
    "--problems",
    "problem_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)


FC = TypeVar("FC", bound=Callable[..., Any])  # a click command function


def _color_option(what: str) -> Callable[[FC], FC]:
    """``--color/--no-color``: colour ``what`` (default: when stdout is a terminal)."""
    return click.option(
        "--color/--no-color", default=None, help=f"Colour the {what} (default: when a terminal)."
    )


def _allow_unsafe(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        from grader.types.code.sandbox import allow_unsafe_run_code

        allow_unsafe_run_code()


# Code parts run only in the sandbox; where there is none, this lets a TA run them anyway.
_UNSAFE_RUN_CODE = click.option(
    "--unsafe-run-code",
    is_flag=True,
    expose_value=False,
    callback=_allow_unsafe,
    help="Run code answers without a sandbox where bubblewrap is missing (trusted code only).",
)


# The key each student's variant of a parameterised set is drawn with (grader.variants).
_VARIANT_KEY = click.option(
    "--variant-key",
    envvar="GRADER_VARIANT_KEY",
    help="The course's secret each student's variant of a problem set with parameters is "
    "drawn with (keep it from students). Env: GRADER_VARIANT_KEY.",
)


def _variant_key(spec: ProblemSet, key: str | None) -> bytes:
    """The variant key as bytes; a set with parameters and no key is a usage error."""
    if spec.parameters and not key:
        click.echo(
            f"error: {spec.assignment} gives each student a variant: give the course's key "
            "(--variant-key or GRADER_VARIANT_KEY)",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    return (key or "").encode("utf-8")


def _student_spec(spec: ProblemSet, student: str, key: str | None) -> ProblemSet:
    """The student's variant of the set (the set itself without parameters)."""
    if not spec.parameters:
        return spec
    from grader.variants import VariantError

    try:
        return spec.for_student(student, _variant_key(spec, key))
    except VariantError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)


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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="grader")
def main() -> None:
    """Grade deep-learning-theory homework against YAML problem sets."""


@main.command()
@click.argument(
    "problem_files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@_UNSAFE_RUN_CODE
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
        sound, untested = _self_test(path, spec) if not spec.parameters else _certify(path, spec)
        failed = failed or not sound
        if sound:
            tested = "every reference answer grades correct"
            if untested:
                tested += f" but those of the {counted(untested, 'part')} not self-tested here"
            count = len(spec.iter_parts())
            click.echo(f"{path}: ok ({counted(count, 'part')}, {counted(spec.max_score, 'point')}; {tested})")
        for part_id, _, part in spec.iter_parts():
            if part.ta_note:
                click.echo(f"{path}: {part_id}: TA note (never shown to students): {part.ta_note.strip()}")
    if failed:
        sys.exit(EXIT_USAGE)


MAX_FAILED_SHOWN = 10  # failing variants listed by grader validate; the rest are counted


def _certify(path: Path, spec: ProblemSet) -> tuple[bool, int]:
    """Self-test every variant of a set with parameters (grader.certify), printing the
    variants that fail and why, what was decided symbolically, and a constraint to add."""
    from grader.certify import certify
    from grader.selftest import untested_parts

    certificate = certify(spec)
    for fact in certificate.symbolic:
        click.echo(f"{path}: {fact}")
    for failure in certificate.failed[:MAX_FAILED_SHOWN]:
        for reason in failure.reasons:
            click.echo(f"{path}: variant {failure.variant.id}: {reason}", err=True)
    hidden = len(certificate.failed) - MAX_FAILED_SHOWN
    if hidden > 0:
        click.echo(f"{path}: and {counted(hidden, 'more failing variant')}", err=True)
    if certificate.failed:
        click.echo(
            f"{path}: {len(certificate.failed)} of {counted(certificate.checked, 'variant')} fail",
            err=True,
        )
        if certificate.suggestion:
            click.echo(
                f"{path}: suggestion: add  where: [{certificate.suggestion!r}]  to rule them out", err=True
            )
    else:
        which = "every variant" if certificate.everyone else "every extreme and a drawn sample"
        click.echo(f"{path}: {counted(certificate.checked, 'variant')} certified ({which})")
    return not certificate.failed, len(untested_parts(spec))


def _self_test(path: Path, spec: ProblemSet) -> tuple[bool, int]:
    """Self-test the problem set, printing what is wrong with it and, once a reason, the parts
    this machine cannot self-test (PyTorch or the sandbox missing: no fault of the file); (no
    problem found, how many parts were not self-tested)."""
    from grader.selftest import untested_parts, validate_problem_set

    problems = validate_problem_set(spec)
    for problem in problems:
        click.echo(f"{path}: {problem}", err=True)
    untested = untested_parts(spec)
    by_reason: dict[str, list[str]] = {}
    for part_id, reason in untested.items():
        by_reason.setdefault(reason, []).append(part_id)
    for reason, part_ids in by_reason.items():
        click.echo(
            f"{path}: warning: {counted(len(part_ids), 'part')} not self-tested on this machine "
            f"({', '.join(part_ids)}): {reason}",
            err=True,
        )
    return not problems, len(untested)


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
@click.option("--show-expected", is_flag=True, help="Include the reference answers in the output.")
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
    _variant_key(spec, options.variant_key)
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
    from grader.batch.storage import storage_failure

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
    from grader.batch.hand import finish_hand_grades

    outcome = finish_hand_grades(options.hand_grades, reports, whole_class=whole_class, out=options.out)
    for line in hand_notice_lines(outcome, options.hand_grades.path):
        click.echo(line, err=True)


def hand_notice_lines(outcome: HandOutcome, path: str) -> list[str]:
    from grader.batch.hand import HAND_REVIEW

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
    from grader.batch.progress import batch_progress
    from grader.batch.storage import storage_failure

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


main.add_command(serve_command)
main.add_command(submit_command)
main.add_command(users_group)
main.add_command(extend_command)


@main.group(name="lti")
def lti_group() -> None:
    """The course's LTI 1.3 tool (docs/lms.md)."""


@lti_group.command(name="rotate-key")
@click.argument("course_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--grace-days",
    default=7.0,
    show_default=True,
    type=click.FloatRange(0),
    help="How long the previous keys stay published (0: drop them now, e.g. after a leak).",
)
def lti_rotate_key(course_dir: Path, grace_days: float) -> None:
    """Make a new signing key for the LTI tool of COURSE_DIR and print its kid.

    A running server signs with it at once and publishes the previous keys at
    /lti/jwks.json until their grace ends, so what they signed still verifies."""
    from grader.service.lti.keys import rotate  # the LTI package: known to the app and here only
    from grader.service.settings import Settings

    if not (course_dir / "problems").is_dir():
        click.echo(f"error: {course_dir} has no problems/ folder: is it the course folder?", err=True)
        sys.exit(2)
    ring = rotate(Settings(course_dir=course_dir).data_dir, grace_days)
    for key in ring.keys[1:]:
        click.echo(f"previous key {key.kid} published until {key.expires:%Y-%m-%d %H:%M UTC}", err=True)
    click.echo(ring.current.kid)


@main.group()
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


@main.command()
@_PROBLEM_FILE
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the template here instead of printing it.",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["yaml", *WRITEUP_FORMATS]),
    default="yaml",
    show_default=True,
    help="A blank answers.yaml, or a write-up skeleton (main.tex, a Markdown file, a notebook) "
    "with every part's prompt and an empty marked answer.",
)
@click.option("--student", help="The template of this student's variant (a set with parameters).")
@_VARIANT_KEY
def template(
    problem_file: Path, output: Path | None, fmt: str, student: str | None, variant_key: str | None
) -> None:
    """Print a blank answers.yaml (or a write-up skeleton) for students, with each part's prompt."""
    spec = _load_spec(problem_file)
    if student is not None:
        spec = _student_spec(spec, student, variant_key)
    text = render_template(spec) if fmt == "yaml" else render_writeup_template(spec, fmt)
    if output:
        write_atomic(output, text)
        click.echo(f"wrote {output}", err=True)
        if fmt == "yaml":  # the file its first line names, for editor completion of part ids
            schema_file = output.parent / ANSWERS_SCHEMA_BESIDE_TEMPLATE
            write_atomic(schema_file, schema_text(answers_schema(spec)))
            click.echo(f"wrote {schema_file}", err=True)
    else:
        click.echo(text, nl=False)


@main.command()
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


@main.command()
@click.option("--answers", is_flag=True, help="The schema of answers files instead of problem files.")
@click.option("--hand", "hand_grades", is_flag=True, help="The schema of hand-grades files (--hand).")
@click.option(
    "-p",
    "--problems",
    "problem_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="With --answers: the answers schema of this problem set (its part ids, completed by editors).",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write it here.")
@click.option(
    "--write",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    help=f"Write {PROBLEM_SET_SCHEMA_FILE} and {ANSWERS_SCHEMA_FILE} into this folder "
    "(how schemas/ is made).",
)
def schema(
    answers: bool, hand_grades: bool, problem_file: Path | None, output: Path | None, folder: Path | None
) -> None:
    """Print the JSON Schema of problem files (or of answers files, with --answers)."""
    from grader.hand.book import HAND_GRADES_SCHEMA_FILE, hand_grades_schema

    if folder is not None:
        write_atomic(folder / PROBLEM_SET_SCHEMA_FILE, schema_text(problem_set_schema()))
        write_atomic(folder / ANSWERS_SCHEMA_FILE, schema_text(answers_schema()))
        write_atomic(folder / HAND_GRADES_SCHEMA_FILE, schema_text(hand_grades_schema()))
        write_atomic(folder / REPORT_SCHEMA_FILE, schema_text(report_schema()))
        written = (PROBLEM_SET_SCHEMA_FILE, ANSWERS_SCHEMA_FILE, HAND_GRADES_SCHEMA_FILE, REPORT_SCHEMA_FILE)
        click.echo("wrote " + ", ".join(str(folder / name) for name in written), err=True)
        return
    if hand_grades:
        click.echo(schema_text(hand_grades_schema()), nl=False)
        return
    if problem_file is not None and not answers:
        click.echo("error: -p is for --answers (the problem-set schema is the same for every set)", err=True)
        sys.exit(EXIT_USAGE)
    spec = _load_spec(problem_file) if problem_file else None
    text = schema_text(answers_schema(spec) if answers else problem_set_schema())
    if output:
        write_atomic(output, text)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@main.command(name="variants")
@_PROBLEM_FILE
@click.option(
    "--students",
    "roster",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A CSV of students: its 'student', 'folder' or 'id' column (else its first) holds their ids.",
)
@_VARIANT_KEY
def variants_command(problem_file: Path, roster: Path, variant_key: str | None) -> None:
    """List each student's variant of a problem set with parameters, as CSV (for TAs only)."""
    import csv
    import io

    from grader.variants import VariantError, roster_students

    spec = _load_spec(problem_file)
    if not spec.parameters:
        click.echo(f"error: {problem_file} has no parameters: every student gets the same sheet", err=True)
        sys.exit(EXIT_USAGE)
    key = _variant_key(spec, variant_key)
    try:
        students = roster_students(roster.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        click.echo(f"error: {roster}: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    block = spec.parameter_block()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "variant", "pinned", *block.names()])
    for student in students:
        try:
            variant = block.draw(key, spec.assignment, student)
        except VariantError as exc:
            click.echo(f"error: {student}: {exc}", err=True)
            sys.exit(EXIT_USAGE)
        pinned = "yes" if student in block.pinned else ""
        writer.writerow([student, variant.id, pinned, *(variant.text(n) for n in block.names())])
    click.echo(terminal_output(out.getvalue()), nl=False)


@main.command(name="gradescope-bundle")
@_PROBLEM_FILE
@click.option(
    "-o",
    "--output",
    default="autograder.zip",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
)
@_VARIANT_KEY
def gradescope_bundle(problem_file: Path, output: Path, variant_key: str | None) -> None:
    """Build the autograder zip of a Gradescope programming assignment for one problem set."""
    from grader.reporting.gradescope import build_bundle

    spec = _load_spec(problem_file)
    key = _variant_key(spec, variant_key) if spec.parameters else b""
    if not _self_test(problem_file, spec)[0]:
        sys.exit(EXIT_USAGE)
    names = build_bundle(problem_file, output, variant_key=key.decode("utf-8"))
    auto = sum(p.points for _, _, p in spec.iter_parts() if is_auto_graded(p))
    click.echo(
        f"wrote {output} ({len(names)} files). Upload it as the autograder of a Gradescope programming "
        f"assignment worth {counted(auto, 'point')} (hand-graded parts are separate questions).",
        err=True,
    )


@main.command(name="stats")
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


from grader.cli_hand import hand as hand_commands  # noqa: E402  (a command group of its own module)

main.add_command(hand_commands)


if __name__ == "__main__":  # pragma: no cover
    main()
