"""Preparing a part once: its parsed reference, names, functions, ``let`` values and
sample batches (cached per part), and evaluating either side on a batch."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from grader.core.cache import PartCache
from grader.core.verdict import AnswerError, CheckUndecided
from grader.mathlang import ast
from grader.mathlang.builtins import mp_from
from grader.mathlang.domains import SymbolDomain
from grader.mathlang.errors import EvalError, MathError, ShapeError
from grader.mathlang.evaluate import (
    compile_functions,
    evaluate_val,
    function_names,
)
from grader.mathlang.sampling import (
    dim_range,
    draw_array,
    draw_scalars,
    naming,
    seed_for,
    size_sets,
)
from grader.mathlang.values import MAX_DIM, MAX_ELEMENTS, Env, FunctionDef, Val
from grader.types.expression.part import ExpressionPart

SCALAR_BATCH = 128


SCALAR_MIN_POINTS = 64


SCALAR_MAX_BATCHES = 4


MATRIX_BATCH = 16


MATRIX_MIN_POINTS = 24


MATRIX_SIZE_SETS = 4


PREPARED_CACHE_SIZE = 256


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


Form = Formula | Equation | FieldMap


@dataclass
class Batch:
    """Sample points: ``raw`` inputs (for witnesses and re-checks) and the float values
    of every name (inputs and ``let``), each with a leading axis of ``size``."""

    size: int
    sizes: dict[str, int]
    raw: dict[str, np.ndarray]
    values: dict[str, Val]
    dim_names: dict[int, str]


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
    cache: dict[tuple[int, int, str], tuple[ast.Node, dict[str, ast.Node], Val]] = field(default_factory=dict)
    derived: dict[int, tuple[ast.Node, ast.Node]] = field(default_factory=dict)

    @property
    def is_matrix(self) -> bool:
        return bool(self.part.arrays)

    def parse(self, text: str, extra: tuple[str, ...] = ()) -> ast.Node:
        from grader.mathlang.parser import parse

        return parse(text, symbols=self.names + extra, functions=self.function_names)


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
    from grader.mathlang.parser import parse

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
        return FieldMap({str(k): _single_form(prep.parse(_text_of(v))) for k, v in answer.items()})
    return _single_form(prep.parse(_text_of(answer)))


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
    count = len(prep.size_plan) if prep.dims or prep.is_matrix else SCALAR_MAX_BATCHES
    yield from range(count)


def get_batch(prep: Prepared, index: int) -> Batch:
    found = prep.batches.get(index)
    if found is None:
        found = _make_batch(prep, index)
        prep.batches[index] = found
    return found


def _make_batch(prep: Prepared, index: int) -> Batch:
    rng = np.random.default_rng([prep.seed, index])
    matrix = prep.is_matrix
    sizes = prep.size_plan[index] if matrix else {}
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
    for name, value in prep.part.constants.items():
        raw[name] = np.array([float(value)])
    for name, shape in prep.part.arrays.items():
        concrete = tuple(sizes[d] if isinstance(d, str) and not _is_number(d) else int(d) for d in shape)
        raw[name] = draw_array(concrete, count, rng)
    dim_names = naming(sizes)
    values = {name: Val(arr) for name, arr in raw.items()}
    env = Env("float", count, values, prep.functions, dim_names, prep.known)
    with np.errstate(all="ignore"):
        for name, node in prep.lets:
            values[name] = _spec_call(lambda n=node: evaluate_val(n, env), f"let {name}")
    return Batch(count, sizes, raw, values, dim_names)


def mp_env(prep: Prepared, batch: Batch, idx: np.ndarray, overrides: Mapping[str, ast.Node]) -> Env:
    """The points ``idx`` of a batch, re-evaluated with mpmath (lets and overrides included)."""
    values: dict[str, Val] = {}
    for name, arr in batch.raw.items():
        picked = arr if arr.shape[0] == 1 else arr[idx]
        obj = np.empty(picked.shape, dtype=object)
        for pos in np.ndindex(*picked.shape):
            obj[pos] = mp_from(float(picked[pos]))
        values[name] = Val(obj)
    env = Env("mp", len(idx), values, prep.functions, batch.dim_names, prep.known)
    for name, node in prep.lets:
        values[name] = evaluate_val(node, env)
    for name, node in overrides.items():
        values[name] = evaluate_val(node, env)
    return env


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
    key = (id(node), bi, ",".join(f"{k}:{id(v)}" for k, v in overrides.items()))
    found = prep.cache.get(key)
    if found is not None and found[0] is node and all(found[1].get(k) is v for k, v in overrides.items()):
        return found[2]
    batch = get_batch(prep, bi)
    env = float_env(prep, batch, overrides, bi)
    with np.errstate(all="ignore"):
        value = _spec_call(lambda: evaluate_val(node, env), "answer")
    prep.cache[key] = (node, dict(overrides), value)
    return value


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
