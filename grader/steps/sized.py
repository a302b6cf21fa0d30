"""Vectors and matrices of the sizes a write-up declares, and gradients by them, written out.

``W \\in \\mathbb{R}^{m \\times n}``, ``\\mathbf{x} \\in \\mathbb{R}^n`` (the write-up's math, or a
part's ``arrays``) give names their shapes. A step between such arrays is written out with
symbolic entries (:mod:`grader.steps.polys`: exact arithmetic of polynomials, no sympy) at
small sizes: each size symbol at 2, 3, ... (two rounds, the symbols at different values in
a round and swapped between rounds: ``m = 2, n = 3`` then ``m = 3, n = 2``), a size the
text fixes (``n = 3``) at its value. Names only the notation marks as arrays (bold,
transposed, normed, single capitals) are square matrices and columns of the round's size,
as :mod:`grader.steps.arrays` has them.

Gradients of a scalar formula, ``\\nabla_x F``, ``\\frac{\\partial}{\\partial W} F`` and
``\\frac{\\partial F}{\\partial W}``, are computed entry by entry (the derivative of each
entry's polynomial), as an array of the variable's shape or as its transpose (numerator
layout): either is shown.

- Equal at every size tried: **shown**, ``probes`` at the sizes tried ("not a proof for
  every size"), or ``proved`` when every size is a declared number (the written-out arrays
  are the arrays) and ``exact`` for numbers alone.
- Different: **wrong** only when every array in the step has a declared shape, nothing
  opaque is in it (``exp``, ``sqrt`` of entries: no exact values), no name in it has a
  condition or a definition in the write-up, and nothing near it states a property of
  arrays grader does not read (symmetric, orthogonal, a unit vector...); the witness is a
  concrete point, the sizes and every entry a small whole number, where both sides have
  exact values that differ under every layout tried. Else undecided, saying why.
"""

from __future__ import annotations

import random
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from grader.mathlang import ast
from grader.mathlang.errors import MathError
from grader.steps import polys
from grader.steps.arrays import (
    _BOLD,
    _CAPITAL,
    _NOT_MATRICES,
    MAX_NODES,
    SIZES,
    NotArrays,
    _equal,
    _is_array,
    _read,
    _sympy_shown,
    _transposed_or_normed,
    _value,
)
from grader.steps.arrays import _values as _array_values
from grader.steps.latex import closing, group_end, scripts_end, term_end
from grader.steps.read import Context

Dims = tuple[str, ...]
MAX_ENTRIES = 64  # entries of one array at one size (the work a step may take is capped)
TRIES = 24  # concrete points tried for a witness
_NOT_READ = (
    polys.Shapes,
    polys.TooLarge,
    NotArrays,
    KeyError,
    ValueError,
    ZeroDivisionError,
    RecursionError,
)


@dataclass(frozen=True)
class Outcome:
    """``shown`` (certificate), ``wrong`` (certificate and a witness: the point's values, the
    two sides' values there), or ``differs`` (the sides differ at a size, no witness may be
    given: the certificate says why)."""

    status: str
    certificate: str
    witness: tuple[dict[str, str], str, str] | None = None


@dataclass(frozen=True)
class _Derivative:
    name: str  # the placeholder's name in the side (Z_drv0)
    variable: str  # the array it is taken by
    operand: ast.Node


@dataclass
class _Step:
    sides: tuple[ast.Node, ast.Node]
    derivatives: list[_Derivative]
    names: set[str]
    arrays: set[str]
    declared: Mapping[str, Dims]
    guessed: list[str]  # arrays whose shape the notation only suggests
    symbols: list[str]  # size symbols of the declared shapes
    functions: frozenset[str] = frozenset()  # functions not defined here (opaque atoms)


# -- declarations ----------------------------------------------------------------------------


def _name_of(text: str, context: Context) -> str | None:
    """The parser's name for a written name (``\\mathbf{W}_1`` -> ``W_1``), or None."""
    try:
        node, _ = _read(text, context)
    except (NotArrays, MathError):
        return None
    return node.name if isinstance(node, ast.Sym) else None


