"""What the student's network is compared with: the part's target formula, its
``positive_when`` condition, or another network (a known mistake)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from grader.core.verdict import CheckUndecided
from grader.mathlang.errors import EvalError, ShapeError
from grader.networks import PL
from grader.networks.intervals import Region, as_num
from grader.types.network.compile import Compiled, NotPiecewiseLinear
from grader.types.network.evaluation import (
    exact_value,
    formula_floats,
    formula_pl,
    formula_sympy,
    model_exact,
    model_floats,
    model_pl,
    region_of,
    scalar,
)
from grader.types.network.planes import Plane, first_layer, predicate_planes
from grader.types.network.weights import Weights


class Side:
    """A side supports only the comparisons that make sense for it; asking for
    another is reported as undecided."""

    name = "the target"

    def _unsupported(self, what: str) -> CheckUndecided:
        return CheckUndecided(f"{self.name} cannot be compared by {what} in this mode")

    def pl(self, symvals: Mapping[str, Any]) -> PL:
        raise NotPiecewiseLinear("no exact form")

    def at(self, symvals: Mapping[str, Any], point: Mapping[str, Any]) -> Any:
        raise self._unsupported("its value at a point")

    def floats(self, symvals: Mapping[str, Any], points: Mapping[str, np.ndarray]) -> np.ndarray:
        raise self._unsupported("sampled values")

    def sympy(self) -> Any:
        return None

    def planes(self, symvals: Mapping[str, Any]) -> list[Plane]:
        return []

    # classification: where the side "holds"
    def truth_region(self, symvals: Mapping[str, Any]) -> Region:
        raise NotPiecewiseLinear("no exact form")

    def truth_at(self, symvals: Mapping[str, Any], point: Mapping[str, Any]) -> bool:
        raise self._unsupported("where it holds")

    def truth_floats(self, symvals: Mapping[str, Any], points: Mapping[str, np.ndarray]) -> np.ndarray:
        raise self._unsupported("where it holds (sampled)")

    def holds_text(self, truth: bool) -> str:
        """``x > 0 holds`` / ``x > 0 does not hold``."""
        return f"{self.name} {'holds' if truth else 'does not hold'}"


class FormulaSide(Side):
    """The part's target (a formula in the input and the symbols)."""

    def __init__(self, comp: Compiled):
        assert comp.target is not None
        self.comp = comp
        self.node = comp.target

    def pl(self, symvals: Mapping[str, Any]) -> PL:
        try:
            return formula_pl(self.comp, self.node, symvals)
        except ShapeError as err:
            raise CheckUndecided(f"the part's target cannot be evaluated: {err.message}") from None
        except EvalError as err:
            if symvals:  # undefined for these values of the symbols: the draw is skipped
                raise
            raise CheckUndecided(f"the part's target cannot be evaluated: {err.message}") from None

    def at(self, symvals: Mapping[str, Any], point: Mapping[str, Any]) -> Any:
        return scalar(exact_value(self.comp, self.node, {**symvals, **point}), "target")

    def floats(self, symvals: Mapping[str, Any], points: Mapping[str, np.ndarray]) -> np.ndarray:
        return formula_floats(self.comp, self.node, symvals, points, "target")

    def sympy(self) -> Any:
        return formula_sympy(self.comp, self.node)


class PredicateSide(Side):
    """``positive_when``: a condition on the inputs."""

    def __init__(self, comp: Compiled):
        assert comp.predicate is not None
        self.comp = comp
        self.node = comp.predicate
        self.name = comp.predicate_text

    def truth_region(self, symvals: Mapping[str, Any]) -> Region:
        x = PL.identity()
        return region_of(self.comp, self.node, {**symvals, self.comp.inputs[0]: x})

    def truth_at(self, symvals: Mapping[str, Any], point: Mapping[str, Any]) -> bool:
        value = scalar(exact_value(self.comp, self.node, {**symvals, **point}), "positive_when")
        if not isinstance(value, bool | np.bool_):
            raise CheckUndecided(f"positive_when {self.name!r} is not a condition")
        return bool(value)

    def truth_floats(self, symvals: Mapping[str, Any], points: Mapping[str, np.ndarray]) -> np.ndarray:
        return formula_floats(self.comp, self.node, symvals, points, "positive_when") > 0.5

    def planes(self, symvals: Mapping[str, Any]) -> list[Plane]:
        return predicate_planes(self.comp, self.node, symvals)


class NetworkSide(Side):
    """Another set of weights for the same network (a known mistake)."""

    name = "that network"

    def __init__(self, comp: Compiled, weights: Weights):
        self.comp = comp
        self.weights = weights

    def pl(self, symvals: Mapping[str, Any]) -> PL:
        return model_pl(self.comp, self.weights.exact(symvals), symvals)

    def at(self, symvals: Mapping[str, Any], point: Mapping[str, Any]) -> Any:
        return model_exact(self.comp, self.weights.exact(symvals), symvals, point)

    def floats(self, symvals: Mapping[str, Any], points: Mapping[str, np.ndarray]) -> np.ndarray:
        return model_floats(self.comp, self.weights.floats(symvals), symvals, points)

    def planes(self, symvals: Mapping[str, Any]) -> list[Plane]:
        return first_layer(self.comp, self.weights.exact(symvals), symvals)

    def truth_region(self, symvals: Mapping[str, Any]) -> Region:
        return self.pl(symvals).region(">")

    def truth_at(self, symvals: Mapping[str, Any], point: Mapping[str, Any]) -> bool:
        return positive(self.at(symvals, point))

    def truth_floats(self, symvals: Mapping[str, Any], points: Mapping[str, np.ndarray]) -> np.ndarray:
        return self.floats(symvals, points) > 0

    def holds_text(self, truth: bool) -> str:
        return "that network is positive" if truth else "that network is not positive"


def reference_side(comp: Compiled) -> Side:
    if comp.part.mode == "classify":
        return PredicateSide(comp)
    return FormulaSide(comp)


def positive(value: Any) -> bool:
    """Whether a network's output (a number) is > 0."""
    if isinstance(value, PL):
        raise CheckUndecided("the network's output still depends on its input")
    return bool(as_num(value) > 0)
