"""From a ``network`` part and a student's answer to functions that can be compared.

* :func:`compile_part` parses the part's model, target and predicate once
  (cached per part text) and checks that they only use the part's names.
* :func:`read_answer` reads ``impossible`` or a mapping of the part's params:
  numbers, YAML lists, ``[1, -1]``, ``[m, 0]^T``, ``[1 \\quad 1]``, LaTeX
  matrices, formulas in the part's symbols (``-1/8``, ``2b``). Exact text stays
  exact (``0.1`` is 1/10; the answer is flagged ``inexact`` so comparisons may
  use the part's tolerances). Shapes are checked against ``params`` with free
  widths (``[d]``) bound by the first param that fixes them; a 1-D list, a row
  and a column are the same vector.
* :func:`exact_value` evaluates a formula with the evaluator's exact backend;
  when an input is a :class:`~grader.networks.pl.PL` it also handles
  ``piecewise`` and relations (the evaluator cannot order PL values): each
  ``piecewise`` node becomes ``PL.from_cases`` with its conditions as exact
  :class:`~grader.networks.intervals.Region` objects from
  :func:`~grader.networks.pl.where`.
* Float evaluation (batched), sympy conversion and the first layer's
  hyperplanes (for region probes) are here too.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from grader.core.cache import PartCache
from grader.core.nested import flatten, nested_shape
from grader.core.numeric import strip_math_delimiters
from grader.core.verdict import AnswerError, CheckUndecided
from grader.mathlang import ast
from grader.mathlang.domains import SymbolDomain
from grader.mathlang.errors import EvalError, MathError, ShapeError
from grader.mathlang.evaluate import (
    NotExactError,
    compile_functions,
    constant_value,
    evaluate,
    evaluate_exact,
    function_names,
)
from grader.mathlang.values import FunctionDef, Val
from grader.networks.intervals import Region, as_num
from grader.networks.pl import PL, NonLinearError, piecewise, where
from grader.types.network.part import NetworkPart

MAX_ENTRIES = 10_000  # per param
CACHE_SIZE = 128
ACTIVATIONS = frozenset(
    {"relu", "leaky_relu", "abs", "heaviside", "sigmoid", "tanh", "softplus", "max", "min", "sign"}
)

Scalar = Fraction | float


class NotPiecewiseLinear(Exception):
    """The formula is not piecewise linear in its input (x^2, sigmoid, ...)."""


# ---- the compiled part -----------------------------------------------------------


@dataclass
class Compiled:
    """A network part, parsed once."""

    part: NetworkPart
    inputs: tuple[str, ...]
    params: tuple[tuple[str, tuple[int | str, ...]], ...]
    symbols: dict[str, SymbolDomain]
    functions: dict[str, FunctionDef]
    fnames: tuple[str, ...]
    model: ast.Node
    target: ast.Node | None
    predicate: ast.Node | None
    predicate_text: str
    domain: tuple[Fraction, Fraction] | None
    epsilon: Fraction | None
    seed: int
    cache: dict[Any, Any] = field(default_factory=dict)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.params)

    @property
    def one_input(self) -> bool:
        return len(self.inputs) == 1

    def names_text(self) -> str:
        return join_names(self.param_names)


def compile_part(part: NetworkPart) -> Compiled:
    """The parsed part (cached by its text); CheckUndecided when the part itself is broken."""
    return _COMPILED.get(part)


def _compile(part: NetworkPart, key: str) -> Compiled:
    from grader.mathlang.parser import parse

    inputs = (part.input,) if isinstance(part.input, str) else tuple(part.input)
    params = tuple((str(k), tuple(v)) for k, v in part.params.items())
    symbols = {str(k): v for k, v in part.symbols.items()}
    names = tuple(dict.fromkeys([*inputs, *(p for p, _ in params), *symbols]))
    try:
        functions = compile_functions(part.functions, names)
    except MathError as err:
        raise CheckUndecided(f"the part's functions cannot be read: {err.render()}") from None
    fnames = function_names(part.functions, names)

    def read(text: str, what: str, allowed: Iterable[str]) -> ast.Node:
        try:
            node = parse(str(text), symbols=names, functions=fnames)
        except MathError as err:
            raise CheckUndecided(f"the part's {what} cannot be read: {err.render()}") from None
        unknown = ast.free_names(node) - set(allowed)
        if unknown:
            raise CheckUndecided(
                f"the part's {what} uses {join_names(sorted(unknown))}, which the part does not declare"
            )
        return node

    model = read(part.model, "model", names)
    target = read(part.target, "target", [*inputs, *symbols]) if part.target is not None else None
    predicate = None
    if part.positive_when is not None:
        predicate = read(part.positive_when, "positive_when", [*inputs, *symbols])
    domain = None
    if part.domain != "all":
        lo, hi = (exact_decimal(v) for v in part.domain)
        if lo >= hi:
            raise CheckUndecided(f"the part's domain [{part.domain[0]}, {part.domain[1]}] is empty")
        domain = (lo, hi)
    epsilon = exact_decimal(part.epsilon) if part.epsilon is not None else None
    from grader.mathlang.sampling import seed_for

    return Compiled(
        part=part,
        inputs=inputs,
        params=params,
        symbols=symbols,
        functions=functions,
        fnames=fnames,
        model=model,
        target=target,
        predicate=predicate,
        predicate_text=str(part.positive_when or ""),
        domain=domain,
        epsilon=epsilon,
        seed=seed_for(key),
    )


def exact_decimal(value: object) -> Fraction:
    """A number as the decimal it was written as: the float 0.01 is 1/100, not 0.01000000000000000020816."""
    if isinstance(value, float):
        return Fraction(repr(value))
    return Fraction(as_num(value))


def join_names(names: Sequence[str]) -> str:
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


# ---- reading an answer --------------------------------------------------------------


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
    from grader.mathlang.parser import parse

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
    missing = [n for n in wanted if n not in given]
    if extra:
        raise AnswerError(
            f"{join_names(extra)} {'is not a parameter' if len(extra) == 1 else 'are not parameters'} "
            f"of this network; it has {join_names(wanted)}"
        )
    if missing:
        raise AnswerError(f"missing {join_names(missing)}: this part needs values for {join_names(wanted)}")
    dims: dict[str, int] = {}
    origin: dict[str, str] = {}
    arrays: dict[str, np.ndarray] = {}
    flags = {"symbolic": False, "inexact": False}
    for name, declared in comp.params:
        nested = _nested(comp, name, given[name], flags)
        shape = nested_shape(nested, name)
        flat = flatten(nested)
        if len(flat) > MAX_ENTRIES:
            raise AnswerError(f"{name} has {len(flat)} entries; at most {MAX_ENTRIES} are read")
        target_shape = _fit(name, shape, declared, dims, origin)
        arr = np.empty(len(flat), dtype=object)
        for i, v in enumerate(flat):
            arr[i] = v
        arrays[name] = arr.reshape(target_shape) if target_shape else arr.reshape(())
    return Weights(arrays, dims, flags["symbolic"], flags["inexact"])


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
        from grader.mathlang.parser import parse

        text = strip_math_delimiters(value.strip())
        plain = _PLAIN_NUMBER.match(text) if len(text) < 40 and "e" not in text.lower() else None
        if plain is not None:
            head, den = plain.group(1), plain.group(2)
            decimal = any(c in head for c in ".eE")
            if den is None:
                flags["inexact"] = flags["inexact"] or decimal
                return Fraction(head)
            if not decimal and int(den) != 0:
                return Fraction(int(head), int(den))
        try:
            node = parse(text, symbols=tuple(comp.symbols), functions=comp.fnames)
        except MathError as err:
            raise AnswerError(f"{name}: {err.message}", text, err.position) from None
        return _from_node(comp, name, node, text, flags)
    raise AnswerError(f"{name}: expected numbers or a list of numbers, got {_kind(value)}")


_PLAIN_NUMBER = re.compile(r"^([+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)(?:\s*/\s*(\d+))?$")


def _from_node(comp: Compiled, name: str, node: ast.Node, text: str, flags: dict[str, bool]) -> Any:
    match node:
        case ast.Transpose(operand=inner):
            nested = _from_node(comp, name, inner, text, flags)
            if not isinstance(nested, list):
                return nested
            if not isinstance(nested[0], list):
                return [[item] for item in nested]
            return [list(col) for col in zip(*nested, strict=True)]
        case ast.ListLit(items=items) | ast.TupleLit(items=items):
            return [_from_node(comp, name, item, text, flags) for item in items]
        case ast.Matrix(rows=rows):
            if len(rows) > 1 and all(len(r) == 1 for r in rows):  # a column
                return [[_from_node(comp, name, r[0], text, flags)] for r in rows]
            return [[_from_node(comp, name, item, text, flags) for item in row] for row in rows]
        case _:
            return _leaf(comp, name, node, text, flags)


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


def describe_shape(shape: Sequence[int | str]) -> str:
    """``a number``, ``a 3-vector``, ``an 8-vector``, ``a 2×3 matrix``."""
    if not shape:
        return "a number"
    if len(shape) == 1:
        text = f"{shape[0]}-vector"
    else:
        kind = "matrix" if len(shape) == 2 else "array"
        text = "×".join(str(s) for s in shape) + f" {kind}"
    return f"{_article(text)} {text}"


def _article(text: str) -> str:
    """``an`` before a sound starting with a vowel: 8, 11, 18, n, m, x, a..."""
    head = re.match(r"[0-9]+|[A-Za-z]+", text)
    word = head.group(0) if head else text
    if word.isdigit():
        vowel = word.startswith("8") or (len(word) in (2, 5, 8) and word[:2] in ("11", "18"))
    elif len(word) == 1:
        vowel = word.lower() in "aefhilmnorsx"
    else:
        vowel = word[0].lower() in "aeiou"
    return "an" if vowel else "a"


def _vector_like(shape: Sequence[int | str]) -> bool:
    return sum(1 for s in shape if s != 1) <= 1


def _fit(
    name: str,
    shape: tuple[int, ...],
    declared: tuple[int | str, ...],
    dims: dict[str, int],
    origin: dict[str, str],
) -> tuple[int, ...]:
    """The resolved declared shape for a value of ``shape``; binds free dims."""

    def resolved(d: int | str) -> int | str:
        if isinstance(d, str) and d in dims:
            return dims[d]
        return d

    decl = tuple(resolved(d) for d in declared)

    def bind(pairs: Iterable[tuple[int | str, int]]) -> bool:
        new: dict[str, int] = {}
        for d, n in pairs:
            if isinstance(d, int):
                if d != n:
                    return False
            elif new.setdefault(d, n) != n:
                return False
        for d, n in new.items():
            dims[d] = n
            origin[d] = name
        return True

    if len(shape) == len(decl) and bind(zip(decl, shape, strict=True)):
        return tuple(int(resolved(d)) for d in declared)
    size = int(np.prod(shape)) if shape else 1
    if _vector_like(decl) and _vector_like(shape):
        big = [d for d in decl if d != 1]
        if not big:
            if size == 1:
                return tuple(1 for _ in decl)
        elif bind([(big[0], size)]):
            return tuple(int(resolved(d)) for d in declared)
    raise AnswerError(_shape_message(name, shape, declared, decl, dims, origin))


def _shape_message(
    name: str,
    shape: tuple[int, ...],
    declared: tuple[int | str, ...],
    decl: tuple[int | str, ...],
    dims: dict[str, int],
    origin: dict[str, str],
) -> str:
    got = describe_shape(shape)
    want = describe_shape(declared)
    bound = [d for d in declared if isinstance(d, str) and d in dims]
    if bound:
        notes = ", ".join(f"{d} = {dims[d]} from {origin[d]}" for d in dict.fromkeys(bound))
        want += f" ({notes}, so {describe_shape(decl).split(' ', 1)[1]})"
    entries = f" ({int(np.prod(shape))} entries)" if shape else ""
    return f"{name} is {got}{entries}; this part asks for {want}"


# ---- exact evaluation (numbers or PL) -----------------------------------------------


def has_pl(values: Mapping[str, Any]) -> bool:
    return any(isinstance(v, PL) for v in values.values())


def scalar(value: Any, what: str) -> Any:
    """A one-entry array as its entry; an error for several entries."""
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise CheckUndecided(f"the {what} gives {value.size} values; it must give one number")
        return value.reshape(-1)[0]
    return value


def exact_value(comp: Compiled, node: ast.Node, values: Mapping[str, Any]) -> Any:
    """``node`` with the exact backend; with PL inputs, ``piecewise`` and relations
    are built as exact PLs and Regions here (NotPiecewiseLinear when impossible)."""
    try:
        if not has_pl(values) or not _has_conditions(node):
            return evaluate_exact(node, values, functions=comp.functions)
        if isinstance(node, ast.Piecewise):
            return _piecewise_pl(comp, node, values)
        extra: dict[str, Any] = {}
        rebuilt = _substitute(comp, node, values, extra)
        return evaluate_exact(rebuilt, {**values, **extra}, functions=comp.functions)
    except (NonLinearError, NotExactError) as err:
        if has_pl(values):
            raise NotPiecewiseLinear(str(err)) from None
        raise
    except ShapeError:
        raise
    except EvalError as err:
        if has_pl(values):
            raise NotPiecewiseLinear(err.message) from None
        raise


def _has_conditions(node: ast.Node) -> bool:
    return any(isinstance(n, ast.Piecewise | ast.Relation | ast.Logic) for n in ast.walk(node))


def _piecewise_pl(comp: Compiled, node: ast.Piecewise, values: Mapping[str, Any]) -> Any:
    cases = []
    for value_node, cond in node.cases:
        value = scalar(exact_value(comp, value_node, values), "piecewise formula")
        cases.append((value, region_of(comp, cond, values)))
    try:
        return piecewise(cases)
    except ValueError as err:  # a point no case covers
        raise EvalError(f"the piecewise formula is undefined somewhere: {err}", position=node.pos) from None


def _substitute(comp: Compiled, node: ast.Node, values: Mapping[str, Any], extra: dict[str, Any]) -> ast.Node:
    """``node`` with every piecewise sub-formula replaced by a name bound in ``extra``."""
    if isinstance(node, ast.Piecewise):
        name = f"__piecewise_{len(extra)}"
        extra[name] = _piecewise_pl(comp, node, values)
        return ast.Sym(node.pos, name)
    if not _has_conditions(node):
        return node
    if isinstance(node, ast.Relation | ast.Logic):
        raise NotPiecewiseLinear("a condition outside a piecewise formula")
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if isinstance(value, ast.Node):
            changes[f.name] = _substitute(comp, value, values, extra)
        elif isinstance(value, tuple) and value and all(isinstance(v, ast.Node) for v in value):
            changes[f.name] = tuple(_substitute(comp, v, values, extra) for v in value)
    return dataclasses.replace(node, **changes)


def region_of(comp: Compiled, cond: ast.Node, values: Mapping[str, Any]) -> Region:
    """The exact set of x where a condition holds (the input a PL in ``values``)."""
    match cond:
        case ast.Const(name="true" | "otherwise"):
            return Region.all()
        case ast.Const(name="false"):
            return Region.empty()
        case ast.Relation(op=op, left=left, right=right):
            lv = scalar(exact_value(comp, left, values), "condition")
            rv = scalar(exact_value(comp, right, values), "condition")
            try:
                return where(op, lv, rv)
            except TypeError:
                raise NotPiecewiseLinear(f"cannot compare in {op}") from None
        case ast.Logic(op="not", operands=ops):
            return ~region_of(comp, ops[0], values)
        case ast.Logic(op="and", operands=ops):
            out = Region.all()
            for o in ops:
                out = out & region_of(comp, o, values)
            return out
        case ast.Logic(op="or", operands=ops):
            out = Region.empty()
            for o in ops:
                out = out | region_of(comp, o, values)
            return out
    value = scalar(exact_value(comp, cond, values), "condition")
    if isinstance(value, bool | np.bool_):
        return Region.all() if value else Region.empty()
    raise EvalError("this is not a condition", position=cond.pos)


def as_pl(value: Any, domain: tuple[Fraction, Fraction] | None = None) -> PL:
    if isinstance(value, PL):
        return value
    if isinstance(value, bool | np.bool_):
        raise NotPiecewiseLinear("a condition, not a function")
    return PL.constant(as_num(value), domain)


def input_pl(comp: Compiled) -> PL:
    return PL.identity(comp.domain)


def model_exact(
    comp: Compiled, wvals: Mapping[str, Any], symvals: Mapping[str, Any], point: Mapping[str, Any]
) -> Any:
    """The network's output (a number, or a PL when the input is a PL)."""
    values = {**symvals, **wvals, **point}
    try:
        out = exact_value(comp, comp.model, values)
    except ShapeError as err:
        raise AnswerError(f"your weights do not fit the network {comp.part.model}: {err.message}") from None
    return scalar(out, "network")