def declared_shapes(declared: Sequence[tuple[str, Dims]], context: Context) -> dict[str, Dims]:
    """Names (as the parser has them) with the dimensions the write-up (``declared``: names and
    dimensions as written) or the part (``context.shapes``) gives them; the part's win. A
    name declared bold (``\\mathbf{x} \\in \\mathbb{R}^n``) is kept as ``*x``: it applies to a
    step only where the letter is written bold (:func:`shapes_in`)."""
    out: dict[str, Dims] = {}
    for written, dims in declared:
        name = _name_of(written, context)
        plain = [d if d.isdigit() else _name_of(d, context) for d in dims]
        if name is None or not all(plain) or not 1 <= len(plain) <= 2:
            continue
        out[("*" if _BOLD.search(written) else "") + name] = tuple(p for p in plain if p)
    for name, shape in context.shapes.items():
        if 1 <= len(shape) <= 2:
            out[str(name)] = tuple(str(d) for d in shape)
    return out


def shapes_in(shapes: Mapping[str, Dims], *texts: str) -> dict[str, Dims]:
    """The declared shapes that apply to a step's texts: a name declared bold applies only
    when the step writes its letter bold everywhere (``\\mathbf{x}`` declared, ``\\tanh(x)``
    written: that plain ``x`` is another symbol, a scalar)."""
    out: dict[str, Dims] = {}
    unbold = _BOLD.sub(" ", " ".join(texts))
    for name, dims in shapes.items():
        if not name.startswith("*"):
            out.setdefault(name, dims)
            continue
        base = name[1:].split("_")[0]
        if not re.search(rf"(?<![A-Za-z\\]){re.escape(base)}(?![A-Za-z])", unbold):
            out[name[1:]] = dims
    return out


# -- gradients written in the sides -------------------------------------------------------------

_NABLA = re.compile(r"\\nabla\s*_\s*(\{|\\?[A-Za-z])")
_PARTIAL_OP = re.compile(r"\\frac\s*\{\s*\\partial\s*\}\s*\{\s*\\partial\s*")
_PARTIAL_OF = re.compile(r"\\frac\s*\{\s*\\partial\s*(?=[(\\\[{])")
_OPENING = re.compile(r"\s*(\\left\s*[(\[]|[(\[])")
_NORMS = re.compile(r"\\\|.*?\\\||\\lVert.*?\\rVert|\|[^|]*\|")
MAX_GRADIENTS = 4


def _operand(text: str, at: int) -> tuple[str, int] | None:
    """What an operator at ``at`` applies to: a bracketed group with its scripts
    (``(w^\\top x - y)^2``) when a term's end follows it, else the term that starts there when
    it runs to the end of the side (``\\nabla_x x^\\top A x``); None when which factors it
    takes is unclear."""
    m = _OPENING.match(text, at)
    if m is not None:
        end = closing(text, m.end() - 1)
        if end is None:
            return None
        powered = scripts_end(text, end)
        if text[powered:].strip()[:1] in ("", "+", "-"):
            if powered == end:
                return re.sub(r"\\right\s*$", "", text[m.end() : end - 1].rstrip()), end
            return text[at:powered], powered
    masked = _NORMS.sub(lambda n: "N" * len(n.group(0)), text)  # a norm's inside is no term's end
    finish = term_end(masked, at)
    if text[at:finish].strip() and not text[finish:].strip():
        return text[at:finish].strip(), len(text)
    return None


def _one_gradient(text: str, m: re.Match[str]) -> tuple[str, tuple[str, int] | None] | None:
    """(the variable's text, (operand text, where it ends)) of the gradient matched at ``m``."""
    if m.re is _NABLA:
        if m.group(1) == "{":
            end = closing(text, m.end() - 1)
            if end is None:
                return None
            return text[m.end() : end - 1], _operand(text, end)
        return m.group(1), _operand(text, m.end())
    if m.re is _PARTIAL_OP:
        bottom_end = closing(text, text.index("{", text.index("}", m.start())))
        if bottom_end is None:
            return None
        return text[m.end() : bottom_end - 1], _operand(text, bottom_end)
    top_end = group_end(text, m.start() + len("\\frac"))
    bottom_end = group_end(text, top_end) if top_end is not None else None
    if top_end is None or bottom_end is None:
        return None
    bottom = text[text.index("{", top_end) + 1 : bottom_end - 1].strip()
    if not bottom.startswith("\\partial"):
        return None
    return bottom[len("\\partial") :], (text[m.end() : top_end - 1].strip(), bottom_end)


