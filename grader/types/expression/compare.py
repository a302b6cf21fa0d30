"""Comparing two formulas at sample points, with doubtful points settled at 40 digits."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import numpy as np

from grader.core.verdict import Certificate, CheckUndecided
from grader.mathlang import ast, exact_constants
from grader.mathlang.arithmetic import MP
from grader.mathlang.errors import EvalError, LimitError, MathError, NotExactError
from grader.mathlang.evaluate import (
    evaluate_exact,
    evaluate_val,
)
from grader.mathlang.values import Env, Val, describe
from grader.mathlang.wording import with_article
from grader.types.expression import casesplit, exactpl, identity, matrixform, validated
from grader.types.expression.feedback import (
    NOT_EXPECTED,
    _fmt,
    _fmt_exact,
    _shape_mismatch,
    _witness,
    canonical,
    printed_length,
)
from grader.types.expression.outcome import Outcome, Sides, weakest
from grader.types.expression.prepare import (
    DENSER_ROUNDS,
    MATRIX_MIN_POINTS,
    SCALAR_MIN_POINTS,
    STUDENT_BATCH,
    Batch,
    Prepared,
    StudentShapeError,
    batch_at,
    batch_indices,
    denser_probes,
    get_batch,
    mp_env,
    mp_env_at,
    reference_value,
    relevant_scalars,
    student_probes,
    student_value,
)
from grader.types.expression.symbolic import (
    PROOF_MAX_OPS,
    _symbolic_confirmation,
    algebraic_equal,
    symbolic_equal,
)

TIGHT_CHECKS = 8  # points where floats agree, checked in balls when the tolerance is finer than floats
SIZE_ERRORS_ENOUGH = 12  # points too large to compute, after which a formula is not tried further
MAX_RECHECKS = 16  # doubtful points settled first at 40 digits, the simplest (witness) ones
RECHECK_CHUNK = 64  # the other doubtful points, settled as many at a time
UNDEFINED_RECHECKS = 6  # points where both sides overflow or have no value in floats, re-checked
ISOLATION_OFFSETS = (1e-6, -1e-6, 3e-6, -3e-6)  # relative moves that tell an isolated hole from a region


def compare(prep: Prepared, sides: Sides) -> Outcome:
    """Equivalence of two formulas: exact for constants, else probed (and where useful, proved)."""
    if not ast.free_names(sides.ref) and not ast.free_names(sides.ans) and not sides.overrides:
        constant = _compare_constants(prep, sides) or _settle_constants(prep, sides)
        if constant is not None:
            return _certified(prep, sides, constant)
    decided = exactpl.decide(prep, sides)
    if decided is not None:
        return decided
    with student_probes(prep, sides):
        try:
            found = _probe(prep, sides)
        except StudentShapeError as err:
            return Outcome(False, err.message)
    if not found.equal:
        return found
    exactly = _exact_integer_points(prep, sides)
    if exactly is not None:
        if exactly.equal:
            exactly.method = f"{found.method}; {exactly.method}"
        return exactly
    found = _certified(prep, sides, found)
    if not found.exact:
        found = _symbolic_confirmation(prep, sides, found)
    if not found.exact:
        bounded = validated.bound_on_domain(prep, sides)
        if bounded is not None:
            bounded.method = f"{found.method}; {bounded.method}"
            return bounded
    if not found.exact and validated.tight_tolerance(prep) and not sides.ref_is_student:
        raise CheckUndecided(
            f"the tolerance (rtol {prep.part.rtol:g}, atol {prep.part.atol:g}) is finer than floats "
            f"resolve, and the two formulas were not shown equal exactly ({found.method})"
        )
    return found


def _certified(prep: Prepared, sides: Sides, found: Outcome) -> Outcome:
    """An agreement found at probes (or at 40 digits), with a certificate where
    :func:`_identity` shows it."""
    if found.equal and not found.exact:
        proved = _identity(prep, sides)
        if proved is not None:
            found.method += f"; {proved.method}"
            found.certificate = proved.certificate
    return found


def _identity(prep: Prepared, sides: Sides) -> Outcome | None:
    """Two scalar formulas (or lists and matrices of them, entry by entry) shown equal within
    the tolerance exactly: symbol-free entries by their exact or ball values, the others as
    rational functions over their atoms (:mod:`identity`); None where any entry is not."""
    if sides.overrides or sides.ref_is_student:
        return None
    if prep.is_matrix:
        if identity.same_tree(sides.ref, sides.ans, prep.functions):
            method = "proved: the expected formula, written otherwise (the same tree)"
            return Outcome(True, "", 0, method, certificate=Certificate.PROVED)
        if matrixform.same_form(sides.ref, sides.ans, {*prep.scalars, *prep.dims}, prep.functions):
            method = (
                "proved: the expected formula, written otherwise (the same terms in another order, "
                "the same matrix products, scalar factors in another order)"
            )
            return Outcome(True, "", 0, method, certificate=Certificate.PROVED)
        return None
    pairs = identity.entries(sides.ref, sides.ans)
    if pairs is None:
        return None
    kinds: list[Certificate] = []
    methods: list[str] = []
    for ref, ans in pairs:
        shown = _entry_identity(prep, Sides(ref, ans, sides.text))
        if shown is None:
            return None
        kinds.append(shown.kind)
        methods.append(shown.method)
    method = methods[0] if len(set(methods)) == 1 else "; ".join(sorted(set(methods)))
    if len(pairs) > 1:
        method = f"{method} (each of {len(pairs)} entries)"
    return Outcome(True, "", 0, method, certificate=weakest(kinds))


def _entry_identity(prep: Prepared, sides: Sides) -> Outcome | None:
    if not ast.free_names(sides.ref) and not ast.free_names(sides.ans):
        try:
            settled = _compare_constants(prep, sides) or validated.settle_constants(prep, sides)[0]
        except MathError:
            return None
        if settled is None:
            exactly = exact_constants.linear_logs(sides.ref, sides.ans)
            if exactly is not None:
                settled = Outcome(True, "", 0, exactly, certificate=Certificate.PROVED)
        return settled if settled is not None and settled.equal else None
    reading = identity.read_both(sides.ref, sides.ans, prep.functions, dict(prep.lets))
    why = None if reading is None else identity.within_tolerance(reading, prep.part.rtol, prep.part.atol)
    if why is None:
        why = casesplit.prove(prep, sides)
    return None if why is None else Outcome(True, "", 0, why, certificate=Certificate.PROVED)


# The integer points of the aimed probes evaluated exactly, at most this many.
INTEGER_POINTS = 32
# A finite integer domain with at most this many points is evaluated exactly at each: a decision.
EVERY_INTEGER_POINT = 64
_ROUNDING = frozenset({"floor", "ceil", "mod", "sign", "heaviside", "round"})
_RATIONAL_CALLS = _ROUNDING | {"abs", "max", "min", "relu"}


def _exact_integer_points(prep: Prepared, sides: Sides) -> Outcome | None:
    """Over integer symbols, floats and 40 digits round what a floor, a parity or a power
    makes of a transcendental (``\\lfloor \\sin^2(\\pi n/2) \\rfloor`` is 1 at odd n, a
    float 0.999...): where a formula has one, both sides are evaluated exactly at the integer
    points probed. The first point where they differ is the witness."""
    if not validated.has_integer_symbol(prep) or sides.overrides:
        return None
    if not _rounds(sides):
        return _rational_at_every_point(prep, sides)
    every = _every_integer_point(prep, sides)
    batch = get_batch(prep, 0)
    if every is not None:
        columns = {name: np.array(column, dtype=float) for name, column in every.items()}
        batch = batch_at(prep, columns, len(next(iter(columns.values()))))
    seen: set[tuple[tuple[str, float], ...]] = set()
    settled = True
    for i in range(batch.size):
        point = _point(prep, batch, i)
        key = tuple(sorted(point.items()))
        if key in seen:
            continue
        seen.add(key)
        if every is None and len(seen) > INTEGER_POINTS:
            break
        found, *values = _exactly_at(prep, sides, point)
        settled = settled and found is validated.Found.SAME
        if found is validated.Found.DIFFER:
            witness = _witness(prep, sides, batch, i, _mp_row(values[1]), _mp_row(values[0]), "differ", (1,))
            method = "exact: a point where the two differ, evaluated exactly"
            return Outcome(False, witness, 0, method, certificate=Certificate.EXACT)
    if every is not None and settled:
        method = f"exact: equal at every one of the {len(seen)} integer points of the domain"
        return Outcome(True, "", len(seen), method, certificate=Certificate.EXACT)
    return None


def _rational_at_every_point(prep: Prepared, sides: Sides) -> Outcome | None:
    """A finite integer domain where both formulas have rational values (``(-1)^{\\lfloor n/2
    \\rfloor}``): equal at every point, evaluated exactly, is a decision; None otherwise (a
    difference is left to the probes, which found none)."""
    if prep.lets or prep.part.constants:
        return None
    every = _every_integer_point(prep, sides)
    if every is None:
        return None
    count = len(next(iter(every.values())))
    for k in range(count):
        values = {name: Fraction(column[k]) for name, column in every.items()}
        try:
            ref = evaluate_exact(sides.ref, values, functions=prep.functions)
            ans = evaluate_exact(sides.ans, values, functions=prep.functions)
        except MathError:  # not rational there, or no value: not decided here
            return None
        if not isinstance(ref, Fraction | int) or not isinstance(ans, Fraction | int):
            return None
        allowed = Fraction(prep.part.atol) + Fraction(prep.part.rtol) * abs(Fraction(ref))
        if abs(Fraction(ans) - Fraction(ref)) > allowed:
            return None
    method = f"exact: equal at every one of the {count} integer points of the domain"
    return Outcome(True, "", count, method, certificate=Certificate.EXACT)


def _every_integer_point(prep: Prepared, sides: Sides) -> dict[str, list[int]] | None:
    """Every point of a finite integer domain (at most EVERY_INTEGER_POINT of them), as columns."""
    names = relevant_scalars(prep, [sides.ref, sides.ans])
    ranges = [prep.scalars[name].integers(EVERY_INTEGER_POINT) for name in names]
    if not names or any(values is None or not values for values in ranges):
        return None
    points = list(itertools.product(*[values for values in ranges if values is not None]))
    if len(points) > EVERY_INTEGER_POINT:
        return None
    return {name: [point[k] for point in points] for k, name in enumerate(names)}


def _rounds(sides: Sides) -> bool:
    """A formula where rounding can flip a value: a floor, a sign or a power with a symbol in
    its exponent, in formulas with a value floats round (pi, e, a root, a sine...). Rational
    arithmetic of modest integers is exact in floats (floor((i + 2p - k)/s) is)."""
    nodes = [*ast.walk(sides.ref), *ast.walk(sides.ans)]
    rounding = any(
        (isinstance(node, ast.Call) and node.name in _ROUNDING)
        or (isinstance(node, ast.BinOp) and node.op == "^" and bool(ast.free_names(node.right)))
        for node in nodes
    )
    inexact = any(
        isinstance(node, ast.Const) or (isinstance(node, ast.Call) and node.name not in _RATIONAL_CALLS)
        for node in nodes
    )
    return rounding and inexact


def _exactly_at(prep: Prepared, sides: Sides, point: dict[str, float]) -> tuple[validated.Found, Any, Any]:
    """Both sides at ``point`` in rationals (fast), else in sympy (pi, roots)."""
    if not prep.lets and not prep.part.constants:
        values = {name: Fraction(value) for name, value in point.items()}
        try:
            ref = evaluate_exact(sides.ref, values, functions=prep.functions)
            ans = evaluate_exact(sides.ans, values, functions=prep.functions)
        except NotExactError:
            pass
        except MathError:  # undefined there, or too large to compute exactly: not settled
            return validated.Found.UNKNOWN, None, None
        else:
            if isinstance(ref, Fraction) and isinstance(ans, Fraction):
                same = abs(ans - ref) <= Fraction(prep.part.atol) + Fraction(prep.part.rtol) * abs(ref)
                found = validated.Found.SAME if same else validated.Found.DIFFER
                return found, ans, ref
    return validated.exact_at_point(prep, sides, point)


def _settle_constants(prep: Prepared, sides: Sides) -> Outcome | None:
    """Two constants that are not both rational: ball arithmetic, then a symbolic zero of the
    difference; at 40 digits only where the tolerance is coarser than that resolves."""
    settled, found = validated.settle_constants(prep, sides)
    if settled is not None:
        return settled
    exactly = None if prep.is_matrix else exact_constants.linear_logs(sides.ref, sides.ans)
    if exactly is not None:
        return Outcome(True, "", 0, exactly, certificate=Certificate.PROVED)
    unknown = found is validated.Found.UNKNOWN and not prep.is_matrix  # not too large: sympy may try
    algebraic = algebraic_equal(prep, sides) if unknown else None
    if algebraic is not None:
        return Outcome(True, "", 0, algebraic, certificate=Certificate.PROVED)
    if unknown and symbolic_equal(prep, sides.ref, sides.ans, PROOF_MAX_OPS):
        method = "proved: sympy simplifies the difference to 0"
        return Outcome(True, "", 0, method, certificate=Certificate.PROVED)
    if validated.tight_tolerance(prep):
        if found is validated.Found.UNCOVERED:  # too large for balls: 40 digits may still refute
            fallback = _compare_constants_mp(prep, sides)
            if fallback is not None and not fallback.equal:
                return fallback
        raise CheckUndecided(
            f"the two values could not be separated or shown equal at {validated.PRECISIONS[-1]} bits, "
            f"and the tolerance (rtol {prep.part.rtol:g}, atol {prep.part.atol:g}) needs an exact decision"
        )
    return _compare_constants_mp(prep, sides)


def _probe(prep: Prepared, sides: Sides) -> Outcome:
    points = rechecked = 0
    minimum = MATRIX_MIN_POINTS if prep.is_matrix else SCALAR_MIN_POINTS
    done: dict[int, tuple[Val, Val]] = {}
    if prep.is_matrix:  # shapes first, at the naming sizes
        done[0] = _both(prep, sides, 0)
        mismatch = _shape_mismatch(prep, sides, *done[0], 0)
        if mismatch:
            return Outcome(False, mismatch, certificate=Certificate.EXACT)
    for bi in _batch_order(prep):
        ref, ans = done.pop(bi) if bi in done else _both(prep, sides, bi)
        mismatch = _shape_mismatch(prep, sides, ref, ans, bi)
        if mismatch:
            return Outcome(False, mismatch, certificate=Certificate.EXACT)
        result = _compare_batch(prep, sides, ref, ans, bi)
        if result.feedback:
            return result
        points += result.points
        rechecked += result.rechecked
        student_next = bi == 0 and STUDENT_BATCH in prep.batches  # the answer's own probes still to come
        if not prep.is_matrix and points >= minimum and not student_next:
            break
    if points < minimum and not prep.is_matrix:
        return _probe_denser(prep, sides, points, rechecked, minimum)
    if points < minimum:
        _raise_size_error(sides)
        raise CheckUndecided(_too_few(prep, points, minimum))
    return _agreed(prep, points, rechecked)


def _agreed(prep: Prepared, points: int, rechecked: int) -> Outcome:
    return Outcome(
        True, "", points, _method(prep, points, rechecked), rechecked, probe_classes=_classes(prep)
    )


def _classes(prep: Prepared) -> tuple[str, ...]:
    """The kinds of probe points compared (the certificate of a probed verdict)."""
    if prep.is_matrix:
        return (
            "random entries at several sizes",
            "entries scaled by 1e-3 to 1e6",
            "degenerate inputs (zeros, ones, identities, rows of zeros)",
        )
    found = [
        "scales 1e-9 to 1e9",
        "written and computed constants",
        "kinks",
        "extremes of feature arguments",
        "zeros and extremes of the reference",
        "domain ends",
        "random",
    ]
    if STUDENT_BATCH in prep.batches:
        found.append("the answer's own constants and kinks")
    return tuple(found)


def _raise_size_error(sides: Sides) -> None:
    """The answer could not be compared because its values are too large to compute
    (exp(exp(exp(exp(100)))) x): that is the student's to fix, status invalid."""
    student_errors = [err for err in sides.size_errors if err.text == sides.text]
    if student_errors:
        raise student_errors[0]


