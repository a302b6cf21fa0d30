"""Inequalities between scalars of vectors and matrices, probed at rational instances (session 23).

``q^\\top k \\le \\|q\\| \\|k\\|``, ``\\|q + k\\| \\le \\|q\\| + \\|k\\|``, ``\\|Ax\\|^2 \\ge 0``:
each side is a number made of arrays (inner products, norms, quadratic forms). The arrays are read as the
written-out equalities read them (:mod:`grader.steps.sized`: declared shapes, else shapes the
notation suggests, at sizes 2 and 3), and both sides are evaluated by grader's own evaluator
(:mod:`grader.mathlang.evaluate`, never eval or sympify) at instances whose entries are small
rationals: zeros, ones, a unit column, the same array twice, one the negative of another, and
random ones.

- Holds at every instance: **shown** by probes ("probes: holds at N instances ... at sizes ...:
  not a proof"). Never "exact" or "proved".
- Fails at an instance: **wrong** only when the failure is confirmed in exact rational
  arithmetic (every norm there a rational number: the exact evaluator refuses the others) and
  every array's shape is declared, nothing stated nearby is left unread and no name has a
  condition or a definition (:func:`sized.why_no_witness`); the witness gives the sizes and
  every entry. Otherwise undecided, with why.
"""

from __future__ import annotations

import functools
import itertools
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np

from grader.mathlang import ast
from grader.mathlang.errors import MathError
from grader.mathlang.evaluate import evaluate_exact, evaluate_val, make_env
from grader.steps import sized
from grader.steps.read import Context

RANDOM_INSTANCES = 24  # random instances a size, after the structured ones
_HOLDS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
SIZE_CAP = 4  # no array larger than 4 by 4 is written out here


@dataclass(frozen=True)
class Instance:
    values: dict[str, Any]  # name -> Fraction, or a nested list of Fractions (a column: a list)
    shapes: dict[str, tuple[int, int]]


def decide(
    left: str, right: str, context: Context, declared: Mapping[str, Any], stated: sized.Stated, relation: str
) -> sized.Outcome | None:
    """``left relation right`` between scalars of arrays, probed (see the module's text); None
    when the step is not one of arrays this reading covers."""
    step = sized.prepare(left, right, context, declared)
    if step is None or step.derivatives or step.functions or not step.arrays or _matrix_norm(step):
        return None
    scalars = sorted(step.names - step.arrays - set(step.symbols))
    if any(n in stated.blocked or n.split("_")[0] in stated.blocked for n in scalars):
        return None  # a scalar with a condition: its values are not all admitted here
    rounds = [
        r for r in sized.rounds(step, stated) if max(_dims(step, r, n) for n in step.arrays) <= SIZE_CAP
    ]
    if not rounds:
        return None
    refutable = stated.refutable or sized.why_no_witness(step, stated.blocked)
    tried, failed = 0, ""
    for sizes in rounds:
        for instance in _instances(step, sizes, scalars):
            verdict = _holds(step, instance, relation)
            tried += verdict is not None
            if verdict is not False:
                continue
            failed = failed or sized.said_rounds([sizes], step)
            witness = None if refutable else _confirmed(step, instance, sizes, relation)
            if witness is not None:
                return sized.Outcome("wrong", "exact", witness)
    if failed:
        why = f"but {refutable}: no witness" if refutable else "not confirmed in exact arithmetic"
        return sized.Outcome("differs", f"fails at an instance at {failed}, {why}")
    if tried == 0:
        return None
    said = sized.said_rounds(rounds, step)
    return sized.Outcome(
        "shown",
        f"probes: holds at {tried} instances with rational entries (zeros, ones, equal and opposite "
        f"arrays, random) at {said} only, evaluated with 40 digits (not a proof for every value"
        f"{'' if said == 'the declared sizes' else ' or size'})",
    )


def _matrix_norm(step: sized.Step) -> bool:
    """A norm of a matrix (``\\|AB\\|``, ``\\|A\\|``): the operator norm or another, the text does
    not say which (the evaluator's would be the Frobenius norm), so the step is not read."""
    sizes = sized.rounds(step, sized.Stated())[:1]
    if not sizes:
        return True
    values = _as_arrays(next(_instances(step, sizes[0], sorted(step.names - step.arrays))).values)
    for side in step.sides:
        for node in ast.walk(side):
            if isinstance(node, ast.Call) and node.name == "norm" and node.args:
                try:
                    shape = evaluate_exact(node.args[0], values).shape
                except (MathError, ArithmeticError, ValueError, TypeError, AttributeError):
                    return True
                if len(shape) == 2 and min(shape) > 1:
                    return True
    return False


