"""The complexity checker: the exact LP, term dominance, tree reading and verdicts.

The table in tests/cases/complexity.yaml covers student answers end to end;
these tests pin the pieces underneath, on hand-built trees where the parser
is not the point.
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_budget import examples

from grader.core.verdict import CheckUndecided, Reading, Status
from grader.exact.lp import Row, Sense, Unbounded, maximize
from grader.mathlang import ast
from grader.mathlang.errors import EvalError
from grader.types.complexity import ComplexityPart
from grader.types.complexity import checker as complexity
from grader.types.complexity.dominance import Dominance, Monomial, Space
from grader.types.complexity.reading import TermReader

F = Fraction


# -- hand-built trees -------------------------------------------------------------


def sym(name: str, pos: int = 0) -> ast.Sym:
    return ast.Sym(pos, name)


def num(value: int | Fraction) -> ast.Num:
    return ast.Num(0, F(value))


def mul(*factors: ast.Node) -> ast.Node:
    result = factors[0]
    for factor in factors[1:]:
        result = ast.BinOp(0, "implicit", result, factor)
    return result


def add(*terms: ast.Node) -> ast.Node:
    result = terms[0]
    for term in terms[1:]:
        result = ast.BinOp(0, "+", result, term)
    return result


def power(base: ast.Node, exponent: int | Fraction) -> ast.Node:
    return ast.BinOp(0, "^", base, num(exponent))


def call(name: str, *args: ast.Node) -> ast.Node:
    return ast.Call(0, name, args)


def part(answer: str, symbols: list[str], **extra: object) -> ComplexityPart:
    return ComplexityPart(id="p", type="complexity", answer=answer, symbols=tuple(symbols), **extra)


def monomial(
    powers: tuple[int, ...], logs: tuple[int, ...] | None = None, loglogs: tuple[int, ...] | None = None
) -> Monomial:
    logs = logs if logs is not None else (0,) * len(powers)
    loglogs = tuple(F(x) for x in loglogs) if loglogs and any(loglogs) else ()
    return Monomial(tuple(F(p) for p in powers), tuple(F(x) for x in logs), loglogs)


N, D = sym("n"), sym("d")
ND = Space(["n", "d"])


# -- the exact LP -----------------------------------------------------------------


def test_lp_optimum_is_exact() -> None:
    rows = [Row((F(1), F(2)), "<=", F(4)), Row((F(3), F(1)), "<=", F(6))]
    assert maximize([F(1), F(1)], rows) == F(14, 5)


def test_lp_infeasible_and_unbounded() -> None:
    assert maximize([F(1)], [Row((F(1),), ">=", F(2)), Row((F(1),), "<=", F(1))]) is None
    with pytest.raises(Unbounded):
        maximize([F(1)], [Row((F(1),), ">=", F(1))])


def _scipy_linprog(rows: list[Row], objective: list[float]) -> Any:
    """scipy's answer to ``maximize objective . x`` (as a minimization), x >= 0."""
    optimize = pytest.importorskip("scipy.optimize")
    upper = [([float(x) for x in r.coefficients], float(r.rhs)) for r in rows if r.sense == "<="]
    upper += [([-float(x) for x in r.coefficients], -float(r.rhs)) for r in rows if r.sense == ">="]
    equal = [([float(x) for x in r.coefficients], float(r.rhs)) for r in rows if r.sense == "="]
    return optimize.linprog(
        [-c for c in objective],
        A_ub=[a for a, _ in upper] or None,
        b_ub=[b for _, b in upper] or None,
        A_eq=[a for a, _ in equal] or None,
        b_eq=[b for _, b in equal] or None,
        bounds=[(0, None)] * len(objective),
    )


def test_lp_matches_scipy_on_random_programs() -> None:
    pytest.importorskip("scipy.optimize")
    rng = random.Random(7)
    senses: tuple[Sense, ...] = ("<=", ">=", "=")
    for _ in range(150):
        width, height = rng.randint(1, 4), rng.randint(1, 4)
        rows = [
            Row(tuple(F(rng.randint(-3, 3)) for _ in range(width)), rng.choice(senses), F(rng.randint(-3, 5)))
            for _ in range(height)
        ]
        cost = [F(rng.randint(-3, 3)) for _ in range(width)]
        try:
            ours: object = maximize(cost, rows)
        except Unbounded:
            ours = "unbounded"
        result = _scipy_linprog(rows, [float(c) for c in cost])
        if result.status == 2:  # HiGHS may say "infeasible" for an unbounded program: ask again
            assert (ours is None) == (_scipy_linprog(rows, [0.0] * width).status == 2)
        elif result.status == 3:
            assert ours == "unbounded"
        else:
            assert isinstance(ours, Fraction)
            assert float(ours) == pytest.approx(-result.fun, abs=1e-7)


