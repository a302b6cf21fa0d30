"""A batch run: plan the class, take what the verdict store already holds, grade the rest
on an executor, write what comes back.

Each finished chunk is written (student files, then one store transaction), so a
run stopped at any point (Ctrl-C, SIGKILL, a crash) keeps every finished
student, and the next run picks up where it stopped. ``grades.csv`` is written
every few seconds and at the end, never once per student.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from grader.batch.executors import Chunk, Executor, ExecutorLost, InProcessExecutor, LocalExecutor
from grader.batch.output import OutputFolder, ScoreChange
from grader.batch.plan import plan
from grader.batch.store import STORE_FILE, StoredSubmission, VerdictStore, code_version
from grader.batch.worker import Graded, SubmissionTask, VerdictKey, WorkerSetup, part_digest
from grader.core.files import remove_stale_temporaries
from grader.core.report import Report
from grader.core.verdict import Status
from grader.reporting.reporters import name_clashes
from grader.spec import ProblemSet

GRADEBOOK_EVERY_SECONDS = 10.0
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

    def store_path(self) -> Path | None:
        if not self.use_cache:
            return None
        if self.cache is not None:
            return self.cache
        return None if self.out is None else self.out / STORE_FILE


@dataclass
class BatchResult:
    reports: list[Report]  # in the order of the folders given
    regraded: int = 0  # submissions sent to a worker
    failed: int = 0  # submissions whose worker died or was stopped
    changes: list[ScoreChange] = field(default_factory=list)
    clashes: dict[str, list[str]] = field(default_factory=dict)  # student name -> folders
    removed_temporaries: list[Path] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def with_errors(self) -> int:
        return sum(1 for r in self.reports if r.error or any(p.status is Status.ERROR for p in r.parts))


def run_batch(
    spec: ProblemSet,
    root: Path,
    folders: list[Path],
    options: BatchOptions,
    on_progress: Progress | None = None,
) -> BatchResult:
    started = time.monotonic()
    store_path = options.store_path()
    store = VerdictStore(store_path) if store_path is not None else None
    try:
        run = _Run(spec, options, store)
        result = run.execute(plan(root, folders), on_progress)
    finally:
        if store is not None:
            store.close()
    result.seconds = time.monotonic() - started
    return result


def grade_one_in_process(spec: ProblemSet, folder: Path, options: BatchOptions) -> BatchResult:
    """One submission folder, graded in this process (its class is its parent folder)."""
    return run_batch(spec, folder.parent, [folder], replace(options, executor=InProcessExecutor()))


class _Run:
    def __init__(self, spec: ProblemSet, options: BatchOptions, store: VerdictStore | None):
        self.spec = spec
        self.options = options
        self.store = store
        self.version = code_version(deciding_only=True)  # verdicts
        rendering = code_version()  # reports: any change of grader's code makes them anew
        store_path = options.store_path()
        self.setup = WorkerSetup(
            spec,
            options.show_expected,
            self.version,
            rendering,
            store=str(store_path) if store_path else None,
        )
        self.problem_digest = _digest(f"{rendering}\n{options.show_expected}\n{spec.model_dump_json()}")
        self.part_digests = {
            address: part_digest(part, self.version) for address, _, part in spec.iter_parts()
        }
        self.records: dict[str, StoredSubmission] = store.submissions() if store else {}
        self.output = OutputFolder(options.out) if options.out else None
        self.reports: dict[str, Report] = {}
        self.last_gradebook = time.monotonic()

    def problem_set_key(self, task: SubmissionTask) -> str:
        return _digest(f"{self.problem_digest}\n{task.stem}")

    def execute(self, tasks: list[SubmissionTask], on_progress: Progress | None) -> BatchResult:
        result = BatchResult(reports=[])
        if self.options.out is not None:
            result.removed_temporaries = remove_stale_temporaries(self.options.out)
        todo = [task for task in tasks if not self._from_store(task)]
        if on_progress:
            on_progress(len(self.reports), len(tasks))
        if todo:  # an unchanged re-run starts no worker (and no cluster)
            self._grade(todo, result, len(tasks), on_progress)
        result.reports = [self.reports[task.key] for task in tasks]
        result.regraded = len(todo)
        result.clashes = _clashes(result.reports)
        if self.output is not None:
            result.changes = self.output.finish(result.reports)
            self._write_dashboard(tasks, result.reports)
        return result

    def _grade(
        self, todo: list[SubmissionTask], result: BatchResult, total: int, on_progress: Progress | None
    ) -> None:
        executor = self.options.executor or LocalExecutor(self.options.jobs)
        try:
            for chunk in executor.grade(self.setup, self._chunks(todo)):
                self._finish_chunk(chunk, result)
                if on_progress:
                    on_progress(len(self.reports), total)
        except ExecutorLost:
            if self.output is not None:  # every finished student is written; the run is resumable
                self.output.write_gradebook(list(self.reports.values()))
            raise

    def _write_dashboard(self, tasks: list[SubmissionTask], reports: list[Report]) -> None:
        """The class dashboard, unless the one on disk was made from exactly these submissions."""
        assert self.output is not None
        made_from = _digest(self.problem_digest + "".join(f"\n{t.key} {t.digest} {t.stem}" for t in tasks))
        if (
            self.store is not None
            and self.store.meta("dashboard") == made_from
            and self.output.has_dashboard()
        ):
            return
        self.output.write_dashboard(reports, self.spec, [task.stem for task in tasks])
        if self.store is not None:
            self.store.set_meta("dashboard", made_from)

    def _from_store(self, task: SubmissionTask) -> bool:
        record = self.records.get(task.key)
        if record is None or record.source != task.digest or record.problem_set != self.problem_set_key(task):
            return False
        if self.output is not None and not self.output.intact(record.artefacts):
            return False
        self.reports[task.key] = record.report
        return True

    def _chunks(self, todo: list[SubmissionTask]) -> Iterator[Chunk]:
        size = self.options.chunk_size or _chunk_size(len(todo), self.options.jobs)
        for start in range(0, len(todo), size):
            yield [self._with_prior(task) for task in todo[start : start + size]]

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
        return replace(task, prior=self.store.verdicts(keys), rendered=record.made_from if intact else None)

    def _finish_chunk(self, chunk: list[Graded], result: BatchResult) -> None:
        finished = []
        for graded in chunk:
            key = graded.task.key
            earlier = self.records.get(key)
            digests = {}
            if graded.kept_files and earlier is not None:
                digests = earlier.artefacts
            elif self.output is not None:
                digests = self.output.write_student(graded, earlier.artefacts if earlier else ())
            finished.append((graded, graded.task.digest, self.problem_set_key(graded.task), digests))
            self.reports[key] = graded.report
            result.failed += graded.failed
        if self.store is not None:
            self.store.save(finished)
        if self.output is not None and time.monotonic() - self.last_gradebook > GRADEBOOK_EVERY_SECONDS:
            self.output.write_gradebook(list(self.reports.values()))
            self.last_gradebook = time.monotonic()


def _chunk_size(count: int, jobs: int) -> int:
    """Enough chunks to keep every worker busy to the end, few enough to amortise sending."""
    return max(1, min(16, count // (jobs * 6)))


def _clashes(reports: list[Report]) -> dict[str, list[str]]:
    flags = name_clashes([(r.student, r.folder or "") for r in reports])
    clashes: dict[str, list[str]] = {}
    for report in reports:
        if (report.folder or "") in flags:
            clashes.setdefault(report.student, []).append(report.folder or "")
    return clashes


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]
