"""The ``expression`` checker: formulas, equations and mappings of formulas
(contract sections 1 and 4), scalar or matrix-valued with symbolic dims.

How a formula is decided:

1. Both sides are parsed with the part's names (symbols, arrays, ``let``
   names, constants) and functions; the parsed reference, the sample points
   and the reference's values are cached per part.
2. Matrix parts: both sides are evaluated at a *naming* size (distinct sizes
   for the dims); a shape error inside the student's formula, or a result of
   another shape than the reference's, is incorrect with a message naming the
   shapes (``n×n matrix``) and the sub-formula.
3. Numeric comparison, batched: scalar parts at 128 seeded points per batch
   (redrawn until at least 64 points where the reference is defined); matrix
   parts at 16 points for each of up to four size sets (the smallest allowed
   sizes among them). A point passes when
   ``|a - b| <= rtol * max(|a|, |b|) + atol * S`` (Frobenius norms for arrays),
   ``S`` the formula's typical size (median |reference|), so a tiny reference
   (2^-99) is still compared relatively.
4. Points where float64 is in doubt (the two sides differ, or the student's
   side overflows) are re-evaluated with mpmath at 40 digits before a verdict:
   only a confirmed difference is a witness; where the reference is defined and
   the student's formula is not, that is wrong.
5. Scalar formulas: sympy (built node by node, no text parsing) confirms
   ``simplify(ref - answer) == 0`` when the numeric evidence is thin (few
   defined points, or float noise had to be settled); the method is in
   the verdict's ``decision``.

Equations are equivalent when they have the same solutions: the same isolated
symbol with equivalent right-hand sides, or ``lhs - rhs`` equal up to a
nonzero constant factor, or (one side isolating ``s = g``) the other holding at
``s = g`` with no other solution for ``s`` (sympy ``solve``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from grader.core.cache import PartCache
from grader.core.verdict import AnswerError, CheckUndecided, Decision, Verdict
from grader.mathlang import ast
from grader.mathlang.builtins import MP, inner_product_hint, mp_from
from grader.mathlang.domains import SymbolDomain
from grader.mathlang.errors import EvalError, MathError, ParseError, ShapeError
from grader.mathlang.evaluate import (
    NotExactError,
    compile_functions,
    evaluate_exact,
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
from grader.mathlang.values import MAX_DIM, MAX_ELEMENTS, Env, FunctionDef, Val, describe, show
from grader.types.expression.part import ExpressionPart

SCALAR_BATCH = 128
SCALAR_MIN_POINTS = 64
SCALAR_MAX_BATCHES = 4
MATRIX_BATCH = 16
MATRIX_MIN_POINTS = 24
MATRIX_SIZE_SETS = 4
MAX_RECHECKS = 12  # points re-evaluated with mpmath per batch
# "auto": sympy only when numerics are thin; "always": every scalar formula; "never".
SYMBOLIC_MODE = "auto"
SYMBOLIC_MAX_OPS = 40
PREPARED_CACHE_SIZE = 256


# ---- the parsed reference and its samples, cached per part ----------------------------


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


# ---- evaluation of one side on one batch ------------------------------------------------


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


# ---- comparing two formulas ------------------------------------------------------------------


@dataclass
class Outcome:
    equal: bool
    feedback: str = ""
    points: int = 0
    method: str = ""
    rechecked: int = 0


@dataclass
class Sides:
    """What is compared: the reference side and the student's, with their texts."""

    ref: ast.Node
    ans: ast.Node
    text: str
    overrides: dict[str, ast.Node] = field(default_factory=dict)
    label: str = ""  # "lambda" when comparing the right-hand sides of lambda = ...
    ref_is_student: bool = False  # both sides come from the student (an equation's two sides)


