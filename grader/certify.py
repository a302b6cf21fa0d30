"""``grader validate`` of a problem set with parameters: every variant it can hand out certified.

Where the domain is small enough (grader.variants.ENUMERATED_VARIANTS) every allowed variant
is checked; else every extreme and a drawn sample. A variant passes when it is well posed
(no zero denominator, no coinciding breakpoints, no shape that does not fit, no two options
that coincide, its file reads) and its self-test passes (grader.selftest: each reference
grades correct against itself, each listed mistake is recognised and differs from it).
A listed mistake written as a formula of the parameters is compared with its reference
symbolically once, for all values. For failing variants, a ``where`` constraint that rules
out exactly them is suggested when one is found.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from pydantic import ValidationError

from grader.engine import prepare_checks
from grader.mathlang import ast
from grader.mathlang.domains import SymbolDomain as FormulaDomain
from grader.mathlang.errors import MathError
from grader.mathlang.parser import parse
from grader.selftest import part_problems
from grader.spec import ProblemSet
from grader.variants import (
    ChoiceDomain,
    IntegerDomain,
    Parameters,
    RationalDomain,
    Variant,
    VariantError,
    variants_to_check,
)

SAMPLE = 24  # variants drawn, besides every extreme, where the domain is not enumerated


@dataclass(frozen=True)
class FailedVariant:
    variant: Variant
    reasons: list[str]


@dataclass
class Certificate:
    """What ``grader validate`` found over a set's variants."""

    checked: int = 0
    everyone: bool = False  # every allowed variant was checked (an enumerable domain)
    failed: list[FailedVariant] = field(default_factory=list)
    symbolic: list[str] = field(default_factory=list)  # facts decided once for all values
    suggestion: str | None = None  # a where constraint that rules out the failing variants


def certify(spec: ProblemSet) -> Certificate:
    block = spec.parameter_block()
    variants = variants_to_check(block, SAMPLE)
    certificate = Certificate(checked=len(variants), everyone=block.enumerable())
    certificate.symbolic, coincide_always = _symbolic_facts(spec, block)
    tested: dict[str, list[str]] = {}  # a part's content -> its self-test problems (shared by variants)
    for variant in variants:
        reasons = list(coincide_always) + _variant_problems(spec, variant, tested)
        if reasons:
            certificate.failed.append(FailedVariant(variant, reasons))
    passed = [v for v in variants if v.id not in {f.variant.id for f in certificate.failed}]
    if certificate.failed and passed:
        certificate.suggestion = suggest_constraint(block, [f.variant for f in certificate.failed], passed)
    return certificate


def _variant_problems(spec: ProblemSet, variant: Variant, tested: dict[str, list[str]]) -> list[str]:
    reasons = spec.variant_problems(variant)
    try:
        own = spec.for_variant(variant)
    except (ValidationError, VariantError) as exc:
        return [*reasons, f"the file does not read with these values: {_first_error(exc)}"]
    prepare_checks(own, {part_id: part.answer for part_id, _, part in own.iter_parts()})
    for part_id, _, part in own.iter_parts():
        reasons += _coinciding_options(part_id, part)
        key = f"{type(part).__name__}\n{part.model_dump_json()}"
        if key not in tested:
            tested[key] = part_problems(part)
        reasons += [f"{part_id}: {problem}" for problem in tested[key]]
    return reasons


def _coinciding_options(part_id: str, part: Any) -> list[str]:
    options = getattr(part, "options", None)
    if part.type != "choice" or not isinstance(options, dict):
        return []
    seen: dict[str, str] = {}
    found = []
    for key, text in options.items():
        shown = " ".join(str(text).split())
        if shown in seen:
            found.append(f"{part_id}: options {seen[shown]} and {key} coincide ({shown!r})")
        seen.setdefault(shown, key)
    return found


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        where = ".".join(str(step) for step in error["loc"])
        return f"{where}: {error['msg'].removeprefix('Value error, ')}"
    return str(exc)


