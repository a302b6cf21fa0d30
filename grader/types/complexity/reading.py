"""Reading formula trees as sums of growth terms (:class:`Poly` over a :class:`Space`).

:class:`TermReader` turns a complexity answer into terms and the bounds around them
(`Theta`, `O`, `Omega`); :class:`ExactReader` reads constants and logarithms exactly.
Which term dominates which is decided in :mod:`grader.types.complexity.dominance`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cache

import sympy

from grader.core.verdict import CheckUndecided
from grader.mathlang import ast
from grader.mathlang.errors import EvalError
from grader.types.complexity.constants import ONE_REAL, Real
from grader.types.complexity.dominance import MAX_TERMS, ONE, ZERO, Dominance, Monomial, Poly, Space

BOUNDS = ("Theta", "O", "Omega")
PRODUCTS = ("implicit", "star", "cdot", "times", "dot")
MAX_EXPANDED_POWER = 64
DOUBLE_EXPONENTIAL = "an exponential inside an exponent (double exponential) is not supported"
PRUNE_AT = 24  # a product of positive sums longer than this keeps only its dominant terms
_NAMED_CONSTANTS = {"pi": Fraction(355, 113), "e": Fraction(193, 71)}  # representative only


@dataclass
class Reading:
    """What :class:`TermReader` found: the sum, and the bounds it was wrapped in."""

    poly: Poly
    bounds: list[tuple[str, int]]


class TermReader:
    """Turns a formula tree into a :class:`Poly` over a :class:`Space`.

    Unknown names and constructs that are not part of a complexity are
    :class:`grader.mathlang.errors.EvalError` (the answer is unreadable, with a caret);
    constructs outside the term algebra (``2^n``, ``log log n``) are
    :class:`grader.core.verdict.CheckUndecided`.
    """

    def __init__(self, space: Space, text: str | None = None, plain_log_base: Real = ONE_REAL):
        self.space = space
        self.text = text
        self.bounds: list[tuple[str, int]] = []
        self.plain_log_base = plain_log_base  # ln of the base a bare ``log`` has in an exponent
        self.plain_log_seen = False  # a bare log was read where its base matters

    def read(self, node: ast.Node) -> Reading:
        self.bounds = []
        poly = self.poly(node)
        # 2^{log n} is n for log_2 but n^{0.69} for ln: decided only when both bases agree.
        if self.plain_log_seen and self.plain_log_base == ONE_REAL:
            other = TermReader(self.space, self.text, Real.log(Fraction(2))).read(node).poly
            try:
                same = self.space.classify(poly) == self.space.classify(other)
            except CheckUndecided:
                same = False
            if not same:
                raise CheckUndecided(
                    "the class depends on the base of a log in an exponent; write log_2, ln or log_b"
                )
        return Reading(poly, list(self.bounds))

    def exact(self) -> ExactReader:
        return ExactReader(self)

    def error(self, message: str, node: ast.Node) -> EvalError:
        return EvalError(message, self.text, node.pos if self.text is not None else None)

    def poly(self, node: ast.Node) -> Poly:
        if isinstance(node, ast.Num):
            return self.space.constant(node.value)
        if isinstance(node, ast.Const) and node.name in _NAMED_CONSTANTS:
            return self.space.constant(_NAMED_CONSTANTS[node.name], exact=False)
        if isinstance(node, ast.Sym):
            return self.symbol(node.name, node)
        if isinstance(node, ast.Neg):
            return -self.poly(node.operand)
        if isinstance(node, ast.BinOp):
            return self.binop(node)
        if isinstance(node, ast.Call):
            return self.call(node.name, node.args, node)
        raise self.error(f"{_describe(node)} has no place in a complexity", node)

    def binop(self, node: ast.BinOp) -> Poly:
        op, left, right = node.op, node.left, node.right
        if op in PRODUCTS:
            return self.product(_factors(node))
        if op == "+":
            return self.poly(left) + self.poly(right)
        if op == "-":
            return self.poly(left) - self.poly(right)
        if op == "/":
            return self.divide(self.poly(left), self.poly(right), right)
        if op == "^":
            return self.raised(left, right)
        raise self.error(f"{_describe(node)} has no place in a complexity", node)

    def product(self, factors: list[ast.Node]) -> Poly:
        """A product chain; a bare ``log`` (``n log n``, ``\\log^2 n``, ``\\log_2 n``, ``lg n``,
        ``log log n``) or bound name (``theta(n)``) applies to the factor right after it, as in LaTeX."""
        result = self.space.constant(ONE)
        i = 0
        while i < len(factors):
            value, i = self.factor_at(factors, i)
            result = self.pruned(result * value)
        return result

    def pruned(self, poly: Poly) -> Poly:
        """A long sum of positive terms cut to its dominant terms: the class of a product
        is that of the products of the factors' dominant terms, so big products of powers
        (``(n + m + d)^{10} (n log n + m log m + d log d)^{10}``) stay small."""
        if len(poly) <= PRUNE_AT or any(c < 0 for _, c in poly.terms):
            return poly
        kept = self.space.essential([m for m, _ in poly.terms])
        return Poly.build(((m, ONE) for m in kept), exact=False)

    def factor_at(self, factors: list[ast.Node], i: int) -> tuple[Poly, int]:
        """The value of the factor at ``i``, with what a prefix operator there applies to,
        and the index of the next factor."""
        factor = factors[i]
        operator = self.prefix_operator(factor)
        if operator is None:
            return self.poly(factor), i + 1
        if i + 1 == len(factors):
            raise self.error(f"{operator[0]} needs an argument", factor)
        name, exponent = operator
        if name in BOUNDS:
            self.bounds.append((name, factor.pos))
            return self.poly(factors[i + 1]), i + 2
        if name == "sqrt":
            argument, after = self.factor_at(factors, i + 1)
            return self.power(argument, Fraction(1, 2), factor), after
        if self.prefix_operator(factors[i + 1]) is None:
            logged, after = self.log_of(factors[i + 1]), i + 2
        else:  # log log n
            argument, after = self.factor_at(factors, i + 1)
            logged = self.log(argument)
        return self.power(logged, exponent, factor), after

    def prefix_operator(self, node: ast.Node) -> tuple[str, Fraction] | None:
        """(``log`` or a bound, exponent) when ``node`` is a bare log/bound name, maybe ``^k``."""
        exponent = ONE
        if isinstance(node, ast.BinOp) and node.op == "^" and isinstance(node.left, ast.Sym):
            if _prefix_name(node.left.name, self.space.symbols) != "log":
                return None
            exponent = self.exponent(node.right)
            node = node.left
        if not isinstance(node, ast.Sym):
            return None
        name = _prefix_name(node.name, self.space.symbols)
        return None if name is None else (name, exponent)

    def symbol(self, name: str, node: ast.Node) -> Poly:
        if name in self.space.symbols:
            return self.space.symbol(name)
        if name == "e":  # not a symbol of the part: Euler's number, as in (n/e)^n
            return self.space.constant(_NAMED_CONSTANTS["e"], exact=False)
        if _prefix_name(name, self.space.symbols):
            raise self.error(f"{name} needs an argument", node)
        pieces = _split_name(name, self.space.symbols)
        if pieces is None:
            declared = ", ".join(self.space.symbols) or "none"
            raise self.error(f"unknown symbol {name!r}: the symbols of this part are {declared}", node)
        result = self.space.constant(ONE)
        for piece in pieces:
            result = result * self.space.symbol(piece)
        return result

    def raised(self, base: ast.Node, exponent: ast.Node) -> Poly:
        """``base^exponent``: a rational exponent as before; an irrational one (``log_2 3``) or
        one that grows (``2^n``, ``n^{1/log n}``, ``4^{log_2 n}``) through the exact log of the
        power, whose normal form folds back to rational powers where it can (``n^2``)."""
        try:
            rational = self.exponent(exponent)
        except CheckUndecided:
            rational = None
        if rational is not None:
            return self.power(self.poly(base), rational, base)
        value = self.exact().value(exponent)
        constant = _constant_of(value)
        if constant is not None and constant.rational is not None:
            return self.power(self.poly(base), constant.rational, base)
        if constant is not None:
            return self.irrational_power(self.poly(base), constant)
        monomial, coefficient = self.growing_power_base(base, value)
        log_base = self.exact().log_of_term(monomial, coefficient)
        return self.space.term(self.space.from_log(_lmul(value, log_base)), ONE, exact=False)

    def growing_power_base(self, base: ast.Node, exponent: LogValue) -> tuple[Monomial, Real]:
        """The term of ``base`` whose power to a growing ``exponent`` has the class of the whole:
        the base itself when it is one term (exact constants kept: ``(n/e)^n`` is not ``n^n``);
        for a sum ``A + B``, its dominant term ``A`` when ``exponent * B/A`` stays bounded, since
        ``(A + B)^g = A^g (1 + B/A)^g`` and the last factor lies between two positive constants
        (``(n + 1)^n`` and ``(n - 1)^n`` are Θ(n^n)); anything else is undecided."""
        refusal = CheckUndecided(
            "a sum (or a number that is not positive) raised to a power that grows is not "
            "supported; write the dominant term, or an exponential of one term"
        )
        try:
            exact = self.exact().value(base)
        except CheckUndecided:
            raise refusal from None
        terms = [(m, c) for m, c in exact.items() if c.sign() != 0]
        if len(terms) == 1:
            if terms[0][1].sign() <= 0:
                raise refusal
            return terms[0]
        signs = Poly.build(((m, Fraction(c.sign())) for m, c in terms), exact=True)
        leading = self.space.classify(signs, "the base of a power")
        if len(leading) != 1 or leading[0] not in exact or exact[leading[0]].sign() <= 0:
            raise refusal
        dominant = leading[0]
        share = self.exact().inverse({dominant: exact[dominant]})
        for monomial, coefficient in terms:
            if monomial == dominant:
                continue
            ratio = _lmul(_lmul({monomial: coefficient}, share), exponent)
            if not all(m == self.space.zero or self.space.dominated_by(m, [self.space.zero]) for m in ratio):
                raise refusal
        return dominant, exact[dominant]

    def irrational_power(self, base: Poly, exponent: Real) -> Poly:
        fixed = base.constant_value()
        if fixed is not None:
            if fixed <= 0:
                raise CheckUndecided("a number that is not positive to an irrational power")
            return self.space.constant(ONE, exact=False)
        leading = self.space.classify(base, "the base of a power")
        if exponent.sign() < 0 and len(leading) > 1:
            raise CheckUndecided(
                f"1/({self.space.show_sum(leading)}) is not a sum of terms; write the dominant term instead"
            )
        exact = self.exact()
        return Poly.build(
            ((self.space.from_log(_lscale(exact.log_of_term(m, ONE_REAL), exponent)), ONE) for m in leading),
            exact=False,
        )

    def exponent(self, node: ast.Node) -> Fraction:
        value = self.poly(node)
        constant = value.constant_value()
        if constant is None:
            raise CheckUndecided(
                "an exponent that depends on the symbols (exponential growth) is not supported"
            )
        if not value.exact:
            raise CheckUndecided("an irrational exponent is not supported")
        return constant

    def power(self, base: Poly, exponent: Fraction, node: ast.Node) -> Poly:
        if exponent == 0:
            return self.space.constant(ONE)
        if len(base) == 0:
            if exponent < 0:
                raise self.error("division by zero", node)
            return base
        if len(base) == 1:
            monomial, coefficient = base.terms[0]
            value = _rational_power(coefficient, exponent)
            if value is None and coefficient < 0:
                raise CheckUndecided(f"a negative number to the power {exponent} is not real")
            exact = base.exact and value is not None
            return self.space.term(monomial**exponent, value if value is not None else ONE, exact)
        if exponent.denominator == 1 and 0 < exponent <= MAX_EXPANDED_POWER:
            expanded = _integer_power(base, int(exponent), self.space.constant(ONE), self.pruned)
            if expanded is not None:
                return expanded
        leading = self.space.classify(base, "the base of a power")
        if exponent < 0 and len(leading) > 1:
            raise CheckUndecided(
                f"1/({self.space.show_sum(leading)}) is not a sum of terms; write the dominant term instead"
            )
        return Poly.build(((m**exponent, ONE) for m in leading), exact=False)

    def divide(self, numerator: Poly, denominator: Poly, node: ast.Node) -> Poly:
        if len(denominator) == 0:
            raise self.error("division by zero", node)
        if len(denominator) == 1:
            return numerator * self.power(denominator, Fraction(-1), node)
        leading = self.space.classify(denominator, "a denominator")
        if len(leading) > 1:
            raise CheckUndecided(f"dividing by {self.space.show_sum(leading)} does not give a sum of terms")
        return numerator * self.space.term(leading[0] ** Fraction(-1), ONE, exact=False)

    def call(self, name: str, args: tuple[ast.Node, ...], node: ast.Node) -> Poly:
        if name in BOUNDS:
            if len(args) != 1:
                raise self.error(f"{name}(...) takes one expression", node)
            self.bounds.append((name, node.pos))
            return self.poly(args[0])
        if name == "sqrt" and len(args) == 1:
            return self.power(self.poly(args[0]), Fraction(1, 2), node)
        if name == "root" and len(args) == 2:
            return self.power(self.poly(args[0]), 1 / self.exponent(args[1]), node)
        if name in ("log", "ln", "lg", "log2") and len(args) in (1, 2):
            return self.log_of(args[0])
        if name in ("max", "min") and len(args) >= 1:
            return self.extremum(name, [self.poly(a) for a in args])
        if name in ("abs", "floor", "ceil") and len(args) == 1:
            return self.rounded(name, self.poly(args[0]))
        if name == "exp" and len(args) == 1:
            return self.space.term(self.space.from_log(self.exact().value(args[0])), ONE, exact=False)
        raise self.error(f"function {name!r} has no place in a complexity", node)

    def log_of(self, node: ast.Node) -> Poly:
        """``log`` of a formula; ``log(a^b) = b log a`` also where ``b`` grows (``log(n^n)``)."""
        if isinstance(node, ast.BinOp) and node.op == "^":
            exponent = self.poly(node.right)
            if exponent.constant_value() is None:
                return exponent * self.log(self.poly(node.left))
        return self.log(self.poly(node))

    def log(self, argument: Poly) -> Poly:
        constant = argument.constant_value()
        if constant is not None:
            if constant <= 0:
                raise CheckUndecided("log of a constant that is not positive")
            sign = ZERO if constant == 1 else (ONE if constant > 1 else -ONE)
            return self.space.constant(sign, exact=constant == 1)
        leading = self.space.classify(argument, "the argument of log")
        if any(m.growth for m in leading):
            return self.log_of_growth(leading)
        if any(p < 0 for m in leading for p in m.powers):
            raise CheckUndecided(f"log({self.space.show_sum(leading)}) has no definite sign")
        support = [j for j in range(len(self.space.symbols)) if any(m.powers[j] > 0 for m in leading)]
        if not support:
            return self.iterated_log(argument, leading)
        single = len(argument) == 1 and argument.exact and argument.terms[0][1] == 1
        if single and not any(argument.terms[0][0].logs) and not any(argument.terms[0][0].loglogs):
            powers = argument.terms[0][0].powers
            return Poly.build(((self.space.log_monomial(j), powers[j]) for j in support), exact=True)
        return Poly.build(((self.space.log_monomial(j), ONE) for j in support), exact=False)

    def log_of_growth(self, leading: tuple[Monomial, ...]) -> Poly:
        """``log`` of a term with an exponential part: its exact log, read as a class."""
        if len(leading) > 1:
            raise CheckUndecided(f"log({self.space.show_sum(leading)}) of several exponential terms")
        value = self.exact().log_of_term(leading[0], ONE_REAL)
        terms = [(m, Fraction(c.sign())) for m, c in value.items() if not m.is_constant]
        return Poly.build(terms, exact=False)

    def iterated_log(self, argument: Poly, leading: tuple[Monomial, ...]) -> Poly:
        """``log`` of a sum of log factors (``log log n``, ``log(log^2 n + log m)``)."""
        symbols = range(len(self.space.symbols))
        if any(any(m.loglogs) or any(p < 0 for p in m.logs) for m in leading):
            raise CheckUndecided("logarithms iterated three times (log log log n) are not supported")
        support = [j for j in symbols if any(m.logs[j] > 0 for m in leading)]
        single = len(argument) == 1 and argument.exact and argument.terms[0][1] == 1
        if single:
            logs = argument.terms[0][0].logs
            return Poly.build(((self.space.loglog_monomial(j), logs[j]) for j in support), exact=True)
        return Poly.build(((self.space.loglog_monomial(j), ONE) for j in support), exact=False)

    def extremum(self, name: str, values: list[Poly]) -> Poly:
        classes = [self.space.classify(v, f"an argument of {name}") for v in values]
        if name == "max":
            return Poly.build(((m, ONE) for leading in classes for m in leading), exact=False)
        for candidate in classes:  # min: the argument every other one dominates
            if all(all(self.space.dominated_by(m, other) for m in candidate) for other in classes):
                return Poly.build(((m, ONE) for m in candidate), exact=False)
        raise CheckUndecided("min(...) of arguments that are not comparable is not a sum of terms")

    def rounded(self, name: str, argument: Poly) -> Poly:
        constant = argument.constant_value()
        if constant is not None and argument.exact:
            if name == "abs":
                return self.space.constant(abs(constant))
            return self.space.constant(
                Fraction(math.floor(constant) if name == "floor" else math.ceil(constant))
            )
        leading = self.space.classify(argument, f"the argument of {name}")
        if name != "abs" and self.space.dominance(self.space.zero, list(leading)) is not Dominance.STRICT:
            raise CheckUndecided(f"{name} of a quantity that does not grow is not supported")
        return argument if name == "abs" else argument.inexact()


def _integer_power(base: Poly, exponent: int, one: Poly, pruned: Callable[[Poly], Poly]) -> Poly | None:
    """``base ** exponent`` expanded, or None when it would be too large. A sum of positive
    terms is expanded only while short: past that, its power's class is the sum of its dominant
    terms' powers, which the caller takes."""
    size = math.comb(len(base) + exponent - 1, exponent)
    if size > MAX_TERMS or (size > PRUNE_AT and all(c > 0 for _, c in base.terms)):
        return None
    result = one
    for _ in range(exponent):  # one factor at a time keeps every product small
        result = pruned(result * base)
    return result


