"""Nested lists as students write arrays and weights: their shape and their entries."""

from __future__ import annotations

from typing import Any

from grader.core.verdict import AnswerError


def nested_shape(value: Any, what: str = "the array") -> tuple[int, ...]:
    """``[[1, 2], [3, 4]]`` -> (2, 2); a scalar -> (). AnswerError when empty or ragged."""
    if not isinstance(value, list):
        return ()
    if not value:
        raise AnswerError(f"{what} is empty")
    inner = [nested_shape(item, what) for item in value]
    if any(shape != inner[0] for shape in inner):
        lengths = ", ".join(str(s[0]) if s else "1" for s in inner)
        raise AnswerError(f"{what}: rows have different lengths ({lengths}); it must be rectangular")
    return (len(value), *inner[0])


def flatten(value: Any) -> list[Any]:
    """The entries of a nested list, row-major."""
    if not isinstance(value, list):
        return [value]
    return [entry for item in value for entry in flatten(item)]