def model_pl(comp: Compiled, wvals: Mapping[str, Any], symvals: Mapping[str, Any]) -> PL:
    x = input_pl(comp)
    return as_pl(model_exact(comp, wvals, symvals, {comp.inputs[0]: x}), comp.domain)


def formula_pl(comp: Compiled, node: ast.Node, symvals: Mapping[str, Any]) -> PL:
    """The target as an exact PL (cached per symbol values), or NotPiecewiseLinear."""
    key = ("pl", id(node), tuple(sorted(symvals.items())))
    hit = comp.cache.get(key)
    if hit is None:
        try:
            value = exact_value(comp, node, {**symvals, comp.inputs[0]: input_pl(comp)})
            hit = as_pl(scalar(value, "target"), comp.domain)
        except NotPiecewiseLinear as err:
            hit = err
        if len(comp.cache) > 512:
            comp.cache.clear()
        comp.cache[key] = hit
    if isinstance(hit, NotPiecewiseLinear):
        raise hit
    return hit


def formula_sympy(comp: Compiled, node: ast.Node) -> Any:
    """The target as a sympy expression (None when it cannot be converted)."""
    key = ("sympy", id(node))
    if key not in comp.cache:
        from grader.mathlang.to_sympy import Unsupported, to_sympy

        try:
            comp.cache[key] = to_sympy(node, domains=comp.symbols, functions=comp.functions)
        except (Unsupported, MathError, TypeError, ValueError):
            comp.cache[key] = None
    return comp.cache[key]


