"""Steps between vectors and matrices shown by writing them out with symbolic entries.

``\\mathbf{x}^\\top \\mathbf{y} = \\frac{1}{2}((\\mathbf{x}+\\mathbf{y})^\\top(\\mathbf{x}+\\mathbf{y})
- \\mathbf{x}^\\top\\mathbf{x} - \\mathbf{y}^\\top\\mathbf{y})`` holds for vectors of every size: with
``x`` and ``y`` written out as columns of 2 and then 3 symbolic entries, the two sides are the
same polynomials of those entries (sympy's ``expand``, exact). The step is then shown by
probes (the sizes tried, not a proof for every size), never refuted this way: the sizes a
write-up means are not known, so a point where it fails at one size is no witness.

Each side is parsed with grader's own parser (never sympify); sympy only does the arithmetic
of the matrices built here. Which names are arrays: those written bold (``\\mathbf{x}``),
transposed (``x^\\top``, and ``x^T`` when ``T`` is nowhere else), inside a norm, and single
capital letters (matrices). Vectors are columns of ``n`` entries, matrices ``n`` by ``n``
(an identity that holds for every square size holds for every shape: pad with zeros); a
``1 x 1`` result (``x^\\top y``) is a scalar. Anything else (entries, literals, functions of
arrays but the norm of a vector) leaves the step to the other readings.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from grader.mathlang import ast
from grader.mathlang.errors import MathError
from grader.mathlang.parser import parse
from grader.steps import polys
from grader.steps.read import LETTERS, Context, normalize, unreadable

SIZES = (2, 3)
MAX_NODES = 200  # a side larger than this is not written out (student input is hostile)
MAX_POWER = 8
_BOLD = re.compile(r"\\(?:mathbf|boldsymbol|bm|vec)\s*\{\s*([A-Za-z])\s*\}")
_TRANSPOSE_T = re.compile(r"\^\s*(?:\{\s*T\s*\}|T(?![A-Za-z]))")
_T_ELSEWHERE = re.compile(r"(?<![\^A-Za-z\\{])T(?![A-Za-z])")
_CAPITAL = re.compile(r"[A-Z]")
_NOT_MATRICES = frozenset("TNLMCZRDdn")  # sizes, sets and counts more often than matrices
_SCALAR_CALLS = ("exp", "log", "sqrt", "abs", "tanh")  # sympy's functions of these names (Abs for abs)
_PRODUCTS = ("implicit", "cdot", "dot", "matmul", "times")
_SUPERSCRIPT_INDEX = re.compile(r"\^\s*\{\s*\(\s*[A-Za-z0-9]+\s*\)\s*\}")
_ENVIRONMENT = re.compile(r"\\(?:begin|end)\s*\{\s*[bpvBV]?matrix\s*\}")


class NotArrays(Exception):
    """The step is not arithmetic of vectors and matrices this module covers."""


def shown_at_sizes(left: str, right: str, context: Context) -> str | None:
    """The sizes at which ``left = right`` was shown with symbolic entries, or None.

    Each size is decided by grader's own exact arithmetic of polynomials in the entries
    (:mod:`grader.steps.polys`: Fractions, no sympy); only a side that arithmetic does not
    cover (a division by a sum, a function of arrays it cannot tell apart) is written out
    with sympy, as before."""
    try:
        sides = [_read(left, context), _read(right, context)]
    except (NotArrays, MathError):
        return None
    if any(sum(1 for _ in ast.walk(side)) > MAX_NODES for side, _ in sides):
        return None
    names = ast.free_names(sides[0][0]) | ast.free_names(sides[1][0])
    bold = sides[0][1] | sides[1][1]
    arrays = {n for n in names if _is_array(n, bold)} | _transposed_or_normed(sides[0][0], sides[1][0])
    if not arrays:
        return None
    try:
        for n in SIZES:
            if not polys.equal_at_size(sides[0][0], sides[1][0], names, arrays, n):
                return None
        return _said(SIZES)
    except (polys.Shapes, polys.TooLarge):
        return None  # shapes that do not fit, or entries too large to expand (hostile input)
    except polys.NotCovered:
        pass  # written out with sympy below
    except (NotArrays, KeyError, ValueError, ZeroDivisionError, RecursionError):
        return None
    return _sympy_shown(sides[0][0], sides[1][0], names, arrays)


def _said(sizes: tuple[int, ...]) -> str:
    return ", ".join(str(n) for n in sizes[:-1]) + f" and {sizes[-1]}" if len(sizes) > 1 else str(sizes[0])


def _sympy_shown(left: ast.Node, right: ast.Node, names: set[str], arrays: set[str]) -> str | None:
    """The sizes shown with sympy's ``expand`` (a third of a second to import), or None."""
    import sympy

    try:
        for n in SIZES:
            values = _values(names, arrays, n)
            a, b = _value(left, values), _value(right, values)
            if not _equal(a, b):
                return None
    except (NotArrays, TypeError, ValueError, ZeroDivisionError, sympy.ShapeError, RecursionError):
        return None
    return _said(SIZES)