def _probe_denser(prep: Prepared, sides: Sides, points: int, rechecked: int, minimum: int) -> Outcome:
    """Too few probes where the reference has a value (log(x - 10^6) has none below a
    million): more points around those it has, before giving up."""
    for round_ in range(DENSER_ROUNDS):
        with denser_probes(prep, sides, round_) as bi:
            if bi is None:
                break
            ref, ans = _both(prep, sides, bi)
            result = _compare_batch(prep, sides, ref, ans, bi)
        if result.feedback:
            return result
        points += result.points
        rechecked += result.rechecked
        if points >= minimum:
            return _agreed(prep, points, rechecked)
    _raise_size_error(sides)
    raise CheckUndecided(_too_few(prep, points, minimum))


def _too_few(prep: Prepared, points: int, minimum: int) -> str:
    domains = ", ".join(
        f"{name}: {domain.model_dump(exclude_defaults=True) or 'real'}"
        for name, domain in prep.scalars.items()
    )
    return (
        f"the expected formula has a value at only {points} of the probe points (at least {minimum} are "
        f"needed to compare); the symbols' domains ({domains or 'none declared'}) may be wider than "
        "where the formula is defined: declare them as the question means them"
    )


def _method(prep: Prepared, points: int, rechecked: int) -> str:
    if prep.is_matrix:
        method = f"numeric: agreed at {points} points at sizes {_plan_text(prep)}"
    else:
        method = f"numeric: agreed at {points} probes{_magnitudes(prep)}"
    if rechecked:
        method += f", {rechecked} re-checked at 40 digits"
    return method


