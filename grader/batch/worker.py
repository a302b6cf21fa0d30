"""What a worker does with a chunk of submissions: read, grade, render every file.

A worker process receives the problem set once (:func:`install`, the pool's
initializer, or a Dask worker's first task) and then chunks of
:class:`SubmissionTask`. For each submission it reads the answers once, grades
every part (reusing the verdicts the batch found in its store for the same part
definition and the same answer), and renders the student's files: the JSON
report, the Markdown page and a plot of each wrong network. A worker that sees the
run's output folder writes them there itself (see grader.batch.studentfiles) and
sends back their records; otherwise it sends their bytes and the parent writes them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from grader import clock
from grader.batch.blobs import StoredVerdicts, blob_digest, packed, records_text
from grader.batch.limits import Limits, Watchdog, limits_in_force, limits_text, memory_limit, verdict_version
from grader.batch.output import sheet_line
from grader.batch.plan import digested
from grader.batch.reading import (  # where a batch's tasks and their reading were defined first
    CheckLimits,
    SubmissionTask,
    VerdictKey,
    read_within_limits,
    reading_limits,
)
from grader.batch.studentfiles import reachable_output, write_student_files
from grader.core.deferred import with_imports
from grader.core.digests import answer_digest
from grader.core.drawing import drawing_with, fingerprint
from grader.core.files import safe_filename
from grader.core.parts import PartBase
from grader.core.report import PartResult, Report
from grader.core.summary import RowMaker, SheetRow, summary_row
from grader.core.verdict import Status, Verdict
from grader.engine import check_part_once, error_is_settled, grade, time_budget
from grader.hand import HandGrade, apply_hand_grades
from grader.reporting.dashboard import student_row
from grader.reporting.html import page_inputs, render_student_page
from grader.reporting.plots import render_plot_svg
from grader.reporting.reporters import REPORTERS
from grader.reporting.stats import meaning_of
from grader.spec import ProblemSet
from grader.variants import VariantError

PLOTTED = (Status.INCORRECT, Status.PARTIAL)
# Verdicts a worker keeps for the students after, those used last (a class gives the same
# answers many times; the others are in the store): a few KiB each, all term in a server's
# workers, so few enough to be kept within minutes of its start.
MEMO_SIZE = 1_000
MEANINGS_SIZE = 5_000
# sympy keeps the last 1,000 results of each of its cached functions: in a server's workers they
# filled for 20 minutes (about 25 MiB). Cleared after this many sheets, they hold a few MiB.
SYMPY_CLEAR_SHEETS = 200  # wrong answers' meaning keys (short texts) a class run's worker keeps


@dataclass(frozen=True)
class StoreBlobs:
    """What the verdict store keeps of a graded submission, as JSON written by the worker that
    graded it: the driver seals and inserts them as they are."""

    report: str
    verdicts: dict[VerdictKey, str]  # the fresh verdicts (``Graded.fresh`` is then empty)
    row: str = ""  # the summary row (``Graded.row``)
    # What the driver would otherwise compute on its one thread for each sheet: the report's
    # digest (grader.batch.blobs.blob_digest), ``Graded.answers`` and, when the worker wrote
    # the student's files, ``Graded.written`` as the store keeps them (records_text).
    digest: str = ""
    answers: str = ""
    files: str = ""


@dataclass
class Graded:
    """One graded submission: its report, its files, and what the verdict store may keep."""

    task: SubmissionTask
    report: Report | None  # None when the setup asks for rows only: the store's blob holds it
    artefacts: dict[str, bytes]
    answers: dict[str, str] = field(default_factory=dict)  # part address -> answer digest
    fresh: dict[VerdictKey, Verdict] = field(default_factory=dict)  # verdicts worth storing
    failed: bool = False  # the worker died or was stopped: nothing of it is stored
    # Every verdict is one a re-run would reproduce: the report may be served as it is.
    settled: bool = True
    made_from: str = ""  # report_digest of the report the files show
    kept_files: bool = False  # the files on disk show this very report: nothing to write
    # The worker wrote the files itself (``artefacts`` is then empty): each one's record.
    written: dict[str, str] | None = None
    blobs: StoreBlobs | None = None  # the store's blobs, when the worker made them
    row: SheetRow | None = None  # what grades.csv and the dashboard read of the report
    # The row's grades.csv line (grader.batch.output.sheet_line) and its row of the dashboard's
    # students' table (grader.reporting.dashboard.student_row), made by the worker in a class run.
    lines: tuple[str, str] | None = None

    def summary(self) -> SheetRow:
        """The report's summary row (made by the worker, or here from the report)."""
        if self.row is None:
            assert self.report is not None, "a graded submission has a report or a row"
            self.row = summary_row(self.report)
        return self.row

    def whole_report(self) -> Report:
        """The report, when this result carries it (not in a rows-only run)."""
        if self.report is None:
            raise ValueError(f"{self.task.key}: the result carries the summary row, not the report")
        return self.report


