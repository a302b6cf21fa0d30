"""A re-run after a problem-file edit: a cold run's output, byte for byte, and only the sheets
whose verdicts (or what their report shows of the problem file) moved made again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grader.batch import BatchOptions, LocalExecutor, run_batch, submission_folders
from grader.batch.edits import VERDICT_ONLY_FIELDS, spec_view
from grader.batch.studentfiles import CHANGES, STORE_FILE
from grader.core.parts import Mistake
from grader.core.verdict import Verdict
from grader.engine import grade
from grader.loading import load_problem_set, load_submission
from grader.reading import reading_limits
from grader.reporting.html import page_inputs, render_student_page
from grader.spec import ProblemSet

BASICS = Path(__file__).parent / "fixtures" / "basics.yaml"
PARAMS = "  - id: params\n    type: number\n    points: 2\n    answer: 131072\n"
# (folder, answer to the number part `params`): a and b right, c and d off by 7.6e-6 (wrong under
# the default rtol of 1e-6), e and f a wrong number; g's answers file cannot be read.
ANSWERS = {"a": "131072", "b": "131072", "c": "131073", "d": "131073", "e": "7", "f": "7"}


def edited_basics(old: str, new: str) -> str:
    text = BASICS.read_text()
    assert text.count(old) == 1
    return text.replace(old, new)


EDITS = {
    # (problem file, sheets graded, sheets kept, sheets read to check an edited part's answers)
    # A looser tolerance: c and d become right. a, c and e are read to check the three distinct
    # answers to the edited part once; c and d are graded; the five others keep their reports.
    "tolerance": (edited_basics(PARAMS, PARAMS + "    rtol: 1.0e-4\n"), 2, 5, 3),
    # A listed mistake: e and f get its feedback.
    "mistakes": (
        edited_basics(PARAMS, PARAMS + "    mistakes:\n      - answer: 7\n        feedback: Count again.\n"),
        2,
        5,
        3,
    ),
    # No verdict moves (everyone gave the same array): a is read to check it, all are kept.
    "tolerance, no verdict moves": (
        edited_basics("        type: array\n", "        type: array\n        atol: 0.5\n"),
        0,
        7,
        1,
    ),
    # The report shows the reference (expected), the points and the title: every sheet anew.
    "reference": (edited_basics("    answer: 131072\n", "    answer: 131073\n"), 7, 0, 0),
    "points": (
        edited_basics("    type: number\n    points: 2\n", "    type: number\n    points: 3\n"),
        7,
        0,
        0,
    ),
    "title": (edited_basics("  - id: params\n", "  - id: params\n    title: Parameters\n"), 7, 0, 0),
}


def make_class(root: Path) -> Path:
    for folder, params in ANSWERS.items():
        (root / folder).mkdir(parents=True)
        (root / folder / "answers.yaml").write_text(
            f"answers:\n  conv.full: [1, 2, 5, 8, 6, 8]\n  params: {params}\n  kind: B\n"
        )
    (root / "g").mkdir()
    (root / "g" / "answers.yaml").write_text("answers: [unclosed\n")
    return root


def run(spec: ProblemSet, root: Path, out: Path) -> Any:
    options = BatchOptions(out=out, executor=LocalExecutor(2), chunk_size=1)
    return run_batch(spec, root, submission_folders(root), options)


def outputs(out: Path) -> dict[str, bytes]:
    """Every file a run leaves in ``out`` but the store and the changes since the last run."""
    return {
        path.name: path.read_bytes()
        for path in out.iterdir()
        if path.is_file() and not path.name.startswith(STORE_FILE) and path.name != CHANGES
    }


def stamps(out: Path) -> dict[str, tuple[int, int]]:
    return {name: ((out / name).stat().st_mtime_ns, (out / name).stat().st_ino) for name in outputs(out)}


@pytest.mark.parametrize("edit", list(EDITS))
def test_an_edit_rerun_writes_what_a_cold_run_writes_and_makes_only_the_moved_sheets_anew(
    tmp_path: Path, edit: str
) -> None:
    text, regraded, kept, checked = EDITS[edit]
    root = make_class(tmp_path / "class")
    out = tmp_path / "out"
    run(load_problem_set(BASICS), root, out)
    before, written = outputs(out), stamps(out)
    problem_file = tmp_path / "edited.yaml"
    problem_file.write_text(text)
    edited = load_problem_set(problem_file)

    result = run(edited, root, out)
    cold = tmp_path / "cold"
    fresh = run(edited, root, cold)

    after = outputs(out)
    assert after == outputs(cold)
    # What the store keeps too: each report (read by exports, hand grades) and each row.
    assert [repr(report) for report in result.reports] == [repr(report) for report in fresh.reports]
    assert result.rows == fresh.rows
    assert (result.regraded, result.kept_after_edit, result.checked) == (regraded, kept, checked)
    # A file whose content did not change was not written again.
    assert {name for name in after if stamps(out)[name] != written.get(name)} == {
        name for name in after if after[name] != before.get(name)
    }
    # The kept sheets are stored under the edited problem file: the next run grades nothing.
    again = run(edited, root, out)
    assert (again.regraded, again.kept_after_edit, again.checked) == (0, 0, 0)
    assert outputs(out) == after


def test_a_kept_row_leaves_the_edited_parts_meaning_keys_to_the_dashboard(tmp_path: Path) -> None:
    """A wrong answer's meaning key is read with its part: a kept row of a sheet keeps the
    keys of the parts not edited, and the dashboard reads the edited part's again."""
    root = make_class(tmp_path / "class")
    out = tmp_path / "out"
    first = run(load_problem_set(BASICS), root, out)
    problem_file = tmp_path / "edited.yaml"
    problem_file.write_text(EDITS["mistakes"][0])
    result = run(load_problem_set(problem_file), root, out)

    def meanings(rows: list[Any], folder: str) -> dict[str, str | None]:
        row = next(row for row in rows if row.folder == folder)
        return {row.ids[index]: note.meaning for index, note in row.notes.items()}

    assert meanings(first.rows, "d")["params"] is not None  # wrong before, and after
    assert meanings(result.rows, "d") == {"params": None}


