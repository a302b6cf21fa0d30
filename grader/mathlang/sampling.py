"""Seeded sample points for equivalence checks.

Scalar symbols are drawn from their :class:`~grader.mathlang.domains.SymbolDomain`: mixed
magnitudes (1e-3..1e3) of both signs, moderate values, and "special" values
(0, ±1, ±1/2, ±2...) so conventions at kinks (H(0)) and removable
singularities (x^2/x at 0) are exercised; integers in their range (with the
ends); open intervals with points near both ends. Array entries are normal
with a random scale, or small integers (so ``W x`` hits exact zeros).

Symbolic dims are instantiated at a few sizes: a *naming* set first (distinct
sizes, so shapes in messages can say ``n×m``), the smallest allowed sizes, the
next ones, and random ones, each at most :data:`MAX_INSTANCE_DIM`.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

import numpy as np

from grader.mathlang.domains import SymbolDomain

MAX_INSTANCE_DIM = 8  # symbolic dims are tried at sizes up to this
SPECIALS = np.array([0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, -3.0, 0.1, -0.1, 10.0, -10.0])
UNIT_SPECIALS = np.array([1e-3, 0.5, 1 - 1e-3, 0.25, 0.75, 0.1, 0.9])
DEFAULT_INT_SPAN = 20


def seed_for(key: str) -> int:
    """A stable seed from text (the same across runs and processes)."""
    return zlib.crc32(key.encode("utf-8"))


def draw_scalars(domain: SymbolDomain, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` values of a symbol with this domain (float64)."""
    if domain.integer:
        return _integers(domain, count, rng)
    lo, hi = bounds(domain)
    if lo is not None and hi is not None:
        closed = domain.interval is None
        return _between(lo, hi, closed, count, rng)
    values = _reals(count, rng)
    if lo is not None:
        return lo + np.abs(values) + (0.0 if _closed_low(domain) else 1e-3 * (values == 0))
    if hi is not None:
        return hi - np.abs(values) - (0.0 if domain.interval is None else 1e-3 * (values == 0))
    if domain.positive:
        values = np.abs(values)
        values[values == 0] = 1.0
    elif domain.nonnegative:
        values = np.abs(values)
    elif domain.nonzero:
        values[values == 0] = -1.0
    return values


def bounds(domain: SymbolDomain) -> tuple[float | None, float | None]:
    """The (low, high) ends a domain imposes; None where unbounded."""
    lo: float | None = None
    hi: float | None = None
    if domain.interval is not None:
        lo, hi = domain.interval
    if domain.min is not None:
        lo = domain.min if lo is None else max(lo, domain.min)
    if domain.max is not None:
        hi = domain.max if hi is None else min(hi, domain.max)
    if domain.positive or domain.nonnegative:
        lo = 0.0 if lo is None else max(lo, 0.0)
    if lo is not None and not np.isfinite(lo):
        lo = None
    if hi is not None and not np.isfinite(hi):
        hi = None
    return lo, hi


def _closed_low(domain: SymbolDomain) -> bool:
    return not (domain.interval is not None or domain.positive)


def _reals(count: int, rng: np.random.Generator) -> np.ndarray:
    kind = rng.random(count)
    signs = rng.choice(np.array([-1.0, 1.0]), count)
    magnitude = 10.0 ** rng.uniform(-3, 3, count) * signs
    moderate = rng.uniform(-3, 3, count)
    special = rng.choice(SPECIALS, count)
    return np.where(kind < 0.45, magnitude, np.where(kind < 0.75, moderate, special))


def _between(lo: float, hi: float, closed: bool, count: int, rng: np.random.Generator) -> np.ndarray:
    if hi < lo:
        raise ValueError(f"empty range [{lo}, {hi}]")
    kind = rng.random(count)
    unit = np.where(kind < 0.7, rng.uniform(0, 1, count), rng.choice(UNIT_SPECIALS, count))
    if closed:
        ends = rng.random(count)
        unit = np.where(ends < 0.05, 0.0, np.where(ends > 0.95, 1.0, unit))
    else:
        unit = np.clip(unit, 1e-6, 1 - 1e-6)
    return lo + (hi - lo) * unit


def integer_range(domain: SymbolDomain) -> tuple[int, int]:
    lo_f, hi_f = bounds(domain)
    if lo_f is None and hi_f is None:
        lo, hi = -DEFAULT_INT_SPAN, DEFAULT_INT_SPAN
    elif lo_f is None:
        hi = int(np.floor(hi_f))  # type: ignore[arg-type]
        lo = hi - 2 * DEFAULT_INT_SPAN
    else:
        lo = int(np.ceil(lo_f))
        if domain.positive and lo <= 0:
            lo = 1
        hi = int(np.floor(hi_f)) if hi_f is not None else lo + 2 * DEFAULT_INT_SPAN
    if domain.interval is not None:  # open ends
        a, b = domain.interval
        lo = max(lo, int(np.floor(a)) + 1) if np.isfinite(a) else lo
        hi = min(hi, int(np.ceil(b)) - 1) if np.isfinite(b) else hi
    if hi < lo:
        raise ValueError(f"no integer in the domain {domain.model_dump(exclude_defaults=True)}")
    return lo, hi


