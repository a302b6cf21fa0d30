"""A batch run: plan the class, take what the verdict store already holds, grade the rest
on an executor, write what comes back.

Each finished chunk is written (student files, then one store transaction), so a
run stopped at any point (Ctrl-C, SIGKILL, a crash) keeps every finished
student, and the next run picks up where it stopped. ``grades.csv`` is written
every few seconds and at the end, never once per student.

Workers that see ``--out`` write their students' files and the JSON of what the store
keeps (see grader.batch.studentfiles); with a store, they send the driver each
sheet's summary row (grader.core.summary) instead of its report: the driver stores
the blobs, builds ``grades.csv`` and the dashboard from the rows as they come
(grader.batch.classrows), and reads a whole report back from the store only where one
is asked for (``BatchResult.reports``). What it keeps until the end of the run is
moved out of the garbage collector's way as it comes (``gc.freeze``), or its full
collections would walk it all again and again.
"""

from __future__ import annotations

import gc
import itertools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from grader.batch.classrows import ClassRows, ReportReader
from grader.batch.edits import (
    EditedSheet,
    SpecRecord,
    checking_once,
    earlier_specs,
    edited_parts,
    keys_now,
    spec_view,
    unmoved,
    verdict_pairs,
    without_meanings,
)
from grader.batch.output import OutputFolder, ScoreChange, output_lock
from grader.batch.plan import digested, plan
from grader.batch.reading import SubmissionTask, VerdictKey
from grader.batch.store import (
    CLASS_PAGE_BYTES,
    STORE_FILE,
    StoredSubmission,
    VerdictStore,
    code_version,
)
from grader.batch.studentfiles import mark_output, unmark_output, write_student_files
from grader.batch.worker import Graded, WorkerSetup, part_digest, text_digest
from grader.core.drawing import fingerprint
from grader.core.files import remove_stale_temporaries
from grader.core.integrity import draw_secret
from grader.core.plainjson import packed
from grader.core.report import Report
from grader.core.summary import SheetRow
from grader.core.verdict import Verdict
from grader.hand import HandGrade, grades_digest
from grader.loading import named_folder
from grader.reporting.reporters import name_clashes
from grader.reporting.typeset import copy_assets
from grader.spec import ProblemSet
from grader.versions import limits_in_force, limits_text, verdict_version

if TYPE_CHECKING:
    from grader.batch.executors import Chunk, Executor

GRADEBOOK_EVERY_SECONDS = 10.0
LARGEST_CHUNK = 16  # sheets a chunk, at most, unless the executor says more (see chunk_size)
# Stored verdicts a run keeps once read: a class gives the same answer many times, and a re-run
# after an edit reads every unchanged one again (a verdict is about 1 KB).
VERDICTS_KEPT = 50_000
Progress = Callable[[int, int], None]  # (submissions done, submissions in the class)


@dataclass(frozen=True)
class BatchOptions:
    out: Path | None = None
    jobs: int = 1
    show_expected: bool = False
    cache: Path | None = None  # the verdict store; default: <out>/.grader-store.sqlite3
    use_cache: bool = True
    executor: Executor | None = None  # default: a pool of ``jobs`` processes
    chunk_size: int | None = None
    on_wait: Callable[[str], None] | None = None  # told when another run holds --out
    hand: Mapping[str, tuple[HandGrade, ...]] = field(default_factory=dict)  # folder -> TAs' grades
    variant_key: bytes = b""  # the key each student's variant is drawn with (grader.variants)

    def store_path(self) -> Path | None:
        if not self.use_cache:
            return None
        if self.cache is not None:
            return self.cache
        return None if self.out is None else self.out / STORE_FILE


