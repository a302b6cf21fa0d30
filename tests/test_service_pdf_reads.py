"""The feedback page shows how a hand-in was read; a PDF hand-in is read (a child process under
the PDF limits) once per content, not again on every reload of the page."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from grader.course import handed_in


def _scan() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 400), (250, 250, 245)).save(out, format="PDF")
    return out.getvalue()


def test_a_pdf_is_read_once_for_every_view(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[str] = []
    real = handed_in.load_submission

    def counted(folder):  # type: ignore[no-untyped-def]
        reads.append("alice")
        return real(folder)

    monkeypatch.setattr(handed_in, "load_submission", counted)
    scan = _scan()
    first = handed_in.read_handed_in("homework.pdf", scan, "alice")
    again = handed_in.read_handed_in("homework.pdf", scan, "alice")
    assert reads == ["alice"]
    assert again == first and again is not first  # each view gets its own copy
    handed_in.read_handed_in("homework.pdf", scan + b"\n%changed\n", "alice")
    handed_in.read_handed_in("answers.yaml", b"answers: {}\n", "alice")
    handed_in.read_handed_in("answers.yaml", b"answers: {}\n", "alice")
    assert reads == ["alice"] * 4  # new content is read; other files are not kept