# -- dominance ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "others", "expected"),
    [
        (monomial((1, 1)), [monomial((2, 0)), monomial((0, 2))], Dominance.WEAK),  # n d on the hull
        (monomial((1, 0)), [monomial((2, 0)), monomial((0, 2))], Dominance.STRICT),
        (monomial((0, 0)), [monomial((1, 1))], Dominance.STRICT),  # constants vanish
        (monomial((2, 1)), [monomial((1, 2))], Dominance.NONE),
        (monomial((1, 0), (1, 0)), [monomial((1, 0))], Dominance.NONE),  # n log n vs n
        (monomial((1, 0)), [monomial((1, 0), (1, 0))], Dominance.STRICT),  # n vs n log n
        (monomial((1, 0), (1, 0)), [monomial((2, 0))], Dominance.STRICT),  # n log n vs n^2
        (monomial((1, 1), (0, 1)), [monomial((1, 2))], Dominance.STRICT),  # n d log d vs n d^2
        (monomial((1, 1), (1, 0)), [monomial((1, 2))], Dominance.NONE),  # n d log n vs n d^2
        # n d / (n^2 log n + d^2) <= 1 / (2 sqrt(log n)): strictly smaller
        (monomial((1, 1)), [monomial((2, 0), (1, 0)), monomial((0, 2))], Dominance.STRICT),
        # log log factors: they count only where powers and logs tie
        (monomial((1, 0), None, (1, 0)), [monomial((1, 0))], Dominance.NONE),  # n log log n vs n
        (monomial((1, 0)), [monomial((1, 0), None, (1, 0))], Dominance.WEAK),  # n vs n log log n
        (monomial((1, 0), None, (1, 0)), [monomial((1, 0), (1, 0))], Dominance.STRICT),  # vs n log n
        (monomial((1, 0), None, (2, 0)), [monomial((1, 0), None, (2, 0))], Dominance.WEAK),
        (monomial((2, 0)), [monomial((1, 0), None, (5, 0))], Dominance.NONE),  # n^2 vs n (log log n)^5
        (monomial((1, 0), None, (0, 1)), [monomial((1, 0), None, (1, 0))], Dominance.NONE),
        (monomial((1, 1), None, (1, 0)), [monomial((2, 0)), monomial((0, 2))], Dominance.NONE),  # n = d
    ],
)
def test_dominance(term: Monomial, others: list[Monomial], expected: Dominance) -> None:
    assert ND.dominance(term, others) is expected


@pytest.mark.parametrize(
    ("term", "others", "expected"),
    [
        (monomial((1,), (0,), (1,)), [monomial((1,))], Dominance.NONE),
        (monomial((1,)), [monomial((1,), (0,), (1,))], Dominance.STRICT),
        (monomial((1,), (1,), (0,)), [monomial((1,), (0,), (3,))], Dominance.NONE),
        (monomial((0,), (0,), (1,)), [monomial((0,), (1,))], Dominance.STRICT),  # log log n vs log n
    ],
)
def test_log_log_factors_order_one_symbol(
    term: Monomial, others: list[Monomial], expected: Dominance
) -> None:
    assert Space(["n"]).dominance(term, others) is expected


def test_a_log_tie_across_symbols_is_undecided_not_guessed() -> None:
    # n d log n against n^2 log n + d^2: on the hull's boundary, only logs could decide.
    term = monomial((1, 1), (1, 0))
    assert ND.dominance(term, [monomial((2, 0), (1, 0)), monomial((0, 2))]) is Dominance.UNDECIDED
    with pytest.raises(CheckUndecided, match="log factors"):
        ND.dominated_by(term, [monomial((2, 0), (1, 0)), monomial((0, 2))])


