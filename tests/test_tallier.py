"""A large class run has a process of its own keep the dashboard's tally and write the dashboard
(grader.batch.tallier): the page it writes is the driver's, byte for byte, in a first run and in a
re-run that takes most rows from the store; a process that dies leaves the dashboard to the
driver; what the process reads is built by the store's unpickler only."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from grader.batch import BatchOptions, LocalExecutor, run_batch, submission_folders
from grader.batch import runner as batch_runner
from grader.batch.output import OutputFolder
from grader.batch.store import STORE_FILE
from grader.batch.tallier import Tallier
from grader.core.summary import summary_row
from grader.engine import grade
from grader.loading import load_problem_set, load_submission
from tests.small_class import small_class, three_part_problems

PROBLEMS = three_part_problems(
    "tally-demo",
    "Tally demo",
    """\
  - id: q4
    type: choice
    options: {A: linear, B: piecewise-linear, C: polynomial}
    answer: B
    points: 1
""",
)

GIVEN = [
    {"q1": "x + x", "q2": "A proof.", "q3": "x*x", "q4": "B"},
    {"q1": "2x +", "q2": "Another proof.", "q3": "x^3", "q4": "A"},
    {"q1": "3*x", "q3": "x**2 + 0", "q4": "C"},
    {"q1": "3*x", "q3": "x^3"},
    {},
]


def _class(tmp_path: Path, sheets: int = 30) -> tuple[Path, Path]:
    return small_class(tmp_path, PROBLEMS, GIVEN, sheets, "tally-demo")


@pytest.fixture
def talliers(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Tallier, bool]]:
    """Each tallier a run started, with whether it wrote the dashboard."""
    started: list[tuple[Tallier, bool]] = []
    real_written = Tallier.written

    def written(self: Tallier) -> bool:
        done = real_written(self)
        started.append((self, done))
        return done

    monkeypatch.setattr(Tallier, "written", written)
    return started


def _grade(root: Path, problem_file: Path, out: Path, monkeypatch: pytest.MonkeyPatch, tallier: bool) -> int:
    monkeypatch.setattr(batch_runner, "TALLY_PROCESS_FROM", 1 if tallier else 10**9)
    result = run_batch(
        load_problem_set(problem_file),
        root,
        submission_folders(root),
        BatchOptions(out=out, executor=LocalExecutor(2), chunk_size=4),
    )
    return result.regraded


def test_the_tallier_writes_the_dashboard_the_driver_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, talliers: list[tuple[Tallier, bool]]
) -> None:
    problem_file, root = _class(tmp_path)
    assert _grade(root, problem_file, tmp_path / "driver", monkeypatch, tallier=False) == 30
    assert not talliers
    assert _grade(root, problem_file, tmp_path / "tallier", monkeypatch, tallier=True) == 30

    [(tallier, written)] = talliers
    assert written and tallier.sent == set(range(30)), "every row was tallied by the process"
    assert tallier.process is not None and tallier.process.poll() == 0, "the process ended"
    page = (tmp_path / "tallier" / "index.html").read_text(encoding="utf-8")
    assert page == (tmp_path / "driver" / "index.html").read_text(encoding="utf-8")
    assert "2x +" in page and "x^3" in page, "the wrong answers are listed"
    assert "s029.html" in page, "every student is in the table"
    for name in ("grades.csv", "s007.html", "s007.json"):
        assert (tmp_path / "tallier" / name).read_bytes() == (tmp_path / "driver" / name).read_bytes()


def test_the_tallier_makes_the_dashboard_while_the_driver_writes_grades_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, talliers: list[tuple[Tallier, bool]]
) -> None:
    problem_file, root = _class(tmp_path)
    happened: list[str] = []
    real_end, real_finish = Tallier.end, OutputFolder.finish
    monkeypatch.setattr(
        Tallier, "end", lambda self, rest: happened.append("tallier told") or real_end(self, rest)
    )
    monkeypatch.setattr(
        OutputFolder, "finish", lambda self, rows: happened.append("grades.csv") or real_finish(self, rows)
    )
    _grade(root, problem_file, tmp_path / "out", monkeypatch, tallier=True)
    assert happened == ["tallier told", "grades.csv"]
    assert [written for _, written in talliers] == [True]


def test_a_re_run_tallies_the_rows_it_kept_from_the_store_in_the_process_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, talliers: list[tuple[Tallier, bool]]
) -> None:
    problem_file, root = _class(tmp_path)
    _grade(root, problem_file, tmp_path / "driver", monkeypatch, tallier=False)
    shutil.copytree(tmp_path / "driver", tmp_path / "tallier")
    for number in range(0, 30, 3):  # a third of the class hands in again
        handed = {"q1": "x", "q3": "x**3", "q4": "A"}  # unlike any sheet before
        (root / f"s{number:03d}" / "answers.yaml").write_text(yaml.safe_dump(handed), encoding="utf-8")

    assert _grade(root, problem_file, tmp_path / "driver", monkeypatch, tallier=False) == 10
    assert _grade(root, problem_file, tmp_path / "tallier", monkeypatch, tallier=True) == 10

    [(tallier, written)] = talliers
    assert written and tallier.sent == set(range(30)), "the 20 stored rows went at the end"
    page = (tmp_path / "tallier" / "index.html").read_bytes()
    assert page == (tmp_path / "driver" / "index.html").read_bytes()


def test_a_tallier_that_dies_leaves_the_dashboard_to_the_driver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, talliers: list[tuple[Tallier, bool]]
) -> None:
    problem_file, root = _class(tmp_path)
    monkeypatch.setattr("grader.batch.tallier.ROWS_A_FRAME", 2)
    real_add = Tallier.add

    def add_then_die(self: Tallier, *args: object) -> None:
        real_add(self, *args)  # type: ignore[arg-type]
        if len(self.sent) == 5 and self.process is not None:
            self.process.kill()  # out of memory, say: its rows are lost with it
            self.process.wait()

    monkeypatch.setattr(Tallier, "add", add_then_die)
    _grade(root, problem_file, tmp_path / "driver", monkeypatch, tallier=False)
    assert _grade(root, problem_file, tmp_path / "tallier", monkeypatch, tallier=True) == 30

    assert [written for _, written in talliers] == [False], "the process wrote nothing"
    page = (tmp_path / "tallier" / "index.html").read_bytes()
    assert page == (tmp_path / "driver" / "index.html").read_bytes(), "the driver tallied every row"


def test_a_tallier_that_fails_at_the_end_leaves_the_dashboard_to_the_driver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, talliers: list[tuple[Tallier, bool]]
) -> None:
    problem_file, root = _class(tmp_path)
    real_end = Tallier.end

    def killed_first(self: Tallier, rest: object) -> None:
        assert self.process is not None
        self.process.kill()  # gone before it could write the page
        self.process.wait()
        real_end(self, rest)  # type: ignore[arg-type]

    _grade(root, problem_file, tmp_path / "driver", monkeypatch, tallier=False)
    monkeypatch.setattr(Tallier, "end", killed_first)
    assert _grade(root, problem_file, tmp_path / "tallier", monkeypatch, tallier=True) == 30

    page = (tmp_path / "tallier" / "index.html").read_bytes()
    assert page == (tmp_path / "driver" / "index.html").read_bytes(), "the driver tallied every row"


class _Acts:
    """A pickle that runs a command where it is unpickled."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


def test_the_tallier_builds_grader_s_data_only_from_what_it_reads(tmp_path: Path) -> None:
    """Rows that would run code when unpickled (what a worker sent is data, and is read as data):
    the process refuses them, writes no dashboard, and the driver makes it."""
    problem_file, root = _class(tmp_path, sheets=1)
    spec = load_problem_set(problem_file)
    row = summary_row(grade(spec, load_submission(root / "s000")))
    marker = tmp_path / "ran"
    out = tmp_path / "out"
    out.mkdir()
    tallier = Tallier(spec, out, ["s000"], ["s000"])
    tallier.add(0, _Acts(marker), None)  # type: ignore[arg-type]

    tallier.end([])
    assert tallier.written() is False
    assert not marker.exists(), "nothing it read was run"
    assert not (out / "index.html").exists()

    honest = Tallier(spec, out, ["s000"], ["s000"])
    honest.add(0, row, None)
    honest.end([])
    assert honest.written() is True
    assert "s000.html" in (out / "index.html").read_text(encoding="utf-8")
    assert not (out / STORE_FILE).exists()