# -- symbolic: a mistake against its reference, for all values at once ----------


def _symbolic_facts(spec: ProblemSet, block: Parameters) -> tuple[list[str], list[str]]:
    """Statements decided for every value of the parameters, and the mistakes that equal
    their reference for every value (each variant fails with them)."""
    import sympy

    from grader.mathlang.to_sympy import Unsupported, to_sympy

    facts: list[str] = []
    always: list[str] = []
    domains = {name: _formula_domain(domain) for name, domain in block.parameters.items()}
    for part_id, reference, mistakes in _formula_parts(spec, set(block.parameters)):
        for number, mistake in mistakes:
            try:
                difference = sympy.simplify(
                    to_sympy(mistake, domains=domains) - to_sympy(reference, domains=domains)
                )
            except (Unsupported, TypeError, ValueError, MathError):
                continue
            if difference == 0:
                always.append(
                    f"{part_id}: mistake {number} equals the reference for every value (decided symbolically)"
                )
            elif difference.is_zero is False:
                facts.append(
                    f"{part_id}: mistake {number} differs from the reference for every value of "
                    f"{', '.join(block.names())} (decided symbolically once, for all variants)"
                )
    return facts, always


def _formula_parts(
    spec: ProblemSet, names: set[str]
) -> list[tuple[str, ast.Node, list[tuple[int, ast.Node]]]]:
    """Expression parts of the set as written whose reference is a formula of the parameters,
    with their listed mistakes, read from the file (the parameters as symbols)."""
    found = []
    raw = spec.raw_parts()
    for part_id, part in raw.items():
        if part.get("type") != "expression" or not isinstance(part.get("answer"), str):
            continue
        symbols = (*names, *(part.get("symbols") or {}))
        try:
            reference = parse(part["answer"], symbols=symbols)
        except MathError:
            continue
        if not ast.free_names(reference) & names:
            continue
        mistakes = []
        for number, mistake in enumerate(part.get("mistakes") or [], start=1):
            if isinstance(mistake, dict) and isinstance(mistake.get("answer"), str):
                try:
                    mistakes.append((number, parse(mistake["answer"], symbols=symbols)))
                except MathError:
                    continue
        found.append((part_id, reference, mistakes))
    return found


def _formula_domain(domain: Any) -> FormulaDomain:
    """A parameter's domain as the symbolic layer's assumptions (positive, integer...)."""
    values = [v for v in domain.values() if isinstance(v, Fraction)]
    if not values:
        return FormulaDomain()
    integer = isinstance(domain, IntegerDomain) or all(v.denominator == 1 for v in values)
    positive = min(values) > 0
    nonzero = all(v != 0 for v in values)
    if isinstance(domain, (IntegerDomain, ChoiceDomain, RationalDomain)):
        return FormulaDomain(integer=integer, positive=positive, nonzero=nonzero)
    return FormulaDomain()


# -- a constraint that rules the failing variants out ---------------------------


def suggest_constraint(block: Parameters, failed: list[Variant], passed: list[Variant]) -> str | None:
    """The simplest ``where`` (``a != 0``, ``a != b``, ``a < b``, or several ``!=`` joined) that
    no failing variant meets and every passing one does; None when there is none."""
    candidates = []
    names = block.names()
    for one, other in itertools.permutations(names, 2):
        candidates += [f"{one} != {other}", f"{one} < {other}"]
    for name in names:
        values = sorted({f.values[name] for f in failed}, key=str)
        candidates.append(" and ".join(f"{name} != {value}" for value in values))
    for text in candidates:
        try:
            trial = Parameters.model_validate(
                {
                    "parameters": block.parameters,
                    "where": [*block.where, text],
                    "scoped_where": block.scoped_where,
                }
            )
        except (ValidationError, VariantError):
            continue
        try:
            rules_out = all(trial.allowed(v.values) is not None for v in failed)
            keeps = all(trial.allowed(v.values) is None for v in passed)
        except VariantError:
            continue
        if rules_out and keeps:
            return text
    return None
