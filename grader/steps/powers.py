"""``x^T`` read as a power where ``T`` is a number in the same step.

``\\|W\\|^T \\gamma^T = (\\|W\\|^2 \\gamma^2)^{\\frac{T}{2}}`` writes ``T`` as a count (``\\frac{T}{2}``,
``T - 1``): its ``^T`` are powers, not transposes. The math language reads every ``^T`` as a
transpose ("vectors or matrices"), so such a step is read again with each ``^T`` written
``^{{T}}`` (the same power, not the transpose's spelling). Only where ``T`` stands as a number
outside every subscript and bare superscript, no other notation of vectors or matrices is
in the step (``\\top``, bold letters, a sum whose upper bound ``^T`` is, a matrix
environment), and no ``^T`` is of a single capital letter (``W^T``: a matrix's transpose by
convention). The reading shows a step, never refutes it: a point where it fails is no
witness (a ``^T`` may still be a transpose the student meant).
"""

from __future__ import annotations

import re

SAID = "x^T read as a power: T is a number in this step"

_T_POWER = re.compile(r"\^\s*(?:\{\s*T\s*\}|T(?![A-Za-z0-9_']))")
_OTHER_ARRAYS = re.compile(
    r"\\(?:top|intercal|mathbf|boldsymbol|bm|vec|odot|otimes|langle|nabla|sum|prod|int|oint|iint"
    r"|lim|max|min|sup|inf|det|operatorname|begin|lambda)(?![A-Za-z])|\\mathrm\s*\{\s*T"
)
_CAPITAL_BASE = re.compile(
    r"(?<![A-Za-z\\])[A-Z](?:\s*_(?:\{[^{}]*\}|\w))?\s*\^\s*(?:\{\s*T\s*\}|T(?![A-Za-z]))"
)
_SUBSCRIPT = re.compile(r"_\s*(?:\{[^{}]*\}|\\?[A-Za-z0-9]+)")
_T_NUMBER = re.compile(r"(?<![A-Za-z\\])T(?![A-Za-z])")
_T_LEADS = re.compile(r"\^\s*\{\s*T(?=\s*[-+*/])")  # ^{T+2}, ^{T - 1}: a power whatever T is


def t_powers(left: str, right: str) -> tuple[str, str] | None:
    """The two sides with each ``^T`` written ``^{{T}}`` (a power), or None when the step is
    not one this reading covers (see the module's doc)."""
    both = f"{left} = {right}"
    if not _T_POWER.search(both) or _OTHER_ARRAYS.search(both) or _CAPITAL_BASE.search(both):
        return None
    rest = _SUBSCRIPT.sub(" ", _T_POWER.sub(" ", both))
    if not _T_NUMBER.search(rest):
        return None  # T only as a bare superscript or an index: a transpose may be meant
    return tuple(_T_LEADS.sub("^{{T}", _T_POWER.sub("^{{T}}", side)) for side in (left, right))  # type: ignore[return-value]