def _dims(step: sized.Step, sizes: Mapping[str, int], name: str) -> int:
    rows, cols = _shape(step, sizes, name)
    return max(rows, cols)


def _shape(step: sized.Step, sizes: Mapping[str, int], name: str) -> tuple[int, int]:
    if name in step.declared:
        dims = [int(d) if d.isdigit() else sizes[d] for d in step.declared[name]]
        return (dims[0], 1) if len(dims) == 1 else (dims[0], dims[1])
    n = sizes[""]
    return (n, n) if sized.is_capital(name) else (n, 1)


def _instances(step: sized.Step, sizes: Mapping[str, int], scalars: list[str]) -> Iterator[Instance]:
    """Structured instances first (every array zero, ones, a unit column; two arrays of one shape
    equal or opposite), then random ones; scalars random nonzero rationals."""
    arrays = sorted(step.arrays)
    shapes = {n: _shape(step, sizes, n) for n in arrays}
    rng = random.Random(23)
    constants = {s: Fraction(sizes[s]) for s in step.symbols}

    def instance(values: dict[str, Any]) -> Instance:
        scalar = {s: Fraction(rng.choice((1, 2, 3, -1, -2)), rng.choice((1, 2, 3))) for s in scalars}
        return Instance({**values, **scalar, **constants}, shapes)

    def random_entries(name: str) -> Any:
        return _array(shapes[name], lambda i, j: Fraction(rng.randint(-4, 4), rng.choice((1, 1, 2, 3))))

    for plain in (0, 1, "unit"):
        yield instance({n: _array(shapes[n], functools.partial(_plain, plain)) for n in arrays})
    for a, b in itertools.combinations(arrays, 2):
        if shapes[a] == shapes[b]:
            for sign in (1, -1):
                values = {n: random_entries(n) for n in arrays}
                values[b] = _array(shapes[b], functools.partial(_scaled, values[a], sign))
                yield instance(values)
    for _ in range(RANDOM_INSTANCES):
        yield instance({n: random_entries(n) for n in arrays})


def _plain(kind: int | str, i: int, j: int) -> Fraction:
    return Fraction(int(i == 0 and j == 0)) if kind == "unit" else Fraction(kind)


def _scaled(value: Any, sign: int, i: int, j: int) -> Fraction:
    return sign * _entry(value, i, j)


def _array(shape: tuple[int, int], pick: Any) -> Any:
    rows, cols = shape
    if cols == 1:
        return [pick(i, 0) for i in range(rows)]
    return [[pick(i, j) for j in range(cols)] for i in range(rows)]


def _entry(value: Any, i: int, j: int) -> Fraction:
    return value[i] if not isinstance(value[i], list) else value[i][j]


def _holds(step: sized.Step, instance: Instance, relation: str) -> bool | None:
    """Whether the relation holds at the instance (40 digits, with a margin); None where a side
    has no value, is not a number, or the two are too close to tell."""
    try:
        env = make_env("mp", _as_arrays(instance.values))
        a, b = (evaluate_val(side, env).a for side in step.sides)
    except (MathError, ArithmeticError, ValueError, TypeError):
        return None
    if a.size != 1 or b.size != 1:
        return None  # not a number: a vector or matrix side is not compared
    x, y = a.reshape(-1)[0], b.reshape(-1)[0]
    try:
        if not (mpmath.isfinite(x) and mpmath.isfinite(y)) or mpmath.im(x) or mpmath.im(y):
            return None  # no value there (0/0 at the zero instance), or not a real number
        if abs(x - y) < 1e-25 * (1 + abs(x) + abs(y)):
            return relation in ("<=", ">=")  # equal: <= holds, < fails (if exactly so: a witness)
        return bool(_HOLDS[relation](x, y))
    except TypeError:  # a complex or undefined value
        return None


def _confirmed(
    step: sized.Step, instance: Instance, sizes: Mapping[str, int], relation: str
) -> tuple[dict[str, str], str, str] | None:
    """The instance as a witness when the failure holds in exact rational arithmetic."""
    try:
        a, b = (evaluate_exact(side, _as_arrays(instance.values)) for side in step.sides)
    except (MathError, ArithmeticError, ValueError, TypeError):
        return None  # a norm that is no rational number, or no value: not confirmed exactly
    if not (isinstance(a, Fraction | int) and isinstance(b, Fraction | int)) or _HOLDS[relation](a, b):
        return None
    at = {s: str(sizes[s]) for s in step.symbols}
    for name, value in sorted(instance.values.items()):
        if name in step.arrays:
            at[name] = _shown(value)
        elif name not in step.symbols:
            at[name] = str(value)
    return at, str(a), str(b)


