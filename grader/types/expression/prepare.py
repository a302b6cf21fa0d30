"""Preparing a part once: its parsed reference, names, functions, ``let`` values and
sample batches (cached per part), and evaluating either side on a batch."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import Any

import numpy as np

from grader.core.cache import PartCache
from grader.core.verdict import AnswerError, CheckUndecided
from grader.mathlang import ast
from grader.mathlang.arithmetic import mp_from
from grader.mathlang.cases import cases_conflict
from grader.mathlang.domains import SymbolDomain
from grader.mathlang.errors import CasesOverlapError, EvalError, MathError, ShapeError
from grader.mathlang.evaluate import (
    compile_functions,
    evaluate_val,
    function_names,
)
from grader.mathlang.limits import DEFAULT_LIMITS, MAX_DIM, MAX_ELEMENTS
from grader.mathlang.parser import parse
from grader.mathlang.sampling import bounds as sampling_bounds
from grader.mathlang.sampling import (
    degenerate_array,
    dim_range,
    draw_array,
    draw_scalars,
    naming,
    seed_for,
    size_sets,
)
from grader.mathlang.values import Env, FunctionDef, Val
from grader.types.expression import probes
from grader.types.expression.intervals import IntervalForm, read_interval
from grader.types.expression.outcome import Sides
from grader.types.expression.part import ExpressionPart

SCALAR_BATCH = 128
REFERENCE_LIMITS = dataclasses.replace(DEFAULT_LIMITS, max_number_digits=100)


SCALAR_MIN_POINTS = 64


SCALAR_MAX_BATCHES = 4
# Matrix parts: after the size plan, the first sizes again with every entry scaled, so a
# difference that needs large or tiny values (relu(W x - 1000)) is reached.
MATRIX_SCALES = (1e3, 1e-3, 1e6)


MATRIX_BATCH = 16


MATRIX_MIN_POINTS = 24


MATRIX_SIZE_SETS = 4


PREPARED_CACHE_SIZE = 256
STUDENT_BATCH = -1  # the probes aimed at one student's formula
DENSER_BATCH = -2  # more probes around the few where the reference has a value
DENSER_ROUNDS = 3
REFERENCE_CACHE_SIZE = 512
DENSER_SIZE = 256  # reference values kept per part (batches x derived formulas)


@dataclass(frozen=True)
class Formula:
    node: ast.Node


@dataclass(frozen=True)
class Equation:
    node: ast.Relation

    def isolated(self) -> tuple[str, ast.Node] | None:
        return isolated(self.node)


@dataclass(frozen=True)
class FieldMap:
    fields: dict[str, Formula | Equation]


Form = Formula | Equation | FieldMap | IntervalForm


@dataclass
class Batch:
    """Sample points: ``raw`` inputs (for witnesses and re-checks) and the float values
    of every name (inputs and ``let``), each with a leading axis of ``size``."""

    size: int
    sizes: dict[str, int]
    raw: dict[str, np.ndarray]
    values: dict[str, Val]
    dim_names: dict[int, str]
    # point -> characters its inputs print as (the shortest is the witness a student reads),
    # filled as points are ranked: a part's own batches rank each point once
    printed: dict[int, int] = field(default_factory=dict)


@dataclass
class Prepared:
    part: ExpressionPart
    names: tuple[str, ...]  # names a formula may use (for the parser)
    known: tuple[str, ...]  # names shown in "this part knows ..."
    functions: dict[str, FunctionDef]
    function_names: tuple[str, ...]
    lets: tuple[tuple[str, ast.Node], ...]
    ref: Form
    dims: dict[str, tuple[int, int]]
    scalars: dict[str, SymbolDomain]
    seed: int
    size_plan: list[dict[str, int]] = field(default_factory=list)
    batches: dict[int, Batch] = field(default_factory=dict)
    magnitudes: str | None = None  # the probes' range in words, once worked out (compare._magnitudes)
    cache: dict[tuple[int, int, str], tuple[ast.Node, dict[str, ast.Node], Val]] = field(default_factory=dict)
    derived: dict[int, tuple[ast.Node, ast.Node]] = field(default_factory=dict)
    # 40-digit environments at chosen probes and the reference's values there (compare._mp_reference)
    mp_values: dict[tuple[Any, ...], tuple[Env, np.ndarray]] = field(default_factory=dict)

    @property
    def is_matrix(self) -> bool:
        return bool(self.part.arrays)

    @cached_property
    def reference_constants(self) -> frozenset[float]:
        """The constants the reference writes (with its lets and functions); a student's
        other constants get probes of their own."""
        return frozenset(probes.formula_constants(_reference_nodes(self)))

    def parse(self, text: str, extra: tuple[str, ...] = ()) -> ast.Node:
        """A student's formula; rows of its cases that overlap and disagree cannot be read."""
        node = parse(text, symbols=self.names + extra, functions=self.function_names)
        conflict = cases_conflict(node, self.part.symbols)
        if conflict is not None:
            raise CasesOverlapError(conflict.message(), text, node.pos)
        return node

    def parse_reference(self, text: str) -> ast.Node:
        """The TA's reference: as a student's answer, with longer number literals (a value
        to 32 digits against ``rtol: 1e-25``)."""
        return parse(text, symbols=self.names, functions=self.function_names, limits=REFERENCE_LIMITS)