def _magnitudes(prep: Prepared) -> str:
    """`` from 1e-9 to 1e9 in magnitude``: the probes' range (a part's, worked out once)."""
    if prep.magnitudes is None:
        batch = get_batch(prep, 0)
        columns = [np.abs(np.ravel(batch.raw[name])) for name in prep.scalars if name in batch.raw]
        sizes = np.concatenate(columns) if columns else np.zeros(0)
        sizes = sizes[sizes != 0]
        text = ""
        if sizes.size:
            text = f" from {sizes.min():.0e} to {sizes.max():.0e} in magnitude"
        prep.magnitudes = text.replace("e-0", "e-").replace("e+0", "e")
    return prep.magnitudes


def _both(prep: Prepared, sides: Sides, bi: int) -> tuple[Val, Val]:
    ref = _ref_or_student(prep, sides, bi)
    ans = student_value(prep, sides.ans, sides.text, bi, sides.overrides)
    return ref, ans


def _batch_order(prep: Prepared) -> list[int]:
    """Scalar parts: the aimed probes, those aimed at the student's formula, then random
    batches; matrix parts: the smallest sizes first (nicer witnesses)."""
    indices = list(batch_indices(prep))
    if not prep.is_matrix:
        return [0, STUDENT_BATCH, *indices[1:]] if STUDENT_BATCH in prep.batches else indices
    plan = len(prep.size_plan)
    sized = sorted(indices[:plan], key=lambda i: (sum(prep.size_plan[i].values()), i))
    return sized + indices[plan:]


