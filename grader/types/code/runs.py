"""Jobs for the runner, run in as few sandboxes as possible and remembered by what they are.

A job is everything the runner needs to run one program on one part's trials: the
code, the scaffold, the harness, the inputs, the limits. Its key is the digest of
that whole description (with the runner's own digest and how code is isolated),
so two jobs share a result only when they would run the very same thing.

References (and the buggy references of listed mistakes) and students never share a
sandbox: a student's code never sees the reference. A submission's code parts run
together in one sandbox (:func:`prepare`, called by the engine before its parts
are checked); a check then finds its result here.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from grader.core.drawing import answer_seed
from grader.types.code.part import CodePart
from grader.types.code.sandbox import RUNNER, NoSandbox, isolation, site_directories
from grader.types.code.source import Program, program
from grader.types.code.structure import Pool, covered, draw_pool
from grader.types.code.trials import Trial, draw_trials
from grader.types.code.warm import run as warm_run

FILE_SIZE_MB = 16  # the largest file a job may write (in its private /tmp)
PROCESSES = 32  # processes a job's user may have (as root: all sandboxes' jobs together)
STARTUP_SECONDS = {"numpy": 20.0, "torch": 40.0}  # a loaded machine starting Python and importing
CACHE_SIZE = 4096
run_runner = warm_run  # the warm sandbox, else a cold one (a test replaces it: no sandbox)


def startup_seconds(frameworks: Iterable[str]) -> float:
    """What starting a sandbox that imports these frameworks may take, on a loaded machine."""
    return max(STARTUP_SECONDS.get(name, max(STARTUP_SECONDS.values())) for name in frameworks)


def job_seconds(time_limit: float) -> float:
    """The longest a job may run: its wall-clock limit in the runner, and a second to spare."""
    return 2 * time_limit + 2


_RUNNER_DIGEST = hashlib.sha256(RUNNER.read_bytes()).hexdigest()[:16]

Job = dict[str, Any]
Record = dict[str, Any]

_CACHE: OrderedDict[str, Record] = OrderedDict()
# Results a re-run might not give (a job stopped at its time limit): kept for the checks
# of the submission being graded, never reused after.
_RECENT: dict[str, Record] = {}


_TEXTS: OrderedDict[str, str] = OrderedDict()
_JOBS: OrderedDict[tuple[Any, ...], tuple[CodePart, Job | None]] = OrderedDict()
_DRAWN: OrderedDict[tuple[int, int], tuple[CodePart, list[Trial]]] = OrderedDict()
KEPT_JOBS = 512  # a submission's jobs (a few per code part) many times over
KEPT_DRAWS = 64


def _memo(part: CodePart, key: tuple[Any, ...], make: Callable[[], Job | None]) -> Job | None:
    """A job built once (a submission's checks ask for the same ones many times): keyed by
    the part's identity and what the job runs; a job is never changed once built."""
    found = _JOBS.get((id(part), *key))
    if found is not None and found[0] is part:
        _JOBS.move_to_end((id(part), *key))
        return found[1]
    job = make()
    _JOBS[(id(part), *key)] = (part, job)
    if len(_JOBS) > KEPT_JOBS:
        _JOBS.popitem(last=False)
    return job


def trials_for(part: CodePart, seed: int) -> list[Trial]:
    """The base trials of an answer's seed (drawn once per part and seed; never changed)."""
    found = _DRAWN.get((id(part), seed))
    if found is not None and found[0] is part:
        return found[1]
    trials = draw_trials(part, seed)
    _DRAWN[(id(part), seed)] = (part, trials)
    if len(_DRAWN) > KEPT_DRAWS:
        _DRAWN.popitem(last=False)
    return trials


def seed_for(part: CodePart, code: Program) -> int:
    """The seed of the trials an answer is graded on (see grader.core.drawing)."""
    return answer_seed(part.seed, code.text)


def build_job(
    part: CodePart, code: Program, seed: int, trials: Sequence[Trial] | None = None, trace: bool = False
) -> Job:
    """The job that runs ``code`` on ``trials`` (by default the cases, edges and random draws
    from ``seed``); ``trace``: with the line pairs of its own code each trial ran."""
    trials = trials_for(part, seed) if trials is None else trials
    job: Job = {
        "framework": part.framework,
        "sources": [
            {"file": "<given>", "text": part.given},
            {"file": "<answer>", "text": code.text},
        ],
        "attach": [list(pair) for pair in code.attach],
        "harness": part.harness,
        "entry": part.entry_name,
        "argument_order": list(part.inputs),
        "trials": [trial.as_data() for trial in trials],
        "time_limit": part.time_limit,
        "memory_mb": part.memory_limit,
        "file_size_mb": FILE_SIZE_MB,
        "processes": PROCESSES,
    }
    if trace:
        job["trace"] = True
    text = job_text(job, trials)
    job["id"] = _key(text)
    _TEXTS[job["id"]] = f'{text[:-1]}, "id": "{job["id"]}"}}'  # the job as sent: encoded once
    if len(_TEXTS) > KEPT_JOBS:
        _TEXTS.popitem(last=False)
    return job


def job_text(job: Job, trials: Sequence[Trial]) -> str:
    """``json.dumps(job, sort_keys=True, allow_nan=True)``, with each trial's text as the trial
    encoded it once ("trials" sorts after every other key of a job)."""
    head = json.dumps(
        {key: value for key, value in job.items() if key != "trials"}, sort_keys=True, allow_nan=True
    )
    return f'{head[:-1]}, "trials": [{", ".join(trial.as_text() for trial in trials)}]}}'


def _key(text: str) -> str:
    return hashlib.sha256(f"{_RUNNER_DIGEST}\n{isolation()}\n{text}".encode()).hexdigest()[:32]


def reference_job(part: CodePart, reference: Any, seed: int) -> Job:
    job = _memo(
        part,
        ("reference", reference, seed),
        lambda: build_job(part, program(part, reference, reference=True), seed),
    )
    assert job is not None
    return job


_POOLS: OrderedDict[tuple[int, int], tuple[CodePart, Pool]] = OrderedDict()


def pool_for(part: CodePart, seed: int) -> Pool:
    """The structured trials of an answer's seed (drawn once per part and seed)."""
    found = _POOLS.get((id(part), seed))
    if found is not None and found[0] is part:
        return found[1]
    pool = draw_pool(part, seed)
    _POOLS[(id(part), seed)] = (part, pool)
    if len(_POOLS) > 64:
        _POOLS.popitem(last=False)
    return pool


def structured_reference_job(part: CodePart, reference: Any, seed: int) -> Job | None:
    """The reference on every structured trial and twin, traced (None: the part has none)."""

    def make() -> Job | None:
        pool = pool_for(part, seed)
        if not pool.trials:
            return None
        return build_job(part, program(part, reference, reference=True), seed, pool.trials, trace=True)

    return _memo(part, ("structured", reference, seed), make)


def structured_mistake_job(part: CodePart, mistake: Any, seed: int) -> Job | None:
    """A listed mistake on the structured trials an answer may run (no twins)."""

    def make() -> Job | None:
        pool = pool_for(part, seed)
        if not pool.trials:
            return None
        return build_job(part, program(part, mistake, reference=True), seed, pool.plain)

    return _memo(part, ("mistake", mistake, seed), make)


def reference_jobs(part: CodePart, seed: int, mistakes: bool = False) -> list[Job]:
    """What the TA's code runs for an answer's seed: the reference's base and structured jobs,
    then (``mistakes``) each listed mistake's. A mistake's are needed only for an answer that
    is not correct (:func:`checker.same_mistake` runs them then): most answers never do."""
    jobs = [reference_job(part, part.answer, seed), structured_reference_job(part, part.answer, seed)]
    for mistake in part.mistakes if mistakes else ():
        jobs += [
            reference_job(part, mistake.answer, seed),
            structured_mistake_job(part, mistake.answer, seed),
        ]
    return [job for job in jobs if job is not None]


def structured_count(part: CodePart, seed: int) -> int:
    """How many structured trials an answer runs: as many as the reference's behaviour asks
    (see structure.covered), 0 when the reference did not run them all."""
    job = structured_reference_job(part, part.answer, seed)
    if job is None:
        return 0
    pool, record = pool_for(part, seed), results([job]).get(job["id"], {})
    found = _COUNTS.get(job["id"])
    if found is not None and found[0] is pool and found[1] is record:
        return found[2]  # the same pool and the same record: covered() would say the same
    count = covered(pool, record)
    _COUNTS[job["id"]] = (pool, record, count)
    if len(_COUNTS) > KEPT_DRAWS:  # as many as the pools kept: it holds its pool and record
        _COUNTS.popitem(last=False)
    return count


# structured_count's answer by the reference's structured job: its pool and record (the very
# objects: a record run again, or a pool drawn again, is counted again) and the count. A
# submission's checks ask for it again for every answer job they look up.
_COUNTS: OrderedDict[str, tuple[Pool, Record, int]] = OrderedDict()


def answer_job(part: CodePart, code: Program, seed: int) -> Job:
    """The job that runs an answer: the base trials, then its share of the structured ones."""
    count = structured_count(part, seed)  # the reference's run decides it: never remembered here

    def make() -> Job:
        if not count:
            return build_job(part, code, seed)
        return build_job(part, code, seed, [*trials_for(part, seed), *pool_for(part, seed).plain[:count]])

    job = _memo(part, ("answer", code, seed, count), make)
    assert job is not None
    return job


def results(jobs: Sequence[Job]) -> dict[str, Record]:
    """Each job's record, by id: remembered, or run now (all the missing ones in one sandbox,
    a fresh one for those after a job that ended the sandbox)."""
    found = {job["id"]: _known(job["id"]) for job in jobs}
    pending = _unique(job for job in jobs if found[job["id"]] is None)
    while pending:
        records = _run_once(pending)
        for job in pending:
            if job["id"] in records:
                _remember(job["id"], records[job["id"]])
                found[job["id"]] = records[job["id"]]
        if not any(job["id"] in records for job in pending):  # never loop on a sandbox that gives nothing
            for job in pending:
                found[job["id"]] = {"job": job["id"], "lost": "the sandbox gave no result"}
            break
        pending = [job for job in pending if job["id"] not in records]
    return {key: record for key, record in found.items() if record is not None}


def _known(key: str) -> Record | None:
    record = _CACHE.get(key)
    if record is not None:
        _CACHE.move_to_end(key)
        return record
    return _RECENT.get(key)


def _unique(jobs: Iterable[Job]) -> list[Job]:
    return list({job["id"]: job for job in jobs}.values())


def _remember(key: str, record: Record) -> None:
    if record.get("killed") in ("time", "cpu") or "lost" in record:
        _RECENT[key] = record
        return
    _CACHE[key] = record
    if len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)


