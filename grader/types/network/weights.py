"""A student's answer to a ``network`` part: ``impossible`` or weights for its params.

:func:`read_answer` reads ``impossible`` or a mapping of the part's params:
numbers, YAML lists, ``[1, -1]``, ``[m, 0]^T``, ``[1 \\quad 1]``, LaTeX
matrices, formulas in the part's symbols (``-1/8``, ``2b``). Exact text stays
exact (``0.1`` is 1/10; the answer is flagged ``inexact`` so comparisons use the
part's tolerance). Shapes are checked against ``params`` with free widths
(``[d]``) bound by the first param that fixes them; a 1-D list, a row and a
column are the same vector.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from grader.core.nested import flatten, nested_shape
from grader.core.numeric import read_plain_number, strip_math_delimiters
from grader.core.verdict import AnswerError
from grader.mathlang import ast
from grader.mathlang.constant import constant_value
from grader.mathlang.errors import EvalError, MathError
from grader.mathlang.evaluate import NotExactError, evaluate, evaluate_exact
from grader.mathlang.parser import parse
from grader.mathlang.wording import shape_with_article
from grader.networks.intervals import as_num
from grader.types.network.compile import Compiled, exact_decimal
from grader.types.network.feedback import join_names

MAX_ENTRIES = 10_000  # per param

Scalar = Fraction | float


class Impossible:
    """The answer ``impossible``."""

    def __repr__(self) -> str:
        return "IMPOSSIBLE"


IMPOSSIBLE = Impossible()

_IMPOSSIBLE_WORDS = re.compile(
    r"\b(impossible|infeasible|not\s+possible|no\s+such|no\s+solution|can\s*not\s+exist|"
    r"do(?:es)?\s+not\s+exist|do(?:es)?n[’']t\s+exist|cannot\s+be\s+(?:done|represented))\b",
    re.IGNORECASE,
)


def is_impossible(answer: Any) -> bool:
    """``impossible`` in any case, with surrounding words (``impossible: no such weights``)."""
    if isinstance(answer, Impossible):
        return True
    if isinstance(answer, Mapping) and len(answer) == 1:
        ((key, value),) = answer.items()
        return str(key).strip().lower() == "impossible" and value is True
    if not isinstance(answer, str):
        return False
    text = re.sub(r"\\(?:text|mathrm|textbf|emph)\{([^{}]*)\}", r"\1", strip_math_delimiters(answer.strip()))
    if re.search(r"\bnot\s+impossible\b", text, re.IGNORECASE):
        return False
    return bool(_IMPOSSIBLE_WORDS.search(text))


@dataclass
class Weights:
    """A student's weights: per param an object array of the declared shape whose
    entries are Fractions, floats (irrational constants) or formula trees in the
    part's symbols."""

    arrays: dict[str, np.ndarray]
    dims: dict[str, int]
    symbolic: bool
    inexact: bool

    def exact(self, symvals: Mapping[str, Any]) -> dict[str, Any]:
        """The weights at these symbol values: Fractions (floats where irrational)."""
        if not self.symbolic:  # every entry is a number already
            return {name: arr[()] if arr.ndim == 0 else arr.copy() for name, arr in self.arrays.items()}
        return {
            name: _map_entries(arr, lambda v: _entry_exact(v, symvals)) for name, arr in self.arrays.items()
        }

    def floats(self, symvals: Mapping[str, Any]) -> dict[str, Any]:
        fv = {k: float(v) for k, v in symvals.items()}
        out: dict[str, Any] = {}
        for name, arr in self.arrays.items():
            vals = _map_entries(arr, lambda v: _entry_float(v, fv))
            out[name] = np.asarray(vals, dtype=float) if isinstance(vals, np.ndarray) else float(vals)
        return out

    def units(self) -> int:
        return max((int(a.size) for a in self.arrays.values()), default=0)


def _map_entries(arr: np.ndarray, fn: Any) -> Any:
    if arr.ndim == 0:
        return fn(arr[()])
    out = np.empty(arr.shape, dtype=object)
    for idx, v in np.ndenumerate(arr):
        out[idx] = fn(v)
    return out


