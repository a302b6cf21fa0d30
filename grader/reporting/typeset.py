r"""Formulas in pages, typeset by KaTeX: the library vendored in ``static/katex`` (MIT
licence, ``static/katex/LICENSE``), served by grader itself, never a CDN.

A formula leaves the server as its LaTeX source, escaped, in an element of class
``math`` (:func:`math_html`); the page's one script, ``static/grader-math.js``, typesets
each such element with KaTeX in the browser. Nothing a student wrote ever becomes
markup on the server: the source is element text, read back by the script with
``textContent``. KaTeX runs with ``trust: false`` (no ``\href``, ``\url``, ``\html...``,
``\includegraphics``), ``maxExpand`` and ``maxSize`` limits, ``throwOnError: false``:
source it cannot typeset is shown as it was written (escaped), marked as an error.
Without JavaScript a page shows the LaTeX source.

Where the files are: the service serves ``static/`` under :data:`SERVICE_ASSETS`
(``/static/``); a batch copies it beside the reports it writes in ``--out``
(:data:`REPORT_ASSETS`, ``grader-assets/``: :func:`copy_assets`), so the reports work offline
and are moved as one folder. The pages' Content-Security-Policy allows scripts, styles and
fonts from the page's own origin only (:func:`asset_policy`).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from grader.reporting.escape import html_text as escape

STATIC = Path(__file__).parent / "static"
SERVICE_ASSETS = "/static/"  # where the service serves STATIC
REPORT_ASSETS = "grader-assets/"  # the folder beside a batch's reports that holds a copy of STATIC
MAX_SOURCE = 4000  # characters of LaTeX typeset; a longer formula is shown as its source


def math_html(latex: str, *, display: bool = False) -> str:
    """A formula for KaTeX: its LaTeX source, escaped, in a ``span.math`` (``data-display`` when
    ``display``: a formula of its own line). Over :data:`MAX_SOURCE` characters it stays source
    (class ``math-source``)."""
    kind = "math" if len(latex) <= MAX_SOURCE else "math-source"
    shown = " data-display='block'" if display else ""
    return f"<span class='{kind}'{shown}>{escape(latex)}</span>"


def asset_head(base: str) -> str:
    """The KaTeX stylesheet, for the page's ``<head>``; ``base``: where the assets are."""
    return f"<link rel='stylesheet' href='{escape(base)}katex/katex.min.css'>\n"


def asset_scripts(base: str) -> str:
    """KaTeX and grader's script that typesets the page, at the end of its ``<body>``."""
    return (
        f"<script src='{escape(base)}katex/katex.min.js'></script>"
        f"<script src='{escape(base)}grader-math.js'></script>\n"
    )


def copy_assets(out: Path) -> Path:
    """Copy the assets into ``out/grader-assets`` (files that differ only): what the batch's
    pages in ``out`` link to."""
    target = out / REPORT_ASSETS.rstrip("/")
    for source in STATIC.rglob("*"):
        if not source.is_file():
            continue
        placed = target / source.relative_to(STATIC)
        if placed.exists() and placed.read_bytes() == source.read_bytes():
            continue
        placed.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, placed)
    return target


# $$display$$ or $inline$ (no newline inside an inline span), up to a length worth typesetting.
MATH_SPAN = re.compile(r"\$\$(?P<display>[^$]{1,2000})\$\$|\$(?P<inline>[^$\n]{1,500})\$")


def prose_math(text: str, *, line_breaks: bool = False) -> str:
    """Prose, escaped, each ``$...$`` (``$$...$$``: displayed) span a formula for KaTeX, as
    written: a span grader's own parser cannot read (``\\to``, ``\\lim``) is typeset all the same.
    ``line_breaks``: the text's line breaks as ``<br>``."""
    pieces, start = [], 0
    for found in MATH_SPAN.finditer(text):
        pieces.append(_plain(text[start : found.start()], line_breaks))
        display = found.group("display") is not None
        pieces.append(math_html(found.group("display" if display else "inline"), display=display))
        start = found.end()
    pieces.append(_plain(text[start:], line_breaks))
    return "".join(pieces)


def _plain(text: str, line_breaks: bool) -> str:
    shown = escape(text)
    return shown.replace("\n", "<br>") if line_breaks else shown
