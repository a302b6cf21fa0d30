"""Test-only answer type whose check misbehaves in ways no limit inside a check can stop.

Importing this module registers the type ``hostile_probe`` (before :mod:`grader.spec`
builds the problem-file schema, so import it first). A student answering

- ``spin`` makes the check loop inside C code that never looks at signals (PBKDF2 with
  2^31 rounds: hours), so the engine's ``SIGALRM`` time limit cannot stop it; only a
  worker that can be killed can;
- ``hog`` makes the check allocate (and touch) 2 GiB, past any sane ``memory_limit``;
- anything else is compared with the part's answer.

The hostile corpus uses it through ``python -m tests.hostile.probe_cli``: these rows need
the batch's killable workers and per-check memory limit (issue 12).
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from grader.core.parts import PartBase
from grader.core.verdict import Verdict
from grader.types import ANSWER_TYPES
from grader.types.base import AnswerType, fixed_hint

PROBE_TYPE = "hostile_probe"
HOG_BYTES = 2 << 30
HOG_STEP = 64 << 20


class ProbePart(PartBase):
    type: Literal["hostile_probe"]
    answer: str = "calm"


def check(part: ProbePart, answer: Any) -> Verdict:
    if answer == "spin":
        hashlib.pbkdf2_hmac("sha256", b"spin", b"in C code", 2**31 - 1)
    elif answer == "hog":
        _allocate(HOG_BYTES)
    if str(answer) == part.answer:
        return Verdict.correct()
    return Verdict.incorrect(f"expected {part.answer}")


def _allocate(total: int) -> int:
    """Allocate ``total`` bytes in steps, touching every page (so they are really held)."""
    blocks = []
    for _ in range(total // HOG_STEP):
        block = bytearray(HOG_STEP)
        block[::4096] = b"\x01" * len(block[::4096])
        blocks.append(block)
    return len(blocks)


ANSWER_TYPES.setdefault(
    PROBE_TYPE, AnswerType(name=PROBE_TYPE, part=ProbePart, check=check, hint=fixed_hint("calm"))
)
