"""Answers read straight from a student's write-up: LaTeX, Markdown or a Jupyter notebook.

Each format has its reader (:mod:`latex`, :mod:`markdown`, :mod:`notebook`); each gives
the answers it finds marked, with the file, line and column of each mark. Together they
give the same answers mapping an ``answers.yaml`` gives, plus where every answer came
from. Nothing in a write-up is run, and nothing outside the submission folder is read.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from grader.core.deferred import deferred
from grader.core.folder import Folder
from grader.core.submission import Submission
from grader.writeups.common import (
    MAX_NOTEBOOK_BYTES,
    MAX_WRITEUP_FILE_BYTES,
    Extraction,
    Writeup,
    gather,
)

__all__ = [
    "WRITEUP_SUFFIXES",
    "Writeup",
    "escaping_writeups",
    "fill_from_writeup",
    "ignored_writeup_warning",
    "read_writeup",
    "writeup_files",
]

# suffix -> (quick look for a marker, the folder's reader, the largest file read). A format's
# module is imported when a folder holds a file of its kind (reading answers.yaml needs none); a reader
# and its parser (pylatexenc, markdown-it-py, nbformat) are imported when a write-up is read.
_FORMATS: dict[str, tuple[Callable[[str], bool], Callable[[Folder], Extraction], int]] = {
    ".tex": (
        deferred("grader.writeups.latex_files", "has_marker"),
        deferred("grader.writeups.latex", "read_latex"),
        MAX_WRITEUP_FILE_BYTES,
    ),
    ".md": (
        deferred("grader.writeups.markdown", "has_marker"),
        deferred("grader.writeups.markdown", "read_markdown"),
        MAX_WRITEUP_FILE_BYTES,
    ),
    ".ipynb": (
        deferred("grader.writeups.notebook", "has_marker"),
        deferred("grader.writeups.notebook", "read_notebooks"),
        MAX_NOTEBOOK_BYTES,
    ),
}
_INPUTS_MARKER = deferred("grader.writeups.latex_files", "inputs_marker")
WRITEUP_SUFFIXES = tuple(_FORMATS)


def _folder(folder: Folder | Path) -> Folder:
    return folder if isinstance(folder, Folder) else Folder.from_disk(folder)


def writeup_files(folder: Folder | Path) -> list[str]:
    """The folder's ``.tex``, ``.md`` and ``.ipynb`` files that seem to mark answers (a
    ``README.md`` without marks is no write-up), as paths inside it. Only a quick look:
    nothing is parsed."""
    folder = _folder(folder)
    found = []
    for suffix, (has_marker, _, limit) in _FORMATS.items():
        for path in folder.files(suffix):
            try:
                text = folder.read_text(path, limit)
            except ValueError:
                if suffix != ".md":  # an unreadable main.tex is a write-up the report explains
                    found.append(path)
                continue
            if has_marker(text) or (suffix == ".tex" and _INPUTS_MARKER(path, folder)):
                found.append(path)
    return found


def escaping_writeups(folder: Folder) -> list[str]:
    """Write-ups in the folder that are links to files outside it (never read), by name."""
    return [name for suffix in _FORMATS for name in folder.escaping(suffix)]


def read_writeup(folder: Folder | Path) -> Writeup:
    """Every answer the folder's write-up marks, by part id; a part marked twice keeps its last."""
    folder = _folder(folder)
    extraction = Extraction()
    for suffix, (_, read, _) in _FORMATS.items():
        if folder.top_level(suffix):
            extraction.extend(read(folder))
    return gather(extraction)


def fill_from_writeup(submission: Submission, folder: Folder, found: list[str]) -> None:
    """Give ``submission`` the answers, positions and warnings of the folder's write-up (``found``:
    its :func:`writeup_files`)."""
    writeup = read_writeup(folder)
    submission.answers = writeup.answers
    submission.positions = writeup.positions
    submission.source = writeup.files[0] if writeup.files else None
    submission.warnings += writeup.warnings
    if writeup.files:
        count = f"{len(writeup.answers)} marked answer" + ("" if len(writeup.answers) == 1 else "s")
        submission.notes.append(f"graded the write-up: {count} read from {', '.join(writeup.files)}")
    else:
        names = ", ".join(Path(path).name for path in found)
        submission.warnings.append(f"no marked answer found in the write-up ({names})")


def ignored_writeup_warning(answers_file: str, ignored: list[str]) -> str | None:
    """When a folder holds an answers file and a write-up (``ignored``: its :func:`writeup_files`),
    the answers file is graded: say so."""
    if not ignored:
        return None
    names = ", ".join(Path(path).name for path in ignored)
    return (
        f"{answers_file} is graded; the write-up {names} is not read "
        f"(an answers file wins over a write-up: remove {answers_file} to grade the write-up)"
    )