def prepare(part: ExpressionPart) -> Prepared:
    """The part's parsed reference, functions, lets and sampling plan (cached)."""
    return _PREPARED.get(part)


def _prepare(part: ExpressionPart, key: str) -> Prepared:
    lets = {k: v for k, v in part.let.items()}
    fields = tuple(str(k) for k in part.answer) if isinstance(part.answer, dict) else ()
    base = [*part.symbols, *part.arrays, *part.constants]
    names = tuple(dict.fromkeys([*base, *(k for k in lets if k != "1"), *fields]))
    known = tuple(n for n in dict.fromkeys([*base, *(k for k in lets if k != "1")]))
    functions = _spec_call(lambda: compile_functions(part.functions, names), "functions")
    fnames = function_names(part.functions, names)

    let_nodes: list[tuple[str, ast.Node]] = []
    for name, text in lets.items():
        node = _spec_call(
            lambda t=text: parse(str(t), symbols=names, functions=fnames),
            f"let {name}",
        )
        let_nodes.append((str(name), node))
    dims, scalars = _dims_and_scalars(part)
    prepared = Prepared(
        part=part,
        names=names,
        known=known,
        functions=functions,
        function_names=fnames,
        lets=tuple(let_nodes),
        ref=Formula(ast.Num(0, Fraction(0))),
        dims=dims,
        scalars=scalars,
        seed=seed_for(key),
    )
    prepared.ref = _spec_call(lambda: _reference_form(prepared, part.answer), "answer")
    prepared.size_plan = _size_plan(prepared)
    return prepared


def _spec_call(fn: Any, what: str) -> Any:
    try:
        return fn()
    except MathError as err:
        raise CheckUndecided(f"the part's {what} cannot be read: {err.render()}") from None


def _reference_form(prep: Prepared, answer: Any) -> Form:
    if isinstance(answer, dict):
        return FieldMap({str(k): _single_form(prep.parse_reference(_text_of(v))) for k, v in answer.items()})
    text = _text_of(answer)
    interval = read_interval(text, prep.parse_reference)
    return interval if interval is not None else _single_form(prep.parse_reference(text))


def _single_form(node: ast.Node) -> Formula | Equation:
    if isinstance(node, ast.Relation) and node.op == "=":
        return Equation(node)
    return Formula(node)


