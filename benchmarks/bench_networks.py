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

Then a ``classify`` part of eight inputs and ten units (issue 27: decided in under
1 s): ``x1 > 0 or ... or x8 > 0`` as ``W2 relu(W1 x + b1) + b2``; the whole check of
the reference, of the reference with its units reordered and scaled, and of seeded
wrong answers (one weight or bias of the reference changed, kept when the checker
finds it wrong), with how each was decided (probe points or the region walk).

Run: ``python benchmarks/bench_networks.py [--quick] [--only classify]``
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
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_network_checker import eight_input_or  # the part its tests decide, timed here

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


def _one_weight_changed(answer: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    changed = {
        name: [list(row) if isinstance(row, list) else row for row in value] for name, value in answer.items()
    }
    name = rng.choice(sorted(changed))
    rows = changed[name]
    i = rng.randrange(len(rows))
    delta = rng.choice((-2, -1, 1, 2))
    if isinstance(rows[i], list):
        rows[i][rng.randrange(len(rows[i]))] += delta
    else:
        rows[i] += delta
    return changed


def run_classify(wrong_answers: int) -> None:
    """Whole checks of the eight-input classify part: right answers, and wrong ones."""
    part, answer = eight_input_or()
    order = [9, 8, *range(8)]  # the units reordered, and every unit scaled by 3 (same signs)
    reordered = {
        "W1": [[3 * v for v in answer["W1"][u]] for u in order],
        "b1": [0] * 10,
        "W2": [[answer["W2"][0][u] for u in order]],
        "b2": [0],
    }
    rng = random.Random(27)
    found: dict[str, list[float]] = {}
    cpu_times: list[float] = []
    wrong = 0
    for label, candidate in [("right: the reference", answer), ("right: reordered and scaled", reordered)]:
        started, cpu = time.perf_counter(), time.process_time()
        verdict = network.check(part, candidate)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert verdict.status.value == "correct", verdict.feedback
        method = verdict.decision.method if verdict.decision else ""
        exact = verdict.decision is not None and verdict.decision.exact
        by = "the region walk (exact)" if exact and "activation regions" in method else "probes (not a proof)"
        print(
            f"8 inputs, 10 units  {label:<28} {elapsed * 1e3:9.0f} ms   CPU {cpu * 1e3:5.0f} ms   "
            f"decided by {by} ({method[:60]})"
        )
    while wrong < wrong_answers:
        candidate = _one_weight_changed(answer, rng)
        started, cpu = time.perf_counter(), time.process_time()
        verdict = network.check(part, candidate)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        if verdict.status.value != "incorrect":
            continue  # the change kept the classifier right (a cancelling unit's weight)
        wrong += 1
        cpu_times.append(cpu)
        method = verdict.decision.method if verdict.decision else ""
        by = (
            "probe points"
            if "probe points" in method
            else "region walk"
            if "region walk" in method
            else method
        )
        found.setdefault(by, []).append(elapsed)
    every = [t for times in found.values() for t in times]
    report(f"8 inputs, 10 units  {wrong} wrong answers", every)
    print(
        f"{'':<20}CPU median {statistics.median(cpu_times) * 1e3:.0f} ms, max {max(cpu_times) * 1e3:.0f} ms; "
        f"wall max {max(every) * 1e3:.0f} ms; decided by "
        + ", ".join(
            f"{by}: {len(times)} (median {statistics.median(times) * 1e3:.0f} ms)"
            for by, times in found.items()
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--only", choices=("classify",), help="only the eight-input classify part")
    args = parser.parse_args()
    plan = {3: 300, 100: 100, 10_000: 15}
    if args.quick:
        plan = {3: 30, 100: 10, 10_000: 3}
    if args.only is None:
        for kind in ("Fraction", "float"):
            for n, repeats in plan.items():
                run(n, kind, repeats)
        for n, repeats in plan.items():
            run_check(n, max(3, repeats // 10))
    run_classify(5 if args.quick else 20)


if __name__ == "__main__":
    main()
