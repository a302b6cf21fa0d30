"""Each step of a chain decided with the engine: shown with a certificate, wrong with a
confirmed witness, or undecided with why.

- ``a = b``: the engine's ``expression`` checker compares the two sides over the domain
  (the part's declared symbols, narrowed by the conditions stated around the chain); its
  certificate is the step's. Wrong only at a point confirmed in exact or ball arithmetic
  (:mod:`grader.steps.witness`) where both sides have values that differ beyond tolerance.
- ``a <= b`` (``<``, ``>=``, ``>``): a point where it fails, confirmed the same way, makes
  it wrong; else it is shown when the engine shows ``relu(a - b) = 0`` (strict:
  ``heaviside(a - b, 1) = 0``) over the domain.
- ``P \\iff Q``, ``P \\implies Q`` between single equations or inequalities: a confirmed
  point where one holds and the other does not; else shown when the engine shows the two
  solution sets equal (equations) or their truth values equal (inequalities).
- ``\\approx``: never checked.
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from fractions import Fraction
from typing import Any

import numpy as np

import grader.steps.calculus as calculus
import grader.steps.chain_rule as chain_rule
import grader.steps.defined as defined
import grader.steps.ellipsis as ellipsis
import grader.steps.witness as W
from grader.core.verdict import Certificate
from grader.core.verdict import Status as VerdictStatus
from grader.engine import check_part, load_checker
from grader.mathlang import ast
from grader.mathlang.domains import SymbolDomain
from grader.mathlang.errors import MathError
from grader.mathlang.evaluate import compile_functions
from grader.steps import (
    congruence,
    exactness,
    imaginary,
    limits,
    network,
    powers,
    premise,
    signs,
    substitute,
    under,
    vectors,
)
from grader.steps.calculus import has_derivative
from grader.steps.entries import kronecker_valued
from grader.steps.find import _top_level_relations
from grader.steps.grids import applied_entries, grids_written_out, has_grid_dots
from grader.steps.models import Chain, ChainMarks, Step, StepMark
from grader.steps.models import Witness as WitnessModel
from grader.steps.opaque import norm_symbols, opaque_sides
from grader.steps.read import Context, Read, only_applied, plain_entries, read_side, shown_name
from grader.steps.rewrite import split_exponentials
from grader.steps.scope import WIDER, Scope, bound, complex_in, relations, scope_of, unmet_conditions
from grader.steps.statements import Statement as _Statement
from grader.steps.statements import (
    failing,
    indicator,
    one_without_value,
    solution_points,
    solved_for,
    statement,
    truth,
    truth_floats,
)
from grader.steps.statements import nodes as statement_nodes
from grader.steps.sums import (
    has_listed_dots,
    implicit_size,
    put_value,
    superscript_names,
    values_of_sizes,
    vectors_of_entries,
    written_out,
)
from grader.types.expression import identity
from grader.types.expression.part import ExpressionPart

RTOL = 1e-6
ATOL = 1e-9
STEP_SECONDS = 2.0  # the engine's time limit for one step
_ORDER = {"<", "<=", ">", ">="}


def mark_chains(
    chains: Sequence[Chain], context: Context | None = None, seconds: float | None = None
) -> list[ChainMarks]:
    """Each step of each chain marked; past ``seconds`` the steps left are undecided."""
    context = context or Context()
    load_checker("expression")
    functions = compile_functions(dict(context.functions)) if context.functions else {}
    started = time.monotonic()
    out = []
    for chain in chains:
        scope = scope_of(chain, context, functions)
        marks = tuple(
            mark_step(step, scope)
            if seconds is None or time.monotonic() - started < seconds
            else _not_checked(step)
            for step in chain.steps
        )
        out.append(ChainMarks(line=chain.line, steps=marks, conditions=chain.conditions))
    return out


def _not_checked(
    step: Step, why: str = "not checked: the time for this answer's steps was spent"
) -> StepMark:
    return StepMark(
        **{"from": step.left, "to": step.right},
        relation=step.relation,
        line=step.line,
        status="undecided",
        certificate=why,
    )


# -- one step ------------------------------------------------------------------------------


def mark_step(step: Step, scope: Scope) -> StepMark:
    """The step marked; never shown where the stated conditions may leave no value."""
    if scope.empty is not None:
        return _not_checked(step, scope.empty)
    mark = _marked(step, scope)
    if mark.status == "undecided":
        stated = [*scope.written_as.values(), *scope.unread]
        marked = functools.partial(_marked, scope=scope)
        mark = substitute.shown(step, stated, marked) or congruence.shown(step, marked) or mark
    why = unmet_conditions(scope) if mark.status == "shown" else None
    return mark if why is None else mark.model_copy(update={"status": "undecided", "certificate": why})


def _marked(step: Step, scope: Scope) -> StepMark:
    mark = _mark_step(step, scope)
    if mark.status == "undecided" and (scope.network or network.may_read(step.left + step.right)):
        mark = (
            network.decide(step, scope, mark.model_dump(include={"left", "right", "relation", "line"}))
            or mark
        )
    written = f"{step.left} {step.right}"
    letter = imaginary.imaginary_letter(written, scope) if mark.status != "undecided" else None
    if letter is not None:
        why = imaginary.WHY.format(letter)
        return mark.model_copy(update={"status": "undecided", "certificate": why, "witness": None})
    stated_complex = complex_in(scope, written) if mark.status == "shown" else None
    if stated_complex is not None:
        said = f"shown for a real {stated_complex} only, but the write-up states it complex (\\mathbb{{C}})"
        return mark.model_copy(update={"status": "undecided", "certificate": said})
    wider = {
        name: WIDER[key]
        for name, key in scope.set_keys
        if key in WIDER
        and name in scope.set_signs
        and re.search(rf"(?<![A-Za-z\\]){re.escape(name)}(?![A-Za-z])", written)
    }
    if mark.status != "shown" or not wider:
        return mark
    other = _mark_step(step, replace(scope, domains={**scope.domains, **wider}, set_signs=frozenset()))
    if other.status == "shown":
        return mark
    said = f"holds where {', '.join(sorted(wider))} excludes 0, but not shown where the number set includes 0"
    update = {
        "status": "undecided",
        "certificate": f"{said} (a convention some courses use)",
        "witness": None,
    }
    return mark.model_copy(update=update)


def _mark_step(step: Step, scope: Scope) -> StepMark:
    base = {"from": step.left, "to": step.right, "relation": step.relation, "line": step.line}
    if step.relation == "approx":
        return StepMark(**base, status="undecided", certificate="an approximation (≈) is never checked")
    try:
        under = _under_definitions(step, scope, base)
        if under is not None:
            return under
        written = scope.defined | {name for name, *_ in scope.written}
        applied = [n for n in only_applied(f"{step.left} = {step.right}", scope.context) if n not in written]
        if applied:  # never decided on one reading: the other's may differ (other reasons first)
            read = [read_side(side, scope.context).why for side in (step.left, step.right)]
            why = read[0] or read[1] or f"{applied[0]}(...) may be a function's value or a product"
            return StepMark(**base, status="undecided", certificate=why)
        if step.relation in ("iff", "implies"):
            return _logical(step, scope, base)
        left, right = read_side(step.left, scope.context), read_side(step.right, scope.context)
        if left.node is None or right.node is None:
            return _unread(step, scope, base, left.why or right.why)
        declared = set(_step_shapes(step, scope)) & (ast.free_names(left.node) | ast.free_names(right.node))
        if declared:
            written_out = _with_arrays(step, scope, base)
            if written_out is not None:
                return written_out
            return _one_vector(step, scope, base, left, right, declared)
        mark = _scalar_step(left, right, step, scope, base)
        return calculus.numbers_only(mark, (left.node, right.node), scope.numbers())
    except Exception as err:  # one step's failure never stops the others
        return StepMark(**base, status="undecided", certificate=f"internal error: {type(err).__name__}")


def _dots_read(step: Step, scope: Scope, base: dict[str, Any]) -> StepMark | None:
    """The step with its ellipses read where their pattern is unambiguous (:mod:`grader.steps.ellipsis`)."""
    same = ellipsis.same_by(scope.context, functools.partial(_identity, scope=scope, rtol=RTOL, atol=ATOL))
    reading = ellipsis.read(step.left, step.right, scope.entries, same)
    if reading is None or reading.why:
        return None if reading is None else StepMark(**base, status="undecided", certificate=reading.why)
    read = step.model_copy(update={"left": reading.left, "right": reading.right})
    mark = _mark_step(read, scope)  # a point where it fails is a witness only where every count is written
    if mark.status == "wrong" and reading.least:  # a size with fewer terms than written: no witness
        least = {n: SymbolDomain(integer=True, min=v) for n, v in reading.least.items()}
        mark = _mark_step(read, replace(scope, domains={**scope.domains, **least}))
    if mark.status == "undecided" and "fails" not in (mark.certificate or ""):
        return None  # read, still undecided: the step's own reason stands
    if mark.status == "wrong" and not reading.exact:
        said = f"{reading.said}: fails at a point, but a count not written is no witness's"
        return StepMark(**base, status="undecided", certificate=said)
    said = f"{mark.certificate} (under {reading.said})"  # the reading, as a definition is named
    return StepMark(**base, status=mark.status, certificate=said, witness=mark.witness)


def _under_definitions(step: Step, scope: Scope, base: dict[str, Any]) -> StepMark | None:
    """The step decided under the chain's recurrence, else under a function the write-up
    defines; None when neither decides it."""
    if scope.recurrence is not None and step.relation not in ("iff", "implies"):
        mark = under.with_recurrence(step, scope, base, _mark_step)
        if mark is not None:
            return mark
    if scope.entries:
        mark = under.with_entries(step, scope, base, _mark_step) or under.with_whole_lists(
            step, scope, base, _mark_step
        )
        if mark is not None:
            return mark
    if scope.written:  # a function the write-up defines: the step is decided under it
        return _with_written_function(step, scope, base)
    return None


def _one_vector(
    step: Step, scope: Scope, base: dict[str, Any], left: Read, right: Read, declared: set[str]
) -> StepMark:
    """A step with declared arrays that their written-out reading left undecided: with one
    vector and element-wise arithmetic only (``\\tanh(x) = ...``) read entry by entry as a
    scalar step, shown or undecided (a point found that way is one entry's: no witness)."""
    if len(declared) > 1 or len(_step_shapes(step, scope)[next(iter(declared))]) > 1:
        return _unread(step, scope, base, "vectors or matrices (declared): out of scope")
    assert left.node is not None and right.node is not None
    if not _element_wise(step, next(iter(declared)), left.node, right.node):
        return _unread(step, scope, base, "a vector (declared) in a product of vectors: out of scope")
    mark = _scalar_step(left, right, step, scope, base)
    if mark.status != "wrong":
        return mark
    return mark.model_copy(
        update={
            "status": "undecided",
            "witness": None,
            "certificate": "fails at a point read entry by entry, but a vector's entries "
            "are not scalars apart: no witness",
        }
    )


# transposes, norms and inner products of vectors (x^\top, x^T, \|x\|, \langle x, y\rangle)
_VECTOR_FORM = re.compile(
    r"\\(?:top|intercal|otimes|langle|lVert|rVert|Vert|\|)(?![A-Za-z])|\|\||\^\s*\{?\s*T(?![A-Za-z])|\u2016"
)
_ELEMENT_WISE_OPS = frozenset({"+", "-", "/", "^"})


def _element_wise(step: Step, vector: str, *nodes: ast.Node) -> bool:
    """A step with one declared vector read entry by entry only when its arithmetic is
    element-wise: no transpose or norm, no product of two factors that both hold the vector
    (``x \\cdot x``, ``x \\times x``, ``(x \\cdot x)\\,x``; ``2 \\cdot x`` is element-wise), no entry
    of the vector (``x_1``)."""
    if _VECTOR_FORM.search(step.left + step.right):
        return False
    from grader.steps import sized

    for node in nodes:
        for sub in ast.walk(node):
            if (
                isinstance(sub, ast.BinOp)
                and sub.op not in _ELEMENT_WISE_OPS
                and vector in ast.free_names(sub.left)
                and vector in ast.free_names(sub.right)
            ):
                return False
    return not any(sized.entry_of(n, {vector}) for node in nodes for n in ast.free_names(node))


def _scalar_step(left: Read, right: Read, step: Step, scope: Scope, base: dict[str, Any]) -> StepMark:
    try:
        if step.relation == "=":
            if scope.about_shapes or _SHAPE_SPACE.search(step.left + step.right):
                lists = _dimension_lists(step.left), _dimension_lists(step.right)
                if len(lists[0]) > 1 and len(lists[1]) > 1:
                    return _shapes(lists[0], lists[1], left, right, step, scope, base)
            return _equality(left, right, step, scope, base)
        return _inequality(left, right, step.relation, scope, base)
    except Exception as err:  # one step's failure never stops the others
        return StepMark(**base, status="undecided", certificate=f"internal error: {type(err).__name__}")


def _unread(step: Step, scope: Scope, base: dict[str, Any], why: str) -> StepMark:
    """A step a side of which the math language does not read (``why``): read another way
    (a function the write-up defines, derivatives computed, arrays or sums written out,
    pieces read as unknowns), else undecided with why."""
    powered = powers.t_powers(step.left, step.right) if "vectors or matrices" in why else None
    if powered is not None:  # x^T where T is a number here too: read as a power, shown or not at all
        as_power = _mark_step(step.model_copy(update={"left": powered[0], "right": powered[1]}), scope)
        if as_power.status == "shown":
            return StepMark(**base, status="shown", certificate=f"{as_power.certificate} ({powers.SAID})")
        wrong = as_power.status == "wrong"
        said = "it fails at a point" if wrong else f"it is not shown ({as_power.certificate})"
        why = f"{why}; with {powers.SAID}, {said}, and x^T may be a transpose: no witness"
    written_out: StepMark | None = None
    if any(w in why for w in ("matri", "vector", "derivative", "listlit")):
        written_out = _with_arrays(step, scope, base)
        if written_out is not None and written_out.status != "undecided":
            return written_out
    if has_derivative(step.left) or has_derivative(step.right):
        mark = _with_derivatives(step, scope, base)
        if mark is None or mark.status == "undecided":  # a limit with parameters: at points
            mark = _limit_at_points(step, scope, base) or mark
        if mark is not None:
            return mark
    if step.relation == "=" and defined.derivative_definition(step.left, step.right):
        return StepMark(
            **base,
            status="shown",
            certificate="proved: the definition of the derivative (the two sides are the same "
            "derivative, of a function not defined here, where it exists)",
        )
    grid = _with_grids(step, scope, base) or _with_convolution(step, scope, base)
    if grid is not None:
        return grid
    patterns = _with_sums(step, scope, base) or _index_patterns(step, scope, base)
    mark = patterns or written_out or _with_unknowns(step, scope, base, why)
    dots = mark.status == "undecided" and ellipsis.has_dots(step.left + step.right)
    return (_dots_read(step, scope, base) or mark) if dots else mark


def _with_convolution(step: Step, scope: Scope, base: dict[str, Any]) -> StepMark | None:
    """``[1, 2, 3, 4] * [1, 0, 2] = ...`` where the words just before name the convolution
    (full, valid or same; the kernel flipped or not, or both giving the same numbers): the
    convolution computed exactly and the step decided with it in place; else None."""
    from grader.steps.arrays import convolved

    if step.relation != "=" or scope.convolution is None:
        return None
    mode, _, flip = scope.convolution.partition(" ")
    sides = [step.left, step.right]
    for k, side in enumerate(sides):
        results = {convolved(side, mode, f) for f in ((flip == "flipped",) if flip else (True, False))}
        if len(results) != 1 or None in results:
            continue
        computed = results.pop()
        assert computed is not None
        texts = [computed if j == k else t for j, t in enumerate(sides)]
        mark = _with_arrays(step.model_copy(update={"left": texts[0], "right": texts[1]}), scope, base)
        if mark is None or mark.status == "undecided":
            return None
        kernel = {"flipped": " (kernel flipped)", "unflipped": " (kernel not flipped)"}.get(flip, "")
        said = f"{mode} convolution{kernel} computed exactly: {computed}"
        return mark.model_copy(update={"certificate": f"{mark.certificate} ({said})"})
    return None


def _with_grids(step: Step, scope: Scope, base: dict[str, Any]) -> StepMark | None:
    """Square matrices written with ``\\cdots``, ``\\vdots``, ``\\ddots`` (:mod:`grader.steps.grids`)
    written out whole at sizes 3, 4, 5...: shown by probes when every size is; wrong at a size
    with a confirmed witness (the size part of it) only when no entry of a function's value
    (``S(\\mathbf{x})_1``, read as a name of its own) is in the step; else None."""
    if step.relation != "=" or not (has_grid_dots(step.left) or has_grid_dots(step.right)):
        return None
    marks: list[tuple[dict[str, Fraction], StepMark]] = []
    read_as: dict[str, None] = {}
    conditioned = set(scope.domains).union(*(ast.free_names(c) for c in scope.conditions))
    for point, (left_text, right_text) in grids_written_out([step.left, step.right]):
        if conditioned & set(point):
            return None  # n = 100000, n > 5: the sizes the text allows are not the ones tried
        (left_text, left_pieces), (right_text, right_pieces) = (
            applied_entries(left_text),
            applied_entries(right_text),
        )
        mark = _written_mark(step, scope, base, left_text, right_text)
        if mark is None:
            return None
        if mark.status == "wrong" and mark.witness is not None:
            stated = _stated_unread(scope)
            if stated is not None:
                return StepMark(
                    **base,
                    status="undecided",
                    certificate=f"fails with the matrices elided with dots written out, but {stated}",
                )
            if left_pieces or right_pieces or any(s in scope.defined for s in point):
                return StepMark(
                    **base,
                    status="undecided",
                    certificate="fails with the matrices elided with dots written out, but entries of a "
                    "function's value (S(x)_1) are read as names of their own: no witness",
                )
            at = {**{k: _fraction_text(v) for k, v in point.items()}, **mark.witness.at}
            witness = WitnessModel(at=at, **{"from": mark.witness.left, "to": mark.witness.right})
            return StepMark(**base, status="wrong", certificate=mark.certificate, witness=witness)
        if mark.status != "shown":
            return None
        read_as.update(dict.fromkeys(re.sub(r"\s+", "", p) for p in left_pieces + right_pieces))
        marks.append((point, mark))
    if len(marks) < 2:
        return None
    unknowns = f", {_pieces_said(list(read_as))} read as unknowns" if read_as else ""
    if re.search(r"diag\s*\}?\s*\(", step.left + step.right):
        unknowns += ", \\text{diag}(...) the diagonal matrix of its argument's entries (* element-wise)"
    values = [_fraction_text(v) for point, _ in marks for v in point.values()]
    each = ", ".join(dict.fromkeys((mark.certificate or "").split(":")[0] for _, mark in marks))
    shown = StepMark(
        **base,
        status="shown",
        certificate=f"{Certificate.PROBES.value}: equal for {next(iter(marks[0][0]))} = "
        f"{', '.join(values[:-1])} and {values[-1]} only, the matrices elided with dots written out "
        f"whole at each ({each}{unknowns}; not a proof for every size)",
    )
    valued = values_of_sizes([step.left, step.right], set(marks[0][0]))
    return _sizes_as_values(shown, valued, "the matrices elided with dots written out") if valued else shown


def _step_shapes(step: Step, scope: Scope) -> dict[str, tuple[str, ...]]:
    from grader.steps import sized

    return sized.shapes_in(scope.shapes, step.left, step.right)


def _with_arrays(step: Step, scope: Scope, base: dict[str, Any]) -> StepMark | None:
    """Vectors and matrices written out with symbolic entries (:mod:`grader.steps.arrays`; an
    inequality: :mod:`grader.steps.vectors`): shown at the sizes tried, wrong with a concrete
    witness only when every array's shape is declared and nothing nearby is left unread."""
    from grader.steps import sized  # grader's own exact arithmetic (sympy only as a fallback)

    fixed: dict[str, int] = {}
    conditioned: set[str] = set()
    for condition in scope.conditions:
        for relation in relations(condition):
            found = bound(relation)
            if found is not None and found[1] == "=" and found[2].denominator == 1 and found[2] > 0:
                fixed[found[0]] = int(found[2])
            conditioned |= ast.free_names(relation)
    unsized = frozenset({n for n in conditioned if n not in fixed})  # n > 5: sizes not tried
    conditioned |= set(scope.domains)
    why_not = None
    if scope.unread:
        why_not = f"a condition stated nearby was not read ({scope.unread[0]})"
    elif scope.array_words:
        why_not = f"the write-up says '{scope.array_words[0]}' nearby (a property of arrays not read)"
    stated = sized.Stated(
        fixed=fixed,
        refutable=why_not,
        blocked=frozenset({n for n in conditioned if n not in fixed} | set(scope.defined)),
        unsized=unsized | scope.defined,
        domains=scope.domains,
        defined=scope.defined,
    )
    by = sized.decide if step.relation == "=" else functools.partial(vectors.decide, relation=step.relation)
    outcome = by(step.left, step.right, scope.context, _step_shapes(step, scope), stated)
    norms = vectors.stated_norms(scope.conditions) if step.relation == "=" else {}
    if norms and (outcome is None or outcome.status == "differs"):  # ||k_i|| = 1 stated
        shapes = _step_shapes(step, scope)
        outcome = vectors.equal_under_norms(step.left, step.right, scope.context, shapes, norms) or outcome
    if outcome is None:
        return None
    if outcome.status == "shown":
        return StepMark(**base, status="shown", certificate=outcome.certificate)
    if outcome.status == "wrong" and outcome.witness is not None:
        at, left, right = outcome.witness
        return StepMark(
            **base,
            status="wrong",
            certificate=outcome.certificate,
            witness=WitnessModel(at=at, **{"from": left, "to": right}),
        )
    return StepMark(**base, status="undecided", certificate=outcome.certificate)


_SHAPE_SPACE = re.compile(r"\\mathbb\s*\{?\s*[RZN]\s*\}?\s*\^")
_OPEN, _CLOSE = "({[", ")}]"


def _dimension_lists(text: str) -> list[str]:
    """The factors of a side joined by ``\\times`` at its top level (one factor when none)."""
    out, depth, start, i = [], 0, 0, 0
    while i < len(text):
        ch = text[i]
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
        elif depth == 0 and text.startswith("\\times", i) and not text[i + 6 : i + 7].isalpha():
            out.append(text[start:i].strip())
            start = i = i + 6
            continue
        i += 1
    out.append(text[start:].strip())
    return out


def _shapes(
    left_dims: list[str],
    right_dims: list[str],
    left: Read,
    right: Read,
    step: Step,
    scope: Scope,
    base: dict[str, Any],
) -> StepMark:
    """``2 \\times 3 \\times 4 = 4 \\times 3 \\times 2`` where the words are about shapes: the
    two sides are lists of dimensions, equal only dimension by dimension, in order. Equal
    that way: shown (the products are then equal too). Else the sides are compared as
    numbers only to refute them (different products: different shapes); equal products of
    differently ordered dimensions are not certified by commutativity."""
    if len(left_dims) == len(right_dims):
        said: list[str] = []
        for a, b in zip(left_dims, right_dims, strict=True):
            ra, rb = read_side(a, scope.context), read_side(b, scope.context)
            if ra.node is None or rb.node is None:
                said = []
                break
            one = Step(left=a, right=b, relation="=", line=step.line)
            mark = _equality(ra, rb, one, scope, {**base, "from": a, "to": b})
            if mark.status != "shown":
                said = []
                break
            said.append((mark.certificate or "").split(":")[0])
        if said:
            certificates = ", ".join(dict.fromkeys(said))
            return StepMark(
                **base,
                status="shown",
                certificate=f"{certificates}: equal dimension by dimension "
                "(\\times read as a list of dimensions)",
            )
    mark = _equality(left, right, step, scope, base)
    if mark.status != "shown":
        return mark
    return StepMark(
        **base,
        status="undecided",
        certificate="a shape: the two lists of dimensions differ in order or length, though their "
        "products are equal (× between dimensions is not a commutative product)",
    )


def _with_written_function(step: Step, scope: Scope, base: dict[str, Any]) -> StepMark | None:
    """A step that applies a function the write-up defines before it, within its reach
    (``\\sigma(x) = \\frac{1}{1+e^{-kx}}``, "where $\\sigma$ is the sigmoid";
    :mod:`grader.steps.defined`): decided under that definition, each application replaced
    by the formula (a prime computed as a derivative where the formula has no other letter),
    the certificate naming the definition and its line; a witness is a point where the step
    fails under it. None when no such definition applies."""
    found = [
        d
        for d in defined.needed(step.left + " " + step.right, scope.written)
        if d[0] not in scope.context.functions
    ]
    if not found:
        return None
    no_formula = _without_formula(found, base)
    if no_formula is not None:
        return no_formula
    left, right = defined.put_in(step.left, found), defined.put_in(step.right, found)
    if left is None or right is None:
        return None
    functions = dict(scope.context.functions)
    for name, variable, formula, _line in found:
        body = read_side(formula, scope.context)
        if body.node is not None and not ast.free_names(body.node) - {variable}:
            functions[name] = body.text  # for a prime (\\sigma'(z)): a formula of its variable alone
    context = replace(scope.context, functions=functions)
    try:
        compiled = compile_functions(dict(context.functions)) if functions else {}
    except (MathError, ValueError):
        return None
    inner = replace(scope, context=context, functions=compiled, written=())
    written = step.model_copy(update={"left": left, "right": right})
    mark = mark_step(written, inner)
    said = "; ".join(
        f"{shown_name(name)}({variable}) = {formula} as the write-up defines it on line {line}"
        for name, variable, formula, line in found
    )
    update: dict[str, Any] = {"left": step.left, "right": step.right}
    if mark.status == "undecided":
        if "not defined here" in (mark.certificate or ""):
            return None
        if step.relation not in ("iff", "implies"):  # statements: the reason under it is the reason
            unread = read_side(step.left, scope.context).why or read_side(step.right, scope.context).why
            if "not defined here" not in (unread or ""):
                return None  # the reason the step gives without the definition still holds
    unranged = _unranged_witness(mark, found, step, (written, inner))
    if unranged is not None:
        name, line = unranged
        return StepMark(
            **base,
            status="undecided",
            certificate=f"fails at a point under {said}, but it fixes {shown_name(name)}, a parameter of "
            f"the definition on line {line} whose range the write-up states nowhere the step can read "
            "(in words, perhaps), and the step holds for some of its values or is an equation "
            "fixing it: no witness",
        )
    update["certificate"] = f"{mark.certificate} (under {said})"
    return mark.model_copy(update=update)


def _unranged_witness(
    mark: StepMark, found: Sequence[tuple[str, str, str, int]], step: Step, under: tuple[Step, Scope]
) -> tuple[str, int] | None:
    """(parameter, line) where a witness under the definitions fixes a parameter of one with
    no range stated (``k`` of ``\\frac{1}{1+e^{-kx}}``) and the step, definitions put in, is not
    wrong at every sample value of it; else None."""
    if mark.status != "wrong" or mark.witness is None:
        return None
    written, inner = under
    unranged = defined.unranged_parameters(found, mark.witness.at, inner, step.left + " " + step.right)
    only = set(mark.witness.at) <= {n for n, _ in unranged}  # g(0) = 1, g(x) = x^2 + c: c = 1?
    if unranged and not _wrong_at_every_sample(written, inner, [n for n, _ in unranged], only):
        return unranged[0]
    return None


def _without_formula(found: Sequence[tuple[str, str, str, int]], base: dict[str, Any]) -> StepMark | None:
    """Undecided where a name the step applies was written last with no formula read
    (``f(x) = c``, a case, "we solve $f(x) = 2x$", "let $f$ be linear"): a function there, whose
    application is never a product; None where every name has its formula."""
    unread = next((d for d in found if not d[2]), None)
    if unread is None:
        return None
    return StepMark(
        **base,
        status="undecided",
        certificate=f"{shown_name(unread[0])}(...) is a function the write-up writes on line {unread[3]} "
        "with no formula read as its definition there (a case, a claim about it, a new meaning)",
    )


# values a definition's parameter is fixed to, one by one, before a witness under it counts:
# whatever range words state for it (positive, negative, an integer, (0, 1), at least 1), one
# of them is in it
PARAMETER_SAMPLES = ("2", "-2", "\\frac{1}{2}", "-\\frac{1}{2}")


def _wrong_at_every_sample(step: Step, scope: Scope, parameters: Sequence[str], alike: bool = False) -> bool:
    """Is the step (definitions put in) wrong, each with its own witness, with the parameters
    fixed to each of PARAMETER_SAMPLES in turn? ``alike``: and with the same two values at each
    (a step whose only unknowns are the parameters may be an equation fixing them, unless its
    sides do not depend on them: sigma(0) = 1/2 whatever the slope)."""
    seen = set()
    for value in PARAMETER_SAMPLES:
        left, right = step.left, step.right
        for p in parameters:
            if re.search(rf"[_^]\s*\{{?\s*\\?{p}(?![A-Za-z])", left + right):
                return False  # an index or an exponent's letter: not put in by text
            left, right = defined.substituted(left, p, value), defined.substituted(right, p, value)
        mark = mark_step(step.model_copy(update={"left": left, "right": right}), scope)
        if mark.status != "wrong" or mark.witness is None:
            return False
        seen.add((mark.witness.left, mark.witness.right) if alike else ())
    return len(seen) == 1


def _signs(domains: Mapping[str, SymbolDomain]) -> dict[str, str]:
    """The symbols the domain makes positive or negative (x > 0, x < 0, 0 < x < 1)."""
    out = {}
    for name, d in domains.items():
        low, high = d.interval or (-np.inf, np.inf)
        if d.positive or low >= 0 or (d.min is not None and float(d.min) > 0):
            out[name] = "positive"
        elif high <= 0 or (d.max is not None and float(d.max) < 0):
            out[name] = "negative"
    return out


def _with_derivatives(step: Step, scope: Scope, base: dict[str, Any]) -> StepMark | None:
    """The step with its derivatives computed (:mod:`grader.steps.calculus`), decided as any
    other; a witness counts only where every operand has a value, and only when nothing else
    may depend on the variable. None when a derivative there cannot be computed."""
    signs = {k: v for k, v in _signs(scope.domains).items() if k not in scope.set_signs}
    found = calculus.computed(
        [step.left, step.right], scope.context, signs, frozenset(scope.shapes), scope.numbers()
    )
    if found is None:
        return None
    left_text, right_text = found.texts
    written = step.model_copy(update={"left": left_text, "right": right_text})
    inner = replace(scope, conditions=[*scope.conditions, *calculus.guards(found.operands)])
    mark = mark_step(written, inner)
    said = f"{', '.join(dict.fromkeys(found.said))} computed symbolically"
    original = {"left": step.left, "right": step.right}
    if mark.status == "wrong" and not found.refutable:
        why = "another symbol may depend on the variable (or two entries coincide): no witness"
        update = {
            "status": "undecided",
            "witness": None,
            "certificate": f"fails at a point with {said}, but {why}",
        }
        return mark.model_copy(update={**original, **update})
    if mark.status == "shown" and found.not_shown:
        return mark.model_copy(update={**original, "status": "undecided", "certificate": found.not_shown})
    if mark.status == "undecided" and not (mark.certificate or "").startswith("fails at a point"):
        return None  # not decided with the derivatives computed: the other readings say why
    if mark.status == "wrong":  # the certificate of a wrong step says how its witness was confirmed
        return mark.model_copy(update=original)
    return mark.model_copy(update={**original, "certificate": f"{mark.certificate} ({said})"})


def _limit_at_points(step: Step, scope: Scope, base: dict[str, Any]) -> StepMark | None:
    """A limit with parameters decided at points where the stated conditions hold
    (:mod:`grader.steps.limits`); a witness kept only as :func:`_witness_mark` allows."""
    found = limits.at_points(step, scope, base)
    return _witness_mark(base, found, scope) if isinstance(found, W.Found) else found


def _no_witness(base: dict[str, Any], found: W.Found, scope: Scope) -> str | None:
    """Why a point where the step fails is no witness, None when it is one."""
    resting = sorted(n for n in found.point if n.split("_")[0] in scope.defined)
    if resting:
        return f"{resting[0]} is defined in the write-up and the step may rest on it"
    if scope.unread:
        return f"a condition stated nearby was not read ({scope.unread[0]})"
    same = W.may_coincide(found.point)
    if same:
        return W.coincide_said(same)
    if _POWER_OR_TRANSPOSE.search(base["from"] + " " + base["to"]):
        return "x^T may be a transpose as well as a power of T (T is a number here too)"
    sides = (read_side(base[side], scope.context).node for side in ("from", "to"))
    if base["relation"] == "=" and W.substitution(*sides):
        return "the number side is the other with numbers it writes put in (values stated elsewhere?)"
    return None


# x^T, v_t^{T} of a Latin letter: read as a power where T is a number elsewhere in the step
_POWER_OR_TRANSPOSE = re.compile(r"(?<![A-Za-z\\])[a-z](?:_\{?\w+\}?)?\s*\^\s*(?:\{\s*T\s*\}|T(?![A-Za-z]))")


def _tolerance(*texts: str) -> tuple[float, float]:
    """A decimal the student rounded (0.333) is compared to half a unit in its last place, with
    no relative tolerance (``\\frac13 = 0.4`` and ``2^{20}+1 = 1048576.0`` are wrong)."""
    places = [len(m.group(1)) for t in texts for m in re.finditer(r"\d\.(\d+)", t)]
    if not places:
        return RTOL, ATOL
    return 0.0, 0.5 * 10.0 ** -min(places)


def _names(*nodes: ast.Node) -> list[str]:
    out: set[str] = set()
    for node in nodes:
        out |= ast.free_names(node)
    return sorted(out)


def _witness_mark(base: dict[str, Any], found: W.Found, scope: Scope) -> StepMark:
    why = _no_witness(base, found, scope)
    if why is not None:
        return StepMark(**base, status="undecided", certificate=f"fails at a point, but {why}")
    at, left, right = found.shown()
    at = {shown_name(name): value for name, value in at.items()}
    return StepMark(
        **base,
        status="wrong",
        certificate=found.how,
        witness=WitnessModel(at=at, **{"from": left, "to": right}),
    )


def _engine(
    reference: str,
    answer: str,
    names: Sequence[str],
    scope: Scope,
    rtol: float,
    atol: float,
    let: Mapping[str, str] | None = None,
) -> tuple[str, str]:
    """(status, certificate or why) of the engine comparing two formulas or equations; a
    decision (shown or different) is kept for the same question asked again (a chain that
    repeats a step, a class whose answers share one)."""
    symbols = {n: scope.domains.get(n, SymbolDomain()) for n in names if n not in (let or {})}
    key = (
        reference,
        answer,
        tuple(sorted((n, repr(d)) for n, d in symbols.items())),
        tuple(sorted((let or {}).items())),
        tuple(sorted(scope.context.functions.items())),
        rtol,
        atol,
    )
    with _DECIDED_LOCK:
        kept = _DECIDED.get(key)
    if kept is not None:
        return kept
    found = _engine_once(reference, answer, symbols, scope, rtol, atol, let)
    if found[0] != "undecided":  # an undecided one may be a time limit: asked again next time
        with _DECIDED_LOCK:
            if len(_DECIDED) >= MAX_DECIDED:
                _DECIDED.pop(next(iter(_DECIDED)))
            _DECIDED[key] = found
    return found


MAX_DECIDED = 2048  # engine decisions kept (the oldest dropped first)
_DECIDED: dict[tuple[object, ...], tuple[str, str]] = {}
_DECIDED_LOCK = threading.Lock()


def _engine_once(
    reference: str,
    answer: str,
    symbols: dict[str, SymbolDomain],
    scope: Scope,
    rtol: float,
    atol: float,
    let: Mapping[str, str] | None,
) -> tuple[str, str]:
    part = ExpressionPart(
        type="expression",
        id="step",
        answer=reference,
        symbols=symbols,
        let=dict(let or {}),
        functions=dict(scope.context.functions),
        rtol=rtol,
        atol=atol,
        time_limit=STEP_SECONDS,
    )
    verdict = check_part(part, answer, time_limit=STEP_SECONDS)
    if verdict.status is VerdictStatus.CORRECT:
        # the certificate says what was shown: probes name how many points (and of which kinds)
        probes = f"{Certificate.PROBES.value}: sample points"
        said = verdict.decision.describe() if verdict.decision else probes
        if verdict.decision and exactness.within_said(verdict.decision.method):
            said = f"{said} ({verdict.decision.method})"  # within a tolerance: said so
        return "shown", said
    if verdict.status is VerdictStatus.INCORRECT:
        return "different", verdict.feedback.splitlines()[0] if verdict.feedback else "different"
    return "undecided", verdict.feedback.splitlines()[0] if verdict.feedback else str(verdict.status)


def _equality(left: Read, right: Read, step: Step, scope: Scope, base: dict[str, Any]) -> StepMark:
    assert left.node is not None and right.node is not None
    rtol, atol = _tolerance(step.left, step.right)
    names = _names(left.node, right.node)
    domain = W.Domain(names, scope.domains, scope.conditions)
    found = _equality_witness(left.node, right.node, domain, scope, rtol, atol)
    if found is not None:
        return _witness_mark(base, found, scope)
    if _identity(left.node, right.node, scope, rtol, atol):
        return _exactly(left, right, step, domain, scope, base, Certificate.PROVED.value)
    if (given := premise.holds_given(left.node, right.node, scope.conditions)) is not None:
        return StepMark(**base, status="shown", certificate=f"{Certificate.PROVED.value} given {given}")
    same = functools.partial(_identity, scope=scope, rtol=rtol, atol=atol)
    if (stated := premise.restated(left.node, right.node, scope.conditions, same)) is not None:
        given = scope.written_as.get(stated, "the stated equation")
        said = f"{Certificate.PROVED.value}: the step's sides differ by exactly those of the equation "
        said += f"given {given}"
        return StepMark(**base, status="shown", certificate=said)
    status, said = _engine(left.text, right.text, names, scope, rtol, atol)
    if status == "shown":
        return _exactly(left, right, step, domain, scope, base, said)
    if status == "different":
        point = W.point_in(said, names)
        if point is not None:  # the engine's own point, confirmed here as any other
            found = _equality_witness(left.node, right.node, domain, scope, rtol, atol, extra=[point])
            if found is not None:
                return _witness_mark(base, found, scope)
        found, _ = exactness.exact_witness(left.node, right.node, domain, scope.functions)
        if found is not None and not exactness.rounded_decimals(step.left, step.right):
            return _witness_mark(base, found, scope)
        return _by_signs(left, right, scope, base) or StepMark(
            **base,
            status="undecided",
            certificate=premise.undecided_why(scope.conditions)
            or "the engine finds the sides different, but no point where both have values "
            "and differ was confirmed",
        )
    return _by_signs(left, right, scope, base) or StepMark(**base, status="undecided", certificate=said)


def _by_signs(left: Read, right: Read, scope: Scope, base: dict[str, Any]) -> StepMark | None:
    assert left.node is not None and right.node is not None
    same = functools.partial(_identity, scope=scope, rtol=0.0, atol=0.0)
    return signs.shown(left.node, right.node, scope, same, base)


def _exactly(
    left: Read, right: Read, step: Step, domain: W.Domain, scope: Scope, base: dict[str, Any], said: str
) -> StepMark:
    """A step about to be shown, compared with no tolerance (:mod:`grader.steps.exactness`)."""
    assert left.node is not None and right.node is not None
    decimals = exactness.rounded_decimals(step.left, step.right)
    status, said, found = exactness.settle(left.node, right.node, domain, scope.functions, said, decimals)
    if found is not None:
        return _witness_mark(base, found, scope)
    return StepMark(**base, status=status, certificate=said)


def _identity(a: ast.Node, b: ast.Node, scope: Scope, rtol: float, atol: float) -> bool:
    """The engine's exact identity (:mod:`grader.types.expression.identity`): both sides the
    same rational function of their terms (exponentials of sums split, logarithms of
    exponentials taken out: :mod:`grader.steps.rewrite`), one defined wherever the other is.
    The two then agree wherever both have a value, whatever the domain: a proof."""
    if not ast.free_names(a) and not ast.free_names(b):
        return False  # constants: the engine compares them exactly or in balls
    try:
        split_a, split_b = split_exponentials(a), split_exponentials(b)
        # either way round: the two agree wherever both have a value
        for left, right in ((a, b), (split_a, split_b), (split_b, split_a)):
            reading = identity.read_both(left, right, scope.functions, {})
            # no tolerance: a step is an exact claim (a rounded decimal is shown by the engine)
            if reading is not None and identity.within_tolerance(reading, 0.0, 0.0) is not None:
                return True
        return False
    except Exception:  # a formula the reader does not cover: the engine decides
        return False


def _equality_witness(
    a: ast.Node,
    b: ast.Node,
    domain: W.Domain,
    scope: Scope,
    rtol: float,
    atol: float,
    extra: Sequence[dict[str, Fraction]] = (),
) -> W.Found | None:
    names = domain.names

    def propose(points: list[dict[str, Fraction]]) -> np.ndarray:
        x, y = W.floats(a, points, names, scope.functions), W.floats(b, points, names, scope.functions)
        with np.errstate(all="ignore"):
            gap = np.abs(x - y)
            return np.isfinite(gap) & (gap > 2 * (atol + rtol * np.maximum(np.abs(x), np.abs(y))))

    def confirm(point: dict[str, Fraction], bits: int) -> W.Found | None:
        x, y = W.value_at(a, point, scope.functions, bits), W.value_at(b, point, scope.functions, bits)
        if x is None or y is None or not W.differ(x, y, rtol, atol):
            return None
        exact = isinstance(x, Fraction) and isinstance(y, Fraction)
        return W.Found(point, x, y, "exact" if exact else "interval bound")

    return W.search(domain, scope.functions, propose, confirm, extra)


def _holds_op(op: str) -> tuple[str, str]:
    """The engine formula that is 0 everywhere exactly when ``a op b`` holds everywhere."""
    return {
        "<=": "heaviside(({a}) - ({b}), 0)",
        ">=": "heaviside(({b}) - ({a}), 0)",
        "<": "heaviside(({a}) - ({b}), 1)",
        ">": "heaviside(({b}) - ({a}), 1)",
    }[op], op


def _inequality(left: Read, right: Read, op: str, scope: Scope, base: dict[str, Any]) -> StepMark:
    assert left.node is not None and right.node is not None
    names = _names(left.node, right.node)
    domain = W.Domain(names, scope.domains, scope.conditions)
    a, b = left.node, right.node

    def propose(points: list[dict[str, Fraction]]) -> np.ndarray:
        x, y = W.floats(a, points, names, scope.functions), W.floats(b, points, names, scope.functions)
        with np.errstate(all="ignore"):
            fails = {"<=": x > y, "<": x >= y, ">=": x < y, ">": x <= y}[op]
            return np.isfinite(x) & np.isfinite(y) & fails

    def confirm(point: dict[str, Fraction], bits: int) -> W.Found | None:
        x, y = W.value_at(a, point, scope.functions, bits), W.value_at(b, point, scope.functions, bits)
        if x is None or y is None:
            return None
        if W.compare_values(x, y, op) is False:
            exact = isinstance(x, Fraction) and isinstance(y, Fraction)
            return W.Found(point, x, y, "exact" if exact else "interval bound")
        return None

    found = W.search(domain, scope.functions, propose, confirm)
    if found is not None:
        return _witness_mark(base, found, scope)
    template, _ = _holds_op(op)
    # 0 or 1 at every point: the tolerance cannot let a failing point pass
    status, said = _engine("0", template.format(a=left.text, b=right.text), names, scope, 0.0, ATOL)
    if status == "shown":
        return StepMark(**base, status="shown", certificate=said)
    return StepMark(
        **base, status="undecided", certificate="no point where it fails was confirmed, and it was not shown"
    )


def _with_sums(step: Step, scope: Scope, base: dict[str, Any]) -> StepMark | None:
    """:func:`_sums_written`; where that decides nothing and entries have free indices
    (``\\frac{d}{d\\mathbf{x}_j} \\sum_k e^{\\mathbf{x}_k}``), again with every value of the
    indices (the entries then are the sum's)."""
    first = next(iter(written_out([plain_entries(step.left), plain_entries(step.right)])), None)
    if first is not None and _entry_derivative(*first[1]):
        # d/dx_j of x_1 + ... + x_n: x_j may be one of the x_k; only every j tried may show it
        return _sums_written(step, scope, base, indexed=True)
    mark = _sums_written(step, scope, base, indexed=False)
    if mark is not None and mark.status != "undecided":
        return mark
    return _sums_written(step, scope, base, indexed=True) or mark


def _sums_written(step: Step, scope: Scope, base: dict[str, Any], indexed: bool) -> StepMark | None:
    """A step with sums over an index (``\\sum_{j=0}^{t-1}``) written out for sizes 1, 2, ...
    (:mod:`grader.steps.sums`): wrong at the first size with a confirmed witness (the size is
    part of it), shown by probes when every size tried is shown; else None."""
    marks: list[tuple[dict[str, Fraction], StepMark]] = []
    texts = [plain_entries(step.left), plain_entries(step.right)]
    implicit = implicit_size(texts)
    columns: list[str] = []
    for point, written in written_out(texts):
        prepared = _written_texts(step, scope, point, written)
        if prepared is None:
            continue
        left_text, right_text, layered, columns = prepared
        size = next(iter(point), None)
        free = indexed and implicit is not None and size is not None
        indices = _free_indices(left_text, right_text) if free else []
        if indexed and not indices:
            return None
        count = int(point[size]) if size is not None else 0
        if indices and count > MAX_INDEXED:
            continue  # every value of i, j tried at sizes 1 to MAX_INDEXED only
        mark = (
            _every_index(step, scope, base, left_text, right_text, indices, count)
            if indices
            else _written_mark(step, scope, base, left_text, right_text)
        )
        if mark is None:
            return None
        if indices:
            mark = mark.model_copy(
                update={"certificate": f"{mark.certificate}, every {', '.join(indices)} from 1 to {size}"}
            )
        if mark.status == "wrong" and mark.witness is not None:
            shapes = _step_shapes(step, scope)
            undeclared = [c for c in columns if shapes.get(c) != (next(iter(point)),)]  # v \in R^d: known
            why = _why_sums_no_witness(point, scope, layered, undeclared, implicit)
            if why is not None:
                return StepMark(
                    **base, status="undecided", certificate=f"fails with the sums written out, but {why}"
                )
            at = {**{k: _fraction_text(v) for k, v in point.items()}, **mark.witness.at}
            witness = WitnessModel(at=at, **{"from": mark.witness.left, "to": mark.witness.right})
            return StepMark(**base, status="wrong", certificate=mark.certificate, witness=witness)
        if mark.status == "undecided" and (mark.certificate or "").startswith("fails at a point"):
            said = f"with the sums written out, it {mark.certificate}"
            return mark.model_copy(update={"certificate": said})
        marks.append((point, mark))
    items = any(has_listed_dots(t) for t in texts)
    sizes = set(marks[0][0]) if marks else set()
    mark = _closed_or_probed(_sums_shown(marks, implicit, base), sizes, texts, scope, base)
    if mark is not None and columns and mark.certificate:  # \|v\|^2 = \sum_{m=1}^d v_m^2
        said = mark.certificate.replace(
            "; not a proof", f", {', '.join(columns)} the column of the entries the sum names; not a proof"
        )
        return mark.model_copy(update={"certificate": said})
    if mark is not None and items and mark.certificate:  # [x_1, \dots, x_n]: items, not sums
        said = mark.certificate.replace("the sums written out", "the items elided with dots written out")
        return mark.model_copy(update={"certificate": said})
    return mark


def _written_texts(
    step: Step, scope: Scope, point: Mapping[str, Fraction], written: list[str]
) -> tuple[str, str, bool, list[str]] | None:
    """The written-out sides read further: names with a layer's superscript as names of their
    own (``layered``), a vector beside the entries a sum names as their column (``columns``);
    None when the size is not one to try."""
    left_text, right_text = (superscript_names(t) for t in written)
    layered = (left_text, right_text) != tuple(written)  # \omega_{kj}^{(2)}: names of their own
    if any(s in scope.domains and not W.admits(scope.domains[s], point[s]) for s in point):
        return None
    columns: list[str] = []
    if len(point) == 1 and next(iter(point.values())).denominator == 1:
        # \|v\|^2 = v_1^2 + ... + v_d^2: v the column of the entries the sum names
        size_name = next(iter(point))
        declared_else = {n for n, dims in _step_shapes(step, scope).items() if dims != (size_name,)}
        texts, columns = vectors_of_entries(
            [left_text, right_text], int(point[size_name]), frozenset(declared_else)
        )
        if columns and point[size_name] < 2:
            return None  # a column of one entry is not written as one
        left_text, right_text = texts
    return left_text, right_text, layered, columns


def _closed_or_probed(
    mark: StepMark | None, sizes: set[str], texts: list[str], scope: Scope, base: dict[str, Any]
) -> StepMark | None:
    """A step shown at the ``sizes`` tried: as it is when the sizes and indices stand only as
    bounds and in subscripts (``x_1 + \\dots + x_n``); else proved with its sums in closed
    form, or undecided."""
    from grader.steps.closed import closed_forms_equal

    if mark is None or mark.status != "shown" or not sizes:
        return mark
    valued = values_of_sizes(texts, sizes)
    if not valued:
        return mark
    if closed_forms_equal(texts[0], texts[1], scope.context):
        said = f"{Certificate.PROVED.value}: the sums summed in closed form, equal for every size"
        return StepMark(**base, status="shown", certificate=said)
    return _sizes_as_values(mark, valued, "the sums written out")


def _stated_unread(scope: Scope) -> str | None:
    """A fact stated near the chain that the entries a witness picks freely may break: a
    condition not read (``since \\sum_i p_i = 1``), words of a property (a unit vector,
    probabilities, a softmax's output); else None."""
    if scope.unread:
        return f"a condition stated nearby was not read ({scope.unread[0]})"
    if scope.array_words:
        return f"the write-up says '{scope.array_words[0]}' nearby (a property of the entries not read)"
    return None


def _sizes_as_values(mark: StepMark, valued: list[str], how: str) -> StepMark:
    """A step equal at the sizes tried whose size or index also stands as a value
    (``\\sum_{i=1}^{n} i^3 = ...``, ``\\frac{1}{n}``): a function of the size, which a few
    sizes do not show for every size (``(n-1)(n-2)(n-3)(n-4)`` vanishes at all of them)."""
    sizes = (mark.certificate or "").split(": equal for ", 1)[-1].split(" only")[0]
    return mark.model_copy(
        update={
            "status": "undecided",
            "certificate": f"equal for {sizes} only ({how}), but {', '.join(valued)} "
            f"{'stands' if len(valued) == 1 else 'stand'} as a value too, not only as a bound or an "
            "index: a few sizes do not show it for every size",
        }
    )


def _why_sums_no_witness(
    point: Mapping[str, Fraction], scope: Scope, layered: bool, columns: list[str], implicit: str | None
) -> str | None:
    """Why a point where the written-out step fails is no witness, or None."""
    stated = _stated_unread(scope)
    if stated is not None:
        return stated
    if columns:
        return f"that {', '.join(columns)} has as many entries as the sum over them is not declared"
    if layered:
        return (
            "names with a superscript index (\\omega^{(2)}) are read as names of their own, "
            "which the write-up may define"
        )
    if implicit is not None:
        return "how many terms a sum without bounds has is not written"
    defined = [s for s in point if s.split("_")[0] in scope.defined]
    if defined:
        return f"{defined[0]} is defined in the write-up"
    return None


MAX_INDEXED = 3  # sizes at which every value of a free index (x_j) is tried
_INDEX = re.compile(r"_\{([i-n])\}|_([i-n])(?![A-Za-z0-9])")


def _free_indices(*texts: str) -> list[str]:
    """Letters ``i`` to ``n`` that stand only as subscripts (``x_{j}``, ``\\delta_{ij}`` is not
    read) in the written-out texts: indices of entries, free in the step; [] when one of them
    stands elsewhere too (a symbol, then)."""
    found = sorted({m.group(1) or m.group(2) for t in texts for m in _INDEX.finditer(t)})
    for letter in found:
        plain = [re.sub(r"_\{[^{}]*\}|_\w", " ", t) for t in texts]
        if any(re.search(rf"(?<![A-Za-z\\]){letter}(?![A-Za-z])", p) for p in plain):
            return []
    return found


def _entry_derivative(*texts: str) -> bool:
    """A derivative in a step whose entries have free indices (``\\partial x_j``)."""
    return any(has_derivative(t) for t in texts) and bool(_free_indices(*texts))


def _index_patterns(step: Step, scope: Scope, base: dict[str, Any]) -> StepMark | None:
    """A derivative by an entry with a letter index and no sum (``\\frac{d}{dx_j} e^{x_i}``):
    the step at each pattern of its indices (:func:`grader.steps.calculus.index_patterns`)."""
    texts = [plain_entries(step.left), plain_entries(step.right)]
    indices = _free_indices(*texts) if _entry_derivative(*texts) else []
    count = calculus.index_patterns(texts, indices)
    mark = _every_index(step, scope, base, texts[0], texts[1], indices, count) if count else None
    said = calculus.patterns_said(mark, indices) if mark else ""
    return mark and mark.model_copy(update={"left": step.left, "right": step.right, "certificate": said})


def _every_index(
    step: Step, scope: Scope, base: dict[str, Any], left: str, right: str, indices: list[str], size: int
) -> StepMark | None:
    """The step at every value of its free indices from 1 to ``size``: shown when each is shown
    (its certificate the last one's), else None (never wrong: the sums' sizes are not written)."""
    mark = None
    for values in itertools.product(range(1, size + 1), repeat=len(indices)):
        at_left, at_right = left, right
        for name, value in zip(indices, values, strict=True):
            at_left, at_right = put_value(at_left, name, value), put_value(at_right, name, value)
        if scope.kronecker:  # \delta_{12}: 0, \delta_{22}: 1
            at_left, at_right = kronecker_valued(at_left), kronecker_valued(at_right)
        mark = _written_mark(step, scope, base, at_left, at_right)
        if mark is None or mark.status != "shown":
            return None
    if mark is None:
        return None
    said = (mark.certificate or "").split(" (")[0]
    if "derivative" in (mark.certificate or ""):
        said += " (the derivatives computed symbolically)"
    if scope.kronecker and re.search(r"\\delta\s*_", left + right):
        said += " (\\delta_{ij} the Kronecker delta the write-up names)"
    return mark.model_copy(update={"certificate": said})


def _written_mark(
    step: Step, scope: Scope, base: dict[str, Any], left_text: str, right_text: str
) -> StepMark | None:
    """The step with its sums (or items elided with dots) written out, decided; a side that
    is then a vector or a matrix (``[x_1, x_2, x_3]``) by the arrays' reading; None when not
    read."""
    written = step.model_copy(update={"left": left_text, "right": right_text})
    if has_derivative(left_text) or has_derivative(right_text):  # never \frac{d(...)}{d x_2} as a fraction
        return _with_derivatives(written, scope, base)  # d/dx_2 (e^{x_1} + e^{x_2})
    left, right = read_side(left_text, scope.context), read_side(right_text, scope.context)
    if left.node is None or right.node is None:
        if step.relation != "=" or not any(w in left.why + right.why for w in ("matri", "vector", "listlit")):
            return None
        return _with_arrays(written, scope, base)  # [x_1, \dots, x_n] written out: arrays
    if step.relation == "=":
        return _equality(left, right, step, scope, base)
    return _inequality(left, right, step.relation, scope, base)


def _sums_shown(
    marks: list[tuple[dict[str, Fraction], StepMark]], implicit: str | None, base: dict[str, Any]
) -> StepMark | None:
    """Shown when every size tried is (by probes: those sizes only); whole-number bounds:
    shown as the sums written out term by term are; else None."""
    if len(marks) == 1 and not marks[0][0] and marks[0][1].status == "shown":
        # whole-number bounds: the sums written out term by term are the sums themselves
        return marks[0][1].model_copy(
            update={"certificate": f"{marks[0][1].certificate} (the sums written out term by term)"}
        )
    if len(marks) < 2 or any(mark.status != "shown" for _, mark in marks):
        return None
    if len(marks[0][0]) > 1:  # two size symbols: (M, D) = (1, 2), (2, 1), ...
        values = ["(" + ", ".join(_fraction_text(v) for v in point.values()) + ")" for point, _ in marks]
        size_name = "(" + ", ".join(marks[0][0]) + ")"
    else:
        values = [_fraction_text(v) for point, _ in marks for v in point.values()]
        size_name = next(iter(marks[0][0]), "")
    sizes = ", ".join(values[:-1]) + f" and {values[-1]}"
    if implicit is not None:
        size_name += " (the number of terms of a sum written without bounds)"
    each = ", ".join(dict.fromkeys((mark.certificate or "").split(":")[0] for _, mark in marks))
    return StepMark(
        **base,
        status="shown",
        certificate=f"{Certificate.PROBES.value}: equal for {size_name} = {sizes} only, the sums written "
        f"out at each ({each}; not a proof for every size)",
    )


def _fraction_text(v: Fraction) -> str:
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"


def _with_unknowns(step: Step, scope: Scope, base: dict[str, Any], why: str) -> StepMark:
    """A step whose sides hold notation with no value in the math language: shown when the
    two sides are the same function of those pieces read as unknowns (:mod:`grader.steps.opaque`),
    never refuted that way; else undecided with ``why``."""
    found = opaque_sides([step.left, step.right], scope.context.functions)
    mark = StepMark(**base, status="undecided", certificate=why)
    if found is not None:
        mark = _shown_with_unknowns(step, scope, base, why, found, "")
    if mark.status == "shown":
        return mark
    by_chain_rule = chain_rule.generic_sides([step.left, step.right], scope.context)
    if by_chain_rule is not None:
        again = _shown_with_unknowns(step, scope, base, why, by_chain_rule, CHAIN_RULE)
        if again.status == "shown":
            return again
    return mark


CHAIN_RULE = "functions not defined here left generic (where differentiable), derivatives by the chain rule; "


def _shown_with_unknowns(
    step: Step,
    scope: Scope,
    base: dict[str, Any],
    why: str,
    found: tuple[list[str], list[str]],
    how: str,
) -> StepMark:
    """The step shown with ``found``'s texts, its pieces read as unknowns; else undecided."""
    (left_text, right_text), pieces = found
    left, right = read_side(left_text, scope.context), read_side(right_text, scope.context)
    if left.node is None or right.node is None:
        return StepMark(**base, status="undecided", certificate=why)
    unknowns = f" ({how}{_pieces_said(pieces)} read as unknowns)"
    normed = norm_symbols(pieces)
    if normed:  # a norm is a number >= 0 whatever it is the norm of
        scope = replace(
            scope, domains={**scope.domains, **dict.fromkeys(normed, SymbolDomain(nonnegative=True))}
        )
        unknowns = unknowns[:-1] + ", the norms >= 0)"
    rtol, atol = _tolerance(step.left, step.right)
    if step.relation == "=":
        if _identity(left.node, right.node, scope, rtol, atol):
            return StepMark(**base, status="shown", certificate=Certificate.PROVED.value + unknowns)
        names = _names(left.node, right.node)
        status, said = _engine(left.text, right.text, names, scope, rtol, atol)
    else:
        names = _names(left.node, right.node)
        template, _ = _holds_op(step.relation)
        status, said = _engine("0", template.format(a=left.text, b=right.text), names, scope, 0.0, ATOL)
    if status == "shown" and step.relation == "=":  # compared with no tolerance; no witness
        domain = W.Domain(names, scope.domains, scope.conditions)
        decimals = exactness.rounded_decimals(step.left, step.right)
        status, said, _ = exactness.settle(left.node, right.node, domain, scope.functions, said, decimals)
    if status == "shown":
        return StepMark(**base, status="shown", certificate=said + unknowns)
    return StepMark(
        **base,
        status="undecided",
        certificate=f"{why}; with {_pieces_said(pieces)} read as unknowns it is not shown, "
        "and a point found that way is no witness",
    )


def _pieces_said(pieces: Sequence[str]) -> str:
    shown = ", ".join(p if len(p) <= 40 else p[:37] + "..." for p in pieces[:3])
    return shown + (f" and {len(pieces) - 3} more" if len(pieces) > 3 else "")


# -- iff / implies ------------------------------------------------------------------------------


def _arrays_related(step: Step, scope: Scope, base: dict[str, Any]) -> StepMark | None:
    """Two statements between scalars of vectors and matrices that are one relation
    rearranged (:func:`grader.steps.sized.same_relation`): shown, never refuted."""
    from grader.steps import sized

    parts = []
    for text in (step.left, step.right):
        cuts = _top_level_relations(text)
        if len(cuts) != 1 or cuts[0][2] not in ("=", "<", "<=", ">", ">="):
            return None
        start, end, op = cuts[0]
        parts.append((text[:start].strip(), str(op), text[end:].strip()))
    said = sized.same_relation(parts[0], parts[1], scope.context, _step_shapes(step, scope))
    return StepMark(**base, status="shown", certificate=said) if said else None


def _statement(text: str, scope: Scope) -> _Statement | str:
    return statement(text, scope.context)


def _logical(step: Step, scope: Scope, base: dict[str, Any]) -> StepMark:
    p, q = _statement(step.left, scope), _statement(step.right, scope)
    if isinstance(p, str) or isinstance(q, str):
        why = p if isinstance(p, str) else q
        assert isinstance(why, str)
        always = _conclusion_always_holds(step, scope, base) if step.relation == "implies" else None
        arrays = _arrays_related(step, scope, base) if "matri" in why or "vector" in why else None
        return always or arrays or _logical_with_unknowns(step, scope, base, why)
    nodes = statement_nodes(p, q)
    names = _names(*nodes)
    domain = W.Domain(names, scope.domains, scope.conditions)
    both_ways = step.relation == "iff"
    extra = solution_points(p, names, scope) + (solution_points(q, names, scope) if both_ways else [])
    extra = one_without_value(p, q, both_ways, names, domain, scope) + extra

    def propose(points: list[dict[str, Fraction]]) -> np.ndarray:
        tp, tq = (
            truth_floats(p, points, names, scope.functions),
            truth_floats(q, points, names, scope.functions),
        )
        # where a side has no value in floats (nan) a statement may be false: worth checking
        flags = (tp == 1) & ((tq == 0) | np.isnan(tq))
        if both_ways:
            flags |= (tq == 1) & ((tp == 0) | np.isnan(tp))
        # equations hold on thin sets: points found on them are checked whatever floats say
        return flags | np.array([i < len(extra) for i in range(len(points))])

    def confirm(point: dict[str, Fraction], bits: int) -> W.Found | None:
        tp, tq = truth(p, point, scope.functions, bits), truth(q, point, scope.functions, bits)
        if tp is None or tq is None or tp == tq or (not both_ways and not tp):
            return None
        fails = failing(q if tp else p, point, scope.functions, bits)
        assert fails.left.node is not None and fails.right.node is not None
        x = W.value_at(fails.left.node, point, scope.functions, bits)
        y = W.value_at(fails.right.node, point, scope.functions, bits)
        if x is None or y is None:
            return exactness.no_value_witness(
                (fails.left.node, fails.right.node), point, scope.functions, bits
            )
        exact = all(isinstance(v, Fraction) for v in (x, y))
        return W.Found(point, x, y, "exact" if exact else "interval bound")

    found = W.search(domain, scope.functions, propose, confirm, extra)
    if found is not None:
        return _witness_mark(base, found, scope)
    shown = _logical_shown(p, q, both_ways, names, scope)
    if shown is not None:
        return StepMark(**base, status="shown", certificate=shown)
    return StepMark(
        **base, status="undecided", certificate="no point where one holds and the other fails was confirmed"
    )


def _conclusion_always_holds(step: Step, scope: Scope, base: dict[str, Any]) -> StepMark | None:
    """``P \\implies a = b`` where ``a = b`` is shown for every value (whatever reading shows
    it), or ``P \\implies a = b = c`` where each of its equalities is: true whatever ``P`` is
    (a chain, a statement out of scope); else None."""
    cuts = _top_level_relations(step.right)
    if not 1 <= len(cuts) <= MAX_CONCLUSION_STEPS or any(c[2] != "=" for c in cuts):
        return None
    bounds = [0, *(x for c in cuts for x in c[:2]), len(step.right)]
    sides = [step.right[bounds[i] : bounds[i + 1]].strip() for i in range(0, len(bounds), 2)]
    if not all(sides):
        return None
    said: list[str] = []
    for left, right in itertools.pairwise(sides):
        mark = mark_step(Step(left=left, right=right, relation="=", line=step.line), scope)
        if mark.status != "shown":
            return None
        said.append(mark.certificate or "")
    # the conclusion is shown as its own steps were, no more (probes stay probes)
    shown = said[0] if len(said) == 1 else f"each of its {len(said)} equalities shown ({'; '.join(said)})"
    return StepMark(
        **base, status="shown", certificate=f"the conclusion alone, whatever the premise: {shown}"
    )


MAX_CONCLUSION_STEPS = 6  # equalities of a conclusion chain decided one by one at most


def _logical_with_unknowns(step: Step, scope: Scope, base: dict[str, Any], why: str) -> StepMark:
    """Statements with notation read as unknowns (:mod:`grader.steps.opaque`): shown when the
    two are equivalent (or one implies the other) whatever values the pieces have; never refuted."""
    found = opaque_sides([step.left, step.right], scope.context.functions)
    if found is not None:
        (left_text, right_text), pieces = found
        p, q = _statement(left_text, scope), _statement(right_text, scope)
        if not isinstance(p, str) and not isinstance(q, str):
            nodes = statement_nodes(p, q)
            shown = _logical_shown(p, q, step.relation == "iff", _names(*nodes), scope)
            if shown is not None:
                return StepMark(
                    **base, status="shown", certificate=f"{shown} ({_pieces_said(pieces)} read as unknowns)"
                )
            why = (
                f"with {_pieces_said(pieces)} read as unknowns the two are not shown equivalent, "
                "and a point found that way is no witness"
            )
    return StepMark(**base, status="undecided", certificate=why)


def _logical_shown(
    p: _Statement, q: _Statement, both_ways: bool, names: list[str], scope: Scope
) -> str | None:
    """The engine's certificate that ``p`` implies (or is equivalent to) ``q``, or None."""
    if p.op == "=" and q.op == "=" and not both_ways:
        solved = solved_for(p)  # x = 2 => x^2 = 4: the second with x put in, an identity
        if solved is None or solved[0] in scope.domains:
            return None
        let = {solved[0]: solved[1]}
        status, said = _engine(q.left.text, q.right.text, names, scope, RTOL, ATOL, let=let)
    elif p.op == "=" and q.op == "=":
        p_text, q_text = f"{p.left.text} = {p.right.text}", f"{q.left.text} = {q.right.text}"
        status, said = _engine(p_text, q_text, names, scope, RTOL, ATOL)
    elif p.op != "=" and q.op != "=":  # truth values (0 or 1) compared over the domain
        ind_p, ind_q = indicator(p), indicator(q)
        reference, answer = (ind_p, ind_q) if both_ways else ("0", f"relu(({ind_p}) - ({ind_q}))")
        status, said = _engine(reference, answer, names, scope, 0.0, ATOL)
    else:
        return None
    return said if status == "shown" else None
