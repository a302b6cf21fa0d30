"""The evaluator: float (batched), exact and mp backends, shapes, functions, errors."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_budget import examples

from grader.mathlang import ast
from grader.mathlang.builtins import BUILTINS
from grader.mathlang.constant import constant_value
from grader.mathlang.errors import EvalError, LimitError, ShapeError
from grader.mathlang.evaluate import (
    NotExactError,
    compile_functions,
    evaluate,
    evaluate_exact,
    evaluate_val,
    make_env,
)
from grader.mathlang.names import FUNCTIONS
from grader.mathlang.parser import BUILTIN_FUNCTIONS, parse
from grader.networks.pl import PL

F = Fraction


def p(text: str, symbols: tuple[str, ...] = ("x", "y", "W", "A", "u", "v"), functions=("S", "H")) -> ast.Node:
    return parse(text, symbols=symbols, functions=functions)


# ---- hand-built trees (no parser) ------------------------------------------------


def sym(name: str) -> ast.Sym:
    return ast.Sym(0, name)


def num(v: int | Fraction) -> ast.Num:
    return ast.Num(0, Fraction(v))


def test_hand_built_relu_via_heaviside() -> None:
    x = sym("x")
    tree = ast.BinOp(0, "star", x, ast.Call(0, "heaviside", (x,)))
    out = evaluate(tree, {"x": np.array([-2.0, 0.0, 3.0])}, batch=3)
    assert out.tolist() == [0.0, 0.0, 3.0]
    assert evaluate_exact(ast.Call(0, "heaviside", (num(0),)), {}) == F(1, 2)
    assert evaluate_exact(ast.Call(0, "heaviside", (num(0), num(0))), {}) == 0


def test_hand_built_matrix_vector() -> None:
    tree = ast.BinOp(0, "implicit", sym("W"), sym("x"))
    out = evaluate(tree, {"W": [[1, 2], [3, 4]], "x": [1, 1]})
    assert out.tolist() == [3.0, 7.0]


# ---- products and shapes ------------------------------------------------------------


def test_outer_and_inner_products() -> None:
    u = [1.0, 2.0]
    assert evaluate(p("u u^T"), {"u": u}).tolist() == [[1, 2], [2, 4]]
    assert float(evaluate(p("u^T u"), {"u": u})) == 5.0
    assert evaluate(p(r"u \otimes v"), {"u": u, "v": [1, 0, 1]}).shape == (2, 3)
    assert float(evaluate(p(r"u \cdot u"), {"u": u})) == 5.0  # two columns: inner product
    assert evaluate(p(r"u \cdot u^T"), {"u": u}).shape == (2, 2)  # seed style: outer product
    assert float(evaluate(p("x^T W x"), {"x": u, "W": np.eye(2)})) == 5.0


def test_row_vector_times_matrix_is_a_row() -> None:
    env = make_env("float", {"x": [1.0, 2.0], "W": [[1.0, 0.0], [0.0, 3.0]]})
    val = evaluate_val(p("x^T W"), env)
    assert val.row and val.shape == (1, 2)
    assert val.a.tolist() == [[[1.0, 6.0]]]


def test_elementwise_products() -> None:
    u, v = [1.0, 2.0], [3.0, 4.0]
    assert evaluate(p("u * v"), {"u": u, "v": v}).tolist() == [3, 8]
    assert evaluate(p(r"u \odot v"), {"u": u, "v": v}).tolist() == [3, 8]
    assert evaluate(p("1 - u"), {"u": u}).tolist() == [0, -1]  # scalar with a vector
    assert evaluate(p("2 W"), {"W": np.eye(2)}).tolist() == [[2, 0], [0, 2]]


def test_shape_errors_name_both_shapes_and_the_subformula() -> None:
    with pytest.raises(ShapeError) as info:
        evaluate(p("W x"), {"W": np.ones((2, 2)), "x": [1.0, 2.0, 3.0]})
    assert "2×2 matrix" in info.value.message and "3-vector" in info.value.message
    with pytest.raises(ShapeError) as info:
        evaluate(p("diag(S(x)) - S(x)^T S(x)"), {"x": [1.0, 2.0]}, functions={"S": "softmax"})
    assert "scalar" in info.value.message and "S(x)^T S(x)" in info.value.message
    assert "inner product" in info.value.hint
    with pytest.raises(ShapeError):
        evaluate(p("u - u^T"), {"u": [1.0, 2.0]})  # a column minus a row
    with pytest.raises(ShapeError):
        evaluate(p("W + 1"), {"W": np.eye(2)})  # c I or c ones? ambiguous


def test_dim_names_in_messages() -> None:
    env = make_env("float", {"W": np.ones((3, 3)), "x": np.ones(4)}, dim_names={3: "n", 4: "m"})
    with pytest.raises(ShapeError) as info:
        evaluate_val(p("W x"), env)
    assert "n×n matrix" in info.value.message and "m-vector" in info.value.message


def test_transpose_prime_inverse_power() -> None:
    w = np.array([[2.0, 1.0], [1.0, 1.0]])
    assert np.allclose(evaluate(p("W'"), {"W": w}), w.T)
    assert np.allclose(evaluate(p("W^{-1}"), {"W": w}), np.linalg.inv(w))
    assert np.allclose(evaluate(p("inv(W) W"), {"W": w}), np.eye(2))
    assert np.allclose(evaluate(p("W^2"), {"W": w}), w @ w)
    assert evaluate(p("u^2"), {"u": [1.0, 3.0]}).tolist() == [1, 9]  # vectors: element-wise
    exact = evaluate_exact(p("W^{-1}"), {"W": [[2, 1], [1, 1]]})
    assert exact.tolist() == [[F(1), F(-1)], [F(-1), F(2)]]
    assert evaluate_exact(p("det(W)"), {"W": [[2, 1], [1, 1]]}) == 1


def test_singular_matrix() -> None:
    out = evaluate(p("W^{-1}"), {"W": np.ones((2, 2))})
    assert np.isnan(out).all()
    with pytest.raises(EvalError, match="singular"):
        evaluate_exact(p("inv(W)"), {"W": [[1, 1], [1, 1]]})


def test_structural_builtins() -> None:
    x = [1.0, 2.0, 3.0]
    s = evaluate(p("softmax(x)"), {"x": x})
    assert np.isclose(s.sum(), 1.0) and s[2] > s[1] > s[0]
    m = np.array([[1.0, 2.0], [3.0, 5.0]])
    assert np.allclose(evaluate(p("softmax_row(W)"), {"W": m}).sum(axis=1), 1)
    assert np.allclose(evaluate(p("softmax_col(W)"), {"W": m}).sum(axis=0), 1)
    assert evaluate(p("diag(x)"), {"x": x}).tolist() == np.diag(x).tolist()
    assert evaluate(p("diag(W)"), {"W": m}).tolist() == [1, 5]
    assert float(evaluate(p("trace(W)"), {"W": m})) == 6
    assert float(evaluate(p("sum(x)"), {"x": x})) == 6
    assert np.isclose(float(evaluate(p(r"\|x\|"), {"x": x})), np.sqrt(14))
    assert float(evaluate(p("norm(x, 1)"), {"x": x})) == 6
    assert evaluate(p("eye(2)"), {}).tolist() == [[1, 0], [0, 1]]
    assert evaluate(p("concat(x, 4)"), {"x": x}).tolist() == [1, 2, 3, 4]
    assert float(evaluate(p("max(x)"), {"x": x})) == 3
    assert evaluate(p("max(0, x - 2)"), {"x": x}).tolist() == [0, 0, 1]
    assert evaluate(p("[1, 2]"), {}).tolist() == [1, 2]
    assert evaluate(p(r"\begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix}"), {}).tolist() == [[1, 2], [3, 4]]
    assert float(evaluate(p("x_2"), {"x": x})) == 2


def test_ones_vector_when_declared() -> None:
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert evaluate(p(r"A \mathbf{1}"), {"A": a, "1": np.ones(2)}).tolist() == [3, 7]
    assert evaluate(p(r"\mathbb{1}^T A"), {"A": a, "1": np.ones(2)}).tolist() == [[4, 6]]
    # the plain number 1 is the ones vector only where the part declares it
    assert evaluate(p("A 1"), {"A": a}).tolist() == a.tolist()
    assert evaluate(p("A 1"), {"A": a, "1": np.ones(2)}).tolist() == [3, 7]
    # in an outer product it is the vector as declared
    s = np.array([0.2, 0.3, 0.5])
    declared = {"s": s, "I": np.eye(3), "1": np.ones(3)}
    assert np.allclose(evaluate(parse("diag(s)(I - 1 s^T)", symbols=("s", "I")), declared), SOFTMAX_JACOBIAN)
    assert np.allclose(evaluate(parse("(I - s 1^T) diag(s)", symbols=("s", "I")), declared), SOFTMAX_JACOBIAN)


SOFTMAX_JACOBIAN = np.array([[0.16, -0.06, -0.1], [-0.06, 0.21, -0.15], [-0.1, -0.15, 0.25]])


@pytest.mark.parametrize(
    "text",
    [
        r"diag(s)(I - \mathbf{1} s^T)",
        r"(I - s \mathbf{1}^\top) diag(s)",
        r"\operatorname{diag}(s) (I - \mathbb{1} s^{T})",
        r"diag(s) - diag(s) \boldsymbol{1} s^T",
    ],
)
def test_an_undeclared_ones_vector_takes_its_length_from_the_other_shapes(text: str) -> None:
    s = np.array([0.2, 0.3, 0.5])
    values = {"s": s, "I": np.eye(3), "A": np.ones((2, 2))}  # sizes 2 and 3: only 3 fits
    out = evaluate(parse(text, symbols=("s", "I", "A")), values)
    assert np.allclose(out, SOFTMAX_JACOBIAN)


def test_an_undeclared_ones_vector_in_sums_and_products() -> None:
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert evaluate(p(r"A \mathbf{1}"), {"A": a}).tolist() == [3, 7]
    assert evaluate(p(r"\mathbf{1}^\top A"), {"A": a}).tolist() == [[4, 6]]
    assert float(evaluate(p(r"\mathbf{1}^T x"), {"x": np.array([1.0, 2.0, 4.0])})) == 7
    assert evaluate_exact(p(r"A \mathbf{1}"), {"A": [[F(1, 2), 1], [0, 3]]}).tolist() == [F(3, 2), 3]
    assert float(evaluate(p(r"\mathbf{1}"), {})) == 1  # no array anywhere: the number 1


def test_an_undeclared_ones_vector_whose_length_no_shape_fixes_is_refused() -> None:
    values = {"s": np.array([1.0, 2.0]), "A": np.ones((3, 3))}
    with pytest.raises(ShapeError, match="length of the ones vector"):
        evaluate(parse(r"\mathbf{1} s^T", symbols=("s", "A")), values)
    with pytest.raises(ShapeError, match="length of the ones vector"):
        evaluate(parse(r"\mathbf{1}^T \mathbf{1}", symbols=("s", "A")), values)
    with pytest.raises(ShapeError, match="cannot subtract"):
        evaluate(parse(r"A - \mathbf{1} s^T", symbols=("s", "A")), values)


# ---- functions ----------------------------------------------------------------------


def test_declared_functions() -> None:
    functions = compile_functions({"S": "softmax", "H": "heaviside(x, 1/2)", "Theta": "heaviside(x, 0)"})
    assert functions["S"].alias == "softmax"
    assert functions["H"].param == "x"
    out = evaluate(p("Theta(x)", functions=("Theta",)), {"x": [-1.0, 0.0, 2.0]}, functions=functions)
    assert out.tolist() == [0, 0, 1]  # element-wise on a vector
    assert evaluate_exact(p("H(0)"), {}, functions=functions) == F(1, 2)


def test_function_formula_parameter_other_than_x() -> None:
    functions = compile_functions({"g": "t^2 + 1"})
    assert functions["g"].param == "t"
    assert evaluate(p("g(x)", functions=("g",)), {"x": [1.0, 2.0]}, functions=functions).tolist() == [2, 5]


def test_unknown_symbol_function_and_arity() -> None:
    with pytest.raises(EvalError, match="unknown symbol 'z'; this part knows x, y") as info:
        evaluate(ast.BinOp(4, "+", sym("x"), ast.Sym(4, "z")), {"x": 1.0, "y": 2.0})
    assert info.value.position == 4
    with pytest.raises(EvalError, match="unknown function 'foo'"):
        evaluate(ast.Call(0, "foo", (sym("x"),)), {"x": 1.0})
    with pytest.raises(EvalError, match="takes 1 argument, got 2"):
        evaluate(ast.Call(0, "exp", (sym("x"), sym("x"))), {"x": 1.0})


# ---- exact mode -----------------------------------------------------------------------


def test_exact_arithmetic() -> None:
    assert evaluate_exact(p("x/3 + 1/6"), {"x": 1}) == F(1, 2)
    assert evaluate_exact(p("x^10"), {"x": F(1, 2)}) == F(1, 1024)
    assert evaluate_exact(p("floor(x/2) + ceil(x/2) + mod(x, 3)"), {"x": 7}) == 8
    assert evaluate_exact(p("sqrt(x)"), {"x": F(9, 4)}) == F(3, 2)
    with pytest.raises(NotExactError):
        evaluate_exact(p("sqrt(x)"), {"x": 2})
    with pytest.raises(NotExactError):
        evaluate_exact(p("exp(x)"), {"x": 1})
    with pytest.raises(EvalError, match="division by zero"):
        evaluate_exact(p("1/(x - 1)"), {"x": 1})


def test_constant_value() -> None:
    assert constant_value(parse("2^17")) == 131072
    assert constant_value(parse(r"\frac{1}{2}")) == F(1, 2)
    assert constant_value(parse("1.3e5")) == 130000
    assert isinstance(constant_value(parse("1/2^99")), Fraction)
    value = constant_value(parse(r"\sqrt{2}"))
    assert isinstance(value, float) and abs(value - 2**0.5) < 1e-15
    assert constant_value(parse(r"\pi")) == pytest.approx(3.141592653589793)


def test_exact_dispatches_to_piecewise_linear_elements() -> None:
    x = PL.identity()
    model = p("w1 . relu(w0*x + b0)", symbols=("x", "w0", "b0", "w1"))
    f = evaluate_exact(model, {"x": x, "w0": [1, 1, 1], "b0": [2, 0, -2], "w1": [3, -6, 3]})
    assert isinstance(f, PL)
    assert [f(F(v)) for v in (-3, -2, -1, 0, 1, 2, 3)] == [0, 0, 3, 6, 3, 0, 0]
    g = evaluate_exact(p("max(x, 0) + abs(x) + heaviside(x)"), {"x": x})
    assert g(F(-1)) == 1 and g(F(0)) == F(1, 2) and g(F(2)) == 5
    h = evaluate_exact(p("min(x, 1) + leaky_relu(x, 1/10)"), {"x": x})
    assert h(F(-10)) == -11 and h(F(5)) == 6


# ---- relations, logic, piecewise ------------------------------------------------------


def test_relations_and_piecewise() -> None:
    tree = p("piecewise((3*x + 6, -2 <= x <= 0), (-3*x + 6, 0 < x < 2), (0, true))")
    out = evaluate(tree, {"x": np.array([-3.0, -1.0, 1.0, 5.0])}, batch=4)
    assert out.tolist() == [0, 3, 3, 0]
    assert evaluate_exact(tree, {"x": F(-1)}) == 3
    assert bool(evaluate(p("x > 0 and not x > 1"), {"x": 0.5}))
    nowhere = p("piecewise((1, x > 0))")
    assert np.isnan(evaluate(nowhere, {"x": -1.0}))
    with pytest.raises(EvalError, match="no case"):
        evaluate_exact(nowhere, {"x": -1})


# ---- float undefined points and the mp backend ------------------------------------------


def test_float_undefined_points_are_nan() -> None:
    xs = np.array([-1.0, 0.0, 2.0])
    assert np.isnan(evaluate(p("log(x)"), {"x": xs}, batch=3)[:2]).all()
    assert np.isnan(evaluate(p("1/x"), {"x": xs}, batch=3)[1])
    assert np.isnan(evaluate(p("sqrt(x)"), {"x": xs}, batch=3)[0])


# name, a point where it is defined, its value there (from the standard library), points where it is not
TRIG = [
    ("sin", 0.7, math.sin(0.7), []),
    ("tan", 0.7, math.tan(0.7), []),
    ("sec", 0.7, 1 / math.cos(0.7), []),
    ("csc", 0.7, 1 / math.sin(0.7), [0.0]),
    ("cot", 0.7, 1 / math.tan(0.7), [0.0]),
    ("asin", 0.3, math.asin(0.3), [1.5, -2.0]),
    ("acos", 0.3, math.acos(0.3), [1.5]),
    ("atan", 3.0, math.atan(3.0), []),
    ("sinh", 1.5, math.sinh(1.5), []),
    ("cosh", 1.5, math.cosh(1.5), []),
    ("tanh", 1.5, math.tanh(1.5), []),
    ("sech", 1.5, 1 / math.cosh(1.5), []),
    ("csch", 1.5, 1 / math.sinh(1.5), [0.0]),
    ("coth", 1.5, 1 / math.tanh(1.5), [0.0]),
    ("asinh", -2.0, math.asinh(-2.0), []),
    ("acosh", 2.0, math.acosh(2.0), [0.5, -3.0]),
    ("atanh", 0.5, math.atanh(0.5), [1.0, -1.0, 2.0]),
]


@pytest.mark.parametrize(("name", "at", "value", "undefined"), TRIG, ids=[row[0] for row in TRIG])
def test_trigonometric_and_hyperbolic_functions_in_every_backend(
    name: str, at: float, value: float, undefined: list[float]
) -> None:
    tree = parse(f"{name}(x)")
    assert float(evaluate(tree, {"x": at})) == pytest.approx(value, rel=1e-12)
    assert float(evaluate_val(tree, make_env("mp", {"x": at})).a[0]) == pytest.approx(value, rel=1e-12)
    for point in undefined:
        assert np.isnan(evaluate(tree, {"x": point}))
        assert np.isnan(float(evaluate_val(tree, make_env("mp", {"x": point})).a[0]))
        with pytest.raises(EvalError, match="not defined") as refused:
            evaluate_exact(tree, {"x": F(point)})
        assert not isinstance(refused.value, NotExactError)
    with pytest.raises(NotExactError):
        evaluate_exact(tree, {"x": F(at)})


def test_the_latex_spellings_of_the_functions_and_their_powers() -> None:
    x = 0.4
    cases = {
        r"\tanh^2(x)": math.tanh(x) ** 2,
        r"\tanh^{2} x": math.tanh(x) ** 2,
        r"\sin^2 x + \cos^2 x": 1.0,
        r"\cosh x - \sinh x": math.exp(-x),
        r"\arcsin x": math.asin(x),
        r"\sin^{-1} x": math.asin(x),
        r"\tan^{-1}(x)": math.atan(x),
        r"\sec^2 x - \tan^2 x": 1.0,
        r"\operatorname{sgn}(x)": 1.0,
        "arctanh(x)": math.atanh(x),
        r"\coth x - \operatorname{cosech}(x)": math.tanh(x / 2),
        "cosec(x) sin(x)": 1.0,
    }
    for text, expected in cases.items():
        assert float(evaluate(parse(text), {"x": x})) == pytest.approx(expected, rel=1e-12), text
    assert evaluate_exact(parse(r"\cosh(x) + \arctan x + \sec^2 x"), {"x": 0}) == 2
    assert evaluate_exact(parse(r"\arccos x + acosh(y)"), {"x": 1, "y": 1}) == 0


def test_every_builtin_name_is_a_call_that_evaluates_or_is_refused_with_a_reason() -> None:
    arguments = {1: "(x)", 2: "(x, 2)"}
    for name, arity in FUNCTIONS.items():
        tree = parse(f"{name}{arguments[min(arity.least, 2)]}")
        assert isinstance(tree, ast.Call) and tree.name == name, name
        try:
            evaluate(tree, {"x": 2.0})
        except EvalError as err:  # a size, a matrix or a vector is needed: said so
            assert err.message, name
    assert frozenset(FUNCTIONS) | {"piecewise"} == BUILTIN_FUNCTIONS
    assert set(BUILTINS) == set(FUNCTIONS)


def test_sign_ones_zeros_and_transpose_read_as_calls_everywhere() -> None:
    assert evaluate(parse("sign(x)"), {"x": -3.0}) == -1
    assert evaluate(parse("ones(2) + zeros(2)"), {}).tolist() == [1, 1]
    assert evaluate(parse("transpose([1, 2]) [3, 4]"), {}).tolist() == 11
    assert evaluate_exact(parse("sgn(x)"), {"x": F(-1, 3)}) == -1


def test_a_large_exponent_is_refused_by_the_size_of_its_result_not_by_itself() -> None:
    tree = parse("(x - a)^{6000}")
    assert evaluate_exact(tree, {"x": F(3, 2), "a": F(1, 2)}) == 1
    assert evaluate_exact(tree, {"x": F(1, 2), "a": F(1, 2)}) == 0
    assert evaluate_exact(tree, {"x": F(0), "a": F(1)}) == 1
    with pytest.raises(LimitError, match="too large"):
        evaluate_exact(tree, {"x": F(3), "a": F(1, 2)})  # 2.5^6000 has 2,388 digits


def test_mp_backend_has_no_overflow() -> None:
    env = make_env("mp", {"x": 800.0})
    val = evaluate_val(p("exp(x)/(1 + exp(x))"), env)
    assert abs(float(val.a[0]) - 1.0) < 1e-15
    assert np.isinf(evaluate(p("exp(x)"), {"x": 800.0}))


def test_batched_values_broadcast_constants() -> None:
    out = evaluate(p("x W + W"), {"x": np.array([1.0, 3.0]), "W": np.ones((2, 2, 2))}, batch=2)
    assert out.shape == (2, 2, 2) and out[1, 0, 0] == 4.0


# ---- property: float batched == exact ---------------------------------------------------

_LEAVES = st.one_of(
    st.builds(lambda v: ast.Num(0, Fraction(v)), st.integers(-4, 4)),
    st.builds(lambda v: ast.Num(0, Fraction(v, 4)), st.integers(-8, 8)),
    st.sampled_from([ast.Sym(0, "x"), ast.Sym(0, "y")]),
)


def _smooth(children: st.SearchStrategy[ast.Node]) -> st.SearchStrategy[ast.Node]:
    binop = st.builds(
        lambda op, a, b: ast.BinOp(0, op, a, b),
        st.sampled_from(["+", "-", "star", "implicit", "/"]),
        children,
        children,
    )
    power = st.builds(
        lambda a, k: ast.BinOp(0, "^", a, ast.Num(0, Fraction(k))), children, st.integers(-2, 3)
    )
    unary = st.builds(
        lambda name, a: ast.Call(0, name, (a,)), st.sampled_from(["abs", "relu", "identity"]), children
    )
    pair = st.builds(
        lambda name, a, b: ast.Call(0, name, (a, b)), st.sampled_from(["max", "min"]), children, children
    )
    return st.one_of(binop, power, unary, pair, st.builds(lambda a: ast.Neg(0, a), children))


TREES = st.recursive(_LEAVES, _smooth, max_leaves=12)
POINT = st.tuples(st.integers(-16, 16), st.integers(-16, 16))


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TREES, st.lists(POINT, min_size=1, max_size=6))
def test_float_batched_matches_exact(tree: ast.Node, points: list[tuple[int, int]]) -> None:
    xs = np.array([a / 8 for a, _ in points])
    ys = np.array([b / 8 for _, b in points])
    env = make_env("float", {"x": xs, "y": ys}, batch=len(points))
    env.trace = {}
    with np.errstate(all="ignore"):
        batched = np.broadcast_to(evaluate_val(tree, env).a, (len(points),))
    # where intermediate values stay moderate, float64 rounding stays far below the tolerance
    sizes = [np.broadcast_to(np.abs(v.a), (len(points),)) for v in env.trace.values()]
    moderate = np.all(np.array(sizes) < 1e6, axis=0)
    for i, (a, b) in enumerate(points):
        try:
            exact = evaluate_exact(tree, {"x": F(a, 8), "y": F(b, 8)})
        except EvalError:  # undefined there (division by zero): float says nan or inf
            assert not np.isfinite(batched[i])
            continue
        if moderate[i]:
            assert batched[i] == pytest.approx(float(exact), rel=1e-9, abs=1e-8)


def test_shared_values_with_a_batch() -> None:
    model = p("w1 . relu(w0*x + b0)", symbols=("x", "w0", "b0", "w1"))
    xs = np.linspace(-3, 3, 7)
    weights = {"w0": [1, 1, 1], "b0": [2, 0, -2], "w1": [3, -6, 3]}
    out = evaluate(model, {"x": xs, **weights}, batch=7, batched={"x"})
    assert out.tolist() == [0, 0, 3, 6, 3, 0, 0]
