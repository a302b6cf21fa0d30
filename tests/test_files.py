"""Files are written whole or not at all, and left alone when they already hold the content:
given as text, bytes, or text in pieces (a class's dashboard is written without joining them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.core import files
from grader.core.files import write_if_changed

PAGE = ["<p>", "é", "</p>\n" * 3, ""]  # pieces, one empty, one not ASCII


@pytest.mark.parametrize("content", ["<p>é</p>\n<p>", "<p>é</p>\n<p>".encode(), ["<p>", "é</p>", "\n<p>"]])
def test_text_bytes_and_pieces_write_the_same_file(tmp_path: Path, content: object) -> None:
    path = tmp_path / "page.html"
    assert write_if_changed(path, content) is True  # type: ignore[arg-type]
    assert path.read_bytes() == "<p>é</p>\n<p>".encode()
    assert list(tmp_path.iterdir()) == [path], "no temporary file left"


def test_a_file_that_holds_the_pieces_is_left_alone_and_one_that_differs_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "index.html"
    write_if_changed(path, PAGE)
    inode = path.stat().st_ino
    assert write_if_changed(path, ["".join(PAGE)]) is False  # the same bytes, cut otherwise
    assert path.stat().st_ino == inode, "not written again"

    shorter = ["<p>", "e", "</p>\n" * 3]  # "é" is two bytes
    assert write_if_changed(path, shorter) is True
    changed = ["<p>", "é", "</p>\n" * 2 + "</q>\n"]  # the same length, the last piece differs
    write_if_changed(path, PAGE)
    assert write_if_changed(path, changed) is True
    assert path.read_text(encoding="utf-8") == "".join(changed)
    assert path.stat().st_ino != inode, "replaced through a new file (an atomic rename)"


def test_pieces_are_encoded_in_batches_without_changing_a_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "ENCODED_PIECE", 4)  # batches end inside the page, and after "é"
    path = tmp_path / "index.html"
    pieces = ["<p>", "é", "</p>", "\n", "<p>ü", "</p>" * 3]
    assert write_if_changed(path, pieces) is True
    assert path.read_text(encoding="utf-8") == "".join(pieces)
    assert write_if_changed(path, pieces) is False