def gradient_texts(text: str) -> tuple[str, list[tuple[str, str, str]]] | None:
    """The side with each ``\\nabla_x F``, ``\\frac{\\partial}{\\partial x} F`` and
    ``\\frac{\\partial F}{\\partial x}`` replaced by a placeholder name: (text, [(placeholder,
    variable text, operand text)]); None when one is written in a way not read here."""
    found: list[tuple[str, str, str]] = []
    for _ in range(MAX_GRADIENTS):
        hits = [m for m in (_NABLA.search(text), _PARTIAL_OP.search(text), _PARTIAL_OF.search(text)) if m]
        if not hits:
            return text, found
        m = min(hits, key=lambda h: h.start())
        one = _one_gradient(text, m)
        if one is None or one[1] is None:
            return None
        variable, (body, end) = one[0], one[1]
        name = f"Z_{{drv{len(found)}}}"  # the parser's name for it: Z_drv0
        found.append((name, variable.strip(), body))
        text = f"{text[: m.start()]} {name} {text[end:]}"
    return None


def _gradient(p: polys.Value, variable: polys.Array, transposed: bool) -> polys.Array:
    """The gradient of a scalar by an array, entry by entry, in the array's shape (or its
    transpose); a Jacobian (an array's derivative) is not taken: which layout is meant?"""
    if isinstance(p, polys.Array):
        if p.rows * p.cols != 1:
            raise NotArrays("the derivative of an array")
        p = p.entries[0]
    entries = []
    for entry in variable.entries:
        ((key, _),) = next(iter(entry))  # an entry is one atom: name[i] or name[i,j]
        entries.append(polys.derivative(p, key))
    g = polys.Array(variable.rows, variable.cols, tuple(entries))
    return polys.transposed(g) if transposed else g


# -- reading and writing out -----------------------------------------------------------------


_NOT_DEFINED = re.compile(r"^(\w+)\(\.\.\.\) is a function not defined here")
MAX_UNKNOWN = 3  # functions not defined here a step may apply (each an opaque atom)


def _with_unknown_functions(texts: list[str], context: Context) -> tuple[Context, frozenset[str]]:
    """The context with the functions not defined here that the texts apply (``\\phi(...)``)
    named, so that they parse as applications: each is an opaque atom of its argument."""
    unknown: set[str] = set()
    for _ in range(MAX_UNKNOWN):
        found = None
        for text in texts:
            try:
                _read(text, context, superscripts=True)
            except NotArrays as err:
                found = _NOT_DEFINED.match(str(err))
                if found is not None:
                    break
            except MathError:
                continue
        if found is None:
            break
        unknown.add(found.group(1))
        context = replace(context, functions={**context.functions, found.group(1): found.group(1)})
    return context, frozenset(unknown)


def _prepare(left: str, right: str, context: Context, declared: Mapping[str, Dims]) -> _Step | None:
    pieces = [gradient_texts(t) for t in (left, right)]
    if pieces[0] is None or pieces[1] is None:
        return None
    texts = [pieces[0][0], pieces[1][0], *(body for p in (pieces[0], pieces[1]) for _, _, body in p[1])]
    context, unknown = _with_unknown_functions(texts, context)
    try:
        sides = [_read(p[0], context, superscripts=True) for p in (pieces[0], pieces[1])]
        derivatives = [
            _Derivative(
                name.replace("{", "").replace("}", ""), _name_of(var, context) or "", _read(body, context)[0]
            )
            for p in (pieces[0], pieces[1])
            for name, var, body in p[1]
        ]
    except (NotArrays, MathError):
        return None
    nodes = [s[0] for s in sides] + [d.operand for d in derivatives]
    if any(sum(1 for _ in ast.walk(n)) > MAX_NODES for n in nodes):
        return None
    names: set[str] = set().union(*(ast.free_names(n) for n in nodes)) - {d.name for d in derivatives}
    bold = sides[0][1] | sides[1][1]
    entries = {
        n
        for node in nodes
        for sub in ast.walk(node)
        if isinstance(sub, (ast.ListLit, ast.Matrix))
        for n in ast.free_names(sub)
    }
    arrays = {n for n in names if _is_array(n, bold) or n in declared}
    arrays |= _transposed_or_normed(*nodes) - (entries - set(declared))  # [x_1, x_2]^\top: scalars
    arrays |= {d.variable for d in derivatives if d.variable in names}
    if any(d.variable not in arrays for d in derivatives):
        return None  # a derivative by a scalar, or by no name: calculus.py's
    for d in derivatives:
        inside = ast.free_names(d.operand)
        if d.variable not in inside:
            return None  # \nabla_W L: a name, maybe a function of W defined elsewhere
        if any(_may_depend(n) for n in inside - arrays):
            return None  # \nabla_w (L + \lambda w^\top w): L may depend on w
    if not arrays and not _vectors_written(nodes, names):
        return None  # [a, b] = [0, 1] may be an interval, a tuple...
    symbols = sorted({d for a in arrays if a in declared for d in declared[a] if not d.isdigit()})
    if any(s in arrays for s in symbols):
        return None
    return _Step(
        (sides[0][0], sides[1][0]),
        derivatives,
        names,
        arrays,
        declared,
        sorted(arrays - set(declared)),
        symbols,
        unknown,
    )