def _ref_or_student(prep: Prepared, sides: Sides, bi: int) -> Val:
    if not sides.ref_is_student:
        return reference_value(prep, sides.ref, bi, sides.overrides)
    return student_value(prep, sides.ref, sides.text, bi, sides.overrides)


def _plan_text(prep: Prepared) -> str:
    parts = []
    for sizes in prep.size_plan:
        parts.append("(" + ", ".join(f"{k}={v}" for k, v in sizes.items()) + ")")
    return " ".join(parts)


def _compare_constants(prep: Prepared, sides: Sides) -> Outcome | None:
    """Two rational constants, compared exactly with the part's tolerance."""
    try:
        ref = evaluate_exact(sides.ref, {}, functions=prep.functions)
        ans = evaluate_exact(sides.ans, {}, functions=prep.functions)
    except EvalError:  # not rational (sqrt(2), pi): compared at 40 digits instead
        return None
    if not isinstance(ref, Fraction) or not isinstance(ans, Fraction):
        return None
    method = "exact: rational values"
    if abs(ans - ref) <= Fraction(prep.part.atol) + Fraction(prep.part.rtol) * abs(ref):
        return Outcome(True, "", 0, method, certificate=Certificate.EXACT)
    return Outcome(
        False,
        f"your value is {_exact_value(ans, ref)}, {NOT_EXPECTED}",
        0,
        method,
        certificate=Certificate.EXACT,
    )


