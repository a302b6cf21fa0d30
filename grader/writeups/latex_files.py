r"""A LaTeX write-up's files, looked at without parsing: might a file mark an answer, which
file an ``\input`` reads, and the ``grader.sty`` package shipped for students.

:mod:`grader.writeups.latex` parses (with pylatexenc); these quick looks decide whether
there is anything to parse, so a folder is sorted out without importing the parser.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from grader.core.textfiles import read_text
from grader.writeups.common import MAX_WRITEUP_FILE_BYTES, MAX_WRITEUP_FILES, SubmissionFolder

_MARKER_HINT = re.compile(r"\\answer\b|\\begin\s*\{answer\}")


def grader_sty() -> str:
    """The LaTeX package that typesets marked answers, shipped with grader."""
    return resources.files("grader.writeups").joinpath("grader.sty").read_text(encoding="utf-8")


def has_marker(text: str) -> bool:
    """A quick look, before any parsing: might this LaTeX source mark an answer?"""
    return _MARKER_HINT.search(text) is not None


_INPUT_HINT = re.compile(r"\\(?:input|include)\s*\{([^{}]*)\}")


def inputs_marker(path: Path, folder: Path) -> bool:
    r"""A quick look: does a ``.tex`` file ``\input`` (or ``\include``), directly or through
    other inputs, a file of its submission folder that marks an answer? (A ``main.tex``
    holding only ``\input{answers/q1}`` is a write-up.) Nothing is parsed."""
    submission = SubmissionFolder.of(folder)
    pending, seen = [path], {path}
    while pending and len(seen) <= MAX_WRITEUP_FILES:
        try:
            text = read_text(pending.pop(), MAX_WRITEUP_FILE_BYTES)
        except (OSError, ValueError):
            continue
        for name in _INPUT_HINT.findall(text):
            target, _ = resolve_input(submission, name.strip())
            if target is None or target in seen:
                continue
            seen.add(target)
            try:
                if has_marker(read_text(target, MAX_WRITEUP_FILE_BYTES)):
                    return True
            except (OSError, ValueError):
                continue
            pending.append(target)
    return False


def resolve_input(folder: SubmissionFolder, name: str) -> tuple[Path | None, str | None]:
    r"""The file ``\input{name}`` reads, or why it is refused. Files that are not ``.tex``
    (``\input{plot.pgf}``) hold no answers and are skipped without a word."""
    if not name:
        return None, "no file is named"
    relative = Path(name if Path(name).suffix else f"{name}.tex")
    if relative.suffix != ".tex":
        return None, None
    if relative.is_absolute():
        return None, "it is outside the submission folder"
    resolved = folder.inside(folder.resolved / relative)
    if resolved is None:
        return None, "it is outside the submission folder"
    if not resolved.is_file():
        return None, "there is no such file in the submission folder"
    return resolved, None
