"""A ``network`` part, parsed once: its model, target, predicate, domain and symbols.

:func:`compile_part` parses the part's formulas (cached per part, see
:mod:`grader.core.cache`) and checks that they only use the part's names. With
several inputs (``input: [x1, x2]``) the formulas may also write ``x`` for the
input vector (``W1 x + b1``) unless ``x`` names something else of the part.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from grader.core import numeric
from grader.core.cache import PartCache
from grader.core.verdict import CheckUndecided
from grader.mathlang import ast
from grader.mathlang.domains import SymbolDomain
from grader.mathlang.errors import MathError
from grader.mathlang.evaluate import compile_functions, function_names
from grader.mathlang.parser import parse
from grader.mathlang.sampling import seed_for
from grader.mathlang.values import FunctionDef
from grader.types.network.feedback import join_names
from grader.types.network.part import NetworkPart

CACHE_SIZE = 128
INPUT_VECTOR = "x"  # with several inputs, the name of the input vector
# The fields the sampling seed is derived from: two parts that differ only in
# points, prompt or tolerance draw the same points (their prepared values are
# still kept apart, see grader.core.cache).
SEED_FIELDS = (
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
)


class NotPiecewiseLinear(Exception):
    """The formula is not piecewise linear in its input (x^2, sigmoid, ...)."""


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
    # the target is written with decimals (0.333 x): it is compared within the part's tolerance
    target_has_decimals: bool = False
    cache: dict[Any, Any] = field(default_factory=dict)
    # decisions against the part's own target by the weights' values (checker.decided_once)
    decided: dict[Any, Any] = field(default_factory=dict)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.params)

    @property
    def one_input(self) -> bool:
        return len(self.inputs) == 1

    def names_text(self) -> str:
        return join_names(self.param_names)


def compiled_parts() -> list[Compiled]:
    """The parts compiled and kept now."""
    return list(_COMPILED.values())


def compile_part(part: NetworkPart) -> Compiled:
    """The parsed part (cached); CheckUndecided when the part itself is broken."""
    return _COMPILED.get(part)


def _compile(part: NetworkPart, seed_key: str) -> Compiled:
    inputs = (part.input,) if isinstance(part.input, str) else tuple(part.input)
    params = tuple((str(k), tuple(v)) for k, v in part.params.items())
    symbols = {str(k): v for k, v in part.symbols.items()}
    names = tuple(dict.fromkeys([*inputs, *(p for p, _ in params), *symbols]))
    try:
        functions = compile_functions(part.functions, names)
    except MathError as err:
        raise CheckUndecided(f"the part's functions cannot be read: {err.render()}") from None
    fnames = function_names(part.functions, names)
    vector = len(inputs) > 1 and INPUT_VECTOR not in names

    def read(text: str, what: str, allowed: Iterable[str]) -> ast.Node:
        spelled = (*names, INPUT_VECTOR) if vector else names
        try:
            node = parse(str(text), symbols=spelled, functions=fnames)
        except MathError as err:
            raise CheckUndecided(f"the part's {what} cannot be read: {err.render()}") from None
        if vector:
            node = _input_vector(node, inputs)
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
        domain=_domain(part),
        epsilon=exact_decimal(part.epsilon) if part.epsilon is not None else None,
        seed=seed_for(seed_key),
        target_has_decimals=target is not None and has_decimals(target),
    )


def _domain(part: NetworkPart) -> tuple[Fraction, Fraction] | None:
    if part.domain == "all":
        return None
    lo, hi = (exact_decimal(v) for v in part.domain)
    if lo >= hi:
        raise CheckUndecided(f"the part's domain [{part.domain[0]}, {part.domain[1]}] is empty")
    return lo, hi


def _input_vector(node: ast.Node, inputs: tuple[str, ...]) -> ast.Node:
    """``node`` with the name ``x`` replaced by the input vector ``[x1, x2, ...]``."""
    if isinstance(node, ast.Sym) and node.name == INPUT_VECTOR:
        return ast.ListLit(node.pos, tuple(ast.Sym(node.pos, name) for name in inputs))
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if isinstance(value, ast.Node):
            changes[f.name] = _input_vector(value, inputs)
        elif isinstance(value, tuple) and value and isinstance(value[0], tuple):
            changes[f.name] = tuple(tuple(_input_vector(v, inputs) for v in row) for row in value)
        elif isinstance(value, tuple) and value and all(isinstance(v, ast.Node) for v in value):
            changes[f.name] = tuple(_input_vector(v, inputs) for v in value)
    return dataclasses.replace(node, **changes) if changes else node


def has_decimals(node: ast.Node) -> bool:
    return any(isinstance(n, ast.Num) and n.is_float for n in ast.walk(node))


def exact_decimal(value: object) -> Fraction:
    """A number as the decimal it was written as (the one reader: grader.core.numeric)."""
    return numeric.exact_decimal(value)


_COMPILED: PartCache[Compiled] = PartCache(SEED_FIELDS, _compile, CACHE_SIZE)
