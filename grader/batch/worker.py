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

import hashlib
import json
import os
import sqlite3
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from grader.batch.plan import digested
from grader.batch.reading import SubmissionTask, VerdictKey, read_within_limits
from grader.batch.studentfiles import reachable_output, write_student_files
from grader.core.digests import answer_digest
from grader.core.drawing import drawing_with, fingerprint
from grader.core.integrity import intact, store_key
from grader.core.parts import PartBase
from grader.core.plainjson import packed, read_back, unpacked
from grader.core.report import Report
from grader.core.summary import RowMaker, SheetRow, summary_row
from grader.core.timelimit import CheckLimits, Watchdog
from grader.core.verdict import Verdict
from grader.engine import clear_sympy_caches, grade, limited_check, not_graded
from grader.hand import HandGrade, apply_hand_grades
from grader.pdf.stamp import graded_pdf_file
from grader.reading import reading_limits
from grader.reporting.files import render_artefacts, report_files
from grader.reporting.html import page_inputs
from grader.reporting.stats import meaning_of
from grader.reporting.withhold import shown_report, student_view
from grader.spec import ProblemSet
from grader.variants import VariantError
from grader.versions import Limits, limits_refusal

# Verdicts a worker keeps for the students after, those used last (a class gives the same
# answers many times; the others are in the store): a few KiB each, all term in a server's
# workers, so few enough to be kept within minutes of its start.
MEMO_SIZE = 1_000
MEANINGS_SIZE = 5_000
# sympy keeps the last 1,000 results of each of its cached functions: in a server's workers they
# filled for 20 minutes (about 25 MiB). Cleared after this many sheets, they hold a few MiB.
SYMPY_CLEAR_SHEETS = 200  # wrong answers' meaning keys (short texts) a class run's worker keeps


def blob_digest(blob: bytes | str) -> str:
    """What a stored submission's seal covers of its report blob: its SHA-256 (kept beside it,
    so a run that reads rows only never reads a report's bytes)."""
    return hashlib.sha256(blob if isinstance(blob, bytes) else blob.encode()).hexdigest()


def records_text(records: Mapping[str, str]) -> str:
    """A submission's answer digests or file records (by name) as the store keeps them."""
    return json.dumps(records, sort_keys=True)