@dataclass(frozen=True)
class WorkerSetup:
    """What every worker needs once: the problem set and how reports are rendered."""

    spec: ProblemSet
    show_expected: bool
    version: str  # grader's code version: part of every stored verdict's key
    rendering: str = ""  # grader's whole code version: part of what a student's files are made from
    watchdog: bool = True  # stop the process when a check hangs in C code (pool workers only)
    store: str | None = None  # the verdict store's path, read by workers that can reach it
    cap_memory: bool = True  # each check's memory_limit as a cap on the process (see CheckLimits)
    limits: Limits = ()  # the GRADER_MAX_* limits the run grades under (part of ``version``)
    within_class: bool = True  # files named from the class folder (see read_submission)
    hand: Mapping[str, tuple[HandGrade, ...]] = field(default_factory=dict)  # folder -> TAs' grades
    # The run's output folder and its marker's token: a worker that reads the token there
    # writes its students' files itself (see grader.batch.studentfiles).
    out: str | None = None
    out_token: str = ""
    store_blobs: bool = False  # write the report and fresh verdicts as the store keeps them (StoreBlobs)
    # Send the driver the summary row and the store's blobs, not the report (with store_blobs).
    rows_only: bool = False
    # Check only these parts' answers, and send back their verdicts: no report, no files (the
    # distinct answers of a problem file's edited parts, see grader.batch.edits).
    check_only: tuple[str, ...] = ()
    # The secret each answer's code trials are drawn with (grader.core.drawing; its
    # fingerprint is in every verdict's key): empty, the parts' own seeds.
    draw_secret: bytes = b""
    # Keep each wrong network's plot data in the report (the service draws it in its pages,
    # which have no side files); a batch drops it once its SVG file is written.
    keep_plots: bool = False
    # The key each student's variant of a parameterised set is drawn with (grader.variants).
    variant_key: bytes = b""
    # Render each student's files (the JSON, Markdown and HTML reports, an SVG of each wrong
    # network): a batch writes them; the service shows its pages from the report and needs none
    # (its workers rendered them for every hand-in, and kept the last 500 plots drawn).
    files: bool = True


class WorkerRefused(RuntimeError):
    """A worker that must not grade this run: another grader, or other limits."""


def refusal(setup: WorkerSetup, where: str) -> str | None:
    """Why the process ``where`` must not grade with ``setup`` (it runs another grader), or None."""
    from grader.batch.limits import code_version  # looked up here: a test hook replaces it

    deciding = verdict_version(code_version(deciding_only=True), setup.limits)
    rendering = code_version()
    if deciding != setup.version:
        return (
            f"{where} runs grader {deciding}, not {setup.version} as this command does: "
            "install the same grader there"
        )
    if rendering != setup.rendering:
        return (
            f"{where} renders reports with grader {rendering}, not {setup.rendering} as this command does: "
            "install the same grader there"
        )
    return None


def limits_refusal(setup: WorkerSetup, where: str) -> str | None:
    """Why the process ``where`` must not grade with ``setup`` (it reads other GRADER_MAX_* limits)."""
    limits = limits_in_force()
    if not setup.limits or limits == setup.limits:
        return None
    return f"{where} grades under {limits_text(limits)}, not {limits_text(setup.limits)} as this command does"