def _exact_value(ans: Fraction, ref: Fraction) -> str:
    """The answer's value, with the digits it takes to see it differs (the reference's unsaid)."""
    shown = _fmt_exact(ans)
    return shown if shown != _fmt_exact(ref) else validated.distinct_values(ans, ref)[0]


def _compare_constants_mp(prep: Prepared, sides: Sides) -> Outcome | None:
    """Two constants that are not both rational (pi, sqrt(2)), compared at 40 digits."""
    if prep.is_matrix or prep.lets:
        return None
    batch = batch_at(prep, {}, 1)
    mismatch = _constant_shapes(prep, sides, batch)
    if mismatch:
        return Outcome(False, mismatch, certificate=Certificate.EXACT)
    try:
        values = list(_mp_values(prep, sides, batch, np.array([0])))
    except LimitError as err:
        if err.text == sides.text:  # the answer's value is too large to compute: invalid
            raise
        return None
    _, r, a = values[0]
    kind = _mp_point(r, a, prep.part.rtol, prep.part.atol)
    method = "numeric: both values at 40 digits"
    if kind == "same":
        return Outcome(True, "", 0, method)
    if kind == "differ" and len(r) == 1:
        return Outcome(False, f"your value is {_fmt(a[0])}, {NOT_EXPECTED}", 0, method)
    return None


