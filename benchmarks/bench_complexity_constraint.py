"""Time per complexity and constraint check: parse the student's answer and decide
(the reference, assumptions and predicates are cached per part, as in a grading run).

    python benchmarks/bench_complexity_constraint.py [--repeat N] [--seed S]

Answers come from the seeds' styles (attention time/space in Θ, conv-layer
configurations), right and wrong, each made unique by random spacing so every
check parses afresh. The dominance caches are cleared before each round, so
every round pays for its linear programs.

Also timed: hard cases for the term algebra (``Θ((n + m + d)^17 (n + m + d)^17)``, a big
product of powers, a log tie in two symbols, growing exponents), each once with cold caches.
Targets: median < 5 ms per check, p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grader.core.verdict import AnswerError, CheckUndecided
from grader.types import constraint
from grader.types.complexity import ComplexityPart, dominance
from grader.types.complexity import checker as complexity
from grader.types.constraint import ConstraintPart


def cpart(answer: str, symbols: list[str], **extra: Any) -> ComplexityPart:
    return ComplexityPart(id="p", type="complexity", answer=answer, symbols=tuple(symbols), **extra)


COMPLEXITY: list[tuple[ComplexityPart, list[str]]] = [
    (
        cpart("Theta(n^2*d + n*d^2)", ["n", "d"]),
        [
            r"\Theta(n^2d + nd^2)",
            "O(2n^2 d + n d^2 + n^2)",
            r"\Theta(n^2 d)",
            r"\mathcal{O}(n^2)",
            r"\Theta(nd(n + d))",
            r"\Theta(n^2d) + \Theta(n^2) + \Theta(nd^2) = \Theta(n^2d + nd^2)",
        ],
    ),
    (cpart("Theta(h*(n^2*d + n*d^2))", ["n", "d", "h"]), [r"\Theta(h(n^2d + nd^2))", r"\Theta(n^2d + nd^2)"]),
    (cpart("Theta(n^2 + d^2)", ["n", "d"]), ["(n+d)^2", r"\Theta(n^2 + nd)", "(n + d)^2 - 2nd"]),
    (cpart("Theta(n*log(n))", ["n"]), ["n log n", r"\Theta(n \log^2 n)", r"O(n \log_2 n)", "n"]),
    (cpart("Theta(n^2*d + n*d^2)", ["n", "d"], assumptions=("d <= n",)), [r"\Theta(n^2 d)", "O(n^3)"]),
    (cpart("Theta(d^2 + n*d)", ["n", "d"]), [r"\Theta(d^w + nd)", r"\Theta(d^2 + nd)"]),
    (cpart("Theta(n*m*d)", ["n", "m", "d"]), [r"\Theta(nmd)", r"\Theta(nd + md + nm)"]),
]


def kpart(i: int, o: int, given: dict[str, int], *extra: str) -> ConstraintPart:
    return ConstraintPart(
        id="p",
        type="constraint",
        fields=("k", "s", "p", "d"),
        given=given,
        require=(f"floor(({i} + 2*p - (k + (d - 1)*(k - 1)))/s) + 1 = {o}", "s >= 1", "p >= 0", *extra),
        answer={"k": 1, "s": 1, "p": 0, "d": 1},
    )


CONSTRAINT: list[tuple[ConstraintPart, list[Any]]] = [
    (
        kpart(64, 32, {"k": 8, "d": 1}),
        [
            "k = 8, s = 2, p = 3, d = 1",
            "k=8; s=2; p=4; d=1",
            "(k, s, p, d) = (8, 2, 3, 1)",
            "$k = 8$, $s = 2$, $p = 3$, $d = 1$",
            {"k": 8, "s": 2, "p": 3, "d": 1},
        ],
    ),
    (kpart(64, 32, {"d": 7, "s": 2}, "k >= 2"), ["k = 1, s = 2, p = 0, d = 7", "k = 2, p = 3"]),
    (kpart(8, 4, {"d": 2, "p": 2}), ["k = 1, s = 1, p = 2, d = 2", "k = 2^1, s = 3"]),
]


def jitter(answer: Any, rng: random.Random) -> Any:
    """The same answer with random spaces after commas and operators, so nothing is cached."""
    if not isinstance(answer, str):
        return answer
    out = []
    for ch in answer:
        out.append(ch)
        if ch in ",+=" and rng.random() < 0.5:
            out.append(" " * rng.randint(1, 3))
    return "".join(out) + " " * rng.randint(0, 3)


def timed(check: Callable[[Any, Any], Any], part: Any, answer: Any) -> float:
    start = time.perf_counter()
    with contextlib.suppress(AnswerError, CheckUndecided):  # invalid / undecided answers count too
        check(part, answer)
    return time.perf_counter() - start


def run(
    name: str, check: Callable[[Any, Any], Any], table: list[Any], repeat: int, rng: random.Random
) -> None:
    times: list[float] = []
    for _ in range(repeat):
        dominance._dominance.cache_clear()
        for part, answers in table:
            times.extend(timed(check, part, jitter(a, rng)) for a in answers)
    times.sort()
    p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
    print(
        f"{name:<11} {len(times):>5} checks  median {statistics.median(times) * 1e3:7.2f} ms  "
        f"p99 {p99 * 1e3:7.2f} ms  max {times[-1] * 1e3:7.2f} ms"
    )


HARD_CASES = [  # (reference, answer, symbols): products of powers, log ties, growing exponents
    ("Theta(n^34 + m^34 + d^34)", "Theta((n + m + d)^17 (n + m + d)^17)", ["n", "m", "d"]),
    (
        "Theta((n+m+d)^{10} (n log n + m log m + d log d)^{10})",
        "Theta(n^20 log^10 n + m^20 log^10 m + d^20 log^10 d)",
        ["n", "m", "d"],
    ),
    ("Theta((n+d) log(n+d))", "O((n+d) log(n d))", ["n", "d"]),
    ("Theta(n^2)", "Theta(4^{log_2 n} + n^{log_3 5})", ["n"]),
    ("Theta(3^(sqrt n))", "Theta(3^{n^{1/2}} + n^{log_2 n})", ["n"]),
]


def worst_case() -> None:
    for reference, answer, symbols in HARD_CASES:
        part = cpart(reference, symbols)
        dominance._dominance.cache_clear()
        elapsed = timed(complexity.check, part, answer)
        print(f"hard case  {answer}: {elapsed * 1e3:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    run("complexity", complexity.check, COMPLEXITY, args.repeat, rng)
    run("constraint", constraint.check, CONSTRAINT, args.repeat, rng)
    worst_case()


if __name__ == "__main__":
    main()