def _entry_exact(v: Any, symvals: Mapping[str, Any]) -> Scalar:
    if not isinstance(v, ast.Node):
        return v
    try:
        value = evaluate_exact(v, symvals)
    except NotExactError:
        return float(evaluate(v, {k: float(x) for k, x in symvals.items()}))
    if isinstance(value, np.ndarray | bool | np.bool_):
        raise EvalError("a weight must be a number", position=v.pos)
    return as_num(value)


def _entry_float(v: Any, symvals: Mapping[str, float]) -> float:
    if isinstance(v, ast.Node):
        return float(evaluate(v, symvals))
    return float(v)


def read_answer(comp: Compiled, answer: Any) -> Weights | Impossible:
    """``IMPOSSIBLE`` or the weights; AnswerError (status invalid) when unreadable."""
    if isinstance(answer, str):
        try:
            return read_weights(comp, _assignments(comp, answer))
        except AnswerError:
            if is_impossible(answer):
                return IMPOSSIBLE
            raise
    if is_impossible(answer):
        return IMPOSSIBLE
    if isinstance(answer, Mapping):
        mapping = dict(answer)
    else:
        raise AnswerError(_expected(comp, f"got {_kind(answer)}"))
    return read_weights(comp, mapping)


def _expected(comp: Compiled, why: str) -> str:
    names = comp.param_names
    example = ", ".join(f"{n}: [...]" for n in names)
    return (
        f"expected values for {join_names(names)} (for example {{{example}}}), "
        f"or `impossible` if no such weights exist; {why}"
    )


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, int | float):
        return "a number"
    return f"a {type(value).__name__}"


def _assignments(comp: Compiled, text: str) -> dict[str, Any]:
    """``w_0 = [1, -1], w_1 = [1, -1]`` (also ``w0: [..]``, one per line, in braces)
    as a mapping; else a clear AnswerError."""
    body = strip_math_delimiters(text.strip())
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    body = _KEY_COLON.sub(r"\1\2 =", body)
    why = "got text that does not give them"
    out: dict[str, Any] = {}
    for chunk in _top_level_split(body):
        chunk = strip_math_delimiters(chunk.strip().rstrip(",").strip())
        if not chunk:
            continue
        try:
            node = parse(chunk, symbols=(*comp.symbols, *comp.param_names), functions=comp.fnames)
        except MathError:
            raise AnswerError(_expected(comp, why)) from None
        items = list(node.items) if isinstance(node, ast.TupleLit) else [node]
        if isinstance(node, ast.Logic) and node.op == "and":
            items = list(node.operands)
        for item in items:
            if not (isinstance(item, ast.Relation) and item.op == "=" and isinstance(item.left, ast.Sym)):
                raise AnswerError(_expected(comp, why))
            out[item.left.name] = item.right
    if not out:
        raise AnswerError(_expected(comp, why))
    return out


def _top_level_split(text: str) -> list[str]:
    """Split at newlines and semicolons outside brackets and LaTeX environments."""
    chunks: list[str] = []
    depth = 0
    start = 0
    for m in re.finditer(r"\\begin|\\end|\\[{}]|[\[\](){}]|[;\n]", text):
        tok = m.group(0)
        if tok in ("\\begin", "(", "[", "{", "\\{"):
            depth += 1
        elif tok in ("\\end", ")", "]", "}", "\\}"):
            depth = max(0, depth - 1)
        elif depth == 0:
            chunks.append(text[start : m.start()])
            start = m.end()
    chunks.append(text[start:])
    return chunks


_KEY_COLON = re.compile(r"(^|[,;\n{]\s*)([A-Za-z\\][\w\\{}^()]*)\s*:(?!=)")


def _norm_key(key: str) -> str:
    key = re.sub(r"\\(?:mathbf|boldsymbol|bm|vec|mathrm|mathit)\b", "", key)
    return re.sub(r"[\s{}_\\$()^]", "", key)


