"""The data a picture of an answer needs, as plain floats.

A checker that can compute a picture (the network type, for a wrong network)
puts one of these in its verdict; reporters draw it
(:func:`grader.reporting.plots.render_plot_svg`) without compiling, reading
answers or checking again. Values that are undefined at a point are NaN.
"""

from __future__ import annotations

from dataclasses import dataclass


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


PlotData = CurvePlot | PlanePlot