# ---- float evaluation ----------------------------------------------------------------


def _batched(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in values.items():
        out[k] = Val(np.asarray(v, dtype=float)[None, ...]) if isinstance(v, np.ndarray) else float(v)
    return out


def model_floats(
    comp: Compiled, wfloats: Mapping[str, Any], symvals: Mapping[str, Any], points: Mapping[str, np.ndarray]
) -> np.ndarray:
    return formula_floats(comp, comp.model, {**symvals, **wfloats}, points, "network")


def formula_floats(
    comp: Compiled, node: ast.Node, values: Mapping[str, Any], points: Mapping[str, np.ndarray], what: str
) -> np.ndarray:
    """The formula at B points (float64), shape (B,)."""
    batch = len(next(iter(points.values())))
    env_values = {
        **_batched({k: float(v) if not isinstance(v, np.ndarray) else v for k, v in values.items()}),
        **{k: np.asarray(v, dtype=float) for k, v in points.items()},
    }
    try:
        out = evaluate(node, env_values, functions=comp.functions, batch=batch)
    except ShapeError as err:
        raise AnswerError(f"your weights do not fit the network {comp.part.model}: {err.message}") from None
    flat = np.asarray(out, dtype=float).reshape(batch, -1)
    if flat.shape[1] != 1:
        raise CheckUndecided(f"the {what} gives {flat.shape[1]} values; it must give one number")
    return flat[:, 0]


# ---- hyperplanes for region probes -------------------------------------------------------


Plane = tuple[tuple[Fraction, ...], Fraction]


def first_layer(comp: Compiled, wvals: Mapping[str, Any], symvals: Mapping[str, Any]) -> list[Plane]:
    """Hyperplanes where the first layer's units switch: the arguments of the
    innermost activations that depend on the input, when they are affine in it."""
    planes: list[Plane] = []
    values = {**symvals, **wvals}
    for node in _innermost_activation_args(comp, comp.model):
        planes += affine_planes(comp, node, values)
    return planes


def _innermost_activation_args(comp: Compiled, node: ast.Node) -> list[ast.Node]:
    inputs = set(comp.inputs)
    out: list[ast.Node] = []
    for n in ast.walk(node):
        if not (isinstance(n, ast.Call) and _activation(comp, n.name)):
            continue
        for arg in n.args:
            if not (ast.free_names(arg) & inputs):
                continue
            inner = any(
                isinstance(m, ast.Call) and _activation(comp, m.name) and m is not arg for m in ast.walk(arg)
            )
            if not inner:
                out.append(arg)
    return out


def _activation(comp: Compiled, name: str) -> bool:
    fdef = comp.functions.get(name)
    if fdef is not None:
        return fdef.alias in ACTIVATIONS if fdef.alias else True
    return name in ACTIVATIONS


def affine_planes(comp: Compiled, node: ast.Node, values: Mapping[str, Any]) -> list[Plane]:
    """The hyperplanes {x: row . x + b = 0} of a formula affine in the inputs
    (one per entry of a vector formula); [] when it is not affine."""
    dim = len(comp.inputs)
    zero = {name: Fraction(0) for name in comp.inputs}

    def at(point: Mapping[str, Fraction]) -> list[Any] | None:
        try:
            v = exact_value(comp, node, {**values, **point})
        except (MathError, NotPiecewiseLinear, NonLinearError, ZeroDivisionError, CheckUndecided):
            return None
        arr = np.asarray(v, dtype=object).reshape(-1)
        if any(isinstance(e, bool | np.bool_ | PL) for e in arr):
            return None
        try:
            return [as_num(e) for e in arr]
        except TypeError:
            return None

    base = at(zero)
    if base is None:
        return []
    cols = []
    for name in comp.inputs:
        v = at({**zero, name: Fraction(1)})
        if v is None or len(v) != len(base):
            return []
        cols.append([a - b for a, b in zip(v, base, strict=True)])
    rng = random.Random(7)
    for _ in range(2):
        p = {name: Fraction(rng.randint(-9, 9), rng.randint(1, 5)) for name in comp.inputs}
        v = at(p)
        if v is None:
            return []
        for k in range(len(base)):
            want = base[k] + sum(cols[i][k] * p[comp.inputs[i]] for i in range(dim))
            if abs(v[k] - want) > 1e-9 * (1 + abs(want)):
                return []
    planes: list[Plane] = []
    for k in range(len(base)):
        row = tuple(Fraction(cols[i][k]) for i in range(dim))
        if any(row):
            planes.append((row, Fraction(base[k])))
    return planes


def predicate_planes(comp: Compiled, node: ast.Node, values: Mapping[str, Any]) -> list[Plane]:
    """Boundaries of a condition: for each relation, the hyperplane of ``left - right``
    when it is affine, or of each affine factor of a product (``x1*x2 < 0``: the axes)."""
    out: list[Plane] = []
    for n in ast.walk(node):
        if isinstance(n, ast.Relation):
            if isinstance(n.right, ast.Num) and n.right.value == 0:
                diff: ast.Node = n.left
            elif isinstance(n.left, ast.Num) and n.left.value == 0:
                diff = n.right
            else:
                diff = ast.BinOp(n.pos, "-", n.left, n.right)
            out += _factor_planes(comp, diff, values, 0)
    return out


def _factor_planes(comp: Compiled, node: ast.Node, values: Mapping[str, Any], depth: int) -> list[Plane]:
    if depth > 8 or not (ast.free_names(node) & set(comp.inputs)):
        return []
    planes = affine_planes(comp, node, values)
    if planes:
        return planes
    match node:
        case ast.BinOp(op=op, left=a, right=b) if op not in ("+", "-"):
            return _factor_planes(comp, a, values, depth + 1) + _factor_planes(comp, b, values, depth + 1)
        case ast.Neg(operand=o):
            return _factor_planes(comp, o, values, depth + 1)
        case ast.Call(args=args):
            return [p for a in args for p in _factor_planes(comp, a, values, depth + 1)]
    return []


_COMPILED: PartCache[Compiled] = PartCache(
    (
        "input",
        "params",
        "model",
        "target",
        "domain",
        "mode",
        "epsilon",
        "positive_when",
        "symbols",
        "functions",
    ),
    _compile,
    CACHE_SIZE,
)
