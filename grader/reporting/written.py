"""An answer shown as its student wrote it, for a TA: prose wrapped with its ``$...$`` math
typeset by KaTeX, code highlighted.

Math spans are typeset as written (:func:`grader.reporting.typeset.prose_math`: KaTeX in the
browser, no trust, under limits; a span KaTeX cannot typeset is shown as the student typed it,
escaped). Code is highlighted by Pygments into ``<span class=...>``
(no inline styles: the pages' Content-Security-Policy allows only their own stylesheet),
whose colours are :data:`CODE_CSS`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from grader.reporting.typeset import prose_math

MAX_SHOWN = 50_000  # characters of an answer shown; the rest is cut with a note
CODE_CSS = HtmlFormatter(classes=True, cssclass="code").get_style_defs(".code")


def _cut(text: str) -> tuple[str, str]:
    if len(text) <= MAX_SHOWN:
        return text, ""
    return text[
        :MAX_SHOWN
    ], f"<p class='muted'>(the answer goes on for {len(text) - MAX_SHOWN} more characters)</p>"


def prose_html(text: str, functions: Sequence[str] = ()) -> str:
    """Prose in a wrapping block, each ``$...$`` span a formula typeset as written (``functions``:
    kept for callers; KaTeX needs no declared names)."""
    text, rest = _cut(text)
    return f"<div class='prose'>{prose_math(text)}</div>{rest}"


def code_html(text: str) -> str:
    """Python source, highlighted with classes (colours in :data:`CODE_CSS`)."""
    text, rest = _cut(text)
    return highlight(text, PythonLexer(), HtmlFormatter(classes=True, cssclass="code")) + rest
