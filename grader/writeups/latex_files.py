r"""A LaTeX write-up's files, looked at without parsing: might a file mark an answer, which
file an ``\input`` reads, and the ``grader.sty`` package shipped for students.

:mod:`grader.writeups.latex` parses (with pylatexenc); these quick looks decide whether
there is anything to parse, so a folder is sorted out without importing the parser.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import PurePosixPath

from grader.core.folder import Folder
from grader.writeups.common import MAX_WRITEUP_FILE_BYTES, MAX_WRITEUP_FILES

_MARKER_HINT = re.compile(r"\\answer\b|\\begin\s*\{answer\}")


def grader_sty() -> str:
    """The LaTeX package that typesets marked answers, shipped with grader."""
    return resources.files("grader.writeups").joinpath("grader.sty").read_text(encoding="utf-8")


def has_marker(text: str) -> bool:
    """A quick look, before any parsing: might this LaTeX source mark an answer?"""
    return _MARKER_HINT.search(text) is not None


_INPUT_HINT = re.compile(r"\\(?:input|include)\s*\{([^{}]*)\}")


def inputs_marker(path: str, folder: Folder) -> bool:
    r"""A quick look: does a ``.tex`` file ``\input`` (or ``\include``), directly or through
    other inputs, a file of its submission folder that marks an answer? (A ``main.tex``
    holding only ``\input{answers/q1}`` is a write-up.) Nothing is parsed."""
    pending, seen = [path], {path}
    while pending and len(seen) <= MAX_WRITEUP_FILES:
        try:
            text = folder.read_text(pending.pop(), MAX_WRITEUP_FILE_BYTES)
        except ValueError:
            continue
        for name in _INPUT_HINT.findall(text):
            target, _ = resolve_input(folder, name.strip())
            if target is None or target in seen:
                continue
            seen.add(target)
            try:
                if has_marker(folder.read_text(target, MAX_WRITEUP_FILE_BYTES)):
                    return True
            except ValueError:
                continue
            pending.append(target)
    return False


def resolve_input(folder: Folder, name: str) -> tuple[str | None, str | None]:
    r"""The file ``\input{name}`` reads (a path inside the folder), or why it is refused. Files
    that are not ``.tex`` (``\input{plot.pgf}``) hold no answers and are skipped without a word."""
    if not name:
        return None, "no file is named"
    relative = PurePosixPath(name if PurePosixPath(name).suffix else f"{name}.tex")
    if relative.suffix != ".tex":
        return None, None
    if relative.is_absolute():
        return None, "it is outside the submission folder"
    resolved = folder.resolve(str(relative))
    if resolved is None:
        return None, "it is outside the submission folder"
    if not folder.is_file(resolved):
        return None, "there is no such file in the submission folder"
    return resolved, None
