"""Probe points aimed at where two scalar formulas could differ.

Random points near the origin miss a difference that only starts at x = 1000,
or only lives between 0.999 and 1. So the values a symbol is probed at are
chosen from the formulas themselves and from the symbol's domain:

- every scale from 1e-9 to 1e9, both signs, and 0;
- every constant ``c`` written in either formula (or its lets and functions),
  with ``-c``, ``sqrt(|c|)``, ``1/c`` and points just beside each;
- the values of constant sub-formulas (``7 * 11.1``), treated as written constants;
- the kinks of ``relu``/``max``/``min``/``abs``/``heaviside``/``sign``/``floor``/
  ``ceil`` whose argument depends on one symbol (the argument's roots, found
  on the probe grid), and points just beside them;
- the extremes of every argument of an exponential, a squashing or a kink function
  (a bump ``exp(-(x - c)^2)`` peaks where its argument does), and, for the
  reference, its own zeros and the extremes of its value (where ``|r|`` is smallest,
  the tolerance rule is strictest), refined by bisection and golden-section search;
- the domain's ends (interval endpoints, integer-range edges) and points just inside;
- seeded random values of every magnitude.

With several symbols the points mix these values: each coordinate drawn from its
own list, every symbol at the same scale with mixed signs (differences only where
``x y`` is large), and one symbol huge while the others are tiny.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction

import numpy as np

from grader.mathlang import ast
from grader.mathlang.domains import SymbolDomain
from grader.mathlang.errors import MathError
from grader.mathlang.evaluate import evaluate_val
from grader.mathlang.sampling import bounds, integer_range
from grader.mathlang.values import Env

SCALES = tuple(10.0**k for k in range(-9, 10))
SMALL_VALUES = (0.5, 1.5, 2.0, 3.0, 0.1, 0.25, 7.0)
NEAR = 1e-3  # relative (and absolute, near 0) offset of the points beside a constant or kink
MAX_CONSTANTS = 24  # constants per formula pair that get their own probes
MAX_POINTS = 640  # probe points of a part with several symbols
RANDOM_PER_SYMBOL = 24
SMOOTH_FEATURES = frozenset({"exp", "sigmoid", "tanh", "softplus", "sech", "cosh"})
KINK_FUNCTIONS = frozenset({"relu", "max", "min", "abs", "heaviside", "sign", "floor", "ceil", "leaky_relu"})


def formula_constants(nodes: Iterable[ast.Node]) -> list[float]:
    """The nonzero numbers written in the formulas and the values of their constant
    sub-formulas (``7 * 11.1`` places a feature at 77.7), largest magnitude first."""
    found: set[float] = set()
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Num) and sub.value != 0:
                found.add(_as_float(sub.value))
            elif isinstance(sub, ast.BinOp) and sub.op == "^":
                found.update(_power_constant(sub))
        found.update(folded_constants(node))
    finite = [c for c in found if math.isfinite(c) and c != 0]
    return sorted(finite, key=lambda c: -abs(c))[:MAX_CONSTANTS]


def folded_constants(node: ast.Node) -> list[float]:
    """The values of the largest sub-formulas without symbols (``3 * 7``, ``4321 / 1000``,
    ``\\sqrt{2} \\pi``), computed in floats; one pass over the tree."""
    order = list(ast.walk(node))
    symbolic: set[int] = set()
    for sub in reversed(order):  # children before parents
        if isinstance(sub, ast.Sym) or any(id(child) in symbolic for child in ast.children(sub)):
            symbolic.add(id(sub))
    values: list[float] = []
    stack = [node]
    while stack and len(values) < MAX_CONSTANTS:
        sub = stack.pop()
        if id(sub) not in symbolic and isinstance(sub, ast.BinOp | ast.Neg | ast.Call):
            value = _float_value(sub)
            if value is not None:
                values.append(value)
            continue
        stack.extend(ast.children(sub))
    return values


def _float_value(node: ast.Node) -> float | None:
    env = Env("float", 1, {}, {}, {}, ())
    try:
        with np.errstate(all="ignore"):
            value = evaluate_val(node, env)
    except MathError:
        return None
    if not value.is_scalar():
        return None
    number = float(np.asarray(value.a, dtype=float).reshape(-1)[0])
    return number if math.isfinite(number) and number != 0 else None


def _power_constant(node: ast.BinOp) -> set[float]:
    """``10^{-6}`` and ``2^{20}`` are constants a student writes as powers."""
    base, exponent = node.left, node.right
    if isinstance(exponent, ast.Neg):
        exponent, sign = exponent.operand, -1
    else:
        sign = 1
    if not (isinstance(base, ast.Num) and isinstance(exponent, ast.Num)):
        return set()
    power = sign * float(exponent.value)
    if abs(power) > 300 or float(base.value) <= 0:
        return set()
    return {float(base.value) ** power}


def _as_float(value: Fraction) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf


def feature_arguments(nodes: Iterable[ast.Node]) -> list[ast.Node]:
    """Arguments whose extremes place a feature: of exponentials, squashing functions and kink
    functions (``-(x - 77.7)^2`` in a bump ``exp(-(x - 77.7)^2)`` peaks at 77.7)."""
    found = kink_arguments(nodes)
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call) and sub.name in SMOOTH_FEATURES and len(sub.args) == 1:
                found.append(sub.args[0])
            elif isinstance(sub, ast.BinOp) and sub.op == "^" and isinstance(sub.left, ast.Const):
                found.append(sub.right)  # e^{...}
    return found


def kink_arguments(nodes: Iterable[ast.Node]) -> list[ast.Node]:
    """Arguments whose sign changes a kink function's branch (``x - 1000`` in ``relu(x - 1000)``;
    ``a - b`` for ``max(a, b)``)."""
    found: list[ast.Node] = []
    for node in nodes:
        for sub in ast.walk(node):
            if not (isinstance(sub, ast.Call) and sub.name in KINK_FUNCTIONS and sub.args):
                continue
            if sub.name in ("max", "min") and len(sub.args) == 2:
                found.append(ast.BinOp(sub.pos, "-", sub.args[0], sub.args[1]))
            else:
                found.append(sub.args[0])
    return found


def around(values: Iterable[float]) -> list[float]:
    """Each value, and points just below and above it (relative and absolute offsets)."""
    out: list[float] = []
    for v in values:
        step = NEAR * max(abs(v), 1e-9)
        out += [v, v - step, v + step]
        if abs(v) > 1:
            out += [v - NEAR, v + NEAR]
    return out


def constant_values(constants: Sequence[float]) -> list[float]:
    """``c``, ``-c``, ``sqrt(|c|)``, ``1/c`` and their neighbours."""
    derived: list[float] = []
    for c in constants:
        derived += [c, -c, math.sqrt(abs(c)), -math.sqrt(abs(c)), 1 / c, -1 / c]
    return around(derived)


def base_values() -> list[float]:
    values = [0.0]
    for scale in SCALES:
        values += [scale, -scale]
    for v in SMALL_VALUES:
        values += [v, -v]
    return values


def random_values(rng: np.random.Generator, count: int) -> list[float]:
    magnitude = 10.0 ** rng.uniform(-9, 9, count) * rng.choice([-1.0, 1.0], count)
    moderate = rng.uniform(-5, 5, count)
    return [*magnitude.tolist(), *moderate.tolist()]


def admissible(values: Iterable[float], domain: SymbolDomain) -> list[float]:
    """The values a symbol may take, in order, without repeats; integer domains round."""
    if domain.integer:
        return _admissible_integers(values, domain)
    lo, hi = bounds(domain)
    open_low = domain.interval is not None or domain.positive
    open_high = domain.interval is not None
    kept: dict[float, None] = {}
    for v in values:
        if not math.isfinite(v):
            continue
        if lo is not None and (v < lo or (open_low and v == lo)):
            continue
        if hi is not None and (v > hi or (open_high and v == hi)):
            continue
        if domain.nonzero and v == 0:
            continue
        kept[v] = None
    return list(kept) + _domain_edges(domain, lo, hi, open_low, open_high)


def _domain_edges(
    domain: SymbolDomain, lo: float | None, hi: float | None, open_low: bool, open_high: bool
) -> list[float]:
    edges: list[float] = []
    width = (hi - lo) if lo is not None and hi is not None else None
    for end, is_open, direction in ((lo, open_low, 1.0), (hi, open_high, -1.0)):
        if end is None:
            continue
        if not is_open:
            edges.append(end)
        for step in (1e-9, 1e-6, 1e-3):
            inside = end + direction * (step * width if width else step * max(1.0, abs(end)))
            edges.append(inside)
    if width:
        edges += [lo + width * f for f in (0.25, 0.5, 0.75, 1 / 3)]  # type: ignore[operator]
    return [e for e in edges if not (domain.nonzero and e == 0)]


def _admissible_integers(values: Iterable[float], domain: SymbolDomain) -> list[float]:
    lo, hi = integer_range(domain)
    edges = [lo, hi, lo + 1, hi - 1, 0, 1, -1, 2, -2]
    kept: dict[float, None] = {}
    for v in [*edges, *values]:
        if not math.isfinite(v) or abs(v) > 1e15:
            continue
        for n in {math.floor(v), math.ceil(v)}:
            if lo <= n <= hi and not (domain.nonzero and n == 0):
                kept[float(n)] = None
    return list(kept)


def combine(candidates: Mapping[str, Sequence[float]], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Probe points from each symbol's candidate values: every value of a single
    symbol; for several, random mixes, shared scales and huge-beside-tiny corners."""
    names = list(candidates)
    if len(names) == 1:
        return {names[0]: np.array(candidates[names[0]], dtype=float)}
    corners = np.array(list(_corners(candidates)), dtype=float).reshape(-1, len(names))
    mixes = _mixes(candidates, rng)
    return {name: np.concatenate([corners[:, j], mixes[:, j]])[:MAX_POINTS] for j, name in enumerate(names)}


