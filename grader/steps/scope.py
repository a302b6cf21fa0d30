"""A chain's scope, what its steps are decided under: the part's symbols and their domains,
narrowed by the conditions stated around the chain (``for $x > 0$``, ``n \\in \\mathbb{N}``,
a premise), the functions and names the write-up defines, and the arrays it declares."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from grader.mathlang import ast
from grader.mathlang.domains import SymbolDomain
from grader.mathlang.errors import MathError
from grader.mathlang.parser import parse
from grader.steps import premise, stated
from grader.steps.entries import definition_in
from grader.steps.models import Chain
from grader.steps.read import LETTERS, Context, normalize, undefined_call


@dataclass
class Scope:
    context: Context
    domains: dict[str, SymbolDomain]
    conditions: list[ast.Node]
    unread: tuple[str, ...]
    functions: Mapping[str, Any]  # compiled FunctionDefs
    defined: frozenset[str] = frozenset()  # base names the write-up defines
    about_shapes: bool = False  # \times between sizes is a list of dimensions (Chain.about_shapes)
    written: tuple[tuple[str, str, str, int], ...] = ()  # functions the write-up defines (Chain.functions)
    shapes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # arrays' declared shapes
    array_words: tuple[str, ...] = ()  # properties of arrays stated nearby, not read (Chain.array_words)
    convolution: str | None = None  # the 1-D convolution named just before (Chain.convolution)
    # symbols whose sign only a number set of varying convention gives (N with or without 0,
    # R^+ and R_+ with or without 0): no sign for a limit or a kink (_signs)
    set_signs: frozenset[str] = frozenset()
    set_keys: tuple[tuple[str, str], ...] = ()  # (symbol, number set) of each x \in \mathbb{N}, ...
    # each condition read, as the write-up states it
    written_as: Mapping[ast.Node, str] = field(default_factory=dict)
    recurrence: tuple[str, str, str, int] | None = None  # the chain's recurrence (Chain.recurrence)
    entries: tuple[tuple[str, str, str, str, int], ...] = ()  # vector functions by entry (Chain.entries)
    kronecker: bool = False  # the write-up names the Kronecker delta (Chain.kronecker)
    imaginary: tuple[str, ...] = ()  # letters the write-up says are the imaginary unit (Chain.imaginary)
    network: tuple[tuple[str, str, int], ...] = ()  # a network the write-up defines (Chain.network)
    # the chain's steps shown so far under a network: each derivative as written (its indices'
    # values aside) -> the readings it was shown under (grader.steps.network: one reading a chain)
    readings: dict[str, set[int]] = field(default_factory=dict)
    complex: frozenset[str] = frozenset()  # symbols stated complex (z \in \mathbb{C}): never shown as reals
    reals: frozenset[str] = frozenset()  # symbols stated real (x \in \mathbb{R}): numbers, not vectors
    # why the stated conditions leave a symbol no value (``x > 0`` and ``x < 0``): no step is
    # then shown (it would hold vacuously) nor refuted
    empty: str | None = None

    def numbers(self) -> frozenset[str]:
        """The names the write-up or the part states numbers: a domain, a number set, ``\\in \\mathbb{R}``."""
        return frozenset(self.domains) | {name for name, _ in self.set_keys} | self.reals


# z \in \mathbb{C}, z, w \in \mathbb{C}^n: complex symbols (the checker's numbers are real)
_COMPLEX = re.compile(
    r"\s*((?:\\?[A-Za-z]+(?:_\{?\w+\}?)?\s*,\s*)*\\?[A-Za-z]+(?:_\{?\w+\}?)?)\s*\\in\s*\\mathbb\s*\{?\s*C\b"
)


# x \in \mathbb{R}, x, y \in \mathbb{R}: real numbers (\mathbb{R}^n is a shape, _ARRAY_DECLARATION)
_REAL = re.compile(
    r"\s*((?:\\?[A-Za-z]+(?:_\{?\w+\}?)?\s*,\s*)*\\?[A-Za-z]+(?:_\{?\w+\}?)?)\s*\\in\s*\\mathbb\s*\{?\s*R\s*\}?\s*"
)


def _stated_names(listed: str) -> set[str]:
    """``x, \\alpha, k_{i}`` as the names the math language reads (``x``, ``alpha``, ``k_i``)."""
    names = (n.strip().lstrip("\\") for n in listed.split(","))
    return {re.sub(r"[{}]", "", n) for n in names}


def complex_in(scope: Scope, text: str) -> str | None:
    """A symbol the write-up states complex that the text holds: a step about it shown over
    the reals is not shown (``|z|^2 = z^2`` holds for a real z only); a real point where it
    fails is still a witness (the reals are complex numbers)."""
    return next(
        (n for n in sorted(scope.complex) if re.search(rf"(?<![A-Za-z]){re.escape(n)}(?![A-Za-z])", text)),
        None,
    )


def scope_of(chain: Chain, context: Context, functions: Mapping[str, Any]) -> Scope:
    domains: dict[str, SymbolDomain] = {
        k: v for k, v in context.domains.items() if isinstance(v, SymbolDomain)
    }
    conditions: list[ast.Node] = []
    unread = list(chain.unread_conditions)
    set_signs: set[str] = set()
    set_keys: list[tuple[str, str]] = []
    written_as: dict[ast.Node, str] = {}
    complex_names: set[str] = set()
    real_names: set[str] = set()
    empty: list[str] = []
    for text in chain.conditions:
        stated_complex = _COMPLEX.match(text)
        if stated_complex is not None:
            complex_names |= _stated_names(stated_complex.group(1))
            continue
        stated_real = _REAL.fullmatch(text)
        if stated_real is not None:
            real_names |= _stated_names(stated_real.group(1))
        if _ARRAY_DECLARATION.search(text):
            continue  # x \in \mathbb{R}^n: a shape (Chain.arrays), not a condition on values
        if premise.defines_function(text, {f[0] for f in chain.functions} | set(context.functions)):
            continue  # "Let $\\sigma(z) = ...$": a definition (Chain.functions), not a constraint
        if definition_in(text, 0) is not None:
            continue  # "Let $S(\\mathbf{x})_i = ...$": a definition (Chain.entries), not a constraint
        kind = _number_set(text)
        if kind is not None:
            name, domain, key = kind
            domains[name] = domain
            set_signs.add(name)
            set_keys.append((name, key))
            continue
        node = _condition(text, context)
        if node is None:
            unread.append(text)
            continue
        conditions.append(node)
        written_as[node] = text
        for relation in relations(node):
            if not _narrow(domains, relation):
                empty.append(text)
            set_signs -= ast.free_names(relation)  # a stated bound gives the sign
    # a bound on x_i may be for some i, or i <= 3: on the entries written, not read either way
    entry_relations, other_entries = _entry_bounds(chain, conditions, written_as)
    unread += [written_as[relation] for relation in entry_relations] + other_entries
    return Scope(
        context,
        domains,
        conditions,
        tuple(unread),
        functions,
        frozenset(chain.defined),
        chain.about_shapes,
        chain.functions,
        _declared(chain, context),
        chain.array_words,
        chain.convolution,
        frozenset(set_signs),
        tuple(set_keys),
        written_as,
        chain.recurrence,
        chain.entries,
        chain.kronecker,
        chain.imaginary,
        chain.network,
        complex=frozenset(complex_names),
        reals=frozenset(real_names),
        empty=_no_value(empty, chain.conditions),
    )


def _no_value(clashing: list[str], stated: tuple[str, ...]) -> str | None:
    if not clashing:
        return None
    return f"the conditions stated ({', '.join(stated)}) leave no value: nothing is decided under them"


def _entry_bounds(
    chain: Chain, conditions: list[ast.Node], written_as: dict[ast.Node, str]
) -> tuple[list[ast.Node], list[str]]:
    """A bound on a generic entry or a vector (``x_i > 0``, ``\\mathbf{x} \\ge 0``) on each
    entry the steps write; and the bounds on a generic entry whose name the steps write with
    another letter (not read)."""
    pairs = [
        (found, written_as[node])
        for node in conditions
        for relation in relations(node)
        if (found := bound(relation)) is not None
    ]
    if not pairs:
        return [], []
    text = normalize(" ".join(f"{s.left} {s.right}" for s in chain.steps))
    out: list[ast.Node] = []
    for relation, written in stated.entry_bounds(pairs, text):
        written_as[relation] = written
        out.append(relation)
    return out, stated.other_entries(pairs, text)


# x \in \mathbb{R}^n, \mathbb{R}^{m \times n}: dimensions that read as sizes (a letter or a
# number); \mathbb{R}^+, \mathbb{R}^{+}, \mathbb{R}^{>0} are number sets (_number_set)
_ARRAY_DECLARATION = re.compile(r"\\in\s*\\mathbb\s*\{?\s*R\s*\}?\s*\^\s*\{?\s*[A-Za-z0-9]")


def _declared(chain: Chain, context: Context) -> dict[str, tuple[str, ...]]:
    if not chain.arrays and not context.shapes:
        return {}
    from grader.steps import sized

    return sized.declared_shapes(chain.arrays, context)


_SETS: dict[str, dict[str, Any]] = {
    "N": {"integer": True, "min": 1.0},  # 1, 2, ...: true whether or not N holds 0
    "Z": {"integer": True},
    "R^+": {"positive": True},
    "R_+": {"positive": True},
}


def _number_set(text: str) -> tuple[str, SymbolDomain, str] | None:
    """``n \\in \\mathbb{N}``, ``k \\in \\mathbb{Z}``, ``x \\in \\mathbb{R}^+``: the symbol and its domain."""
    m = re.fullmatch(
        r"\s*\\?([A-Za-z]+)\s*\\in\s*\\mathbb\s*\{?\s*([NZR])\s*\}?\s*([\^_]\s*\{?\s*\+\s*\}?)?\s*", text
    )
    if not m:
        return None
    key = m.group(2) + (m.group(3).replace("{", "").replace("}", "").replace(" ", "") if m.group(3) else "")
    if key not in _SETS:
        return None
    return m.group(1), SymbolDomain(**_SETS[key]), key


def _condition(text: str, context: Context) -> ast.Node | None:
    shown = normalize(text)
    if undefined_call(shown, context) is not None:
        return None  # sigma(a) > 1/2: a function not defined here, never sigma times a
    if re.search(r"\\in\s*\\mathbb\s*\{?\s*R\s*\}?\s*$", shown):
        return ast.Logic(0, "and", ())  # a real symbol: no restriction
    try:
        first = parse(shown, functions=tuple(context.functions))
        names = {n for n in ast.free_names(first) if "_" in n} | set(context.domains)
        node = parse(shown, symbols=(*LETTERS, *names), functions=tuple(context.functions))
    except MathError:
        return None
    if all(isinstance(r, ast.Relation) for r in relations(node)) and relations(node):
        return node
    return None


def relations(node: ast.Node) -> list[ast.Node]:
    if isinstance(node, ast.Relation):
        return [node]
    if isinstance(node, ast.Logic) and node.op == "and":
        return [r for c in node.operands for r in relations(c)]
    return [node]


_FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "=": "=", "!=": "!="}


def bound(relation: ast.Node) -> tuple[str, str, Fraction] | None:
    """``x > 0``, ``0 < x``, ``-x > 0``: (the symbol, the relation, the constant), read as ``x op c``."""
    if not isinstance(relation, ast.Relation):
        return None
    op, left, right = relation.op, relation.left, relation.right
    if isinstance(right, ast.Sym | ast.Neg) and not isinstance(left, ast.Sym | ast.Neg):
        left, right, op = right, left, _FLIP[op]
    value = _constant(right)
    if value is None:
        return None
    if isinstance(left, ast.Neg) and isinstance(left.operand, ast.Sym):  # -x > 0: x < 0
        return left.operand.name, _FLIP[op], -value
    return (left.name, op, value) if isinstance(left, ast.Sym) else None


def _narrow(domains: dict[str, SymbolDomain], relation: ast.Node) -> bool:
    """``x > 0``, ``x \\le 1``, ``0 < x``: the symbol's domain narrowed by a constant bound;
    False when the bound leaves it no value (``x < 0`` after ``x > 0``)."""
    found = bound(relation)
    if found is None:
        return True
    name, op, value = found
    data = domains.get(name, SymbolDomain()).model_dump(exclude_defaults=True)
    if op == "!=" and value == 0:
        data["nonzero"] = True
    elif op in (">", ">=") and value == 0:
        data["positive" if op == ">" else "nonnegative"] = True
    elif op == ">=":
        data["min"] = max(float(value), data.get("min", -np.inf))
    elif op == "<=":
        data["max"] = min(float(value), data.get("max", np.inf))
    elif op in ("<", ">"):  # a strict bound: an open end (x < 0 holds no 0)
        low, high = data.get("interval", (-np.inf, np.inf))
        low, high = (low, min(high, float(value))) if op == "<" else (max(low, float(value)), high)
        data["interval"] = (low, high)
    else:
        return True
    try:
        domains[name] = SymbolDomain(**data)
    except ValueError:
        return False
    return True


def _constant(node: ast.Node) -> Fraction | None:
    if isinstance(node, ast.Num):
        return Fraction(node.value)
    if isinstance(node, ast.Neg) and isinstance(node.operand, ast.Num):
        return -Fraction(node.operand.value)
    return None


# A number set whose conventions differ: N with or without 0, R^+ with or without 0. A step is
# shown only if it holds on the wider reading; a witness (the narrower set's) is one of both.
WIDER: dict[str, SymbolDomain] = {
    "N": SymbolDomain(integer=True, min=0.0),
    "R^+": SymbolDomain(nonnegative=True),
    "R_+": SymbolDomain(nonnegative=True),
}


def unmet_conditions(scope: Scope) -> str | None:
    """Why no point is known where the stated inequalities that are not bounds on one symbol
    all hold (``x + y > 1`` and ``x + y < 0``), or None: a step shown under conditions that
    may hold nowhere holds vacuously, and is not shown. Bounds were checked exactly
    (:attr:`Scope.empty`); stated equations are premises (:mod:`grader.steps.premise`)."""
    from grader.steps import witness

    other = [
        c
        for c in scope.conditions
        if any(isinstance(r, ast.Relation) and r.op != "=" and bound(r) is None for r in relations(c))
    ]
    if not other:
        return None
    names = sorted(set().union(*(ast.free_names(c) for c in other)))
    domain = witness.Domain(names, scope.domains, other)
    points = witness.candidate_points(domain)[:400]
    if any(domain.holds(p, scope.functions) for p in points):
        return None
    said = ", ".join(scope.written_as.get(c, "") for c in other)
    return f"no point was found where the stated conditions ({said}) all hold: nothing is shown under them"
