"""One reader of a submission (grader.reading): a folder on disk, or its files by name as a
Dask task or an upload carries them, read the same, and named from the student's folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.reading import read_submission, ship_folder

WRITEUP = (
    b"\\documentclass{article}\n\\begin{document}\n"
    b"\\answer{q1}{$2x$}\n\\answer{q2}{$x^2 +$}\n\\end{document}\n"
)
FILES = {
    "answers.yaml": {"answers.yaml": b"student: Ada\nanswers:\n  q1: 2*x\n  q2: 'x^2 +'\n  q9: 1\n"},
    "answers.json": {"answers.json": b'{"answers": {"q1": "2*x",\n "q1": 3}}'},
    "unreadable": {"answers.yaml": b"answers:\n  q1: [1, 2\n"},
    "write-up": {"main.tex": WRITEUP},
    "write-up and answers": {"main.tex": WRITEUP, "answers.yaml": b"answers:\n  q1: 2*x\n"},
    "nothing to grade": {"notes.pdf": b"%PDF-1.4"},
}


def _on_disk(tmp_path: Path, files: dict[str, bytes]) -> Path:
    folder = tmp_path / "class" / "alice"
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


@pytest.mark.parametrize("case", sorted(FILES))
def test_files_by_name_read_as_the_folder_on_disk_reads(tmp_path: Path, case: str) -> None:
    folder = _on_disk(tmp_path, FILES[case])
    from_disk = read_submission(str(folder), "alice", shown="alice")
    from_bytes = read_submission("/elsewhere/alice", "alice", FILES[case], shown="alice")
    shipped = read_submission("/elsewhere/alice", "alice", ship_folder(folder), shown="alice")
    assert from_bytes == from_disk == shipped
    texts = repr(from_bytes)
    assert "grader-" not in texts and str(tmp_path) not in texts, "no scratch or driver path is named"


def test_a_message_names_the_student_s_file_never_where_it_was_read(tmp_path: Path) -> None:
    submission = read_submission("/elsewhere/alice", "alice", FILES["unreadable"], shown="alice")
    assert submission.load_error and submission.load_error.startswith("answers.yaml:")
    assert submission.error_position is not None and submission.error_position.file == "alice/answers.yaml"
    assert submission.folder == "alice"