class StoredVerdicts:
    """Read-only lookups in a verdict store by (part digest, answer digest), for a worker:
    what another worker (or an earlier run) decided is not decided again."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        self._unreadable = False
        self._key: bytes | None = None  # the store's key (read where the store is read)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def get(self, part: str, answer: str) -> Any:
        """The stored verdict, or None (none stored, or the store cannot be read here)."""
        if self._unreadable:
            return None
        try:
            if self._db is None:  # opened in the worker process, after it was forked
                self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=1)
                self._key = store_key()
            row = self._db.execute(
                "SELECT verdict, mac FROM verdicts WHERE part = ? AND answer = ?", (part, answer)
            ).fetchone()
        except sqlite3.Error:  # not on this machine (a Dask worker elsewhere), or not there yet
            self._unreadable = self._db is None
            return None
        if row is None or self._key is None or not intact(self._key, row[1], part, answer, row[0]):
            return None  # absent, or not sealed by this store's key: decided anew
        return unpacked(row[0])


@dataclass(frozen=True)
class StoreBlobs:
    """What the verdict store keeps of a graded submission, as JSON written by the worker that
    graded it: the driver seals and inserts them as they are."""

    report: str
    row: str  # the summary row (``Graded.row``)
    digest: str  # the report's (blob_digest)
    answers: str  # each part's answer digest, by address (records_text)
    files: str = ""  # when the worker wrote the student's files: ``Graded.written`` (records_text)


@dataclass
class Graded:
    """One graded submission: its report, its files, and what the verdict store may keep."""

    task: SubmissionTask
    report: Report | None  # None when the setup asks for rows only: the store's blob holds it
    artefacts: dict[str, bytes]
    verdicts: dict[VerdictKey, str] = field(default_factory=dict)  # fresh ones worth storing, as stored
    failed: bool = False  # the worker died or was stopped: nothing of it is stored
    # Every verdict is one a re-run would reproduce: the report may be served as it is.
    settled: bool = True
    made_from: str = ""  # report_digest of the report the files show
    kept_files: bool = False  # the files on disk show this very report: nothing to write
    # The worker wrote the files itself (``artefacts`` is then empty): each one's record.
    written: dict[str, str] | None = None
    blobs: StoreBlobs | None = None  # what the store keeps of it (None: a failed or partial sheet)
    row: SheetRow | None = None  # what grades.csv and the dashboard read of the report
    # The service's: the report as its student sees it, every part shown (see student_view_text)
    student_view: str = ""

    def summary(self) -> SheetRow:
        """The report's summary row (made by the worker, or here from the report)."""
        if self.row is None:
            assert self.report is not None, "a graded submission has a report or a row"
            self.row = summary_row(self.report)
        return self.row

    def whole_report(self) -> Report:
        """The report: carried, or read back from the JSON the worker made of it."""
        if self.report is None:
            if self.blobs is None:
                raise ValueError(f"{self.task.key}: the result carries neither a report nor its JSON")
            report = read_back(self.blobs.report)
            if not isinstance(report, Report):
                raise ValueError(f"{self.task.key}: its report's JSON holds no report")
            self.report = report
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
    limits: Limits = ()  # the GRADER_MAX_* limits the run grades under (part of ``version``)
    within_class: bool = True  # files named from the class folder (see read_submission)
    hand: Mapping[str, tuple[HandGrade, ...]] = field(default_factory=dict)  # folder -> TAs' grades
    # The run's output folder and its marker's token: a worker that reads the token there
    # writes its students' files itself (see grader.batch.studentfiles).
    out: str | None = None
    out_token: str = ""
    rows_only: bool = False  # send the driver the summary row and the store's blobs, not the report
    # Check only these parts' answers, and send back their verdicts: no report, no files (the
    # distinct answers of a problem file's edited parts, see grader.batch.edits).
    check_only: tuple[str, ...] = ()
    # The secret each answer's code trials are drawn with (grader.core.drawing; its
    # fingerprint is in every verdict's key): empty, the parts' own seeds.
    draw_secret: bytes = b""
    # The reports are for the service's pages, drawn from the report itself: no student's files
    # rendered (JSON, Markdown, HTML, SVG), each wrong network's plot kept in the report. A
    # batch writes the files and drops a plot once its SVG is written.
    for_pages: bool = False
    # The key each student's variant of a parameterised set is drawn with (grader.variants).
    variant_key: bytes = b""


class WorkerRefused(RuntimeError):
    """A worker that must not grade this run: another grader, or other limits."""


class Prepared:
    """A worker's setup with each part's address and digest computed once."""

    def __init__(self, setup: WorkerSetup):
        self.setup = setup
        self.part_keys = {
            id(part): (address, part_digest(part, setup.version, setup.draw_secret))
            for address, _, part in setup.spec.iter_parts()
        }
        self.parts = {address: part for address, _, part in setup.spec.iter_parts()}
        self.limits = CheckLimits(Watchdog() if setup.watchdog else None)
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
    refused = limits_refusal(_PREPARED.setup.limits, f"the check process {os.getpid()}")
    if refused:
        raise WorkerRefused(refused)
    graded = [grade_task(_PREPARED, task) for task in tasks]
    _PREPARED.sheets_since_clear += len(tasks)
    if _PREPARED.sheets_since_clear >= SYMPY_CLEAR_SHEETS:
        _PREPARED.sheets_since_clear = 0
        clear_sympy_caches()
    return graded


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
    if prepared.setup.for_pages:  # the service's report: its student's, no folder of the server's
        report.folder, report.student = None, task.folder
    else:
        report.folder = task.key
    if task.key in prepared.setup.hand:
        apply_hand_grades(report, prepared.setup.hand[task.key], prepared.parts, check.answers)
    with_files = not prepared.setup.for_pages  # no files: nothing they are made from to digest
    made_from = report_digest(report, task.stem, prepared.setup) if with_files else ""
    if made_from and submission.pdf is not None:  # the graded PDF is made from the PDF too
        made_from += f" pdf:{submission.pdf.get('digest', '')}"
    kept = with_files and made_from == task.rendered  # a part was edited, the report the same
    drawn = with_files and not kept
    artefacts = render_artefacts(report, task.stem, prepared.setup.show_expected, spec) if drawn else {}
    if drawn and submission.pdf is not None:  # a PDF hand-in: its graded copy beside the report
        # the student's copy: their feedback as their report shows it, never the key
        artefacts.update(graded_pdf_file(shown_report(report, False), submission.pdf, task.stem))
    if not prepared.setup.for_pages:
        for part in report.parts:
            part.plot = None  # drawn already; the parent keeps reports light
    # The task goes back without what came with it for the worker alone (verdicts, shipped files).
    light = replace(task, prior={}, files=None)
    graded = Graded(light, report, artefacts, check.verdicts(), settled=check.settled)
    graded.made_from, graded.kept_files = made_from, kept
    if prepared.output is not None and not kept:
        write_here(prepared.output, graded)
    graded.row = prepared.rows.row(report)
    blob = packed(report)
    files = records_text(graded.written) if graded.written is not None else ""
    graded.blobs = StoreBlobs(blob, packed(graded.row), blob_digest(blob), records_text(check.answers), files)
    for_pages = prepared.setup.for_pages
    graded.student_view = student_view_text(report, prepared.setup.rendering) if for_pages else ""
    if prepared.setup.rows_only or prepared.setup.for_pages:
        # The driver reads the row and the report's JSON: the report is not sent twice, and a
        # service's grading thread does not encode it again beside its web requests.
        graded.report = None
    return graded


