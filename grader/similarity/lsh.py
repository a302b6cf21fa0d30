"""Candidate pairs of a large class by MinHash LSH (banding), instead of every pair.

Each sheet's set of features becomes ``BANDS * ROWS`` MinHash values (one universal hash
``(a x + b) mod p`` per value, numpy over all of a sheet's features at once); two sheets
whose values agree on a whole band of ``ROWS`` are a candidate pair. Two sets with Jaccard
similarity ``J`` collide with probability ``1 - (1 - J^ROWS)^BANDS``: with 64 bands of 2
rows, a half copy (``J`` near 1/3) is a candidate with probability above 0.999, a pair
with ``J = 0.02`` with about 0.03. The features given are the rare ones (shared by a few
sheets), so a sheet's common stock does not make everyone a candidate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from itertools import combinations

import numpy as np

BANDS = 64
ROWS = 2
_PRIME = (1 << 61) - 1
MAX_BUCKET = 200  # a band value shared by more sheets than this is common stock, not a copy


def signatures(sets: Sequence[set[int]], seed: int = 0) -> np.ndarray:
    """The MinHash signature of each set (one row each; an empty set's row never collides)."""
    rng = np.random.default_rng(seed)
    count = BANDS * ROWS
    a = rng.integers(1, 1 << 31, size=count, dtype=np.uint64)
    b = rng.integers(0, 1 << 31, size=count, dtype=np.uint64)
    out = np.empty((len(sets), count), dtype=np.uint64)
    for row, found in enumerate(sets):
        if not found:
            unique = np.uint64(row) * np.uint64(count) + np.uint64(1 << 62)  # no other row has these
            out[row] = np.arange(count, dtype=np.uint64) + unique
            continue
        values = np.fromiter(found, dtype=np.uint64, count=len(found)) % np.uint64(1 << 31)
        # (a x + b) mod p with a, x < 2^31: no overflow in 64 bits
        hashed = (values[None, :] * a[:, None] + b[:, None]) % np.uint64(_PRIME)
        out[row] = hashed.min(axis=1)
    return out


def candidate_pairs(sets: Sequence[set[int]], seed: int = 0) -> Iterator[tuple[int, int]]:
    """Pairs (i < j) of sets that agree on at least one band of their signatures."""
    signature = signatures(sets, seed)
    seen: set[tuple[int, int]] = set()
    for band in range(BANDS):
        buckets: dict[bytes, list[int]] = defaultdict(list)
        rows = signature[:, band * ROWS : (band + 1) * ROWS]
        for number in range(len(sets)):
            if sets[number]:
                buckets[rows[number].tobytes()].append(number)
        for members in buckets.values():
            if 1 < len(members) <= MAX_BUCKET:
                for pair in combinations(members, 2):
                    if pair not in seen:
                        seen.add(pair)
                        yield pair
