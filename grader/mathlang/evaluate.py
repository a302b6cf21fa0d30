"""The formula evaluator: walks a tree of :mod:`grader.mathlang.ast` with an allow-list.

One walk evaluates a formula at B points at once (every value carries a leading
batch axis, see :class:`~grader.mathlang.values.Val`), in one of three
backends: ``float`` (numpy float64), ``exact`` (``Fraction``, or elements with
their own operators and ``relu``/``heaviside``/``maximum``... methods, such as
``PL``) and ``mp`` (mpmath, 40 digits).

Conventions (contract section 3):

* Products: ``implicit``/``cdot``/``dot``/``matmul``/``times`` are matrix
  products when both sides are arrays and scalar products otherwise; a 1-D
  vector is a column (``W x``, ``x^T W``, ``u v^T`` outer, ``u^T v`` scalar);
  ``dot`` and ``cdot`` of two column vectors are their inner product;
  ``star``/``odot`` are element-wise, ``otimes`` the outer product.
* ``+ -`` and element-wise products need equal shapes; a scalar goes with a
  vector (``1 - sigma(x)``) but not with a matrix (``A - c``: c I or c·ones?),
  which is a :class:`ShapeError` naming both shapes and the sub-formula.
* ``A^{-1}`` and ``inv(A)`` invert, ``A^k`` is a matrix power for a square
  matrix and element-wise for vectors; ``^T`` and ``'`` transpose.
* ``\\mathbf{1}`` (``\\mathbb{1}``) is the ones vector: in a matrix product (``A 1``,
  ``1^T A``) as long as the other side needs; where a part declares none, as long
  as the formula's other shapes need (of the sizes its values have, the one that
  fits; refused where several fit with different values). A plain ``1`` is the ones
  vector only where the values hold the name ``"1"`` (``let: {"1": ones(n)}``).
* A declared function is an alias of a built-in (``S: softmax``) or a formula
  in one parameter (``Theta: "heaviside(x, 0)"``), applied element-wise to arrays.
* ``heaviside(x)`` is 1/2 at 0 unless a second argument says otherwise.
* Relations and ``and``/``or``/``not`` give booleans; ``piecewise`` takes the
  first case whose condition holds (undefined where none does).

Undefined points (division by zero, log of a non-positive number, sqrt of a
negative one) are nan in the ``float`` and ``mp`` backends and an
:class:`EvalError` in the ``exact`` backend, which also raises
:class:`NotExactError` for values that are not rational (``exp(1)``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np

from grader.mathlang import ast
from grader.mathlang.arithmetic import MP, apply_binary, lift, mp_from, obj_array, omap
from grader.mathlang.builtins import BUILTINS, Builtin
from grader.mathlang.errors import CasesOverlapError, EvalError, MathError, NotExactError, ShapeError
from grader.mathlang.limits import check_numbers
from grader.mathlang.linalg import matmul_arrays, matrix_power
from grader.mathlang.names import ALIASES, BUILTIN_NAMES, function_names
from grader.mathlang.parser import parse
from grader.mathlang.shapes import (
    MATRIX_PRODUCTS,
    bcast,
    check_size,
    elementwise_pair,
    flat_vector,
    outer,
    shape_error,
    to_2d,
    transpose,
)
from grader.mathlang.values import Env, FunctionDef, Val, describe, show, show_operand

__all__ = [
    "BUILTIN_NAMES",
    "Env",
    "FunctionDef",
    "NotExactError",
    "Val",
    "compile_functions",
    "evaluate",
    "evaluate_exact",
    "evaluate_val",
    "function_names",
    "make_env",
]

MAX_CALL_DEPTH = 16
ELEMENTWISE_PRODUCTS = frozenset({"star", "odot"})


# ---- public API -----------------------------------------------------------------


def evaluate(
    node: ast.Node,
    values: Mapping[str, Any],
    *,
    functions: Mapping[str, FunctionDef | str] | None = None,
    batch: int | None = None,
    batched: Iterable[str] | None = None,
) -> np.ndarray:
    """Float evaluation. With ``batch=None`` the values are one point and so is the
    result (a float array of the value's shape; 0-d for a scalar). With
    ``batch=B`` every array value has a leading axis of size B (plain numbers are
    shared by all points), or only the names in ``batched`` do when it is given
    (the others, such as weights, are shared); the result has shape (B, *shape).
    Undefined points are nan; a condition (``x1*x2 < 0``) gives booleans."""
    env = make_env("float", values, functions=functions, batch=batch, batched=batched)
    with np.errstate(all="ignore"):
        val = evaluate_val(node, env)
    out = np.broadcast_to(val.a, (env.batch, *val.shape))
    kind = bool if val.a.dtype == bool else float  # conditions stay booleans
    return np.asarray(out[0] if batch is None else out, dtype=kind)


def evaluate_exact(
    node: ast.Node,
    values: Mapping[str, Any],
    *,
    functions: Mapping[str, FunctionDef | str] | None = None,
) -> Any:
    """Exact evaluation at one point: values are Fractions/ints (or PL, or numpy
    object arrays / nested lists of them); the result is a Fraction (or the
    element type) for a scalar formula, a numpy object array for an array one.
    Raises EvalError where the formula is undefined, NotExactError where its
    value is not rational."""
    env = make_env("exact", values, functions=functions)
    val = evaluate_val(node, env)
    return val.a[0]


def make_env(
    backend: str,
    values: Mapping[str, Any],
    *,
    functions: Mapping[str, FunctionDef | str] | None = None,
    batch: int | None = None,
    dim_names: Mapping[int, str] | None = None,
    known: Iterable[str] | None = None,
    batched: Iterable[str] | None = None,
) -> Env:
    """An environment for :func:`evaluate_val` from plain values (see :func:`evaluate`)."""
    lifted: dict[str, Val] = {}
    along = None if batched is None else set(batched)
    for name, value in values.items():
        if isinstance(value, Val):
            lifted[name] = value
        elif backend == "float":
            lifted[name] = _lift_float(value, batch if along is None or name in along else None)
        else:
            lifted[name] = _lift_object(value, backend)
    sizes = {v.batch for v in lifted.values()} - {1}
    size = batch if batch is not None else (max(sizes) if sizes else 1)
    return Env(
        backend=backend,  # type: ignore[arg-type]
        batch=size,
        values=lifted,
        functions=_as_function_defs(functions or {}, tuple(values)),
        dim_names=dict(dim_names or {}),
        known=tuple(known) if known is not None else None,
    )


def compile_functions(declarations: Mapping[str, str], known: Iterable[str] = ()) -> dict[str, FunctionDef]:
    """Spec functions ``{S: softmax, H: "heaviside(x, 1/2)"}`` as FunctionDefs.

    A value naming a built-in is an alias; any other value is a formula whose
    parameter is its free symbol not among ``known`` (``x`` when it has several)."""
    known_t = tuple(known)
    return {
        name: _compile_one(name, text, known_t, tuple(declarations)) for name, text in declarations.items()
    }


# ---- environments ------------------------------------------------------------------


def _lift_float(value: Any, batch: int | None) -> Val:
    if isinstance(value, int | float | Fraction | np.floating | np.integer) and not isinstance(value, bool):
        return Val(np.array([float(value)]))
    arr = np.asarray(value, dtype=float)
    if batch is None:
        arr = arr[None, ...]
    elif arr.ndim == 0 or arr.shape[0] != batch:
        raise ValueError(f"a batched value needs a leading axis of size {batch}, got {arr.shape}")
    return Val(arr)


def _lift_object(value: Any, backend: str) -> Val:
    convert: Callable[[Any], Any] = mp_from if backend == "mp" else _exact_element
    if isinstance(value, np.ndarray | list | tuple):
        src = np.asarray(value, dtype=object)
        if src.ndim == 0:
            return Val(obj_array([convert(src[()])]))
        return Val(omap(convert, src)[None, ...])
    return Val(obj_array([convert(value)]))


def _exact_element(v: Any) -> Any:
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, int | np.integer):
        return Fraction(int(v))
    return v


def _as_function_defs(
    functions: Mapping[str, FunctionDef | str], known: tuple[str, ...]
) -> dict[str, FunctionDef]:
    out: dict[str, FunctionDef] = {}
    pending: dict[str, str] = {}
    for name, f in functions.items():
        if isinstance(f, FunctionDef):
            out[name] = f
        else:
            pending[name] = f
    if pending:
        out.update(_compile_cached(tuple(sorted(pending.items())), known))
    return out


@lru_cache(maxsize=256)
def _compile_cached(items: tuple[tuple[str, str], ...], known: tuple[str, ...]) -> dict[str, FunctionDef]:
    return compile_functions(dict(items), known)


def _compile_one(name: str, text: str, known: tuple[str, ...], declared: tuple[str, ...]) -> FunctionDef:
    text = str(text).strip()
    if text in BUILTINS:
        return FunctionDef(name, alias=text, text=text)
    if text in ALIASES:
        return FunctionDef(name, alias=ALIASES[text], text=text)
    symbols = tuple(sorted(set(known) | {"x"}))
    body = parse(text, symbols=symbols, functions=function_names(declared, known))
    free = ast.free_names(body)
    param = _pick_param(free, set(known))
    if param is None:
        raise EvalError(f"function {name}: cannot tell its parameter in {text!r}; write it in x", text, 0)
    return FunctionDef(name, param=param, body=body, text=text)


def _pick_param(free: set[str], known: set[str]) -> str | None:
    if "x" in free:
        return "x"
    unknown = free - known
    if len(unknown) == 1:
        return next(iter(unknown))
    if len(free) == 1:
        return next(iter(free))
    return None


# ---- the walk ------------------------------------------------------------------------


def evaluate_val(node: ast.Node, env: Env) -> Val:
    """Evaluate ``node`` in ``env`` (the float backend expects np.errstate(all="ignore"))."""
    if IDENTITY not in env.values and _mentions(node, IDENTITY) and _matrix_sizes(env):
        return _with_inferred_identity(node, env)
    if "1" not in env.values and _mentions_ones(node):
        return _with_inferred_ones(node, env)
    return _value(node, env)


_MENTIONS_ONES: dict[int, tuple[ast.Node, bool]] = {}  # id -> (the tree, kept alive; the answer)


def _mentions_ones(node: ast.Node) -> bool:
    """Whether the tree writes the ones vector (``\\mathbf{1}``); remembered per tree, as the
    same parsed formula is evaluated again and again."""
    known = _MENTIONS_ONES.get(id(node))
    if known is not None and known[0] is node:
        return known[1]
    if len(_MENTIONS_ONES) > 4096:
        _MENTIONS_ONES.clear()
    found = any(isinstance(n, ast.Sym) and n.name == "1" for n in ast.walk(node))
    _MENTIONS_ONES[id(node)] = (node, found)
    return found


IDENTITY = "I"  # an identity matrix, where the part has matrices and no name I of its own
_MENTIONS: dict[tuple[int, str], tuple[ast.Node, bool]] = {}


def _mentions(node: ast.Node, name: str) -> bool:
    """Whether the tree writes the symbol ``name``; remembered per tree, like the ones vector."""
    known = _MENTIONS.get((id(node), name))
    if known is not None and known[0] is node:
        return known[1]
    if len(_MENTIONS) > 4096:
        _MENTIONS.clear()
    found = any(isinstance(n, ast.Sym) and n.name == name for n in ast.walk(node))
    _MENTIONS[(id(node), name)] = (node, found)
    return found


def _matrix_sizes(env: Env) -> list[int]:
    """The sizes an identity matrix may have here: those of the part's matrices (none: no I)."""
    return sorted({size for val in env.values.values() if val.ndim >= 1 for size in val.shape})


def _with_inferred_identity(node: ast.Node, env: Env) -> Val:
    """``I`` written for an identity matrix the part does not declare: as large as the formula's
    shapes need, of the sizes its matrices have; where several sizes fit and give different
    values, the formula does not say which one it means."""
    fits: list[Val] = []
    refusal: ShapeError | None = None
    for size in _matrix_sizes(env):
        eye = np.zeros((1, size, size), dtype=object if env.backend != "float" else float)
        one = 1.0 if env.backend == "float" else (mp_from(1) if env.backend == "mp" else Fraction(1))
        zero = 0.0 if env.backend == "float" else (mp_from(0) if env.backend == "mp" else Fraction(0))
        if env.backend != "float":
            eye[...] = zero
        for i in range(size):
            eye[0, i, i] = one
        try:
            fits.append(evaluate_val(node, replace(env, values={**env.values, IDENTITY: Val(eye)})))
        except ShapeError as err:
            refusal = refusal or err
    if not fits:
        assert refusal is not None
        raise refusal
    if any(not _same_value(val, fits[0]) for val in fits[1:]):
        raise ShapeError(
            "the size of the identity matrix I cannot be told from this formula",
            position=node.pos,
            hint="several sizes fit; write it with its size, eye(n)",
        )
    return fits[0]


def _with_inferred_ones(node: ast.Node, env: Env) -> Val:
    """A ones vector the part does not declare (``\\mathbf{1}``) is as long as the formula's
    shapes need: of the sizes the values have, the one with which they fit. Where no
    value is an array it is the number 1; where several lengths fit and give different
    values, the formula does not say which one it means."""
    sizes = sorted({size for val in env.values.values() for size in val.shape} | set(env.dim_names))
    if not sizes:
        return _value(node, replace(env, values={**env.values, "1": Val(lift(env, 1))}))
    fits: list[tuple[Env, Val]] = []
    refusal: ShapeError | None = None
    for size in sizes:
        sized = replace(env, values={**env.values, "1": _ones(env, size, row=False)})
        try:
            fits.append((sized, _value(node, sized)))
        except ShapeError as err:
            refusal = refusal or err
    if not fits:
        assert refusal is not None
        raise refusal
    if any(not _same_value(val, fits[0][1]) for _, val in fits[1:]):
        raise ShapeError(
            "the length of the ones vector 1 cannot be told from this formula",
            position=node.pos,
            hint='several lengths fit; the part can declare it with let: {"1": ones(n)}',
        )
    if env.trace is not None and len(fits) > 1:
        _value(node, fits[0][0])  # the trace of the evaluation that is kept
    return fits[0][1]


def _same_value(a: Val, b: Val) -> bool:
    if a.shape != b.shape or a.row != b.row:
        return False
    left, right = np.broadcast_arrays(a.a, b.a)
    if left.dtype == object or right.dtype == object:
        return bool(np.all(left == right))
    return bool(np.array_equal(left, right, equal_nan=True))


def _value(node: ast.Node, env: Env) -> Val:
    handler = _DISPATCH.get(type(node))
    if handler is None:
        raise EvalError(f"{_kind_name(node)} cannot be evaluated here", position=node.pos)
    try:
        val = handler(node, env)
        if env.backend != "float" and isinstance(node, _BUILDS_NUMBERS):
            check_numbers(val.a.flat)
    except MathError as err:
        if err.position is None:
            err.position = node.pos
        raise
    if env.trace is not None:
        env.trace[id(node)] = val
    return val


# Nodes whose value can be larger than their operands' (exact and mp values are bounded).
_BUILDS_NUMBERS = (ast.BinOp, ast.Call)


def _kind_name(node: ast.Node) -> str:
    return {
        "TupleLit": "a list of formulas",
        "Space": "a space",
        "Member": "a membership",
    }.get(type(node).__name__, type(node).__name__)


def _num(node: ast.Num, env: Env) -> Val:
    return Val(lift(env, node.value))


def _const(node: ast.Const, env: Env) -> Val:
    name = node.name
    if name in ("true", "otherwise"):
        return Val(np.array([True]))
    if name == "false":
        return Val(np.array([False]))
    if env.backend == "exact":
        raise NotExactError(f"{name} has no exact (rational) value", position=node.pos)
    if env.backend == "mp":
        table = {"pi": MP.pi, "e": MP.e, "inf": MP.inf}
        if name in table:
            return Val(obj_array([+table[name]]))
    table_f = {"pi": np.pi, "e": np.e, "inf": np.inf}
    if name in table_f:
        return Val(np.array([table_f[name]]))
    raise EvalError(f"unknown constant {name!r}", position=node.pos)


def _sym(node: ast.Sym, env: Env) -> Val:
    val = env.values.get(node.name)
    if val is not None:
        return val
    if node.name in env.functions or node.name in BUILTINS:
        raise EvalError(f"{node.name} is a function; write {node.name}(...)", position=node.pos)
    known = env.known_names()
    listing = ", ".join(known) if known else "no symbols"
    raise EvalError(f"unknown symbol '{node.name}'; this part knows {listing}", position=node.pos)


def _neg(node: ast.Neg, env: Env) -> Val:
    v = _value(node.operand, env)
    return Val(-v.a, v.row)


def _binop(node: ast.BinOp, env: Env) -> Val:
    op = node.op
    if op in MATRIX_PRODUCTS and (_is_one(node.left) or _is_one(node.right)):
        return _product_with_ones(node, env)
    left = _value(node.left, env)
    right = _value(node.right, env)
    if op == "+" or op == "-":
        what = "cannot add {l} and {r}" if op == "+" else "cannot subtract {r} from {l}"
        la, ra, row = elementwise_pair(env, left, right, node, what, False)
        return Val(la + ra if op == "+" else la - ra, row)
    if op == "/":
        return _divide(node, left, right, env)
    if op == "^":
        return _power(node, left, right, env)
    return product(env, op, left, right, node)


def product(env: Env, kind: str, left: Val, right: Val, node: ast.Node) -> Val:
    """``left <kind> right`` for a product kind of :data:`ast.PRODUCT_KINDS`."""
    if left.is_scalar() or right.is_scalar():
        nd = max(left.ndim, right.ndim)
        return Val(bcast(left.a, nd) * bcast(right.a, nd), left.row or right.row)
    if kind in ELEMENTWISE_PRODUCTS:
        la, ra, row = elementwise_pair(
            env, left, right, node, "cannot multiply {l} and {r} element-wise", True
        )
        return Val(la * ra, row)
    if kind == "otimes":
        return outer(env, left, right, node)
    return _matrix_product(env, kind, left, right, node)


def _matrix_product(env: Env, kind: str, left: Val, right: Val, node: ast.Node) -> Val:
    if left.ndim > 2 or right.ndim > 2:
        raise shape_error(f"cannot multiply {_operands(env, node, left, right)}", node)
    if left.is_vector() and right.is_vector():
        if kind in ("dot", "cdot") and left.shape == right.shape:
            return Val(np.sum(left.a * right.a, axis=1))
        raise shape_error(
            f"cannot multiply {_operands(env, node, left, right)}", node, hint=_vector_hint(node)
        )
    l2, r2 = to_2d(left), to_2d(right)
    if l2.shape[-1] != r2.shape[-2]:
        names = env.dim_names
        raise shape_error(
            f"cannot multiply {_operands(env, node, left, right)}: the left has "
            f"{_count(l2.shape[-1], 'column', names)}, the right {_count(r2.shape[-2], 'row', names)}",
            node,
        )
    result = matmul_arrays(env, l2, r2)
    if right.is_vector():
        if left.row:
            return Val(result[:, 0, 0])
        return Val(result[:, :, 0])
    return Val(result, row=left.row)


def _operands(env: Env, node: ast.Node, left: Val, right: Val) -> str:
    names = env.dim_names
    if isinstance(node, ast.BinOp):
        return (
            f"`{show(node.left)}` ({describe(left, names)}) by "
            f"`{show(node.right)}` ({describe(right, names)})"
        )
    return f"{describe(left, names)} by {describe(right, names)}"


def _side(node: ast.Node, which: str) -> ast.Node:
    return getattr(node, which, node)


def _count(n: int, word: str, names: Mapping[int, str]) -> str:
    label = names.get(n, str(n))
    return f"{label} {word}{'' if label == '1' else 's'}"


def _vector_hint(node: ast.Node) -> str:
    if isinstance(node, ast.BinOp):
        a, b = show_operand(node.left), show_operand(node.right)
        return f"for the inner product write {a}^T {b}, for the outer product {a} {b}^T"
    return ""


def _is_one(node: ast.Node) -> bool:
    if isinstance(node, ast.Transpose):
        node = node.operand
    if isinstance(node, ast.Num):
        return node.value == 1 and not node.is_float
    return isinstance(node, ast.Sym) and node.name == "1"


def _product_with_ones(node: ast.BinOp, env: Env) -> Val:
    """``A 1`` / ``1^T A``: the ones vector as long as the other side needs, when the part
    declares ``1`` (or a formula writes ``\\mathbf{1}``); in an outer product (``1 s^T``,
    ``s 1^T``) it is the vector as declared."""
    if "1" not in env.values:
        return product(env, node.op, _value(node.left, env), _value(node.right, env), node)
    if _is_one(node.right) and not _is_one(node.left):
        left = _value(node.left, env)
        if left.is_scalar():
            return product(env, node.op, left, _value(node.right, env), node)
        if left.is_vector():  # s 1^T
            return product(env, node.op, left, _declared_ones(env, node.right), node)
        right = _ones(env, to_2d(left).shape[-1], isinstance(node.right, ast.Transpose))
        return product(env, node.op, left, right, node)
    right = _value(node.right, env)
    if right.is_scalar():
        return product(env, node.op, _value(node.left, env), right, node)
    if right.row:  # 1 s^T
        return product(env, node.op, _declared_ones(env, node.left), right, node)
    left = _ones(env, right.shape[0], isinstance(node.left, ast.Transpose))
    return product(env, node.op, left, right, node)


def _declared_ones(env: Env, node: ast.Node) -> Val:
    """The ones vector as declared, for ``1`` or ``1^T`` written as a number or a bold 1."""
    ones = env.values["1"]
    return transpose(env, ones, node) if isinstance(node, ast.Transpose) else ones


def _ones(env: Env, n: int, row: bool) -> Val:
    if env.backend == "float":
        vec = np.ones((1, n))
    else:
        vec = omap(lambda v: mp_from(v) if env.backend == "mp" else Fraction(v), np.ones((1, n), dtype=int))
    return Val(vec[:, None, :], row=True) if row else Val(vec)


def _divide(node: ast.BinOp, left: Val, right: Val, env: Env) -> Val:
    names = env.dim_names
    if right.is_matrix() and not right.row:
        raise shape_error(
            f"cannot divide {describe(left, names)} by {describe(right, names)}",
            node,
            hint=f"to use an inverse write inv({show(node.right)}) or ({show(node.right)})^{{-1}}",
        )
    if left.is_matrix() and not left.row and not right.is_scalar():
        raise shape_error(f"cannot divide {describe(left, names)} by {describe(right, names)}", node)
    la, ra, row = elementwise_pair(env, left, right, node, "cannot divide {l} by {r}", True)
    if env.backend == "float":
        with np.errstate(all="ignore"):
            return Val(np.where(ra != 0, la / np.where(ra != 0, ra, 1.0), np.nan), row)
    la, ra = np.broadcast_arrays(la, ra)
    return Val(apply_binary(env, "div", la, ra), row)


def _power(node: ast.BinOp, base: Val, exponent: Val, env: Env) -> Val:
    names = env.dim_names
    if not exponent.is_scalar():
        raise shape_error(f"an exponent must be a scalar, not {describe(exponent, names)}", node)
    if base.is_matrix() and not base.row:
        if base.shape[0] != base.shape[1]:
            raise shape_error(f"only a square matrix has powers, not {describe(base, names)}", node)
        k = _integer_exponent(exponent, node)
        return Val(matrix_power(env, base.a, k, node))
    if base.row:
        raise shape_error("a row vector has no powers", node)
    ea = bcast(exponent.a, base.ndim)
    ba = base.a
    if env.backend != "float":
        ba, ea = np.broadcast_arrays(ba, ea)
    return Val(apply_binary(env, "pow", ba, ea))


def _integer_exponent(exponent: Val, node: ast.Node) -> int:
    values = np.unique(np.asarray(exponent.a, dtype=object).reshape(-1))
    if len(values) != 1 or int(values[0]) != values[0]:
        raise EvalError("a matrix power needs a whole-number exponent", position=node.pos)
    return int(values[0])


def _transpose(node: ast.Transpose, env: Env) -> Val:
    return transpose(env, _value(node.operand, env), node)


def _prime(node: ast.Prime, env: Env) -> Val:
    if isinstance(node.operand, ast.Sym) and node.operand.name + "'" in env.values:
        return env.values[node.operand.name + "'"]
    v = _value(node.operand, env)
    if v.is_scalar():
        raise EvalError(
            f"{show(node.operand)}' : a prime on a scalar is not something this part can evaluate",
            position=node.pos,
        )
    return transpose(env, v, node)


def _call(node: ast.Call, env: Env) -> Val:
    fdef = env.functions.get(node.name)
    if fdef is not None and fdef.alias is None:
        return _call_formula(node, fdef, env)
    name = fdef.alias if fdef is not None and fdef.alias else node.name
    builtin = BUILTINS.get(name)
    if builtin is None and name in ALIASES and name not in env.values:
        builtin = BUILTINS[ALIASES[name]]
        name = ALIASES[name]
    if builtin is None:
        raise EvalError(
            f"unknown function '{node.name}'; known functions: "
            + ", ".join(sorted(set(BUILTINS) | set(env.functions))),
            position=node.pos,
        )
    _check_arity(node, name, builtin)
    args = [_value(a, env) for a in node.args]
    return builtin.impl(env, node, args)


def _check_arity(node: ast.Call, name: str, builtin: Builtin) -> None:
    n = len(node.args)
    if builtin.min_args <= n <= builtin.max_args:
        return
    if builtin.min_args == builtin.max_args:
        want = f"{builtin.min_args} argument{'s' if builtin.min_args != 1 else ''}"
    else:
        want = f"{builtin.min_args} to {builtin.max_args} arguments"
    raise EvalError(f"{node.name} takes {want}, got {n}", position=node.pos)


def _call_formula(node: ast.Call, fdef: FunctionDef, env: Env) -> Val:
    if len(node.args) != 1:
        raise EvalError(f"{node.name} takes 1 argument, got {len(node.args)}", position=node.pos)
    if env.depth >= MAX_CALL_DEPTH:
        raise EvalError(f"{node.name}: functions call each other too deeply", position=node.pos)
    arg = _value(node.args[0], env)
    assert fdef.body is not None and fdef.param is not None
    try:
        return _apply_elementwise(fdef, arg, env)
    except MathError as err:
        raise type(err)(f"in {node.name}(...) = {fdef.text}: {err.message}", position=node.pos) from None


def _apply_elementwise(fdef: FunctionDef, arg: Val, env: Env) -> Val:
    """The formula at every entry of ``arg`` (entries move into the batch axis)."""
    assert fdef.body is not None and fdef.param is not None
    sub = Env(
        backend=env.backend,
        batch=env.batch,
        values=dict(env.values),
        functions=env.functions,
        dim_names=env.dim_names,
        known=env.known,
        depth=env.depth + 1,
    )
    if arg.is_scalar():
        sub.values[fdef.param] = arg
        return _value(fdef.body, sub)
    count = int(np.prod(arg.shape))
    batch = arg.a.shape[0]
    sub.values[fdef.param] = Val(arg.a.reshape(batch * count))
    for name in ast.free_names(fdef.body) - {fdef.param}:
        other = env.values.get(name)
        if other is not None:
            if not other.is_scalar():
                raise shape_error(f"{fdef.name} uses the array {name}; apply it to scalars", fdef.body)
            sub.values[name] = Val(np.repeat(np.broadcast_to(other.a, (batch,)), count))
    sub.batch = batch * count
    out = _value(fdef.body, sub)
    if not out.is_scalar():
        raise shape_error(f"{fdef.name} must give a scalar for each entry", fdef.body)
    flat = np.broadcast_to(out.a, (batch * count,))
    return Val(flat.reshape(arg.a.shape), arg.row)


def _index(node: ast.Index, env: Env) -> Val:
    base = _value(node.operand, env)
    if base.is_scalar():
        raise EvalError(f"{show(node.operand)} is a scalar; it has no entries", position=node.pos)
    arr = base.a
    if base.row:
        arr = arr[:, 0, :]
    logical = arr.shape[1:]
    if len(node.indices) > len(logical):
        raise shape_error(f"too many indices for {describe(base, env.dim_names)}", node)
    batch = max(arr.shape[0], *(1,))
    picks: list[np.ndarray] = []
    for axis, ix_node in enumerate(node.indices):
        ix = _value(ix_node, env)
        if not ix.is_scalar():
            raise shape_error("an index must be a scalar", ix_node)
        picks.append(_index_values(ix, logical[axis], ix_node))
        batch = max(batch, ix.a.shape[0])
    rows = np.arange(batch)
    arr = np.broadcast_to(arr, (batch, *arr.shape[1:]))
    picks = [np.broadcast_to(p, (batch,)) for p in picks]
    return Val(arr[(rows, *picks)])


def _index_values(ix: Val, size: int, node: ast.Node) -> np.ndarray:
    raw = np.asarray(ix.a, dtype=object) if ix.a.dtype == object else ix.a
    as_int = np.array([int(v) for v in raw.reshape(-1)]) if raw.dtype == object else raw.astype(int)
    if np.any(as_int != raw) or np.any(as_int < 1) or np.any(as_int > size):
        raise EvalError(f"an index must be a whole number from 1 to {size}", position=node.pos)
    return as_int - 1


def _list(node: ast.ListLit, env: Env) -> Val:
    if not node.items:
        raise EvalError("an empty list", position=node.pos)
    items = [_value(i, env) for i in node.items]
    if all(v.is_scalar() for v in items):
        return _stack(env, [v.a for v in items], axis=1, pos=node.pos)
    if all(isinstance(i, ast.ListLit) for i in node.items) and all(v.is_vector() for v in items):
        _same_length(env, items, node)
        return _stack(env, [v.a for v in items], axis=1, pos=node.pos)
    vectors = [flat_vector(v) for v in items]
    if all(v is not None and items[k].is_vector() for k, v in enumerate(vectors)):
        _same_length(env, items, node)
        return _stack(env, [v.a for v in items], axis=2, pos=node.pos)  # columns
    if all(v.row for v in items):
        _same_length(env, items, node)
        return _stack(env, [v.a[:, 0, :] for v in items], axis=1, pos=node.pos)  # rows
    raise shape_error("a list must hold numbers, or vectors of one length", node)


def _same_length(env: Env, items: list[Val], node: ast.Node) -> None:
    if len({v.a.shape[-1] for v in items}) != 1:
        raise shape_error("the rows of a matrix must have the same length", node)


def _stack(env: Env, arrays: list[np.ndarray], axis: int, pos: int) -> Val:
    batch = max(a.shape[0] for a in arrays)
    arrays = [np.broadcast_to(a, (batch, *a.shape[1:])) for a in arrays]
    out = np.stack(arrays, axis=axis)
    check_size(out.shape[1:], pos)
    return Val(out)


def _matrix(node: ast.Matrix, env: Env) -> Val:
    rows = [[_value(item, env) for item in row] for row in node.rows]
    if len({len(r) for r in rows}) != 1:
        raise shape_error("the rows of a matrix must have the same number of entries", node)
    if all(v.is_scalar() for r in rows for v in r):
        stacked = [_stack(env, [v.a for v in r], axis=1, pos=node.pos).a for r in rows]
        out = _stack(env, stacked, axis=1, pos=node.pos)
        if out.shape[1] == 1 and len(rows) > 1:
            return Val(out.a[:, :, 0])  # a column: a vector
        return Val(out.a, row=len(rows) == 1)
    return _block_matrix(node, rows, env)


def _block_matrix(node: ast.Matrix, rows: list[list[Val]], env: Env) -> Val:
    block_rows = []
    for row in rows:
        blocks = [_as_block(v) for v in row]
        batch = max(b.shape[0] for b in blocks)
        blocks = [np.broadcast_to(b, (batch, *b.shape[1:])) for b in blocks]
        if len({b.shape[1] for b in blocks}) != 1:
            raise shape_error("the blocks of a matrix row must have the same height", node)
        block_rows.append(np.concatenate(blocks, axis=2))
    batch = max(b.shape[0] for b in block_rows)
    block_rows = [np.broadcast_to(b, (batch, *b.shape[1:])) for b in block_rows]
    if len({b.shape[2] for b in block_rows}) != 1:
        raise shape_error("the block rows of a matrix must have the same width", node)
    out = np.concatenate(block_rows, axis=1)
    check_size(out.shape[1:], node.pos)
    return Val(out)


def _as_block(v: Val) -> np.ndarray:
    if v.is_scalar():
        return v.a[:, None, None]
    if v.is_vector():
        return v.a[:, :, None]
    return v.a


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "=": np.equal,
    "!=": np.not_equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}


