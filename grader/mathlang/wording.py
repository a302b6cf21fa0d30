"""How shapes and values are worded in messages: one place for articles and shape names.

* :func:`with_article` puts ``a``/``an`` before a noun phrase as it is read aloud
  (``an n-vector``, ``an 8-vector``, ``a 2×3 matrix``, ``an 11-vector``).
* :func:`value_kind` names the kind of a value: ``scalar``, ``n-vector``,
  ``row vector (1×n)``, ``n×m matrix``.
* :func:`shape_with_article` names a declared shape with its article, a number
  being ``a number``: ``a 3-vector``, ``a 2×3 matrix``.
* :func:`dims_text` lists dimensions as an array answer shows them: ``3 (a vector)``, ``2 x 3``.
* :func:`counted` puts a count before a noun: ``1 part``, ``2 parts``, ``1.5 points``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

_HEAD = re.compile(r"[0-9]+|[A-Za-z]+")
_VOWEL_LETTER_NAMES = frozenset("aefhilmnorsx")  # letters whose name starts with a vowel sound


def article(text: str) -> str:
    """``an`` before a sound starting with a vowel: 8, 11, 18, n, m, x, array...; else ``a``."""
    head = _HEAD.match(text)
    word = head.group(0) if head else text
    if word.isdigit():
        vowel = word.startswith("8") or (len(word) in (2, 5, 8) and word[:2] in ("11", "18"))
    elif len(word) == 1 or not any(c in "aeiouAEIOU" for c in word):
        vowel = word[:1].lower() in _VOWEL_LETTER_NAMES  # read letter by letter: n, nh, d_v
    else:
        vowel = word[0].lower() in "aeiou"
    return "an" if vowel else "a"


def counted(count: float, noun: str) -> str:
    """``1 part``, ``3 parts``, ``0 points``, ``2.5 points``: the noun in the number the count asks."""
    return f"{count:g} {noun}" if count == 1 else f"{count:g} {noun}s"


def with_article(text: str) -> str:
    """``text`` after its article: ``an n×n matrix``, ``a scalar``."""
    return f"{article(text)} {text}"


def value_kind(shape: Sequence[int], row: bool = False, names: Mapping[int, str] | None = None) -> str:
    """``scalar``, ``n-vector``, ``row vector (1×n)``, ``n×m matrix``, ``2×3×4 array``;
    ``names`` spells sizes by the dims they stand for (``{5: "n"}``)."""
    if not shape:
        return "scalar"
    names = names or {}
    dims = [names.get(s, str(s)) for s in shape]
    if len(shape) == 1:
        return f"{dims[0]}-vector"
    if row and len(shape) == 2:
        return f"row vector (1×{dims[1]})"
    kind = "matrix" if len(shape) == 2 else "array"
    return f"{'×'.join(dims)} {kind}"


def shape_with_article(shape: Sequence[int | str]) -> str:
    """``a number``, ``a 3-vector``, ``an 8-vector``, ``a 2×3 matrix`` (sizes may be names)."""
    if not shape:
        return "a number"
    if len(shape) == 1:
        text = f"{shape[0]}-vector"
    else:
        kind = "matrix" if len(shape) == 2 else "array"
        text = "×".join(str(s) for s in shape) + f" {kind}"
    return with_article(text)


def dims_text(shape: Sequence[int]) -> str:
    """``3 (a vector)`` for one axis, ``2 x 3`` for more."""
    if len(shape) == 1:
        return f"{shape[0]} (a vector)"
    return " x ".join(str(n) for n in shape)
