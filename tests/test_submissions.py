"""Answers files: whatever a student hands in, the report says what happened."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grader.batch.plan import plan, skipped_folders, submission_folders
from grader.core.verdict import Status
from grader.engine import grade
from grader.loading import load_submission, parse_problem_set

SPEC = parse_problem_set(
    "assignment: a1\nquestions:\n"
    "  - id: q1\n    parts:\n"
    "      - {id: a, type: number, answer: 2}\n      - {id: b, type: number, answer: 3}\n"
    "  - {id: q2, type: array, answer: [1, 2]}\n"
)


def _folder(tmp_path: Path, name: str, content: bytes | str, filename: str = "answers.yaml") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    data = content.encode() if isinstance(content, str) else content
    (folder / filename).write_bytes(data)
    return folder


def test_missing_and_graded_parts(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "alice", "answers:\n  q1.a: 2\n  q2: [1, 3]\n")
    report = grade(SPEC, load_submission(folder))
    assert [p.status for p in report.parts] == [Status.CORRECT, Status.MISSING, Status.INCORRECT]
    assert report.student == "alice" and report.score == 1 and report.max_score == 3


def test_student_id_from_the_file(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "folder1", "student: bob\nanswers: {q1.a: 2}\n")
    assert load_submission(folder).student == "bob"


def test_json_answers(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "carol", '{"answers": {"q1.a": 2, "q2": [1, 2]}}', "answers.json")
    report = grade(SPEC, load_submission(folder))
    assert report.score == 2


def test_unknown_keys_are_warned_not_dropped(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "dan", "answers:\n  q1.a: 2\n  q1.c: 5\n  q1: 7\n  q9: 1\n")
    report = grade(SPEC, load_submission(folder))
    text = "\n".join(report.warnings)
    assert "'q1.c'" in text and "did you mean" in text
    assert "question q1 has parts q1.a, q1.b" in text
    assert "'q9'" in text


def test_invalid_yaml_gives_one_clear_error(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "eve", "answers:\n  q1.a: [1, 2\n  q1.b: 3\n")
    report = grade(SPEC, load_submission(folder))
    assert report.error is not None and "not valid YAML" in report.error and "line" in report.error
    # every part is invalid, with the reason: not "missing", which would say nothing was handed in
    assert all(p.status is Status.INVALID and "not valid YAML" in p.feedback for p in report.parts)


def test_binary_and_non_utf8_files(tmp_path: Path) -> None:
    binary = load_submission(_folder(tmp_path, "f1", b"\x89PNG\x00\x00"))
    latin = load_submission(_folder(tmp_path, "f2", "answers: {q1.a: caf\u00e9}".encode("latin-1")))
    assert binary.load_error is not None and "binary" in binary.load_error
    assert latin.load_error is not None and "UTF-8" in latin.load_error


def test_not_a_mapping(tmp_path: Path) -> None:
    submission = load_submission(_folder(tmp_path, "g", "- 1\n- 2\n"))
    assert submission.load_error is not None and "mapping" in submission.load_error


def test_flat_mapping_is_read_with_a_warning(tmp_path: Path) -> None:
    submission = load_submission(_folder(tmp_path, "h", "q1.a: 2\n"))
    assert submission.answers == {"q1.a": 2}
    assert any("no 'answers:' key" in w for w in submission.warnings)


def test_empty_folder(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    report = grade(SPEC, load_submission(folder))
    assert report.error is not None and "no answers file" in report.error


def test_latex_in_double_quotes_is_read_as_typed(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "i", 'answers:\n  q1.a: "\\frac{4}{2}"\n  q1.b: "\\theta"\n')
    submission = load_submission(folder)
    assert submission.answers["q1.a"] == "\\frac{4}{2}"
    assert submission.answers["q1.b"] == "\\theta"


def test_numeric_looking_ids_keep_their_text(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "j", "answers:\n  1.10: 3\n")
    assert "1.10" in load_submission(folder).answers


def test_blank_answers_are_missing(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "k", "answers:\n  q1.a:\n  q1.b: '  '\n")
    report = grade(SPEC, load_submission(folder))
    assert report.parts[0].status is Status.MISSING and report.parts[1].status is Status.MISSING


def test_a_class_is_its_folders_and_links_to_folders_in_name_order(tmp_path: Path) -> None:
    root = tmp_path / "class"
    for name in ("bob", "alice", "Zed", ".git", "_drafts"):
        (root / name).mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (root / "carol").symlink_to(tmp_path / "elsewhere")  # a link to a folder is a student
    (root / "notes.txt").write_text("not a student")
    (root / "file-link").symlink_to(root / "notes.txt")
    (root / "dangling").symlink_to(tmp_path / "gone")

    assert submission_folders(root) == [root / "Zed", root / "alice", root / "bob", root / "carol"]
    assert skipped_folders(root) == [root / ".git", root / "_drafts"]


@pytest.mark.parametrize("given", ["absolute", "relative", "dot", "trailing slash"])
def test_a_listed_class_is_planned_as_its_folders_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    """Planning reads a listed class's names (no path made per folder): each task is what
    planning the same folders given one by one makes, whichever way the TA named the class."""
    root = tmp_path / "class"
    for name in ("bob", "index", "a b", "Ünïcode", "x" * 120, "dash-ok_1.2"):
        (root / name).mkdir(parents=True)
    monkeypatch.chdir(tmp_path if given == "relative" else root if given == "dot" else Path("/"))
    named = {
        "absolute": root,
        "relative": Path("class"),
        "dot": Path("."),
        "trailing slash": Path(str(root) + os.sep),
    }[given]
    listed = submission_folders(named)

    assert plan(named, listed, digests=False) == plan(named, list(listed), digests=False)
    assert plan(named, listed[1:3], digests=False) == plan(named, list(listed)[1:3], digests=False)
    assert [task.key for task in plan(named, listed, digests=False)] == sorted(os.listdir(root))
    assert len(listed) == 6 and listed[0] == named / "a b" and listed == list(listed)