_EUCLIDEAN = re.compile(r"(\\\||\\rVert)\s*_\s*(?:\{\s*2\s*\}|2(?!\d))")


def _read(text: str, context: Context, superscripts: bool = False) -> tuple[ast.Node, set[str]]:
    """The side parsed, and the base letters written bold; NotArrays when it holds notation
    out of scope other than arrays (a function not defined here, a sum, a limit...; names
    with a superscript index, ``\\mathbf{x}^{(i)}``, only when ``superscripts``)."""
    bold = {m.group(1) for m in _BOLD.finditer(text)}
    text = re.sub(r",\s*(?=\\\\|\\end\s*\{)", " ", text)  # [a] \cdot [b], \\ ...: a row's trailing comma
    text = _EUCLIDEAN.sub(r"\1", text)  # \|x\|_2 of a column: the norm read (a matrix's is not)
    if not _T_ELSEWHERE.search(_TRANSPOSE_T.sub(" ", text)):
        text = _TRANSPOSE_T.sub(r"^{\\top}", text)
    shown = normalize(text)
    plain = _ENVIRONMENT.sub(" ", shown)  # a matrix environment's name is no word
    if superscripts:
        plain = _SUPERSCRIPT_INDEX.sub(" ", plain)
    why = unreadable(plain, replace(context, arrays=frozenset({"*"})))
    if why:
        raise NotArrays(why)
    functions = tuple(context.functions)
    first = parse(shown, functions=functions)
    names = {n for n in ast.free_names(first) if "_" in n}
    node = parse(shown, symbols=(*LETTERS, *names), functions=functions)
    return node, bold


def _is_array(name: str, bold: set[str]) -> bool:
    base = re.split(r"[_^]", name)[0]
    return base in bold or (len(base) == 1 and _CAPITAL.match(base) is not None and base not in _NOT_MATRICES)


def _transposed_or_normed(*nodes: ast.Node) -> set[str]:
    out: set[str] = set()
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Transpose) or (isinstance(sub, ast.Call) and sub.name == "norm"):
                inner = sub.operand if isinstance(sub, ast.Transpose) else sub.args[0]
                out |= {n for n in ast.free_names(inner) if not _CAPITAL.match(n.split("_")[0])}
    return out


def _values(names: set[str], arrays: set[str], n: int) -> dict[str, Any]:
    import sympy

    values: dict[str, Any] = {}
    for name in sorted(names):
        if name not in arrays:
            values[name] = sympy.Symbol(name, real=True)
        elif _CAPITAL.match(name.split("_")[0]):
            values[name] = sympy.Matrix(n, n, lambda i, j, s=name: sympy.Symbol(f"{s}[{i},{j}]", real=True))
        else:
            values[name] = sympy.Matrix(n, 1, lambda i, _j, s=name: sympy.Symbol(f"{s}[{i}]", real=True))
    return values


def _scalar(v: Any) -> Any:
    """A 1 x 1 matrix as its entry; a scalar as itself; a larger matrix as itself."""
    import sympy

    if isinstance(v, sympy.MatrixBase) and v.shape == (1, 1):
        return v[0, 0]
    return v


def _is_matrix(v: Any) -> bool:
    import sympy

    return isinstance(v, sympy.MatrixBase)


