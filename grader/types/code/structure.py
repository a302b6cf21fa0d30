"""Structured trials: inputs shaped to reach where code's numerics break, and how many.

Random draws cover the values an input takes, not its structure: a softmax that
subtracts the global max instead of each row's is right on every uniform draw and
``nan`` where rows lie far apart; an Adam step with ``eps`` inside the square root is
right unless the second moment is near zero. After the fixed cases, the edges and the
random draws (:mod:`trials`, unchanged), a code part is also run on inputs of a given
structure, within each input's stated range:

- rows (the slices along the last axis) of very different scale, and columns too;
- rows far apart (some near the low end of the range, some near its high end);
- nearly constant rows; values near zero (not zero), for every float input and for the
  inputs that feed each root, log or division of the reference (:mod:`singular`);
  large magnitudes, for all and for the inputs of each exponential; repeated values;
- every size alone at its largest (the others at their smallest), and alone at its
  smallest: extreme aspect ratios.

Then the budget grows: more structured and random trials are drawn, in turn, and the
reference runs on all of them (:func:`covered` reads what it did); a student's code
runs on those up to where the reference showed no new behaviour (a line pair of its
code not run before, a new kind of output: non-finite, zero, sign, order of
magnitude) for ``PATIENCE`` trials in a row.

Every structured trial has a twin, its inputs moved by a few units in the last place,
which only the reference runs: how far the reference's own output moves there is how
far a right answer may lie from it (an ill-conditioned reference has no more digits
to give), and an output the reference itself cannot give (``nan``, ``inf``) is not
held against an answer that can. Everything is drawn from the answer's seed, as the
other trials are, with a stream of its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.types.code.part import CodePart, InputSpec
from grader.types.code.singular import singular_points
from grader.types.code.trials import Trial, _draw, _random_value, _shape

STRUCTURED, TWIN = "structured input", "twin"
EXTRA = 12  # trials drawn after the mandatory ones, at most
PATIENCE = 4  # ...taken until this many in a row showed the reference nothing new
MAX_ENTRIES = 1_000_000  # input entries in all structured trials and twins together
SPREAD = 8  # decades between the largest and the smallest row's scale
_TWIN_STEP = {np.dtype(np.float64): 2.0**-40, np.dtype(np.float32): 2.0**-20}
_SIGNS = np.array([-1.0, 1.0])
_STREAM = 58  # the structured trials' own random stream, beside the seed


@dataclass(frozen=True)
class Pool:
    """What the reference runs on: every structured and extra trial in order, each
    structured one followed by its twin; ``mandatory`` trials (of ``trials``) come first."""

    trials: tuple[Trial, ...]
    mandatory: int

    @property
    def plain(self) -> list[Trial]:
        """The trials a student's code may be run on (no twins), in order."""
        return [trial for trial in self.trials if trial.kind != TWIN]


Values = Callable[[InputSpec, tuple[int, ...], tuple[float, float], np.random.Generator], np.ndarray | None]


def draw_pool(part: CodePart, seed: int) -> Pool:
    """The structured trials, then the extras, for an answer's seed (none when the part has
    no float input drawn from a range, or asks for no random draws: ``trials: 0``)."""
    rng = np.random.default_rng([seed, _STREAM])
    floats = [name for name, spec in part.inputs.items() if _structurable(spec)]
    if not floats or not part.trials:  # no draws asked for: the TA's cases (and edges) only
        return Pool((), 0)
    recipes = _recipes(part, floats)
    trials: list[Trial] = []
    budget = [MAX_ENTRIES]
    for description, values, targets, sizes in recipes:
        if description is not None and values is not None:
            _add(trials, _structured(part, rng, description, values, targets, sizes), budget, rng)
    mandatory = len(trials)
    turn = [(None, None, (), None), *[recipe for recipe in recipes if recipe[3] is None]]
    for number in range(EXTRA):
        description, values, targets, sizes = turn[number % len(turn)]
        if values is None:
            trial: Trial | None = _draw(part, {}, {}, rng)
        else:
            trial = _structured(part, rng, description or "", values, targets, sizes)
        if not _add(trials, trial, budget, rng):
            break
    return Pool(tuple(trials), mandatory)