_CONSTANTS = frozenset(
    {"alpha", "beta", "gamma", "eta", "lambda", "mu", "rho", "tau", "epsilon", "varepsilon"}
)


def _may_depend(name: str) -> bool:
    """A scalar in a gradient's operand that may be a function of the variable (a loss ``L``,
    ``\\ell``, ``f``, a name of more letters): the gradient is then not computed. Single
    lower-case letters (a target ``y``, a bias ``b``) and hyper-parameters are constants."""
    base = re.split(r"[_^]", name)[0]
    if base in _CONSTANTS:
        return False
    return not (len(base) == 1 and base.islower() and base not in "fghl")


def _vectors_written(nodes: list[ast.Node], names: set[str]) -> bool:
    """Lists and matrices that are vectors and matrices: numbers alone, a ``\\begin{bmatrix}``,
    a transposed list, a product of lists (``[a, b] = [0, 1]`` alone may be an interval)."""
    subs = [s for n in nodes for s in ast.walk(n)]
    if not any(isinstance(s, (ast.ListLit, ast.Matrix)) for s in subs):
        return False
    if not names or any(isinstance(s, ast.Matrix) for s in subs):
        return True
    return any(
        (isinstance(s, ast.Transpose) and isinstance(s.operand, ast.ListLit))
        or (isinstance(s, ast.BinOp) and isinstance(s.left, ast.ListLit) and isinstance(s.right, ast.ListLit))
        for s in subs
    )


def _rounds(symbols: list[str], fixed: Mapping[str, int], guessed: bool) -> list[dict[str, int]]:
    """The sizes tried ("" is the size of arrays whose shape is guessed); one round when every
    size is fixed and no shape is guessed."""
    free = [s for s in symbols if s not in fixed]
    if not free and not guessed:
        return [dict(fixed)]
    count = max(2, len(free))
    return [{**{s: 2 + (i + k) % count for i, s in enumerate(free)}, **fixed, "": 2 + k} for k in range(2)]


def _admitted(sizes: Mapping[str, int], symbols: list[str], domains: Mapping[str, Any]) -> bool:
    """Every size symbol's value inside the domain declared for it (a part's ``n: {min: 2}``)."""
    for s in symbols:
        domain = domains.get(s)
        if domain is None or not hasattr(domain, "ends"):
            continue
        (low, low_open), (high, high_open) = domain.ends()
        v = sizes[s]
        if v < low or v > high or (low_open and v == low) or (high_open and v == high):
            return False
    return True


def _array(name: str, shape: tuple[int, int], vector: bool) -> polys.Array:
    rows, cols = shape
    if rows * cols > MAX_ENTRIES:
        raise polys.TooLarge("an array too large to write out")
    if vector:
        return polys.Array(rows, cols, tuple(polys.symbol(f"{name}[{i}]") for i in range(rows * cols)))
    entries = tuple(polys.symbol(f"{name}[{i},{j}]") for i in range(rows) for j in range(cols))
    return polys.Array(rows, cols, entries)


def _values(step: _Step, sizes: Mapping[str, int]) -> dict[str, polys.Value]:
    values: dict[str, polys.Value] = {}
    for name in sorted(step.names | {d.variable for d in step.derivatives}):
        capital = _CAPITAL.match(name.split("_")[0]) is not None
        if name in step.declared:
            dims = [int(d) if d.isdigit() else sizes[d] for d in step.declared[name]]
            shape = (dims[0], 1) if len(dims) == 1 else (dims[0], dims[1])
            values[name] = _array(name, shape, len(dims) == 1)
        elif name in step.arrays:
            n = sizes[""]
            values[name] = _array(name, (n, n) if capital else (n, 1), not capital)
        elif name in sizes:
            values[name] = polys.constant(sizes[name])
        else:
            values[name] = polys.symbol(name)
    return values