def _value(node: ast.Node, values: dict[str, Any]) -> Any:  # noqa: C901, PLR0911, PLR0912
    import sympy

    if isinstance(node, ast.Num):
        return sympy.Rational(node.value.numerator, node.value.denominator)
    if isinstance(node, ast.Sym):
        return values[node.name]
    if isinstance(node, ast.Const) and node.name in ("e", "pi"):
        return sympy.E if node.name == "e" else sympy.pi
    if isinstance(node, ast.Neg):
        return -_value(node.operand, values)
    if isinstance(node, ast.Transpose):
        v = _value(node.operand, values)
        return v.T if _is_matrix(v) else v
    if isinstance(node, ast.Call):
        args = [_scalar(_value(a, values)) for a in node.args]
        if node.name == "norm" and len(args) == 1 and _is_matrix(args[0]) and args[0].shape[1] == 1:
            return sympy.sqrt(sum(e**2 for e in args[0]))
        if node.name in _SCALAR_CALLS and len(args) == 1 and not _is_matrix(args[0]):
            return getattr(sympy, "Abs" if node.name == "abs" else node.name)(args[0])
        raise NotArrays(node.name)
    if isinstance(node, ast.BinOp):
        a, b = _scalar(_value(node.left, values)), _scalar(_value(node.right, values))
        if node.op in ("+", "-"):
            if _is_matrix(a) != _is_matrix(b):
                raise NotArrays("a scalar added to an array")
            return a + b if node.op == "+" else a - b
        if node.op in _PRODUCTS or node.op == "star":
            if _is_matrix(a) and _is_matrix(b):
                if node.op == "star":
                    raise NotArrays("* between arrays")
                return a * b  # sympy raises ShapeError where the shapes do not fit
            return a * b
        if node.op == "/" and not _is_matrix(b):
            return a / b
        if node.op == "^" and not _is_matrix(a) and not _is_matrix(b):
            if getattr(b, "is_Integer", False) and abs(int(b)) > MAX_POWER:
                raise NotArrays("a power too large to write out")
            return a**b
    raise NotArrays(type(node).__name__)


def _equal(a: Any, b: Any) -> bool:
    import sympy

    a, b = _scalar(a), _scalar(b)
    if _is_matrix(a) != _is_matrix(b):
        return False
    if _is_matrix(a):
        if a.shape != b.shape:
            return False
        return all(sympy.expand(x - y) == 0 for x, y in zip(a, b, strict=True))
    return bool(sympy.expand(a - b) == 0)


_NUMBERS = r"\[\s*(-?\d+(?:\s*,\s*-?\d+)*)\s*\]"
_CONVOLVED = re.compile(rf"^\s*{_NUMBERS}\s*\*\s*{_NUMBERS}\s*$")
MAX_CONVOLVED = 64  # entries of a signal or a kernel convolved


def convolved(side: str, mode: str, flipped: bool) -> str | None:
    """``[1, 2, 3, 4] * [1, 0, 2]`` (whole numbers) as the list its 1-D convolution gives:
    ``full`` (every overlap), ``valid`` (the kernel inside the signal), ``same`` (the full
    one's middle, as long as the signal: None when an even kernel's two middles differ); the
    kernel flipped or not. None for another side."""
    m = _CONVOLVED.match(side)
    if m is None:
        return None
    signal = [int(v) for v in m.group(1).split(",")]
    kernel = [int(v) for v in m.group(2).split(",")]
    if not 1 <= len(kernel) <= len(signal) <= MAX_CONVOLVED:
        return None
    weights = kernel if flipped else kernel[::-1]  # a flipped kernel: the convolution proper
    full = [
        sum(signal[i - j] * weights[j] for j in range(len(weights)) if 0 <= i - j < len(signal))
        for i in range(len(signal) + len(weights) - 1)
    ]
    if mode == "valid":
        out = full[len(kernel) - 1 : len(signal)]
    elif mode == "same":  # an even kernel: numpy keeps the full one's start, MATLAB its end
        starts = {(len(kernel) - 1) // 2, len(kernel) // 2}
        outs = {tuple(full[start : start + len(signal)]) for start in starts}
        if len(outs) != 1:
            return None
        out = list(outs.pop())
    else:
        out = full
    return "[" + ", ".join(str(v) for v in out) + "]"
