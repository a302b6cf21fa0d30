"""Timing of the exact network comparison (grader.networks) and of the network checker.

For a one-hidden-layer ReLU net with 3, 100 and 10,000 hidden units (seeded
random weights, Fraction and float), prints the median and p99 time of

* ``build+compare``: evaluating ``w1 @ relu(w0 * x + b0)`` over numpy object
  arrays with x = PL.identity() (what the evaluator does) and deciding
  ``compare(model, target)`` exactly over all reals, with the garbage collector
  paused as the checker pauses it (:func:`grader.networks.paused_collection`);
* ``compare``: the decision alone, model and target already built (as sums of
  units, not merged).

The target is the same function built with the units in another order, so
the comparison has to account for every kink (the worst case: no early exit).
Float weights are compared with atol = rtol = 1e-9.

Then the whole check, as a student's answer is graded (``network.check``:
reading the weights, evaluating the model, deciding): the target ``|x|`` and an
answer of ``|x|`` plus pairs of units that cancel at random kinks, written as
fractions (``"7/3"``), right, and wrong by one unit.

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
from typing import Any

import numpy as np
from pydantic import TypeAdapter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader.networks import PL, compare, paused_collection, relu
from grader.spec import Part
from grader.types.network import checker as network


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


def report(head: str, samples: list[float]) -> None:
    med, tail = statistics.median(samples) * 1e3, p99(samples) * 1e3
    print(f"{head:<38} median {med:9.2f} ms   p99 {tail:9.2f} ms   (n={len(samples)})")


def run(n: int, kind: str, repeats: int) -> None:
    rng = random.Random(n)
    w0, b0, w1 = weights(n, rng, kind)
    order = list(range(n))
    rng.shuffle(order)
    target = forward([w0[i] for i in order], [b0[i] for i in order], [w1[i] for i in order])
    tol = 1e-9 if kind == "float" else 0

    def build_and_compare() -> object:
        with paused_collection():
            return compare(forward(w0, b0, w1), target, atol=tol, rtol=tol)

    model = forward(w0, b0, w1)

    def compare_only() -> object:
        with paused_collection():
            return compare(model, target, atol=tol, rtol=tol)

    assert build_and_compare() is None, "the permuted net must be equal"
    for label, fn in (("build+compare", build_and_compare), ("compare", compare_only)):
        report(f"{n:>6} units  {kind:<8} {label}", timed(fn, repeats))


def cancelling_answer(pairs: int, seed: int = 3) -> dict[str, list[Any]]:
    """|x| as w1 . relu(w0 x + b0), plus ``pairs`` pairs of units that cancel."""
    rng = random.Random(seed)
    w0: list[Any] = [1, -1]
    b0: list[Any] = [0, 0]
    w1: list[Any] = [1, 1]
    for _ in range(pairs):
        t, s = (
            Fraction(rng.randint(-999, 999), rng.randint(1, 40)),
            Fraction(rng.randint(1, 9), rng.randint(1, 9)),
        )
        w0 += [str(s), str(s)]
        b0 += [str(-s * t), str(-s * t)]
        w1 += ["1/3", "-1/3"]
    return {"w0": w0, "b0": b0, "w1": w1}


def run_check(units: int, repeats: int) -> None:
    part = TypeAdapter(Part).validate_python(
        {
            "id": "p",
            "type": "network",
            "params": {"w0": ["d"], "b0": ["d"], "w1": ["d"]},
            "model": "w1 . relu(w0*x + b0)",
            "target": "abs(x)",
            "answer": {"w0": [1, -1], "b0": [0, 0], "w1": [1, 1]},
        }
    )
    right = cancelling_answer((units - 2) // 2)
    wrong = {**right, "w1": [*right["w1"][:-1], "-1/4"]}
    for label, answer, status in (("right", right, "correct"), ("wrong", wrong, "incorrect")):
        assert network.check(part, answer).status.value == status
        report(f"{units:>6} units  check    {label}", timed(lambda a=answer: network.check(part, a), repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    plan = {3: 300, 100: 100, 10_000: 15}
    if args.quick:
        plan = {3: 30, 100: 10, 10_000: 3}
    for kind in ("Fraction", "float"):
        for n, repeats in plan.items():
            run(n, kind, repeats)
    for n, repeats in plan.items():
        run_check(n, max(3, repeats // 10))


if __name__ == "__main__":
    main()
