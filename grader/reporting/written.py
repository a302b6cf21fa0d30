"""An answer shown as its student wrote it, for a TA: prose wrapped with its ``$...$`` math as
MathML, code highlighted.

Math spans go through grader's own parser (:func:`grader.mathlang.parser.parse`) and
:func:`grader.reporting.mathml.to_mathml`; a span the parser cannot read is shown as the
student typed it, escaped. Code is highlighted by Pygments into ``<span class=...>``
(no inline styles: the pages' Content-Security-Policy allows only their own stylesheet),
whose colours are :data:`CODE_CSS`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from grader.mathlang.errors import LimitError, ParseError
from grader.mathlang.parser import parse
from grader.mathlang.render import to_text
from grader.reporting.escape import html_text as escape
from grader.reporting.mathml import to_mathml

# $$display$$ or $inline$ (no newline inside an inline span), up to a length worth parsing.
MATH_SPAN = re.compile(r"\$\$(?P<display>[^$]{1,2000})\$\$|\$(?P<inline>[^$\n]{1,500})\$")
MAX_SHOWN = 50_000  # characters of an answer shown; the rest is cut with a note
CODE_CSS = HtmlFormatter(classes=True, cssclass="code").get_style_defs(".code")


def _cut(text: str) -> tuple[str, str]:
    if len(text) <= MAX_SHOWN:
        return text, ""
    return text[
        :MAX_SHOWN
    ], f"<p class='muted'>(the answer goes on for {len(text) - MAX_SHOWN} more characters)</p>"


def _math(source: str, display: bool, functions: Sequence[str]) -> str:
    try:
        tree = parse(source, functions=functions)
    except (ParseError, LimitError):
        return f"<code>{escape(source)}</code>"
    return to_mathml(tree, display=display, label=to_text(tree))


def prose_html(text: str, functions: Sequence[str] = ()) -> str:
    """Prose in a wrapping block, each ``$...$`` span that parses shown as MathML (``functions``:
    names to read as functions, as the problem set declares them)."""
    text, rest = _cut(text)
    pieces, start = [], 0
    for found in MATH_SPAN.finditer(text):
        pieces.append(escape(text[start : found.start()]))
        display = found.group("display") is not None
        pieces.append(_math(found.group("display") if display else found.group("inline"), display, functions))
        start = found.end()
    pieces.append(escape(text[start:]))
    return f"<div class='prose'>{''.join(pieces)}</div>{rest}"


def code_html(text: str) -> str:
    """Python source, highlighted with classes (colours in :data:`CODE_CSS`)."""
    text, rest = _cut(text)
    return highlight(text, PythonLexer(), HtmlFormatter(classes=True, cssclass="code")) + rest