def compare(prep: Prepared, sides: Sides) -> Outcome:
    """Numeric (and where useful symbolic) equivalence of two formulas."""
    if not ast.free_names(sides.ref) and not ast.free_names(sides.ans) and not sides.overrides:
        constant = _compare_constants(prep, sides)
        if constant is not None:
            return constant
    points = 0
    rechecked = 0
    minimum = MATRIX_MIN_POINTS if prep.is_matrix else SCALAR_MIN_POINTS
    done: dict[int, tuple[Val, Val]] = {}
    try:
        if prep.is_matrix:  # shapes first, at the naming sizes
            done[0] = _both(prep, sides, 0)
            mismatch = _shape_mismatch(prep, sides, *done[0], 0)
            if mismatch:
                return Outcome(False, mismatch)
        for bi in _batch_order(prep):
            ref, ans = done.pop(bi) if bi in done else _both(prep, sides, bi)
            mismatch = _shape_mismatch(prep, sides, ref, ans, bi)
            if mismatch:
                return Outcome(False, mismatch)
            result = _compare_batch(prep, sides, ref, ans, bi)
            if result.feedback:
                return result
            points += result.points
            rechecked += result.rechecked
            if not prep.is_matrix and points >= minimum:
                break
    except StudentShapeError as err:
        return Outcome(False, err.message)
    if points < minimum:
        raise CheckUndecided(
            f"only {points} sample points where the expected formula is defined "
            f"(need {minimum}); check the symbols' domains"
        )
    method = f"numeric: {points} points"
    if prep.is_matrix:
        method += f" at sizes {_plan_text(prep)}"
    if rechecked:
        method += f", {rechecked} re-checked at 40 digits"
    outcome = Outcome(True, "", points, method, rechecked)
    return _symbolic_confirmation(prep, sides, outcome)


def _both(prep: Prepared, sides: Sides, bi: int) -> tuple[Val, Val]:
    ref = _ref_or_student(prep, sides, bi)
    ans = student_value(prep, sides.ans, sides.text, bi, sides.overrides)
    return ref, ans


def _batch_order(prep: Prepared) -> list[int]:
    """Scalar parts: batches in order; matrix parts: the smallest sizes first (nicer witnesses)."""
    indices = list(batch_indices(prep))
    if not prep.is_matrix:
        return indices
    return sorted(indices, key=lambda i: (sum(prep.size_plan[i].values()), i))


def _ref_or_student(prep: Prepared, sides: Sides, bi: int) -> Val:
    if not sides.ref_is_student:
        return reference_value(prep, sides.ref, bi, sides.overrides)
    return student_value(prep, sides.ref, sides.text, bi, sides.overrides)


def _plan_text(prep: Prepared) -> str:
    parts = []
    for sizes in prep.size_plan:
        parts.append("(" + ", ".join(f"{k}={v}" for k, v in sizes.items()) + ")")
    return " ".join(parts)


def _compare_constants(prep: Prepared, sides: Sides) -> Outcome | None:
    try:
        ref = evaluate_exact(sides.ref, {}, functions=prep.functions)
        ans = evaluate_exact(sides.ans, {}, functions=prep.functions)
    except NotExactError:
        return None
    except EvalError:
        return None
    if not isinstance(ref, Fraction) or not isinstance(ans, Fraction):
        return None
    if _has_float(sides.ans) or _has_float(sides.ref):
        return None
    if ref == ans:
        return Outcome(True, "", 1, "exact")
    return Outcome(False, f"your value is {_fmt_exact(ans)}, the expected {_fmt_exact(ref)}", 1, "exact")


def _has_float(node: ast.Node) -> bool:
    return any(isinstance(n, ast.Num) and n.is_float for n in ast.walk(node))


def _fmt_exact(v: Fraction) -> str:
    if v.denominator == 1 and abs(v.numerator) < 10**15:
        return str(v.numerator)
    if max(v.numerator.bit_length(), v.denominator.bit_length()) < 50:
        return f"{v.numerator}/{v.denominator}"
    return _fmt(float(v))


def canonical(val: Val) -> tuple[tuple[int, ...], np.ndarray]:
    """Shape with row vectors, n×1 matrices and 1×1 matrices read as vectors/scalars,
    and the values as (batch, entries)."""
    shape = val.shape
    if val.row or (len(shape) == 2 and shape[1] == 1 and shape[0] != 1):
        shape = (shape[0] * shape[1],)
    elif len(shape) == 2 and shape == (1, 1):
        shape = ()
    a = val.a
    return shape, a.reshape(a.shape[0], -1)