def _text_of(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        raise AnswerError("expected a formula")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_text_of(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _dims_and_scalars(part: ExpressionPart) -> tuple[dict[str, tuple[int, int]], dict[str, SymbolDomain]]:
    dims: dict[str, tuple[int, int]] = {}
    for name, shape in part.arrays.items():
        for d in shape:
            if isinstance(d, str) and not _is_number(d):
                dims[d] = dim_range(part.symbols.get(d))
            elif int(d) < 1 or int(d) > MAX_DIM:
                raise CheckUndecided(f"array {name} has a dimension {d}; allowed are 1 to {MAX_DIM}")
        fixed_size = math.prod(int(d) if not isinstance(d, str) or _is_number(d) else 1 for d in shape)
        if fixed_size > MAX_ELEMENTS:
            raise CheckUndecided(f"array {name} is past the size limit of {MAX_ELEMENTS} entries")
    for name, (lo, _) in dims.items():
        if lo > MAX_DIM:
            raise CheckUndecided(f"dim {name} is at least {lo}, past the limit of {MAX_DIM}")
    scalars = {n: d for n, d in part.symbols.items() if n not in dims and n not in part.arrays}
    return dims, scalars


def _is_number(dim: str) -> bool:
    return dim.strip().lstrip("-").isdigit()


def _size_plan(prep: Prepared) -> list[dict[str, int]]:
    if not prep.dims:
        return [{}]
    shapes = prep.part.arrays.values()
    fixed = {int(d) for shape in shapes for d in shape if not isinstance(d, str) or _is_number(d)}
    rng = np.random.default_rng(prep.seed ^ 0x5EED)
    return size_sets(prep.dims, rng, fixed, want=MATRIX_SIZE_SETS)


def batch_indices(prep: Prepared) -> Iterator[int]:
    if prep.dims or prep.is_matrix:  # the size plan, scaled entries, then degenerate inputs
        yield from range(len(prep.size_plan) + len(MATRIX_SCALES) + 1)
        return
    yield from range(SCALAR_MAX_BATCHES)


def get_batch(prep: Prepared, index: int) -> Batch:
    found = prep.batches.get(index)
    if found is None:
        found = _make_batch(prep, index)
        prep.batches[index] = found
    return found


def _make_batch(prep: Prepared, index: int) -> Batch:
    if index == 0 and not prep.is_matrix and prep.scalars:
        return aimed_batch(prep, [node for node in _reference_nodes(prep)], np.random.default_rng(prep.seed))
    if prep.is_matrix and index == len(prep.size_plan) + len(MATRIX_SCALES):
        return _degenerate_batch(prep, np.random.default_rng([prep.seed, index]))
    rng = np.random.default_rng([prep.seed, index])
    matrix = prep.is_matrix
    plan = len(prep.size_plan)
    # past the size plan: the first sizes again, with every value scaled far from 1
    scale = MATRIX_SCALES[index - plan] if matrix and index >= plan else 1.0
    sizes = prep.size_plan[index if index < plan else 0] if matrix else {}
    count = MATRIX_BATCH if matrix else SCALAR_BATCH
    if matrix and not prep.dims:
        count = MATRIX_BATCH * MATRIX_SIZE_SETS
    # later scalar batches: smaller magnitudes (fewer overflows)
    rng_scale = 0.5**index if index > 0 and not matrix else 1.0
    raw: dict[str, np.ndarray] = {}
    for name, domain in prep.scalars.items():
        drawn = draw_scalars(domain, count, rng)
        if rng_scale != 1.0 and not domain.integer and domain.interval is None:
            drawn = drawn * rng_scale
        raw[name] = drawn
    for name, size in sizes.items():
        raw[name] = np.array([float(size)])
    for name, shape in prep.part.arrays.items():
        concrete = tuple(sizes[d] if isinstance(d, str) and not _is_number(d) else int(d) for d in shape)
        raw[name] = draw_array(concrete, count, rng) * scale
    for name, domain in prep.scalars.items():
        if scale != 1.0 and not domain.integer and sampling_bounds(domain) == (None, None):
            raw[name] = raw[name] * scale
    return batch_at(prep, raw, count, sizes)


def _degenerate_batch(prep: Prepared, rng: np.random.Generator) -> Batch:
    """Matrix parts: degenerate inputs at the first sizes (zeros, ones, identities, rows of
    zeros), where a formula's kinks meet (a step of ``W x`` at exactly 0)."""
    sizes = prep.size_plan[0]
    count = MATRIX_BATCH * 2
    raw: dict[str, np.ndarray] = {}
    for name, domain in prep.scalars.items():
        raw[name] = draw_scalars(domain, count, rng)
    for name, size in sizes.items():
        raw[name] = np.array([float(size)])
    for which, (name, shape) in enumerate(prep.part.arrays.items()):
        concrete = tuple(sizes[d] if isinstance(d, str) and not _is_number(d) else int(d) for d in shape)
        raw[name] = degenerate_array(concrete, count, rng, which)
    return batch_at(prep, raw, count, sizes)


def batch_at(
    prep: Prepared, raw: dict[str, np.ndarray], count: int, sizes: dict[str, int] | None = None
) -> Batch:
    """A batch of ``count`` points with these input values (constants and lets added)."""
    raw = dict(raw)
    for name, value in prep.part.constants.items():
        raw[name] = np.array([float(value)])
    dim_names = naming(sizes or {})
    values = {name: Val(arr) for name, arr in raw.items()}
    env = Env("float", count, values, prep.functions, dim_names, prep.known)
    with np.errstate(all="ignore"):
        for name, node in prep.lets:
            values[name] = _spec_call(lambda n=node: evaluate_val(n, env), f"let {name}")
    return Batch(count, dict(sizes or {}), raw, values, dim_names)


def _reference_nodes(prep: Prepared) -> list[ast.Node]:
    """The reference's formulas with everything they draw on (lets, spec functions)."""
    ref = prep.ref
    forms = list(ref.fields.values()) if isinstance(ref, FieldMap) else [ref]
    nodes: list[ast.Node] = []
    for form in forms:
        nodes += [form.low, form.high] if isinstance(form, IntervalForm) else [form.node]
    nodes += [node for _, node in prep.lets]
    nodes += [fdef.body for fdef in prep.functions.values() if fdef.body is not None]
    return nodes


def aimed_batch(prep: Prepared, nodes: list[ast.Node], rng: np.random.Generator, base: bool = True) -> Batch:
    """Probe points aimed at these formulas' scales, constants and kinks (see probes.py)."""
    constants = probes.constant_values(probes.formula_constants(nodes))
    kinks = probes.kink_arguments(nodes)
    features = probes.feature_arguments(nodes)
    if base:  # the reference's own zeros and extremes: where |r| is smallest the rule is strictest
        values_of = [n for n in nodes if not isinstance(n, ast.Relation | ast.Logic | ast.TupleLit)]
        kinks, features = [*kinks, *values_of], [*features, *values_of]
    candidates: dict[str, list[float]] = {}
    for name, domain in prep.scalars.items():
        values = probes.base_values() + probes.random_values(rng, probes.RANDOM_PER_SYMBOL) if base else []
        values += constants
        grid = probes.admissible(values or probes.base_values(), domain)
        values += probes.around(kink_roots(prep, kinks, name, grid))
        values += probes.around(feature_extremes(prep, features, name, grid))
        candidates[name] = probes.admissible(values, domain) or probes.admissible(
            probes.base_values(), domain
        )
    raw = probes.combine(candidates, rng)
    count = len(next(iter(raw.values())))
    return batch_at(prep, raw, count)


def kink_roots(prep: Prepared, arguments: list[ast.Node], name: str, grid: list[float]) -> list[float]:
    """Where a kink argument that depends on ``name`` alone changes sign, found on the grid."""
    free = [arg for arg in arguments if ast.free_names(arg) == {name}]
    if not free or not grid:
        return []
    xs = np.unique(np.array(grid, dtype=float))
    env = Env("float", len(xs), {name: Val(xs)}, prep.functions, {}, prep.known)
    roots: list[float] = []
    for arg in free:
        try:
            with np.errstate(all="ignore"):
                ys = evaluate_val(arg, env).a
        except MathError:
            continue
        if ys.ndim != 1 or ys.dtype.kind != "f":
            continue
        roots += _sign_changes(arg, name, xs, ys, prep)
    return roots


MAX_EXTREMES = 32  # extremes of feature arguments kept per symbol
GOLDEN_STEPS = 90


def feature_extremes(prep: Prepared, arguments: list[ast.Node], name: str, grid: list[float]) -> list[float]:
    """Where an argument that depends on ``name`` alone peaks or dips between grid points,
    refined by golden-section search (every bracket of an argument at once)."""
    free = [arg for arg in arguments if ast.free_names(arg) == {name}]
    xs = np.unique(np.array(grid, dtype=float))
    if not free or len(xs) < 3:
        return []
    found: list[float] = []
    for arg in free:
        ys = _at_points(prep, arg, name, xs)
        if ys is None:
            continue
        left, mid, right = ys[:-2], ys[1:-1], ys[2:]
        with np.errstate(invalid="ignore"):
            peak = (mid > left) & (mid >= right)
            dip = (mid < left) & (mid <= right)
        idx = np.flatnonzero(np.isfinite(left) & np.isfinite(mid) & np.isfinite(right) & (peak | dip)) + 1
        if not len(idx):
            continue
        found += _golden(prep, arg, name, xs[idx - 1], xs[idx + 1], peak[idx - 1]).tolist()
        if len(found) >= MAX_EXTREMES:
            break
    return [x for x in found[:MAX_EXTREMES] if math.isfinite(x)]


def _at_points(prep: Prepared, node: ast.Node, name: str, xs: np.ndarray) -> np.ndarray | None:
    env = Env("float", len(xs), {name: Val(xs)}, prep.functions, {}, prep.known)
    try:
        with np.errstate(all="ignore"):
            ys = evaluate_val(node, env).a
    except MathError:
        return None
    if ys.dtype.kind not in "fi" or not (ys.ndim == 1 or ys.size == 1):
        return None
    return np.asarray(np.broadcast_to(ys, (len(xs),)), dtype=float)


def _golden(
    prep: Prepared, node: ast.Node, name: str, lo: np.ndarray, hi: np.ndarray, maximise: np.ndarray
) -> np.ndarray:
    ratio = (math.sqrt(5) - 1) / 2
    lo, hi = lo.copy(), hi.copy()
    for _ in range(GOLDEN_STEPS):
        a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        fa, fb = _at_points(prep, node, name, a), _at_points(prep, node, name, b)
        if fa is None or fb is None:
            break
        with np.errstate(invalid="ignore"):
            keep_left = np.where(maximise, fa > fb, fa < fb)
        lo, hi = np.where(keep_left, lo, a), np.where(keep_left, b, hi)
    return (lo + hi) / 2


def _sign_changes(arg: ast.Node, name: str, xs: np.ndarray, ys: np.ndarray, prep: Prepared) -> list[float]:
    roots = xs[ys == 0].tolist()
    finite = np.isfinite(ys)
    change = np.flatnonzero(finite[:-1] & finite[1:] & (np.sign(ys[:-1]) * np.sign(ys[1:]) < 0))
    lo, hi = xs[change].copy(), xs[change + 1].copy()
    y_lo = ys[change].copy()
    for _ in range(60):  # bisection, every bracket at once
        mid = (lo + hi) / 2
        env = Env("float", len(mid), {name: Val(mid)}, prep.functions, {}, prep.known)
        with np.errstate(all="ignore"):
            y_mid = evaluate_val(arg, env).a
        left = np.sign(y_mid) == np.sign(y_lo)
        lo = np.where(left, mid, lo)
        y_lo = np.where(left, y_mid, y_lo)
        hi = np.where(left, hi, mid)
    return roots + ((lo + hi) / 2).tolist()


@contextmanager
def denser_probes(prep: Prepared, sides: Sides, round_: int) -> Iterator[int | None]:
    """A batch of points near the probes where the reference has a value (index DENSER_BATCH
    while comparing; None when the reference has a value at no probe at all)."""
    seeds = _defined_points(prep, sides)
    if not seeds or not prep.scalars:
        yield None
        return
    rng = np.random.default_rng([prep.seed, 7, round_])
    picks = rng.integers(0, len(seeds), DENSER_SIZE)
    raw: dict[str, np.ndarray] = {}
    for name, domain in prep.scalars.items():
        base = np.array([seeds[i][name] for i in picks])
        spread = 10.0 ** rng.uniform(-0.3 * (round_ + 1), 0.3 * (round_ + 1), DENSER_SIZE)
        moved = np.where(
            rng.random(DENSER_SIZE) < 0.5, base * spread, base + rng.normal(0, 1e-3, DENSER_SIZE)
        )
        raw[name] = np.array(probes.admissible(moved.tolist(), domain) or base.tolist())[:DENSER_SIZE]
    count = min(len(v) for v in raw.values())
    prep.batches[DENSER_BATCH] = batch_at(prep, {k: v[:count] for k, v in raw.items()}, count)
    try:
        yield DENSER_BATCH
    finally:
        prep.batches.pop(DENSER_BATCH, None)


def _defined_points(prep: Prepared, sides: Sides) -> list[dict[str, float]]:
    found: list[dict[str, float]] = []
    for bi in [i for i in prep.batches if i >= 0]:
        batch = prep.batches[bi]
        with np.errstate(all="ignore"):
            value = reference_value(prep, sides.ref, bi, sides.overrides).a
        defined = np.all(np.isfinite(value.reshape(batch.size, -1)), axis=1)
        for i in np.flatnonzero(defined)[:64].tolist():
            found.append(
                {n: float(batch.raw[n][0 if batch.raw[n].shape[0] == 1 else i]) for n in prep.scalars}
            )
    return found


def _at(column: np.ndarray, i: int) -> float:
    return float(column[0] if column.shape[0] == 1 else column[i])


def mp_env(prep: Prepared, batch: Batch, idx: np.ndarray, overrides: Mapping[str, ast.Node]) -> Env:
    """The points ``idx`` of a batch, re-evaluated with mpmath (lets and overrides included)."""
    raw = {name: (arr if arr.shape[0] == 1 else arr[idx]) for name, arr in batch.raw.items()}
    return mp_env_at(prep, raw, len(idx), batch.dim_names, overrides)


def mp_env_at(
    prep: Prepared,
    raw: Mapping[str, np.ndarray],
    count: int,
    dim_names: dict[int, str],
    overrides: Mapping[str, ast.Node],
) -> Env:
    """An mpmath environment at these input values (lets and overrides evaluated on it)."""
    values: dict[str, Val] = {}
    for name, picked in raw.items():
        obj = np.empty(picked.shape, dtype=object)
        for pos in np.ndindex(*picked.shape):
            obj[pos] = mp_from(float(picked[pos]))
        values[name] = Val(obj)
    env = Env("mp", count, values, prep.functions, dim_names, prep.known)
    for name, node in prep.lets:
        values[name] = evaluate_val(node, env)
    for name, node in overrides.items():
        values[name] = evaluate_val(node, env)
    return env


@contextmanager
def student_probes(prep: Prepared, sides: Sides) -> Iterator[None]:
    """While comparing, a batch aimed at the constants and kinks of the student's formula
    that the reference does not have (index STUDENT_BATCH, never cached)."""
    if prep.is_matrix or not prep.scalars or sides.ref_is_student:
        yield
        return
    constants = [c for c in probes.formula_constants([sides.ans]) if c not in prep.reference_constants]
    kinks = probes.kink_arguments([sides.ans])
    if not constants and not kinks:
        yield
        return
    prep.batches[STUDENT_BATCH] = aimed_batch(
        prep, [sides.ans], np.random.default_rng(prep.seed + 1), base=False
    )
    try:
        yield
    finally:
        prep.batches.pop(STUDENT_BATCH, None)


def float_env(prep: Prepared, batch: Batch, overrides: Mapping[str, ast.Node], bi: int) -> Env:
    if not overrides:
        return Env("float", batch.size, batch.values, prep.functions, batch.dim_names, prep.known)
    values = dict(batch.values)
    env = Env("float", batch.size, values, prep.functions, batch.dim_names, prep.known)
    for name, node in overrides.items():
        values[name] = reference_value(prep, node, bi, {})
    return env


def reference_value(prep: Prepared, node: ast.Node, bi: int, overrides: Mapping[str, ast.Node]) -> Val:
    """The reference side at batch ``bi`` (cached; an error here is the spec's fault).

    The cache holds the nodes themselves too, so an id is never reused while cached."""
    if bi < 0:  # batches aimed at one student or one formula: not cached
        return _reference_at(prep, node, bi, overrides)
    key = (id(node), bi, ",".join(f"{k}:{id(v)}" for k, v in overrides.items()))
    found = prep.cache.get(key)
    if found is not None and found[0] is node and all(found[1].get(k) is v for k, v in overrides.items()):
        return found[2]
    value = _reference_at(prep, node, bi, overrides)
    if len(prep.cache) >= REFERENCE_CACHE_SIZE:
        prep.cache.clear()
    prep.cache[key] = (node, dict(overrides), value)
    return value


def _reference_at(prep: Prepared, node: ast.Node, bi: int, overrides: Mapping[str, ast.Node]) -> Val:
    env = float_env(prep, get_batch(prep, bi), overrides, bi)
    with np.errstate(all="ignore"):
        return _spec_call(lambda: evaluate_val(node, env), "answer")


class StudentShapeError(Exception):
    """The student's formula is ill-shaped: carries the rendered message."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def student_value(
    prep: Prepared, node: ast.Node, text: str, bi: int, overrides: Mapping[str, ast.Node]
) -> Val:
    batch = get_batch(prep, bi)
    env = float_env(prep, batch, overrides, bi)
    try:
        with np.errstate(all="ignore"):
            return evaluate_val(node, env)
    except ShapeError as err:
        err.text = text
        raise StudentShapeError(_sized(prep, batch, bi, err.render())) from None
    except EvalError as err:
        err.text = text
        if bi == 0:
            raise
        raise StudentShapeError(_sized(prep, batch, bi, err.render())) from None


def _sized(prep: Prepared, batch: Batch, bi: int, message: str) -> str:
    if bi == 0 or not batch.sizes:
        return message
    sizes = ", ".join(f"{k} = {v}" for k, v in batch.sizes.items())
    return f"with {sizes}: {message}"


def isolated(rel: ast.Relation) -> tuple[str, ast.Node] | None:
    """``(s, g)`` when the equation reads ``s = g`` (or ``g = s``) with s not in g."""
    for lone, other in ((rel.left, rel.right), (rel.right, rel.left)):
        if isinstance(lone, ast.Sym) and lone.name not in ast.free_names(other):
            return lone.name, other
    return None


_PREPARED: PartCache[Prepared] = PartCache(
    ("answer", "symbols", "arrays", "functions", "let", "constants", "rtol", "atol"),
    _prepare,
    PREPARED_CACHE_SIZE,
)


def clear_prepared() -> None:
    """Forget every prepared part (tests; a long-running process that reloads problem sets)."""
    _PREPARED.clear()


def relevant_names(prep: Prepared, nodes: list[ast.Node]) -> set[str]:
    """The inputs a formula depends on (through lets and spec functions)."""
    lets = dict(prep.lets)
    seen: set[str] = set()
    stack = [name for node in nodes for name in ast.free_names(node)]
    for fdef in prep.functions.values():
        if fdef.body is not None:
            stack.extend(ast.free_names(fdef.body) - {fdef.param or ""})
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in lets:
            stack.extend(ast.free_names(lets[name]))
    return seen


def relevant_scalars(prep: Prepared, nodes: list[ast.Node]) -> list[str]:
    """The scalar symbols the formulas depend on, in declaration order."""
    names = relevant_names(prep, nodes)
    return [name for name in prep.scalars if name in names]
