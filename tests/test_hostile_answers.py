"""Student text is hostile: whatever is handed in, every part of every shipped
problem set returns a verdict, never an internal error, and in bounded time."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_budget import examples

from grader.core.timelimit import wall_backstop
from grader.core.verdict import Status
from grader.engine import check_part
from grader.loading import load_problem_set

ROOT = Path(__file__).parent.parent
PARTS = [
    (f"{path.stem}:{part_id}", part)
    for path in sorted((ROOT / "problems").glob("*.yaml"))
    for part_id, _, part in load_problem_set(path).iter_parts()
    if part.type != "text"
]

LATEX_BITS = [
    "\\frac{",
    "}{",
    "}",
    "{",
    "\\sqrt",
    "^",
    "_",
    "x",
    "n",
    "d",
    "W",
    "\\mathbf{x}",
    "S(",
    ")",
    "(",
    "[",
    "]",
    "\\begin{bmatrix}",
    "\\end{bmatrix}",
    "&",
    "\\\\",
    "\\left(",
    "\\right)",
    "|",
    "\\|",
    "=",
    "<",
    "\\le",
    "+",
    "-",
    "*",
    "/",
    "2",
    "0",
    "1e308",
    "9^9^9",
    "\\Theta(",
    "O(",
    "relu(",
    "diag(",
    "\\otimes",
    "^T",
    "'",
    ",",
    "impossible",
    "\\text{",
    "$",
    " ",
    "\\foo",
    "\x00",
    "é",
    "∞",
]

KEYS = ["w0", "b0", "w1", "W1", "k", "s", "p", "alpha", "x"]
junk_text = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(LATEX_BITS), max_size=25).map("".join),
)
junk = st.recursive(
    st.one_of(junk_text, st.integers(), st.floats(allow_nan=True), st.booleans(), st.none()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=4),
    ),
    max_leaves=12,
)


@settings(max_examples=examples(600), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(min_value=0, max_value=len(PARTS) - 1), answer=junk)
def test_any_answer_gets_a_verdict(index: int, answer: Any) -> None:
    name, part = PARTS[index]
    started = time.monotonic()
    verdict = check_part(part, answer, time_limit=5)
    assert "internal error" not in verdict.feedback, (name, answer, verdict.feedback)
    assert verdict.status in set(Status) and 0 <= verdict.score <= 1
    if verdict.status is Status.ERROR:  # only an honest "could not decide", never a crash
        assert "could not decide" in verdict.feedback or "of CPU time" in verdict.feedback
    assert time.monotonic() - started < wall_backstop(5) + 1
