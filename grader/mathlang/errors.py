"""Errors of the math language. Each carries the source text and a position,
so the student sees a caret under the offending character."""

from __future__ import annotations


class ReadError(Exception):
    """An answer (or a part of it) cannot be read: a checker turns it into status ``invalid``.

    ``position`` is a character offset into ``text`` when known, so the report can
    draw a caret under the offending character.
    """

    def __init__(self, message: str, text: str | None = None, position: int | None = None):
        super().__init__(message)
        self.message = message
        self.text = text
        self.position = position

    def render(self) -> str:
        if self.text is None or self.position is None:
            return self.message
        return f"{self.message}\n{caret_excerpt(self.text, self.position)}"


class MathError(ReadError):
    """Base class: something in a formula could not be read or used."""

    def __init__(self, message: str, text: str | None = None, position: int | None = None, hint: str = ""):
        super().__init__(message, text, position)
        self.hint = hint

    def render(self) -> str:
        rendered = super().render()
        if self.position is not None and self.text is not None:
            rendered = f"{self.message} (at character {self.position + 1})\n" + rendered.split("\n", 1)[1]
        return f"{rendered}\n{self.hint}" if self.hint else rendered


class ParseError(MathError):
    """The text is not a formula of the language (unbalanced brace, unknown command...)."""


class LimitError(MathError):
    """The input is past a size limit (length, nesting, nodes, exponent, integer size)."""


class EvalError(MathError):
    """A well-formed formula that cannot be evaluated: unknown symbol or function,
    wrong number of arguments, shape mismatch."""


class CasesOverlapError(MathError):
    """Two rows of a piecewise formula hold at one point and give it different values."""


class ShapeError(EvalError):
    """Shapes do not fit: ``W x`` with W n-by-n and x an m-vector."""


class NotExactError(EvalError):
    """Exact evaluation met a function whose value is not a rational number (exp, sqrt(2)...)."""


def caret_excerpt(text: str, position: int, width: int = 72) -> str:
    """The line of ``text`` holding ``position``, with a caret under that character."""
    position = max(0, min(position, len(text)))
    line_start = text.rfind("\n", 0, position) + 1
    line_end = text.find("\n", position)
    if line_end == -1:
        line_end = len(text)
    line = text[line_start:line_end]
    column = position - line_start
    if len(line) > width:  # keep the caret visible in a long answer
        start = max(0, min(column - width // 2, len(line) - width))
        line = ("…" if start > 0 else "") + line[start : start + width]
        column = column - start + (1 if start > 0 else 0)
    return f"    {line}\n    {' ' * column}^"
