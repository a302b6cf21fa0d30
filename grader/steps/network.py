"""Backpropagation through a network the write-up defines, probed entry by entry.

A write-up that states a network as equations between vectors and matrices (``\\mathbf{y} =
\\mathbf{W}\\mathbf{x}``, ``\\mathbf{u} = \\text{ReLU}(\\mathbf{y})``, ``\\mathbf{v} = \\mathbf{u} +
\\mathbf{W}\\mathbf{u}``, ``\\mathcal{L} = \\frac{1}{2}\\|\\mathbf{v}\\|_2^2``: each a piece of math of
its own, or a chain's first equation) defines its names. A later step about them (entries
``u_m``, ``\\mathbf{W}_{ij}``; derivatives ``\\frac{\\partial u_m}{\\partial \\mathbf{W}_{ij}}``,
``\\frac{\\partial \\mathcal{L}}{\\partial \\mathbf{W}}``; sums ``\\sum_{m=1}^d``, ``\\delta_{mi}``,
``\\Theta(y_i)``, ``\\otimes``, ``\\text{diag}``) is decided with the definitions put in:

- **shapes** are inferred from the definitions (products fit, sums agree; lower-case names
  columns, capitals matrices, a declaration ``\\mathbf{x} \\in \\mathbb{R}^d`` wins); every
  size left free is tried at 2 and at 3 (two rounds), a sum's bound ``d`` is the size of the
  entries its index takes. Definitions whose shapes cannot be made consistent are no network.
- **probes**: the inputs (names no definition gives) take small nonzero whole entries (in
  twelfths under a condition stated on the values, ``x_j > 6``: the region it leaves may hold one
  whole point only, and there each such condition must hold at two points), every
  free index every value its entries allow, and both sides are computed in exact rational
  arithmetic; a derivative by forward differentiation through the definitions (``\\partial A /
  \\partial B``: ``B`` moved, everything after it recomputed, the rest held), also read as the
  partial derivative of ``A``'s own formula (other names held) and, for an array, in either
  layout. A point where a ReLU's argument is 0 is not used (no derivative there).
- **shown** when, under one reading (every derivative through the definitions, or every one
  by the formula alone), the sides are equal at every probe: "probes" (not a proof for every
  size or point). **wrong** only at a probe where the sides differ under every reading, no
  condition nearby is left unread, no property of arrays is stated nearby, and ``\\delta`` is
  the write-up's Kronecker delta where the failure needs it; the witness gives the sizes, the
  indices and every input entry, and both sides' exact values. Otherwise None: the other
  readings try the step.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from grader.mathlang import ast
from grader.mathlang.errors import MathError
from grader.mathlang.parser import parse
from grader.steps import duals
from grader.steps.duals import Dual, Kink, Mat, NotNetwork, Value
from grader.steps.latex import closing, group_end, split_top_level
from grader.steps.read import LETTERS, normalize

Definition = tuple[str, str, int]  # (name, formula as written, line)

REACH = 40  # lines after a definition that it applies to (the same question)
SIZES = ((2, 3), (3, 2))  # the free sizes' values in the two rounds (alternating between classes)
POINTS = 3  # probe points at each size, at least
MAX_POINTS = 12  # at most: more only until every ReLU's argument was seen of both signs
MAX_ASSIGNMENTS = 64  # values of the free indices tried at one point
MAX_READINGS = 64  # readings of a step's derivatives tried together
MAX_DERIVATIVES = 8
MAX_DEFINITIONS = 12
MAX_TEXT = 4000
MAX_COEFFICIENTS = 4000  # coefficients of an unknown function at one point
COEFFICIENTS = (-2, -1, 1, 2)
ENTRY_RANGE = tuple(k for k in range(-7, 8) if k)  # entries of the inputs: small, nonzero, whole
# under a condition on the values (x_j > 6), entries in twelfths: the region a condition leaves
# holds many of them, where it may hold one whole number only (x_j = 7, at which x_j = 7 "holds")
TWELFTHS = 12
FINE_RANGE = tuple(Fraction(k, TWELFTHS) for k in range(-7 * TWELFTHS, 7 * TWELFTHS + 1) if k)
MIN_ACCEPTED = 2  # points where the conditions hold, for each value of the indices where any does

_LETTER = re.compile(r"(?<![A-Za-z\\])([A-Za-z])(?![A-Za-z])")  # a name of one letter, not a command's
_BOLD = re.compile(r"\\(?:mathbf|boldsymbol|bm|mathcal|vec)\s*\{\s*(\\?[A-Za-z]+)\s*\}")
_NAME = re.compile(r"^\s*(\\?[A-Za-z]+)\s*$")
_FUNCS = ("relu", "Theta", "diag")
# a function applied that the reading has no value for (\sigma(...), f(...), \tanh(...))
_APPLIED = re.compile(
    r"(?:\\(?!left|right|big|Big|bigl|Bigl)[A-Za-z]+|(?<![A-Za-z\\{])[a-z])\s*(?:\\left\s*)?\("
)
_NOT_READ = re.compile(
    r"\\(?:lim|int|prod|infty|dots|cdots|ldots|vdots|ddots|begin|mathbb|in|approx|sim|det|max|min)(?![A-Za-z])"
    r"|\\text\s*\{\s*(?!diag|ReLU|relu)|\\operatorname\s*\{\s*(?!diag|ReLU|relu)|'|\^\s*\{\s*\("
)


# -- finding the definitions ------------------------------------------------------------------


def _plain(text: str) -> str:
    """Bold, calligraphic and vector marks dropped: ``\\mathbf{W}`` is ``W``."""
    return _BOLD.sub(lambda m: f" {m.group(1)} ", text)


def definition_in(math: str, line: int) -> Definition | None:
    """``NAME = FORMULA`` (the piece's first equation) when the name is a letter (bold,
    calligraphic or plain) and the formula holds an array (a bold name or a capital), reads
    with the functions of a network, and does not hold the name itself."""
    if len(math) > 400 or "\\\\" in math or "&" in math:
        return None
    parts = split_top_level(math.strip().strip("$"), "=", not_after=":<>!\\")
    if len(parts) < 2:
        return None
    head, formula = parts[0], parts[1].strip().rstrip(",.;")
    m = _NAME.match(_plain(head))
    if m is None or not formula or _NOT_READ.search(formula) or "\\sum" in formula or "\\partial" in formula:
        return None
    if _APPLIED.search(_plain(formula)):
        return None
    name = m.group(1).lstrip("\\")
    if name in ("e", "T", "I") or not (
        _BOLD.search(formula) or re.search(r"(?<![\\A-Za-z])[A-Z](?![A-Za-z])", formula)
    ):
        return None
    try:
        node = _parse(_plain(formula), ())
    except (MathError, NotNetwork, RecursionError):
        return None
    if name in ast.free_names(node):
        return None
    return name, formula, line


def definitions_in(pieces: Sequence[tuple[str, int]]) -> list[Definition]:
    """Every network definition of the write-up's pieces of math ((math, line)), in order."""
    out = []
    for math, line in pieces:
        found = definition_in(math, line)
        if found is not None:
            out.append(found)
    return out