def _structurable(spec: InputSpec) -> bool:
    return spec.dtype.startswith("float") and spec.choices is None


Recipe = tuple[str | None, Values | None, tuple[str, ...], dict[str, int] | None]


def _recipes(part: CodePart, floats: list[str]) -> list[Recipe]:
    """(what the trial is, how its values are drawn, which inputs take them (all the float
    ones: ()), sizes fixed for it)."""
    recipes: list[Recipe] = [
        ("rows of very different scale", _rows_scaled, (), None),
        ("rows far apart", _rows_apart, (), None),
        ("nearly constant rows", _nearly_constant, (), None),
        ("values near zero", _near_zero, (), None),
        ("large magnitudes", _large, (), None),
        ("repeated values", _repeated, (), None),
    ]
    if any(len(part.inputs[name].shape) >= 2 for name in floats):
        recipes.insert(1, ("columns of very different scale", _columns_scaled, (), None))
    for point in singular_points(part):
        targets = tuple(name for name in part.inputs if name in point.inputs)
        if len(targets) == len(floats):
            continue  # the trials for all the float inputs have them
        which = " and ".join(targets)
        if point.kind == "zero":
            recipes.append((f"values near zero in {which}", _near_zero, targets, None))
        else:
            recipes.append((f"large magnitudes in {which}", _large, targets, None))
            recipes.append((f"rows far apart in {which}", _rows_apart, targets, None))
    if len(part.sizes) >= 2:
        for name in part.sizes:
            for end, what, rest in ((1, "largest", "smallest"), (0, "smallest", "largest")):
                sizes = {
                    size: bounds[end if size == name else 1 - end] for size, bounds in part.sizes.items()
                }
                description = f"{name} at its {what} and the other sizes at their {rest}"
                recipes.append((description, _uniform, (), sizes))
    return recipes


def _add(trials: list[Trial], trial: Trial | None, budget: list[int], rng: np.random.Generator) -> bool:
    """Add the trial (and a structured one's twin) if the entry budget allows."""
    if trial is None:
        return True
    entries = sum(array.size for array in trial.inputs.values())
    twins = 2 if trial.kind == STRUCTURED else 1
    if entries * twins > budget[0]:
        return False
    budget[0] -= entries * twins
    trials.append(trial)
    if trial.kind == STRUCTURED:
        trials.append(_twin(trial, rng))
    return True


def _sizes(part: CodePart, rng: np.random.Generator) -> dict[str, int]:
    """Sizes of two or more where the part allows: rows and columns to differ."""
    return {
        name: int(rng.integers(max(low, min(high, 2)), high + 1)) for name, (low, high) in part.sizes.items()
    }


def _structured(
    part: CodePart,
    rng: np.random.Generator,
    description: str,
    values: Values,
    targets: tuple[str, ...],
    fixed: dict[str, int] | None,
) -> Trial | None:
    for _ in range(4):  # sizes whose inputs fit the entry limit
        sizes = dict(fixed) if fixed is not None else _sizes(part, rng)
        try:
            inputs = {}
            for name, spec in part.inputs.items():
                shape = _shape(name, spec, sizes)
                made = None
                if _structurable(spec) and (not targets or name in targets):
                    made = values(spec, shape, _range(spec, sizes), rng)
                inputs[name] = made if made is not None else _random_value(name, spec, sizes, rng)
            return Trial(sizes, inputs, STRUCTURED, description)
        except ValueError:
            if fixed is not None:
                return None
    return None


def _range(spec: InputSpec, sizes: dict[str, int]) -> tuple[float, float]:
    low, high = (float(sizes[end]) if isinstance(end, str) else float(end) for end in spec.range)
    return low, high


def _fit(array: np.ndarray, spec: InputSpec, bounds: tuple[float, float]) -> np.ndarray:
    low, high = bounds
    cast = np.clip(array, low, high).astype(spec.dtype)
    if high > low:  # [low, high): nothing at high itself, as a uniform draw
        cast = np.where(cast >= high, np.nextafter(np.asarray(high, spec.dtype), low), cast)
    return cast.astype(spec.dtype)