def _sides(
    step: _Step, values: Mapping[str, polys.Value], transposed: bool, atoms: Any
) -> tuple[polys.Value, polys.Value]:
    with_values = dict(values)
    for d in step.derivatives:
        variable = values[d.variable]
        assert isinstance(variable, polys.Array)
        with_values[d.name] = _gradient(polys.value(d.operand, dict(values), atoms), variable, transposed)
    return (
        polys.value(step.sides[0], with_values, atoms),
        polys.value(step.sides[1], with_values, atoms),
    )


def same(a: polys.Value, b: polys.Value, point: Mapping[str, Fraction] | None = None) -> bool:
    """Equal as polynomials (or, at ``point``, as exact values), entry by entry and in shape."""
    a, b = polys.as_scalar(a), polys.as_scalar(b)
    if isinstance(a, polys.Array) or isinstance(b, polys.Array):
        if not (isinstance(a, polys.Array) and isinstance(b, polys.Array)) or (a.rows, a.cols) != (
            b.rows,
            b.cols,
        ):
            return False
        pairs = list(zip(a.entries, b.entries, strict=True))
    else:
        pairs = [(a, b)]
    if point is None:
        return all(not polys.difference(x, y) for x, y in pairs)
    return all(polys.evaluate(x, dict(point)) == polys.evaluate(y, dict(point)) for x, y in pairs)


@dataclass(frozen=True)
class Stated:
    """What the write-up states around a step. ``fixed``: sizes it fixes (``n = 3``);
    ``refutable``: why no witness may be given (None: it may); ``blocked``: names with a
    condition, a declared domain or a definition (never given a witness's value); ``unsized``:
    size symbols with a condition other than a fixed value, or a definition (the step is
    then left to the other readings); ``domains``:
    declared domains the sizes must lie in; ``defined``: base names the write-up defines (a
    gradient whose operand holds one is not computed: it may depend on the variable)."""

    fixed: Mapping[str, int] = field(default_factory=dict)
    refutable: str | None = None
    blocked: frozenset[str] = frozenset()
    domains: Mapping[str, Any] = field(default_factory=dict)
    defined: frozenset[str] = frozenset()
    unsized: frozenset[str] = frozenset()  # size symbols with a condition (n > 5) or a definition


def decide(
    left: str, right: str, context: Context, declared: Mapping[str, Dims], stated: Stated | None = None
) -> Outcome | None:
    """``left = right`` written out (see the module's text), with what the write-up
    ``stated`` around it. None when not read this way."""
    stated = stated or Stated()
    fixed, refutable, blocked = dict(stated.fixed), stated.refutable, stated.blocked
    step = _prepare(left, right, context, declared)
    if step is None or any(s in stated.unsized and s not in fixed for s in step.symbols):
        return None
    for d in step.derivatives:  # z = w^T x written before: \nabla_w (z + w^T w) is not computed
        if any(re.split(r"[_^]", n)[0] in stated.defined for n in ast.free_names(d.operand) - {d.variable}):
            return None
    rounds = [
        r
        for r in _rounds(step.symbols, fixed, bool(step.guessed))
        if _admitted(r, step.symbols, stated.domains)
    ]
    if not rounds:
        return None
    refutable = refutable or _why_no_witness(step, blocked)
    try:
        outcome = _written_out(step, rounds, refutable, fixed)
        if outcome is not None and outcome.status == "shown":
            return _as_matrices(step, rounds, fixed) or outcome
        return outcome
    except polys.NotCovered:
        shown = _with_sympy(step)
        return (_as_matrices(step, rounds, fixed) if shown is not None else None) or shown
    except _NOT_READ:
        return None


def _as_matrices(step: _Step, rounds: list[dict[str, int]], fixed: Mapping[str, int]) -> Outcome | None:
    """A step shown with capitals read as numbers (``D``, ``M``, ``N``: sizes and counts more
    often than matrices) beside arrays of guessed shapes, which differs with them square
    matrices too (``D^{-1} A V = A D^{-1} V``, ``D`` the attention's normaliser): "differs",
    never shown on that guess; None where the step holds both ways or the other way is not read."""
    maybe = sorted(
        n
        for n in step.names - step.arrays - set(step.symbols)
        if len(base := n.split("_")[0]) == 1 and base in _NOT_MATRICES
    )
    if not maybe or not step.guessed or any("" not in r for r in rounds):
        return None
    sides = (_inverses_named(step.sides[0], set(maybe)), _inverses_named(step.sides[1], set(maybe)))
    inverses = {f"{n}_inv" for n in maybe if any(f"{n}_inv" in ast.free_names(side) for side in sides)}
    matrices = set(maybe) | inverses
    other = replace(
        step,
        sides=sides,
        names=step.names | inverses,
        arrays=step.arrays | matrices,
        guessed=sorted({*step.guessed, *matrices}),
    )
    try:
        outcome = _written_out(other, rounds, "it may be a number", fixed)
    except polys.NotCovered:
        outcome = None
    except _NOT_READ:  # a number added to it (N + 1): it is no matrix here
        return None
    if not (_sympy_differs(other) if outcome is None else outcome.status != "shown"):
        return None
    return Outcome(
        "differs",
        f"equal with {', '.join(maybe)} read as a number, but {maybe[0]} may be a matrix: with "
        f"{'it' if len(maybe) == 1 else 'them'} square matrices the step is not shown (no witness)",
    )