# A name the write-up states otherwise (a marker in Chain.network, its formula one of these):
# ``NAME = ...`` (or ``:=``, ``\\coloneqq``, ...) in a form the reading does not take (an aligned
# row, a comma-separated part, ``\\in \\mathbb{R}^k`` after it, a definition too far back or after
# the chain) or a value given (``\\mathbf{x} = (1, 1)^\\top``); ``NAME_i = ...`` an entry so stated.
STATED = "?"
STATED_ENTRY = "?_"
_SEGMENTS = re.compile(
    r"\\\\|[,;]|\\q?quad(?![A-Za-z])|\\[,;:! ]|\\(?:text|mbox|mathrm|begin|end)\s*\{[^{}]*\}"
    r"|\\(?:iff|Leftrightarrow|Rightarrow|implies|wedge|land)(?![A-Za-z])"
)
_STATED = re.compile(
    r"^\s*(\\?[A-Za-z]+)\s*(_\s*(?:\{[^{}]*\}|\\?[A-Za-z0-9]+))?\s*(?:\^\s*(?:\{[^{}]*\}|\S))?\s*"
    r"(?:(?:\\left\s*)?\((?:[^()]|\([^()]*\))*\)\s*)?"
    r"(?::=|\\coloneqq|\\triangleq|\\equiv|\\doteq|\\(?:stackrel|overset)\s*\{[^{}]*\}\s*\{\s*=\s*\}|=(?!=))"
)


def names_stated(pieces: Sequence[tuple[str, int]]) -> list[Definition]:
    """Every ``NAME = ...`` a piece of math states, read or not: (name, STATED or STATED_ENTRY,
    line), the name without its bold or calligraphic mark."""
    out: list[Definition] = []
    for math, line in pieces:
        if len(math) > 20 * MAX_TEXT:
            continue
        for segment in _SEGMENTS.split(_plain(math.replace("&", " "))):
            m = _STATED.match(segment)
            name = m.group(1) if m is not None else ""
            if m is not None and not re.search(
                rf"(?<![A-Za-z\\]){re.escape(name)}(?![A-Za-z])", segment[m.end() :]
            ):  # W = W - \eta G: an update of W, not what it is
                out.append((m.group(1).lstrip("\\"), STATED_ENTRY if m.group(2) else STATED, line))
    return out


def definitions_before(
    found: Sequence[Definition],
    line: int,
    parts: Sequence[tuple[int, str]],
    stated: Sequence[Definition] = (),
) -> tuple[Definition, ...]:
    """The latest definition of each name on a line before ``line``, at most REACH lines
    before, in the same question; with them, a marker (name, STATED or STATED_ENTRY, line) for
    each other ``NAME = ...`` of the same question (``stated``: before or after the chain, read
    or not), so that a name the write-up gives otherwise is never taken for a free input."""
    if not 0 < line <= len(parts):
        return ()

    def same_question(at: int) -> bool:
        return 0 < at <= len(parts) and parts[at - 1][0] == parts[line - 1][0]

    latest: dict[str, Definition] = {}
    for d in found:
        if d[2] < line and line - d[2] <= REACH and same_question(d[2]):
            latest[d[0]] = d
    if not latest:
        return ()
    used = {(d[0], d[2]) for d in latest.values()}
    markers = {
        (name, kind, at)
        for name, kind, at in stated
        if same_question(at) and ((name, at) not in used or kind == STATED_ENTRY)
    }
    return (*latest.values(), *sorted(markers, key=lambda d: (d[2], d[0], d[1])))


def _stated_otherwise(network: Sequence[Definition], net: Network, line: int) -> str | None:
    """A name the reading takes for a free input that the write-up states otherwise (anywhere
    in the question), or a defined name the write-up states again, whole, after the definition
    read and before the step: that name, else None."""
    read = {d[0]: d[2] for d in network if d[1] not in (STATED, STATED_ENTRY)}
    for name, kind, at in network:
        if kind not in (STATED, STATED_ENTRY):
            continue
        if name in net.inputs:
            return name
        if kind == STATED and name in read and read[name] < at < line:
            return name
    return None


# -- reading ------------------------------------------------------------------------------------


def _parse(text: str, symbols: Sequence[str]) -> ast.Node:
    if len(text) > MAX_TEXT:
        raise NotNetwork("too long")
    shown = normalize(text)
    shown = re.sub(
        r"\\(?:text|operatorname|mathrm)\s*\{\s*(?:ReLU|relu)\s*\}", r"\\operatorname{relu}", shown
    )
    shown = re.sub(r"\\(?:text|operatorname|mathrm)\s*\{\s*diag\s*\}", r"\\operatorname{diag}", shown)
    shown = re.sub(r"\\(?:text|operatorname|mathrm)\s*\{\s*softmax\s*\}", r"\\operatorname{softmax}", shown)
    return parse(shown, symbols=(*LETTERS, *symbols), functions=_FUNCS)


# -- the network: shapes, inputs, evaluation ------------------------------------------------------


@dataclass
class Network:
    order: list[tuple[str, ast.Node]]  # defined names in the order of evaluation
    inputs: list[str]  # names no definition gives
    shapes: dict[str, tuple[int, int]] = field(default_factory=dict)  # dimension classes
    classes: int = 0
    lines: tuple[int, ...] = ()
    relu: bool = False
    # names read as unknown functions of others (the step differentiates them, nothing defines
    # them): each a random polynomial of degree 2 of its parents' entries at each point
    generic: dict[str, tuple[str, ...]] = field(default_factory=dict)


class _Unify:
    def __init__(self) -> None:
        self.parent: list[int] = [0]  # class 0: the size 1

    def new(self) -> int:
        self.parent.append(len(self.parent))
        return len(self.parent) - 1

    def find(self, a: int) -> int:
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a: int, b: int) -> None:
        a, b = self.find(a), self.find(b)
        if a == b:
            return
        if a == 0 or b == 0:
            raise NotNetwork("a size 1 where an array is")  # sizes are 2 or more
        self.parent[max(a, b)] = min(a, b)


Shape = tuple[int, int] | None  # None: a scalar


