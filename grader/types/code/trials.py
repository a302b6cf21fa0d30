"""The inputs a code part is run on: the TA's fixed cases first, then seeded random draws.

Everything is drawn here, outside the sandbox, from the part's seed: the reference and
every student see the same inputs, and a re-run draws them again identically. Inputs
travel to the runner as plain data (dtype, shape, numbers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.types.code.part import MAX_INPUT_ENTRIES, CodePart, InputSpec


@dataclass(frozen=True)
class Trial:
    sizes: dict[str, int]
    inputs: dict[str, np.ndarray]

    def as_data(self) -> dict[str, Any]:
        """The inputs (and sizes, as plain integers) as the runner reads them."""
        data: dict[str, Any] = dict(self.sizes)
        for name, array in self.inputs.items():
            data[name] = {
                "dtype": str(array.dtype),
                "shape": list(array.shape),
                "data": array.ravel().tolist(),
            }
        return data


def draw_trials(part: CodePart) -> list[Trial]:
    """The part's cases, then ``trials`` random draws; a problem-spec ValueError when a case
    does not fit the part."""
    rng = np.random.default_rng(part.seed)
    trials = [_case(part, case, rng) for case in part.cases]
    trials += [_draw(part, {}, {}, rng) for _ in range(part.trials)]
    return trials


def _case(part: CodePart, case: dict[str, Any], rng: np.random.Generator) -> Trial:
    unknown = set(case) - set(part.sizes) - set(part.inputs)
    if unknown:
        raise ValueError(f"problem spec: a case names {sorted(unknown)}, which are no sizes or inputs")
    sizes = {name: int(value) for name, value in case.items() if name in part.sizes}
    values = {name: value for name, value in case.items() if name in part.inputs}
    return _draw(part, sizes, values, rng)


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
