"""Batch runs: workers that die, the verdict store, identity, merged gradebooks, resume."""

from __future__ import annotations

import csv
import dataclasses
import gc
import multiprocessing
import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import TypeAdapter

from grader.batch import BatchOptions, LocalExecutor, run_batch, submission_folders, worker
from grader.batch.executors import InProcessExecutor
from grader.batch.runner import chunk_sizes
from grader.batch.store import STORE_FILE, VerdictStore
from grader.cli import main
from grader.core import timelimit
from grader.core import timelimit as check_limits
from grader.core.integrity import seal
from grader.core.verdict import Status, Verdict
from grader.core.yamlio import load_with_positions
from grader.engine import check_unavailable
from grader.loading import load_problem_set
from grader.spec import Part, ProblemSet
from grader.types import ANSWER_TYPES

FIXTURES = Path(__file__).parent / "fixtures"
BASICS = FIXTURES / "basics.yaml"
CLASS = FIXTURES / "class"
NUMBER_PART = "params"  # the number part of basics.yaml


def make_class(root: Path, answers: dict[str, str]) -> Path:
    """A class folder with one answers.yaml per student (folder name -> file text)."""
    for folder, text in answers.items():
        (root / folder).mkdir(parents=True)
        (root / folder / "answers.yaml").write_text(text)
    return root


def sheet(params: str, student: str | None = None) -> str:
    head = f"student: {student}\n" if student else ""
    return head + f"answers:\n  conv.full: [1, 2, 5, 8, 6, 8]\n  params: {params}\n  kind: B\n"


def run(spec: ProblemSet, root: Path, out: Path | None, **options: Any) -> Any:
    batch = BatchOptions(out=out, **options)
    return run_batch(spec, root, submission_folders(root), batch)


def rows(path: Path) -> dict[str, dict[str, str]]:
    """grades.csv rows by folder."""
    with path.open(newline="") as stream:
        return {row["folder"]: row for row in csv.DictReader(stream) if row["student"] != "points possible"}


def patch_check(monkeypatch: pytest.MonkeyPatch, type_name: str, check: Callable[..., Verdict]) -> None:
    """Replace one answer type's checker; forked pool workers inherit the replacement."""
    monkeypatch.setitem(ANSWER_TYPES, type_name, dataclasses.replace(ANSWER_TYPES[type_name], check=check))


class CallCounter:
    """Counts the checks that really ran, across every answer type (in this process)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.calls: list[tuple[str, Any]] = []
        for name, answer_type in list(ANSWER_TYPES.items()):
            patch_check(monkeypatch, name, self._wrap(answer_type.check))

    def _wrap(self, check: Callable[..., Verdict]) -> Callable[..., Verdict]:
        def counted(part: Any, answer: Any) -> Verdict:
            self.calls.append((part.id, answer))
            return check(part, answer)

        return counted

    def take(self) -> list[tuple[str, Any]]:
        calls, self.calls = self.calls, []
        return calls


@pytest.fixture
def spec() -> ProblemSet:
    return load_problem_set(BASICS)


# ---------------------------------------------------------------------------
# Workers that die, hang or allocate too much


def _kill_own_worker(part: Any, answer: Any) -> Verdict:
    if str(answer) == "666":
        os.kill(os.getpid(), signal.SIGKILL)
    return Verdict.correct()


def test_a_submission_that_kills_its_worker_costs_one_error_row_and_the_class_goes_on(
    tmp_path: Path, spec: ProblemSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    patch_check(monkeypatch, "number", _kill_own_worker)
    students = {f"s{i:02d}": sheet("666" if i == 4 else "131072") for i in range(10)}
    root = make_class(tmp_path / "class", students)
    result = run(spec, root, tmp_path / "out", executor=LocalExecutor(2), chunk_size=3)
    by_folder = {r.folder: r for r in result.reports}
    assert sorted(by_folder) == sorted(students)
    dead = by_folder["s04"]
    # graded alone twice more (a worker killed from outside would have cost nothing), then the row
    assert dead.error is not None and "SIGKILL" in dead.error and "each of the 3 times" in dead.error
    assert {p.status for p in dead.parts} == {Status.ERROR}
    for folder, report in by_folder.items():
        if folder != "s04":
            assert report.error is None and report.score == 5, folder
    assert result.failed == 1
    assert "SIGKILL" in rows(tmp_path / "out" / "grades.csv")["s04"]["error"]
    assert (tmp_path / "out" / "s04.json").exists()


def _hang_in_compiled_code(part: Any, answer: Any) -> Verdict:
    """Spins with the time limit's signals ignored, as a check stuck inside C code never sees them."""
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    signal.signal(signal.SIGPROF, signal.SIG_IGN)
    while str(answer) == "777":
        pass
    return Verdict.correct()