def _shape(node: ast.Node, shapes: dict[str, Shape], u: _Unify) -> Shape:  # noqa: C901, PLR0911, PLR0912
    if isinstance(node, ast.Num):
        return None
    if isinstance(node, ast.Sym):
        if node.name not in shapes:
            if node.name == "I":
                n = u.new()
                return (n, n)
            raise NotNetwork(node.name)
        return shapes[node.name]
    if isinstance(node, ast.Neg):
        return _shape(node.operand, shapes, u)
    if isinstance(node, ast.Transpose):
        s = _shape(node.operand, shapes, u)
        return None if s is None else (s[1], s[0])
    if isinstance(node, ast.Call):
        inner = _shape(node.args[0], shapes, u) if len(node.args) >= 1 else None
        if node.name in duals.ELEMENT_WISE:
            return inner
        if node.name == "diag" and inner is not None:
            if u.find(inner[1]) != 0:
                raise NotNetwork("diag of a matrix")
            return (inner[0], inner[0])
        if node.name == "norm" and inner is not None:
            return None
        raise NotNetwork(node.name)
    if isinstance(node, ast.BinOp):
        if node.op == "^":
            if isinstance(node.right, ast.Sym) and node.right.name == "T":
                s = _shape(node.left, shapes, u)
                return None if s is None else (s[1], s[0])
            _shape(node.left, shapes, u)
            return None
        a, b = _shape(node.left, shapes, u), _shape(node.right, shapes, u)
        if node.op in ("+", "-"):
            if (a is None) != (b is None):
                raise NotNetwork("a scalar added to an array")
            if a is not None and b is not None:
                u.union(a[0], b[0])
                u.union(a[1], b[1])
            return a
        if node.op == "/":
            if b is not None:
                raise NotNetwork("a division by an array")
            return a
        if a is None:
            return b
        if b is None:
            return a
        if node.op in ("odot", "star"):
            u.union(a[0], b[0])
            u.union(a[1], b[1])
            return a
        if node.op == "otimes":
            return (a[0], b[0])
        if node.op in ("cdot", "dot") and u.find(a[1]) == 0 and u.find(b[1]) == 0:
            u.union(a[0], b[0])
            return None
        if u.find(a[1]) == 0 and u.find(b[0]) != 0:
            raise NotNetwork("shapes")
        if u.find(a[1]) != 0 and u.find(b[0]) == 0:
            raise NotNetwork("shapes")
        if u.find(a[1]) != 0:
            u.union(a[1], b[0])
        out = (a[0], b[1])
        return None if u.find(out[0]) == 0 and u.find(out[1]) == 0 else out
    raise NotNetwork(type(node).__name__)


def network_of(  # noqa: C901
    definitions: Sequence[Definition],
    declared: Mapping[str, tuple[str, ...]],
    generic: Mapping[str, tuple[str, ...]] | None = None,
    kinds: Mapping[str, str] | None = None,
) -> Network:
    """The definitions read, ordered, their shapes inferred; NotNetwork when they are not.
    ``generic``: names read as unknown functions of others (name -> parents), ``kinds`` the
    shapes the notation gives names no definition gives ("scalar", "column", "matrix")."""
    generic = dict(generic or {})
    kinds = dict(kinds or {})
    if len(definitions) > MAX_DEFINITIONS or not (definitions or generic):
        raise NotNetwork("no definitions")
    nodes: dict[str, ast.Node | tuple[str, ...]] = {
        name: _parse(_plain(formula), ()) for name, formula, _ in definitions
    }
    nodes.update(generic)

    def needs(item: ast.Node | tuple[str, ...]) -> set[str]:
        return set(item) if isinstance(item, tuple) else ast.free_names(item)

    order: list[tuple[str, ast.Node | tuple[str, ...]]] = []
    done: set[str] = set()
    pending = dict(nodes)
    while pending:
        ready = [n for n, node in pending.items() if not (needs(node) & (set(pending) - {n}))]
        if not ready:
            raise NotNetwork("definitions in a circle")
        for n in ready:
            order.append((n, pending.pop(n)))
            done.add(n)
    names = set().union(*(needs(node) for _, node in order)) - done - {"I", "T"}
    inputs = sorted(names)
    u = _Unify()
    shapes: dict[str, Shape] = {}
    by_dim: dict[str, int] = {}

    def guessed(name: str) -> Shape:
        dims = declared.get(name)
        if dims is not None and any(d.isdigit() and d != "1" for d in dims):
            raise NotNetwork("a size the write-up states as a number")  # not tried at 2 and 3
        if dims is not None:
            dims = tuple(dims) + (("1",) if len(dims) == 1 else ())
            cls = [0 if d == "1" else by_dim[d] if d in by_dim else u.new() for d in dims]
            for d, c in zip(dims, cls, strict=True):
                by_dim.setdefault(d, c)
            return (cls[0], cls[1])
        kind = kinds.get(name)
        if kind == "scalar":
            return None
        if kind == "matrix" or (kind is None and len(name) == 1 and name.isupper()):
            return (u.new(), u.new())
        if kind == "column" or (kind is None and len(name) == 1 and name.islower()):
            return (u.new(), 0)
        return None  # a Greek letter: a scalar

    for name in inputs:
        shapes[name] = guessed(name)
    for name, node in order:
        shapes[name] = guessed(name) if isinstance(node, tuple) else _shape(node, shapes, u)
    relu = any(
        isinstance(s, ast.Call) and s.name == "relu"
        for _, node in order
        if not isinstance(node, tuple)
        for s in ast.walk(node)
    )
    classes: dict[int, int] = {}
    final: dict[str, tuple[int, int]] = {}
    for name, sh in shapes.items():
        if sh is None:
            final[name] = (0, 0)
            continue
        ids = []
        for c in sh:
            r = u.find(c)
            ids.append(0 if r == 0 else classes.setdefault(r, len(classes) + 1))
        final[name] = (ids[0], ids[1])
    if any(final[n] == (0, 0) for n in inputs if shapes[n] is not None) or not classes:
        raise NotNetwork("no arrays")
    definitions_read = [(n, node) for n, node in order]
    lines = tuple(sorted({d[2] for d in definitions}))
    return Network(definitions_read, inputs, final, len(classes), lines, relu, dict(generic))  # type: ignore[arg-type]


def _size(shape: tuple[int, int], sizes: Mapping[int, int]) -> tuple[int, int]:
    return tuple(1 if c == 0 else sizes[c] for c in shape)  # type: ignore[return-value]


def _inputs(
    net: Network, sizes: Mapping[int, int], rng: random.Random, pool: Sequence[Any]
) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for name in net.inputs:
        r, c = _size(net.shapes[name], sizes)
        drawn = Mat(tuple(tuple(Dual(Fraction(rng.choice(pool))) for _ in range(c)) for _ in range(r)))
        out[name] = drawn.rows[0][0] if net.shapes[name] == (0, 0) else drawn
    for name, parents in net.generic.items():
        r, c = _size(net.shapes[name], sizes)
        count = sum(a * b for a, b in (_size(net.shapes[p], sizes) for p in parents))
        terms = count + count * (count + 1) // 2
        if r * c * terms > MAX_COEFFICIENTS:
            raise NotNetwork("an unknown function of too many entries")
        out[f"#{name}"] = Mat(
            tuple(tuple(Dual(Fraction(rng.choice(COEFFICIENTS))) for _ in range(terms)) for _ in range(r * c))
        )
    return out


def _unknown(name: str, parents: Sequence[str], env: Mapping[str, Value], shape: tuple[int, int]) -> Value:
    """The unknown function's value: each entry a polynomial of degree 2 of the parents' entries,
    its coefficients drawn with the point (``#name`` of the inputs)."""
    xs: list[Dual] = []
    for p in parents:
        v = duals.scalar(env[p])
        xs += [v] if isinstance(v, Dual) else [x for row in v.rows for x in row] if isinstance(v, Mat) else []
    terms = xs + [xs[i] * xs[j] for i in range(len(xs)) for j in range(i, len(xs))]
    coefficients = env[f"#{name}"]
    assert isinstance(coefficients, Mat)
    values = [duals.dot(row, terms) for row in coefficients.rows]
    r, c = shape
    if (r, c) == (1, 1):
        return values[0]
    return Mat(tuple(tuple(values[i * c : (i + 1) * c]) for i in range(r)))


