"""The data a picture of an answer needs, as plain floats.

A checker that can compute a picture (the network type, for a wrong network)
puts one of these in its verdict; reporters draw it
(:func:`grader.reporting.plots.render_plot_svg`) without compiling, reading
answers or checking again. Values that are undefined at a point are NaN.
"""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass
from typing import Any

# A picture's text (``repr``) is made three times a sheet (the report's digest, the SVG file's
# ids and the page's): kept by the picture's exact content, its pickle (floats bit for bit,
# so 0.0 and -0.0 or 1 and 1.0 are never taken for each other). Bounded.
_REPRS: dict[bytes, str] = {}
_REPRS_SIZE = 32
_REPRS_CHARS = 4_000_000  # and at most about this many characters of texts and keys
_held = [0]


def _fields_text(plot: Any) -> str:
    """The text dataclasses' own ``__repr__`` makes (every field, in order)."""
    inner = ", ".join(f"{f.name}={getattr(plot, f.name)!r}" for f in dataclasses.fields(plot) if f.repr)
    return f"{type(plot).__qualname__}({inner})"


def plot_text(plot: Any) -> str:
    """``repr(plot)``, made once for a picture's content."""
    try:
        key = pickle.dumps(plot, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # not picklable: made each time
        return _fields_text(plot)
    text = _REPRS.get(key)
    if text is None:
        text = _fields_text(plot)
        if len(_REPRS) >= _REPRS_SIZE or _held[0] > _REPRS_CHARS:
            _REPRS.clear()
            _held[0] = 0
        _REPRS[key] = text
        _held[0] += len(key) + len(text)
    return text


@dataclass(frozen=True)
class CurvePlot:
    """One input: the network, and the target or the condition, over a window of x."""

    input: str
    xs: tuple[float, ...]  # increasing; a grid plus every knot of the network and the target inside
    network: tuple[float, ...]  # the network's values at xs
    target: tuple[float, ...] | None = None  # the target's (or another network's) values at xs
    target_label: str = "the target"
    epsilon: float | None = None  # approx: the band target ± epsilon
    condition: tuple[bool, ...] | None = None  # classify: whether the condition holds at xs
    condition_label: str = ""
    witness: float | None = None  # where the network and the target differ
    symbols: tuple[tuple[str, float], ...] = ()  # the draw of the part's symbols drawn at

    def __repr__(self) -> str:
        return plot_text(self)


@dataclass(frozen=True)
class PlanePlot:
    """Two inputs: values on a grid; row i is ``ys[i]``, column j is ``xs[j]``."""

    inputs: tuple[str, str]
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    network: tuple[tuple[float, ...], ...]  # the network's values (its sign shows where it is positive)
    difference: tuple[tuple[float, ...], ...] | None = None  # exact mode: |network - target|
    target_label: str = "the target"
    condition: tuple[tuple[bool, ...], ...] | None = None  # classify: whether the condition holds
    condition_label: str = ""
    witness: tuple[float, float] | None = None
    symbols: tuple[tuple[str, float], ...] = ()  # the draw of the part's symbols drawn at

    def __repr__(self) -> str:
        return plot_text(self)


PlotData = CurvePlot | PlanePlot
