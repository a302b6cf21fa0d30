"""The built-in functions of the math language by name: the one list of function names.

The parser reads these names to tell a call (``relu(x)``) from an implicit product
(``x(1 - x)``); the evaluator (:mod:`grader.mathlang.builtins`) gives each name its
implementation and refuses to start if one is missing; the sympy translation
covers the scalar ones. This module holds no numeric code, so the parser stays light.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Arity:
    """How many arguments a built-in takes (inclusive)."""

    least: int
    most: int


def _arity(least: int, most: int | None = None) -> Arity:
    return Arity(least, least if most is None else most)


# Element-wise functions of one argument (every backend implements each of them).
UNARY_NAMES: tuple[str, ...] = (
    "exp",
    "sqrt",
    "abs",
    "floor",
    "ceil",
    "sin",
    "cos",
    "tan",
    "sec",
    "csc",
    "cot",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "tanh",
    "sech",
    "csch",
    "coth",
    "asinh",
    "acosh",
    "atanh",
    "sigmoid",
    "relu",
    "softplus",
    "sign",
)

FUNCTIONS: dict[str, Arity] = {
    **{name: _arity(1) for name in UNARY_NAMES},
    "log": _arity(1, 2),
    "heaviside": _arity(1, 2),
    "leaky_relu": _arity(1, 2),
    "max": _arity(1, 16),
    "min": _arity(1, 16),
    "mod": _arity(2),
    "root": _arity(2),
    "softmax": _arity(1),
    "softmax_row": _arity(1),
    "softmax_col": _arity(1),
    "diag": _arity(1),
    "norm": _arity(1, 2),
    "sum": _arity(1),
    "trace": _arity(1),
    "outer": _arity(2),
    "eye": _arity(1, 2),
    "ones": _arity(1, 2),
    "zeros": _arity(1, 2),
    "inv": _arity(1),
    "det": _arity(1),
    "concat": _arity(1, 32),
    "identity": _arity(1),
    "transpose": _arity(1),
}

# Written as a call but parsed into its own node (``piecewise((x, x > 0), (0, true))``).
SPECIAL_FORMS = frozenset({"piecewise"})

# Other spellings that always mean a built-in, in the parser as in the evaluator.
SPELLINGS: dict[str, str] = {
    "ln": "log",
    "sgn": "sign",
    "cosec": "csc",
    "cosech": "csch",
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "arsinh": "asinh",
    "arcsinh": "asinh",
    "arcosh": "acosh",
    "arccosh": "acosh",
    "artanh": "atanh",
    "arctanh": "atanh",
}

# Other spellings students use that may also be a part's own symbol (``sigma``, ``H``):
# they mean the built-in only where the part does not declare them.
ALIASES: dict[str, str] = {
    "ReLU": "relu",
    "Relu": "relu",
    "RELU": "relu",
    "sigma": "sigmoid",
    "tr": "trace",
    "Tr": "trace",
    "Softmax": "softmax",
    "softmax_rows": "softmax_row",
    "softmax_cols": "softmax_col",
    "H": "heaviside",
    "step": "heaviside",
    "Diag": "diag",
    **SPELLINGS,
}

# Names matched whatever their case (``\mathrm{ReLU}``, ``Softmax``).
CASELESS = frozenset({"relu", "softmax", "softmax_row", "softmax_col", "diag", "sigmoid", "leaky_relu"})

# A function written with a power, ``\sin^{-1} x``, is its inverse.
INVERSES: dict[str, str] = {
    "sin": "asin",
    "cos": "acos",
    "tan": "atan",
    "sinh": "asinh",
    "cosh": "acosh",
    "tanh": "atanh",
}

BUILTIN_NAMES: tuple[str, ...] = tuple(sorted(FUNCTIONS))


def function_names(declared: Iterable[str] = (), symbols: Iterable[str] = ()) -> tuple[str, ...]:
    """Every function name a part understands: built-ins, its own, and the aliases
    (``sigma``, ``ReLU``, ``H``...) that are not among its ``symbols``."""
    taken = set(symbols)
    aliases = {a for a in ALIASES if a not in taken}
    return tuple(sorted(set(BUILTIN_NAMES) | aliases | set(declared)))