def _constant_shapes(prep: Prepared, sides: Sides, batch: Batch) -> str:
    """Two symbol-free values of different shapes (``[1, 2, 3]`` against ``[1, 2]``)."""
    env = mp_env(prep, batch, np.array([0]), {})
    try:
        ref, ans = evaluate_val(sides.ref, env), evaluate_val(sides.ans, env)
    except MathError:
        return ""
    if canonical(ref)[0] == canonical(ans)[0]:
        return ""
    yours, expected = with_article(describe(ans)), with_article(describe(ref))
    return f"your answer is {yours}; the expected answer is {expected}"


def _compare_batch(prep: Prepared, sides: Sides, ref: Val, ans: Val, bi: int) -> Outcome:
    """Floats decide where both sides are finite and close (|a - r| <= atol + rtol |r|, entry by
    entry); every other point is doubtful and settled at 40 digits."""
    batch = get_batch(prep, bi)
    shape, r = canonical(ref)
    _, a = canonical(ans)
    r = np.broadcast_to(r, (batch.size, r.shape[1]))
    a = np.broadcast_to(a, (batch.size, a.shape[1]))
    with np.errstate(all="ignore"):
        ref_ok = np.all(np.isfinite(r), axis=1)
        ans_ok = np.all(np.isfinite(a), axis=1)
        close = _close(r, a, prep.part.rtol, prep.part.atol)
    good = ref_ok & ans_ok & close
    differ = np.flatnonzero(ref_ok & ans_ok & ~close)
    one_undefined = np.flatnonzero(ref_ok ^ ans_ok)
    both_undefined = np.flatnonzero(~ref_ok & ~ans_ok)
    points = int(good.sum())
    # Every doubtful point is settled, the simplest first (the witness a student reads); where
    # floats fail on both sides (an overflow) a spread sample decides.
    first = _nicest(prep, batch, differ, MAX_RECHECKS) + _nicest(prep, batch, one_undefined, MAX_RECHECKS)
    doubtful = np.concatenate([differ, one_undefined])
    rest = np.setdiff1d(doubtful, first).tolist() if len(doubtful) > len(first) else []
    chunks = [first + _spread(prep, batch, both_undefined, UNDEFINED_RECHECKS)]
    chunks += [rest[i : i + RECHECK_CHUNK] for i in range(0, len(rest), RECHECK_CHUNK)]
    rechecked = 0
    if validated.tight_tolerance(prep) and not prep.is_matrix:
        hidden = _hidden_difference(prep, sides, batch, np.flatnonzero(good), shape, points)
        if hidden is not None:
            return hidden
    for chunk in (c for c in chunks if c):
        found = _recheck(prep, sides, bi, np.array(chunk), points, shape)
        if not found.equal:
            return found
        points, rechecked = found.points, rechecked + found.rechecked
    return Outcome(True, points=points, rechecked=rechecked)


def _hidden_difference(
    prep: Prepared, sides: Sides, batch: Batch, agreed: np.ndarray, shape: tuple[int, ...], points: int
) -> Outcome | None:
    """With a tolerance finer than floats resolve, points where floats agree are checked in
    balls too (x + 10^-40 is not x when the tolerance is 0): a proved difference is a witness."""
    for i in _nicest(prep, batch, agreed, TIGHT_CHECKS):
        found, _, _ = validated.confirm_point(prep, sides, _point(prep, batch, i))
        if found is not validated.Found.DIFFER:
            continue
        _, r, a = _mp_values(prep, sides, batch, np.array([i]))[0]
        method = "interval bound: a point where the two differ, proved in ball arithmetic"
        witness = _witness(prep, sides, batch, i, r, a, "differ", shape)
        return Outcome(False, witness, points, method, certificate=Certificate.INTERVAL_BOUND)
    return None


def _nicest(prep: Prepared, batch: Batch, indices: np.ndarray, count: int) -> list[int]:
    """The ``count`` points among ``indices`` that print shortest (ties: in order)."""
    if len(indices) == 0:
        return []
    lengths = np.fromiter((printed_length(batch, i) for i in indices.tolist()), dtype=np.int64)
    return indices[np.argsort(lengths, kind="stable")[:count]].tolist()


