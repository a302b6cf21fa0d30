"""Networks with several inputs (``input: [x1, x2]``): classification checks.

This is SAMPLING over region probes, not a decision procedure. Deciding
exactly where a deep ReLU net of several inputs is positive means walking
every activation region, which is not done here. Instead:

* :func:`probe_points` returns exact rational points from every cell of the
  first layer's hyperplane arrangement (plus the coordinate hyperplanes and
  any extra hyperplanes, e.g. the predicate's boundary): the vertices, points
  a safe small step from each vertex into each adjacent cell (in 2-D the step
  bisects consecutive hyperplane directions, so every adjacent cell is hit),
  points on each hyperplane and a safe step off it on both sides, far points
  in many directions, points on the axes, an integer grid and a seeded random
  sample. Deeper layers bend the arrangement, so cells of later layers can
  still be missed.
* :func:`check_classify` evaluates the model and the predicate at the points
  (exactly, with Fractions) and returns the first (simplest) point where
  (model > 0) differs from the predicate. Points exactly on the predicate's
  boundary (the axes for x1*x2 < 0) are included because "positive exactly
  where the predicate holds" is strict.
* :func:`check_classify_lines` is stronger along lines: the model restricted
  to a line p + t v is an exact PL in t (the evaluator runs with PL inputs),
  so the sign of the model along the line is known everywhere; the predicate
  is tested at every sign change, every breakpoint, every crossing of a
  boundary hyperplane and one point between consecutive events.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from grader.networks.intervals import Interval, Num, as_num, exact, fmt_num, simplest_in
from grader.networks.pl import PL

Point = tuple[Fraction, ...]
Plane = tuple[Point, Fraction]  # (w, b): the hyperplane w . x + b = 0


@dataclass(frozen=True)
class ClassifyWitness:
    point: tuple[Any, ...]
    model_value: Any
    predicate_value: bool

    def describe(self, predicate: str = "the condition") -> str:
        where = "(" + ", ".join(fmt_num(v) for v in self.point) + ")"
        sign = "> 0" if _positive(self.model_value) else "<= 0"
        holds = "holds" if self.predicate_value else "does not hold"
        value = fmt_num(self.model_value)
        return f"at x = {where} the network gives {value} ({sign}) but {predicate} {holds}"


@dataclass(frozen=True)
class ClassifyResult:
    holds: bool
    witness: ClassifyWitness | None
    checked: int
    method: str


def _positive(v: object) -> bool:
    return bool(as_num(v) > 0)


def _frac(v: object) -> Fraction:
    return exact(as_num(v))


def _dot(a: Sequence[Fraction], b: Sequence[Fraction]) -> Fraction:
    return sum((x * y for x, y in zip(a, b, strict=True)), Fraction(0))


def _value(h: Plane, p: Sequence[Fraction]) -> Fraction:
    return _dot(h[0], p) + h[1]


def planes(
    W: Sequence[Sequence[object]],
    b: Sequence[object] | None,
    dim: int,
    extra_W: Sequence[Sequence[object]] = (),
    extra_b: Sequence[object] = (),
) -> list[Plane]:
    """Distinct hyperplanes of the rows of W (with b), the extras and the axes."""
    rows = [tuple(_frac(v) for v in row) for row in W]
    bias = [_frac(v) for v in b] if b is not None else [Fraction(0)] * len(rows)
    rows += [tuple(_frac(v) for v in row) for row in extra_W]
    bias += [_frac(v) for v in extra_b] or [Fraction(0)] * len(extra_W)
    rows += [tuple(Fraction(int(i == j)) for j in range(dim)) for i in range(dim)]
    bias += [Fraction(0)] * dim
    seen: set[tuple[Fraction, ...]] = set()
    out: list[Plane] = []
    for w, c in zip(rows, bias, strict=True):
        if len(w) != dim:
            raise ValueError(f"a weight row has {len(w)} entries, the input has {dim}")
        lead = next((v for v in w if v != 0), None)
        if lead is None:
            continue
        key = (*(v / lead for v in w), c / lead)
        if key not in seen:
            seen.add(key)
            out.append((w, c))
    return out


def _solve(rows: Sequence[Sequence[Fraction]], rhs: Sequence[Fraction]) -> Point | None:
    """Exact Gaussian elimination; None when singular."""
    n = len(rows)
    m = [[*r, v] for r, v in zip(rows, rhs, strict=True)]
    for col in range(n):
        piv = next((r for r in range(col, n) if m[r][col] != 0), None)
        if piv is None:
            return None
        m[col], m[piv] = m[piv], m[col]
        for r in range(n):
            if r != col and m[r][col] != 0:
                f = m[r][col] / m[col][col]
                m[r] = [a - f * b for a, b in zip(m[r], m[col], strict=True)]
    return tuple(m[i][n] / m[i][i] for i in range(n))


def vertices(hs: Sequence[Plane], dim: int, rng: random.Random, cap: int = 3000) -> list[Point]:
    """Points where ``dim`` hyperplanes meet (all, or ``cap`` random choices)."""
    if len(hs) < dim:
        return []
    if math.comb(len(hs), dim) <= cap:
        groups: Iterable[tuple[int, ...]] = itertools.combinations(range(len(hs)), dim)
    else:
        groups = {tuple(sorted(rng.sample(range(len(hs)), dim))) for _ in range(cap)}
    out: set[Point] = set()
    for g in groups:
        p = _solve([hs[i][0] for i in g], [-hs[i][1] for i in g])
        if p is not None:
            out.add(p)
    return sorted(out)


def _safe_step(p: Point, d: Point, hs: Sequence[Plane]) -> Fraction:
    """A step s <= 1 so that p + s*d crosses no hyperplane not through p."""
    step = Fraction(1)
    for h in hs:
        val, rate = _value(h, p), _dot(h[0], d)
        if val != 0 and rate != 0:
            step = min(step, abs(val / rate) / 2)
    return step


def _move(p: Point, d: Point, s: Fraction) -> Point:
    return tuple(a + s * b for a, b in zip(p, d, strict=True))


def _cell_directions(p: Point, hs: Sequence[Plane], dim: int, rng: random.Random) -> list[Point]:
    """Directions from p into every cell around it (exact bisectors in 2-D)."""
    if dim == 2:
        rays: list[Point] = []
        for w, c in hs:
            if _value((w, c), p) == 0:
                rays += [(-w[1], w[0]), (w[1], -w[0])]
        rays.sort(key=_ray_order)
        if len(rays) >= 4:
            return [_add(rays[i], rays[(i + 1) % len(rays)]) for i in range(len(rays))]
    if dim <= 4:
        units = [Fraction(-1), Fraction(0), Fraction(1)]
        return [d for d in itertools.product(units, repeat=dim) if any(d)]
    return [tuple(Fraction(rng.choice([-1, 1])) for _ in range(dim)) for _ in range(64)]


def _ray_order(v: Point) -> tuple[int, int, Fraction]:
    """Exact angular order of a nonzero 2-D vector: half-plane, axis first, then -cot."""
    x, y = v
    half = 0 if y > 0 or (y == 0 and x > 0) else 1
    if y == 0:
        return (half, 0, Fraction(0))
    return (half, 1, -x / y)


def _add(a: Point, b: Point) -> Point:
    return tuple(x + y for x, y in zip(a, b, strict=True))


def _points_on_plane(h: Plane, hs: Sequence[Plane], dim: int, rng: random.Random) -> list[Point]:
    """Points on h: between and beyond its crossings with the others (2-D), or random."""
    w, c = h
    base = tuple(-c * v / _dot(w, w) for v in w)
    if dim == 2:
        u = (-w[1], w[0])
        ts = sorted({-_value(o, base) / _dot(o[0], u) for o in hs if _dot(o[0], u) != 0})
        picks = [Fraction(0)] if not ts else [ts[0] - 1, ts[-1] + 1]
        picks += [(a + b) / 2 for a, b in itertools.pairwise(ts)]
        return [_move(base, u, t) for t in picks]
    out = [base]
    for _ in range(8):
        r = tuple(Fraction(rng.randint(-9, 9), rng.randint(1, 4)) for _ in range(dim))
        out.append(_move(r, w, -_value(h, r) / _dot(w, w)))
    return out


def _far_directions(hs: Sequence[Plane], dim: int, rng: random.Random) -> list[Point]:
    dirs: list[Point] = []
    if dim == 2:
        for k in range(48):
            a = 2 * math.pi * k / 48
            cos, sin = round(1000 * math.cos(a)), round(1000 * math.sin(a))
            dirs.append((Fraction(cos, 1000), Fraction(sin, 1000)))
        for w, _ in hs:
            dirs += [(-w[1], w[0]), (w[1], -w[0])]
    else:
        dirs += [tuple(Fraction(rng.randint(-5, 5)) for _ in range(dim)) for _ in range(64)]
    for w, _ in hs:
        dirs += [w, tuple(-v for v in w)]
    return [d for d in dirs if any(d)]


def point_key(p: Sequence[Fraction]) -> tuple[int, Fraction, Fraction, tuple[Fraction, ...]]:
    """Simplest first: small denominators, then small coordinates."""
    size = sum((abs(v) for v in p), Fraction(0))
    return (max(v.denominator for v in p), max(abs(v) for v in p), size, tuple(p))


def probe_points(
    first_layer_W: Sequence[Sequence[object]],
    first_layer_b: Sequence[object] | None,
    dim: int,
    seed: int = 0,
    *,
    extra_W: Sequence[Sequence[object]] = (),
    extra_b: Sequence[object] = (),
    n_random: int = 300,
    far: Sequence[int] = (10, 1000, 10**6),
) -> list[Point]:
    """Exact probe points, simplest first (see the module doc; this is sampling)."""
    rng = random.Random(seed)
    hs = planes(first_layer_W, first_layer_b, dim, extra_W, extra_b)
    pts: set[Point] = set()
    verts = vertices(hs, dim, rng)
    for v in verts:
        pts.add(v)
        for d in _cell_directions(v, hs, dim, rng):
            pts.add(_move(v, d, _safe_step(v, d, hs)))
    for h in hs:
        for q in _points_on_plane(h, hs, dim, rng):
            pts.add(q)
            for d in (h[0], tuple(-x for x in h[0])):
                pts.add(_move(q, d, _safe_step(q, d, hs)))
    for d in _far_directions(hs, dim, rng):
        pts.update(tuple(r * x for x in d) for r in far)
    pts.update(_axis_points(dim))
    pts.update(_grid_and_random(verts, dim, rng, n_random))
    return sorted(pts, key=point_key)


def _axis_points(dim: int) -> list[Point]:
    zero = [Fraction(0)] * dim
    out: list[Point] = [tuple(zero)]
    for i in range(dim):
        for t in (Fraction(1, 2), Fraction(1), Fraction(2), Fraction(10), Fraction(10**6)):
            for s in (t, -t):
                p = list(zero)
                p[i] = s
                out.append(tuple(p))
    return out


def _grid_and_random(verts: Sequence[Point], dim: int, rng: random.Random, n: int) -> list[Point]:
    out: list[Point] = []
    if dim <= 3:
        out += [tuple(Fraction(v) for v in g) for g in itertools.product(range(-3, 4), repeat=dim)]
    span = max([abs(c) for v in verts for c in v] + [Fraction(2)])
    bound = min(2 * span, Fraction(10**6))
    for _ in range(n):
        den = rng.choice([1, 2, 3, 4, 5, 8, 10])
        lim = int(bound * den)
        out.append(tuple(Fraction(rng.randint(-lim, lim), den) for _ in range(dim)))
    return out


def check_classify(
    model_fn: Callable[[Point], object],
    predicate_fn: Callable[[Point], bool],
    points: Iterable[Point],
    already: int = 0,
) -> ClassifyResult:
    """The first point where (model(x) > 0) != predicate(x); sampling, not a proof.

    ``model_fn`` gets a tuple of Fractions and returns a number (exact when the
    weights are rational); ``predicate_fn`` returns a bool. ``already``: points of the
    same list checked before these (counted in the result).
    """
    checked = already
    for p in points:
        checked += 1
        value = model_fn(p)
        truth = bool(predicate_fn(p))
        if _positive(value) != truth:
            witness = ClassifyWitness(p, value, truth)
            return ClassifyResult(False, witness, checked, _method(checked))
    return ClassifyResult(True, None, checked, _method(checked))


def _method(n: int) -> str:
    return f"exact evaluation at {n} probe points of the first layer's regions (sampling, not a proof)"


Line = tuple[Point, Point]  # (p, v): the points p + t v


def probe_lines(
    first_layer_W: Sequence[Sequence[object]],
    first_layer_b: Sequence[object] | None,
    dim: int,
    seed: int = 0,
    *,
    extra_W: Sequence[Sequence[object]] = (),
    extra_b: Sequence[object] = (),
    n_random: int = 40,
) -> list[Line]:
    """Lines worth checking exactly: each hyperplane, lines parallel to it just
    beside it, lines through each vertex into each adjacent cell, lines through
    the origin in many directions, and seeded random lines."""
    rng = random.Random(seed)
    hs = planes(first_layer_W, first_layer_b, dim, extra_W, extra_b)
    lines: list[Line] = []
    for h in hs:
        base = _points_on_plane(h, hs, dim, rng)[0]
        for u in _plane_directions(h, dim, rng):
            lines.append((base, u))
            for d in (h[0], tuple(-x for x in h[0])):
                lines.append((_move(base, d, _safe_step(base, d, hs) / 4), u))
    for v in vertices(hs, dim, rng):
        lines += [(v, d) for d in _cell_directions(v, hs, dim, rng)]
    origin = tuple(Fraction(0) for _ in range(dim))
    lines += [(origin, d) for d in _far_directions(hs, dim, rng)]
    for _ in range(n_random):
        p = tuple(Fraction(rng.randint(-20, 20), rng.randint(1, 4)) for _ in range(dim))
        d = tuple(Fraction(rng.randint(-9, 9)) for _ in range(dim))
        if any(d):
            lines.append((p, d))
    return lines


def _plane_directions(h: Plane, dim: int, rng: random.Random) -> list[Point]:
    w = h[0]
    if dim == 2:
        return [(-w[1], w[0])]
    out = []
    for _ in range(4):
        r = tuple(Fraction(rng.randint(-5, 5)) for _ in range(dim))
        r = _move(r, w, -_dot(w, r) / _dot(w, w))
        if any(r):
            out.append(r)
    return out


def check_classify_lines(
    model_on_line: Callable[[list[PL]], object],
    predicate_fn: Callable[[Point], bool],
    lines: Iterable[Line],
    *,
    boundary: Sequence[Plane] = (),
) -> ClassifyResult:
    """Check (model > 0) == predicate along lines, the model's side exactly.

    ``model_on_line(coords)`` evaluates the network with each input coordinate
    a PL in t (``coords[i] = p_i + t v_i``) and returns a PL (or a number).
    ``boundary`` hyperplanes (w, b) of the predicate are crossed exactly; the
    coordinate hyperplanes are always included.
    """
    checked = 0
    for p, v in lines:
        dim = len(p)
        walls = list(boundary) + planes([], None, dim)
        coords = [PL.affine(v[i], p[i]) for i in range(dim)]
        f = model_on_line(coords)
        g = f if isinstance(f, PL) else PL.constant(as_num(f))
        found = None
        for t in _line_events(g, p, v, walls):
            checked += 1
            x = tuple(exact(as_num(a + t * b)) for a, b in zip(p, v, strict=True))
            value = g(t)
            truth = bool(predicate_fn(x))
            if (value > 0) != truth:
                found = ClassifyWitness(x, value, truth)
                break
        if found is not None:
            method = f"exact along line {checked} points in; model sign exact on each line"
            return ClassifyResult(False, found, checked, method)
    return ClassifyResult(True, None, checked, "model sign exact along each line; predicate at every event")


def _line_events(g: PL, p: Point, v: Point, walls: Sequence[Plane]) -> list[Num]:
    """t values: breakpoints, sign changes, wall crossings, and one point per gap."""
    events: set[Num] = set(g.breakpoints)
    events.update(g.region(">").endpoints())
    for w, c in walls:
        rate = _dot(w, v)
        if rate != 0:
            events.add(-(_dot(w, p) + c) / rate)
    ordered = sorted(events)
    ends: list[Num | None] = [None, *ordered, None]
    gaps = [simplest_in(Interval.open(ends[i], ends[i + 1])) for i in range(len(ends) - 1)]
    return sorted(set(ordered) | set(gaps), key=lambda t: (exact(t).denominator, abs(t)))