class Prepared:
    """A worker's setup with each part's address and digest computed once."""

    def __init__(self, setup: WorkerSetup):
        self.setup = setup
        self.part_keys = {
            id(part): (address, part_digest(part, setup.version, setup.draw_secret))
            for address, _, part in setup.spec.iter_parts()
        }
        self.parts = {address: part for address, _, part in setup.spec.iter_parts()}
        self.limits = CheckLimits(Watchdog() if setup.watchdog else None, setup.cap_memory)
        self.memo: OrderedDict[VerdictKey, Verdict] = OrderedDict()  # the one used last, last
        self.stored = StoredVerdicts(setup.store) if setup.store else None
        self.output = reachable_output(setup.out, setup.out_token)  # None: the driver writes
        # A chunk's rows share their parts' ids, types and maxima; a class run's rows carry each
        # wrong answer's meaning key, read here (in parallel) for the wrong-answer groups.
        self.rows = RowMaker(self.meaning if setup.rows_only else None)
        self.meanings: dict[tuple[str, str], str] = {}
        self.sheets_since_clear = 0  # see SYMPY_CLEAR_SHEETS

    def know_variant(self, spec: ProblemSet) -> None:
        """Digest the parts of a student's variant when first met: their digest holds the
        variant's values, so the store keeps each variant's verdicts apart."""
        part = spec.iter_parts()[0][2]
        if id(part) in self.part_keys:
            return
        for address, _, part in spec.iter_parts():
            self.part_keys[id(part)] = (
                address,
                part_digest(part, self.setup.version, self.setup.draw_secret),
            )

    def close(self) -> None:
        """Let go of the store's connection (a worker process's ends with it; an in-process
        grader's must not wait for the garbage collector)."""
        if self.stored is not None:
            self.stored.close()

    def meaning(self, part_id: str, type_name: str, text: str) -> str:
        """A wrong answer's meaning key, read once per part and text by this worker."""
        found = self.meanings.get((part_id, text))
        if found is None:
            if len(self.meanings) >= MEANINGS_SIZE:
                self.meanings.clear()
            found = meaning_of(text, self.parts.get(part_id), type_name)
            self.meanings[(part_id, text)] = found
        return found

    def known(self, key: VerdictKey) -> Verdict | None:
        """A verdict for this part and answer decided before: by this worker, or in the store."""
        found = self.memo.get(key)
        if found is not None:
            self.memo.move_to_end(key)
        elif self.stored is not None:
            stored = self.stored.get(*key)
            if isinstance(stored, Verdict):
                self.remember(key, stored)
                found = stored
        return found

    def remember(self, key: VerdictKey, verdict: Verdict) -> None:
        self.memo[key] = verdict
        self.memo.move_to_end(key)
        if len(self.memo) > MEMO_SIZE:
            self.memo.popitem(last=False)


_PREPARED: Prepared | None = None


def install(setup: WorkerSetup) -> None:
    """Pool initializer: keep the setup for every chunk this process grades."""
    global _PREPARED
    _PREPARED = Prepared(setup)


def grade_chunk(tasks: list[SubmissionTask]) -> list[Graded]:
    """Grade a chunk with the installed setup (the pool's task function)."""
    if _PREPARED is None:
        raise RuntimeError("no problem set was installed in this worker (the pool's initializer installs it)")
    refused = limits_refusal(_PREPARED.setup, f"the check process {os.getpid()}")
    if refused:
        raise WorkerRefused(refused)
    graded = [grade_task(_PREPARED, task) for task in tasks]
    _PREPARED.sheets_since_clear += len(tasks)
    if _PREPARED.sheets_since_clear >= SYMPY_CLEAR_SHEETS:
        _PREPARED.sheets_since_clear = 0
        clear_sympy_caches()
    return graded


def clear_sympy_caches() -> None:
    """Empty sympy's caches, if this process imported it (a check imports it when it needs it)."""
    if "sympy" in sys.modules:
        from sympy.core.cache import clear_cache

        clear_cache()


def grade_task(prepared: Prepared, task: SubmissionTask) -> Graded:
    """The sheet graded, each answer's code trials drawn with the run's secret."""
    with drawing_with(prepared.setup.draw_secret):
        return _grade_task(prepared, task)


def _grade_task(prepared: Prepared, task: SubmissionTask) -> Graded:
    if prepared.setup.check_only:
        return check_parts(prepared, task)
    spec = prepared.setup.spec
    if task.files is None:  # the folder is read here: digested first, so a change after is seen next run
        task = digested(task)
    submission = read_within_limits(
        task, prepared.limits, *reading_limits(spec), within_class=prepared.setup.within_class
    )
    spec = student_variant(spec, task.variant_student, prepared.setup.variant_key)
    prepared.know_variant(spec)
    check = StoredOrChecked(prepared, task.prior)
    report = grade(spec, submission, check=check)
    report.folder = task.key
    if task.key in prepared.setup.hand:
        apply_hand_grades(report, prepared.setup.hand[task.key], prepared.parts, check.answers)
    with_files = prepared.setup.files  # no files: nothing they are made from to digest (the page's inputs)
    made_from = report_digest(report, task.stem, prepared.setup) if with_files else ""
    kept = with_files and made_from == task.rendered  # a part was edited, the report the same
    drawn = with_files and not kept
    artefacts = render_artefacts(report, task.stem, prepared.setup.show_expected, spec) if drawn else {}
    if not prepared.setup.keep_plots:
        for part in report.parts:
            part.plot = None  # drawn already; the parent keeps reports light
    # The task goes back without what came with it for the worker alone (verdicts, shipped files).
    light = replace(task, prior={}, files=None)
    graded = Graded(light, report, artefacts, check.answers, check.fresh, settled=check.settled)
    graded.made_from, graded.kept_files = made_from, kept
    if prepared.output is not None and not kept:
        write_here(prepared.output, graded)
    graded.row = prepared.rows.row(report)
    if prepared.setup.rows_only:  # what the driver makes of the row, made here (the workers scale)
        graded.lines = (sheet_line(graded.row), student_row(graded.row, f"{task.stem}.html"))
    if prepared.setup.store_blobs:
        verdicts = {key: packed(v) for key, v in graded.fresh.items()}
        blob = packed(report)
        files = records_text(graded.written) if graded.written is not None else ""
        graded.blobs = StoreBlobs(
            blob, verdicts, packed(graded.row), blob_digest(blob), records_text(graded.answers), files
        )
        graded.fresh = {}
        graded.answers = {}  # the driver stores them as the blobs carry them
        if prepared.setup.rows_only:
            graded.report = None  # the driver reads the row; the store keeps the report
    return graded


