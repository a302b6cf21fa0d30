"""Exact values with a derivative part (forward differentiation), arrays of them, and a
formula of the network's reading evaluated on them (grader.steps.network's arithmetic)."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from grader.mathlang import ast

# (the ReLU, the row, the column, positive) of each ReLU argument's entry at the point's values
SIGNS: contextvars.ContextVar[set[tuple[int, int, int, bool]] | None] = contextvars.ContextVar(
    "network_relu_signs", default=None
)


class NotNetwork(Exception):
    """The step (or the definitions) is not read this way."""


class Kink(Exception):
    """A ReLU's argument (or a step function's) is 0 at the point: no derivative there."""


@dataclass(frozen=True)
class Dual:
    """A value and its derivative along one direction (forward differentiation), exact."""

    v: Fraction
    d: Fraction = Fraction(0)

    def __add__(self, o: Any) -> Dual:
        o = as_dual(o)
        return Dual(self.v + o.v, self.d + o.d)

    __radd__ = __add__

    def __sub__(self, o: Any) -> Dual:
        o = as_dual(o)
        return Dual(self.v - o.v, self.d - o.d)

    def __rsub__(self, o: Any) -> Dual:
        return as_dual(o) - self

    def __mul__(self, o: Any) -> Dual:
        o = as_dual(o)
        return Dual(self.v * o.v, self.d * o.v + self.v * o.d)

    __rmul__ = __mul__

    def __truediv__(self, o: Any) -> Dual:
        o = as_dual(o)
        if o.v == 0:
            raise ZeroDivisionError
        return Dual(self.v / o.v, (self.d * o.v - self.v * o.d) / (o.v * o.v))

    def __neg__(self) -> Dual:
        return Dual(-self.v, -self.d)


def as_dual(x: Any) -> Dual:
    return x if isinstance(x, Dual) else Dual(Fraction(x))


@dataclass(frozen=True)
class Mat:
    rows: tuple[tuple[Dual, ...], ...]

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.rows), len(self.rows[0])

    def t(self) -> Mat:
        return Mat(tuple(zip(*self.rows, strict=True)))

    def map(self, f: Callable[[Dual], Dual]) -> Mat:
        return Mat(tuple(tuple(f(x) for x in r) for r in self.rows))


@dataclass(frozen=True)
class Eye:
    """The identity ``I``, of whatever size the arithmetic around it asks."""


Value = Dual | Mat | Eye


def identity(n: int) -> Mat:
    return Mat(tuple(tuple(Dual(Fraction(int(i == j))) for j in range(n)) for i in range(n)))


def scalar(x: Value) -> Value:
    if isinstance(x, Mat) and x.shape == (1, 1):
        return x.rows[0][0]
    return x


def add(a: Value, b: Value, sign: int) -> Value:
    a, b = scalar(a), scalar(b)
    if isinstance(a, Eye) and isinstance(b, Mat):
        a = identity(b.shape[0])
    if isinstance(b, Eye) and isinstance(a, Mat):
        b = identity(a.shape[0])
    if isinstance(a, Dual) and isinstance(b, Dual):
        return a + b if sign > 0 else a - b
    if isinstance(a, Mat) and isinstance(b, Mat) and a.shape == b.shape:
        return Mat(
            tuple(
                tuple(x + y if sign > 0 else x - y for x, y in zip(ra, rb, strict=True))
                for ra, rb in zip(a.rows, b.rows, strict=True)
            )
        )
    raise NotNetwork("shapes")


def matmul(a: Mat, b: Mat) -> Mat:
    if a.shape[1] != b.shape[0]:
        raise NotNetwork("shapes")
    cols = b.t().rows
    return Mat(tuple(tuple(dot(r, c) for c in cols) for r in a.rows))


def dot(a: Sequence[Dual], b: Sequence[Dual]) -> Dual:
    total = Dual(Fraction(0))
    for x, y in zip(a, b, strict=True):
        total = total + x * y
    return total


def product(a: Value, b: Value, op: str) -> Value:
    a, b = scalar(a), scalar(b)
    if isinstance(a, Eye):
        return b
    if isinstance(b, Eye):
        return a
    if isinstance(a, Dual):
        return a * b if isinstance(b, Dual) else b.map(lambda x: a * x)
    if isinstance(b, Dual):
        return a.map(lambda x: x * b)
    if op == "odot" or op == "star":
        if a.shape != b.shape:
            raise NotNetwork("shapes")
        return Mat(
            tuple(
                tuple(x * y for x, y in zip(ra, rb, strict=True))
                for ra, rb in zip(a.rows, b.rows, strict=True)
            )
        )
    if op == "otimes":
        if a.shape[1] != 1 or b.shape[1] != 1:
            raise NotNetwork("shapes")
        return matmul(a, b.t())
    if op in ("cdot", "dot") and a.shape[1] == 1 and b.shape[1] == 1 and a.shape[0] == b.shape[0] > 1:
        return matmul(a.t(), b).rows[0][0]  # u \cdot v of two columns: their inner product
    return matmul(a, b)


def relu(x: Dual) -> Dual:
    if x.v == 0:
        raise Kink
    return x if x.v > 0 else Dual(Fraction(0))


def theta(x: Dual) -> Dual:
    if x.v == 0:
        raise Kink
    return Dual(Fraction(int(x.v > 0)))


ELEMENT_WISE: dict[str, Callable[[Dual], Dual]] = {"relu": relu, "Theta": theta}


def evaluate(node: ast.Node, env: Mapping[str, Value]) -> Value:  # noqa: C901, PLR0911, PLR0912
    if isinstance(node, ast.Num):
        return Dual(node.value)
    if isinstance(node, ast.Sym):
        if node.name in env:
            return env[node.name]
        if node.name == "I":
            return Eye()
        raise NotNetwork(f"'{node.name}' has no value here")
    if isinstance(node, ast.Neg):
        return product(Dual(Fraction(-1)), evaluate(node.operand, env), "implicit")
    if isinstance(node, ast.Transpose):
        v = scalar(evaluate(node.operand, env))
        return v.t() if isinstance(v, Mat) else v
    if isinstance(node, ast.Call):
        return call(node, env)
    if isinstance(node, ast.BinOp):
        if node.op == "^" and isinstance(node.right, ast.Sym) and node.right.name == "T" and "T" not in env:
            v = scalar(evaluate(node.left, env))
            return v.t() if isinstance(v, Mat) else v
        if node.op == "^":
            base = node.left
            if (
                isinstance(base, ast.Call)
                and base.name == "norm"
                and isinstance(node.right, ast.Num)
                and node.right.value == 2
                and (len(base.args) == 1 or (isinstance(base.args[1], ast.Num) and base.args[1].value == 2))
            ):  # \|v\|_2^2: the sum of the squares (no square root)
                v = scalar(evaluate(base.args[0], env))
                if not isinstance(v, Mat) or v.shape[1] != 1:
                    raise NotNetwork("the norm of a matrix")
                return dot([r[0] for r in v.rows], [r[0] for r in v.rows])
            v = scalar(evaluate(base, env))
            if not isinstance(node.right, ast.Num) or node.right.value.denominator != 1:
                raise NotNetwork("a power")
            k = int(node.right.value)
            if not isinstance(v, Dual) or not 0 <= k <= 8:
                raise NotNetwork("a power")
            out = Dual(Fraction(1))
            for _ in range(k):
                out = out * v
            return out
        a, b = evaluate(node.left, env), evaluate(node.right, env)
        if node.op in ("+", "-"):
            return add(a, b, 1 if node.op == "+" else -1)
        if node.op == "/":
            b = scalar(b)
            if not isinstance(b, Dual):
                raise NotNetwork("a division by an array")
            inverse = Dual(Fraction(1)) / b
            return product(a, inverse, "implicit")
        return product(a, b, node.op)
    if isinstance(node, ast.Matrix | ast.ListLit):
        raise NotNetwork("a matrix written out")
    raise NotNetwork(type(node).__name__)


def call(node: ast.Call, env: Mapping[str, Value]) -> Value:
    if node.name in ELEMENT_WISE and len(node.args) == 1:
        f = ELEMENT_WISE[node.name]
        v = scalar(evaluate(node.args[0], env))
        seen = SIGNS.get()
        if seen is not None and node.name == "relu":
            rows = v.rows if isinstance(v, Mat) else ((v,),) if isinstance(v, Dual) else ()
            seen.update((id(node), i, j, x.v > 0) for i, row in enumerate(rows) for j, x in enumerate(row))
        return f(v) if isinstance(v, Dual) else v.map(f) if isinstance(v, Mat) else v
    if node.name == "diag" and len(node.args) == 1:
        v = scalar(evaluate(node.args[0], env))
        if not isinstance(v, Mat) or v.shape[1] != 1:
            raise NotNetwork("diag of a matrix")
        n = v.shape[0]
        zero = Dual(Fraction(0))
        return Mat(tuple(tuple(v.rows[i][0] if i == j else zero for j in range(n)) for i in range(n)))
    raise NotNetwork(f"{node.name}(...)")
