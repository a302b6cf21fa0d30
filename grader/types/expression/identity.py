"""Exact identities of scalar formulas: rational functions over atoms (python-flint).

A formula is read as a rational function with rational coefficients whose variables
are its *atoms*: symbols, ``pi``, ``e``, and every sub-formula the four operations
and integer powers do not reach (``sin(u)``, ``sqrt(u)``, ``b^t``, a call of a
declared function), an atom keyed by its name and the reduced forms of its
arguments. Two formulas whose difference is the zero rational function are equal
wherever both are defined, whatever the atoms' values: a proof (``x^2 - 2x + 1``
against ``(x - 1)^2``, ``(a - x)^6000`` against ``(x - a)^6000``, a formula written
twice in other notation).

It never identifies two atoms that are only equal in value (``cos(-x)``, ``cos x``),
so it proves less than sympy, but it is fast and exact. An answer is proved equal
only where it is defined wherever the reference is: its atoms are atoms of the
reference and every factor of a denominator it divides by divides one of the
reference's (``x^2/x`` is not ``x``, whose value at 0 it lacks).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from math import comb, lcm

from flint import fmpq, fmpq_mpoly, fmpq_mpoly_ctx

from grader.mathlang import ast
from grader.mathlang.balls import UNARY, _rational
from grader.mathlang.names import SPELLINGS
from grader.mathlang.values import FunctionDef

MAX_ATOMS = 24  # variables of the polynomial ring
MAX_EXPONENT = 8192  # an integer power expanded at most to this
MAX_TERMS = 8000  # terms a power may expand to (estimated before expanding)
MAX_NODES = 400  # formula nodes read, per side
MAX_EXP_POWER = 64  # exp(c m) read as a power of exp(m / D) up to this power
# Built-ins read as atoms: scalar in, scalar out (array builtins such as ones(n) are refused).
SCALAR_BUILTINS = frozenset(UNARY) | {"max", "min", "log", "heaviside", "leaky_relu", "root", "mod", "round"}
# Built-ins read as rational functions of exponentials.
EXPONENTIAL_FORMS = frozenset({"sigmoid", "softplus", "tanh", "sinh", "cosh", "sech", "csch", "coth"})

# Even and odd functions (their argument's sign is made canonical), and the reciprocal
# trigonometric functions as quotients of sines and cosines (defined where those are not 0).
# (Every one of these has a value at every real number.)
PARITY = {"sin": "odd", "cos": "even", "sinh": "odd", "cosh": "even", "tanh": "odd", "atan": "odd"}
PARITY |= {"asinh": "odd", "abs": "even"}
RECIPROCAL_TRIG = {"tan": ("sin", "cos"), "cot": ("cos", "sin"), "sec": ("one", "cos"), "csc": ("one", "sin")}

_CONTEXT = fmpq_mpoly_ctx.get(tuple(f"a{i}" for i in range(MAX_ATOMS)), "lex")
_GENERATORS = _CONTEXT.gens()
_ONE = _CONTEXT.from_dict({}) + 1


class NotRational(Exception):
    """The formula has a part this reading does not cover (arrays, relations, cases)."""


@dataclass
class Fraction2:
    """A rational function ``num / den`` over the atoms (``den`` never the zero polynomial)."""

    num: fmpq_mpoly
    den: fmpq_mpoly

    def key(self) -> str:
        return f"{self.num}|{self.den}"


@dataclass
class Side:
    """What reading one formula met: its atoms that may have no value (calls, powers) and
    every polynomial it divided by."""

    atoms: set[int] = field(default_factory=set)
    divisors: list[fmpq_mpoly] = field(default_factory=list)


@dataclass
class Reader:
    """Reads formulas of one comparison into one ring (atoms are shared by both sides)."""

    functions: Mapping[str, FunctionDef]
    lets: Mapping[str, ast.Node]
    atoms: dict[str, int] = field(default_factory=dict)
    nodes: int = 0
    circle: dict[str, dict[str, fmpq_mpoly]] = field(default_factory=dict)  # sin and cos of each argument
    # Exponentials: exp(c m) is read as u^(c D) where u = exp(m / D), D the common denominator
    # of every coefficient of the monomial m met (found by a first reading, ``collecting``).
    scales: dict[str, int] = field(default_factory=dict)
    collecting: bool = False
    exponentials: int = 0

    def read(self, node: ast.Node) -> tuple[Fraction2, Side]:
        side = Side()
        self.nodes = 0
        return self._value(node, side, ()), side

    def _value(self, node: ast.Node, side: Side, inside: tuple[str, ...]) -> Fraction2:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise NotRational("too large a formula")
        match node:
            case ast.Num(value=v):
                return _constant(Fraction(v))
            case ast.Const(name="e"):
                return self._exp(_constant(Fraction(1)), side)
            case ast.Const(name="pi"):
                return self._atom("const pi", side, restricts=False)
            case ast.Sym(name=name):
                return self._symbol(name, side, inside)
            case ast.Neg(operand=operand):
                value = self._value(operand, side, inside)
                return Fraction2(-value.num, value.den)
            case ast.BinOp(op=op, left=left, right=right):
                return self._binop(op, left, right, side, inside)
            case ast.Call(name=name, args=args):
                return self._call(name, args, side, inside)
        raise NotRational(f"{type(node).__name__} is not read as a rational function")

    def _symbol(self, name: str, side: Side, inside: tuple[str, ...]) -> Fraction2:
        if name in self.lets and name not in inside:  # a let's body, read in place
            return self._value(self.lets[name], side, (*inside, name))
        return self._atom(f"sym {name}", side, restricts=False)

    def _binop(
        self, op: str, left: ast.Node, right: ast.Node, side: Side, inside: tuple[str, ...]
    ) -> Fraction2:
        if op == "^":
            return self._power(left, right, side, inside)
        a, b = self._value(left, side, inside), self._value(right, side, inside)
        if op == "+":
            return _reduced(a.num * b.den + b.num * a.den, a.den * b.den)
        if op == "-":
            return _reduced(a.num * b.den - b.num * a.den, a.den * b.den)
        if op == "/":
            return _divided(a, b, side, nonzero=self._positive(b.num))
        if op in ast.PRODUCT_KINDS:  # every value is a scalar here (arrays are refused)
            return _reduced(a.num * b.num, a.den * b.den)
        raise NotRational(f"operator {op}")

    def _power(
        self, base_node: ast.Node, exponent_node: ast.Node, side: Side, inside: tuple[str, ...]
    ) -> Fraction2:
        exponent = _rational(exponent_node)
        base = self._value(base_node, side, inside)
        if exponent is None or exponent.denominator != 1:
            power = self._value(exponent_node, side, inside)
            return self._atom(f"pow {base.key()} {power.key()}", side)
        k = exponent.numerator
        if abs(k) > MAX_EXPONENT or _power_terms(base, abs(k)) > MAX_TERMS:
            raise NotRational("too large a power to expand")
        if k >= 0:
            return Fraction2(base.num**k, base.den**k)
        if base.num.is_zero():
            raise NotRational("a power of zero")
        if not self._positive(base.num):
            side.divisors.append(base.num)
        return _reduced(base.den ** (-k), base.num ** (-k))

    def _call(self, name: str, args: tuple[ast.Node, ...], side: Side, inside: tuple[str, ...]) -> Fraction2:
        resolved = _resolved(name, self.functions)
        if resolved.startswith("builtin ") and resolved.removeprefix("builtin ") not in SCALAR_BUILTINS:
            raise NotRational(f"{name} is not read as a scalar function")
        builtin = resolved.removeprefix("builtin ")
        squared = _square_root_of_square(builtin, args)
        if squared is not None:  # sqrt(u^2) is |u|
            return self._trig("abs", self._value(squared, side, inside), side)
        values = [self._value(arg, side, inside) for arg in args]
        if len(values) == 2 and builtin == "log":  # log_b u is ln u / ln b
            ln_u, ln_b = (self._call("log", (arg,), side, inside) for arg in args)
            return _divided(ln_u, ln_b, side)
        if len(values) == 1 and builtin == "exp":
            return self._exp(values[0], side)
        if len(values) == 1 and builtin in EXPONENTIAL_FORMS:
            return self._exponential_form(builtin, values[0], side)
        if len(values) == 1 and builtin in RECIPROCAL_TRIG:
            top, bottom = RECIPROCAL_TRIG[builtin]
            return _divided(self._trig(top, values[0], side), self._trig(bottom, values[0], side), side)
        if len(values) == 1 and builtin in PARITY:
            return self._trig(builtin, values[0], side)
        # a logarithm or root of what is positive everywhere (1 + e^x) has a value everywhere
        positive = builtin in ("log", "sqrt") and len(values) == 1 and self._positive_fraction(values[0])
        return self._atom(f"{resolved}({' '.join(value.key() for value in values)})", side, not positive)

    def _trig(self, name: str, argument: Fraction2, side: Side) -> Fraction2:
        """``name(argument)`` with the argument's sign made canonical where the function is
        even or odd (``cos(-x)`` is ``cos(x)``, ``sin(-x)`` is ``-sin(x)``); 1 for ``one``."""
        if name == "one":
            return _constant(Fraction(1))
        flipped = not argument.num.is_zero() and argument.num.leading_coefficient() < 0
        if flipped:
            argument = Fraction2(-argument.num, argument.den)
        value = self._atom(f"builtin {name}({argument.key()})", side, restricts=False)
        if name in ("sin", "cos"):
            self.circle.setdefault(argument.key(), {})[name] = value.num
        if flipped and PARITY[name] == "odd":
            return Fraction2(-value.num, value.den)
        return value

    def _exp(self, argument: Fraction2, side: Side) -> Fraction2:
        """``exp(argument)``: for a polynomial argument ``sum c m``, the product of the powers
        ``exp(m / D)^(c D)`` (so ``e^{2x}`` is ``e^x`` squared and ``e^{x+y}`` is a product);
        else an atom of its own."""
        self.exponentials += 1
        if argument.den.total_degree() > 0:
            return self._atom(f"builtin exp({argument.key()})", side, restricts=False)
        den = Fraction(str(argument.den.leading_coefficient()))
        names = {index: key for key, index in self.atoms.items()}
        num, den_poly = _ONE, _ONE
        for exponents, coefficient in argument.num.to_dict().items():
            c = Fraction(str(coefficient)) / den
            mono = "*".join(f"({names[i]})^{e}" for i, e in enumerate(exponents) if e) or "1"
            if self.collecting:
                self.scales[mono] = lcm(self.scales.get(mono, 1), c.denominator)
                continue
            scale = self.scales.get(mono)
            if scale is None or (c * scale).denominator != 1 or abs(c * scale) > MAX_EXP_POWER:
                raise NotRational("an exponential not read as a power")
            k = int(c * scale)
            base = self._atom(f"exp {mono}/{scale}", side, restricts=False).num
            if k > 0:
                num = num * base**k
            elif k < 0:
                den_poly = den_poly * base ** (-k)
        if self.collecting:
            return self._atom(f"builtin exp({argument.key()})", side, restricts=False)
        return _reduced(num, den_poly)

    def _positive(self, polynomial: fmpq_mpoly) -> bool:
        """Positive wherever it has a value: positive coefficients of powers of exponentials
        (``1 + e^{-x}``), so never a divisor that is 0."""
        if polynomial.is_zero():
            return False
        exponential = {index for key, index in self.atoms.items() if key.startswith("exp ")}
        for exponents, coefficient in polynomial.to_dict().items():
            if not coefficient > 0 or any(e and i not in exponential for i, e in enumerate(exponents)):
                return False
        return True

    def _positive_fraction(self, value: Fraction2) -> bool:
        return self._positive(value.num) and self._positive(value.den)

    def _exponential_form(self, name: str, u: Fraction2, side: Side) -> Fraction2:
        """The sigmoid, tanh, sinh, cosh (and their reciprocals) and softplus as rational
        functions of ``t = exp(u)`` (or ``exp(2u)``, ``exp(-u)``)."""
        one = _constant(Fraction(1))
        if name == "sigmoid":  # 1 / (1 + exp(-u))
            return _divided(one, _plus(one, self._exp(Fraction2(-u.num, u.den), side)), side, nonzero=True)
        if name == "softplus":  # log(1 + exp(u)), an atom of the log
            inner = _plus(one, self._exp(u, side))
            return self._atom(f"builtin log({inner.key()})", side, restricts=False)
        if name == "tanh":  # (exp(2u) - 1) / (exp(2u) + 1)
            t = self._exp(Fraction2(2 * u.num, u.den), side)
            return _divided(_plus(t, _constant(Fraction(-1))), _plus(t, one), side, nonzero=True)
        t, inverse = self._exp(u, side), self._exp(Fraction2(-u.num, u.den), side)
        plus, minus = _plus(t, inverse), _plus(t, Fraction2(-inverse.num, inverse.den))
        half = _constant(Fraction(1, 2))
        forms = {
            "sinh": lambda: _times(half, minus),
            "cosh": lambda: _times(half, plus),
            "sech": lambda: _divided(_constant(Fraction(2)), plus, side, nonzero=True),
            "csch": lambda: _divided(_constant(Fraction(2)), minus, side),
            "coth": lambda: _divided(plus, minus, side),
        }
        return forms[name]()

    def on_circle(self, polynomial: fmpq_mpoly) -> fmpq_mpoly:
        """The polynomial reduced by sin(u)^2 + cos(u)^2 = 1 for each argument u met with both
        (one normal form: the relations' leading monomials are coprime, a Groebner basis)."""
        for pair in self.circle.values():
            if "sin" in pair and "cos" in pair:
                _, polynomial = divmod(polynomial, pair["sin"] ** 2 + pair["cos"] ** 2 - 1)
        return polynomial

    def _atom(self, key: str, side: Side, restricts: bool = True) -> Fraction2:
        """The atom's variable; one that may have no value (``log(u)``, not ``x``) is noted."""
        index = self.atoms.get(key)
        if index is None:
            if len(self.atoms) >= MAX_ATOMS:
                raise NotRational("too many atoms")
            index = self.atoms[key] = len(self.atoms)
        if restricts:
            side.atoms.add(index)
        return Fraction2(_GENERATORS[index], _ONE)


def _constant(value: Fraction) -> Fraction2:
    one = _ONE
    return Fraction2(one * fmpq(value.numerator, value.denominator), one)


def _divided(a: Fraction2, b: Fraction2, side: Side, nonzero: bool = False) -> Fraction2:
    """``a / b``; ``b``'s numerator is noted as a divisor (where the formula has no value)
    unless it is ``nonzero`` everywhere (``1 + e^{-x}``)."""
    if b.num.is_zero():
        raise NotRational("a division by zero")
    if not nonzero:
        side.divisors.append(b.num)
    return _reduced(a.num * b.den, a.den * b.num)


def _plus(a: Fraction2, b: Fraction2) -> Fraction2:
    return _reduced(a.num * b.den + b.num * a.den, a.den * b.den)


def _times(a: Fraction2, b: Fraction2) -> Fraction2:
    return _reduced(a.num * b.num, a.den * b.den)


def _square_root_of_square(builtin: str, args: tuple[ast.Node, ...]) -> ast.Node | None:
    """``u`` when the call is ``sqrt(u^2)``."""
    if builtin != "sqrt" or len(args) != 1:
        return None
    match args[0]:
        case ast.BinOp(op="^", left=base, right=ast.Num(value=two)) if two == 2:
            return base
    return None


def _reduced(num: fmpq_mpoly, den: fmpq_mpoly) -> Fraction2:
    """In lowest terms, the denominator's leading coefficient 1 (one form per function)."""
    if num.is_zero():
        return Fraction2(num, _ONE)
    if den.total_degree() > 0:
        common = num.gcd(den)
        if common.total_degree() > 0:
            num, den = num / common, den / common
    lead = den.leading_coefficient()
    return Fraction2(num / lead, den / lead)


def _power_terms(base: Fraction2, k: int) -> int:
    """At most how many terms ``base^k`` has (multinomial count of each side)."""
    return max(comb(len(poly) + k - 1, k) if k else 1 for poly in (base.num, base.den))


def _monic(polys: list[fmpq_mpoly]) -> set[str]:
    """The non-constant polynomials, up to a constant (as text)."""
    return {str(poly / poly.leading_coefficient()) for poly in polys if poly.total_degree() > 0}


def _factors(polys: list[fmpq_mpoly]) -> set[str]:
    """The irreducible factors of the polynomials, up to a constant (as text)."""
    found: set[str] = set()
    for poly in polys:
        if poly.total_degree() == 0:
            continue
        _, factors = poly.factor()
        for factor, _ in factors:
            found.add(str(factor / factor.leading_coefficient()))
    return found


@dataclass
class Reading:
    """Both sides read: the reference, the answer, and what each met."""

    ref: Fraction2
    ans: Fraction2
    ref_side: Side
    ans_side: Side
    reader: Reader

    def answer_defined_where_reference_is(self) -> bool:
        if not self.ans_side.atoms <= self.ref_side.atoms:
            return False
        if _monic(self.ans_side.divisors) <= _monic(self.ref_side.divisors):  # no factoring needed
            return True
        return _factors(self.ans_side.divisors) <= _factors(self.ref_side.divisors)

    def same_domain(self) -> bool:
        return self.ans_side.atoms == self.ref_side.atoms and _factors(self.ans_side.divisors) == _factors(
            self.ref_side.divisors
        )

    def difference(self) -> Fraction2:
        return _reduced(
            self.ans.num * self.ref.den - self.ref.num * self.ans.den, self.ans.den * self.ref.den
        )

    def ratio(self) -> Fraction | None:
        """``answer / reference`` when it is a constant (the reference not zero), else None."""
        if self.ref.num.is_zero():
            return None
        quotient = _reduced(self.ans.num * self.ref.den, self.ans.den * self.ref.num)
        if quotient.num.total_degree() > 0 or quotient.den.total_degree() > 0:
            return None
        value = quotient.num.leading_coefficient() if not quotient.num.is_zero() else fmpq(0)
        return Fraction(int(value.p), int(value.q))


def entries(ref: ast.Node, ans: ast.Node) -> list[tuple[ast.Node, ast.Node]] | None:
    """The pairs of entries of two lists or matrices of the same shape, the two themselves
    when neither is one; None when their shapes differ."""
    match ref, ans:
        case ast.ListLit(items=r), ast.ListLit(items=a) if len(r) == len(a):
            pairs: list[tuple[ast.Node, ast.Node]] = []
            for inner in zip(r, a, strict=True):
                found = entries(*inner)
                if found is None:
                    return None
                pairs.extend(found)
            return pairs
        case ast.Matrix(rows=r), ast.Matrix(rows=a) if [len(row) for row in r] == [len(row) for row in a]:
            return [pair for rows in zip(r, a, strict=True) for pair in zip(*rows, strict=True)]
    if isinstance(ref, ast.ListLit | ast.Matrix) or isinstance(ans, ast.ListLit | ast.Matrix):
        return None
    return [(ref, ans)]


def read_both(
    ref: ast.Node, ans: ast.Node, functions: Mapping[str, FunctionDef], lets: Mapping[str, ast.Node]
) -> Reading | None:
    """Both formulas as rational functions over shared atoms, or None (not covered, too large).
    Where they have exponentials, a first reading finds the denominators of their exponents'
    coefficients, and a second reads each as a power of one base (``e^{x/2}`` squared is
    ``e^x``)."""
    reader = Reader(functions, lets, collecting=True)
    try:
        ref_value, ref_side = reader.read(ref)
        ans_value, ans_side = reader.read(ans)
        if reader.exponentials:
            reader = Reader(functions, lets, scales=reader.scales)
            ref_value, ref_side = reader.read(ref)
            ans_value, ans_side = reader.read(ans)
    except NotRational:
        return None
    return Reading(ref_value, ans_value, ref_side, ans_side, reader)


def within_tolerance(reading: Reading, rtol: float, atol: float) -> str | None:
    """Why ``|answer - reference| <= atol + rtol |reference|`` holds wherever both are
    defined (the answer defined wherever the reference is), or None."""
    if not reading.answer_defined_where_reference_is():
        return None
    difference = reading.difference()
    if reading.reader.on_circle(difference.num).is_zero():
        return "proved: the two are the same rational function of their terms (exact polynomial identity)"
    if difference.num.total_degree() == 0 and difference.den.total_degree() == 0:
        gap = abs(Fraction(str(difference.num.leading_coefficient())))
        if gap <= Fraction(atol):
            return f"proved: the two differ by the constant {float(gap):.3g}, within atol {atol:g}"
    ratio = reading.ratio()
    if ratio is not None and abs(ratio - 1) <= Fraction(rtol):
        return (
            f"proved: your formula is exactly {float(ratio):.12g} times the expected one, "
            f"within rtol {rtol:g} everywhere"
        )
    return None


# Product kinds that are one operation wherever a formula that uses them has a value:
# matrix products for arrays, scalar products otherwise (``dot`` and ``cdot`` of two
# column vectors are an inner product, where the others have no value).
_MATRIX_PRODUCT = frozenset({"implicit", "cdot", "times", "dot", "matmul"})
_ELEMENTWISE = frozenset({"star", "odot"})


def same_tree(ref: ast.Node, ans: ast.Node, functions: Mapping[str, FunctionDef]) -> bool:
    """The two formulas are one formula written otherwise: the same tree once positions,
    spellings of a function and of a product are set aside (for arrays too, where
    products do not commute). Sound where the answer has a value, as it had at every probe."""
    if type(ref) is not type(ans):
        return False
    match ref, ans:
        case ast.Num(value=a), ast.Num(value=b):
            return bool(a == b)
        case ast.Sym(name=a), ast.Sym(name=b):
            return a == b
        case ast.Const(name=a), ast.Const(name=b):
            return a == b
        case ast.BinOp(op=a_op), ast.BinOp(op=b_op):
            return _product_kind(a_op) == _product_kind(b_op) and _same_children(ref, ans, functions)
        case ast.Call(name=a_name, args=a_args), ast.Call(name=b_name, args=b_args):
            return (
                _resolved(a_name, functions) == _resolved(b_name, functions)
                and len(a_args) == len(b_args)
                and all(same_tree(x, y, functions) for x, y in zip(a_args, b_args, strict=True))
            )
        case ast.Neg() | ast.Transpose() | ast.ListLit() | ast.Matrix(), _:
            return _same_children(ref, ans, functions)
    return False


def _same_children(ref: ast.Node, ans: ast.Node, functions: Mapping[str, FunctionDef]) -> bool:
    if isinstance(ref, ast.Matrix) and isinstance(ans, ast.Matrix) and _widths(ref) != _widths(ans):
        return False
    a, b = ast.children(ref), ast.children(ans)
    return len(a) == len(b) and all(same_tree(x, y, functions) for x, y in zip(a, b, strict=True))


def _widths(matrix: ast.Matrix) -> list[int]:
    return [len(row) for row in matrix.rows]


def _product_kind(op: str) -> str:
    if op in _MATRIX_PRODUCT:
        return "matrix product"
    if op in _ELEMENTWISE:
        return "element-wise product"
    return op


def _resolved(name: str, functions: Mapping[str, FunctionDef]) -> str:
    fdef = functions.get(name)
    if fdef is not None and fdef.alias is None:
        return f"declared {name}"
    builtin = fdef.alias if fdef is not None and fdef.alias else name
    return f"builtin {SPELLINGS.get(builtin, builtin)}"