ROOT = Path(__file__).parent.parent


OTHER_CHECKING: dict[str, Any] = {
    "rtol": 0.125,
    "atol": 0.25,
    "mistakes": (Mistake(answer="x + 1", feedback="listed"),),
    "time_limit": 3.5,
    "memory_limit": 777,
}


def _changed(spec: ProblemSet, **fields: Any) -> ProblemSet:
    """``spec`` with these fields of every part changed."""
    return spec.model_copy(
        update={
            "questions": tuple(
                q.model_copy(update={"parts": tuple(p.model_copy(update=fields) for p in q.parts)})
                for q in spec.questions
            )
        }
    )


@pytest.mark.parametrize("problem_file", sorted((ROOT / "problems").glob("*.yaml")), ids=lambda p: p.stem)
@pytest.mark.parametrize("verdict", [Verdict.correct("shown equal"), Verdict.partial(0.5, "half of it")])
def test_the_verdict_only_fields_reach_no_report_and_no_page_but_through_verdicts(
    problem_file: Path, verdict: Verdict
) -> None:
    """Every shipped submission, graded with the same verdicts under its problem set and under
    one whose parts' verdict-only fields all differ: the same report, the same pages (what a
    kept sheet relies on)."""
    assert set(OTHER_CHECKING) == VERDICT_ONLY_FIELDS
    spec = load_problem_set(problem_file)
    other = _changed(spec, **OTHER_CHECKING)
    # The view leaves out these fields but for the limits a sheet is read under (the parts' largest).
    tolerances = {name: OTHER_CHECKING[name] for name in ("rtol", "atol", "mistakes")}
    assert spec_view(_changed(spec, **tolerances), "") == spec_view(spec, "")
    assert reading_limits(other) != reading_limits(spec) and spec_view(other, "") != spec_view(spec, "")
    folders = sorted(p for p in (ROOT / "submissions" / problem_file.stem).iterdir() if p.is_dir())
    for folder in folders:
        submission = load_submission(folder)
        report = grade(spec, submission, check=lambda part, answer: verdict)
        assert repr(grade(other, submission, check=lambda part, answer: verdict)) == repr(report)
        for show_expected in (False, True):
            assert page_inputs(report, show_expected, spec) == page_inputs(report, show_expected, other)
            assert render_student_page(report, show_expected, spec=spec) == render_student_page(
                report, show_expected, spec=other
            )


def test_the_summary_says_how_many_sheets_the_edit_left_as_they_were(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from grader.cli import main

    root = make_class(tmp_path / "class")
    problem_file = tmp_path / "set.yaml"
    problem_file.write_text(BASICS.read_text())
    command = ["grade", str(root), "-p", str(problem_file), "--out", str(tmp_path / "out"), "--jobs", "2"]
    assert "(7 graded, 0 unchanged from the store, " in CliRunner().invoke(main, command).stderr
    problem_file.write_text(EDITS["tolerance"][0])
    edited = CliRunner().invoke(main, command)
    assert "(2 graded, 5 unchanged from the store (5 of them after the edit), " in edited.stderr
