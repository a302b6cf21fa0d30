"""A long fuzz of the math parser and evaluator and of the answers loader.

    python tests/hostile/fuzz.py --count 1000000 [--seed 13] [--failures failures.json]

Half the inputs are formulas (random text, LaTeX token soup, deep nesting, towers of
powers and exponentials): ``parse`` must return a tree or raise a ``MathError`` pointing
inside the text, and a formula without symbols must evaluate to a bounded number or a
``MathError``. The other half are answers files (YAML and JSON token soup, nesting,
anchors, tags, huge numbers): reading one must give answers or one ``load_error``, never
an exception. Any input taking more than a second of CPU time is a failure too. The CI runs the same
properties with a small budget (tests/test_mathlang_properties.py,
tests/test_hostile_loader.py); this is the long run whose result the README quotes.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from grader.core.submission import Submission
from grader.loading import read_answers_text
from grader.mathlang import ast
from grader.mathlang.constant import constant_value
from grader.mathlang.errors import MathError
from grader.mathlang.lexer import words
from grader.mathlang.limits import MAX_VALUE_DIGITS
from grader.mathlang.parser import parse

SLOW_SECONDS = 1.0
LATEX = words(
    r"\frac { } ( ) [ ] \left( \right) ^ _ ' x y n d W S e T 2 10 0.5 1e3 .5 \sqrt \sqrt[3] | \| "
    r"\begin{bmatrix} \end{bmatrix} \begin{cases} \end{cases} & \\ \cdot \times \odot \otimes - + * / ** @ "
    r"= \le \ge < > , ; \mathbf{ \text{ \operatorname{ \mathbb{R} ^T ^\top \max \min \exp \log \{ \} \in "
    r"\alpha \lambda \Theta \infty \hat{ \foo ... \sum relu softmax piecewise( diag( O( 9^9^9^9 1e999 "
    r"exp( abs( 2^{999} ^{20} ^{4096} 12345678901234567890 \input{ \write18 __import__ ${{ {{ "
)
NUMBERS = ["2", "9", "10", "0.5", "1e300", "1e-300", "999", "2^{999}", "\\pi", "e", "0", "-1"]
YAML = [
    "answers:",
    "\n",
    "  ",
    "- ",
    ": ",
    "q1",
    "q2",
    "[",
    "]",
    "{",
    "}",
    ", ",
    "&a ",
    "*a",
    "<<: ",
    "? ",
    "!!python/object/apply:os.system ",
    "!!binary ",
    "!x ",
    "|",
    ">-",
    "'",
    '"',
    "\\",
    "#",
    "---",
    "...",
    "1e999",
    "9" * 60,
    ".nan",
    "yes",
    "~",
    "2001-12-14",
    "\t",
    "\x00",
    "\ufeff",
    "é",
    '"\\frac{1}{2}"',
]
JSON = [
    '{"answers": ',
    "{",
    "}",
    "[",
    "]",
    '"q1"',
    ": ",
    ", ",
    '"\\"',
    "1e999",
    "NaN",
    "9" * 40,
    "null",
    '"x"',
]


@dataclass
class Tally:
    count: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    slowest: tuple[float, str] = (0.0, "")

    def timed(self, kind: str, text: str, check: Callable[[str], None]) -> None:
        self.count += 1
        started = time.process_time()  # CPU time: a busy machine does not make an input slow
        try:
            check(text)
        except Exception:  # the point of a fuzz: record anything that escapes
            self.fail(kind, text, traceback.format_exc(limit=4))
        seconds = time.process_time() - started
        if seconds > self.slowest[0]:
            self.slowest = (seconds, f"{kind}: {text[:80]!r}")
        if seconds > SLOW_SECONDS:
            self.fail(kind, text, f"took {seconds:.2f} s")

    def fail(self, kind: str, text: str, error: str) -> None:
        self.failures.append({"kind": kind, "input": text[:2000], "error": error})
        print(f"FAILED {kind}: {text[:300]!r}\n{error}", file=sys.stderr, flush=True)


def check_formula(text: str) -> None:
    try:
        tree = parse(text)
    except MathError as error:
        if error.position is not None and not 0 <= error.position <= len(text):
            raise AssertionError(f"position {error.position} outside the text") from None
        error.render()
        return
    if not ast.free_names(tree):
        check_constant(tree)


def check_constant(tree: ast.Node) -> None:
    try:
        value = constant_value(tree)
    except MathError:
        return
    if isinstance(value, Fraction):
        bits = MAX_VALUE_DIGITS * 3.33 + 8
        if max(value.numerator.bit_length(), value.denominator.bit_length()) > bits:
            raise AssertionError("an exact value past the size bound")
        str(value)


def check_answers(text: str, filename: str) -> None:
    submission = Submission(student="fuzz", folder="")
    read_answers_text(submission, text, Path(filename))
    if submission.load_error is None:
        json.dumps(submission.answers, default=str)


def formula(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.2:
        return "".join(
            chr(rng.choice((rng.randrange(32, 127), rng.randrange(0x80, 0x2FFF))))
            for _ in range(rng.randrange(60))
        )
    if kind < 0.6:
        return rng.choice(("", " ")).join(rng.choice(LATEX) for _ in range(rng.randrange(40)))
    if kind < 0.7:
        unit = rng.choice(["(", "{", "[", "\\frac{", "\\sqrt{", "|", "-", "x^", "exp("])
        depth = rng.randrange(400)
        closer = {"(": ")", "{": "}", "[": "]", "\\frac{": "}{2}", "\\sqrt{": "}", "|": "|", "exp(": ")"}
        return unit * depth + "x" + closer.get(unit, "") * depth
    return number_tower(rng, rng.randrange(1, 6))


def number_tower(rng: random.Random, depth: int) -> str:
    if depth == 0:
        return rng.choice(NUMBERS)
    inner = number_tower(rng, depth - 1)
    other = number_tower(rng, rng.randrange(depth))
    return rng.choice(
        [
            f"({inner})^{{{rng.choice(['2', '20', '999', '-40', '1/2', '4096'])}}}",
            f"exp({inner})",
            f"({inner}) {rng.choice(['*', '+', '/', '-'])} ({other})",
            f"\\frac{{1}}{{{inner}}}",
            f"abs({inner})",
        ]
    )


def answers_file(rng: random.Random) -> tuple[str, str]:
    if rng.random() < 0.6:
        return "".join(rng.choice(YAML) for _ in range(rng.randrange(80))), "answers.yaml"
    if rng.random() < 0.5:
        return "".join(rng.choice(JSON) for _ in range(rng.randrange(80))), "answers.json"
    opener = rng.choice(["[", '{"a": '])
    depth = rng.randrange(5000)
    return opener * depth + "1" + ("]" if opener == "[" else "}") * depth, "answers.json"


def run(count: int, seed: int, report_every: float = 30.0) -> Tally:
    rng = random.Random(seed)
    tally = Tally()
    started = last = time.monotonic()
    while tally.count < count:
        if tally.count % 2 == 0:
            tally.timed("formula", formula(rng), check_formula)
        else:
            text, filename = answers_file(rng)
            tally.timed(filename, text, functools.partial(check_answers, filename=filename))
        if time.monotonic() - last > report_every:
            last = time.monotonic()
            rate = tally.count / (last - started)
            print(f"  {tally.count:,} inputs, {len(tally.failures)} failures, {rate:,.0f}/s", file=sys.stderr)
    return tally


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--failures", type=Path, help="write the failing inputs here (JSON)")
    args = parser.parse_args()
    started = time.monotonic()
    tally = run(args.count, args.seed)
    seconds = time.monotonic() - started
    print(
        f"fuzz: {tally.count:,} inputs (seed {args.seed}) in {seconds:,.0f} s: "
        f"{len(tally.failures)} failures; slowest {tally.slowest[0] * 1000:.0f} ms ({tally.slowest[1]})"
    )
    for failure in tally.failures[:10]:
        print(f"--- {failure['kind']}: {failure['input'][:200]!r}\n{failure['error']}")
    if args.failures:
        args.failures.write_text(json.dumps(tally.failures, indent=1), encoding="utf-8")
    return 1 if tally.failures else 0


if __name__ == "__main__":
    sys.exit(main())