def _relation(node: ast.Relation, env: Env) -> Val:
    left = _value(node.left, env)
    right = _value(node.right, env)
    la, ra, row = elementwise_pair(env, left, right, node, "cannot compare", True)
    compare = _COMPARE.get(node.op)
    if compare is None:
        raise EvalError(f"unknown relation {node.op!r}", position=node.pos)
    if env.backend == "float":
        return Val(np.asarray(compare(la, ra)), row)
    try:
        out = omap(lambda a, b: bool(compare(a, b)), *np.broadcast_arrays(la, ra))
    except TypeError:
        raise EvalError(f"cannot decide {show(node)} here", position=node.pos) from None
    return Val(out.astype(bool), row)


def _logic(node: ast.Logic, env: Env) -> Val:
    vals = [_condition(o, env) for o in node.operands]
    if node.op == "not":
        return Val(np.logical_not(vals[0]))
    combine = np.logical_and if node.op == "and" else np.logical_or
    acc = vals[0]
    for v in vals[1:]:
        acc = combine(acc, v)
    return Val(np.asarray(acc))


def _condition(node: ast.Node, env: Env) -> np.ndarray:
    v = _value(node, env)
    if v.a.dtype != bool:
        raise EvalError(f"{show(node)} is not a condition", position=node.pos)
    return v.a