def _run_once(jobs: list[Job]) -> dict[str, Record]:
    """One sandbox for ``jobs``: the records it gave, plus a ``lost`` record for the job it was
    running when it ended early (so the jobs after it run again, in a fresh sandbox)."""
    frameworks = sorted({"numpy", *(job["framework"] for job in jobs)})
    wall = startup_seconds(frameworks) + sum(job_seconds(job["time_limit"]) for job in jobs)
    request: dict[str, Any] = {"paths": site_directories(), "frameworks": frameworks, "jobs": jobs}
    texts = [_TEXTS.get(job["id"]) for job in jobs]
    if all(texts):
        request["texts"] = texts  # what the warm sandbox sends, encoded when the job was built
    output = run_runner(request, wall)
    records = {r["job"]: r for r in output.records if isinstance(r.get("job"), str)}
    started = [r["start"] for r in output.records if isinstance(r.get("start"), str)]
    unfinished = [key for key in started if key not in records]
    if unfinished:
        reason = "wall clock" if output.timed_out else "sandbox ended"
        records[unfinished[0]] = {"job": unfinished[0], "lost": reason}
    elif not records:  # the sandbox did not start a single job
        detail = output.diagnostics or f"exit status {output.returncode}"
        for job in jobs:
            records[job["id"]] = {"job": job["id"], "lost": f"the sandbox could not start ({detail})"}
    return records


def prepare(pairs: Sequence[tuple[CodePart, Any]]) -> None:
    """Run every reference and every answer of one submission's code parts, on the trials of
    each answer: references in one sandbox, the answers together in another."""
    _RECENT.clear()
    try:
        isolation()
    except NoSandbox:
        return
    references: list[Job] = []
    programs: list[tuple[CodePart, Program, int]] = []
    for part, answer in pairs:
        try:
            code = program(part, answer)
            seed = seed_for(part, code)
            references.extend(reference_jobs(part, seed))
            programs.append((part, code, seed))
        except Exception:  # the part's own check reports what is wrong
            continue
    results(references)
    answers: list[Job] = []
    for part, code, seed in programs:
        try:
            answers.append(answer_job(part, code, seed))
        except Exception:
            continue
    results(answers)