def test_assumptions_open_a_cone() -> None:
    d_le_n = Space(["n", "d"], [(F(-1), F(1))])
    assert d_le_n.dominance(monomial((1, 2)), [monomial((2, 1))]) is Dominance.WEAK
    assert d_le_n.dominance(monomial((2, 1)), [monomial((1, 2))]) is Dominance.NONE
    assert d_le_n.dominance(monomial((0, 1)), [monomial((2, 0))]) is Dominance.STRICT


@settings(max_examples=examples(60), deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=5, unique=True),
    st.tuples(st.integers(0, 3), st.integers(0, 3)),
)
def test_dominance_without_logs_is_the_hull_test(
    points: list[tuple[int, int]], target: tuple[int, int]
) -> None:
    """Without logs, dominated <=> some convex combination is >= the target (scipy cross-check)."""
    optimize = pytest.importorskip("scipy.optimize")
    others = [monomial(p) for p in points if p != target]
    if not others:
        return
    result = optimize.linprog(
        [0.0] * len(others),
        A_ub=[[-float(o.powers[j]) for o in others] for j in range(2)],
        b_ub=[-float(target[j]) for j in range(2)],
        A_eq=[[1.0] * len(others)],
        b_eq=[1.0],
        bounds=[(0, None)] * len(others),
    )
    dominated = ND.dominance(monomial(target), others) in (Dominance.WEAK, Dominance.STRICT)
    assert dominated == (result.status == 0)


# -- reading trees ----------------------------------------------------------------


def read(tree: ast.Node, space: Space = ND) -> str:
    return complexity.show(complexity.read_complexity(tree, space), space)


def test_hand_built_trees() -> None:
    n2d = mul(power(N, 2), D)
    nd2 = mul(N, power(D, 2))
    assert read(call("Theta", add(n2d, nd2))) == "Θ(n^2 d + n d^2)"
    assert read(call("O", add(mul(num(2), n2d), nd2, power(N, 2)))) == "O(n^2 d + n d^2)"
    assert read(power(add(N, D), 2)) == "Θ(n^2 + d^2)"
    assert read(mul(N, call("log", N))) == "Θ(n log n)"
    assert read(call("sqrt", N)) == "Θ(n^(1/2))"
    assert read(power(N, F(1, 2))) == "Θ(n^(1/2))"


def test_bare_log_applies_to_the_next_factor() -> None:
    # the parser reads plain "n log n" as n * log * n and "\log^2 n" as log^2 * n
    assert read(mul(N, sym("log"), N)) == "Θ(n log n)"
    assert read(mul(power(sym("log"), 2), N)) == "Θ(log^2 n)"
    assert read(mul(N, sym("log_2"), N)) == "Θ(n log n)"


def test_implicit_product_of_declared_one_letter_symbols() -> None:
    space = Space(["n", "m", "d"])
    assert read(call("Theta", sym("nmd")), space) == "Θ(n m d)"


def test_unknown_symbol_is_an_error_with_its_position() -> None:
    text = r"\Theta(d^w + nd)"
    tree = call("Theta", add(ast.BinOp(7, "^", D, sym("w", 9)), mul(N, D)))
    with pytest.raises(EvalError) as caught:
        TermReader(ND, text).read(tree)
    assert caught.value.position == 9
    assert "unknown symbol 'w'" in caught.value.render()


def test_cancellation_is_exact() -> None:
    # (n + d)^2 - 2 n d = n^2 + d^2 exactly; n^2 + d^2 - 2nd = (n - d)^2 may vanish
    two_nd = mul(num(2), N, D)
    assert read(ast.BinOp(0, "-", power(add(N, D), 2), two_nd)) == "Θ(n^2 + d^2)"
    with pytest.raises(CheckUndecided, match="subtracted term n d"):
        read(ast.BinOp(0, "-", add(power(N, 2), power(D, 2)), two_nd))


def test_negligible_subtraction_is_fine() -> None:
    assert read(ast.BinOp(0, "-", power(N, 2), N)) == "Θ(n^2)"


def test_large_powers_of_sums_stay_fast() -> None:
    space = Space(["n", "m", "d"])
    assert read(power(add(sym("n"), sym("m"), sym("d")), 40), space) == "Θ(n^40 + m^40 + d^40)"