@dataclass
class BatchResult:
    rows: list[SheetRow]  # each sheet's summary row, in the order of the folders given
    regraded: int = 0  # submissions sent to a worker
    kept_after_edit: int = 0  # sheets kept as stored after a problem-file edit (grader.batch.edits)
    checked: int = 0  # sheets read to check an edited part's answers once (not graded: no report)
    failed: int = 0  # submissions whose worker died or was stopped
    changes: list[ScoreChange] = field(default_factory=list)
    clashes: dict[str, list[str]] = field(default_factory=dict)  # student name -> folders
    removed_temporaries: list[Path] = field(default_factory=list)
    untrusted: int = 0  # store entries that failed their integrity check (regraded)
    seconds: float = 0.0
    reader: ReportReader | None = field(default=None, repr=False)
    _reports: list[Report] | None = field(default=None, repr=False)

    @property
    def reports(self) -> list[Report]:
        """The whole reports, in the order of the folders given: read (from the verdict store)
        on first use."""
        if self._reports is None:
            keys = [row.folder or "" for row in self.rows]
            self._reports = self.reader.read(keys) if self.reader is not None else []
        return self._reports

    @property
    def with_errors(self) -> int:
        return sum(1 for row in self.rows if row.has_errors)


def run_batch(
    spec: ProblemSet,
    root: Path,
    folders: Sequence[Path],
    options: BatchOptions,
    on_progress: Progress | None = None,
) -> BatchResult:
    started = time.monotonic()
    with output_lock(options.out, options.on_wait):
        store_path = options.store_path()
        store = VerdictStore(store_path, page_bytes=CLASS_PAGE_BYTES) if store_path is not None else None
        try:
            run = _Run(spec, options, store)
            # Folders are digested as they are sent (see _Run.execute): the first chunk goes at once.
            result = run.execute(plan(root, folders, digests=False), on_progress)
            result.untrusted = store.rejected if store is not None else 0
        finally:
            if options.out is not None:
                unmark_output(options.out)
            if store is not None:
                store.close()
            gc.unfreeze()  # the run's objects (frozen as it keeps them) go back to the collector
    result.seconds = time.monotonic() - started
    return result


def grade_one_in_process(spec: ProblemSet, folder: Path, options: BatchOptions) -> BatchResult:
    """One submission folder, graded in this process (its class is its parent folder)."""
    from grader.batch.executors import InProcessExecutor

    folder = named_folder(folder)
    return run_batch(spec, folder.parent, [folder], replace(options, executor=InProcessExecutor()))