def _spread(prep: Prepared, batch: Batch, indices: np.ndarray, count: int) -> list[int]:
    """Points where floats failed on both sides: the largest inputs first (overflow suspects),
    then points spread over the rest."""
    if len(indices) <= count:
        return indices.tolist()
    size = np.zeros(len(indices))
    for name in prep.scalars:
        column = batch.raw[name]
        if column.shape[0] > 1:
            size = np.maximum(size, np.abs(column[indices]))
    by_size = indices[np.argsort(-size, kind="stable")].tolist()
    half = count // 2
    rest = by_size[half:]
    step = max(1, len(rest) // (count - half))
    return by_size[:half] + rest[::step][: count - half]


def _close(r: np.ndarray, a: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    """The contract's rule, point by point and entry by entry: |a - r| <= atol + rtol |r|."""
    return np.all(np.abs(a - r) <= atol + rtol * np.abs(r), axis=1)


def _recheck(
    prep: Prepared, sides: Sides, bi: int, chosen: np.ndarray, points: int, shape: tuple[int, ...]
) -> Outcome:
    """Settle doubtful points with mpmath; a confirmed difference is the witness."""
    batch = get_batch(prep, bi)
    agreed = 0
    for i, r, a in _high_precision(prep, sides, batch, chosen, bi):
        kind = _mp_point(r, a, prep.part.rtol, prep.part.atol)
        if kind in ("undefined", "no reference") and _isolated(prep, sides, batch, i, kind):
            continue
        if kind == "both undefined" or (kind == "no reference" and sides.ref_is_student):
            continue
        found, values = _settled(prep, sides, _point(prep, batch, i), kind)
        if found in (validated.Found.SAME, validated.Found.UNKNOWN):
            agreed += found is validated.Found.SAME  # float noise; unsettled points do not count
            continue
        if values is not None:  # evaluated exactly: the witness shows the exact values
            a, r = _mp_row(values[0]), _mp_row(values[1])
            witness = _witness(prep, sides, batch, i, r, a, "differ", shape)
            method = "exact: a point where the two differ, evaluated exactly"
            return Outcome(False, witness, points, method, certificate=Certificate.EXACT)
        witness = _witness(prep, sides, batch, i, r, a, kind, shape)
        if found is validated.Found.DIFFER:
            method = "interval bound: a point where the two differ, proved in ball arithmetic"
            return Outcome(False, witness, points, method, certificate=Certificate.INTERVAL_BOUND)
        method = "numeric: a probe where the two differ, confirmed at 40 digits"
        return Outcome(False, witness, points, method, probe_classes=("a witness re-checked at 40 digits",))
    # every doubtful point re-checked was float noise, or has no value on both sides, or is a
    # removable hole
    return Outcome(True, points=points + agreed, rechecked=len(chosen))


def _settled(
    prep: Prepared, sides: Sides, point: dict[str, float], kind: str
) -> tuple[validated.Found, tuple[Any, Any] | None]:
    """How a doubtful point is settled, after 40 digits said ``kind``: a difference in floats is
    proved in balls; over integer symbols what balls cannot settle, and every agreement at 40
    digits (which round floors and parities too), is evaluated exactly (with the two exact
    values). UNCOVERED: a difference only 40 digits confirm."""
    integers = validated.has_integer_symbol(prep)
    if kind == "same" and not integers:
        return validated.Found.SAME, None
    if kind == "differ" and not prep.is_matrix:
        found, _, _ = validated.confirm_point(prep, sides, point)
        if found is not validated.Found.UNKNOWN or not integers:
            return found, None
    elif kind != "same":
        return validated.Found.UNCOVERED, None
    exact, answer, reference = validated.exact_at_point(prep, sides, point)
    return exact, (answer, reference) if exact is validated.Found.DIFFER else None


def _mp_row(value: Any) -> np.ndarray:
    """An exact number (a Fraction, a sympy number) as the one-entry row of 40-digit values a
    witness shows."""
    if isinstance(value, Fraction):
        return np.array([MP.mpf(value.numerator) / value.denominator], dtype=object)
    return np.array([MP.mpf(str(value.evalf(45)))], dtype=object)


def _point(prep: Prepared, batch: Batch, i: int) -> dict[str, float]:
    return {
        name: float(column[0] if column.shape[0] == 1 else column[i])
        for name, column in batch.raw.items()
        if name in prep.scalars
    }


def _high_precision(
    prep: Prepared, sides: Sides, batch: Batch, chosen: np.ndarray, bi: int | None = None
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(point, reference values, answer values) at 40 digits. A point where a value is past
    what can be computed (exp(exp(x)) at x = 1e9) is left out: it decides nothing."""
    try:
        yield from _mp_values(prep, sides, batch, chosen, bi)
        return
    except LimitError:
        pass
    computed = 0
    for i in chosen.tolist():
        try:
            yield from _mp_values(prep, sides, batch, np.array([i]), bi)
            computed += 1
        except LimitError as err:
            sides.size_errors.append(err)
            if computed == 0 and len(sides.size_errors) >= SIZE_ERRORS_ENOUGH:
                return  # too large everywhere tried (exp(exp(exp(exp(100))))): no use trying on


def _mp_values(
    prep: Prepared, sides: Sides, batch: Batch, chosen: np.ndarray, bi: int | None = None
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    env, r = _mp_reference(prep, sides, batch, chosen, bi)
    try:
        _, a = canonical(evaluate_val(sides.ans, env))
    except LimitError as err:
        err.text = sides.text
        raise
    r = np.broadcast_to(r, (len(chosen), r.shape[1]))
    a = np.broadcast_to(a, (len(chosen), a.shape[1]))
    return [(i, r[k], a[k]) for k, i in enumerate(chosen.tolist())]


def _mp_reference(
    prep: Prepared, sides: Sides, batch: Batch, chosen: np.ndarray, bi: int | None
) -> tuple[Env, np.ndarray]:
    """The 40-digit environment at the chosen points of a batch and the reference's values
    there. Kept in the part's preparation (scalar parts) for its seeded batches (``bi >= 0``:
    the same points for every student), by the reference's tree, the points and the overrides (their content,
    never an id): students whose answers are doubtful at the same probes share them. The
    answer's side is evaluated in the kept environment, which no evaluation changes."""
    key: tuple[Any, ...] | None = None
    shared = bi is not None and bi >= 0 and prep.batches.get(bi) is batch
    if shared and not sides.ref_is_student and not prep.is_matrix:  # matrices: too large to keep
        key = (bi, tuple(chosen.tolist()), sides.ref, tuple(sorted(sides.overrides.items())))
        try:
            kept = prep.mp_values.get(key)
        except TypeError:  # a tree that cannot be hashed: evaluated each time
            kept, key = None, None
        if kept is not None:
            return kept
    env = mp_env(prep, batch, chosen, sides.overrides)
    _, r = canonical(evaluate_val(sides.ref, env))
    if key is not None:
        if len(prep.mp_values) >= MP_VALUES_KEPT:
            prep.mp_values.clear()
        prep.mp_values[key] = (env, r)
    return env, r


MP_VALUES_KEPT = 32  # (points, reference) pairs kept a part (scalar parts: at most 64 points each)


def _mp_point(r: np.ndarray, a: np.ndarray, rtol: float, atol: float) -> str:
    ref_ok = all(_mp_finite(v) for v in r)
    ans_ok = all(_mp_finite(v) for v in a)
    if not ref_ok:
        return "no reference" if ans_ok else "both undefined"
    if not ans_ok:
        return "undefined"
    same = all(abs(y - x) <= atol + rtol * abs(x) for x, y in zip(r, a, strict=True))
    return "same" if same else "differ"


def _isolated(prep: Prepared, sides: Sides, batch: Batch, i: int, kind: str) -> bool:
    """Is the formula that has no value at point ``i`` defined just beside it (a removable
    hole such as x = 2 in |x^2 - 4| / (|x - 2| |x + 2|)), rather than on a whole region?"""
    movable = [name for name, domain in prep.scalars.items() if not domain.integer and name in batch.raw]
    if not movable:
        return False
    node = sides.ans if kind == "undefined" else sides.ref
    raw = {
        name: (arr if arr.shape[0] == 1 else arr[[i] * len(ISOLATION_OFFSETS)])
        for name, arr in batch.raw.items()
    }
    for name in movable:
        if raw[name].shape[0] == 1:
            continue
        base = raw[name].astype(float)
        raw[name] = base + np.array(ISOLATION_OFFSETS) * np.maximum(np.abs(base), 1e-3)
    env = mp_env_at(prep, raw, len(ISOLATION_OFFSETS), batch.dim_names, sides.overrides)
    try:
        _, values = canonical(evaluate_val(node, env))
    except MathError:
        return False
    defined = sum(all(_mp_finite(v) for v in row) for row in values)
    return defined >= len(ISOLATION_OFFSETS) - 1


def _mp_finite(v: Any) -> bool:
    if isinstance(v, bool | np.bool_):
        return True
    return bool(MP.isfinite(v))
