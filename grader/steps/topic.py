"""What a chain is about, from the words around it: shapes (``2 \\times 3`` a size, not a
product) and a 1-D convolution named with its mode and whether the kernel is flipped."""

from __future__ import annotations

import re

from grader.steps.models import Chain

# Words that make `\times` a separator of dimensions (``2 \times 3 \times 4``), not a product
_SHAPE_WORDS = re.compile(
    r"\bshapes?\b|\bdimension|\bdims?\b|\bsizes?\b|\btensors?\b|feature maps?|\bchannels?\b"
    r"|\bconvolution|\bconv\b|\bkernels?\b|\bstrides?\b|\bpadding\b|\\in\s*\\mathbb\s*\{?\s*[RZN]\s*\}?\s*\^",
    re.IGNORECASE,
)
SHAPE_REACH = 2  # lines before a chain whose words still say what it is about


def about_shapes(chain: Chain, lines: list[str]) -> bool:
    last = max(s.line for s in chain.steps)
    around = "\n".join(lines[max(0, chain.line - 1 - SHAPE_REACH) : last])
    return _SHAPE_WORDS.search(around) is not None


_CONVOLUTION_MODE = re.compile(r"\b(full|valid|same)\b", re.IGNORECASE)
_CONVOLUTION = re.compile(r"convolution|\bconv\b", re.IGNORECASE)
# a mode word that names the convolution's mode: just before the word convolution ("*Full*
# convolution", "valid-mode convolution") or beside "mode" ("mode='same'", "same mode"); "the
# same convolution" (the one before?) and "full of zeros" do not
_MODE_NAMED = re.compile(
    r"(?:\b(full|valid)|(?<!\bthe )(?<!\bthis )(?<!\bthat )\b(same))\b[*_`'\"]*[\s-]*(?:mode\s+)?"
    r"(?:1-?D\s+|discrete\s+)?(?:convolution|conv\b)"
    r"|\bmode\s*[=:]?\s*[`'\"]?(full|valid|same)\b|\b(full|valid|same)[`'\"]?\s+mode\b",
    re.IGNORECASE,
)
_FLIP = re.compile(r"(\b(?:without|no|not|don't)\b[^.$]{0,30})?\bflip", re.IGNORECASE)
_NOT_COMPUTED = re.compile(
    r"strid|dilat|atrous|transpos|up-?sampl|down-?sampl|sub-?sampl|circular|periodic|wrap|pool"
    r"|pad\w*\s*(?:=|:|of|by|with)?\s*(?:size\s*)?(?:\d|one|two|three|four)",
    re.IGNORECASE,
)
CONVOLUTION_REACH = 12  # lines before a chain where the kernel's flipping may be said


def convolution_named(chain: Chain, lines: list[str]) -> str | None:
    """The 1-D convolution the nearest of the 3 lines before the chain names (one mode word and
    "convolution"), and whether the kernel is flipped (said in that line's paragraph, or in a
    sentence naming a convolution within 12 lines before); else None, and None when the
    paragraph names a stride, a dilation, a padding of an amount... (not computed here)."""
    start = chain.line - 1
    mode, at = None, start
    for at in range(start - 1, max(0, start - 3) - 1, -1):
        line = lines[at]
        modes = {m.lower() for m in _CONVOLUTION_MODE.findall(line)}
        named = {w.lower() for m in _MODE_NAMED.finditer(line) for w in m.groups() if w}
        if len(named) == 1 and modes == named:
            mode = named.pop()
            break
        if modes:
            return None  # the nearest line naming modes names several, or none as a mode
    if mode is None:
        return None
    first = at  # the paragraph of the line naming the mode
    while first > max(0, start - CONVOLUTION_REACH) and lines[first - 1].strip():
        first -= 1
    paragraph = "\n".join(lines[first:start])
    if _NOT_COMPUTED.search(paragraph):
        return None  # a stride, a dilation, a padding of 1...: not the plain convolution computed
    # before it, only sentences about a convolution: "cross-correlation does not flip" is not
    earlier = re.split(r"(?<=[.!?])\s+|\n\s*\n", "\n".join(lines[max(0, start - CONVOLUTION_REACH) : first]))
    before = "\n".join([*(t for t in earlier if re.search(r"convol", t, re.IGNORECASE)), paragraph])
    flips = _FLIP.findall(before)
    if re.search(r"correlation", before, re.IGNORECASE) or any(neg for neg in flips):
        return None if flips and not all(neg for neg in flips) else f"{mode} unflipped"
    return f"{mode} flipped" if flips else mode