def _mixes(candidates: Mapping[str, Sequence[float]], rng: np.random.Generator) -> np.ndarray:
    """MAX_POINTS random mixes, a row each: row k takes each symbol's value at an index drawn
    in turn (one draw of ``rng.integers(0, n)`` a symbol, row after row, as a loop would)."""
    lists = [np.asarray(values, dtype=float) for values in candidates.values()]
    lengths = np.array([len(values) for values in lists], dtype=np.int64)
    picks = rng.integers(0, np.tile(lengths, MAX_POINTS)).reshape(MAX_POINTS, len(lists))
    return np.column_stack([values[picks[:, j]] for j, values in enumerate(lists)])


def _corners(candidates: Mapping[str, Sequence[float]]) -> Iterable[tuple[float, ...]]:
    """Every symbol at one scale (all signs), and each symbol huge while the others are tiny."""
    lists = [_Scaled(values) for values in candidates.values()]
    count = len(lists)
    signs = list(itertools.product((1.0, -1.0), repeat=min(count, 3)))
    for scale in (1e-9, 1e-6, 1e-3, 1.0, 1e3, 1e6, 1e9):
        for sign in signs:
            wanted = [scale * sign[i % len(sign)] for i in range(count)]
            yield tuple(values.nearest(w) for values, w in zip(lists, wanted, strict=True))
    for big, small in ((1e9, 1e-9), (1e6, 1e-6), (1e3, 1e-3)):
        for i in range(count):
            wanted = [big if j == i else small for j in range(count)]
            yield tuple(values.nearest(w) for values, w in zip(lists, wanted, strict=True))
            wanted = [small if j == i else big for j in range(count)]
            yield tuple(values.nearest(w) for values, w in zip(lists, wanted, strict=True))


