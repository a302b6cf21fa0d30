"""Where a symbol's values live: the math language's own notion of a domain.

A problem file states it (``x: real``, ``n: {integer: true, min: 1}``); sampling
and the sympy translation read it. It belongs to the math language so the
language depends on nothing else in grader.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

DOMAIN_WORDS = ("real", "positive", "nonnegative", "nonzero", "integer")


class SymbolDomain(BaseModel):
    """A symbol's admissible values: ``real`` (default), ``positive``, ``nonzero``,
    ``integer`` with optional ``min``/``max``, or an ``interval`` (open at both ends
    unless ``closed``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    real: bool = True
    positive: bool = False
    nonnegative: bool = False
    nonzero: bool = False
    integer: bool = False
    min: float | None = None
    max: float | None = None
    interval: tuple[float, float] | None = None


def domain_from_word(value: Any) -> Any:
    """``x: real`` / ``delta: positive`` are short for ``{real: true}`` / ``{positive: true}``."""
    if isinstance(value, str):
        if value not in DOMAIN_WORDS:
            raise ValueError(f"unknown symbol domain {value!r}; use one of {sorted(DOMAIN_WORDS)}")
        return {value: True}
    if value is None:
        return {}
    return value


def symbols_from_yaml(value: Any) -> Any:
    """``[x, y]`` (all real) or ``{x: real, n: {integer: true}}``."""
    if isinstance(value, list):
        return {str(name): {} for name in value}
    if isinstance(value, dict):
        return {str(k): domain_from_word(v) for k, v in value.items()}
    return value