def test_a_check_hung_in_compiled_code_is_stopped_by_the_watchdog(
    tmp_path: Path, spec: ProblemSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    patch_check(monkeypatch, "number", _hang_in_compiled_code)
    monkeypatch.setattr(check_limits, "GRACE_SECONDS", 0.5)
    fast = spec.model_copy(
        update={"questions": tuple(_with_limits(q, time_limit=0.2) for q in spec.questions)}
    )
    root = make_class(tmp_path / "class", {"hangs": sheet("777"), "fine": sheet("131072")})
    started = time.monotonic()
    result = run(fast, root, None, executor=LocalExecutor(1))
    assert time.monotonic() - started < 20
    by_folder = {r.folder: r for r in result.reports}
    assert "time limit" in (by_folder["hangs"].error or "")
    assert by_folder["fine"].error is None and by_folder["fine"].score == 5


def _with_limits(question: Any, **limits: Any) -> Any:
    return question.model_copy(update={"parts": tuple(p.model_copy(update=limits) for p in question.parts)})


def _allocate(part: Any, answer: Any) -> Verdict:
    hoard = bytearray(256 << 20)  # 256 MiB
    return Verdict.correct(f"held {len(hoard)} bytes")


@pytest.mark.parametrize(
    "executor", [InProcessExecutor, lambda: LocalExecutor(1)], ids=["in-process", "pool"]
)
def test_a_check_past_its_memory_limit_is_an_error_for_that_part(
    tmp_path: Path, spec: ProblemSet, monkeypatch: pytest.MonkeyPatch, executor: Callable[[], Any]
) -> None:
    patch_check(monkeypatch, "number", _allocate)
    small = spec.model_copy(
        update={"questions": tuple(_with_limits(q, memory_limit=64) for q in spec.questions)}
    )
    root = make_class(tmp_path / "class", {"greedy": sheet("1")})
    report = run(small, root, None, executor=executor()).reports[0]
    part = next(p for p in report.parts if p.id == NUMBER_PART)
    assert part.status is Status.ERROR and "64 MiB" in part.feedback and "memory_limit" in part.feedback
    assert next(p for p in report.parts if p.id == "conv.full").status is Status.CORRECT
    roomy = run(spec, root, None, executor=executor()).reports[0]
    assert next(p for p in roomy.parts if p.id == NUMBER_PART).status is Status.CORRECT


# ---------------------------------------------------------------------------
# The verdict store


def test_a_rerun_with_nothing_changed_grades_and_writes_nothing(
    tmp_path: Path, spec: ProblemSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = shutil.copytree(CLASS, tmp_path / "class")
    out = tmp_path / "out"
    counter = CallCounter(monkeypatch)
    first = run(spec, root, out, executor=InProcessExecutor())
    assert counter.take() and first.regraded == 4
    written = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    second = run(spec, root, out, executor=InProcessExecutor())
    assert counter.take() == [] and second.regraded == 0
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == written
    assert [r.score for r in second.reports] == [r.score for r in first.reports]


@pytest.mark.parametrize("when", ["before its worker reads it", "after its worker read it"])
def test_a_folder_changed_while_it_is_graded_is_graded_again_next_run(
    tmp_path: Path, spec: ProblemSet, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    """The worker digests a folder before it reads it: a change at any time during its grading
    makes the next run grade it again, never keep the report of what it read before."""
    root = make_class(tmp_path / "class", {"s1": sheet("1"), "s2": sheet("1")})
    out = tmp_path / "out"
    real_read = worker.read_within_limits

    def read_and_edit(task: Any, *args: Any, **kwargs: Any) -> Any:
        if task.key == "s1" and when == "before its worker reads it":
            (root / "s1" / "answers.yaml").write_text(sheet("131072"))
        submission = real_read(task, *args, **kwargs)
        if task.key == "s1" and when == "after its worker read it":
            (root / "s1" / "answers.yaml").write_text(sheet("131072"))
        return submission

    monkeypatch.setattr(worker, "read_within_limits", read_and_edit)
    run(spec, root, out, executor=InProcessExecutor())
    monkeypatch.setattr(worker, "read_within_limits", real_read)
    again = run(spec, root, out, executor=InProcessExecutor())
    assert again.regraded == 1  # s1 alone: s2 did not change
    assert rows(out / "grades.csv")["s1"][NUMBER_PART] == "2"  # 131072 is the right parameter count
    assert run(spec, root, out, executor=InProcessExecutor()).regraded == 0


def test_a_run_in_process_leaves_no_file_open(tmp_path: Path, spec: ProblemSet) -> None:
    """The service (``--workers 0``) and tests grade in-process run after run: the store's
    connections are closed by the run, not left to the garbage collector."""
    root = make_class(tmp_path / "class", {"s1": sheet("131072")})
    out = tmp_path / "out"
    run(spec, root, out, executor=InProcessExecutor())  # the store exists: the next runs read it
    gc.collect()
    gc.disable()
    try:
        before = len(os.listdir("/proc/self/fd"))
        for attempt in range(3):  # a changed answer each time: graded, the store looked up
            (root / "s1" / "answers.yaml").write_text(sheet(str(131073 + attempt)))
            assert run(spec, root, out, executor=InProcessExecutor()).regraded == 1
        after = len(os.listdir("/proc/self/fd"))
    finally:
        gc.enable()
    assert after == before


def test_after_a_part_is_edited_only_that_part_is_regraded(
    tmp_path: Path, spec: ProblemSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_class(tmp_path / "class", {f"s{i}": sheet(str(131072 + i * 50)) for i in range(4)})
    out = tmp_path / "out"
    run(spec, root, out, executor=InProcessExecutor())
    counter = CallCounter(monkeypatch)
    looser = spec.model_copy(
        update={
            "questions": tuple(
                _with_limits(q, rtol=1e-3) if q.id == NUMBER_PART else q for q in spec.questions
            )
        }
    )
    result = run(looser, root, out, executor=InProcessExecutor())
    assert sorted(counter.take()) == sorted((NUMBER_PART, 131072 + i * 50) for i in range(4))
    # 131072 * 1e-3 = 131: s0..s2 are now within tolerance, s3 (+150) is not.
    moved = {change.folder: change for change in result.changes}
    assert sorted(moved) == ["s1", "s2"]
    assert moved["s1"].moved == ((NUMBER_PART, "0", "2"),) and moved["s1"].new_total == "5"
    changes = (out / "changes.csv").read_text()
    assert "s1" in changes and "s3" not in changes


def test_after_a_student_changes_one_answer_only_that_answer_is_rechecked(
    tmp_path: Path, spec: ProblemSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_class(tmp_path / "class", {"a": sheet("1"), "b": sheet("2")})
    out = tmp_path / "out"
    run(spec, root, out, executor=InProcessExecutor())
    (root / "b" / "answers.yaml").write_text(sheet("131072"))
    counter = CallCounter(monkeypatch)
    result = run(spec, root, out, executor=InProcessExecutor())
    assert counter.take() == [(NUMBER_PART, 131072)]
    assert result.regraded == 1
    assert rows(out / "grades.csv")["b"]["total"] == "5"


def _example_parts() -> dict[str, tuple[ProblemSet, Any]]:
    """For every answer type, a one-part problem set taken from the shipped library."""
    examples: dict[str, tuple[ProblemSet, Any]] = {}
    for path in sorted((Path(__file__).parent.parent / "problems").glob("*.yaml")):
        library = load_problem_set(path)
        for question in library.questions:
            for part in question.parts:
                if part.type not in examples:
                    one = question.model_copy(update={"parts": (part,)})
                    examples[part.type] = (library.model_copy(update={"questions": (one,)}), part)
    for type_name in sorted(ANSWER_TYPES.keys() - examples.keys()):  # no shipped problem uses it yet
        cases = Path(__file__).parent / "cases" / f"{type_name}.yaml"
        groups, _ = load_with_positions(cases.read_text(encoding="utf-8"))
        part = TypeAdapter(Part).validate_python({"id": "p", **groups[0]["spec"]})
        library, _ = next(iter(examples.values()))
        one = library.questions[0].model_copy(update={"parts": (part,)})
        examples[type_name] = (library.model_copy(update={"questions": (one,)}), part)
    return examples


EXAMPLES = _example_parts()
FIELD_CASES = [
    (type_name, field)
    for type_name, answer_type in ANSWER_TYPES.items()
    for field in answer_type.part.model_fields
]


def _changed(value: Any, field: str) -> Any:
    """Another value for a field: enough to change what the part says, whatever its type."""
    if field == "type":
        return "text" if value != "text" else "number"
    by_kind: list[tuple[Any, Callable[[Any], Any]]] = [
        (bool, lambda v: not v),
        (int | float, lambda v: v * 2 + 1),
        (str, lambda v: v + " (edited)"),
        (tuple | list, lambda v: (*v, v[0]) if v else ("x",)),
        (dict, lambda v: {**v, "edited": "1"}),
    ]
    change = next((change for kind, change in by_kind if isinstance(value, kind)), lambda v: "edited")
    return change(value)


def test_every_answer_type_has_an_example_for_the_stale_verdict_test() -> None:
    assert set(EXAMPLES) == set(ANSWER_TYPES)


@dataclasses.dataclass(frozen=True)
class ServedStore:
    """A class of one sheet answering a type's example part, and a verdict store that served
    that part unchanged on a second run (kept as ``pristine``: each test starts from a copy)."""

    root: Path
    cache: Path
    pristine: Path
    answers: str


@pytest.fixture(scope="module")
def served_store(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], ServedStore]:
    """Per answer type, the first two runs of the stale-verdict test, made once: the first
    checks the answer, the second serves it from the store. They are the same for every field
    of the type; each field's test edits the part and runs once more on a fresh copy."""
    made: dict[str, ServedStore] = {}

    def of(type_name: str) -> ServedStore:
        if type_name not in made:
            library, part = EXAMPLES[type_name]
            answer = part.answer if part.answer is not None else "an answer"
            folder = tmp_path_factory.mktemp(f"store-{type_name}")
            root = folder / "class"
            (root / "s").mkdir(parents=True)
            answers = _json_answers(library, answer)
            (root / "s" / "answers.json").write_text(answers)
            cache = folder / "store.sqlite3"
            with pytest.MonkeyPatch.context() as monkeypatch:
                counter = CallCounter(monkeypatch)
                run(library, root, None, cache=cache, executor=InProcessExecutor())
                assert counter.take(), "the first run checks the answer"
                run(library, root, None, cache=cache, executor=InProcessExecutor())
                assert counter.take() == [], "an unchanged part is served from the store"
            assert sorted(p.name for p in folder.iterdir()) == ["class", "store.sqlite3"]  # no WAL left
            pristine = folder / "pristine.sqlite3"
            shutil.copyfile(cache, pristine)
            made[type_name] = ServedStore(root, cache, pristine, answers)
        served = made[type_name]
        shutil.copyfile(served.pristine, served.cache)  # as the second run left it
        (served.root / "s" / "answers.json").write_text(served.answers)
        return served

    return of


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")  # a part given another type
@pytest.mark.parametrize(("type_name", "field"), FIELD_CASES, ids=[f"{t}.{f}" for t, f in FIELD_CASES])
def test_the_store_never_serves_a_verdict_after_any_field_of_a_part_changed(
    monkeypatch: pytest.MonkeyPatch, served_store: Callable[[str], ServedStore], type_name: str, field: str
) -> None:
    library, part = EXAMPLES[type_name]
    if (unavailable := check_unavailable(part)) is not None:
        pytest.skip(f"no answer to this {type_name} part can be checked here: {unavailable}")
    question = library.questions[0]
    answer = part.answer if part.answer is not None else "an answer"
    served = served_store(type_name)  # a store that served this very part unchanged
    root, cache = served.root, served.cache
    counter = CallCounter(monkeypatch)
    edited = part.model_copy(update={field: _changed(getattr(part, field), field)})
    assert edited.model_dump_json() != part.model_dump_json()
    edited_set = library.model_copy(update={"questions": (question.model_copy(update={"parts": (edited,)}),)})
    (root / "s" / "answers.json").write_text(_json_answers(edited_set, answer))  # the id may have moved
    if not _auto_graded(edited):
        run(edited_set, root, None, cache=cache, executor=InProcessExecutor())
        return  # a text part is never checked, stored or not
    run(edited_set, root, None, cache=cache, executor=InProcessExecutor())
    assert counter.take(), f"changing {field} must regrade"


def _auto_graded(part: Any) -> bool:
    answer_type = ANSWER_TYPES.get(part.type)
    return answer_type is not None and answer_type.auto_graded


def _json_answers(library: ProblemSet, answer: Any) -> str:
    import json

    address = library.iter_parts()[0][0]
    return json.dumps({"answers": {address: answer}})


def test_a_wall_clock_stop_is_not_stored(
    tmp_path: Path, spec: ProblemSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(timelimit, "WALL_FACTOR", 1.0)
    monkeypatch.setattr(timelimit, "WALL_GRACE_SECONDS", 0.1)
    calls = []

    def slow(part: Any, answer: Any) -> Verdict:
        calls.append(answer)
        time.sleep(1)
        return Verdict.correct()

    patch_check(monkeypatch, "number", slow)
    quick = spec.model_copy(
        update={"questions": tuple(_with_limits(q, time_limit=0.1) for q in spec.questions)}
    )
    root = make_class(tmp_path / "class", {"a": sheet("1")})
    for _ in range(2):
        report = run(quick, root, None, cache=tmp_path / "s.sqlite3", executor=InProcessExecutor()).reports[0]
        part = next(p for p in report.parts if p.id == NUMBER_PART)
        assert part.status is Status.ERROR and "wall clock" in part.feedback
    assert len(calls) == 2


def test_a_cpu_time_limit_reached_is_remembered_until_the_limit_is_raised(
    tmp_path: Path, spec: ProblemSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def costly(part: Any, answer: Any) -> Verdict:
        calls.append(part.time_limit)
        end = time.process_time() + 0.5
        while time.process_time() < end:
            pass
        return Verdict.correct()

    patch_check(monkeypatch, "number", costly)

    def limited(seconds: float) -> ProblemSet:
        return spec.model_copy(
            update={"questions": tuple(_with_limits(q, time_limit=seconds) for q in spec.questions)}
        )

    root = make_class(tmp_path / "class", {"a": sheet("1")})

    def number_part(seconds: float) -> Any:
        result = run(limited(seconds), root, None, cache=tmp_path / "s.sqlite3", executor=InProcessExecutor())
        return next(p for p in result.reports[0].parts if p.id == NUMBER_PART)

    for _ in range(2):
        part = number_part(0.2)
        assert part.status is Status.ERROR and "0.2 s of CPU time" in part.feedback
    assert calls == [0.2]  # the unchanged re-run did not spend the limit again
    assert number_part(5).status is Status.CORRECT  # a raised limit regrades it
    assert calls == [0.2, 5]


def test_the_store_only_unpickles_grader_values(tmp_path: Path) -> None:
    import pickle

    class Exploit:
        def __reduce__(self) -> tuple[Any, ...]:
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    store = VerdictStore(tmp_path / "s.sqlite3")
    blob = pickle.dumps(Exploit())  # sealed with the store's own key: the unpickler must refuse it
    store._db.execute("INSERT INTO verdicts VALUES ('p', 'a', ?, ?)", (blob, seal(store.key, "p", "a", blob)))
    assert store.verdicts([("p", "a")]) == {}
    assert not (tmp_path / "pwned").exists()
    store.close()


def test_no_cache_writes_no_store_and_cache_clear_removes_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    runner = CliRunner()
    result = runner.invoke(main, ["grade", str(CLASS), "-p", str(BASICS), "--out", str(out), "--no-cache"])
    assert result.exit_code == 0 and not (out / STORE_FILE).exists()
    runner.invoke(main, ["grade", str(CLASS), "-p", str(BASICS), "--out", str(out)])
    assert (out / STORE_FILE).exists()
    info = runner.invoke(main, ["cache", "info", str(out)])
    assert "4 submissions" in info.stdout
    assert runner.invoke(main, ["cache", "clear", str(out)]).exit_code == 0
    assert not (out / STORE_FILE).exists()


# ---------------------------------------------------------------------------
# Identity and the gradebook


def test_two_folders_giving_one_name_are_two_students_flagged(tmp_path: Path) -> None:
    root = make_class(
        tmp_path / "class",
        {"alice": sheet("131072", "alice"), "alice-2": sheet("1", "alice"), "bob": sheet("1")},
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["grade", str(root), "-p", str(BASICS), "--out", str(out)])
    assert result.exit_code == 0
    assert "2 folders give the student name 'alice': alice, alice-2" in result.stderr
    book = rows(out / "grades.csv")
    assert (book["alice"]["student"], book["alice-2"]["student"]) == ("alice", "alice")
    assert (book["alice"]["total"], book["alice-2"]["total"]) == ("5", "3")
    assert "alice-2" in book["alice"]["flags"] and "alice" in book["alice-2"]["flags"]
    assert book["bob"]["flags"] == ""
    assert (out / "alice.json").exists() and (out / "alice-2.json").exists()


def test_grading_one_folder_replaces_its_row_and_keeps_the_others(tmp_path: Path) -> None:
    root = shutil.copytree(CLASS, tmp_path / "class")
    out = tmp_path / "out"
    runner = CliRunner()
    runner.invoke(main, ["grade", str(root), "-p", str(BASICS), "--out", str(out)])
    before = rows(out / "grades.csv")
    (root / "bob" / "answers.yaml").write_text(sheet("131072"))
    result = runner.invoke(main, ["grade", str(root / "bob"), "-p", str(BASICS), "--out", str(out)])
    assert result.exit_code == 0
    after = rows(out / "grades.csv")
    assert sorted(after) == sorted(before) == ["alice", "bob", "carol", "dave"]
    assert {k: v for k, v in after.items() if k != "bob"} == {k: v for k, v in before.items() if k != "bob"}
    assert (before["bob"]["total"], after["bob"]["total"]) == ("2", "5")
    assert "bob" in (out / "changes.csv").read_text()


def test_grades_csv_keeps_rows_of_an_older_gradebook_without_a_folder_column(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "grades.csv").write_text(
        "student,conv.full,conv.shape,params,kind,proof,total,pending,error\n"
        "points possible,2,1,2,1,3,9,,\nzoe,2,1,2,1,,6,3,\n"
    )
    result = CliRunner().invoke(main, ["grade", str(CLASS / "alice"), "-p", str(BASICS), "--out", str(out)])
    assert result.exit_code == 0
    book = rows(out / "grades.csv")
    assert sorted(book) == ["alice", "zoe"] and book["zoe"]["total"] == "6"


def test_diff_lists_changed_scores(tmp_path: Path) -> None:
    root = make_class(tmp_path / "class", {"a": sheet("1"), "b": sheet("2")})
    out = tmp_path / "out"
    runner = CliRunner()
    runner.invoke(main, ["grade", str(root), "-p", str(BASICS), "--out", str(out)])
    (root / "a" / "answers.yaml").write_text(sheet("131072"))
    result = runner.invoke(main, ["grade", str(root), "-p", str(BASICS), "--out", str(out), "--diff"])
    assert "1 scores changed:" in result.stdout
    assert "a (a): 3 → 5 [params: 0 → 2]" in result.stdout


# ---------------------------------------------------------------------------
# Exit codes, temporaries, determinism


def test_a_class_with_nothing_gradable_exits_2_saying_what_was_looked_for(tmp_path: Path) -> None:
    root = make_class(tmp_path / "class", {"a": "answers: [1, 2", "b": "{{{"})
    result = CliRunner().invoke(main, ["grade", str(root), "-p", str(BASICS)])
    assert result.exit_code == 2
    assert "graded nothing" in result.stderr and "2 without a readable answers file" in result.stderr
    wrong = make_class(tmp_path / "other", {"a": "answers:\n  q9.z: 3\n"})
    result = CliRunner().invoke(main, ["grade", str(wrong), "-p", str(BASICS)])
    assert result.exit_code == 2 and "right problem set" in result.stderr


def test_the_summary_line_counts_students_and_errors(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["grade", str(CLASS), "-p", str(BASICS), "--out", str(tmp_path)])
    assert "basics: 4 students, 1 with errors" in result.stderr
    quiet = CliRunner().invoke(main, ["grade", str(CLASS), "-p", str(BASICS), "--out", str(tmp_path), "-q"])
    assert quiet.stderr == "" and quiet.stdout == ""  # no table either


def test_leftover_temporary_files_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    leftover = out / ".alice.json.k3j_9x2a.tmp"
    leftover.write_text("{half")
    keep = out / "notes.tmp"
    keep.write_text("a TA's file")
    result = CliRunner().invoke(main, ["grade", str(CLASS), "-p", str(BASICS), "--out", str(out)])
    assert not leftover.exists() and keep.exists()
    assert "removed 1 files left by an interrupted run" in result.stderr


def test_reports_are_byte_identical_across_job_counts(tmp_path: Path) -> None:
    root = Path(__file__).parent.parent
    problems = root / "problems" / "attention-approximation.yaml"
    folder = root / "submissions" / "attention-approximation"
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}"
        args = ["grade", str(folder), "-p", str(problems), "--out", str(out), "--jobs", jobs, "--no-cache"]
        assert CliRunner().invoke(main, args).exit_code == 0
        outputs.append({p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()})
    assert outputs[0] == outputs[1]
    assert {"grades.csv", "seed-000.json", "seed-000.md"} <= set(outputs[0])


def test_progress_in_a_log_is_a_plain_line_every_few_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from grader.reporting import progress

    stream = io.StringIO()
    now = [0.0]
    monkeypatch.setattr(progress, "clock", lambda: now[0])
    with progress.batch_progress(quiet=False, stream=stream) as update:
        assert update is not None
        for seconds, done in ((0, 0), (1, 10), (6, 20), (7, 30), (13, 40)):
            now[0] = seconds
            update(done, 100)
    lines = stream.getvalue().splitlines()
    assert lines == [
        "grading: 20/100 (3.3 sheets/s, about 24 s left)",
        "grading: 40/100 (3.1 sheets/s, about 20 s left)",
    ]
    with progress.batch_progress(quiet=True) as update:
        assert update is None


def test_an_unknown_executor_from_the_environment_is_a_usage_error() -> None:
    result = CliRunner().invoke(
        main, ["grade", str(CLASS), "-p", str(BASICS)], env={"GRADER_EXECUTOR": "spark"}
    )
    assert result.exit_code == 2 and "unknown executor 'spark'" in result.stderr


def test_a_part_edit_that_changes_no_report_rewrites_no_file(
    tmp_path: Path, spec: ProblemSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_class(tmp_path / "class", {"a": sheet("131072"), "b": sheet("7")})
    out = tmp_path / "out"
    run(spec, root, out, executor=InProcessExecutor())
    written = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.suffix in (".json", ".md", ".html")}
    counter = CallCounter(monkeypatch)
    tighter = spec.model_copy(
        update={
            "questions": tuple(
                _with_limits(q, rtol=1e-9) if q.id == NUMBER_PART else q for q in spec.questions
            )
        }
    )
    result = run(tighter, root, out, executor=InProcessExecutor())
    assert sorted(counter.take()) == [(NUMBER_PART, 7), (NUMBER_PART, 131072)]  # that part, regraded
    # Both sheets were read to check their answers to that part; no verdict moved: both kept.
    assert (result.checked, result.regraded, result.kept_after_edit) == (2, 0, 2) and result.changes == []
    assert {name: (out / name).stat().st_mtime_ns for name in written} == written


def test_a_title_edit_remakes_the_pages_that_show_it_and_nothing_else(
    tmp_path: Path, spec: ProblemSet
) -> None:
    """No verdict moves, but the page shows the question's new title (a page is made from
    the report and from what the problem file says around it)."""
    root = make_class(tmp_path / "class", {"a": sheet("131072"), "b": sheet("7")})
    out = tmp_path / "out"
    run(spec, root, out, executor=InProcessExecutor())
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.suffix in (".json", ".md", ".html")}
    titled = spec.model_copy(
        update={
            "questions": tuple(
                q.model_copy(update={"title": "Convolution <by hand>"}) if q.id == "conv" else q
                for q in spec.questions
            )
        }
    )
    run(titled, root, out, executor=InProcessExecutor())
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.suffix in (".json", ".md", ".html")}
    assert {name for name in before if after[name] != before[name]} == {"a.html", "b.html"}
    for name in ("a.html", "b.html"):
        assert b"Question conv: Convolution &lt;by hand&gt;" in after[name]
    fresh = tmp_path / "fresh"
    run(titled, root, fresh, executor=InProcessExecutor())
    assert all((fresh / name).read_bytes() == after[name] for name in after)


def test_a_class_runs_workers_read_the_wrong_answers_for_the_dashboard(
    tmp_path: Path, spec: ProblemSet
) -> None:
    """The wrong-answer groups' reading of each answer is done by the workers, in parallel:
    the rows carry each wrong answer's meaning key, as the dashboard would read it."""
    from grader.reporting.stats import meaning_of

    root = make_class(tmp_path / "class", {"a": sheet("131072"), "b": sheet("7"), "c": sheet("2**17 + 1")})
    result = run(spec, root, tmp_path / "out", executor=LocalExecutor(1))
    params = load_problem_set(BASICS).questions[1].parts[0]
    noted = {
        note.received: note.meaning
        for row in result.rows
        for position, note in row.notes.items()
        if row.ids[position] == NUMBER_PART
    }
    assert set(noted) == {"7", "2**17 + 1"}
    assert noted == {text: meaning_of(text, params, "number") for text in noted}


# ---- a standing pool (the service's executor) ------------------------------------------


def _pool_children() -> set[int]:
    import multiprocessing

    return {child.pid for child in multiprocessing.active_children() if child.pid is not None}


def _niceness(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process niceness from /proc")
def test_a_standing_pool_keeps_its_workers_between_calls_and_yields_the_cpu(tmp_path: Path) -> None:
    from grader.batch.reading import SubmissionTask
    from grader.batch.store import code_version
    from grader.batch.worker import WorkerSetup

    spec = load_problem_set(BASICS)
    folder = make_class(tmp_path / "class", {"ann": sheet("131072"), "bob": sheet("5")})
    tasks = [SubmissionTask(name, str(folder / name), name, "") for name in ("ann", "bob")]
    setup = WorkerSetup(spec, False, code_version(deciding_only=True), watchdog=False)
    executor = LocalExecutor(1, nice=5, keep=2)
    before = _pool_children()
    try:
        first = {g.task.key: g.report.score for chunk in executor.grade(setup, [[tasks[0]]]) for g in chunk}
        workers = _pool_children() - before
        assert len(workers) == 1 and all(_niceness(pid) >= 5 for pid in workers)
        both = executor.grade(setup, [[tasks[0]], [tasks[1]]])
        again = {g.task.key: g.report.score for chunk in both for g in chunk}
        assert _pool_children() - before == workers  # the same worker, its problem set prepared once
        assert again["ann"] == first["ann"] and again["bob"] == first["ann"] - 2  # params: 2 points
        edited = dataclasses.replace(setup)  # a new version of the problem file: new workers
        list(executor.grade(edited, [[tasks[0]]]))
        assert len(_pool_children() - before) == 2
    finally:
        executor.close()
    assert _pool_children() - before == set()


def test_a_standing_pools_workers_outlive_a_sigterm_to_their_group_and_end_at_close(tmp_path: Path) -> None:
    """systemd's default stop and ``kill -- -PGID`` send SIGTERM to every process of the
    service: the workers are the grading process's to stop. A worker ended by it mid-way
    through pebble's protocol left its task pending for good (the stop waited 30 s)."""
    from grader.batch.reading import SubmissionTask
    from grader.batch.store import code_version
    from grader.batch.worker import WorkerSetup

    spec = load_problem_set(BASICS)
    folder = make_class(tmp_path / "class", {"ann": sheet("131072"), "bob": sheet("5")})
    tasks = [SubmissionTask(name, str(folder / name), name, "") for name in ("ann", "bob")]
    setup = WorkerSetup(spec, False, code_version(deciding_only=True), watchdog=False)
    executor = LocalExecutor(2, keep=2)
    before = _pool_children()
    try:
        assert [g.task.key for chunk in executor.grade(setup, [[tasks[0]]]) for g in chunk] == ["ann"]
        workers = _pool_children() - before
        assert len(workers) == 2
        for pid in workers:
            os.kill(pid, signal.SIGTERM)
        time.sleep(0.5)
        assert _pool_children() - before == workers  # none ended, none replaced
        graded = [g.task.key for chunk in executor.grade(setup, [[tasks[1]], [tasks[0]]]) for g in chunk]
        assert sorted(graded) == ["ann", "bob"]
    finally:
        executor.close(wait=0.0)
    assert _pool_children() - before == set()


def test_a_standing_pool_ends_older_workers_at_once_and_none_start_after_close(tmp_path: Path) -> None:
    """A service edits problem files all term: each retired pool's workers end as soon as it
    is idle (not when the server stops), and a grading thread that outlives close() starts no
    new workers that would outlive the server."""
    from grader.batch.executors import ExecutorLost
    from grader.batch.reading import SubmissionTask
    from grader.batch.store import code_version
    from grader.batch.worker import WorkerSetup

    spec = load_problem_set(BASICS)
    folder = make_class(tmp_path / "class", {"ann": sheet("131072")})
    task = SubmissionTask("ann", str(folder / "ann"), "ann", "")
    setup = WorkerSetup(spec, False, code_version(deciding_only=True), watchdog=False)
    executor = LocalExecutor(1, keep=1)
    before = _pool_children()
    try:
        for _ in range(3):  # three versions of the problem file, one after another
            edited = dataclasses.replace(setup)
            assert [g.report.score for chunk in executor.grade(edited, [[task]]) for g in chunk]
            assert len(_pool_children() - before) == 1  # the previous version's worker is gone
    finally:
        executor.close(wait=0.0)
    assert _pool_children() - before == set()
    with pytest.raises(ExecutorLost, match="stopping"):
        list(executor.grade(setup, [[task]]))
    assert _pool_children() - before == set()


# ---- a standing pool's workers retire after max_tasks (the service's memory stays flat) ----

_GRADINGS: Path | None = None  # where each grading in a (forked) worker is written down
_SLOW_KEY = "slow"


def _written_down_grade_chunk(tasks: list[Any]) -> list[Any]:
    """The pool's task function in a forked worker: each sheet's grading written down with the
    worker's pid, the sheet ``slow`` taking 3 s (longer than the stall watchdog waits)."""
    assert _GRADINGS is not None
    with _GRADINGS.open("a") as out:
        out.writelines(f"{task.key} {os.getpid()}\n" for task in tasks)
    if any(task.key == _SLOW_KEY for task in tasks):
        time.sleep(3.0)
    return worker.grade_chunk(tasks)


def _gradings(path: Path) -> list[tuple[str, int]]:
    return [(key, int(pid)) for key, pid in (line.split() for line in path.read_text().splitlines())]


def _retiring_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, names: list[str]
) -> tuple[Any, Any, list[Any]]:
    from grader.batch import executors
    from grader.batch.reading import SubmissionTask
    from grader.batch.store import code_version
    from grader.batch.worker import WorkerSetup

    monkeypatch.setattr(f"{__name__}._GRADINGS", tmp_path / "gradings.txt")
    monkeypatch.setattr(executors, "grade_chunk", _written_down_grade_chunk)
    spec = load_problem_set(BASICS)
    folder = make_class(tmp_path / "class", {name: sheet("131072") for name in names})
    tasks = [SubmissionTask(name, str(folder / name), name, "") for name in names]
    setup = WorkerSetup(spec, False, code_version(deciding_only=True), watchdog=False)
    return (
        LocalExecutor(1, context=multiprocessing.get_context("fork"), max_tasks=2, keep=2),
        setup,
        tasks,
    )


def test_a_standing_pools_worker_retires_after_max_tasks_and_each_sheet_is_graded_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A service's worker is replaced by a fresh one after ``max_tasks`` sheets (what its
    caches hold is given back): no sheet is lost or graded twice when it retires."""
    names = [f"s{number}" for number in range(7)]
    executor, setup, tasks = _retiring_pool(tmp_path, monkeypatch, names)
    before = _pool_children()
    try:
        first = [g.task.key for chunk in executor.grade(setup, [[task] for task in tasks[:3]]) for g in chunk]
        rest = [g.task.key for chunk in executor.grade(setup, [[task] for task in tasks[3:]]) for g in chunk]
        scores = {g.report.score for chunk in executor.grade(setup, [[tasks[0]]]) for g in chunk}
    finally:
        executor.close()
    assert sorted(first + rest) == names and scores == {next(iter(scores))}
    gradings = _gradings(tmp_path / "gradings.txt")
    assert sorted(key for key, _ in gradings) == sorted([*names, "s0"])  # each once (s0 twice, asked twice)
    by_worker: dict[int, int] = {}
    for _, pid in gradings:
        by_worker[pid] = by_worker.get(pid, 0) + 1
    assert sorted(by_worker.values()) == [2, 2, 2, 2]  # four workers in turn, two sheets each
    assert _pool_children() - before == set()


def test_a_retired_worker_is_no_death_to_the_stall_watchdog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The watchdog stops a pool one of whose workers died and that gave back nothing for
    STALL_SECONDS (a dead worker may hold pebble's channel lock); a worker that retired after
    its ``max_tasks`` released it: a long check after it is waited for, not graded twice."""
    from grader.batch import executors

    monkeypatch.setattr(executors, "STALL_SECONDS", 1.0)
    monkeypatch.setattr(executors, "POOL_CHECK_SECONDS", 0.2)
    names = ["s0", "s1", _SLOW_KEY]
    executor, setup, tasks = _retiring_pool(tmp_path, monkeypatch, names)
    try:
        graded = [g for chunk in executor.grade(setup, [[task] for task in tasks]) for g in chunk]
    finally:
        executor.close()
    assert sorted(g.task.key for g in graded) == sorted(names) and not any(g.failed for g in graded)
    assert sorted(key for key, _ in _gradings(tmp_path / "gradings.txt")) == sorted(names)


def test_every_worker_death_is_counted_a_replacements_killed_before_it_was_seen_included() -> None:
    """pebble replaces a dead worker; a replacement killed in turn is a death too, though no
    snapshot of the pool's workers ever held it (the stall watchdog once missed such deaths,
    and a pool stalled by one waited for a restart)."""
    import pebble

    from grader.batch.executors import count_deaths, worker_deaths

    pool = count_deaths(pebble.ProcessPool(max_workers=2, context=multiprocessing.get_context("fork")))
    manager = pool._pool_manager  # pebble keeps its workers and tasks there
    try:
        running = pool.schedule(time.sleep, args=(30,))
        deadline = time.monotonic() + 20
        while not [task for task in manager.task_manager.tasks.values() if task.worker_id]:
            assert time.monotonic() < deadline, "the task was never taken"
            time.sleep(0.01)
        busy = next(task.worker_id for task in manager.task_manager.tasks.values())
        killed: list[int] = []

        def idle_workers() -> list[int]:
            return [pid for pid in dict(manager.worker_manager.workers) if pid != busy and pid not in killed]

        for _ in range(3):  # the idle worker, its replacement, and the replacement's replacement
            while not (idle := idle_workers()):
                assert time.monotonic() < deadline, "pebble did not replace a dead worker"
                time.sleep(0.01)
            os.kill(idle[0], signal.SIGKILL)
            killed.append(idle[0])
        while worker_deaths(pool) < 3:
            assert time.monotonic() < deadline, f"deaths counted: {worker_deaths(pool)} of 3"
            time.sleep(0.01)
        assert worker_deaths(pool) == 3 and not running.done() and pool.active
    finally:
        pool.stop()
        pool.join()


def test_a_replacement_killed_before_the_next_result_sets_off_the_stall_watchdog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker retires after its result (``max_tasks``) and its replacement is killed before
    anything else comes back: a death the watchdog must see, though the pool's workers at the
    last result did not hold the replacement. A long check still running then is sent to a new
    pool after STALL_SECONDS (it is graded twice, reported once) and nothing is lost."""
    from grader.batch import executors
    from grader.batch.reading import SubmissionTask
    from grader.batch.store import code_version
    from grader.batch.worker import WorkerSetup

    monkeypatch.setattr(executors, "STALL_SECONDS", 1.0)
    monkeypatch.setattr(executors, "POOL_CHECK_SECONDS", 0.2)
    monkeypatch.setattr(f"{__name__}._GRADINGS", tmp_path / "gradings.txt")
    monkeypatch.setattr(executors, "grade_chunk", _written_down_grade_chunk)
    names = ["fast", _SLOW_KEY]
    folder = make_class(tmp_path / "class", {name: sheet("131072") for name in names})
    tasks = [SubmissionTask(name, str(folder / name), name, "") for name in names]
    setup = WorkerSetup(load_problem_set(BASICS), False, code_version(deciding_only=True), watchdog=False)
    executor = LocalExecutor(2, context=multiprocessing.get_context("fork"), max_tasks=1, keep=1)
    graded: list[Any] = []
    try:
        for chunk in executor.grade(setup, [[task] for task in tasks]):
            graded += chunk
            if chunk[0].task.key == "fast":  # its worker retires now: kill its replacement
                pool = executor._standing[-1].pool
                workers = pool._pool_manager.worker_manager.workers
                gradings = _gradings(tmp_path / "gradings.txt")
                slow_worker = next(pid for key, pid in gradings if key == _SLOW_KEY)
                deadline = time.monotonic() + 20
                while not (new := [pid for pid in dict(workers) if pid not in _gradings_pids(tmp_path)]):
                    assert time.monotonic() < deadline, "the retired worker was not replaced"
                    time.sleep(0.01)
                assert slow_worker not in new
                os.kill(new[0], signal.SIGKILL)
    finally:
        executor.close()
    assert sorted(g.task.key for g in graded) == sorted(names) and not any(g.failed for g in graded)
    slow_gradings = [key for key, _ in _gradings(tmp_path / "gradings.txt") if key == _SLOW_KEY]
    assert len(slow_gradings) == 2, "the watchdog did not see the replacement's death"


def _lock_holding_grade_chunk(tasks: list[Any]) -> list[Any]:
    """The pool's task function in a forked worker: the sheet ``killer``, the first time, takes
    pebble's channel lock (as a worker does to take a task or send a result) and is killed
    holding it, as the OOM killer may kill a worker there."""
    import gc

    from pebble.pool.channel import WorkerChannel

    assert _GRADINGS is not None
    if any(task.key == "killer" for task in tasks) and not (_GRADINGS.parent / "killed").exists():
        (_GRADINGS.parent / "killed").touch()
        channel = next(o for o in gc.get_objects() if isinstance(o, WorkerChannel))
        channel.mutex.acquire()
        os.kill(os.getpid(), signal.SIGKILL)
    return _written_down_grade_chunk(tasks)


def test_a_worker_killed_holding_the_pools_channel_lock_stalls_nothing_for_good(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker killed while it holds pebble's channel lock leaves the pool's other workers
    waiting for it for good; its own chunk fails after its death was seen (a result after the
    death). The watchdog still counts that death: the pool is replaced after STALL_SECONDS and
    every sheet is graded once, none as an error."""
    import threading

    from grader.batch import executors
    from grader.batch.reading import SubmissionTask
    from grader.batch.store import code_version
    from grader.batch.worker import WorkerSetup

    monkeypatch.setattr(executors, "STALL_SECONDS", 1.0)
    monkeypatch.setattr(executors, "POOL_CHECK_SECONDS", 0.2)
    monkeypatch.setattr(f"{__name__}._GRADINGS", tmp_path / "gradings.txt")
    monkeypatch.setattr(executors, "grade_chunk", _lock_holding_grade_chunk)
    names = ["killer", "s1", "s2", "s3", "s4"]
    folder = make_class(tmp_path / "class", {name: sheet("131072") for name in names})
    tasks = [SubmissionTask(name, str(folder / name), name, "") for name in names]
    setup = WorkerSetup(load_problem_set(BASICS), False, code_version(deciding_only=True), watchdog=False)
    executor = LocalExecutor(2, context=multiprocessing.get_context("fork"), keep=1)
    graded: list[Any] = []

    def grade() -> None:
        graded.extend(g for chunk in executor.grade(setup, [[task] for task in tasks]) for g in chunk)

    grading = threading.Thread(target=grade, daemon=True)
    grading.start()
    grading.join(timeout=60)
    stalled = grading.is_alive()
    executor.close(wait=0.0)
    assert not stalled, f"grading stalled: {len(graded)} of {len(names)} sheets graded"
    assert (tmp_path / "killed").exists()
    assert sorted(g.task.key for g in graded) == sorted(names) and not any(g.failed for g in graded)


def _gradings_pids(tmp_path: Path) -> set[int]:
    return {pid for _, pid in _gradings(tmp_path / "gradings.txt")}


@pytest.mark.parametrize(("count", "workers"), [(300, 2), (2000, 2), (50, 8), (7, 2), (1, 1)])
def test_chunks_cover_the_class_once_and_shrink_towards_the_end(count: int, workers: int) -> None:
    """The last chunks are single sheets, so no worker waits on another's last large chunk."""
    sizes = list(chunk_sizes(count, LocalExecutor(workers), workers))
    assert sum(sizes) == count
    assert all(1 <= size <= 16 for size in sizes)  # a local pool's chunks: at most 16 sheets
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[-workers:] == [1] * min(workers, len(sizes))