def _forward(
    net: Network, inputs: Mapping[str, Value], seed: tuple[str, int, int] | None = None
) -> dict[str, Value]:
    """Every name's value at the inputs; with ``seed`` (name, row, column) the derivative parts
    are those along that entry: the name moved, everything after it recomputed."""
    env: dict[str, Value] = {}
    for name, v in inputs.items():
        env[name] = _seeded(v, name, seed) if not name.startswith("#") else v
    for name, node in net.order:
        if isinstance(node, tuple):  # an unknown function: a scalar or a column (its coefficients' rows)
            coefficients = inputs[f"#{name}"]
            assert isinstance(coefficients, Mat)
            size = (1, 1) if net.shapes[name] == (0, 0) else (len(coefficients.rows), 1)
            value = _unknown(name, node, env, size)
        else:
            value = duals.evaluate(node, env)
        env[name] = _seeded(value, name, seed)
    return env


def _seeded(v: Value, name: str, seed: tuple[str, int, int] | None) -> Value:
    if seed is None or seed[0] != name:
        return v
    _, r, c = seed
    if isinstance(v, Dual):
        if (r, c) != (0, 0):
            raise NotNetwork("an entry of a scalar")
        return Dual(v.v, Fraction(1))
    if isinstance(v, Mat):
        rows, cols = v.shape
        if not (0 <= r < rows and 0 <= c < cols):
            raise NotNetwork("an entry out of range")
        return Mat(
            tuple(
                tuple(Dual(x.v, Fraction(int((i, j) == (r, c)))) for j, x in enumerate(row))
                for i, row in enumerate(v.rows)
            )
        )
    raise NotNetwork("the identity")


def _plain_values(env: Mapping[str, Value]) -> dict[str, Value]:
    """The values without derivative parts."""
    out: dict[str, Value] = {}
    for k, v in env.items():
        out[k] = Dual(v.v) if isinstance(v, Dual) else v.map(lambda x: Dual(x.v)) if isinstance(v, Mat) else v
    return out


# -- a step read at a size, indices given values --------------------------------------------------

_SUM_HEAD = re.compile(
    r"\\sum\s*_\s*\{\s*([a-z])\s*=\s*1\s*\}\s*\^\s*(?:\{\s*([A-Za-z0-9])\s*\}|([A-Za-z0-9]))"
)
_ENTRY = re.compile(
    r"(?<![A-Za-z\\])([A-Za-z])\s*_\s*(?:\{\s*([a-z0-9]{1,2})\s*\}|([a-z0-9]))(?![A-Za-z0-9])"
)
_DELTA = re.compile(r"\\delta\s*_\s*(?:\{\s*([a-z0-9])\s*,?\s*([a-z0-9])\s*\}|([a-z0-9])([a-z0-9])?)")
_DERIVATIVE = re.compile(r"\\frac\s*\{\s*\\partial(?![A-Za-z])|\\nabla\s*_")
_ONE = re.compile(r"^\s*([A-Za-z])\s*(?:_\s*\{?\s*(\d{1,2})\s*\}?)?\s*$")

Entry = tuple[str, int | None, int | None]  # a name, and its entry (row, column) or the whole
Tag = tuple[int | None, bool]  # a derivative's reading (0 through, 1 formula alone, None: one) and layout


@dataclass
class _Side:
    node: ast.Node
    entries: dict[str, Entry]  # placeholder -> the entry it stands for
    derivatives: dict[str, tuple[str, Entry]]  # placeholder -> (what is differentiated, by what)


def _derivatives(text: str, tag: str = "") -> tuple[str, list[tuple[str, str, str]]]:
    """The text with each ``\\frac{\\partial A}{\\partial B}``, ``\\frac{\\partial}{\\partial B}(...)``
    and ``\\nabla_B A`` replaced by a placeholder: (text, [(placeholder, A, B)])."""
    from grader.steps.sized import _operand

    found: list[tuple[str, str, str]] = []
    for _ in range(MAX_DERIVATIVES + 1):
        m = _DERIVATIVE.search(text)
        if m is None:
            return text, found
        if len(found) == MAX_DERIVATIVES:
            break
        if m.group(0).startswith("\\nabla"):
            at = m.end()
            end = closing(text, at) if text[at : at + 1] == "{" else at + 1
            if end is None:
                break
            variable = text[at + 1 : end - 1] if text[at : at + 1] == "{" else text[at:end]
            operand = _operand(text, end)
        else:
            top_end = group_end(text, m.start() + len("\\frac"))
            bottom_end = group_end(text, top_end) if top_end is not None else None
            if top_end is None or bottom_end is None:
                break
            top = text[text.index("{", m.start()) + 1 : top_end - 1].strip()[len("\\partial") :].strip()
            bottom = text[text.index("{", top_end) + 1 : bottom_end - 1].strip()
            if not bottom.startswith("\\partial"):
                break
            variable = bottom[len("\\partial") :]
            operand = (top, bottom_end) if top else _operand(text, bottom_end)
        if operand is None:
            break
        name = f"Z_drv{tag}{len(found)}"
        found.append((name, operand[0], variable))
        text = f"{text[: m.start()]} Z_{{drv{tag}{len(found) - 1}}} {text[operand[1] :]}"
    raise NotNetwork("a derivative not read")


def _entry(text: str, net: Network, sizes: Mapping[int, int]) -> Entry | None:
    """``W_{12}``, ``v_{2}``, ``L``, ``W``: (name, row, column) (0-based), or None."""
    m = _ONE.match(text)
    if m is None or m.group(1) not in net.shapes:
        return None
    name, digits = m.group(1), m.group(2)
    rows, cols = _size(net.shapes[name], sizes)
    if digits is None:
        return name, None, None
    if "0" in digits[: 1 if cols == 1 else 2]:
        raise NotNetwork(f"the entry {text.strip()}: indices counted from 0?")  # never the last one
    if cols == 1 and rows > 1 and len(digits) == 1:
        return name, int(digits) - 1, 0
    if rows > 1 and cols > 1 and len(digits) == 2:
        return name, int(digits[0]) - 1, int(digits[1]) - 1
    raise NotNetwork(f"the entry {text.strip()}")


def _entries(
    text: str, net: Network, sizes: Mapping[int, int], found: dict[str, Entry], tag: str = ""
) -> str:
    def one(m: re.Match[str]) -> str:
        if m.group(1) not in net.shapes:
            return m.group(0)
        entry = _entry(f"{m.group(1)}_{{{m.group(2) or m.group(3)}}}", net, sizes)
        if entry is None or entry[1] is None:
            return m.group(0)
        name = f"ent{tag}{len(found)}"
        found[f"Z_{name}"] = entry
        return f" Z_{{{name}}} "

    return _ENTRY.sub(one, text)