def _rational_power(value: Fraction, exponent: Fraction) -> Fraction | None:
    """``value ** exponent`` when it is rational, else None."""
    if exponent.denominator == 1:
        if value == 0 and exponent < 0:
            return None
        return value ** int(exponent)
    if value < 0:
        return None
    root = exponent.denominator
    numerator, denominator = _exact_root(value.numerator, root), _exact_root(value.denominator, root)
    if numerator is None or denominator is None:
        return None
    return Fraction(numerator, denominator) ** exponent.numerator


def _exact_root(value: int, degree: int) -> int | None:
    if value.bit_length() > 4096:
        return None
    guess = round(value ** (1 / degree)) if value < 2**1000 else math.isqrt(value) if degree == 2 else None
    if guess is None:
        return None
    for candidate in (guess - 1, guess, guess + 1):
        if candidate >= 0 and candidate**degree == value:
            return candidate
    return None


def _split_name(name: str, symbols: Sequence[str]) -> list[str] | None:
    """``nmd`` -> [n, m, d] when every piece is a declared symbol (longest names first)."""
    if not name or not symbols:
        return None
    ordered = sorted(symbols, key=len, reverse=True)

    @cache
    def split(start: int) -> tuple[str, ...] | None:
        if start == len(name):
            return ()
        for symbol in ordered:
            if name.startswith(symbol, start):
                rest = split(start + len(symbol))
                if rest is not None:
                    return (symbol, *rest)
        return None

    found = split(0)
    return None if found is None or len(found) < 2 else list(found)


