"""One reader of a submission (grader.reading): a folder on disk, or its files by name as a
Dask task or an upload carries them, read the same, and named from the student's folder."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

from grader.core.folder import MAX_FILES, Folder
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


# A student's folder as (path, what, value): a file and its bytes, a link and where it leads
# (relative to the link's folder), a named pipe. bob is a classmate's folder beside alice's.
LAYOUTS: dict[str, list[tuple[str, str, Any]]] = {
    "answers through a link inside": [
        ("answers.yaml", "link", "data/mine.yaml"),
        ("data/mine.yaml", "file", b"answers:\n  q1: 2*x\n"),
    ],
    "answers linked to a classmate's": [("answers.yaml", "link", "../bob/answers.yaml")],
    "answers linked to nowhere": [("answers.yaml", "link", "missing.yaml")],
    "answers linked to themselves": [("answers.yaml", "link", "answers.yaml")],
    "answers as a named pipe": [("answers.yaml", "fifo", None)],
    "answers as a folder": [("answers.yaml/q1", "file", b"2*x")],
    "an input through a linked folder": [
        ("main.tex", "file", b"\\input{parts/q1}\n"),
        ("parts", "link", "real"),
        ("real/q1.tex", "file", b"\\answer{q1}{$2x$}\n"),
    ],
    "an input out of the folder": [("main.tex", "file", b"\\answer{q2}{$x^2$}\n\\input{../bob/main}\n")],
    "an input out of the folder and back in": [
        ("main.tex", "file", b"\\input{../alice/parts/q1}\n"),
        ("parts/q1.tex", "file", b"\\answer{q1}{$2x$}\n"),
    ],
    "a code file in a subfolder": [
        ("answers.yaml", "file", b"answers:\n  q1: {file: code/layers.py}\n"),
        ("code/layers.py", "file", b"def forward(x):\n    return 2 * x\n"),
    ],
    "a code file linked out of the folder": [
        ("answers.yaml", "file", b"answers:\n  q1: {file: layers.py}\n"),
        ("layers.py", "link", "../bob/layers.py"),
    ],
    "a write-up linked to a classmate's": [("notes.md", "link", "../bob/answers.md")],
    "a PDF and an unmarked README": [("notes.pdf", "file", b"%PDF-1.4"), ("README.md", "file", b"# hi\n")],
    "two answers files": [
        ("answers.yaml", "file", b"answers:\n  q1: 2*x\n"),
        ("answers.json", "file", b'{"answers": {"q1": "3*x"}}'),
    ],
}
CLASSMATE = {
    "answers.yaml": b"answers:\n  q1: 2*x\n",
    "answers.md": b"Answer q1: $2x$\n",
    "main.tex": b"\\answer{q1}{$2x$}\n",
    "layers.py": b"def forward(x):\n    return 2 * x\n",
}


def _layout(tmp_path: Path, entries: list[tuple[str, str, Any]]) -> Path:
    _on_disk(tmp_path, {})
    bob = tmp_path / "class" / "bob"
    bob.mkdir()
    for name, data in CLASSMATE.items():
        (bob / name).write_bytes(data)
    folder = tmp_path / "class" / "alice"
    for relative, what, value in entries:
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if what == "file":
            path.write_bytes(value)
        elif what == "link":
            path.symlink_to(value)
        else:
            os.mkfifo(path)
    return folder


@pytest.mark.parametrize("case", sorted(LAYOUTS))
def test_a_folder_that_travelled_reads_as_on_disk(tmp_path: Path, case: str) -> None:
    """Links inside, out of the folder, nowhere or round a loop, pipes, inputs and code files
    in subfolders: what a worker elsewhere reads is what the driver's machine reads."""
    folder = _layout(tmp_path, LAYOUTS[case])
    from_disk = read_submission(str(folder), "alice", shown="alice")
    shipped = read_submission("/elsewhere/alice", "alice", ship_folder(folder), shown="alice")
    assert shipped == from_disk
    assert "2 * x" not in repr(from_disk) or case == "a code file in a subfolder", "no classmate's code"
    assert str(tmp_path) not in repr(shipped)


def test_reading_files_that_travelled_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _layout(tmp_path, LAYOUTS["an input through a linked folder"])
    shipped = ship_folder(folder)
    real_open = open

    def read_only(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        assert set(mode) <= {"r", "b", "t"}, f"{file} opened to write"
        return real_open(file, mode, *args, **kwargs)

    def refused(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"the reader wrote to disk: {args}")

    monkeypatch.setattr("builtins.open", read_only)
    for name in ("mkdir", "makedirs", "symlink", "mkfifo"):
        monkeypatch.setattr(os, name, refused)
    monkeypatch.setattr(tempfile, "mkdtemp", refused)
    submission = read_submission("/elsewhere/alice", "alice", shipped, shown="alice")
    assert submission.answers == {"q1": "2x"}


def test_a_notebook_larger_than_a_digest_reads_the_same_on_a_worker(tmp_path: Path) -> None:
    """A notebook may be 20 MB; the whole of it travels (not its first 8 MB, read as binary)."""
    cell = {"cell_type": "markdown", "metadata": {}, "source": "Answer q1: $2x$"}
    padding = {"cell_type": "raw", "metadata": {}, "source": "x" * (9 << 20)}
    notebook = {"cells": [cell, padding], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    folder = _on_disk(tmp_path, {"answers.ipynb": json.dumps(notebook).encode()})
    from_disk = read_submission(str(folder), "alice", shown="alice")
    shipped = read_submission("/elsewhere/alice", "alice", ship_folder(folder), shown="alice")
    assert from_disk.answers == {"q1": "2x"}
    assert shipped == from_disk


def test_an_answers_file_among_thousands_of_figures_is_found_on_disk_and_on_a_worker(tmp_path: Path) -> None:
    folder = _on_disk(tmp_path, {"answers.yaml": b"answers:\n  q1: 2*x\n"})
    for number in range(MAX_FILES + 1):  # they sort before answers.yaml
        (folder / f"Figure_{number:04d}.png").write_bytes(b"")
    from_disk = read_submission(str(folder), "alice", shown="alice")
    shipped = read_submission("/elsewhere/alice", "alice", ship_folder(folder), shown="alice")
    assert from_disk.answers == {"q1": "2*x"}
    assert shipped == from_disk


def test_a_folder_that_is_a_link_is_refused_on_a_worker_as_on_disk(tmp_path: Path) -> None:
    _layout(tmp_path, [])
    linked = tmp_path / "class" / "carol"
    linked.symlink_to("bob")
    from_disk = read_submission(str(linked), "carol", shown="carol")
    shipped = read_submission("/elsewhere/carol", "carol", ship_folder(linked), shown="carol")
    assert from_disk.load_error and "is a link (to bob)" in from_disk.load_error
    assert shipped == from_disk


def test_a_file_swapped_for_a_link_after_the_folder_was_listed_is_not_read(tmp_path: Path) -> None:
    folder = _layout(tmp_path, [("layers.py", "file", b"mine = 1\n")])
    listed = Folder.from_disk(folder, "alice")
    assert listed.is_file("layers.py")
    (folder / "layers.py").unlink()
    (folder / "layers.py").symlink_to("../bob/layers.py")
    with pytest.raises(ValueError) as refused:
        listed.read_text("layers.py", 1000)
    assert "bob" not in str(refused.value) and str(tmp_path) not in str(refused.value)
