"""A picture of a student's network against the target, for reporters.

``plot_network(part, answer, path)`` writes a PNG and returns its path, or
returns None when matplotlib is not installed or the answer cannot be read
(the verdict already says why). Checkers never write files; a reporter calls
this after grading and may put the path in ``details["plot"]``.

* one input: the network and the target on a window around every breakpoint
  and the witness (the domain for bounded parts); ``approx`` adds the band
  target ± epsilon, ``classify`` shades where the condition holds;
* two inputs: where the network is positive, the condition's boundary
  (``classify``) or |network - target| (``exact``), and the witness.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from grader.core.verdict import AnswerError, CheckUndecided
from grader.mathlang.errors import MathError
from grader.types.network.compile import (
    Compiled,
    Impossible,
    Weights,
    compile_part,
    formula_floats,
    model_floats,
    read_answer,
)
from grader.types.network.part import NetworkPart

GRID_1D = 801
GRID_2D = 201


def plot_network(part: NetworkPart, answer: Any, path: str | Path) -> Path | None:
    """Draw the network of ``answer`` against the part's target into ``path`` (PNG)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    from grader.types.network.checker import check as network_check

    try:
        comp = compile_part(part)
        student = read_answer(comp, answer)
        verdict = network_check(part, answer)
    except (AnswerError, CheckUndecided):
        return None
    weights = None if isinstance(student, Impossible) else student
    data = verdict.details.get("plot_data")
    plot_data: dict[str, Any] = data if isinstance(data, dict) else {}
    witness = verdict.details.get("witness")
    symvals = _symbol_values(comp, witness if isinstance(witness, dict) else {})
    fig = Figure(figsize=(6.4, 4.4), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    try:
        if len(comp.inputs) == 1:
            _curves(ax, comp, weights, symvals, plot_data)
        elif len(comp.inputs) == 2:
            _plane(fig, ax, comp, weights, symvals, plot_data)
        else:
            return None
    except (MathError, CheckUndecided, AnswerError, ValueError):
        return None
    title = f"{part.id}: {verdict.status}"
    if symvals:
        title += " (" + ", ".join(f"{k} = {v}" for k, v in symvals.items()) + ")"
    ax.set_title(title)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png", bbox_inches="tight")
    return out


def _symbol_values(comp: Compiled, witness: dict[str, Any]) -> dict[str, Fraction]:
    if not comp.symbols:
        return {}
    shown = witness.get("symbols")
    if isinstance(shown, dict):
        try:
            return {k: Fraction(str(v)) for k, v in shown.items()}
        except ValueError:
            pass
    from grader.types.network.checker import symbol_plan

    draws = symbol_plan(comp)
    return next((d for d in draws if all(v != 0 for v in d.values())), draws[0])


def _window_1d(comp: Compiled, plot_data: dict[str, Any]) -> tuple[float, float]:
    window = plot_data.get("window")
    if isinstance(window, list) and len(window) == 2:
        return float(window[0]), float(window[1])
    if comp.domain is not None:
        return float(comp.domain[0]), float(comp.domain[1])
    return -5.0, 5.0


def _curves(
    ax: Any, comp: Compiled, weights: Weights | None, symvals: dict[str, Fraction], plot_data: dict[str, Any]
) -> None:
    lo, hi = _window_1d(comp, plot_data)
    name = comp.inputs[0]
    knots = [p[0] for p in plot_data.get("network", []) if lo <= p[0] <= hi]
    xs = np.unique(np.concatenate([np.linspace(lo, hi, GRID_1D), knots]))
    fvals = {k: float(v) for k, v in symvals.items()}
    if comp.target is not None:
        ts = formula_floats(comp, comp.target, fvals, {name: xs}, "target")
        ax.plot(xs, ts, color="black", lw=1.5, label="target")
        if comp.epsilon is not None:
            eps = float(comp.epsilon)
            ax.fill_between(xs, ts - eps, ts + eps, color="gray", alpha=0.25, label="target ± epsilon")
    if comp.predicate is not None:
        truth = formula_floats(comp, comp.predicate, fvals, {name: xs}, "positive_when") > 0.5
        ax.fill_between(
            xs,
            0,
            1,
            where=truth,
            transform=ax.get_xaxis_transform(),
            color="green",
            alpha=0.15,
            label=comp.predicate_text,
        )
        ax.axhline(0, color="gray", lw=0.8)
    if weights is not None:
        ys = model_floats(comp, weights.floats(symvals), fvals, {name: xs})
        ax.plot(xs, ys, color="tab:blue", lw=1.5, label="your network")
    witness = plot_data.get("witness")
    if isinstance(witness, float | int):
        ax.axvline(float(witness), color="tab:red", ls="--", lw=1, label=f"{name} = {witness:g}")
    ax.set_xlabel(name)
    ax.legend(loc="best", fontsize="small")


def _plane(
    fig: Any,
    ax: Any,
    comp: Compiled,
    weights: Weights | None,
    symvals: dict[str, Fraction],
    plot_data: dict[str, Any],
) -> None:
    window = plot_data.get("window")
    r = float(window[1]) if isinstance(window, list) and len(window) == 2 else 3.0
    lo, hi = (float(comp.domain[0]), float(comp.domain[1])) if comp.domain is not None else (-r, r)
    g = np.linspace(lo, hi, GRID_2D)
    X, Y = np.meshgrid(g, g)
    pts = {comp.inputs[0]: X.ravel(), comp.inputs[1]: Y.ravel()}
    fvals = {k: float(v) for k, v in symvals.items()}
    extent = (lo, hi, lo, hi)
    if weights is not None:
        m = model_floats(comp, weights.floats(symvals), fvals, pts).reshape(X.shape)
        if comp.predicate is not None:
            ax.imshow(m > 0, origin="lower", extent=extent, cmap="Blues", alpha=0.6, vmin=0, vmax=1)
        elif comp.target is not None:
            t = formula_floats(comp, comp.target, fvals, pts, "target").reshape(X.shape)
            im = ax.imshow(np.abs(m - t), origin="lower", extent=extent, cmap="magma")
            fig.colorbar(im, ax=ax, label="|network - target|")
    if comp.predicate is not None:
        truth = formula_floats(comp, comp.predicate, fvals, pts, "positive_when").reshape(X.shape)
        ax.contour(X, Y, truth, levels=[0.5], colors="green")
    witness = plot_data.get("witness")
    if isinstance(witness, list) and len(witness) == 2:
        ax.plot([witness[0]], [witness[1]], "x", color="tab:red", ms=10, mew=2)
    ax.set_xlabel(comp.inputs[0])
    ax.set_ylabel(comp.inputs[1])