def _rows(shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of one factor per row: a vector's rows are its entries."""
    return (*shape[:-1], 1) if len(shape) >= 2 else shape


def _levels(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """A level in [0, 1] per row (or column): the first at 1, the second at 0, the rest drawn."""
    levels = rng.uniform(0, 1, size=shape)
    flat = levels.reshape(-1)
    if flat.size:
        flat[0] = 1.0
    if flat.size >= 2:
        flat[1] = 0.0
    rng.shuffle(flat)
    return flat.reshape(shape)


def _at_level(
    level: np.ndarray, shape: tuple[int, ...], bounds: tuple[float, float], rng: np.random.Generator
) -> np.ndarray:
    """Values whose scale goes with ``level``: 1 the range's whole scale, 0 SPREAD decades
    smaller (toward zero when the range holds it, else toward its end nearer zero)."""
    low, high = bounds
    unit = rng.uniform(0, 1, size=shape)
    if low <= 0 <= high:
        return (low + (high - low) * unit) * 10.0 ** (-SPREAD * (1 - level))
    near, far = (low, high) if low > 0 else (-high, -low)
    near = max(near, far * 10.0**-SPREAD)
    magnitude = np.exp(np.log(near) + level * (np.log(far) - np.log(near))) * (1 + 0.01 * unit)
    return magnitude if low > 0 else -magnitude


def _rows_scaled(
    spec: InputSpec, shape: tuple[int, ...], bounds: tuple[float, float], rng: np.random.Generator
) -> Any:
    if not shape:
        return None
    return _fit(_at_level(_levels(_rows(shape), rng), shape, bounds, rng), spec, bounds)


def _columns_scaled(
    spec: InputSpec, shape: tuple[int, ...], bounds: tuple[float, float], rng: np.random.Generator
) -> Any:
    if len(shape) < 2:
        return None
    level = _levels((shape[-1],), rng).reshape((1,) * (len(shape) - 1) + (shape[-1],))
    return _fit(_at_level(level, shape, bounds, rng), spec, bounds)


def _rows_apart(
    spec: InputSpec, shape: tuple[int, ...], bounds: tuple[float, float], rng: np.random.Generator
) -> Any:
    """Each row in a narrow band at one end of the range (the first at the high end, the
    second at the low end): the rows' largest entries as far apart as the range allows."""
    if not shape:
        return None
    low, high = bounds
    ends = np.round(_levels(_rows(shape), rng))
    return _fit(low + (high - low) * (0.99 * ends + 0.01 * rng.uniform(0, 1, size=shape)), spec, bounds)


def _nearly_constant(
    spec: InputSpec, shape: tuple[int, ...], bounds: tuple[float, float], rng: np.random.Generator
) -> Any:
    """Each row one value plus noise 6 to 12 decades below the range's width."""
    if not shape or math.prod(shape) < 2:
        return None
    low, high = bounds
    row = low + (high - low) * rng.uniform(0, 1, size=_rows(shape) if len(shape) >= 2 else (1,))
    noise = (high - low) * 10.0 ** rng.uniform(-12, -6, size=shape) * rng.uniform(-1, 1, size=shape)
    return _fit(row + noise, spec, bounds)


def _near_zero(
    spec: InputSpec, shape: tuple[int, ...], bounds: tuple[float, float], rng: np.random.Generator
) -> Any:
    """Entries 2 to 16 decades below the range's scale, none exactly zero."""
    low, high = bounds
    if not low <= 0 <= high:
        return None  # zero is outside its range: its usual draw
    scale = max(abs(low), abs(high)) * 10.0 ** rng.uniform(-16, -2, size=shape)
    signs = np.array([-1.0, 1.0]) if low < 0 < high else np.array([1.0 if high > 0 else -1.0])
    return _fit(rng.choice(signs, size=shape) * scale, spec, bounds)


def _large(
    spec: InputSpec, shape: tuple[int, ...], bounds: tuple[float, float], rng: np.random.Generator
) -> Any:
    """Entries at either end of the range, drawn entry by entry."""
    low, high = bounds
    ends = rng.integers(0, 2, size=shape)
    inward = 1e-3 * (high - low) * rng.uniform(0, 1, size=shape)
    return _fit(np.where(ends == 1, high - inward, low + inward), spec, bounds)


def _repeated(
    spec: InputSpec, shape: tuple[int, ...], bounds: tuple[float, float], rng: np.random.Generator
) -> Any:
    if not shape or math.prod(shape) < 2:
        return None
    low, high = bounds
    few = low + (high - low) * rng.uniform(0, 1, size=3)
    return _fit(rng.choice(few, size=shape), spec, bounds)


def _uniform(
    spec: InputSpec, shape: tuple[int, ...], bounds: tuple[float, float], rng: np.random.Generator
) -> Any:
    return None  # the input's usual random draw


def _twin(trial: Trial, rng: np.random.Generator) -> Trial:
    """The trial's inputs moved by a few units in the last place, entry by entry (an input
    in float32 by a few of float32's), inside what its entries span. The signs of all its
    inputs come from one draw: the very values ``rng.choice([-1.0, 1.0])`` per input gave."""
    moving = {name: array for name, array in trial.inputs.items() if array.size and array.dtype in _TWIN_STEP}
    if not moving:
        return Trial(trial.sizes, dict(trial.inputs), TWIN, trial.edge)
    signs = _SIGNS[rng.integers(0, 2, size=sum(array.size for array in moving.values()))]
    inputs, start = dict(trial.inputs), 0
    for name, array in moving.items():
        sign = signs[start : start + array.size].reshape(array.shape)
        start += array.size
        inputs[name] = (array * (1 + _TWIN_STEP[array.dtype] * sign)).astype(array.dtype)
    return Trial(trial.sizes, inputs, TWIN, trial.edge)


# -- how many of the pool a student runs -----------------------------------------------------


def covered(pool: Pool, record: dict[str, Any]) -> int:
    """How many of ``pool.plain`` an answer runs on: the mandatory ones, then the extras up to
    ``PATIENCE`` trials past the last one where the reference did something new; never past
    a trial the reference did not finish with its twin (0: the reference gave nothing)."""
    result = record.get("result")
    if not isinstance(result, dict) or not isinstance(result.get("trials"), list):
        return 0
    done = len(result["trials"])
    given = result.get("covered")
    lines: list[Any] = given if isinstance(given, list) else []
    seen: set[Any] = set()
    count, quiet, plain = 0, 0, 0
    for index, trial in enumerate(pool.trials):
        if trial.kind == TWIN:
            continue
        finished = index + (2 if trial.kind == STRUCTURED else 1) <= done
        if not finished:
            break
        behaviour = _behaviour(result["trials"][index], lines[index] if index < len(lines) else [])
        new = not behaviour <= seen
        seen |= behaviour
        plain += 1
        if index < pool.mandatory:
            count = plain
            continue
        quiet = 0 if new else quiet + 1
        count = plain
        if quiet >= PATIENCE:
            break
    return count


def _behaviour(outputs: Any, lines: Any) -> set[Any]:
    """What the reference did on one trial: the line pairs of its code it ran, and for each
    output its kinds of entries (nan, inf, zero, negative, positive) and order of magnitude."""
    found: set[Any] = {("line", int(arc)) for arc in lines if isinstance(arc, int)}
    if not isinstance(outputs, dict):
        return found
    for name, value in outputs.items():
        if not isinstance(value, dict) or not isinstance(value.get("data"), list):
            found.add((name, "none"))
            continue
        data = np.asarray(value["data"], dtype=np.float64)
        finite = data[np.isfinite(data)]
        found.update((name, kind) for kind, there in _kinds(data, finite) if there)
        if finite.size and np.abs(finite).max() > 0:
            found.add((name, "decade", int(np.floor(np.log10(np.abs(finite).max()) / 4))))
    return found


def _kinds(data: np.ndarray, finite: np.ndarray) -> Iterable[tuple[str, bool]]:
    yield "nan", bool(np.isnan(data).any())
    yield "inf", bool(np.isinf(data).any())
    yield "zero", bool((finite == 0).any())
    yield "negative", bool((finite < 0).any())
    yield "positive", bool((finite > 0).any())