def _sympy_differs(step: _Step) -> bool:
    """The sides written out with sympy at sizes 2 and 3 differ at one; False where they are
    equal or not read (``\\frac{1}{N}`` of a matrix ``N``: it is no matrix there)."""
    import sympy

    try:
        for n in SIZES:
            values = _array_values(step.names, step.arrays, n)
            if not _equal(_value(step.sides[0], values), _value(step.sides[1], values)):
                return True
    except (NotArrays, TypeError, ValueError, ZeroDivisionError, sympy.ShapeError, RecursionError):
        return False
    return False


def _inverses_named(node: ast.Node, names: set[str]) -> ast.Node:
    """``D^{-1}`` of a name in ``names`` as a matrix of its own, ``D_inv`` (every invertible
    matrix is some matrix's inverse: a step that differs with it a free matrix differs for some
    invertible ``D``), inside sums, products, negations and transposes."""
    if isinstance(node, ast.BinOp):
        right = node.right
        if (
            node.op == "^"
            and isinstance(node.left, ast.Sym)
            and node.left.name in names
            and isinstance(right, ast.Neg)
            and isinstance(right.operand, ast.Num)
            and right.operand.value == 1
        ):
            return ast.Sym(pos=node.pos, name=f"{node.left.name}_inv")
        return replace(node, left=_inverses_named(node.left, names), right=_inverses_named(right, names))
    if isinstance(node, (ast.Neg, ast.Transpose)):
        return replace(node, operand=_inverses_named(node.operand, names))
    return node


def _why_no_witness(step: _Step, blocked: frozenset[str]) -> str | None:
    """Why a point where the sides differ is no witness here, or None."""
    resting = sorted(n for n in step.names if n in blocked or n.split("_")[0] in blocked)
    if resting:
        return f"{resting[0]} has a condition or a definition in the write-up"
    entries = sorted(n for n in step.names if n not in step.arrays and entry_of(n, step.arrays))
    if entries:  # x_1 beside a vector x: an entry of x, not a scalar apart from it
        return f"{entries[0]} may be an entry of {entry_of(entries[0], step.arrays)}"
    if any("^(" in n for n in step.names):
        return "entries with a superscript index (x^{(i)}, x^{(j)}) may be the same entry"
    if step.guessed:
        return f"the shapes of {', '.join(step.guessed)} are not declared (\\in \\mathbb{{R}}^{{...}})"
    return None


def entry_of(name: str, arrays: Collection[str]) -> str | None:
    """The array ``name`` is written as an entry of (``x_1``, ``x_{ij}`` of ``x``), or None."""
    base = name.split("_")[0]
    return base if base != name and base in arrays else None


def _written_out(
    step: _Step, rounds: list[dict[str, int]], refutable: str | None, fixed: Mapping[str, int]
) -> Outcome | None:
    variants = (False, True) if step.derivatives else (False,)
    agree = dict.fromkeys(variants, True)
    for sizes in rounds:
        values = _values(step, sizes)
        atoms = polys.new_atoms(step.functions)
        found = {t: _sides(step, values, t, atoms) for t in variants}
        for t, (a, b) in found.items():
            agree[t] = agree[t] and same(a, b)
        if any(agree.values()):
            continue
        if polys.is_opaque(atoms) and any("(" in a for pair in found.values() for a in _atoms(pair)):
            return _with_sympy(step)  # a difference may come from what the arithmetic cannot see
        return _refuted(step, sizes, values, found, refutable)
    said = ""
    if step.derivatives:
        layout = "as a row (numerator layout)" if not agree[False] else "in the variable's shape"
        variables = ", ".join(sorted({d.variable for d in step.derivatives}))
        said = f" (the gradient by {variables} computed entry by entry, {layout})"
    return Outcome("shown", _certificate(rounds, step, fixed) + said)


