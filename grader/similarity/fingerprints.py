"""Fingerprints of a text: k-grams of normalised tokens, hashed, chosen by winnowing.

Winnowing (Schleimer, Wilkerson and Aiken 2003, as MOSS and copydetect use it): hash every
run of ``k`` consecutive tokens and keep, in every window of ``w`` consecutive hashes, the
smallest (the rightmost on a tie). Two texts that share a passage of at least
``k + w - 1`` tokens share at least one fingerprint; a passage shorter than ``k`` is noise
and shares none. Each fingerprint keeps where its tokens were written (character offsets),
so a match can be shown in both texts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import NamedTuple


class Token(NamedTuple):
    """A normalised token and where it was written (character offsets in the text)."""

    kind: str
    start: int
    end: int


class Fingerprint(NamedTuple):
    hash: int
    start: int  # first character of the k-gram's first token
    end: int  # last character (exclusive) of its last token


def stable_hash(text: str) -> int:
    """A 63-bit hash that is the same in every process (Python's ``hash`` of a str is not)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big") >> 1


def kgram_hashes(tokens: Sequence[Token], k: int, salt: str = "") -> list[Fingerprint]:
    """Every run of ``k`` tokens, hashed; a text shorter than ``k`` tokens is one gram."""
    if not tokens:
        return []
    if len(tokens) < k:
        k = len(tokens)
    kinds = [t.kind for t in tokens]
    return [
        Fingerprint(stable_hash(salt + "\x1f".join(kinds[i : i + k])), tokens[i].start, tokens[i + k - 1].end)
        for i in range(len(tokens) - k + 1)
    ]


def winnow(grams: Sequence[Fingerprint], window: int) -> list[Fingerprint]:
    """The winnowed fingerprints of ``grams``: the smallest hash of each window, each once."""
    if len(grams) <= window:
        return [min(grams, key=lambda g: g.hash)] if grams else []
    chosen: list[Fingerprint] = []
    last = -1
    for i in range(len(grams) - window + 1):
        j = min(range(i, i + window), key=lambda x: (grams[x].hash, -x))
        if j != last:
            chosen.append(grams[j])
            last = j
    return chosen


def fingerprints(tokens: Sequence[Token], k: int, window: int, salt: str = "") -> list[Fingerprint]:
    return winnow(kgram_hashes(tokens, k, salt), window)