def _factors(node: ast.Node) -> list[ast.Node]:
    """The operands of a chain of scalar products, left to right."""
    if isinstance(node, ast.BinOp) and node.op in PRODUCTS:
        return _factors(node.left) + _factors(node.right)
    return [node]


_BOUND_NAMES = {"Theta": "Theta", "theta": "Theta", "O": "O", "Omega": "Omega"}


def _prefix_name(name: str, symbols: Sequence[str]) -> str | None:
    """``log`` for log-like names (log, ln, lg, log2, log_2, log_b), the bound for bound names."""
    if name in symbols:
        return None
    if name in ("log", "ln", "lg", "log2") or name.startswith("log_"):
        return "log"
    if name == "sqrt":
        return "sqrt"
    return _BOUND_NAMES.get(name)


def _describe(node: ast.Node) -> str:
    names = {
        "Relation": "a comparison",
        "Logic": "a logical connective",
        "TupleLit": "a tuple",
        "ListLit": "a list",
        "Matrix": "a matrix",
        "Transpose": "a transpose",
        "Index": "an index",
        "Const": "this constant",
        "Piecewise": "a piecewise expression",
        "Space": "a space",
        "Member": "a membership",
        "Prime": "a prime",
    }
    return names.get(type(node).__name__, f"a {type(node).__name__}")


