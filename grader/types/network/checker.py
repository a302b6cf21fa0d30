"""``network``: weights for a small network (contract section 5), or ``impossible``.

Each mode is decided in its own module, and the verdict says how
(``Verdict.decision``: the method, and whether it was a decision or sampling):
:mod:`.exact`, :mod:`.approx`, :mod:`.classify`, with float sampling
(:mod:`.sampled`) where exact tools cannot decide. A wrong network's verdict
carries the witness (``Verdict.witness``) and the data of its picture
(``Verdict.plot``, :mod:`.plotdata`).

A reference ``impossible`` makes a student's ``impossible`` correct and
weights incorrect with a witness; weights that meet the target anyway are
reported as undecided (the reference must be wrong). Known mistakes are
matched by function (the student's network equals the mistake's network),
since the engine's matching compares answers against the target.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from grader import clock
from grader.core.verdict import AnswerError, Certificate, CheckUndecided, Decision, Status, Verdict
from grader.networks import paused_collection
from grader.types.network.approx import decide_approx
from grader.types.network.classify import decide_classify
from grader.types.network.comparison import Comparison
from grader.types.network.compile import Compiled, compile_part, compiled_parts
from grader.types.network.exact import decide_exact
from grader.types.network.part import NetworkPart
from grader.types.network.plotdata import plot_data
from grader.types.network.sides import NetworkSide, Side, reference_side
from grader.types.network.weights import Impossible, Weights, is_impossible, read_answer, read_weights

REFERENCE = Decision("reference answer")


def check(part: NetworkPart, answer: Any) -> Verdict:
    with paused_collection():  # thousands of units: see grader.networks.kinks
        return _check(part, answer)


def _check(part: NetworkPart, answer: Any) -> Verdict:
    comp = compile_part(part)
    reference_impossible = is_impossible(part.answer)
    student = read_answer(comp, answer)
    if isinstance(student, Impossible):
        if reference_impossible:
            return Verdict.correct("right: no such weights exist", decision=REFERENCE)
        return Verdict.incorrect(
            "such weights exist: the network can meet the target; look for a construction", decision=REFERENCE
        )
    side = reference_side(comp)
    found = decided_once(comp, student, side)
    # With symbols in the weights (m, b), each draw of them is decided, not every value: a
    # network that meets the target is then only probed; a witness at one draw still proves
    # it wrong.
    only_draws = found.holds and bool(comp.symbols)
    exact = found.exact and not only_draws
    kind = Certificate.PIECEWISE_LINEAR if exact else Certificate.PROBES
    if found.bounded and not only_draws:
        kind = Certificate.INTERVAL_BOUND
    decision = Decision(found.method, exact=exact, largest_error=found.largest_error, certificate=kind)
    if found.holds:
        if reference_impossible:
            raise CheckUndecided(
                "the reference answer says no such weights exist, but these weights meet the target "
                f"({found.method}); the reference must be wrong, a TA should look at it"
            )
        note = "" if exact else f"checked by sampling (not a proof): {found.method}"
        if only_draws:
            names = ", ".join(comp.symbols)
            note = f"checked at sampled values of {names} (not a proof for every value): {found.method}"
        return Verdict.correct(_join(found.feedback, note), decision=decision)
    feedback = f"no such weights exist: {found.feedback}" if reference_impossible else found.feedback
    witness = found.mismatch.witness(comp.inputs) if found.mismatch is not None else None
    plot = plot_data(comp, student, side, found.mismatch)
    return Verdict(Status.INCORRECT, 0.0, feedback, decision=decision, witness=witness, plot=plot)


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def same_answer(part: NetworkPart, listed: Any, answer: Any) -> bool:
    """Whether the student's network computes the same function as the listed mistake's
    (the engine's mistake matcher: grading against the target cannot tell mistakes apart)."""
    comp = compile_part(part)
    student = read_answer(comp, answer)
    if is_impossible(listed):
        return isinstance(student, Impossible)
    if isinstance(student, Impossible):
        return False
    try:
        other = read_weights(comp, listed)
    except AnswerError as exc:
        raise ValueError(f"problem spec: a listed mistake cannot be read: {exc.render()}") from exc
    mode = "classify" if part.mode == "classify" else "exact"
    theirs, listed_key = _values_key(student), _values_key(other)
    key = None if theirs is None or listed_key is None else ("mistake", mode, listed_key, theirs)
    if key is not None and key in comp.decided:  # decided for the same values (see decided_once)
        return bool(comp.decided[key])
    cuts = clock.cuts()
    with paused_collection():
        holds = decide(comp, student, NetworkSide(comp, other), mode=mode).holds
    if key is not None and clock.cuts() == cuts:
        if len(comp.decided) >= DECIDED_KEPT:
            comp.decided.clear()
        comp.decided[key] = holds
    return holds


# Decisions kept a part (a compiled part is its content's: see compile_part), for networks of
# at most KEYED_ENTRIES weights, each keyed by a digest of the weights' values.
DECIDED_KEPT = 128
KEYED_ENTRIES = 512


def decided_once(comp: Compiled, weights: Weights, side: Side) -> Comparison:
    """:func:`decide` against the part's own target, made once for the same weights: a class
    writes the same network many ways (``1``, ``2/2``, ``24369*(1)/24369``), and a decision
    is a function of the weights' values (each entry's type and value, their widths, whether
    one was written with decimals). Weights with symbols are decided each time (their floats
    at a draw depend on how they are written), and so is a decision during which a step
    stopped at a deadline (:mod:`grader.clock`: another run may decide otherwise)."""
    key = _values_key(weights)
    if key is None:
        return decide(comp, weights, side)
    kept = comp.decided.get(key)
    if kept is not None:
        return dataclasses.replace(kept)
    cuts = clock.cuts()
    found = decide(comp, weights, side)
    if clock.cuts() == cuts:
        if len(comp.decided) >= DECIDED_KEPT:
            comp.decided.clear()
        comp.decided[key] = dataclasses.replace(found)
    return found


def forget_decisions() -> None:
    """Drop every kept decision (tests that make a decision stop early decide afresh)."""
    for comp in compiled_parts():
        comp.decided.clear()


def _values_key(weights: Weights) -> str | None:
    """A digest of the weights' values, each entry by its type and exact text (Fraction(1, 2)
    and 0.5 are not the same entry), with their shapes, widths and flags; None with symbols or
    past :data:`KEYED_ENTRIES` entries. A digest, so a kept key is 64 characters whatever the
    entries (a hostile entry's exact text can run to kilobytes)."""
    if weights.symbolic or sum(arr.size for arr in weights.arrays.values()) > KEYED_ENTRIES:
        return None
    arrays = tuple(
        (name, arr.shape, tuple((type(v).__name__, repr(v)) for v in arr.reshape(-1).tolist()))
        for name, arr in weights.arrays.items()
    )
    values = (arrays, tuple(sorted(weights.dims.items())), weights.inexact)
    return hashlib.sha256(repr(values).encode("utf-8")).hexdigest()


def decide(comp: Compiled, weights: Weights, side: Side, *, mode: str | None = None) -> Comparison:
    """Whether ``weights`` meet ``side`` in the part's mode (or ``mode``)."""
    mode = mode or comp.part.mode
    if mode == "classify":
        return decide_classify(comp, weights, side)
    if mode == "approx" and not isinstance(side, NetworkSide):
        return decide_approx(comp, weights, side)
    return decide_exact(comp, weights, side)


__all__ = ["check", "decide", "decided_once", "forget_decisions", "same_answer"]
