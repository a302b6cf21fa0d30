"""Errors of the math language. Each carries the source text and a position,
so the student sees a caret under the offending character."""

from __future__ import annotations

from grader.core.verdict import AnswerError


class MathError(AnswerError):
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


class ShapeError(EvalError):
    """Shapes do not fit: ``W x`` with W n-by-n and x an m-vector."""
