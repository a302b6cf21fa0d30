"""What a worker does with a chunk of submissions: read, grade, render every file.

A worker process receives the problem set once (:func:`install`, the pool's
initializer, or a Dask worker's first task) and then chunks of
:class:`SubmissionTask`. For each submission it reads the answers once, grades
every part (reusing the verdicts the batch found in its store for the same part
definition and the same answer), and renders the student's files: the JSON
report, the Markdown page and a plot of each wrong network. The parent process
only writes what comes back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from grader.batch.blobs import StoredVerdicts
from grader.batch.limits import Watchdog, memory_limit
from grader.core.files import safe_filename
from grader.core.parts import PartBase
from grader.core.report import PartResult, Report
from grader.core.submission import Submission
from grader.core.verdict import Status, Verdict
from grader.engine import check_part, grade
from grader.loading import load_submission
from grader.reporting.html import render_student_page
from grader.reporting.plots import render_plot_svg
from grader.reporting.reporters import REPORTERS
from grader.spec import ProblemSet

PLOTTED = (Status.INCORRECT, Status.PARTIAL)
# Verdicts a worker keeps for the students after: a class gives the same answer many times.
MEMO_SIZE = 5_000
VerdictKey = tuple[str, str]  # (part digest, answer digest)


@dataclass(frozen=True)
class ShippedFile:
    """One file of a submission folder, sent to a worker that cannot read the folder."""

    path: str  # relative to the submission folder, with / separators
    data: bytes  # the whole file, or its first bytes when it is larger than any reader accepts
    size: int  # its size on disk
    link: str | None = None  # a symbolic link, to this target
    fifo: bool = False  # a named pipe


@dataclass(frozen=True)
class SubmissionTask:
    key: str  # the submission folder relative to the class: the student's identity
    folder: str  # where the folder is, for workers on this machine
    stem: str  # file name stem of this student's reports
    digest: str  # digest of every file in the folder, as read when the batch was planned
    prior: Mapping[VerdictKey, Verdict] = field(default_factory=dict)
    files: tuple[ShippedFile, ...] | None = None  # the folder itself, for workers elsewhere
    # What the student's files on disk were made from (see report_digest): equal, they are kept.
    rendered: str | None = None


@dataclass
class Graded:
    """One graded submission: its report, its files, and what the verdict store may keep."""

    task: SubmissionTask
    report: Report
    artefacts: dict[str, bytes]
    answers: dict[str, str] = field(default_factory=dict)  # part address -> answer digest
    fresh: dict[VerdictKey, Verdict] = field(default_factory=dict)  # verdicts worth storing
    failed: bool = False  # the worker died or was stopped: nothing of it is stored
    # Every verdict is one a re-run would reproduce: the report may be served as it is.
    settled: bool = True
    made_from: str = ""  # report_digest of the report the files show
    kept_files: bool = False  # the files on disk show this very report: nothing to write


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


class Prepared:
    """A worker's setup with each part's address and digest computed once."""

    def __init__(self, setup: WorkerSetup):
        self.setup = setup
        self.part_keys = {
            id(part): (address, part_digest(part, setup.version))
            for address, _, part in setup.spec.iter_parts()
        }
        self.limits = CheckLimits(Watchdog() if setup.watchdog else None, setup.cap_memory)
        self.memo: dict[VerdictKey, Verdict] = {}
        self.stored = StoredVerdicts(setup.store) if setup.store else None

    def known(self, key: VerdictKey) -> Verdict | None:
        """A verdict for this part and answer decided before: by this worker, or in the store."""
        found = self.memo.get(key)
        if found is None and self.stored is not None:
            stored = self.stored.get(*key)
            if isinstance(stored, Verdict):
                self.remember(key, stored)
                found = stored
        return found

    def remember(self, key: VerdictKey, verdict: Verdict) -> None:
        if len(self.memo) >= MEMO_SIZE:
            self.memo.pop(next(iter(self.memo)))
        self.memo[key] = verdict


_PREPARED: Prepared | None = None


def install(setup: WorkerSetup) -> None:
    """Pool initializer: keep the setup for every chunk this process grades."""
    global _PREPARED
    _PREPARED = Prepared(setup)


def grade_chunk(tasks: list[SubmissionTask]) -> list[Graded]:
    """Grade a chunk with the installed setup (the pool's task function)."""
    if _PREPARED is None:
        raise RuntimeError("no problem set was installed in this worker (the pool's initializer installs it)")
    return [grade_task(_PREPARED, task) for task in tasks]


# Setups installed by key (Dask workers: one per run, through a worker plugin).
_BY_KEY: dict[str, Prepared] = {}


def install_as(key: str, setup: WorkerSetup) -> None:
    _BY_KEY[key] = Prepared(setup)


def forget(key: str) -> None:
    _BY_KEY.pop(key, None)


def grade_chunk_for(key: str, tasks: list[SubmissionTask]) -> list[Graded]:
    """Grade a chunk with the setup installed under ``key`` in this worker."""
    prepared = _BY_KEY.get(key)
    if prepared is None:
        raise RuntimeError(f"no problem set {key} was installed in this worker")
    return [grade_task(prepared, task) for task in tasks]


def grade_task(prepared: Prepared, task: SubmissionTask) -> Graded:
    spec = prepared.setup.spec
    submission = read_submission(task)
    check = StoredOrChecked(prepared, task.prior)
    report = grade(spec, submission, check=check)
    report.folder = task.key
    made_from = report_digest(report, task.stem, prepared.setup)
    kept = made_from == task.rendered  # a part was edited, but this student's report is the same
    artefacts = {} if kept else render_artefacts(report, task.stem, prepared.setup.show_expected, spec)
    for part in report.parts:
        part.plot = None  # drawn already; the parent keeps reports light
    graded = Graded(task, report, artefacts, check.answers, check.fresh, settled=check.settled)
    graded.made_from, graded.kept_files = made_from, kept
    return graded


def report_digest(report: Report, stem: str, setup: WorkerSetup) -> str:
    """Digest of everything a student's files are made from: the report (plot data included),
    the file stem, the rendering options and grader's code."""
    return _digest(f"{setup.rendering}\n{setup.show_expected}\n{stem}\n{report!r}")


def read_submission(task: SubmissionTask) -> Submission:
    if task.files is None:
        submission = load_submission(task.folder)
    else:
        with tempfile.TemporaryDirectory(prefix="grader-") as scratch:
            folder = Path(scratch) / PurePosixPath(task.key).name
            _materialise(folder, task.files)
            # Messages name the folder where it was read: name the student's instead.
            submission = _relocated(load_submission(folder), str(folder), task.folder)
    submission.folder = task.key
    return submission


def _relocated(value: Any, scratch: str, folder: str) -> Any:
    """``value`` with the scratch folder's path replaced by the submission folder's, in every
    text it holds (messages, warnings, source positions)."""
    if isinstance(value, str):
        return value.replace(scratch, folder)
    if isinstance(value, list | tuple):
        return type(value)(_relocated(item, scratch, folder) for item in value)
    if isinstance(value, dict):
        return {key: _relocated(item, scratch, folder) for key, item in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: _relocated(getattr(value, f.name), scratch, folder) for f in dataclasses.fields(value)
        }
        return replace(value, **changes)
    return value


def _materialise(folder: Path, files: tuple[ShippedFile, ...]) -> None:
    folder.mkdir(parents=True)
    for shipped in files:
        relative = PurePosixPath(shipped.path)
        if relative.is_absolute() or ".." in relative.parts:
            continue
        target = folder.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        if shipped.link is not None:
            os.symlink(shipped.link, target)
        elif shipped.fifo:
            os.mkfifo(target)
        else:
            with target.open("wb") as stream:
                stream.write(shipped.data)
                if shipped.size > len(shipped.data):  # too large to read anyway: same size, sparse
                    stream.truncate(shipped.size)


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


@dataclass(frozen=True)
class CheckLimits:
    """How a process bounds a check besides its time limit."""

    watchdog: Watchdog | None = None  # ends this process if the check hangs in C code
    # Cap this process's address space around the check; only where no other thread of the
    # process allocates meanwhile (not in a Dask worker, whose memory its nanny watches).
    cap_memory: bool = True


def limited_check(part: PartBase, answer: Any, limits: CheckLimits = CheckLimits()) -> tuple[Verdict, bool]:
    """The verdict under the part's time and memory limits, and whether a re-run would give
    the same one: not when a limit stopped the check (an internal error is kept: grader's
    code version is part of every stored verdict's key, so a fix regrades it)."""
    started = time.monotonic()
    memory = memory_limit(part.memory_limit) if limits.cap_memory else contextlib.nullcontext()
    guard = limits.watchdog.guard(part.time_limit) if limits.watchdog else contextlib.nullcontext()
    with memory, guard:
        verdict = check_part(part, answer)
    if verdict.status is not Status.ERROR:
        return verdict, True
    if "MemoryError" in (verdict.traceback or ""):
        message = (
            f"the check needed more than {part.memory_limit} MiB of memory (memory_limit) "
            "and was stopped; a TA should look at it"
        )
        return Verdict.error(message), False
    slow = time.monotonic() - started >= part.time_limit / 2
    return verdict, not slow


def check_in_process(part: PartBase, answer: Any) -> Verdict:
    """The part check with the memory limit, for grading in the command's own process."""
    return limited_check(part, answer)[0]


def part_digest(part: PartBase, version: str) -> str:
    """Digest of every field of the part (defaults merged in) and of grader's code."""
    return _digest(f"{version}\n{type(part).__name__}\n{part.model_dump_json()}")


def answer_digest(answer: Any) -> str | None:
    """Digest of the answer as read (types kept: 1, 1.0 and "1" differ), or None if unreadable."""
    try:
        text = json.dumps(answer, ensure_ascii=False, allow_nan=True, default=_unserialisable)
    except (TypeError, ValueError, RecursionError):
        return None
    return _digest(text)


def _unserialisable(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not an answer value")


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
        svg = render_plot_svg(result.plot)
        if svg:
            name = f"{stem}-{safe_filename(result.id)}.svg"
            artefacts[name] = svg.encode("utf-8")
            result.plot_file = name  # the Markdown and HTML pages link the file
    return artefacts


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