# -- exact values of exponents ---------------------------------------------------

# The exact log of a growth rate: inner monomials (``n``, ``log n``, ``log log n``) with
# exact coefficients; the constant monomial holds the constant.
LogValue = dict[Monomial, Real]


def _lclean(value: LogValue) -> LogValue:
    return {m: c for m, c in value.items() if not c.is_zero}


def _ladd(a: LogValue, b: LogValue) -> LogValue:
    total = dict(a)
    for m, c in b.items():
        total[m] = total[m] + c if m in total else c
    return _lclean(total)


def _lscale(a: LogValue, factor: Real) -> LogValue:
    return _lclean({m: c * factor for m, c in a.items()})


def _lmul(a: LogValue, b: LogValue) -> LogValue:
    total: LogValue = {}
    for m1, c1 in a.items():
        for m2, c2 in b.items():
            m, c = m1 * m2, c1 * c2
            total[m] = total[m] + c if m in total else c
    return _lclean(total)


def _constant_of(value: LogValue) -> Real | None:
    """The value when it is a constant, else None."""
    if all(m.is_constant for m in value):
        return next(iter(value.values()), Real(ZERO))
    return None


def _log_base(name: str) -> Real | None:
    """``ln`` of the base a log name states (``log_2``, ``lg``, ``ln``); None for a bare ``log``."""
    if name in ("ln", "log_e"):
        return ONE_REAL
    if name in ("lg", "log2"):
        return Real.log(Fraction(2))
    if name.startswith("log_") and name[4:].isdigit() and int(name[4:]) > 1:
        return Real.log(Fraction(int(name[4:])))
    if name == "log":
        return None
    raise CheckUndecided(f"the base of {name} is not a number; in an exponent the base matters")