def _shape_mismatch(prep: Prepared, sides: Sides, ref: Val, ans: Val, bi: int) -> str:
    ref_shape, _ = canonical(ref)
    ans_shape, _ = canonical(ans)
    if ref_shape == ans_shape:
        return ""
    names = get_batch(prep, bi).dim_names
    yours, expected = _article(describe(ans, names)), _article(describe(ref, names))
    message = f"your formula is {yours}; the expected answer is {expected}"
    hint = _shape_hint(prep, sides, bi, ref)
    return _sized(prep, get_batch(prep, bi), bi, message + (f". {hint}" if hint else ""))


def _article(text: str) -> str:
    if text.startswith(("scalar", "row")):
        return "a " + text
    return ("an " if text[:1] in "aefhilmnorsx8" else "a ") + text


def _shape_hint(prep: Prepared, sides: Sides, bi: int, ref: Val) -> str:
    """Point at the sub-formula where the shape went astray (an inner product...)."""
    batch = get_batch(prep, bi)
    env = float_env(prep, batch, sides.overrides, bi)
    env.trace = {}
    with np.errstate(all="ignore"):
        evaluate_val(sides.ans, env)
    for node in ast.walk(sides.ans):
        if isinstance(node, ast.BinOp) and node.op in ("implicit", "cdot", "dot", "matmul", "times"):
            left, right = env.trace.get(id(node.left)), env.trace.get(id(node.right))
            if left is None or right is None or ref.is_scalar():
                continue
            if left.row and right.is_vector():
                if isinstance(node.left, ast.Transpose):
                    return inner_product_hint(node.left.operand, node.right, node)
                return f"`{show(node)}` is a scalar (a row vector times a column vector)"
    return ""


def _compare_batch(prep: Prepared, sides: Sides, ref: Val, ans: Val, bi: int) -> Outcome:
    batch = get_batch(prep, bi)
    shape, r = canonical(ref)
    _, a = canonical(ans)
    size = batch.size
    r = np.broadcast_to(r, (size, r.shape[1]))
    a = np.broadcast_to(a, (size, a.shape[1]))
    with np.errstate(all="ignore"):
        ref_ok = np.all(np.isfinite(r), axis=1)
        ans_ok = np.all(np.isfinite(a), axis=1)
        scale = _scale(r[ref_ok])
        close = _close(r, a, prep.part.rtol, prep.part.atol * scale)
    good = ref_ok & ans_ok & close
    bad = np.flatnonzero(ref_ok & ~good)
    points = int(good.sum())
    if not len(bad):
        return Outcome(True, points=points)
    return _recheck(prep, sides, bi, bad, points, scale, shape)


def _scale(r: np.ndarray) -> float:
    if not len(r):
        return 1.0
    typical = float(np.median(np.sqrt(np.mean(r * r, axis=1))))
    return typical if typical > 0 and math.isfinite(typical) else 1.0


