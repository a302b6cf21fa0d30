"""A submission folder whose hand-in is a PDF (or JPEG/PNG pages): read into a Submission.

Called by :mod:`grader.loading` when a folder holds no answers file and no write-up. A PDF made
from grader's template gives its answers exactly as its ``.tex`` would (the embedded copy of
its source is read by the LaTeX reader); any other PDF gives its pages' text, to be matched
to the problem set's parts when graded (:mod:`grader.pdf.mapping`). A PDF that is refused is
the submission's ``load_error``: one clear message, the rest of the class graded.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from grader.core.folder import Folder
from grader.core.submission import Submission
from grader.pdf.document import IMAGE_SUFFIXES, PdfDocument, images_to_pdf, read_pdf
from grader.pdf.limits import GRADER_SOURCE, PdfLimits, PdfRefused
from grader.pdf.tags import TAGS_FILE, parse_tags, tags_in

__all__ = ["fill_from_pdf", "is_pdf_submission", "pdf_hand_in", "read_pdf_submission"]


def pdf_hand_in(folder: Folder) -> list[str]:
    """The folder's PDF (the first by name), or its page images in name order; [] for neither."""
    names = [name for name in folder.top_level() if folder.is_file(name)]
    pdfs = sorted(name for name in names if name.lower().endswith(".pdf"))
    if pdfs:
        return pdfs[:1]
    return sorted(name for name in names if name.lower().endswith(IMAGE_SUFFIXES))


def is_pdf_submission(folder: Folder) -> bool:
    """A folder that hands in a PDF or page images, and holds no subfolder (a class folder with
    a PDF handout beside the students' folders is no submission)."""
    for name in folder.top_level():
        entry = folder.entry(name)
        if entry is not None and entry.kind == "directory" and not name.startswith((".", "_")):
            return False
    return bool(pdf_hand_in(folder))


def fill_from_pdf(
    submission: Submission, folder: Folder, found: list[str], limits: PdfLimits | None = None
) -> None:
    """Fill ``submission`` from the PDF (or page images) ``found`` in ``folder``."""
    limits = limits or PdfLimits()
    name = found[0] if len(found) == 1 else f"{len(found)} page images"
    submission.source = folder.named(found[0])
    with tempfile.TemporaryDirectory(prefix="grader-pdf-") as scratch:
        try:
            paths = [_on_disk(folder, item, Path(scratch), limits) for item in found]
            if not found[0].lower().endswith(".pdf"):
                paths = [images_to_pdf(paths, Path(scratch) / "pages.pdf", limits)]
            document = read_pdf(paths[0], limits)
            digest = hashlib.sha256(paths[0].read_bytes()).hexdigest()
            tags = _tags(folder) or _tags_of(paths[0])
        except (PdfRefused, ValueError, OSError) as exc:
            submission.load_error = f"{name}: {exc}"
            return
    read_pdf_submission(submission, document, name, tags, folder.named(found[0]))
    if folder.disk is not None and found[0].lower().endswith(".pdf"):  # the graded copy is made from it
        submission.pdf["path"] = str(paths[0].resolve())  # type: ignore[index]
        submission.pdf["digest"] = digest  # type: ignore[index]


def read_pdf_submission(
    submission: Submission, document: PdfDocument, name: str, tags: dict[str, list[int]], shown: str
) -> None:
    """Fill ``submission`` from a PDF already read (the service reads its upload so)."""
    submission.pdf = {
        "name": name,
        "pages": document.pages,
        "template": document.is_template,
        "scan": document.is_scan and not document.is_template,
        "marks": document.part_pages(),
        "lines": [] if document.is_template else document.lines,
        "tags": tags,
    }
    if document.source is not None:
        _fill_from_source(submission, document.source, shown)
        submission.notes.append(
            f"graded {name}, made from grader's template: its answers are read from the "
            "LaTeX source it carries, exactly as the .tex"
        )
    elif submission.pdf["scan"]:
        submission.notes.append(
            f"{name} is a scan ({document.pages} pages): a TA grades every part from its tagged pages"
        )
    else:
        submission.notes.append(f"graded {name} ({document.pages} pages): parts found by their headings")


def _fill_from_source(submission: Submission, source: str, shown: str) -> None:
    from grader.writeups import fill_from_writeup, writeup_files

    inner = Folder.from_files(
        {GRADER_SOURCE: source.encode()}, f"{shown}/{GRADER_SOURCE}", submission.student
    )
    found = writeup_files(inner)
    fill_from_writeup(submission, inner, found or [GRADER_SOURCE])
    submission.notes = [note for note in submission.notes if not note.startswith("graded the write-up")]


def _tags(folder: Folder) -> dict[str, list[int]]:
    if not folder.is_file(TAGS_FILE):
        return {}
    return parse_tags(folder.read_text(TAGS_FILE, 64 << 10))


def _tags_of(pdf: Path) -> dict[str, list[int]]:
    """Tags handed in with the PDF (a comment after its end: see :func:`grader.pdf.tags.with_tags`)."""
    with pdf.open("rb") as stream:
        stream.seek(max(0, pdf.stat().st_size - 8192))
        return tags_in(stream.read())


def _on_disk(folder: Folder, name: str, scratch: Path, limits: PdfLimits) -> Path:
    """The file as a path the child process can open: on the folder's disk, or written out."""
    entry = folder.entry(name)
    if entry is None or entry.kind != "file":
        raise ValueError(f"there is no file {name} in the submission folder")
    if entry.size > limits.max_bytes:
        raise PdfRefused(
            f"the file is {entry.size / 2**20:.1f} MiB; at most {limits.max_bytes >> 20} MiB are read"
        )
    if folder.disk is not None and entry.data is None:
        resolved = folder.resolve(name)
        if resolved is None:
            raise ValueError(f"{name} is a link out of the submission folder: not read")
        return folder.disk / resolved
    if entry.data is None:
        raise ValueError("the PDF did not travel with the submission (grade this class on one machine)")
    fd, path = tempfile.mkstemp(dir=scratch, suffix=Path(name).suffix.lower())
    with os.fdopen(fd, "wb") as stream:
        stream.write(entry.data)
    return Path(path)