def read_weights(comp: Compiled, mapping: Mapping[Any, Any]) -> Weights:
    """The weights of a mapping answer (see the module doc)."""
    given = _given(comp, mapping)
    widths = _Widths()
    flags = {"symbolic": False, "inexact": False}
    arrays: dict[str, np.ndarray] = {}
    for name, declared in comp.params:
        nested = _nested(comp, name, given[name], flags)
        flat = flatten(nested)
        if len(flat) > MAX_ENTRIES:
            raise AnswerError(f"{name} has {len(flat)} entries; at most {MAX_ENTRIES} are read")
        target_shape = widths.fit(name, nested_shape(nested, name), declared)
        arr = np.empty(len(flat), dtype=object)
        for i, v in enumerate(flat):
            arr[i] = v
        arrays[name] = arr.reshape(target_shape) if target_shape else arr.reshape(())
    return Weights(arrays, widths.dims, flags["symbolic"], flags["inexact"])


def _given(comp: Compiled, mapping: Mapping[Any, Any]) -> dict[str, Any]:
    """The answer's value of each param, its key matched loosely (``w_0``, ``W0``);
    an AnswerError for a key that is no param, a param given twice or left out."""
    wanted = comp.param_names
    by_norm = {_norm_key(n): n for n in wanted}
    lower: dict[str, list[str]] = {}
    for n in wanted:
        lower.setdefault(_norm_key(n).lower(), []).append(n)
    given: dict[str, Any] = {}
    extra: list[str] = []
    for key, value in mapping.items():
        k = _norm_key(str(key))
        name = by_norm.get(k)
        if name is None and len(lower.get(k.lower(), [])) == 1:
            name = lower[k.lower()][0]
        if name is None:
            extra.append(str(key))
        elif name in given:
            raise AnswerError(f"{name} is given twice")
        else:
            given[name] = value
    if extra:
        raise AnswerError(
            f"{join_names(extra)} {'is not a parameter' if len(extra) == 1 else 'are not parameters'} "
            f"of this network; it has {join_names(wanted)}"
        )
    missing = [n for n in wanted if n not in given]
    if missing:
        raise AnswerError(f"missing {join_names(missing)}: this part needs values for {join_names(wanted)}")
    return given


def _nested(comp: Compiled, name: str, value: Any, flags: dict[str, bool]) -> Any:
    """Nested lists of leaf values (Fraction, float or a formula tree)."""
    if isinstance(value, bool) or value is None:
        raise AnswerError(f"{name}: expected numbers, got {str(value).lower()}")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not np.isfinite(value):
            raise AnswerError(f"{name}: {value} is not a finite number")
        flags["inexact"] = True
        return exact_decimal(value)
    if isinstance(value, list | tuple):
        if not value:
            raise AnswerError(f"{name} is empty")
        return [_nested(comp, name, v, flags) for v in value]
    if isinstance(value, ast.Node):
        return _from_node(comp, name, value, "", flags)
    if isinstance(value, str):
        return _from_text(comp, name, value, flags)
    raise AnswerError(f"{name}: expected numbers or a list of numbers, got {_kind(value)}")


def _from_text(comp: Compiled, name: str, value: str, flags: dict[str, bool]) -> Any:
    text = strip_math_delimiters(value.strip())
    plain = read_plain_number(text, thousands=False)  # "1,024" stays two weights
    if plain is not None:
        flags["inexact"] = flags["inexact"] or plain.decimal
        return plain.value
    try:
        node = parse(text, symbols=tuple(comp.symbols), functions=comp.fnames)
    except MathError as err:
        raise AnswerError(f"{name}: {err.message}", text, err.position) from None
    return _from_node(comp, name, node, text, flags)


def _from_node(comp: Compiled, name: str, node: ast.Node, text: str, flags: dict[str, bool]) -> Any:
    match node:
        case ast.Transpose(operand=inner):
            return _transposed(_from_node(comp, name, inner, text, flags))
        case ast.ListLit(items=items) | ast.TupleLit(items=items):
            return [_from_node(comp, name, item, text, flags) for item in items]
        case ast.Matrix(rows=rows):
            if len(rows) > 1 and all(len(r) == 1 for r in rows):  # a column
                return [[_from_node(comp, name, r[0], text, flags)] for r in rows]
            return [[_from_node(comp, name, item, text, flags) for item in row] for row in rows]
        case _:
            return _leaf(comp, name, node, text, flags)