def _close(r: np.ndarray, a: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    if r.shape[1] == 1:
        r1, a1 = r[:, 0], a[:, 0]
        return np.abs(r1 - a1) <= rtol * np.maximum(np.abs(r1), np.abs(a1)) + atol
    diff = np.sqrt(np.sum((r - a) ** 2, axis=1))
    size = np.maximum(np.sqrt(np.sum(r * r, axis=1)), np.sqrt(np.sum(a * a, axis=1)))
    return diff <= rtol * size + atol * math.sqrt(r.shape[1])


def _recheck(
    prep: Prepared, sides: Sides, bi: int, bad: np.ndarray, points: int, scale: float, shape: tuple[int, ...]
) -> Outcome:
    """Settle doubtful points with mpmath; a confirmed one is the witness."""
    batch = get_batch(prep, bi)
    order = sorted(bad.tolist(), key=lambda i: _niceness(prep, batch, i))
    chosen = np.array(order[:MAX_RECHECKS])
    env = mp_env(prep, batch, chosen, sides.overrides)
    ref_mp = evaluate_val(sides.ref, env)
    ans_mp = evaluate_val(sides.ans, env)
    _, r = canonical(ref_mp)
    _, a = canonical(ans_mp)
    r = np.broadcast_to(r, (len(chosen), r.shape[1]))
    a = np.broadcast_to(a, (len(chosen), a.shape[1]))
    spurious = 0
    for k, i in enumerate(chosen):
        verdict = _mp_point(r[k], a[k], prep.part.rtol, prep.part.atol * scale)
        if verdict == "drop":
            continue
        if verdict == "same":
            spurious += 1
            continue
        witness = _witness(prep, sides, batch, int(i), r[k], a[k], verdict, shape)
        return Outcome(False, witness, points)
    # every re-checked point was float noise: the others are taken to be too
    unchecked = len(bad) - len(chosen)
    return Outcome(True, points=points + spurious + max(unchecked, 0), rechecked=len(chosen))


def _mp_point(r: np.ndarray, a: np.ndarray, rtol: float, atol: float) -> str:
    if not all(_mp_finite(v) for v in r):
        return "drop"
    if not all(_mp_finite(v) for v in a):
        return "undefined"
    diff = MP.sqrt(sum(((x - y) ** 2 for x, y in zip(r, a, strict=True)), MP.zero))
    size = max(MP.sqrt(sum((x * x for x in r), MP.zero)), MP.sqrt(sum((y * y for y in a), MP.zero)))
    return "same" if diff <= rtol * size + atol * math.sqrt(len(r)) else "differ"


def _mp_finite(v: Any) -> bool:
    if isinstance(v, bool | np.bool_):
        return True
    return bool(MP.isfinite(v))


# ---- witnesses -------------------------------------------------------------------------------


def _fmt(v: Any) -> str:
    if isinstance(v, bool | np.bool_):
        return str(bool(v)).lower()
    try:
        f = float(v)
    except (TypeError, ValueError, OverflowError):
        return MP.nstr(v, 6)
    if not math.isfinite(f):
        return MP.nstr(v, 6) if not isinstance(v, float | np.floating) else str(f)
    if f == int(f) and abs(f) < 1e15:
        return str(int(f))
    return f"{f:.6g}"


def _fmt_array(values: np.ndarray) -> str:
    if values.ndim == 1:
        return "[" + ", ".join(_fmt(v) for v in values) + "]"
    return "[" + ", ".join(_fmt_array(row) for row in values) + "]"


def _niceness(prep: Prepared, batch: Batch, i: int) -> tuple[int, int]:
    total = 0
    for arr in batch.raw.values():
        value = arr[0] if arr.shape[0] == 1 else arr[i]
        total += len(_fmt_array(value)) if np.ndim(value) else len(_fmt(value))
    return (sum(batch.sizes.values()), total)


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


def point_text(prep: Prepared, batch: Batch, i: int, names: set[str] | None = None) -> str:
    """``x = -0.5, y = 2`` or ``n = 2, W = [[..]], x = [..]`` (only the inputs in ``names``)."""
    parts = []
    arrays = [a for a in prep.part.arrays if names is None or a in names]
    dims = set(batch.sizes) if arrays else set()
    for name in prep.part.symbols:
        wanted = names is None or name in names or name in dims
        if wanted and name in batch.raw and name not in prep.part.arrays:
            arr = batch.raw[name]
            parts.append(f"{name} = {_fmt(arr[0] if arr.shape[0] == 1 else arr[i])}")
    for name in arrays:
        value = batch.raw[name][i]
        if value.size <= 16:
            parts.append(f"{name} = {_fmt_array(value)}")
        else:
            parts.append(f"{name} random {'×'.join(map(str, value.shape))}")
    return ", ".join(parts) if parts else "every point"


def _witness(
    prep: Prepared,
    sides: Sides,
    batch: Batch,
    i: int,
    r: np.ndarray,
    a: np.ndarray,
    kind: str,
    shape: tuple[int, ...],
) -> str:
    names = relevant_names(prep, [sides.ref, sides.ans, *sides.overrides.values()])
    where = point_text(prep, batch, i, names - set(sides.overrides))
    label = f"{sides.label} = " if sides.label else ""
    if sides.ref_is_student:
        return f"at {where} its sides are {_value_text(r, shape)} and {_value_text(a, shape)}"
    if kind == "undefined":
        return f"at {where} your formula is undefined; the expected value is {label}{_value_text(r, shape)}"
    if len(r) > 9:
        k = int(np.argmax([abs(x - y) for x, y in zip(r, a, strict=True)]))
        entry = ", ".join(str(j + 1) for j in np.unravel_index(k, shape))
        return f"at {where}: entry ({entry}) of your answer is {_fmt(a[k])}, the expected {_fmt(r[k])}"
    return (
        f"at {where} your formula gives {label}{_value_text(a, shape)}, "
        f"the expected {label}{_value_text(r, shape)}"
    )


def _value_text(values: np.ndarray, shape: tuple[int, ...] = ()) -> str:
    if len(values) == 1 and not shape:
        return _fmt(values[0])
    arr = np.asarray(values, dtype=object)
    return _fmt_array(arr.reshape(shape) if shape else arr)


# ---- symbolic confirmation ---------------------------------------------------------------------


def _symbolic_confirmation(prep: Prepared, sides: Sides, outcome: Outcome) -> Outcome:
    if prep.is_matrix or SYMBOLIC_MODE == "never" or sides.overrides:
        return outcome
    thin = outcome.points < SCALAR_MIN_POINTS + 16 or outcome.rechecked > 0
    if SYMBOLIC_MODE == "auto" and not thin:
        return outcome
    verdict = symbolic_equal(prep, sides.ref, sides.ans)
    if verdict:
        outcome.method += "; symbolic: sympy simplifies the difference to 0"
    elif verdict is None:
        outcome.method += "; symbolic: not decided"
    return outcome


def symbolic_equal(prep: Prepared, ref: ast.Node, ans: ast.Node) -> bool | None:
    """True when sympy shows ref - ans == 0; None when it cannot tell."""
    import sympy

    from grader.mathlang.to_sympy import Unsupported, to_sympy

    lets = dict(prep.lets)
    try:
        a = to_sympy(ref, domains=prep.part.symbols, functions=prep.functions, lets=lets)
        b = to_sympy(ans, domains=prep.part.symbols, functions=prep.functions, lets=lets)
    except Unsupported:
        return None
    diff = a - b
    if diff == 0:
        return True
    if sympy.count_ops(diff) > SYMBOLIC_MAX_OPS or diff.has(sympy.Heaviside, sympy.Piecewise):
        return None
    if sympy.simplify(diff) == 0:
        return True
    return None


# ---- equations ---------------------------------------------------------------------------------


def isolated(rel: ast.Relation) -> tuple[str, ast.Node] | None:
    """``(s, g)`` when the equation reads ``s = g`` (or ``g = s``) with s not in g."""
    for lone, other in ((rel.left, rel.right), (rel.right, rel.left)):
        if isinstance(lone, ast.Sym) and lone.name not in ast.free_names(other):
            return lone.name, other
    return None


def compare_equations(prep: Prepared, ref: ast.Relation, ans: ast.Relation, text: str) -> Outcome:
    ref_iso = isolated(ref)
    ans_iso = isolated(ans)
    if ref_iso and ans_iso and ref_iso[0] == ans_iso[0]:
        return compare(prep, Sides(ref_iso[1], ans_iso[1], text, label=ref_iso[0]))
    ratio = _ratio_test(prep, ref, ans, text)
    if ratio.equal:
        return ratio
    if ref_iso is not None:
        return _reference_solution_test(prep, ref_iso, ans, text)
    if ans_iso is not None:
        return _student_solution_test(prep, ref, ans_iso, text)
    return ratio


def _reference_difference(prep: Prepared, rel: ast.Relation) -> ast.Node:
    """lhs - rhs of a reference equation, built once per part (so its values are cached)."""
    found = prep.derived.get(id(rel))
    if found is None or found[0] is not rel:
        found = (rel, _difference(rel))
        prep.derived[id(rel)] = found
    return found[1]


def _difference(rel: ast.Relation) -> ast.Node:
    return ast.BinOp(rel.pos, "-", rel.left, rel.right)


def _ratio_test(prep: Prepared, ref: ast.Relation, ans: ast.Relation, text: str) -> Outcome:
    """lhs - rhs of the answer is a nonzero constant times that of the reference."""
    f_ref, f_ans = _reference_difference(prep, ref), _difference(ans)
    ratios: list[np.ndarray] = []
    for bi in batch_indices(prep):
        r = reference_value(prep, f_ref, bi, {})
        try:
            a = student_value(prep, f_ans, text, bi, {})
        except StudentShapeError as err:
            return Outcome(False, err.message)
        _, rr = canonical(r)
        _, aa = canonical(a)
        size = get_batch(prep, bi).size
        rr, aa = np.broadcast_to(rr, (size, rr.shape[1])), np.broadcast_to(aa, (size, aa.shape[1]))
        with np.errstate(all="ignore"):
            ok = np.all(np.isfinite(rr), axis=1) & np.all(np.isfinite(aa), axis=1)
            ok &= np.all(np.abs(rr) > 1e-9 * (1 + np.abs(aa)), axis=1)
            ratios.append((aa[ok] / rr[ok]).reshape(-1))
    values = np.concatenate(ratios) if ratios else np.array([])
    minimum = MATRIX_MIN_POINTS if prep.is_matrix else SCALAR_MIN_POINTS
    if len(values) < minimum:
        return Outcome(False, "your equation is not equivalent to the expected one")
    c = float(np.median(values))
    tol = max(prep.part.rtol, 1e-9) * 100
    if c != 0 and np.all(np.abs(values - c) <= tol * abs(c)):
        return Outcome(True, points=len(values), method=f"numeric: lhs - rhs is {_fmt(c)} times the expected")
    return Outcome(False, "your equation is not equivalent to the expected one")


def _reference_solution_test(
    prep: Prepared, ref_iso: tuple[str, ast.Node], ans: ast.Relation, text: str
) -> Outcome:
    """The reference reads s = g: the student's equation must hold at s = g, for no other s."""
    name, solution = ref_iso
    label = f"{name} = {show(solution)}"
    sides = Sides(ans.left, ans.right, text, {name: solution}, label=label, ref_is_student=True)
    held = compare(prep, sides)
    if not held.equal:
        return Outcome(False, f"your equation does not hold for the expected {label}: {held.feedback}")
    unique = _unique_solution(prep, ans, name, solution)
    if unique is False:
        return Outcome(False, f"your equation allows other values of {name} than the expected {label}")
    method = held.method + ("; symbolic: the only solution" if unique else "")
    return Outcome(True, "", held.points, method)


def _student_solution_test(
    prep: Prepared, ref: ast.Relation, ans_iso: tuple[str, ast.Node], text: str
) -> Outcome:
    """The student writes s = g: g must solve the expected equation, and be its only solution."""
    name, solution = ans_iso
    label = f"{name} = {show(solution)}"
    try:
        held = _holds_with(prep, ref, name, solution, text)
    except StudentShapeError as err:
        return Outcome(False, err.message)
    if not held.equal:
        return Outcome(False, f"your {label} does not solve the expected equation: {held.feedback}")
    unique = _unique_solution(prep, ref, name, solution)
    if unique is False:
        return Outcome(False, f"the expected equation allows other values of {name} than your {label}")
    method = held.method + ("; symbolic: the only solution" if unique else "")
    return Outcome(True, "", held.points, method)


def _holds_with(prep: Prepared, ref: ast.Relation, name: str, solution: ast.Node, text: str) -> Outcome:
    """Both sides of the reference equation agree when ``name`` is the student's formula."""
    points = 0
    for bi in batch_indices(prep):
        batch = get_batch(prep, bi)
        values = dict(batch.values)
        env = Env("float", batch.size, values, prep.functions, batch.dim_names, prep.known)
        values[name] = student_value(prep, solution, text, bi, {})
        with np.errstate(all="ignore"):
            left = _spec_call(lambda e=env: evaluate_val(ref.left, e), "answer")
            right = _spec_call(lambda e=env: evaluate_val(ref.right, e), "answer")
        _, r = canonical(left)
        _, a = canonical(right)
        r = np.broadcast_to(r, (batch.size, r.shape[1]))
        a = np.broadcast_to(a, (batch.size, a.shape[1]))
        with np.errstate(all="ignore"):
            ok = np.all(np.isfinite(r), axis=1) & np.all(np.isfinite(a), axis=1)
            close = _close(r, a, prep.part.rtol * 10, prep.part.atol * _scale(r[ok]))
        bad = np.flatnonzero(ok & ~close)
        if len(bad):
            i = int(bad[0])
            where = point_text(prep, batch, i)
            return Outcome(False, f"at {where} its sides are {_value_text(r[i])} and {_value_text(a[i])}")
        points += int(ok.sum())
        if not prep.is_matrix and points >= SCALAR_MIN_POINTS:
            break
    return Outcome(points > 0, "", points, f"numeric: {points} points")


def _unique_solution(prep: Prepared, equation: ast.Relation, name: str, solution: ast.Node) -> bool | None:
    """Does ``equation`` have ``solution`` as its only solution for ``name``? (sympy; None: unknown)"""
    import sympy

    from grader.mathlang.to_sympy import Unsupported, symbol_for, to_sympy

    if prep.is_matrix:
        return None
    lets = dict(prep.lets)
    try:
        eq = to_sympy(equation, domains=prep.part.symbols, functions=prep.functions, lets=lets)
        expected = to_sympy(solution, domains=prep.part.symbols, functions=prep.functions, lets=lets)
    except Unsupported:
        return None
    if not isinstance(eq, sympy.Equality):
        return None
    target = symbol_for(name, prep.part.symbols.get(name))
    expr = eq.lhs - eq.rhs
    if sympy.count_ops(expr) > SYMBOLIC_MAX_OPS or not expr.is_rational_function(target):
        return None  # solve only where it is quick and complete: rational in the unknown
    numerator = sympy.numer(sympy.together(expr))
    if not numerator.is_polynomial(target) or sympy.degree(numerator, target) > 4:
        return None
    try:
        found = sympy.solve(expr, target, dict=False)
    except (NotImplementedError, ValueError, TypeError):  # sympy's "cannot solve this": undecided
        return None
    if not isinstance(found, list) or not found:
        return None
    return all(sympy.simplify(s - expected) == 0 for s in found)


# ---- answers ---------------------------------------------------------------------------------------


def _is_label(node: ast.Node, prep: Prepared) -> bool:
    match node:
        case ast.Sym():
            return True
        case ast.Prime(operand=ast.Sym()) | ast.Index(operand=ast.Sym()):
            return True
        case ast.Call(name=name, args=args):
            builtin_or_declared = name in prep.function_names
            return not builtin_or_declared and all(isinstance(a, ast.Sym) for a in args)
        case ast.BinOp(op="implicit", left=ast.Sym(name=name), right=ast.Sym()):
            return name not in prep.names
    return False


def strip_label(rel: ast.Relation, prep: Prepared) -> ast.Node:
    """``g(x) = x H(x)`` or ``z = ...`` graded on the formula side."""
    if _is_label(rel.left, prep):
        return rel.right
    if _is_label(rel.right, prep):
        return rel.left
    return rel.right


def _parse_answer(prep: Prepared, answer: Any, extra: tuple[str, ...] = ()) -> tuple[ast.Node, str]:
    text = _text_of(answer)
    return prep.parse(text, extra), text


def check_single(prep: Prepared, ref: Formula | Equation, answer: Any) -> Outcome:
    if isinstance(answer, dict):
        return _single_from_mapping(prep, ref, answer)
    node, text = _parse_answer(prep, answer)
    return compare_forms(prep, ref, node, text)


def compare_forms(prep: Prepared, ref: Formula | Equation, node: ast.Node, text: str) -> Outcome:
    if isinstance(node, ast.TupleLit) and len(node.items) == 1:
        node = node.items[0]
    if isinstance(ref, Formula):
        if isinstance(node, ast.Relation) and node.op == "=":
            node = strip_label(node, prep)
        if isinstance(node, ast.Relation | ast.Logic | ast.TupleLit):
            return Outcome(False, "expected a formula, not a condition or a list")
        return compare(prep, Sides(ref.node, node, text))
    if isinstance(node, ast.Relation) and node.op == "=":
        return compare_equations(prep, ref.node, node, text)
    iso = ref.isolated()
    if (
        iso is not None
        and iso[0] not in ast.free_names(node)
        and not isinstance(node, ast.Relation | ast.Logic)
    ):
        return compare(prep, Sides(iso[1], node, text, label=iso[0]))
    return Outcome(False, "expected an equation such as " + show(ref.node))


def _single_from_mapping(prep: Prepared, ref: Formula | Equation, answer: dict[Any, Any]) -> Outcome:
    iso = ref.isolated() if isinstance(ref, Equation) else None
    if iso is None or len(answer) != 1:
        raise AnswerError("expected a formula, not a mapping")
    key, value = next(iter(answer.items()))
    if _field_name(prep, key) != iso[0]:
        raise AnswerError(f"expected {iso[0]} = ..., not {key}")
    node, text = _parse_answer(prep, value)
    return compare(prep, Sides(iso[1], node, text, label=iso[0]))


def _field_name(prep: Prepared, key: Any) -> str:
    text = str(key).strip()
    if text.startswith("\\"):
        text = text[1:]
    try:
        node = prep.parse(str(key))
    except ParseError:
        return text
    return node.name if isinstance(node, ast.Sym) else text


def check_fields(prep: Prepared, ref: FieldMap, answer: Any) -> Verdict:
    """Each field graded on its own: the score is the fraction of right fields."""
    given = _answer_fields(prep, ref, answer)
    lines: list[str] = []
    right = 0
    methods: dict[str, str] = {}
    unreadable: list[AnswerError] = []
    for name, form in ref.fields.items():
        if name not in given:
            lines.append(f"{name}: missing")
            continue
        entry = given[name]
        if isinstance(entry, AnswerError):
            unreadable.append(entry)
            lines.append(entry.render())
            continue
        node, text = entry
        try:
            outcome = compare_forms(prep, form, node, text)
        except EvalError as err:
            unreadable.append(_field_error(name, err))
            lines.append(err.render())
            continue
        methods[name] = outcome.method
        if outcome.equal:
            right += 1
        else:
            lines.append(f"{name}: {outcome.feedback}")
    if unreadable and len(unreadable) == len(given):
        raise unreadable[0]
    extra = sorted(set(given) - set(ref.fields))
    if extra:
        lines.append("not asked for: " + ", ".join(extra))
    score = right / len(ref.fields)
    method = "; ".join(f"{name}: {how}" for name, how in methods.items())
    return Verdict.partial(score, "\n".join(lines), decision=Decision(method, exact=False))


FieldEntry = tuple[ast.Node, str] | AnswerError


def _field_error(name: str, err: AnswerError) -> AnswerError:
    if not err.message.startswith(f"{name}: "):
        err.message = f"{name}: {err.message}"
    return err


def _answer_fields(prep: Prepared, ref: FieldMap, answer: Any) -> dict[str, FieldEntry]:
    fields = tuple(ref.fields)
    out: dict[str, FieldEntry] = {}
    if isinstance(answer, dict):
        for key, value in answer.items():
            name = _field_name(prep, key)
            try:
                out[name] = _parse_answer(prep, value)
            except AnswerError as err:
                out[name] = _field_error(name, err)
        return out
    node, text = _parse_answer(prep, answer, fields)
    items = node.items if isinstance(node, ast.TupleLit) else (node,)
    for item in items:
        if isinstance(item, ast.Logic) and item.op == "and":
            candidates: tuple[ast.Node, ...] = item.operands
        else:
            candidates = (item,)
        for rel in candidates:
            if not (isinstance(rel, ast.Relation) and rel.op == "="):
                raise AnswerError(f"expected {', '.join(f'{f} = ...' for f in fields)}", text, item.pos)
            left, right = rel.left, rel.right
            if not _is_field(left, fields) and _is_field(right, fields):
                left, right = right, left
            if not isinstance(left, ast.Sym):
                raise AnswerError(f"expected {', '.join(f'{f} = ...' for f in fields)}", text, rel.pos)
            out[left.name] = (right, text)
    return out


def _is_field(node: ast.Node, fields: tuple[str, ...]) -> bool:
    return isinstance(node, ast.Sym) and node.name in fields


# ---- the checker ---------------------------------------------------------------------------------


def check(part: ExpressionPart, answer: Any) -> Verdict:
    if answer is None:
        return Verdict.missing()
    prep = prepare(part)
    if isinstance(prep.ref, FieldMap):
        return check_fields(prep, prep.ref, answer)
    outcome = check_single(prep, prep.ref, answer)
    if outcome.equal:
        decision = Decision(
            outcome.method, exact="symbolic: sympy simplifies" in outcome.method, probes=outcome.points
        )
        return Verdict.correct("", decision=decision)
    return Verdict.incorrect(outcome.feedback, decision=Decision(outcome.method or "numeric"))


_PREPARED: PartCache[Prepared] = PartCache(
    ("answer", "symbols", "arrays", "functions", "let", "constants", "rtol", "atol"),
    _prepare,
    PREPARED_CACHE_SIZE,
)
