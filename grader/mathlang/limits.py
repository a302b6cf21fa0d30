"""Size limits of the math-language parser.

Every limit is checked as early as possible: the length before lexing, number
literals while lexing, nesting depth and power towers while parsing (an explicit
depth counter, never Python's recursion limit), node count and tree depth right
after parsing. A refusal is a :class:`~grader.mathlang.errors.LimitError` with a
position and a plain message, so the answer is reported ``invalid``.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.mathlang.errors import LimitError


@dataclass(frozen=True)
class Limits:
    """Bounds on what the parser accepts (all inclusive)."""

    # characters in the answer, refused before any other work
    max_length: int = 5000
    # nested groups, unary signs, exponents, fractions... while parsing
    max_depth: int = 60
    # nodes in the finished tree
    max_nodes: int = 2000
    # depth of the finished tree (a long sum is a deep left-leaning tree)
    max_tree_depth: int = 250
    # ``a^b^c`` nests 2 exponents; ``9^9^9^9`` (3) is refused
    max_power_nesting: int = 2
    # |exponent| when its value is known from literals: ``x^1001``, ``2^(10^4)``
    max_exponent: int = 1000
    # decimal digits of a power of literals: ``(10^30)^1000`` is refused
    max_power_digits: int = 2000
    # digits in a number literal (integer part, and fractional part)
    max_number_digits: int = 30
    # |e| in a literal such as ``1e-300``
    max_decimal_exponent: int = 300
    # rows and columns of one \begin{bmatrix} .. \end{bmatrix}
    max_matrix_rows: int = 64
    max_matrix_cols: int = 64


DEFAULT_LIMITS = Limits()


def check_length(text: str, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse an answer longer than ``limits.max_length`` characters, before lexing."""
    if len(text) > limits.max_length:
        raise LimitError(
            f"answer too long: {len(text)} characters (the limit is {limits.max_length})",
            text,
            limits.max_length,
            hint="give only the final formula",
        )