def _kronecker(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        a, b = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        if b is None and a is not None and len(a) == 1:
            raise NotNetwork("a delta with one index")
        if not (a.isdigit() and b is not None and b.isdigit()):
            raise NotNetwork("a delta whose indices have no values")
        if "0" in (a, b):
            raise NotNetwork("a delta's index 0: indices counted from 0?")
        return f" ({int(a == b)}) "

    return _DELTA.sub(one, text)


def _read(
    text: str,
    net: Network,
    sizes: Mapping[int, int],
    values: Mapping[str, int],
    bounds: Mapping[str, int],
    tag: str = "",
) -> _Side:
    """The side with the free indices at ``values``, the sums written out with their bounds at
    ``bounds``, each derivative and each entry a placeholder."""
    from grader.steps.sums import _expand, _put

    text = _plain(text)
    for letter, v in values.items():
        text = _put(text, letter, v)
    expanded = _expand(text, bounds)
    if expanded is None:
        raise NotNetwork("a sum not written out")
    text, found = _derivatives(expanded, tag)
    entries: dict[str, Entry] = {}
    derivatives: dict[str, tuple[str, Entry]] = {}
    for name, operand, variable in found:
        by = _entry(variable, net, sizes)
        if by is None:
            raise NotNetwork(f"a derivative by {variable.strip()}")
        derivatives[name] = (operand, by)
    text = _entries(_kronecker(text), net, sizes, entries, tag)
    node = _parse(text, (*entries, *derivatives))
    return _Side(node, entries, derivatives)


# -- deciding -------------------------------------------------------------------------------------


@dataclass
class _Indices:
    free: dict[str, int]  # a free index -> the class of sizes its values run over
    bounds: dict[str, int]  # a sum's bound written as a letter -> the class it is the size of
    kronecker: bool  # a delta is in the step


def _indices(texts: Sequence[str], net: Network) -> _Indices:  # noqa: C901, PLR0912
    plain = [_plain(t) for t in texts]
    summed: dict[str, str] = {}
    for t in plain:
        for m in _SUM_HEAD.finditer(t):
            summed[m.group(1)] = m.group(2) or m.group(3)
    if "\\sum" in "".join(plain) and not summed:
        raise NotNetwork("a sum with other bounds")
    classes: dict[str, set[int]] = {}
    for t in plain:
        for m in _ENTRY.finditer(t):
            name, sub = m.group(1), m.group(2) or m.group(3)
            if name not in net.shapes or sub.isdigit():
                continue
            shape = net.shapes[name]
            if shape[1] == 0 and len(sub) == 1:
                classes.setdefault(sub, set()).add(shape[0])
            elif shape[0] != 0 and shape[1] != 0 and len(sub) == 2:
                for letter, cls in zip(sub, shape, strict=True):
                    if letter.isalpha():  # W_{1j}: the row 1 fixed, j an index
                        classes.setdefault(letter, set()).add(cls)
            else:
                raise NotNetwork(f"the entry {m.group(0).strip()}")
    deltas = [m for t in plain for m in _DELTA.finditer(t)]
    letters = {c for m in deltas for c in m.groups() if c and c.isalpha()}
    if any(c not in classes for c in letters):
        raise NotNetwork("a delta's index with no size")
    one: dict[str, int] = {}
    for letter, found in classes.items():
        if len(found) != 1 or 0 in found:
            raise NotNetwork(f"the index {letter} runs over two sizes")
        one[letter] = next(iter(found))
    bounds: dict[str, int] = {}
    for index, bound in summed.items():
        if bound.isdigit():
            continue
        if index not in one or (bound in bounds and bounds[bound] != one[index]):
            raise NotNetwork(f"the sum over {index}: its size is not read")
        bounds[bound] = one[index]
    free = {k: v for k, v in one.items() if k not in summed and k not in bounds}
    return _Indices(free, bounds, bool(deltas))


def _candidates(
    net: Network,
    inputs: Mapping[str, Value],
    env: Mapping[str, Value],
    what: str,
    by: Entry,
    sizes: Mapping[int, int],
    cache: dict[Any, dict[str, Value]],
) -> list[tuple[Tag, Value]]:
    """The derivative of ``what`` by ``by`` in each reading, tagged (reading, transposed):
    through the definitions (0) and, where there is one, by the formula alone (1); by a whole
    array, each in the variable's layout and transposed. One reading only: tagged None."""
    name, r, c = by
    if r is None:
        rows, cols = _size(net.shapes[name], sizes)
        grid = [
            [_candidates(net, inputs, env, what, (name, i, j), sizes, cache) for j in range(cols)]
            for i in range(rows)
        ]
        out: list[tuple[Tag, Value]] = []
        for option, (tag, _) in enumerate(grid[0][0]):
            entries = [[grid[i][j][option][1] for j in range(cols)] for i in range(rows)]
            scalars = [e for row in entries for e in row if isinstance(e, Dual)]
            columns = [e for row in entries for e in row if isinstance(e, Mat) and e.shape[1] == 1]
            if len(scalars) == rows * cols:
                m = Mat(tuple(tuple(scalars[i * cols : (i + 1) * cols]) for i in range(rows)))
            elif cols == 1 and len(columns) == rows:
                # a column by a column: the Jacobian, J[k][i] = d what_k / d by_i
                m = Mat(tuple(tuple(col.rows[k][0] for col in columns) for k in range(columns[0].shape[0])))
            else:
                raise NotNetwork("the derivative of a matrix")
            out += [((tag[0], False), m), ((tag[0], True), m.t())]
        return out
    c = 0 if c is None else c
    key = (name, r, c)
    if key not in cache:
        cache[key] = _forward(net, inputs, key)
    through = _derivative_part(_of(what, cache[key], net, sizes))
    if not _explicit(what, name, net, sizes):
        return [((None, False), through)]  # no explicit partial to read: one derivative
    held = {**env, name: _seeded(env[name], name, key)}
    return [((0, False), through), ((1, False), _derivative_part(_of(what, held, net, sizes, own=name)))]


def _explicit(what: str, by: str, net: Network, sizes: Mapping[int, int]) -> bool:
    """Whether ``what`` has an explicit partial derivative by ``by`` other than its derivative
    through the definitions: a defined name whose own formula holds ``by`` (``v = u + Wu`` by
    ``W``), or a formula written in the step that holds it. A name whose formula does not hold
    ``by`` (its explicit partial 0: nobody writes that), or an unknown function, has none."""
    entry = _entry(_plain(what), net, sizes)
    if entry is not None:
        formula = dict(net.order).get(entry[0])
        return isinstance(formula, ast.Node) and by in ast.free_names(formula)
    return re.search(rf"(?<![A-Za-z\\]){re.escape(by)}(?![A-Za-z])", _plain(what)) is not None


def _of(what: str, env: Mapping[str, Value], net: Network, sizes: Mapping[int, int], own: str = "") -> Value:
    """The value of ``what`` (a name, an entry or a formula) in ``env``; with ``own`` (the name
    moved), a defined name other than it by its own formula in ``env`` (the other names held)."""
    entry = _entry(_plain(what), net, sizes)
    if entry is not None:
        name, r, c = entry
        formulas = dict(net.order)
        formula = formulas.get(name) if own and name != own else None
        v = duals.evaluate(formula, env) if isinstance(formula, ast.Node) else env[name]
        if r is None:
            return v
        v = duals.scalar(v)
        if not isinstance(v, Mat):
            raise NotNetwork("an entry of a scalar")
        return v.rows[r][c or 0]
    found: dict[str, Entry] = {}
    text = _entries(_plain(what), net, sizes, found)
    node = _parse(text, tuple(found))
    local = dict(env)
    for ph, (name, r, c) in found.items():
        v = duals.scalar(env[name])
        assert isinstance(v, Mat) and r is not None
        local[ph] = v.rows[r][c or 0]
    return duals.evaluate(node, local)


def _derivative_part(v: Value) -> Value:
    v = duals.scalar(v)
    if isinstance(v, Dual):
        return Dual(v.d)
    if isinstance(v, Mat):
        return v.map(lambda x: Dual(x.d))
    raise NotNetwork("the identity")


def _equal(a: Value, b: Value) -> bool | None:
    """Equal, different, or None when the shapes do not fit."""
    a, b = duals.scalar(a), duals.scalar(b)
    if isinstance(a, Dual) and isinstance(b, Dual):
        return a.v == b.v
    if isinstance(a, Mat) and isinstance(b, Mat):
        if a.shape != b.shape:
            return None
        return all(
            x.v == y.v for ra, rb in zip(a.rows, b.rows, strict=True) for x, y in zip(ra, rb, strict=True)
        )
    return None


def _text(v: Value) -> str:
    v = duals.scalar(v)
    if isinstance(v, Dual):
        return str(v.v)
    if isinstance(v, Mat):
        if v.shape[1] == 1:
            return "[" + ", ".join(str(r[0].v) for r in v.rows) + "]^T"
        return "[" + ", ".join("[" + ", ".join(str(x.v) for x in r) + "]" for r in v.rows) + "]"
    return "I"


@dataclass
class _Probe:
    """What one point and one choice of the free indices gave."""

    equal: dict[tuple[int, ...], bool | None]
    values: tuple[str, str] | None  # the two sides under the first reading that has both


def _truth(
    text: str, net: Network, sizes: Mapping[int, int], values: Mapping[str, int], env: Mapping[str, Value]
) -> tuple[bool | None, tuple[tuple[str, Any], ...]]:
    """A condition stated nearby at the point (``m = i``, ``y_i \\geq 0``), None when not read,
    and the values it reads there when it is an inequality (each name or entry and its value)."""
    try:
        side = _read(text, net, sizes, values, {})
        node = side.node
        if not isinstance(node, ast.Relation) or side.derivatives:
            return None, ()
        local = dict(env)
        for ph, (name, r, c) in side.entries.items():
            v = duals.scalar(env[name])
            if not isinstance(v, Mat) or r is None:
                return None, ()
            local[ph] = v.rows[r][c or 0]
        a, b = duals.scalar(duals.evaluate(node.left, local)), duals.scalar(duals.evaluate(node.right, local))
    except (NotNetwork, MathError, KeyError, ValueError, ZeroDivisionError):
        return None, ()
    if not isinstance(a, Dual) or not isinstance(b, Dual):
        return None, ()
    read: tuple[tuple[str, Any], ...] = ()
    if node.op != "=":  # an equality pins what it reads by design; an inequality must not
        read = tuple((k, _plain_value(local[k])) for k in sorted(ast.free_names(node)) if k in local)
    ops: dict[str, Callable[[Fraction, Fraction], bool]] = {
        "=": lambda x, y: x == y,
        "!=": lambda x, y: x != y,
        "<": lambda x, y: x < y,
        "<=": lambda x, y: x <= y,
        ">": lambda x, y: x > y,
        ">=": lambda x, y: x >= y,
    }
    return (ops[node.op](a.v, b.v) if node.op in ops else None), read


def _plain_value(v: Value) -> Any:
    """A value as a hashable number or tuple of numbers (its derivative part dropped)."""
    v = duals.scalar(v)
    if isinstance(v, Dual):
        return v.v
    return tuple(x.v for row in v.rows for x in row) if isinstance(v, Mat) else None


def _readings(counts: Sequence[int]) -> list[tuple[int, ...]]:
    combos = list(itertools.product(*(range(n) for n in counts)))
    if len(combos) > MAX_READINGS:
        raise NotNetwork("too many derivatives")
    return combos


def _consistent(combo: tuple[int, ...], tags: Sequence[Sequence[Tag]]) -> int | None:
    """0 when every derivative is read through the definitions, 1 when each by its formula
    alone, None for a mix."""
    kinds = {t[i][0] for i, t in zip(combo, tags, strict=True)} - {None}
    return next(iter(kinds)) if len(kinds) == 1 else (0 if not kinds else None)


def _key(what: str, by: Entry) -> str:
    """A derivative as written, whatever values its indices were given (``u_{2}`` by ``y_{1}``
    and ``u_{2}`` by ``y_{2}`` of a sum written out are one derivative: one reading for all)."""
    return (
        re.sub(r"\d", "#", _plain(what).replace(" ", "")) + " by " + by[0] + ("" if by[1] is None else "_#")
    )


def _probe(
    sides: Sequence[_Side],
    net: Network,
    inputs: Mapping[str, Value],
    env: Mapping[str, Value],
    sizes: Mapping[int, int],
    cache: dict[Any, dict[str, Value]],
) -> tuple[_Probe, list[tuple[str, tuple[Tag, ...]]]]:
    local: dict[str, Value] = dict(env)
    grouped: dict[str, list[tuple[str, list[tuple[Tag, Value]]]]] = {}
    for side in sides:
        for ph, (name, r, c) in side.entries.items():
            v = duals.scalar(env[name])
            if not isinstance(v, Mat) or r is None:
                raise NotNetwork("an entry of a scalar")
            local[ph] = v.rows[r][c or 0]
        for ph, (what, by) in side.derivatives.items():
            grouped.setdefault(_key(what, by), []).append(
                (ph, _candidates(net, inputs, env, what, by, sizes, cache))
            )
    keys = sorted(grouped)
    tags = [tuple(t for t, _ in grouped[k][0][1]) for k in keys]
    counts = [len(t) for t in tags]
    equal: dict[tuple[int, ...], bool | None] = {}
    values: tuple[str, str] | None = None
    for combo in _readings(counts):
        env_c = dict(local)
        for key, i in zip(keys, combo, strict=True):
            for ph, cands in grouped[key]:
                env_c[ph] = cands[i][1]
        try:
            a, b = duals.evaluate(sides[0].node, env_c), duals.evaluate(sides[1].node, env_c)
        except NotNetwork:
            equal[combo] = None
            continue
        equal[combo] = _equal(a, b)
        if values is None and equal[combo] is not None and _consistent(combo, tags) == 0:
            values = (_text(a), _text(b))
    return _Probe(equal, values), list(zip(keys, tags, strict=True))


_BASE = re.compile(r"^\s*(\\?[A-Za-z]+)\s*(?:_\s*(?:\{\s*[a-z0-9]{1,2}\s*\}|[a-z0-9]))?\s*$")
_LOSSES = frozenset({"L", "E", "J", "ell"})  # names of a scalar (a loss, an energy)
_BOLD_NAME = re.compile(r"\\(?:mathbf|boldsymbol|bm|vec)\s*\{\s*(\\?[A-Za-z]+)\s*\}")


def dependencies(  # noqa: C901
    texts: Sequence[str], definitions: Sequence[Definition]
) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """Names the step differentiates that nothing defines, read as unknown functions: (name ->
    the names it depends on directly, the kinds of the names no definition gives). ``A`` by
    ``B`` makes ``A`` depend on ``B``, unless through another name it depends on (``\\nabla_x L
    = J^\\top \\nabla_y L`` with ``\\partial y / \\partial x``: L of y, y of x)."""
    deps: dict[str, set[str]] = {}
    for name, formula, _ in definitions:
        deps[name] = ast.free_names(_parse(_plain(formula), ()))
    bold = {m.group(1).lstrip("\\") for t in texts for m in _BOLD_NAME.finditer(t)}
    pairs: set[tuple[str, str]] = set()
    for text in texts:
        _, found = _derivatives(_plain(text))
        for _, operand, variable in found:
            top, bottom = _BASE.match(operand), _BASE.match(variable)
            if bottom is None:
                raise NotNetwork("a derivative by a formula")
            if top is not None and top.group(1).lstrip("\\") != bottom.group(1).lstrip("\\"):
                pairs.add((top.group(1).lstrip("\\"), bottom.group(1).lstrip("\\")))
    generic: dict[str, set[str]] = {}
    for a, b in sorted(pairs):  # in a fixed order: the points drawn follow it
        if a not in deps:
            generic.setdefault(a, set()).add(b)
    everything = {**deps, **generic}

    def reaches(start: str, goal: str) -> bool:
        seen, stack = set(), [start]
        while stack:
            n = stack.pop()
            for m in everything.get(n, ()):
                if m == goal:
                    return True
                if m not in seen:
                    seen.add(m)
                    stack.append(m)
        return False

    reduced = {
        a: tuple(sorted(b for b in ps if not any(c != b and reaches(c, b) for c in ps)))
        for a, ps in generic.items()
    }
    kinds = _kinds({n for pair in pairs for n in pair} - set(deps), bold)
    if any(kinds.get(a) == "matrix" for a in reduced):
        raise NotNetwork("an unknown function whose value is a matrix")
    return reduced, kinds


def _kinds(names: set[str], bold: set[str]) -> dict[str, str]:
    """The shapes the notation gives names no definition gives: a loss's name a scalar, a
    capital a matrix, a bold or lower-case letter a column; else NotNetwork."""
    kinds: dict[str, str] = {}
    for name in names:
        if name in _LOSSES:
            kinds[name] = "scalar"
        elif len(name) == 1 and name.isupper():
            kinds[name] = "matrix"
        elif name in bold or (len(name) == 1 and name.islower()):
            kinds[name] = "column"
        else:
            raise NotNetwork(f"the shape of {name}")
    return kinds


def may_read(text: str) -> bool:
    """Two derivatives or more: a step the chain rule may relate (no network needed)."""
    return len(_DERIVATIVE.findall(text)) >= 2


def _conditions(scope: Any) -> list[str]:
    """The conditions stated nearby, but the network's own equations ("Given $\\mathbf{y} = ...$")."""
    return [t for t in getattr(scope, "written_as", {}).values() if definition_in(t, 0) is None]


def decide(step: Any, scope: Any, base: dict[str, Any]) -> Any:
    """The step decided under the network the write-up defines (a StepMark), or None when it
    is not read this way (the other readings' mark stands)."""
    from grader.steps.models import StepMark, Witness

    if step.relation != "=" or not (scope.network or may_read(step.left + step.right)):
        return None
    texts = (step.left, step.right)
    if any(len(t) > MAX_TEXT or _NOT_READ.search(t) for t in texts):
        return None
    definitions = tuple(d for d in scope.network if d[1] not in (STATED, STATED_ENTRY))
    try:
        generic, kinds = dependencies((step.left, step.right), definitions)
        net = network_of(definitions, scope.shapes, generic, kinds)
        if _stated_otherwise(scope.network, net, step.line) is not None:
            return None  # a name taken for a free input (or read) that the write-up gives otherwise
        if "\\Theta" in step.left + step.right and not net.relu:
            return None  # a step function beside no ReLU: what it stands for is not read
        if not _names_any(texts, {*dict(net.order), *net.generic}):
            return None  # no name the network defines
        found = _outcome(step, scope, net)
    except (NotNetwork, MathError, KeyError, ValueError, ZeroDivisionError, RecursionError, IndexError):
        return None
    if found is None:
        return None
    status, certificate, witness = found
    return StepMark(
        **base,
        status=status,
        certificate=certificate,
        witness=Witness(**{"at": witness[0], "from": witness[1], "to": witness[2]}) if witness else None,
    )


def _round_sizes(net: Network, values: tuple[int, int]) -> dict[int, int]:
    return {cls: values[(cls - 1) % 2] for cls in range(1, net.classes + 1)}


Found = tuple[dict[str, str], str, str]  # a witness: the point, the two sides' values
Outcome = tuple[str, str, Found | None]  # status, certificate, witness


def _outcome(step: Any, scope: Any, net: Network) -> Outcome | None:  # noqa: C901, PLR0912
    texts = (step.left, step.right)
    conditions = _conditions(scope)
    idx = _indices(texts, net)
    rng = random.Random(f"{step.left} = {step.right}")
    held: dict[tuple[int, ...], bool] = {}
    counts_seen: list[tuple[str, tuple[Tag, ...]]] | None = None
    probes = 0
    witness: tuple[dict[str, str], str, str] | None = None
    unread_condition = False
    said_sizes = []
    said_points: list[int] = []
    covered = True
    on_values = _on_values(conditions, net)
    entries = FINE_RANGE if on_values else ENTRY_RANGE
    most_points = 2 * MAX_POINTS if on_values else MAX_POINTS
    for values in SIZES:
        sizes = _round_sizes(net, values)
        bounds = {sym: sizes[cls] for sym, cls in idx.bounds.items()}
        letters = sorted(idx.free)
        assignments = list(itertools.product(*(range(1, sizes[idx.free[k]] + 1) for k in letters)))
        if len(assignments) > MAX_ASSIGNMENTS:
            raise NotNetwork("too many values of the indices")
        reads = {
            a: [
                _read(t, net, sizes, dict(zip(letters, a, strict=True)), bounds, tag)
                for t, tag in zip(texts, "ab", strict=True)
            ]
            for a in assignments
        }
        said_sizes.append(sizes)
        points = 0
        signs: set[tuple[int, int, int, bool]] = set()
        # what the conditions read at the points where they hold, by the indices' values
        accepted: dict[tuple[int, ...], list[tuple[tuple[int, str, Any], ...]]] = {}
        for _ in range(4 * most_points):
            if points == most_points or (points >= POINTS and _covered(signs) and _enough(accepted)):
                break
            inputs = _inputs(net, sizes, rng, entries)
            try:
                token = duals.SIGNS.set(set())
                try:
                    env = _plain_values(_forward(net, inputs))
                    found_signs = duals.SIGNS.get() or set()
                finally:
                    duals.SIGNS.reset(token)
                cache: dict[Any, dict[str, Value]] = {}
                outcomes = []
                for a in assignments:
                    assigned = dict(zip(letters, a, strict=True))
                    judged = [_truth(c, net, sizes, assigned, env) for c in conditions]
                    truths = [t for t, _ in judged]
                    if any(t is False for t in truths):
                        continue
                    probe, counts = _probe(reads[a], net, inputs, env, sizes, cache)
                    read = tuple((n, *r) for n, (_, seen) in enumerate(judged) for r in seen)
                    outcomes.append((a, assigned, probe, counts, any(t is None for t in truths), read))
            except Kink:
                continue
            if not outcomes:
                continue  # the conditions stated nearby hold for no value of the indices here
            points += 1
            signs |= found_signs
            for a, *_, read in outcomes:
                accepted.setdefault(a, []).append(read)
            for _, assigned, probe, counts, unread, _ in outcomes:
                if counts_seen is None:
                    counts_seen = counts
                    held = dict.fromkeys(probe.equal, True)
                if counts != counts_seen:
                    raise NotNetwork("the derivatives differ between sizes")
                probes += 1
                for combo, eq in probe.equal.items():
                    held[combo] = held.get(combo, True) and eq is True
                fails = all(eq is not True for eq in probe.equal.values())
                if fails and probe.values is not None and witness is None:
                    unread_condition = unread_condition or unread
                    at = {"sizes": ", ".join(str(v) for v in values[: min(2, net.classes)])}
                    at.update({k: str(v) for k, v in assigned.items()})
                    at.update({k: _text(inputs[k]) for k in net.inputs})
                    witness = (at, probe.values[0], probe.values[1])
        covered = covered and _covered(signs) and (not on_values or _enough(accepted))
        said_points.append(points)
    if probes == 0 or counts_seen is None:
        return None
    ns = [t for _, t in counts_seen]
    if not covered:  # a ReLU's argument of one sign only, or a condition met at one point only
        held = {c: False for c in held}
    shown = [c for c, ok in held.items() if ok and _consistent(c, ns) is not None]
    said = _said(net, idx, said_sizes, said_points, step, scope, on_values)
    if shown:
        shown = _one_reading(shown, counts_seen, getattr(scope, "readings", None))
        if not shown:
            return (
                "undecided",
                (
                    f"equal at {said} only with a derivative read the other way from a step before in the "
                    "chain (through the definitions, or by the name's own formula with the other names "
                    "held): no one reading shows both, and each step holds under one (not shown, no witness)"
                ),
                None,
            )
        combo = min(shown, key=lambda c: (_consistent(c, ns) or 0, sum(c)))
        how = ""
        if _consistent(combo, ns) == 1:
            how = "; each derivative that of the name's own formula, the other names held"
        if any(t[i][1] for i, t in zip(combo, ns, strict=True)):
            how += "; a gradient by an array in the transposed layout"
        return "shown", f"probes: equal at {said}{how} (not a proof for every size or point)", None
    if witness is None or net.generic:
        return None  # an unknown function may be one for which the step holds: never a witness
    why = _why_no_witness(scope, idx, unread_condition)
    if why:
        return "undecided", f"differs at a point ({said}), but {why}: no witness", None
    return "wrong", f"exact (under {_lines(net)}, at the sizes, indices and entries given)", witness


def _one_reading(
    shown: list[tuple[int, ...]],
    derivatives: Sequence[tuple[str, tuple[Tag, ...]]],
    readings: dict[str, set[int]] | None,
) -> list[tuple[int, ...]]:
    """The readings that show the step and read each derivative as the chain's steps before
    did (``readings``: derivative -> the readings it was shown under, updated here). A chain
    that holds step by step only with ``\\frac{\\partial v_m}{\\partial W_{ij}}`` read through
    the network in one step and as ``v``'s own formula's partial in the next proves nothing."""
    if readings is None:
        return shown

    def kind(combo: tuple[int, ...], n: int) -> int | None:
        return derivatives[n][1][combo[n]][0]

    kept = [
        c
        for c in shown
        if all(
            kind(c, n) is None or key not in readings or kind(c, n) in readings[key]
            for n, (key, _) in enumerate(derivatives)
        )
    ]
    for n, (key, _) in enumerate(derivatives):
        kinds = {k for c in kept if (k := kind(c, n)) is not None}
        if kinds:
            readings[key] = kinds
    return kept


def _on_values(conditions: Sequence[str], net: Network) -> bool:
    """A condition stated nearby about the network's values (``x_j > 6``, not ``m = i``)."""
    return _names_any(conditions, {*dict(net.order), *net.inputs, *net.generic})


def _names_any(texts: Sequence[str], names: set[str]) -> bool:
    """Some text names one of ``names`` (a single letter, as the network's names are)."""
    return any(m.group(1) in names for t in texts for m in _LETTER.finditer(_plain(t)))


def _enough(accepted: Mapping[tuple[int, ...], Sequence[tuple[tuple[Any, ...], ...]]]) -> bool:
    """Each value of the indices where the conditions held at a point held them at two, and
    each value an inequality there reads took two values at least: a step equal at one point
    of the region a condition leaves is not shown by it, nor one equal where the region meets
    the entries' edge only (``x_j \\geq 7``: every point there has x_j = 7, the region does not)."""
    for reads in accepted.values():
        if len(reads) < MIN_ACCEPTED:
            return False
        seen: dict[tuple[Any, ...], set[Any]] = {}
        for read in reads:
            for n, name, value in read:
                seen.setdefault((n, name), set()).add(value)
        if any(len(values) < MIN_ACCEPTED for values in seen.values()):
            return False
    return True


def _covered(signs: set[tuple[int, int, int, bool]]) -> bool:
    """Every ReLU argument's entry seen positive and negative."""
    return all((node, i, j, not positive) in signs for node, i, j, positive in signs)


def _lines(net: Network) -> str:
    lines = list(net.lines)
    said = f"line {lines[0]}" if len(lines) == 1 else f"lines {lines[0]}-{lines[-1]}"
    return f"the network the write-up defines on {said}"


def _said(
    net: Network,
    idx: _Indices,
    rounds: Sequence[Mapping[int, int]],
    points: Sequence[int],
    step: Any,
    scope: Any,
    on_values: bool,
) -> str:
    sizes = " then ".join(
        f"{n} points at the sizes {', '.join(str(v) for v in r.values())}"
        for r, n in zip(rounds, points, strict=True)
    )
    kind = "numbers in twelfths" if on_values else "whole numbers"
    parts = [f"{sizes} (entries small {kind}{', every ReLU of both signs' if net.relu else ''})"]
    if idx.free:
        parts.append("every value of " + ", ".join(sorted(idx.free)))
    if net.lines:
        parts.append(f"{_lines(net)} put in, each derivative taken through it, in exact arithmetic")
    else:
        parts.append("each derivative taken through the names it depends on, in exact arithmetic")
    for name, parents in net.generic.items():
        parts.append(
            f"{name} read as an unknown function of {', '.join(parents)} (a random polynomial of degree 2)"
        )
    if idx.kronecker:
        parts.append("\\delta read as the Kronecker delta")
    if "\\Theta" in step.left + step.right:
        parts.append("\\Theta as the step function (no point where its argument is 0)")
    if any(True for _ in getattr(scope, "written_as", {}).values()):
        each = " (two at least for each value of the indices)" if on_values else ""
        parts.append(f"at the points where the conditions stated nearby hold{each}")
    return "; ".join(parts)


def _why_no_witness(scope: Any, idx: _Indices, unread_condition: bool) -> str | None:
    if getattr(scope, "unread", ()):
        return f"a condition stated nearby was not read ({scope.unread[0]})"
    if unread_condition:
        return "a condition stated nearby was not read at that point"
    if getattr(scope, "array_words", ()):
        return f"the write-up says '{scope.array_words[0]}' nearby (a property of arrays not read)"
    if idx.kronecker and not getattr(scope, "kronecker", False):
        return "\\delta is read as the Kronecker delta, which the write-up does not name"
    return None
