"""Candidate pairs of a large class by MinHash LSH (banding), instead of every pair.

Each set of features (one per sheet and part: a copied part is the same set in both
sheets, whatever else the sheets hold) becomes ``BANDS * ROWS`` MinHash values (one
universal hash ``(a x + b) mod p`` per value, numpy over all of a set's features at once);
two sets whose values agree on a whole band of ``ROWS`` make their owners a candidate
pair. Two sets with Jaccard similarity ``J`` collide with probability
``1 - (1 - J^ROWS)^BANDS``: with 16 bands of 4 rows, a part copied with ``J = 0.8`` is a
candidate with probability above 0.999, one with ``J = 0.3`` with about 0.12. A band value
more than :func:`max_bucket` sets share is the class's common stock, not a copy.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from itertools import combinations

import numpy as np

BANDS = 16
ROWS = 4
_PRIME = (1 << 61) - 1
MAX_BUCKET = 50  # a band value shared by more sets than this is common stock (a class of 2,500 or fewer)
BUCKET_SHARE = 50  # ... or by more than a fiftieth of the class's sheets


def max_bucket(sheets: int) -> int:
    """Sets that may share a band value before it is the class's common stock: it grows with
    the class (more sheets, more honest ones that write a common part the same way)."""
    return max(MAX_BUCKET, sheets // BUCKET_SHARE)


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


def candidate_pairs(
    owners: Sequence[int], sets: Sequence[set[int]], seed: int = 0, *, bucket: int = MAX_BUCKET
) -> set[tuple[int, int]]:
    """Pairs (i < j) of owners with two sets that agree on at least one band of their
    signatures; ``owners[n]`` owns ``sets[n]``; a band value more than ``bucket`` sets share
    makes no pairs."""
    signature = signatures(sets, seed)
    seen: set[tuple[int, int]] = set()
    for band in range(BANDS):
        buckets: dict[bytes, list[int]] = defaultdict(list)
        rows = signature[:, band * ROWS : (band + 1) * ROWS]
        for number in range(len(sets)):
            if sets[number]:
                buckets[rows[number].tobytes()].append(owners[number])
        for members in buckets.values():
            if 1 < len(members) <= bucket:
                for i, j in combinations(sorted(set(members)), 2):
                    seen.add((i, j))
    return seen