def _refuted(
    step: _Step,
    sizes: Mapping[str, int],
    values: Mapping[str, polys.Value],
    found: Mapping[bool, tuple[polys.Value, polys.Value]],
    refutable: str | None,
) -> Outcome:
    said = [f"{s} = {sizes[s]}" for s in step.symbols]
    if step.guessed:
        said.append(f"{sizes['']} (the size of {', '.join(step.guessed)})")
    where = ("sizes " + ", ".join(said)) if said else "the declared sizes"
    if refutable is not None:
        return Outcome("differs", f"differs at {where} with symbolic entries, but {refutable}: no witness")
    if any(_transposes(a, b) for a, b in found.values()):
        return Outcome(
            "differs",
            f"at {where} the two sides have the same entries, one a row and the other a column "
            "(equal up to a transpose: a slip of notation, not marked wrong)",
        )
    witness = _witness(step, sizes, values, found)
    if witness is None:
        return Outcome(
            "differs", f"differs at {where} with symbolic entries; no point with exact values found"
        )
    return Outcome("wrong", "exact", witness)  # the witness holds the sizes and every entry


def _atoms(pair: tuple[polys.Value, polys.Value]) -> set[str]:
    return polys.atoms_of(pair[0]) | polys.atoms_of(pair[1])


def _transposes(a: polys.Value, b: polys.Value) -> bool:
    a, b = polys.as_scalar(a), polys.as_scalar(b)
    return (
        isinstance(a, polys.Array)
        and isinstance(b, polys.Array)
        and 1 in (a.rows, a.cols)
        and same(polys.transposed(a), b)
    )


def _certificate(rounds: list[dict[str, int]], step: _Step, fixed: Mapping[str, int]) -> str:
    if len(rounds) == 1 and not step.guessed and all(s in fixed for s in step.symbols):
        stated = ", ".join(f"{s} = {rounds[0][s]}" for s in step.symbols)
        where = f"at {stated} (the size stated)" if stated else "at their declared sizes"
        if any(isinstance(s, ast.Sym) for n in step.sides for s in ast.walk(n)):
            return (
                f"proved: equal entry by entry, the vectors and matrices written out {where} with "
                "symbolic entries and expanded exactly"
            )
        return "exact: equal entry by entry, computed exactly"
    if step.symbols:
        each = [", ".join(f"{s} = {r[s]}" for s in step.symbols) for r in rounds]
        if step.guessed:
            each = [
                f"{e} ({', '.join(step.guessed)} of size {r['']})" for e, r in zip(each, rounds, strict=True)
            ]
        sizes = " and ".join(each)
    else:
        sizes = " and ".join(str(r[""]) for r in rounds)
    return (
        f"probes: equal at sizes {sizes} only, the vectors and matrices written out with symbolic "
        "entries and expanded exactly at each size (not a proof for every size)"
    )


def _with_sympy(step: _Step) -> Outcome | None:
    """What grader's arithmetic cannot tell apart (a division by a sum, ``exp(a) exp(b)``):
    written out with sympy at sizes 2 and 3, shown only (guessed shapes, no gradient)."""
    if step.derivatives or step.arrays & set(step.declared):
        return None
    sizes = _sympy_shown(step.sides[0], step.sides[1], step.names, step.arrays)
    if sizes is None:
        return None
    return Outcome(
        "shown",
        f"probes: equal at sizes {sizes} only, the vectors and matrices written out with symbolic "
        "entries and expanded exactly at each size (not a proof for every size)",
    )


def _text(v: polys.Value, point: Mapping[str, Fraction]) -> str:
    def number(p: polys.Poly) -> str:
        x = polys.evaluate(p, dict(point))
        return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"

    if not isinstance(v, polys.Array):
        return number(v)
    if v.rows * v.cols == 1:
        return number(v.entries[0])
    if v.cols == 1:
        return "[" + ", ".join(number(p) for p in v.entries) + "]^T"
    rows = ("[" + ", ".join(number(v.at(i, j)) for j in range(v.cols)) + "]" for i in range(v.rows))
    return "[" + ", ".join(rows) + "]"