def _transposed(nested: Any) -> Any:
    """``[1, 2]^T`` is a column; a matrix's transpose swaps rows and columns."""
    if not isinstance(nested, list):
        return nested
    if not isinstance(nested[0], list):
        return [[item] for item in nested]
    return [list(col) for col in zip(*nested, strict=True)]


def _leaf(comp: Compiled, name: str, node: ast.Node, text: str, flags: dict[str, bool]) -> Any:
    if any(isinstance(n, ast.Num) and n.is_float for n in ast.walk(node)):
        flags["inexact"] = True
    free = ast.free_names(node)
    unknown = sorted(free - set(comp.symbols))
    if unknown:
        bad = next(n for n in ast.walk(node) if isinstance(n, ast.Sym) and n.name == unknown[0])
        if comp.symbols:
            allowed = f"this part's weights may use {join_names(list(comp.symbols))}"
        else:
            allowed = "this part's weights must be numbers"
        raise AnswerError(f"{name}: unknown symbol '{unknown[0]}'; {allowed}", text or None, bad.pos)
    if free:
        flags["symbolic"] = True
        return node
    try:
        value = constant_value(node)
    except MathError as err:
        raise AnswerError(f"{name}: {err.message}", text or None, err.position) from None
    if isinstance(value, float):
        flags["inexact"] = True
        if not np.isfinite(value):
            raise AnswerError(f"{name}: an entry is not a finite number", text or None, node.pos)
    return value


def _vector_like(shape: Sequence[int | str]) -> bool:
    return sum(1 for s in shape if s != 1) <= 1


@dataclass
class _Widths:
    """The free widths of the params (``d`` in ``[d]``) bound so far, and which param bound each."""

    dims: dict[str, int] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)

    def resolved(self, d: int | str) -> int | str:
        return self.dims[d] if isinstance(d, str) and d in self.dims else d

    def bind(self, name: str, pairs: Iterable[tuple[int | str, int]]) -> bool:
        """Whether the sizes fit the declared dims; binds the free ones when they do."""
        new: dict[str, int] = {}
        for d, n in pairs:
            if isinstance(d, int):
                if d != n:
                    return False
            elif new.setdefault(d, n) != n:
                return False
        for d, n in new.items():
            self.dims[d] = n
            self.origin[d] = name
        return True

    def fit(self, name: str, shape: tuple[int, ...], declared: tuple[int | str, ...]) -> tuple[int, ...]:
        """The resolved declared shape for a value of ``shape`` (a 1-D list, a row and a
        column are the same vector); binds free dims."""
        decl = tuple(self.resolved(d) for d in declared)
        if len(shape) == len(decl) and self.bind(name, zip(decl, shape, strict=True)):
            return tuple(int(self.resolved(d)) for d in declared)
        if _vector_like(decl) and _vector_like(shape):
            size = int(np.prod(shape)) if shape else 1
            big = [d for d in decl if d != 1]
            if not big and size == 1:
                return tuple(1 for _ in decl)
            if big and self.bind(name, [(big[0], size)]):
                return tuple(int(self.resolved(d)) for d in declared)
        raise AnswerError(self.mismatch(name, shape, declared))

    def mismatch(self, name: str, shape: tuple[int, ...], declared: tuple[int | str, ...]) -> str:
        got = shape_with_article(shape)
        want = shape_with_article(declared)
        bound = [d for d in declared if isinstance(d, str) and d in self.dims]
        if bound:
            notes = ", ".join(f"{d} = {self.dims[d]} from {self.origin[d]}" for d in dict.fromkeys(bound))
            decl = tuple(self.resolved(d) for d in declared)
            want += f" ({notes}, so {shape_with_article(decl).split(' ', 1)[1]})"
        entries = f" ({int(np.prod(shape))} entries)" if shape else ""
        return f"{name} is {got}{entries}; this part asks for {want}"