def _integers(domain: SymbolDomain, count: int, rng: np.random.Generator) -> np.ndarray:
    lo, hi = integer_range(domain)
    values = rng.integers(lo, hi + 1, count).astype(float)
    firsts = [lo, hi, *(v for v in (0, 1, -1, 2) if lo <= v <= hi)]
    for i, v in enumerate(firsts[:count]):
        values[i] = v
    if domain.nonzero:
        values[values == 0] = 1.0 if hi >= 1 else -1.0
    return values


def draw_array(shape: tuple[int, ...], count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` random arrays of ``shape``: normal with a random scale, or small integers."""
    full = (count, *shape)
    scale = 10.0 ** rng.uniform(-0.5, 0.5, count)
    normal = rng.standard_normal(full) * scale.reshape((count,) + (1,) * len(shape))
    ints = rng.integers(-3, 4, full).astype(float)
    use_ints = (rng.random(count) < 0.25).reshape((count,) + (1,) * len(shape))
    return np.where(use_ints, ints, normal)


DEGENERATE_KINDS = 6


def degenerate_array(shape: tuple[int, ...], count: int, rng: np.random.Generator, which: int) -> np.ndarray:
    """``count`` degenerate arrays of ``shape``, where a formula of several inputs meets its
    edge cases (a pre-activation ``W x`` that is exactly 0): zeros, ones, the identity (a unit
    vector), a first row (entry) of zeros, minus ones and small integers; ``which`` (the input's
    place) staggers the kinds so that one input is degenerate while another is not."""
    out = np.empty((count, *shape))
    for k in range(count):
        kind = (k * (which + 1) + which) % DEGENERATE_KINDS
        if kind == 0:
            out[k] = 0.0
        elif kind == 1:
            out[k] = 1.0
        elif kind == 2:
            out[k] = _identity_like(shape)
        elif kind == 3:
            out[k] = rng.integers(-3, 4, shape).astype(float)
            out[k].reshape(-1)[: shape[-1] if len(shape) > 1 else 1] = 0.0
        elif kind == 4:
            out[k] = -1.0
        else:
            out[k] = rng.integers(-2, 3, shape).astype(float)
    return out


def _identity_like(shape: tuple[int, ...]) -> np.ndarray:
    if len(shape) < 2:
        unit = np.zeros(shape)
        unit.reshape(-1)[:1] = 1.0
        return unit
    eye = np.zeros(shape)
    for i in range(min(shape[-2], shape[-1])):
        eye[..., i, i] = 1.0
    return eye


def dim_range(domain: SymbolDomain | None) -> tuple[int, int]:
    """Sizes a symbolic dim is tried at: its integer range, capped at MAX_INSTANCE_DIM."""
    if domain is None:
        return 2, 6
    lo, hi = (domain.min, domain.max)
    low = int(np.ceil(lo)) if lo is not None else (1 if domain.positive else 2)
    low = max(low, 1)
    high = int(np.floor(hi)) if hi is not None else max(low, 6)
    high = min(max(high, low), max(low, MAX_INSTANCE_DIM))
    return low, high


def size_sets(
    ranges: Mapping[str, tuple[int, int]], rng: np.random.Generator, avoid: set[int], want: int = 4
) -> list[dict[str, int]]:
    """Assignments of sizes to dims; the first gives distinct sizes (for naming)."""
    names = sorted(ranges)
    if not names:
        return [{}]
    sets: list[dict[str, int]] = [_distinct(ranges, avoid)]
    sets.append({n: ranges[n][0] for n in names})
    sets.append({n: min(ranges[n][0] + 1, ranges[n][1]) for n in names})
    for _ in range(40):
        if len(_unique(sets)) >= want:
            break
        sets.append({n: int(rng.integers(ranges[n][0], ranges[n][1] + 1)) for n in names})
    return _unique(sets)[:want]


def _unique(sets: list[dict[str, int]]) -> list[dict[str, int]]:
    seen: list[dict[str, int]] = []
    for s in sets:
        if s not in seen:
            seen.append(s)
    return seen


def _distinct(ranges: Mapping[str, tuple[int, int]], avoid: set[int]) -> dict[str, int]:
    used = set(avoid)
    out: dict[str, int] = {}
    for name in sorted(ranges):
        lo, hi = ranges[name]
        preferred = [v for v in range(max(lo, 3), hi + 1)] + list(range(lo, min(hi, 2) + 1))
        choice = next((v for v in preferred if v not in used), lo)
        out[name] = choice
        used.add(choice)
    return out


def naming(sizes: Mapping[str, int]) -> dict[int, str]:
    """{size: dim name} when every dim has its own size (else only the unambiguous ones)."""
    by_size: dict[int, list[str]] = {}
    for name, size in sizes.items():
        by_size.setdefault(size, []).append(name)
    return {size: names[0] for size, names in by_size.items() if len(names) == 1}