class _Run:
    def __init__(self, spec: ProblemSet, options: BatchOptions, store: VerdictStore | None):
        self.spec = spec
        self.options = options
        self.store = store
        limits = limits_in_force()  # GRADER_MAX_*: shipped to every worker, part of every key
        self.version = verdict_version(code_version(deciding_only=True), limits)  # verdicts
        rendering = code_version()  # reports: any change of grader's code makes them anew
        store_path = options.store_path()
        self.output = OutputFolder(options.out) if options.out else None
        # Workers that see --out (and this run's token in it) write their students' files.
        token = mark_output(options.out) if options.out else ""
        if options.out:  # KaTeX beside the pages, which typeset their formulas with it offline
            copy_assets(options.out)
        self.setup = WorkerSetup(
            spec,
            options.show_expected,
            self.version,
            rendering,
            store=str(store_path) if store_path else None,
            limits=limits,
            hand=options.hand,
            out=str(options.out.absolute()) if options.out else None,
            out_token=token,
            rows_only=store is not None,  # workers send rows: the store keeps the reports
            draw_secret=draw_secret(),
            variant_key=options.variant_key,
        )
        self.hand_digests = {folder: grades_digest(grades) for folder, grades in options.hand.items()}
        head = f"{rendering}\n{limits_text(limits)}\n{options.show_expected}"
        if spec.parameters:  # another key draws other variants: every sheet is graded anew
            head += f"\nvariants drawn with {fingerprint(options.variant_key)}"
        self.problem_digest = text_digest(f"{head}\n{spec.model_dump_json()}")
        self.part_digests = {
            address: part_digest(part, self.version, self.setup.draw_secret)
            for address, _, part in spec.iter_parts()
        }
        # What an edit re-run needs of this problem set, and of the ones the store was graded with.
        self.spec_record = SpecRecord(self.problem_digest, spec_view(spec, head), dict(self.part_digests))
        # An edited part's answers are rechecked once for all sheets; not across variants.
        editable = store is not None and not spec.parameters
        self.earlier = earlier_specs(store, self.spec_record) if editable and store is not None else []
        self.records: dict[str, StoredSubmission] = store.submissions() if store else {}
        self.kept: dict[str, Report] = {}  # the reports received whole (no store, failed submissions)
        self.rows = ClassRows([])
        self.last_gradebook = time.monotonic()
        self.gradebook_every = GRADEBOOK_EVERY_SECONDS
        self.verdicts_read: dict[VerdictKey, Verdict] = {}  # see _stored_verdicts
        self.digests: dict[str, SubmissionTask] = {}  # the tasks graded, as their workers digested them

    def problem_set_key(self, task: SubmissionTask, problem_digest: str | None = None) -> str:
        """The key of the sheet's report: this problem set's (or the one of ``problem_digest``),
        its file stem and its hand grades."""
        hand = self.hand_digests.get(task.key)  # a changed hand grade makes the report anew
        problem = problem_digest or self.problem_digest
        return text_digest(f"{problem}\n{task.stem}" + (f"\nhand {hand}" if hand else ""))

    def execute(self, tasks: list[SubmissionTask], on_progress: Progress | None) -> BatchResult:
        result = BatchResult(rows=[])
        self.rows = ClassRows(tasks)
        gc.freeze()  # the plan and the store's records, kept all run long
        if self.options.out is not None:
            result.removed_temporaries = remove_stale_temporaries(self.options.out)
        # A folder the store holds is digested now, to compare; any other is graded whatever
        # its digest, which its worker takes before it reads the folder (so a folder changed
        # meanwhile is graded again next run).
        tasks = [digested(task) if task.key in self.records else task for task in tasks]
        todo = [task for task in tasks if not self._from_store(task)]
        todo, edited = self._edited(todo)
        if on_progress:
            on_progress(len(self.rows.rows), len(tasks))
        result.checked = self._check_once(edited)
        todo += self._keep_unmoved(edited, result)
        if todo:  # an unchanged re-run starts no worker (and no cluster)
            self._grade(todo, result, len(tasks), on_progress)
        dashboard = self._finish(result, tasks, len(todo))
        if dashboard is not None and self.store is not None:
            self.store.set_meta("dashboard", dashboard)  # once the store holds what it was made from
        return result

    def _finish(self, result: BatchResult, tasks: list[SubmissionTask], regraded: int) -> str | None:
        """The run's rows, grades.csv and the dashboard; what the dashboard was made from (None:
        the one on disk was made from exactly these submissions, and is kept)."""
        result.rows = self.rows.ordered([task.key for task in tasks])
        result.reader = ReportReader(self.kept, self.options.store_path(), self.rows.rows)
        result.regraded = regraded
        result.clashes = _clashes(result.rows)
        if self.output is None:
            return None
        made_from = self._dashboard_made_from([self.digests.get(task.key, task) for task in tasks])
        result.changes = self.output.finish(self.rows.gradebook)
        if made_from is None:
            return None
        self.rows.write_dashboard(self.output.path, self.spec)
        return made_from if self.store is not None else None

    def _grade(
        self, todo: list[SubmissionTask], result: BatchResult, total: int, on_progress: Progress | None
    ) -> None:
        # Only here: an unchanged re-run grades nothing and needs no executor (pebble, processes).
        from grader.batch.executors import ExecutorLost, LocalExecutor

        executor = self.options.executor or LocalExecutor(self.options.jobs)
        try:
            for chunk in executor.grade(self.setup, self._chunks(todo, executor)):
                self._keep(chunk, result)
                if on_progress:
                    on_progress(len(self.rows.rows), total)
        except ExecutorLost:
            if self.output is not None:  # every finished student is written; the run is resumable
                self.output.write_gradebook(self.rows.gradebook)
            raise

    def _dashboard_made_from(self, tasks: list[SubmissionTask]) -> str | None:
        """What the class dashboard of these submissions is made from; None when the one on disk
        was made from exactly that (it is kept)."""
        assert self.output is not None
        made_from = text_digest(
            self.problem_digest + "".join(f"\n{t.key} {t.digest} {t.stem}" for t in tasks)
        )
        if (
            self.store is not None
            and self.store.meta("dashboard") == made_from
            and self.output.has_dashboard()
        ):
            return None
        return made_from

    def _from_store(self, task: SubmissionTask) -> bool:
        record = self.records.get(task.key)
        if record is None or record.source != task.digest or record.problem_set != self.problem_set_key(task):
            return False
        if self.output is not None and not self.output.intact(record.artefacts):
            return False
        self.rows.add(task.key, record.row, now=False)
        return True

    def _edited(self, todo: list[SubmissionTask]) -> tuple[list[SubmissionTask], list[EditedSheet]]:
        """The tasks a worker must see, and the stored sheets graded with an earlier problem set
        that differs from this one in verdicts only (see grader.batch.edits), their folders and
        files unchanged."""
        if not self.earlier:
            return todo, []
        others, edited = [], []
        for task in todo:
            sheet = self._edited_sheet(task)
            if sheet is None:
                others.append(task)
            else:
                edited.append(sheet)
        return others, edited

    def _edited_sheet(self, task: SubmissionTask) -> EditedSheet | None:
        record = self.records.get(task.key)
        if record is None or record.source != task.digest:
            return None
        for earlier in self.earlier:
            if record.problem_set != self.problem_set_key(task, earlier.problem):
                continue
            pairs = verdict_pairs(record.answers, record.row, earlier, self.spec_record)
            if pairs is None or (self.output is not None and not self.output.intact(record.artefacts)):
                return None
            return EditedSheet(task, record.row, pairs, edited_parts(earlier, self.spec_record))
        return None

    def _check_once(self, edited: list[EditedSheet]) -> int:
        """Have each edited part's answer the store has no verdict for checked once across the
        class (the first sheet that gives it is read by a worker, which checks the edited parts
        only), and stored; the number of sheets read so."""
        if not edited:
            return 0
        assert self.store is not None
        chosen = [edited[i] for i in checking_once(edited, set(self.store.verdict_blobs(keys_now(edited))))]
        if not chosen:
            return 0
        addresses = sorted({address for sheet in chosen for address in sheet.edited})
        tasks = [sheet.task for sheet in chosen]
        self._store_checked(replace(self.setup, check_only=tuple(addresses)), tasks)
        return len(tasks)

    def _store_checked(self, setup: WorkerSetup, tasks: list[SubmissionTask]) -> None:
        """Have workers check ``setup.check_only``'s parts of these sheets; store the verdicts."""
        from grader.batch.executors import LocalExecutor

        assert self.store is not None
        executor = self.options.executor or LocalExecutor(self.options.jobs)
        for chunk in executor.grade(setup, self._chunked(tasks, executor)):
            verdicts = [
                (part, answer, blob)
                for graded in chunk
                if not graded.failed
                for (part, answer), blob in graded.verdicts.items()
            ]
            self.store.save_verdicts(verdicts)

    def _keep_unmoved(self, edited: list[EditedSheet], result: BatchResult) -> list[SubmissionTask]:
        """Keep each edited sheet whose verdicts did not move (its stored report, row and
        files, its store entry under this problem set's key); the others, to grade again."""
        if not edited:
            return []
        assert self.store is not None
        keys = {key for sheet in edited for pair in sheet.pairs for key in pair}
        blobs = self.store.verdict_blobs(keys)
        moved, kept = [], []
        for sheet in edited:
            if not unmoved(sheet, blobs):
                moved.append(sheet.task)
                continue
            row = without_meanings(sheet.row, sheet.edited)
            self.rows.add(sheet.task.key, row, now=False)
            kept.append((sheet.task.key, self.problem_set_key(sheet.task), packed(row)))
        self.store.rekey(kept)
        result.kept_after_edit = len(kept)
        return moved

    def _chunks(self, todo: list[SubmissionTask], executor: Executor) -> Iterator[Chunk]:
        # Each folder is digested by the worker that reads it, before it reads it (see
        # grader.batch.worker.grade_task), or by the executor that ships it.
        return ([self._with_prior(task) for task in chunk] for chunk in self._chunked(todo, executor))

    def _chunked(self, tasks: list[SubmissionTask], executor: Executor) -> Iterator[Chunk]:
        # Sized when the executor asks for the first chunk: a cluster knows its workers by then.
        fixed = self.options.chunk_size
        workers = getattr(executor, "parallelism", self.options.jobs)
        sizes = itertools.repeat(fixed) if fixed else chunk_sizes(len(tasks), executor, workers)
        start = 0
        for size in sizes:
            if start >= len(tasks):
                return
            yield tasks[start : start + size]
            start += size

    def _with_prior(self, task: SubmissionTask) -> SubmissionTask:
        """The task with the stored verdicts of its unchanged answers to unchanged parts, and
        what its files on disk show (if the new report is the same, they are kept)."""
        record = self.records.get(task.key)
        if self.store is None or record is None:
            return task
        keys: list[VerdictKey] = [
            (self.part_digests[address], answer)
            for address, answer in record.answers.items()
            if address in self.part_digests
        ]
        intact = self.output is not None and self.output.intact(record.artefacts)
        prior = self._stored_verdicts(keys)
        return replace(
            task, prior=prior, rendered=record.made_from if intact else None, earlier=tuple(record.artefacts)
        )

    def _stored_verdicts(self, keys: list[VerdictKey]) -> dict[VerdictKey, Verdict]:
        """The stored verdicts among ``keys``, each read from the store once a run (a key not
        found is asked again: a worker may have stored its verdict since)."""
        assert self.store is not None
        read = self.verdicts_read
        unread = [key for key in keys if key not in read]
        if unread:
            if len(read) + len(unread) > VERDICTS_KEPT:
                read.clear()
                unread = keys
            read.update(self.store.verdicts(unread))
        return {key: read[key] for key in keys if key in read}

    def _keep(self, chunk: list[Graded], result: BatchResult) -> None:
        """Write the chunk's files, then store it in one transaction (a run stopped at any point
        keeps every chunk stored, and its files); grades.csv every few seconds."""
        finished = []
        for graded in chunk:
            records: dict[str, str] | str
            if graded.written is None:
                records = self._write_files(graded)
            else:  # the worker wrote them: their records as stored
                records = (
                    graded.blobs.files if graded.blobs is not None and graded.blobs.files else graded.written
                )
            finished.append((graded, graded.task.digest, self.problem_set_key(graded.task), records))
            self.digests[graded.task.key] = graded.task  # as its worker digested it
            self.rows.add(graded.task.key, graded.summary(), now=True)
            if graded.report is not None:  # not in the store (none, or a failed submission's)
                self.kept[graded.task.key] = graded.report
            result.failed += graded.failed
        gc.freeze()  # these rows and reports are kept to the end (freezing costs nothing)
        if finished and self.store is not None:
            self.store.save(finished)
        if self.output is not None and time.monotonic() - self.last_gradebook > self.gradebook_every:
            started = time.monotonic()
            self.output.write_gradebook(self.rows.gradebook)
            self.last_gradebook = time.monotonic()
            # A large class's gradebook takes seconds to rebuild: never more than a tenth of the run.
            self.gradebook_every = max(GRADEBOOK_EVERY_SECONDS, 10 * (self.last_gradebook - started))

    def _write_files(self, graded: Graded) -> dict[str, str]:
        earlier = self.records.get(graded.task.key)
        if graded.kept_files and earlier is not None:
            return earlier.artefacts
        if self.output is None:
            return {}
        return write_student_files(self.output.path, graded.artefacts, earlier.artefacts if earlier else ())


def chunk_sizes(count: int, executor: object, workers: int) -> Iterator[int]:
    """The sizes of the chunks of ``count`` sheets: enough chunks to keep every worker busy to
    the end (six a worker at least), few enough to amortise sending (at most 16 sheets, or the
    executor's ``largest_chunk``: a cluster's driver spends about a millisecond a chunk whatever
    its size); then smaller towards the end (a third of a worker's share of what is left), so
    that the workers finish together rather than one waiting on another's last large chunk."""
    largest = max(1, min(getattr(executor, "largest_chunk", LARGEST_CHUNK), count // (workers * 6)))
    left = count
    while left > 0:
        yield (size := max(1, min(largest, left // (3 * workers))))
        left -= size


def _clashes(rows: list[SheetRow]) -> dict[str, list[str]]:
    flags = name_clashes([(r.student, r.folder or "") for r in rows])
    clashes: dict[str, list[str]] = {}
    for row in rows:
        if (row.folder or "") in flags:
            clashes.setdefault(row.student, []).append(row.folder or "")
    return clashes