def student_view_text(report: Report, rendering: str) -> str:
    """The service's poll answers with it while ``rendering`` (the code) is the one in force and
    every part is shown: the report as its student sees it then (:func:`student_view`), made by
    the worker that graded it, not in the web process (JSON; empty when it is not plain data)."""
    try:
        view = student_view(report)
        visible = all(part.visible for part in report.parts)
        return json.dumps({"rendering": rendering, "all_visible": visible, "report": view})
    except (TypeError, ValueError):  # a value JSON has no form for: the web process makes it
        return ""


def check_parts(prepared: Prepared, task: SubmissionTask) -> Graded:
    """The sheet's answers to the setup's ``check_only`` parts checked (or found decided): the
    fresh verdicts, as the store keeps them; no report, no row, no file."""
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
    return Graded(light, None, {}, check.verdicts(), settled=check.settled)


def write_here(out: Path, graded: Graded) -> None:
    """Write the student's files in ``out`` from this worker, and keep only their records;
    if that fails (a full disk), the bytes go to the driver, which writes them or says why not."""
    try:
        graded.written = write_student_files(out, graded.artefacts, graded.task.earlier)
    except OSError:
        return
    graded.artefacts = {}


def student_variant(spec: ProblemSet, student: str, key: bytes) -> ProblemSet:
    """The student's variant of a parameterised set; without a key, the variant pinned for the
    student, else the set as written (which the engine refuses to grade: never against another
    student's numbers)."""
    if not spec.parameters or (not key and student not in spec.pinned):
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
    return text_digest(f"{setup.rendering}\n{setup.show_expected}\n{stem}\n{report!r}\n{shown}")


class StoredOrChecked:
    """The engine's part check: a stored verdict when one matches, else a check under limits."""

    def __init__(self, prepared: Prepared, prior: Mapping[VerdictKey, Verdict]):
        self.prepared = prepared
        self.prior = prior
        self.answers: dict[str, str] = {}
        self.fresh: dict[VerdictKey, Verdict] = {}
        self.settled = True

    def verdicts(self) -> dict[VerdictKey, str]:
        """The fresh verdicts, as the store keeps them."""
        return {key: packed(verdict) for key, verdict in self.fresh.items()}

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


def part_digest(part: PartBase, version: str, draw_secret: bytes = b"") -> str:
    """Digest of every field of the part (defaults merged in), of grader's code, and of the
    secret the answers' trials are drawn with (its fingerprint)."""
    drawn = fingerprint(draw_secret)
    return text_digest(f"{version}\n{drawn}\n{type(part).__name__}\n{part.model_dump_json()}")


def text_digest(text: str) -> str:
    """The digest a batch keys by: of a part, of a report's inputs, of a problem set."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def failed_report(spec: ProblemSet, task: SubmissionTask, reason: str, show_expected: bool) -> Graded:
    """The report of a submission whose worker died or was stopped: one error row."""
    report = not_graded(spec, PurePosixPath(task.key).name, task.key, reason)
    files = report_files(report, task.stem, show_expected, spec)
    return Graded(replace(task, prior={}), report, files, failed=True)
