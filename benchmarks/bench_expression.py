"""Time per expression check: parse the student's answer and decide (reference cached).

    python benchmarks/bench_expression.py [--scalar N] [--matrix N] [--seed S]

Scalar answers are drawn from the seeds' styles (relu via Heaviside, weight
decay, momentum, bias correction, sigmoid/tanh, conv output size), right and
wrong, each made unique by random spacing so every check parses afresh.
Targets: scalar median < 1 ms and p99 < 50 ms; matrix median < 20 ms; the exact decision
of a one-variable piecewise-linear formula with 1,000 breakpoints under 50 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import grader.mathlang.to_sympy  # noqa: F401  (the engine imports it before a symbolic step)
from grader.core.verdict import Status
from grader.mathlang import ast
from grader.types.expression import ExpressionPart, exactpl
from grader.types.expression.checker import check
from grader.types.expression.outcome import Sides
from grader.types.expression.prepare import prepare


def part(**fields: Any) -> ExpressionPart:
    return ExpressionPart(id="p", type="expression", **fields)


N = {"integer": True, "min": 2, "max": 6}

SCALAR: list[tuple[ExpressionPart, list[str]]] = [
    (
        part(symbols={"x": "real"}, functions={"H": "heaviside(x, 1/2)"}, answer="x*H(x)"),
        [
            "x * H(x)",
            "x * (1 - H(-x))",
            r"\max\{0, x\}",
            "g(x) = x * H(x)",
            r"\frac{x + |x|}{2}",
            "x*H(-x)",
            "H(x)",
            "x (1 + H(-x))",
            r"\max(0, -x)",
        ],
    ),
    (
        part(
            symbols={"eta": "positive", "gamma": "positive", "lambda": "real"}, answer="lambda = 2*eta*gamma"
        ),
        [
            r"\lambda = 2\eta\gamma",
            r"2 \eta \gamma = \lambda",
            r"\lambda = 2\gamma\eta",
            r"\lambda = -2\eta\gamma",
            r"\lambda = \eta\gamma",
            r"\frac{\lambda}{2} = \eta \gamma",
            r"2\gamma\eta",
            r"\frac{\lambda}{\eta} = 2 \gamma",
        ],
    ),
    (
        part(
            symbols={"beta": {"interval": [0, 1]}, "delta": "positive"},
            answer={"alpha": "beta", "epsilon": "delta*(1 - beta)"},
        ),
        [
            r"\alpha = \beta, \epsilon = \delta(1 - \beta)",
            r"\alpha = \beta, \epsilon = \delta - \delta \beta",
            r"\alpha = \beta, \epsilon = \delta",
            r"\alpha = 1 - \beta, \epsilon = \delta(1-\beta)",
        ],
    ),
    (
        part(
            symbols={"v_t": "real", "beta": {"interval": [0, 1]}, "t": {"integer": True, "positive": True}},
            answer=r"\frac{v_t}{1 - \beta^t}",
        ),
        [
            r"\frac{v_t}{1-\beta^t}",
            r"v_t = \frac{v_t}{1 - \beta^t}",
            r"\frac{v_t}{1 - \beta}",
            r"v_t (1 - \beta^t)",
            "v_t / (1 - beta**t)",
        ],
    ),
    (
        part(symbols={"x": "real"}, answer="sigmoid(x)"),
        [
            r"\frac{1}{2} (\tanh(\frac{x}{2}) + 1)",
            r"\frac{1}{1 + e^{-x}}",
            r"\frac{1}{1 + e^{x}}",
            r"\tanh(x)",
            r"\frac{e^x}{1 + e^x}",
        ],
    ),
    (
        part(
            symbols={
                "i": {"integer": True, "min": 8, "max": 300},
                "k": {"integer": True, "min": 1, "max": 8},
                "p": {"integer": True, "min": 0, "max": 3},
                "s": {"integer": True, "min": 1, "max": 4},
            },
            answer="floor((i + 2*p - k)/s) + 1",
        ),
        [r"\lfloor \frac{i+2p-k}{s} \rfloor + 1", r"\frac{i+2p-k}{s} + 1", r"\lfloor (i - k)/s \rfloor + 1"],
    ),
]

MATRIX: list[tuple[ExpressionPart, list[str]]] = [
    (
        part(
            symbols={"n": N},
            arrays={"x": ["n"]},
            functions={"S": "softmax"},
            answer="diag(S(x)) - S(x) S(x)^T",
        ),
        [
            r"\text{diag}(S(\mathbf{x})) - S(\mathbf{x}) \cdot S(\mathbf{x})^\top",
            r"\text{diag}(S(x)) - S(x)^T S(x)",
            r"- S(x) S(x)^T",
        ],
    ),
    (
        part(
            symbols={"n": {"integer": True, "min": 2, "max": 5}},
            arrays={"W": ["n", "n"], "x": ["n"]},
            let={"y": "W x", "u": "relu(y)", "v": "u + W u", "I": "eye(n)"},
            functions={"Theta": "heaviside(x, 0)"},
            answer="outer(v, u) + outer(diag(Theta(y)) (I + W^T) v, x)",
        ),
        [
            r"\mathbf{v} \otimes \mathbf{u} + \text{diag}(\Theta(\mathbf{y}))(\mathbf{I} + \mathbf{W}^T)"
            r"\mathbf{v} \otimes \mathbf{x}",
            r"v \otimes u + diag(\Theta(y))(I + W)v \otimes x",
            r"v \otimes u + (I + W^T)v \otimes x",
        ],
    ),
    (
        part(
            symbols={"n": {"integer": True, "min": 1, "max": 5}, "d": {"integer": True, "min": 1, "max": 4}},
            arrays={"Q": ["n", "d"], "K": ["n", "d"], "V": ["n", "d"]},
            let={"A": "exp(Q K^T)", "1": "ones(n)", "D": "diag(A 1)"},
            answer="softmax_row(Q K^T) V",
        ),
        ["D^{-1} A V", "softmax_{row}(QK^{T})V", "A V"],
    ),
]


def vary(text: str, rng: random.Random) -> str:
    """The same answer with random (meaningless) extra spacing."""
    spaces = [i for i, c in enumerate(text) if c == " "]
    if spaces and rng.random() < 0.5:
        i = rng.choice(spaces)
        text = text[:i] + " " * rng.randint(1, 3) + text[i:]
    return " " * rng.randint(0, 3) + text + " " * rng.randint(0, 3)


def run(
    cases: list[tuple[ExpressionPart, list[str]]], count: int, rng: random.Random
) -> tuple[list[float], dict[str, int]]:
    import sympy  # noqa: F401  (imported once per grading process; not part of a check)

    for p, answers in cases:  # warm up as in real grading: the references parsed, samples drawn
        check(p, answers[0])
    times: list[float] = []
    statuses: dict[str, int] = {}
    for _ in range(count):
        p, answers = rng.choice(cases)
        answer = vary(rng.choice(answers), rng)
        start = time.perf_counter()
        verdict = check(p, answer)
        times.append(time.perf_counter() - start)
        statuses[verdict.status.value] = statuses.get(verdict.status.value, 0) + 1
        assert verdict.status is not Status.ERROR, (answer, verdict.feedback)
    return times, statuses


def summary(label: str, times: list[float], statuses: dict[str, int]) -> None:
    ms = sorted(t * 1000 for t in times)
    p99 = ms[min(len(ms) - 1, int(0.99 * len(ms)))]
    print(
        f"{label}: {len(ms)} checks  median {statistics.median(ms):.3f} ms  "
        f"p90 {ms[int(0.9 * len(ms))]:.3f} ms  p99 {p99:.3f} ms  max {ms[-1]:.1f} ms  {statuses}"
    )


def relu_sum(offsets: list[int]) -> ast.Node:
    """relu(x - k) summed over the offsets, as a balanced tree (the parser caps nesting)."""
    terms: list[ast.Node] = [
        ast.Call(0, "relu", (ast.BinOp(0, "-", ast.Sym(0, "x"), ast.Num(0, Fraction(k))),)) for k in offsets
    ]
    while len(terms) > 1:
        pairs = [terms[i : i + 2] for i in range(0, len(terms), 2)]
        terms = [ast.BinOp(0, "+", *pair) if len(pair) == 2 else pair[0] for pair in pairs]
    return terms[0]


def piecewise_linear(breakpoints: int, repeats: int = 5) -> None:
    """The exact decision of two one-variable piecewise-linear formulas with this many breakpoints."""
    reference = relu_sum(list(range(breakpoints)))
    same, different = relu_sum(list(reversed(range(breakpoints)))), relu_sum([*range(breakpoints - 1), 10**6])
    prepared = prepare(part(symbols={"x": "real"}, answer="x"))
    for label, answer in (("equal", same), ("different", different)):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            outcome = exactpl.decide(prepared, Sides(reference, answer, ""))
            times.append(time.perf_counter() - start)
            assert outcome is not None and outcome.equal == (label == "equal")
        median = 1000 * statistics.median(times)
        print(f"piecewise linear, {breakpoints} breakpoints, {label}: median {median:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scalar", type=int, default=3000)
    parser.add_argument("--matrix", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    summary("scalar", *run(SCALAR, args.scalar, rng))
    summary("matrix", *run(MATRIX, args.matrix, rng))
    piecewise_linear(1000)


if __name__ == "__main__":
    main()