def _as_arrays(values: Mapping[str, Any]) -> dict[str, Any]:
    return {n: np.array(v, dtype=object) if isinstance(v, list) else v for n, v in values.items()}


def _shown(value: Any) -> str:
    if value and isinstance(value[0], list):
        return "[" + ", ".join("[" + ", ".join(str(x) for x in row) + "]" for row in value) + "]"
    return "[" + ", ".join(str(x) for x in value) + "]^T"


# -- equalities under stated norms (||k_i|| = 1): probed at instances where they hold -----------


def stated_norms(conditions: list[ast.Node]) -> dict[str, Fraction]:
    """``\\|k_i\\| = 1``, ``||u||_2 = 2`` stated around a step: the name and its norm."""
    found: dict[str, Fraction] = {}
    for condition in conditions:
        if not (isinstance(condition, ast.Relation) and condition.op == "="):
            continue
        norm, value = condition.left, condition.right
        euclidean = isinstance(norm, ast.Call) and all(
            isinstance(p, ast.Num) and p.value == 2 for p in norm.args[1:]
        )
        if (
            euclidean
            and isinstance(norm, ast.Call)
            and norm.name == "norm"
            and isinstance(norm.args[0], ast.Sym)
            and isinstance(value, ast.Num)
            and Fraction(value.value) > 0
        ):
            found[norm.args[0].name] = Fraction(value.value)
    return found


def equal_under_norms(
    left: str, right: str, context: Context, declared: Mapping[str, Any], norms: Mapping[str, Fraction]
) -> sized.Outcome | None:
    """``left = right`` with the vectors whose norm the write-up states (``\\|k_i\\| = 1``) taken
    of that norm: shown by probes where the two sides agree (40 digits) at every instance, the
    others random; never wrong (an instance where they differ is only undecided). None when the
    step holds no such vector or is not read this way."""
    step = sized.prepare(left, right, context, declared)
    if step is None or step.derivatives or step.functions or not set(norms) & step.arrays:
        return None
    rounds = sized.rounds(step, sized.Stated())
    if not rounds or _matrix_norm(step) or step.names - step.arrays - set(step.symbols):
        return None  # a scalar beside them may have a meaning of its own (sigma = 1 stated)
    tried = 0
    for sizes in rounds:
        for instance in _instances(step, sizes, []):
            values = dict(instance.values)
            for name in set(norms) & step.arrays:
                if instance.shapes[name][1] != 1:
                    return None  # a matrix's stated norm (operator? Frobenius?) is not read
                values[name] = _of_norm(instance.shapes[name][0], norms[name], tried + len(name))
            same = _agree(step, values)
            if same is None:
                continue
            if not same:
                return None
            tried += 1
    if tried == 0:
        return None
    stated = ", ".join(f"||{n}|| = {v}" for n, v in sorted(norms.items()) if n in step.arrays)
    return sized.Outcome(
        "shown",
        f"probes: equal at {tried} instances with {stated} as stated (rational entries) at "
        f"{sized.said_rounds(rounds, step)} only, evaluated with 40 digits (not a proof)",
    )


def _of_norm(size: int, norm: Fraction, seed: int) -> list[Fraction]:
    """A column of ``size`` rational entries whose Euclidean norm is ``norm`` (a rational point of
    the sphere: (1 - |t|^2, 2t) / (1 + |t|^2) for a random rational t)."""
    rng = random.Random(seed)
    t = [Fraction(rng.randint(-3, 3), rng.choice((1, 2, 3))) for _ in range(size - 1)]
    square = sum(x * x for x in t)
    return [norm * (1 - square) / (1 + square), *(norm * 2 * x / (1 + square) for x in t)]


def _agree(step: sized.Step, values: Mapping[str, Any]) -> bool | None:
    try:
        env = make_env("mp", _as_arrays(values))
        a, b = (evaluate_val(side, env).a for side in step.sides)
    except (MathError, ArithmeticError, ValueError, TypeError):
        return None
    if a.shape != b.shape:
        return None
    pairs = list(zip(a.reshape(-1), b.reshape(-1), strict=True))
    if not all(mpmath.isfinite(x) and mpmath.isfinite(y) for x, y in pairs):
        return None
    return all(abs(x - y) <= 1e-25 * (1 + abs(x) + abs(y)) for x, y in pairs)