# -- properties ---------------------------------------------------------------------

_TERMS = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(1, 5)), min_size=1, max_size=5)


def _tree(terms: list[tuple[int, int, int]]) -> ast.Node:
    return add(*(mul(num(c), power(N, a), power(D, b)) for a, b, c in terms))


@settings(max_examples=examples(40), deadline=None)
@given(_TERMS, st.randoms(use_true_random=False))
def test_class_ignores_order_and_coefficients(terms: list[tuple[int, int, int]], rng: random.Random) -> None:
    shuffled = list(terms)
    rng.shuffle(shuffled)
    rescaled = [(a, b, c * 7) for a, b, c in shuffled]
    assert read(_tree(terms)) == read(_tree(rescaled))


@settings(max_examples=examples(40), deadline=None)
@given(_TERMS)
def test_square_of_a_positive_sum_is_the_sum_of_squares(terms: list[tuple[int, int, int]]) -> None:
    squares = [(2 * a, 2 * b, c) for a, b, c in terms]
    assert read(power(_tree(terms), 2)) == read(_tree(squares))


# -- the checker ----------------------------------------------------------------------


def test_check_text_answers() -> None:
    reference = part("Theta(n^2*d + n*d^2)", ["n", "d"])
    assert complexity.check(reference, "O(2n^2 d + n d^2 + n^2)").status is Status.CORRECT
    verdict = complexity.check(reference, r"\Theta(n^2 d)")
    assert verdict.status is Status.INCORRECT
    assert (
        verdict.feedback == "Θ(n^2 d) is not the right class: it is too small when d grows and n stays fixed"
    )


def test_big_o_upper_bound_not_tight() -> None:
    reference = part("Theta(n^2*d + n*d^2)", ["n", "d"], assumptions=("d <= n",))
    verdict = complexity.check(reference, "O(n^3)")
    assert (
        verdict.feedback
        == "O(n^3) is an upper bound but not tight: it is too large when n grows and d stays fixed"
    )


@pytest.mark.parametrize(
    ("answer", "feedback"),
    [
        ("n", "Θ(n) is not the right class: it is too small when d grows and n stays fixed"),
        ("O(n^2)", "O(n^2) is not an upper bound: it is too small when d grows and n stays fixed"),
        (
            r"\Omega(n^2 d)",
            "Ω(n^2 d) is a lower bound but not tight: it is too small when d grows and n stays fixed",
        ),
        (r"\Omega(n^3)", "Ω(n^3) is not a lower bound: it is too large when n grows and d stays fixed"),
        ("O(n^2 d + n d^2)", "accepted; the tight statement is Θ(n^2 d + n d^2)"),
    ],
)
def test_feedback_says_what_is_wrong_never_the_reference(answer: str, feedback: str) -> None:
    """Issue 45, item 1: "Θ(n) is not Θ(n^2 d + n d^2): missing n^2 d, n d^2" gave the key away;
    the feedback names a way the symbols grow where the student's bound fails, never the
    reference's class or its terms (the TA's views keep them: ``Reading.expected``)."""
    verdict = complexity.check(part("Theta(n^2*d + n*d^2)", ["n", "d"]), answer)
    assert verdict.feedback == feedback
    assert verdict.reading is not None and verdict.reading.expected == "Θ(n^2 d + n d^2)"
    if verdict.status is not Status.CORRECT:
        assert "n d^2" not in verdict.feedback


def test_details_carry_both_classes() -> None:
    verdict = complexity.check(part("Theta(n*m*d)", ["n", "m", "d"]), r"\Theta(nmd)")
    assert verdict.reading == Reading(received="Θ(n m d)", expected="Θ(n m d)")


@pytest.mark.parametrize(
    ("reference", "assumptions", "message"),
    [
        ("Theta(n^2 + x)", (), "unknown symbol 'x'"),
        ("Theta(n^2)", ("n <= 1",), "stop a symbol from growing"),
        ("Theta(n^2)", ("n + d",), "must compare"),
        ("Theta(n^2 + d", (), "cannot be read"),
    ],
)
def test_spec_problems_are_value_errors(reference: str, assumptions: tuple[str, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        complexity.check(part(reference, ["n", "d"], assumptions=assumptions), "n")