def _piecewise(node: ast.Piecewise, env: Env) -> Val:
    if env.backend == "exact" and env.batch == 1:
        for number, (value, cond) in enumerate(node.cases, 1):
            c = _condition(cond, env)
            if c.size and bool(np.all(c)):
                chosen = _value(value, env)
                _refuse_other_values(node, number, chosen, env)
                return chosen
        raise EvalError("no case of the piecewise formula applies here", position=node.pos)
    conds = [_condition(c, env) for _, c in node.cases]
    vals = [_value(v, env) for v, _ in node.cases]
    shape = vals[0].shape
    if any(v.shape != shape for v in vals):
        raise shape_error("the cases of a piecewise formula have different shapes", node)
    nd = len(shape)
    if env.backend == "float":
        out: np.ndarray = np.full((1, *shape), np.nan)
    else:
        out = np.empty((1, *shape), dtype=object)
        out.fill(MP.nan)
    for cond, val in zip(reversed(conds), reversed(vals), strict=True):
        out = np.where(bcast(cond, nd), val.a, out)
    return Val(np.asarray(out), vals[0].row)


def _refuse_other_values(node: ast.Piecewise, number: int, chosen: Val, env: Env) -> None:
    """A later row (not ``otherwise``) that holds here too must give the same value: rows
    that overlap and disagree give one point two values, and no order of rows is right."""
    if isinstance(node.cases[number - 1][1], ast.Const) or not _is_rational(chosen):
        return
    for later, (value, cond) in enumerate(node.cases[number:], number + 1):
        if isinstance(cond, ast.Const):
            continue
        try:
            holds = _condition(cond, env)
            other = _value(value, env) if holds.size and bool(np.all(holds)) else None
        except MathError:
            continue
        if other is not None and _is_rational(other) and other.a[0] != chosen.a[0]:
            raise CasesOverlapError(
                f"rows {number} and {later} of your cases both hold here and give different values "
                f"({chosen.a[0]} and {other.a[0]}): one point, two answers; make the conditions exclusive",
                position=node.pos,
            )


def _is_rational(value: Val) -> bool:
    return value.a.shape == (1,) and isinstance(value.a[0], Fraction)


def _tuple(node: ast.TupleLit, env: Env) -> Val:
    if len(node.items) == 1:
        return _value(node.items[0], env)
    raise EvalError("a list of several formulas cannot be evaluated as one value", position=node.pos)


_DISPATCH: dict[type, Callable[[Any, Env], Val]] = {
    ast.Num: _num,
    ast.Const: _const,
    ast.Sym: _sym,
    ast.Neg: _neg,
    ast.BinOp: _binop,
    ast.Transpose: _transpose,
    ast.Prime: _prime,
    ast.Call: _call,
    ast.Index: _index,
    ast.ListLit: _list,
    ast.Matrix: _matrix,
    ast.Relation: _relation,
    ast.Logic: _logic,
    ast.Piecewise: _piecewise,
    ast.TupleLit: _tuple,
}
