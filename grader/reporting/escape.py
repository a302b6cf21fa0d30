"""How student text is made harmless in each place grader shows it: the one set of rules.

A student controls their name, their answers and the file names of their folder, and
all of it reaches reports. Each output has its own dangers; each writer calls the one
function for its medium here, on every student-controlled string:

- :func:`csv_cell`: spreadsheet formula injection (OWASP: a cell that starts with
  ``=``, ``+``, ``-``, ``@``, tab or carriage return is prefixed with ``'``);
- :func:`terminal_text`: escape sequences (clipboard, window title, colours) in what a
  TA's terminal shows;
- :func:`workflow_text`: GitHub Actions workflow commands and the ``Points X/Y`` line
  GitHub Classroom reads, in a workflow log;
- :func:`xml_text`: characters XML 1.0 cannot hold, even escaped;
- :func:`json_text`: control characters JSON leaves raw (DEL, C1, bidi, surrogates);
- :func:`markdown_text`: HTML, links and table cells in Markdown.

- :func:`html_text`: markup and control characters in pages, plots and the dashboard.
"""

from __future__ import annotations

import html
import re

from grader.core.textfiles import plain_text

__all__ = [
    "csv_cell",
    "html_text",
    "json_text",
    "markdown_text",
    "one_line",
    "plain_text",
    "terminal_output",
    "terminal_text",
    "workflow_text",
    "xml_text",
]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
# Not allowed in XML 1.0, even as a character reference: the complement of its characters
# (#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]), written out (the
# negated class takes ten times as long to compile).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_POINTS = re.compile(r"(?i)\b(points)(\s*[\d.]+\s*/)")
_MARKDOWN_SPECIAL = re.compile(r"([\\`\[\]])")


def one_line(text: str) -> str:
    """``text`` on one line: line breaks and tabs as spaces, other controls as symbols."""
    return plain_text(re.sub(r"[\r\n\t\v\f\x85\u2028\u2029]+", " ", text))


def terminal_text(text: str, keep_newlines: bool = True) -> str:
    """What may reach a terminal: no escape sequence, no control character (line breaks kept
    when ``keep_newlines``, for grader's own multi-line messages)."""
    return plain_text(text.replace("\r\n", "\n"), keep_newlines)


_OWN_COLOURS = re.compile(r"(\x1b\[[0-9;]*m)")


def terminal_output(text: str, color: bool = True) -> str:
    """A whole screen of output built from many student strings at once (``grader check``):
    every control character shown as a symbol; with ``color``, colour codes (SGR) kept, so
    no OSC, cursor or erase sequence a student wrote can act (a colour can: it cannot be
    told from grader's own)."""
    if not color:
        return terminal_text(text)
    pieces = _OWN_COLOURS.split(text)
    return "".join(piece if index % 2 else terminal_text(piece) for index, piece in enumerate(pieces))


def workflow_text(text: str) -> str:
    """Student text inside a line of a GitHub Actions log: on the line it was put on, so it
    can never start a line (a workflow command is a line starting with ``::``), and never a
    ``Points X/Y`` that GitHub Classroom would read as the score."""
    return _POINTS.sub("\\1\u2060\\2", one_line(text)).replace("::", ":\u2060:")


def csv_cell(text: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula: one starting with ``=``,
    ``+``, ``-``, ``@``, tab or carriage return gets a leading ``'`` (numbers are left alone),
    and control characters are shown as symbols. Applying it twice changes nothing."""
    if text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        text = "'" + text
    return plain_text(text)


def xml_text(text: str) -> str:
    """Text an XML 1.0 document can hold (the serializer escapes ``<``, ``&`` and quotes):
    control characters as symbols, and whatever else XML forbids, which no escape can
    carry, as U+FFFD."""
    return _NOT_XML.sub("\ufffd", plain_text(text, keep_newlines=True))


_JSON_RAW = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def json_text(text: str) -> str:
    """A JSON document (``json.dumps(..., ensure_ascii=False)``) with the control characters
    it leaves raw written as ``\\u`` escapes: the same data, nothing a terminal obeys."""
    return _JSON_RAW.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def markdown_text(text: str, in_table: bool = False) -> str:
    """Student text inline in Markdown: HTML special characters as entities (no tag, no
    script), brackets, backticks and backslashes escaped (no link, image or code span opens),
    on one line; pipes escaped too ``in_table`` (no table cell ends early)."""
    escaped = one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", escaped)
    return escaped.replace("|", "\\|") if in_table else escaped


# Text of these characters only is shown as it is in a page: no markup, no quote, no control
# character (a class's dashboard shows 100,000 names and links: most are such).
_HTML_AS_IS = re.compile(r"[A-Za-z0-9 _.,:;!?()\[\]{}+*/=@#%^~|$\\-]*")


def html_text(text: str, quote: bool = True) -> str:
    """Text in an HTML or SVG page (element content or a quoted attribute): ``<``, ``&`` and
    quotes as entities, control characters (which XML-based SVG cannot hold) as symbols."""
    if _HTML_AS_IS.fullmatch(text):
        return text
    return html.escape(plain_text(text, keep_newlines=True), quote=quote)
