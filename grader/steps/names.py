"""Names in a derivation's text: what a definition names, and what a condition bounds.

A name alone (``y``, ``h_t``) or a function applied to plain variables (``f(x)``) is what a
definition names; a function applied to values or formulas (``\\sigma(-x)``, ``f(3)``) is a
claim about its values, a step to check (session 23).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from grader.mathlang.names import ALIASES, BUILTIN_NAMES, SPELLINGS

_NAME = re.compile(
    r"^(?:\\(?:mathbf|boldsymbol|bm|hat|tilde|bar|vec|mathcal|mathrm|operatorname)\s*\{)?(?:\\[A-Za-z]+|[A-Za-z])\}?"
    r"(?:_\{[^{}]*\}|_\\?\w+)?(?:\^\{\(\w+\)\}|'+|\^\s*\{?\s*(?:\\prime\s*)+\}?)?"
    r"(?:\s*(?:\\left)?\s*\([^()]*\)\s*(?:\\right\))?)?$"
)
_TOKEN = re.compile(
    r"\s*(?:\\(?:hat|tilde|bar|vec|mathbf|boldsymbol)\s*\{\\?[A-Za-z]+\}|\\[A-Za-z]+|[A-Za-z])"
    r"(?:_\{[^{}]*\}|_\\?\w)?\s*"
)
NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


class Claims(NamedTuple):
    """Functions whose application is a claim, never a definition: ``primed``, those the write-up
    defines (``f'(x) = ...`` is a claim about the defined ``f``); ``declared``, those the part
    declares (any application: ``\\sigma_s(z) = ...``, ``\\sigma_{s}'(z) = ...``)."""

    primed: frozenset[str] = frozenset()
    declared: frozenset[str] = frozenset()


NO_CLAIMS = Claims()


def defines(left: str, claims: Claims = NO_CLAIMS) -> bool:
    """A first step's left side that names a definition (``y``, ``f(x)``), not a claim."""
    if not names_a_definition(left):
        return False
    called = _CALL.match(left.strip())
    if called is None:
        return True
    base, sub, primes = called.groups()
    if sub:
        return f"{base}_{sub}" not in claims.declared
    return base not in claims.declared and not (primes and base in claims.primed)


def applies_declared(side: str, declared: frozenset[str]) -> bool:
    """The side is a function the part declares applied (``\\sigma_s(z)``): a value, not a name."""
    called = _CALL.match(side.strip())
    return called is not None and "_".join(filter(None, called.groups()[:2])) in declared


_CALL = re.compile(
    r"^\\?([A-Za-z]+)(?:_\{?\s*\\?(\w+)\s*\}?)?\s*('+|\^\s*\{?\s*\\prime\s*\}?)?\s*(?:\\left\s*)?\("
)


def is_name(text: str) -> bool:
    """A name alone (``y``, ``h_t``, ``\\mathbf{w}_1``), or a function of one named here
    (``f(x)``, ``\\sigma(z)``): what a definition names, or a condition bounds."""
    text = text.strip()
    if not _NAME.match(text):
        # a difference or change named with two tokens: \Delta\theta_t, \delta w
        tokens = _TOKEN.findall(text)
        joined = "".join(tokens).replace(" ", "") == text.replace(" ", "")
        return joined and len(tokens) == 2 and tokens[0].strip() in ("\\Delta", "\\delta", "\\nabla")

    base = re.match(
        r"^(?:\\(?:mathbf|boldsymbol|bm|hat|tilde|bar|vec|mathcal|mathrm|operatorname)\s*\{)?\\?([A-Za-z]+)",
        text,
    )
    word = base.group(1).lower() if base else ""
    if word in ("nabla", "partial") and "(" in text:
        return False  # \nabla_x (x^\top A x): an operator applied to a formula, not a name
    return word not in _FUNCTION_WORDS


_FUNCTION_WORDS = (
    frozenset(BUILTIN_NAMES)
    | frozenset(SPELLINGS)
    | {a.lower() for a in ALIASES if a not in ("sigma", "H", "step")}
    | {"ln", "log", "exp", "sin", "cos", "tan", "tanh", "max", "min", "sqrt", "frac", "relu", "left"}
)


def names_a_definition(left: str) -> bool:
    """A left side that a definition names: a name (``y``, ``h_t``), or a function applied to
    plain variables (``f(x)``, ``\\sigma(z)``, ``L(w, b)``). A function applied to anything else
    (``\\sigma(-x)``, ``S([1, 2])``, ``g(0)``, ``f(x + h)``) is a claim about its values: a step."""
    if not is_name(left) or NUMBER.match(left):
        return False
    called = _CALLED.match(left.strip())
    # f(x, y), f(x; \theta), p(y | x): variables apart, parameters or given: still a definition
    return called is None or all(
        _PLAIN_ARGUMENT.fullmatch(a.strip()) for a in re.split(r"[,;|]|\\mid\b", called.group(1))
    )


_CALLED = re.compile(r"^[^()]*?(?:\\left)?\s*\(([^()]*?)(?:\\right)?\)\s*$")
_PLAIN_ARGUMENT = re.compile(
    r"(?:\\(?:mathbf|boldsymbol|bm|vec|hat|tilde|bar)\s*\{\s*\\?[A-Za-z]+\s*\}|\\?[A-Za-z]+)"
    r"(?:_\{[^{}]*\}|_\\?\w)?'*"
)


# a norm or an absolute value of a name: ||k_i||, \lVert k \rVert, |x|
_BARS = r"(?:\\(?:left|right)\s*)?(?:\\[lr]Vert|\\Vert|\\\||\|\||\\[lr]vert|\|)"
NORM_OF = re.compile(rf"{_BARS}\s*(.+?)\s*{_BARS}(?:_\{{?\w+\}}?)?")
