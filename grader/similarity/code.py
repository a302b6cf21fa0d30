"""Code answers as normalised tokens (Python's own lexer, :mod:`tokenize`).

What a copier changes without changing the program is normalised away: names of
variables, functions, classes and arguments become ``V``, numbers ``N``, strings ``S``;
comments, blank lines and the layout inside a line are dropped. What a renaming does not
touch stays, so that two honest answers differ: keywords, operators, Python's built-in
names, and the names after a dot (``torch.matmul``, ``x.sum``), which are an answer's
choice of library calls. Text the lexer cannot read to its end (an unclosed bracket, a
stray indent) is read on by a plain regular-expression lexer; student code is never run.
"""

from __future__ import annotations

import builtins
import io
import keyword
import re
import tokenize
from collections.abc import Iterator

from grader.similarity.fingerprints import Token

_BUILTINS = frozenset(dir(builtins)) | {"self", "cls"}
_DROPPED = {
    tokenize.COMMENT,
    tokenize.NL,
    tokenize.ENCODING,
    tokenize.ENDMARKER,
    tokenize.INDENT,
    tokenize.DEDENT,
}
_FSTRING = tuple(
    getattr(tokenize, name)
    for name in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END")
    if hasattr(tokenize, name)
)
_PLAIN = re.compile(r"[A-Za-z_]\w*|\d[\w.]*|\"[^\"\n]*\"|'[^'\n]*'|#[^\n]*|\n|[^\s\w]")


def code_tokens(text: str) -> list[Token]:
    """The normalised tokens of ``text``, each with its character offsets."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    tokens: list[Token] = []
    previous = ""
    end_offset = 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in _DROPPED:
                continue
            start = starts[tok.start[0] - 1] + tok.start[1] if tok.start[0] - 1 < len(starts) else len(text)
            end = starts[tok.end[0] - 1] + tok.end[1] if tok.end[0] - 1 < len(starts) else len(text)
            if tok.type == tokenize.NEWLINE:
                if tokens and tokens[-1].kind != ";":
                    tokens.append(Token(";", start, max(start, end)))
                previous = ";"
                end_offset = end
                continue
            kind = _kind(tok.type, tok.string, previous)
            tokens.append(Token(kind, start, end))
            previous = tok.string
            end_offset = end
    except (tokenize.TokenError, IndentationError, SyntaxError):
        tokens += _plain_tokens(text, end_offset, previous)
    return tokens


def _kind(kind: int, string: str, previous: str) -> str:
    if kind == tokenize.NAME:
        if keyword.iskeyword(string) or keyword.issoftkeyword(string):
            return string
        if string in _BUILTINS or previous == ".":
            return string
        return "V"
    if kind == tokenize.NUMBER:
        return "N"
    if kind == tokenize.STRING or kind in _FSTRING:
        return "S"
    return string


def _plain_tokens(text: str, offset: int, previous: str) -> Iterator[Token]:
    for match in _PLAIN.finditer(text, offset):
        string = match.group()
        if string.startswith("#"):
            continue
        if string == "\n":
            kind = ";"
        elif string[0].isalpha() or string[0] == "_":
            kind = _kind(tokenize.NAME, string, previous)
        elif string[0].isdigit():
            kind = "N"
        elif string[0] in "\"'":
            kind = "S"
        else:
            kind = string
        previous = string
        yield Token(kind, match.start(), match.end())