def _witness(
    step: _Step,
    sizes: Mapping[str, int],
    values: Mapping[str, polys.Value],
    found: Mapping[bool, tuple[polys.Value, polys.Value]],
) -> tuple[dict[str, str], str, str] | None:
    """A point (each entry and scalar a small nonzero whole number) where the two sides have
    exact values that differ under every layout tried; None when none is found."""
    atoms: set[str] = set()
    for v in [*values.values(), *(x for pair in found.values() for x in pair)]:
        atoms |= polys.atoms_of(v)
    if any("(" in a or "<" in a for a in atoms):
        return None  # an opaque atom or a constant: no exact value here
    rng = random.Random(61)
    choices = [Fraction(v) for v in (1, 2, -1, 3, -2)]
    for _ in range(TRIES):
        point = {a: rng.choice(choices) for a in sorted(atoms)}
        try:
            if any(same(a, b, point) for a, b in found.values()):
                continue
            at = {s: str(sizes[s]) for s in step.symbols}
            at.update({n: _text(v, point) for n, v in sorted(values.items()) if polys.atoms_of(v)})
            a, b = found[False]
            return at, _text(a, point), _text(b, point)
        except ZeroDivisionError:
            continue
    return None


# -- statements between arrays: P \iff Q, P \implies Q ----------------------------------------

_FLIPPED = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "=": "="}


def same_relation(
    first: tuple[str, str, str],
    second: tuple[str, str, str],
    context: Context,
    declared: Mapping[str, Dims],
) -> str | None:
    """The certificate when two statements between scalars of arrays (``(left, op, right)``,
    ``\\mathbf{w}^\\top (\\mathbf{x} - \\mathbf{y}) > 0`` and ``\\mathbf{w}^\\top \\mathbf{x} >
    \\mathbf{w}^\\top \\mathbf{y}``) are one relation: left minus right of one is a constant
    multiple of the other's at every size tried (a positive one with the same relation, a
    negative one with the flipped relation), so each holds exactly where the other does.
    None otherwise (never a refutation)."""
    (l1, op1, r1), (l2, op2, r2) = first, second
    step = _prepare(f"({l1}) - ({r1})", f"({l2}) - ({r2})", context, declared)
    if step is None or step.derivatives:
        return None
    rounds = _rounds(step.symbols, {}, bool(step.guessed))
    sign = 0
    try:
        for sizes in rounds:
            a, b = _sides(step, _values(step, sizes), False, polys.new_atoms(step.functions))
            a, b = polys.as_scalar(a), polys.as_scalar(b)
            if isinstance(a, polys.Array) or isinstance(b, polys.Array) or not a or not b:
                return None
            monomial = next(iter(b))
            c = a.get(monomial, Fraction(0)) / b[monomial]
            if not c or polys.difference(a, {m: c * v for m, v in b.items()}):
                return None
            if sign and (c > 0) != (sign > 0):
                return None
            sign = 1 if c > 0 else -1
    except (polys.NotCovered, *_NOT_READ):
        return None
    if op1 != (op2 if sign > 0 else _FLIPPED.get(op2)):
        return None
    return (
        f"probes: the same relation at sizes {_said_rounds(rounds, step)} only (one side minus the other a "
        f"{'positive' if sign > 0 else 'negative'} constant times the other statement's), the vectors and "
        "matrices written out with symbolic entries and expanded exactly (not a proof for every size)"
    )


def _said_rounds(rounds: list[dict[str, int]], step: _Step) -> str:
    if step.symbols:
        return " and ".join(", ".join(f"{s} = {r[s]}" for s in step.symbols) for r in rounds)
    return " and ".join(str(r[""]) for r in rounds)


# -- for inequalities probed at rational instances (grader.steps.vectors) ---------------------

Step = _Step
prepare = _prepare
why_no_witness = _why_no_witness


def rounds(step: _Step, stated: Stated) -> list[dict[str, int]]:
    """The sizes tried for ``step`` under what is ``stated`` (fixed sizes, declared domains);
    none when a size symbol has another condition (``n > 5``)."""
    if any(s in stated.unsized and s not in stated.fixed for s in step.symbols):
        return []
    tried = _rounds(step.symbols, dict(stated.fixed), bool(step.guessed))
    return [r for r in tried if _admitted(r, step.symbols, stated.domains)]


def said_rounds(tried: list[dict[str, int]], step: _Step) -> str:
    """The sizes tried, as a certificate says them (``d = 2 and d = 3``, ``sizes 2 and 3``)."""
    if not step.symbols and any("" not in r for r in tried):
        return "the declared sizes"  # every size a number (q \in \mathbb{R}^3)
    said = _said_rounds(tried, step)
    return said if step.symbols else f"sizes {said}"


def is_capital(name: str) -> bool:
    """A name a matrix is guessed from (a single capital): its guessed shape is square."""
    return _CAPITAL.match(name.split("_")[0]) is not None