def check_parts(prepared: Prepared, task: SubmissionTask) -> Graded:
    """The sheet's answers to the setup's ``check_only`` parts checked (or found decided): the
    fresh verdicts, as the store keeps them with ``store_blobs``; no report, no row, no file."""
    spec = prepared.setup.spec
    submission = read_within_limits(
        task, prepared.limits, *reading_limits(spec), within_class=prepared.setup.within_class
    )
    check = StoredOrChecked(prepared, task.prior)
    if not submission.load_error:
        answers = submission.matched_to(part_id for part_id, _, _ in spec.iter_parts()).answers
        for address in prepared.setup.check_only:
            check(prepared.parts[address], answers.get(address))
    light = replace(task, prior={}, files=None)
    graded = Graded(light, None, {}, check.answers, check.fresh, settled=check.settled)
    if prepared.setup.store_blobs:
        graded.blobs = StoreBlobs("", {key: packed(v) for key, v in graded.fresh.items()})
        graded.fresh = {}
    return graded


def write_here(out: Path, graded: Graded) -> None:
    """Write the student's files in ``out`` from this worker, and keep only their records;
    if that fails (a full disk), the bytes go to the driver, which writes them or says why not."""
    try:
        graded.written = write_student_files(out, graded.artefacts, graded.task.earlier)
    except OSError:
        return
    graded.artefacts = {}


def student_variant(spec: ProblemSet, student: str, key: bytes) -> ProblemSet:
    """The student's variant of a parameterised set; without a key, the set as written (which
    the engine refuses to grade: never against another student's numbers)."""
    if not spec.parameters or not key:
        return spec
    try:
        return spec.for_student(student, key)
    except VariantError:
        return spec


def report_digest(report: Report, stem: str, setup: WorkerSetup) -> str:
    """Digest of everything a student's files are made from: the report (plot data included),
    what the page shows from the problem set (a question's title, an answer read with its
    part's names), the file stem, the rendering options and grader's code."""
    shown = page_inputs(report, setup.show_expected, setup.spec)
    return _digest(f"{setup.rendering}\n{setup.show_expected}\n{stem}\n{report!r}\n{shown}")


class StoredOrChecked:
    """The engine's part check: a stored verdict when one matches, else a check under limits."""

    def __init__(self, prepared: Prepared, prior: Mapping[VerdictKey, Verdict]):
        self.prepared = prepared
        self.prior = prior
        self.answers: dict[str, str] = {}
        self.fresh: dict[VerdictKey, Verdict] = {}
        self.settled = True

    def __call__(self, part: PartBase, answer: Any) -> Verdict:
        address, part_key = self.prepared.part_keys[id(part)]
        answer_key = answer_digest(answer)
        if answer_key is None:
            self.settled = False
            return limited_check(part, answer, self.prepared.limits)[0]
        self.answers[address] = answer_key
        key = (part_key, answer_key)
        stored = self.prior.get(key)
        if stored is not None:
            return stored
        # Another student gave it, to this worker (stored with that student's chunk) or to one
        # whose chunk is stored already.
        known = self.prepared.known(key)
        if known is not None:
            return known
        verdict, deterministic = limited_check(part, answer, self.prepared.limits)
        if deterministic:
            self.fresh[key] = verdict
            self.prepared.remember(key, verdict)
        else:
            self.settled = False
        return verdict