def _named_constant(node: ast.Node, symbols: Sequence[str]) -> sympy.Expr | None:
    """``\\mathrm{e}``, ``\\pi``, and a bare ``e`` that is not a symbol of the part (``(n/e)^n``)."""
    if isinstance(node, ast.Const) and node.name in ("e", "pi"):
        return sympy.E if node.name == "e" else sympy.pi
    if isinstance(node, ast.Sym) and node.name == "e" and "e" not in symbols:
        return sympy.E
    return None


class ExactReader:
    """The exact value of an exponent, as a :data:`LogValue` (``log_2 n`` is
    ``(1 / log 2) log n``); anything whose value is only known up to its class (a log
    of a sum, a max) is :class:`CheckUndecided` here, since an exponent's constants count."""

    def __init__(self, reader: TermReader):
        self.reader = reader
        self.space = reader.space

    def constant(self, value: Real) -> LogValue:
        return _lclean({self.space.zero: value})

    def value(self, node: ast.Node) -> LogValue:
        if isinstance(node, ast.Num):
            return self.constant(Real(node.value))
        named = _named_constant(node, self.space.symbols)
        if named is not None:
            return self.constant(Real.of(named))
        if isinstance(node, ast.Sym):
            return self.from_poly(self.reader.symbol(node.name, node))
        if isinstance(node, ast.Neg):
            return _lscale(self.value(node.operand), Real(-ONE))
        if isinstance(node, ast.BinOp):
            if node.op in PRODUCTS:
                return self.product(_factors(node))
            if node.op in ("+", "-"):
                right = self.value(node.right)
                return _ladd(self.value(node.left), right if node.op == "+" else _lscale(right, Real(-ONE)))
            if node.op == "/":
                return _lmul(self.value(node.left), self.inverse(self.value(node.right)))
            if node.op == "^":
                return self.power(self.value(node.left), self.value(node.right))
        if isinstance(node, ast.Call):
            return self.call(node)
        raise CheckUndecided(f"{_describe(node)} in an exponent is not supported")

    def from_poly(self, poly: Poly) -> LogValue:
        if not poly.exact:
            raise CheckUndecided("an exponent known only up to its class (its constants count)")
        return _lclean({m: Real(c) for m, c in poly.terms})

    def product(self, factors: list[ast.Node]) -> LogValue:
        result = self.constant(ONE_REAL)
        i = 0
        while i < len(factors):
            value, i = self.factor_at(factors, i)
            result = _lmul(result, value)
        return result

    def factor_at(self, factors: list[ast.Node], i: int) -> tuple[LogValue, int]:
        """The factor at ``i`` with what a prefix operator there (``log_2 n``, ``sqrt n``,
        ``log log n``) applies to, and the index after it."""
        factor = factors[i]
        operator = self.reader.prefix_operator(factor)
        if operator is None:
            return self.value(factor), i + 1
        name, exponent = operator
        if name in BOUNDS:
            raise CheckUndecided(f"{name}(...) inside an exponent is not supported")
        if i + 1 == len(factors):
            raise self.reader.error(f"{name} needs an argument", factor)
        argument, after = self.factor_at(factors, i + 1)
        if name == "sqrt":
            return self.power(argument, self.constant(Real(Fraction(1, 2)))), after
        head = factor.left if isinstance(factor, ast.BinOp) else factor
        assert isinstance(head, ast.Sym)
        logged = self.log(argument, _log_base(head.name))
        return self.power(logged, self.constant(Real(exponent))), after

    def call(self, node: ast.Call) -> LogValue:
        name, args = node.name, node.args
        if name in ("log", "ln", "lg", "log2") and len(args) in (1, 2):
            if len(args) == 2:
                base = _constant_of(self.value(args[1]))
                if base is None or base.sign() <= 0:
                    raise CheckUndecided("the base of a log in an exponent must be a positive number")
                return self.log(self.value(args[0]), self.log_constant(base))
            return self.log(self.value(args[0]), _log_base(self.written_name(node)))
        if name.startswith("log_") and len(args) == 1:
            return self.log(self.value(args[0]), _log_base(name))
        if name == "sqrt" and len(args) == 1:
            return self.power(self.value(args[0]), self.constant(Real(Fraction(1, 2))))
        if name == "exp" and len(args) == 1:
            inner = self.value(args[0])
            monomial = self.space.from_log(inner)
            if monomial.growth:
                raise CheckUndecided(
                    "an exponential inside an exponent (double exponential) is not supported"
                )
            constant = inner.get(self.space.zero, Real(ZERO))
            return {monomial: Real.of(sympy.exp(constant.expr()))}
        raise CheckUndecided(f"{name}(...) in an exponent is not supported")

    def written_name(self, node: ast.Call) -> str:
        """``ln`` where the text says ``\\ln`` (the math language reads it as ``log``)."""
        text = self.reader.text
        if node.name == "log" and text is not None and text.startswith(("\\ln", "ln"), node.pos):
            return "ln"
        return node.name

    def log_constant(self, value: Real) -> Real:
        if value.rational is not None:
            return Real.log(value.rational)
        return Real.of(sympy.expand_log(sympy.log(value.expr()), force=True))

    def log(self, argument: LogValue, base: Real | None) -> LogValue:
        if base is None:
            self.reader.plain_log_seen = True
            base = self.reader.plain_log_base
        if len(argument) != 1:
            raise CheckUndecided("the log of a sum in an exponent is known only up to its class")
        ((monomial, coefficient),) = argument.items()
        return _lscale(self.log_of_term(monomial, coefficient), base.inverse())

    def log_of_term(self, monomial: Monomial, coefficient: Real) -> LogValue:
        """``ln(coefficient * monomial)`` exactly."""
        if coefficient.sign() <= 0:
            raise CheckUndecided("the log of a quantity that is not positive")
        if any(monomial.loglogs):
            raise CheckUndecided("log log log factors in an exponent are not supported")
        value: LogValue = self.constant(self.log_constant(coefficient))
        for j in range(len(self.space.symbols)):
            if monomial.powers[j]:
                value = _ladd(value, {self.space.log_monomial(j): Real(monomial.powers[j])})
            if monomial.logs[j]:
                value = _ladd(value, {self.space.loglog_monomial(j): Real(monomial.logs[j])})
        return _ladd(value, dict(monomial.growth))

    def inverse(self, value: LogValue) -> LogValue:
        if len(value) != 1:
            raise CheckUndecided("division by a sum in an exponent is not supported")
        ((monomial, coefficient),) = value.items()
        if monomial.growth:
            raise CheckUndecided("an exponential inside an exponent is not supported")
        return {monomial ** Fraction(-1): coefficient.inverse()}

    def power(self, base: LogValue, exponent: LogValue) -> LogValue:
        constant = _constant_of(exponent)
        if constant is None or constant.rational is None:
            raise CheckUndecided(
                "a power inside an exponent must have a rational exponent "
                "(double exponential growth is not supported)"
            )
        q = constant.rational
        if q.denominator == 1 and 0 <= q <= 8 and len(base) > 1:
            result = self.constant(ONE_REAL)
            for _ in range(int(q)):
                result = _lmul(result, base)
            return result
        if not base:
            if q <= 0:
                raise CheckUndecided("division by zero in an exponent")
            return {}
        if len(base) != 1:
            raise CheckUndecided("a sum to a fractional power inside an exponent is not supported")
        ((monomial, coefficient),) = base.items()
        return {monomial**q: coefficient.power(q)}
