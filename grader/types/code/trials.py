"""The inputs a code part is run on: the TA's fixed cases, edge inputs, then random draws.

Everything is drawn here, outside the sandbox, from one seed: the part's own ``seed``
when no secret is installed (a test table, ``grader validate``), else one derived from
the secret and the answer's text (:mod:`grader.core.drawing`), so no student can tune
code to the inputs it will be graded on, and a re-run of the same answer draws them
again identically. Inputs travel to the runner as plain data (dtype, shape, numbers).

Edge inputs (issue 47, item 5) come before the random draws: each argument at zero, at
either end of its stated range (or its smallest and largest choice), with all its entries
equal, and every size at its smallest and at its largest; then the edges the part lists
(``edges``: inputs written as ``cases`` are).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.types.code.part import MAX_INPUT_ENTRIES, CodePart, InputSpec

CASE, EDGE, RANDOM = "fixed case", "edge", "random draw"


@dataclass(frozen=True)
class Trial:
    sizes: dict[str, int]
    inputs: dict[str, np.ndarray]
    kind: str = RANDOM  # CASE (the TA's), EDGE or RANDOM
    edge: str = ""  # which edge: "zeros", "the ranges' low ends", "the largest sizes"...

    def as_data(self) -> dict[str, Any]:
        """The inputs (and sizes, as plain integers) as the runner reads them (made once a
        trial: a trial is built into every job that runs it; never changed by a caller)."""
        return self._data

    @functools.cached_property
    def _data(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.sizes)
        for name, array in self.inputs.items():
            data[name] = {
                "dtype": _dtype_name(array.dtype),
                "shape": list(array.shape),
                "data": array.ravel().tolist(),
            }
        return data

    def as_text(self) -> str:
        """``as_data()`` as a job's JSON carries it (sorted keys), encoded once a trial: a
        trial is in several jobs (the reference's, the answer's) and in the answer's outputs."""
        return self._text

    @functools.cached_property
    def _text(self) -> str:
        return json.dumps(self._data, sort_keys=True, allow_nan=True)


_DTYPE_NAMES: dict[np.dtype[Any], str] = {}


def _dtype_name(dtype: np.dtype[Any]) -> str:
    """``str(dtype)`` ("float64"), remembered: numpy works it out anew each time."""
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = _DTYPE_NAMES[dtype] = str(dtype)
    return name


def draw_trials(part: CodePart, seed: int | None = None) -> list[Trial]:
    """The part's cases, its edge inputs, then ``trials`` random draws, from ``seed`` (the
    part's own by default); a problem-spec ValueError when a case does not fit the part."""
    rng = np.random.default_rng(part.seed if seed is None else seed)
    trials = [_case(part, case, rng, CASE) for case in part.cases]
    trials += _edges(part, rng)
    trials += [_case(part, edge, rng, EDGE, "listed by the part") for edge in part.edges]
    trials += [_draw(part, {}, {}, rng) for _ in range(part.trials)]
    return trials


def _case(part: CodePart, case: dict[str, Any], rng: np.random.Generator, kind: str, edge: str = "") -> Trial:
    unknown = set(case) - set(part.sizes) - set(part.inputs)
    if unknown:
        raise ValueError(f"problem spec: a case names {sorted(unknown)}, which are no sizes or inputs")
    sizes = {name: int(value) for name, value in case.items() if name in part.sizes}
    values = {name: value for name, value in case.items() if name in part.inputs}
    trial = _draw(part, sizes, values, rng)
    return Trial(trial.sizes, trial.inputs, kind, edge)


# -- edges -------------------------------------------------------------------------------------

Filler = Callable[[InputSpec, tuple[int, ...], dict[str, int], np.random.Generator], np.ndarray | None]


def _edges(part: CodePart, rng: np.random.Generator) -> list[Trial]:
    """One trial per edge some argument has: every argument that has it takes it, the others
    are drawn; sizes at their ends; an edge past the input-size limit is left out."""
    trials = []
    if part.inputs:
        few = {name: max(low, min(high, 2)) for name, (low, high) in part.sizes.items()}
        for edge, filler in _VALUE_EDGES:  # equal entries: at sizes that give two or more
            trial = _edge_trial(part, rng, edge, filler, few if filler is _equal else {})
            if trial is not None:
                trials.append(trial)
    if part.sizes:
        for edge, end in (("the smallest sizes", 0), ("the largest sizes", 1)):
            sizes = {name: bounds[end] for name, bounds in part.sizes.items()}
            trial = _edge_trial(part, rng, edge, None, sizes)
            if trial is not None:
                trials.append(trial)
    return trials