NO_LIMITS = CheckLimits()  # a check bounded by its time limit alone


def limited_check(part: PartBase, answer: Any, limits: CheckLimits = NO_LIMITS) -> tuple[Verdict, bool]:
    """The verdict under the part's time and memory limits, and whether a re-run would give
    the same one: not when the memory limit or the wall clock stopped the check, nor when a
    step of it stopped at a deadline (:mod:`grader.clock`). A CPU-time
    limit reached is kept (the limit is in the part's key, so raising it regrades), and so is
    an internal error (grader's code version is part of every stored verdict's key, so a fix
    regrades it)."""
    return with_imports(lambda: _limited_check_once(part, answer, limits))


def _limited_check_once(part: PartBase, answer: Any, limits: CheckLimits) -> tuple[Verdict, bool]:
    """One check under the limits; a module it needs is imported by the caller, outside them."""
    started, cuts_before = time.monotonic(), clock.cuts()
    memory = memory_limit(part.memory_limit) if limits.cap_memory else contextlib.nullcontext()
    guard = limits.watchdog.guard(time_budget(part)) if limits.watchdog else contextlib.nullcontext()
    with memory, guard:
        verdict = check_part_once(part, answer)
    if clock.cuts() != cuts_before:  # a step stopped at a deadline: another run may decide otherwise
        return verdict, False
    if verdict.status is not Status.ERROR or verdict.time_limit is not None:
        return verdict, True  # a CPU-time limit reached is remembered, with the limit in the key
    if not error_is_settled(part):
        return verdict, False
    if "MemoryError" in (verdict.traceback or ""):
        message = (
            f"the check needed more than {part.memory_limit} MiB of memory (memory_limit) "
            "and was stopped; a TA should look at it"
        )
        return Verdict.error(message), False
    slow = time.monotonic() - started >= part.time_limit / 2
    return verdict, not slow


def part_digest(part: PartBase, version: str, draw_secret: bytes = b"") -> str:
    """Digest of every field of the part (defaults merged in), of grader's code, and of the
    secret the answers' trials are drawn with (its fingerprint)."""
    drawn = fingerprint(draw_secret)
    return _digest(f"{version}\n{drawn}\n{type(part).__name__}\n{part.model_dump_json()}")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


# ---------------------------------------------------------------------------
# A student's files


def render_artefacts(report: Report, stem: str, show_expected: bool, spec: ProblemSet) -> dict[str, bytes]:
    """``<stem>.json``, ``<stem>.md`` and a plot per wrong network, by file name."""
    artefacts = _plots(report, stem)
    artefacts.update(report_files(report, stem, show_expected, spec))
    return artefacts


def report_files(
    report: Report, stem: str, show_expected: bool, spec: ProblemSet | None = None
) -> dict[str, bytes]:
    """``<stem>.json`` (the contract's report), ``<stem>.md`` and ``<stem>.html`` (the student's pages)."""
    files = {
        f"{stem}{suffix}": REPORTERS[fmt].render(report, show_expected=show_expected).encode("utf-8")
        for fmt, suffix in (("json", ".json"), ("markdown", ".md"))
    }
    files[f"{stem}.html"] = render_student_page(report, show_expected, spec=spec).encode("utf-8")
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


# Plots drawn lately, by the identity of their data (held, so an id is never another's): students
# who gave the same wrong answer share its verdict, and so its plot.
_SVGS: dict[int, tuple[Any, str]] = {}
MAX_SVGS = 500


def _svg_of(plot: Any) -> str:
    drawn = _SVGS.get(id(plot))
    if drawn is not None and drawn[0] is plot:
        return drawn[1]
    svg = render_plot_svg(plot)
    if len(_SVGS) >= MAX_SVGS:
        _SVGS.clear()
    _SVGS[id(plot)] = (plot, svg)
    return svg


def failed_report(spec: ProblemSet, task: SubmissionTask, reason: str, show_expected: bool) -> Graded:
    """The report of a submission whose worker died or was stopped: one error row."""
    feedback = f"not graded: {reason}; a TA should look at it"
    parts = [
        PartResult(
            id=address,
            status=Status.ERROR,
            score=0.0,
            max_score=part.points,
            feedback=feedback,
            type=part.type,
            prompt=part.prompt or question.prompt,
            note=part.note,
        )
        for address, question, part in spec.iter_parts()
    ]
    report = Report(spec.assignment, PurePosixPath(task.key).name, parts, folder=task.key, error=reason)
    files = report_files(report, task.stem, show_expected, spec)
    return Graded(replace(task, prior={}), report, files, failed=True)
