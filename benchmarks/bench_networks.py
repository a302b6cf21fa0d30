"""Timing of the exact network comparison (grader.networks).

For a one-hidden-layer ReLU net with 3, 100 and 10,000 hidden units (seeded
random weights, Fraction and float), prints the median and p99 time of

* ``build+compare``: evaluating ``w1 @ relu(w0 * x + b0) + b1`` over numpy
  object arrays with x = PL.identity() (what the evaluator does) and deciding
  ``compare(model, target)`` exactly over all reals;
* ``compare``: the decision alone, model and target already built.

The target is the same function built with the units in another order, so
the comparison has to walk every breakpoint (the worst case: no early exit).
Float weights are compared with atol = rtol = 1e-9.

Run: ``python benchmarks/bench_networks.py [--quick]``
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader.networks import PL, compare, relu


def weights(n: int, rng: random.Random, kind: str) -> tuple[list[object], ...]:
    def num() -> object:
        q = Fraction(rng.randint(-999, 999), rng.randint(1, 64))
        return float(q) if kind == "float" else q

    w0 = [num() or 1 for _ in range(n)]
    return w0, [num() for _ in range(n)], [num() for _ in range(n)]


def forward(w0: list[object], b0: list[object], w1: list[object]) -> PL:
    x = PL.identity()
    out = np.array(w1, dtype=object) @ relu(np.array(w0, dtype=object) * x + np.array(b0, dtype=object))
    assert isinstance(out, PL)
    return out


def timed(fn: Callable[[], object], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def run(n: int, kind: str, repeats: int) -> None:
    rng = random.Random(n)
    w0, b0, w1 = weights(n, rng, kind)
    order = list(range(n))
    rng.shuffle(order)
    target = forward([w0[i] for i in order], [b0[i] for i in order], [w1[i] for i in order])
    target.breakpoints  # noqa: B018 - materialise the target once
    tol = 1e-9 if kind == "float" else 0

    def build_and_compare() -> object:
        return compare(forward(w0, b0, w1), target, atol=tol, rtol=tol)

    model = forward(w0, b0, w1)
    model.breakpoints  # noqa: B018

    def compare_only() -> object:
        return compare(model, target, atol=tol, rtol=tol)

    assert build_and_compare() is None, "the permuted net must be equal"
    for label, fn in (("build+compare", build_and_compare), ("compare", compare_only)):
        samples = timed(fn, repeats)
        med, tail = statistics.median(samples) * 1e3, p99(samples) * 1e3
        head = f"{n:>6} units  {kind:<8} {label:<14}"
        print(f"{head} median {med:9.2f} ms   p99 {tail:9.2f} ms   (n={repeats})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    plan = {3: 300, 100: 100, 10_000: 7}
    if args.quick:
        plan = {3: 30, 100: 10, 10_000: 2}
    for kind in ("Fraction", "float"):
        for n, repeats in plan.items():
            run(n, kind, repeats)


if __name__ == "__main__":
    main()
