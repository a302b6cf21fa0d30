"""The ``complexity`` part: an asymptotic class such as ``Theta(h*(n^2*d + n*d^2))``."""

from __future__ import annotations

from typing import Literal

from grader.core.parts import PartBase


class ComplexityPart(PartBase):
    type: Literal["complexity"]
    answer: str
    symbols: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()
    # A student's O(...) (an upper bound) against a reference Theta(...).
    accept_big_o: bool = True