class _Scaled:
    """A symbol's candidate values with their decimal logarithms, worked out once: :meth:`nearest`
    is asked of them for every corner (what :func:`_nearest` does, the same value found)."""

    def __init__(self, values: Sequence[float]):
        self.values = list(values)
        self.logs = [math.log10(abs(v)) if v != 0 else 0.0 for v in self.values]

    def nearest(self, wanted: float) -> float:
        if wanted == 0:
            return _nearest(self.values, wanted)
        positive, target = wanted > 0, math.log10(abs(wanted))
        best, best_distance = self.values[0] if self.values else wanted, math.inf
        found = False
        for v, log in zip(self.values, self.logs, strict=True):
            if v == wanted:
                distance = 0.0
            elif v == 0 or (v > 0) != positive:
                distance = math.inf
            else:
                distance = abs(log - target)
            if not found or distance < best_distance:
                best, best_distance, found = v, distance, True
        if not found:
            raise ValueError("min() arg is an empty sequence")
        return best


def _nearest(values: Sequence[float], wanted: float) -> float:
    """The admissible value closest to ``wanted`` (in sign and magnitude)."""

    def distance(v: float) -> float:
        if v == wanted:
            return 0.0
        if v == 0 or wanted == 0 or (v > 0) != (wanted > 0):
            return math.inf if wanted != 0 else abs(v)
        return abs(math.log10(abs(v)) - math.log10(abs(wanted)))

    return min(values, key=distance)