def _edge_trial(
    part: CodePart, rng: np.random.Generator, edge: str, filler: Filler | None, sizes: dict[str, int]
) -> Trial | None:
    drawn = {
        name: sizes.get(name, int(rng.integers(low, high + 1))) for name, (low, high) in part.sizes.items()
    }
    inputs, taken = {}, filler is None
    try:
        for name, spec in part.inputs.items():
            value = filler(spec, _shape(name, spec, drawn), drawn, rng) if filler is not None else None
            taken = taken or value is not None
            inputs[name] = value if value is not None else _random_value(name, spec, drawn, rng)
    except ValueError:  # the largest sizes past MAX_INPUT_ENTRIES: no such trial
        return None
    return Trial(drawn, inputs, EDGE, edge) if taken else None


def _ends(spec: InputSpec, sizes: dict[str, int]) -> tuple[float, float]:
    """The smallest and largest value an input may take, as the part states its domain."""
    if spec.choices is not None:
        return min(spec.choices), max(spec.choices)
    low, high = (float(sizes[end]) if isinstance(end, str) else float(end) for end in spec.range)
    if spec.dtype in ("int64", "bool"):
        return low, high - 1  # integers are drawn from low to high - 1
    return low, high


def _full(spec: InputSpec, shape: tuple[int, ...], value: float) -> np.ndarray:
    return np.full(shape, value).astype(spec.dtype)


def _zeros(spec: InputSpec, shape: tuple[int, ...], sizes: dict[str, int], _: np.random.Generator) -> Any:
    low, high = _ends(spec, sizes)
    admits = 0 in spec.choices if spec.choices is not None else low <= 0 <= high
    return _full(spec, shape, 0) if admits else None


def _low(spec: InputSpec, shape: tuple[int, ...], sizes: dict[str, int], _: np.random.Generator) -> Any:
    return _full(spec, shape, _ends(spec, sizes)[0])


def _high(spec: InputSpec, shape: tuple[int, ...], sizes: dict[str, int], _: np.random.Generator) -> Any:
    return _full(spec, shape, _ends(spec, sizes)[1])


def _equal(spec: InputSpec, shape: tuple[int, ...], sizes: dict[str, int], rng: np.random.Generator) -> Any:
    if math.prod(shape) < 2:
        return None
    one = _random_value("", spec.model_copy(update={"shape": ()}), sizes, rng)
    return np.full(shape, one.item()).astype(spec.dtype)


_VALUE_EDGES: tuple[tuple[str, Filler], ...] = (
    ("zeros", _zeros),
    ("the ranges' low ends", _low),
    ("the ranges' high ends", _high),
    ("equal entries", _equal),
)


# -- draws -------------------------------------------------------------------------------------


def _draw(part: CodePart, sizes: dict[str, int], values: dict[str, Any], rng: np.random.Generator) -> Trial:
    sizes = dict(sizes)
    for name, (low, high) in part.sizes.items():
        if name not in sizes:
            sizes[name] = int(rng.integers(low, high + 1))
    inputs = {}
    for name, spec in part.inputs.items():
        if name in values:
            inputs[name] = _given_value(name, spec, values[name], sizes)
        else:
            inputs[name] = _random_value(name, spec, sizes, rng)
    return Trial(sizes, inputs)


def _shape(name: str, spec: InputSpec, sizes: dict[str, int]) -> tuple[int, ...]:
    shape = tuple(sizes[dim] if isinstance(dim, str) else dim for dim in spec.shape)
    if math.prod(shape) > MAX_INPUT_ENTRIES:
        raise ValueError(f"problem spec: input {name} would have {math.prod(shape):,} entries")
    return shape


def _given_value(name: str, spec: InputSpec, value: Any, sizes: dict[str, int]) -> np.ndarray:
    try:
        array = np.array(value, dtype=spec.dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"problem spec: the case's {name} is not an array of numbers ({exc})") from None
    if spec.shape and array.shape != _shape(name, spec, sizes):
        raise ValueError(
            f"problem spec: the case's {name} has shape {array.shape}, not {_shape(name, spec, sizes)}"
        )
    return array


def _random_value(name: str, spec: InputSpec, sizes: dict[str, int], rng: np.random.Generator) -> np.ndarray:
    shape = _shape(name, spec, sizes)
    if spec.choices is not None:
        return rng.choice(np.array(spec.choices), size=shape).astype(spec.dtype)
    low, high = (float(sizes[end]) if isinstance(end, str) else float(end) for end in spec.range)
    if spec.dtype in ("int64", "bool"):
        return rng.integers(int(low), int(high), size=shape).astype(spec.dtype)
    return rng.uniform(low, high, size=shape).astype(spec.dtype)
