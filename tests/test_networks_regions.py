"""Several inputs: OR and XOR classifier networks from seed 002 (sampling over region probes)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction as F
from typing import Any

import numpy as np

from grader.networks import PL, check_classify, check_classify_lines, probe_lines, probe_points, relu
from grader.networks.regions import planes, vertices

Matrix = Sequence[Sequence[object]]


def obj(values: object) -> np.ndarray:
    a = np.array(values, dtype=object)
    return np.vectorize(lambda v: v if isinstance(v, PL) else F(v), otypes=[object])(a)


Model = Callable[[Sequence[Any]], Any]


def two_layer(W1: Matrix, b1: Sequence[object], W2: Matrix, b2: Any) -> Model:
    def f(xs: Sequence[Any]) -> Any:
        h = relu(obj(W1) @ obj(list(xs)) + obj(b1))
        return (obj(W2) @ h)[0] + F(b2)

    return f


# Seed 002, question 7(b): the XOR net with a concatenation before the last layer.
XW1 = [[-1, 0], [0, 1], [1, 0], [0, -1]]
XW2 = [[1, -1, 0, 0], [0, 0, 1, -1]]
XW3 = [1, 0, 1, 0, -1, -1]


def xor_net(w3: Sequence[object] = XW3) -> Callable[[Sequence[object]], object]:
    def f(xs: Sequence[object]) -> object:
        s = relu(obj(XW1) @ obj(list(xs)))
        s2 = relu(obj(XW2) @ s)
        return obj(w3) @ np.concatenate([s, s2])

    return f


def xor(p: Sequence[F]) -> bool:
    return p[0] * p[1] < 0


def or_(p: Sequence[F]) -> bool:
    return p[0] > 0 or p[1] > 0


def test_probe_points_cover_cells_axes_and_are_exact() -> None:
    pts = probe_points([[1, 1], [1, -1]], [-1, 0], 2, seed=1)
    assert all(isinstance(c, F) for p in pts for c in p)
    assert len(set(pts)) == len(pts) and pts[0] == (0, 0)
    for p in [(F(1, 2), F(1, 2)), (F(1), F(0)), (F(0), F(1))]:  # vertices of the arrangement
        assert p in pts
    assert (F(10**6), F(0)) in pts and (F(0), F(-(10**6))) in pts
    # every cell of the arrangement {x+y=1, x=y, x=0, y=0} gets a probe
    hs = planes([[1, 1], [1, -1]], [-1, 0], 2)

    def sign(v: F) -> int:
        return (v > 0) - (v < 0)

    signs = {tuple(sign(w[0] * p[0] + w[1] * p[1] + b) for w, b in hs) for p in pts}
    open_cells = {s for s in signs if 0 not in s}
    # regions of a line arrangement: 1 + lines + sum over vertices of (lines through it - 1)
    assert len(open_cells) == 1 + 4 + (1 + 1 + 1 + 2)
    assert probe_points([[1, 1], [1, -1]], [-1, 0], 2, seed=1) == pts


def test_thin_cells_at_a_vertex_are_hit() -> None:
    W = [[1, 0], [1000, -1], [1000, 1]]  # three lines through the origin with thin wedges
    pts = probe_points(W, [0, 0, 0], 2)
    hs = planes(W, [0, 0, 0], 2)
    cells = set()
    for p in pts:
        s = tuple(w[0] * p[0] + w[1] * p[1] + b for w, b in hs)
        if all(v != 0 for v in s):
            cells.add(tuple(v > 0 for v in s))
    assert len(cells) == 2 * len(hs)  # every wedge around the origin


def test_vertices_in_three_dimensions() -> None:
    import random

    hs = planes([[1, 0, 0], [0, 1, 0], [1, 1, 1]], [0, 0, -3], 3)
    assert (F(0), F(0), F(3)) in vertices(hs, 3, random.Random(0))


def test_or_network_from_seed() -> None:
    model = two_layer([[1, 0], [0, 1]], [0, 0], [[1, 1]], 0)
    pts = probe_points([[1, 0], [0, 1]], [0, 0], 2)
    result = check_classify(model, or_, pts)
    assert result.holds and result.checked == len(pts)
    assert "not a proof" in result.method


def test_or_network_wrong_bias_caught_at_origin() -> None:
    model = two_layer([[1, 0], [0, 1]], [F(1, 1000), 0], [[1, 1]], 0)
    pts = probe_points([[1, 0], [0, 1]], [F(1, 1000), 0], 2)
    result = check_classify(model, or_, pts)
    assert not result.holds and result.witness is not None
    assert result.witness.point == (0, 0)


def test_or_network_far_trap_caught() -> None:
    W1, b1 = [[1, 0], [0, 1], [1, 0]], [0, 0, -1000]
    model = two_layer(W1, b1, [[1, 1, -2]], 0)
    result = check_classify(model, or_, probe_points(W1, b1, 2))
    assert not result.holds and result.witness is not None
    p = result.witness.point
    assert p[0] > 2000 and or_(p) and F(model(p)) <= 0


def test_xor_concat_network_from_seed_is_right() -> None:
    pts = probe_points(XW1, [0, 0, 0, 0], 2)
    assert check_classify(xor_net(), xor, pts).holds


def test_xor_wrong_network_witness() -> None:
    pts = probe_points(XW1, [0, 0, 0, 0], 2)
    result = check_classify(xor_net([1, 0, 1, 0, -1, 0]), xor, pts)
    assert not result.holds and result.witness is not None
    w = result.witness
    assert w.point == (1, 0) and w.model_value == 1 and w.predicate_value is False
    assert w.describe("x1*x2 < 0") == "at x = (1, 0) the network gives 1 (> 0) but x1*x2 < 0 does not hold"


def test_positive_on_the_boundary_is_caught() -> None:
    # |x1| + |x2| - |x1 + x2| is >= 0, and > 0 exactly where x1*x2 < 0 ... plus nowhere else;
    # |x1| alone is > 0 on the axis x2 = 0, where x1*x2 < 0 is false.
    model = two_layer([[1, 0], [-1, 0]], [0, 0], [[1, 1]], 0)
    result = check_classify(model, xor, probe_points([[1, 0], [-1, 0]], [0, 0], 2))
    assert not result.holds and result.witness is not None
    assert result.witness.point[1] == 0
    good = two_layer([[1, 0], [-1, 0], [0, 1], [0, -1], [1, 1], [-1, -1]], [0] * 6, [[1, 1, 1, 1, -1, -1]], 0)
    W = [[1, 0], [-1, 0], [0, 1], [0, -1], [1, 1], [-1, -1]]
    assert check_classify(good, xor, probe_points(W, [0] * 6, 2)).holds


def test_lines_exact_along_each_line() -> None:
    lines = probe_lines(XW1, [0, 0, 0, 0], 2)
    assert check_classify_lines(xor_net(), xor, lines).holds
    result = check_classify_lines(xor_net([1, 0, 1, 0, -1, 0]), xor, lines)
    assert not result.holds and result.witness is not None
    assert xor(result.witness.point) != (result.witness.model_value > 0)


def test_lines_find_a_thin_positive_sliver_probes_might_miss() -> None:
    # positive only in a sliver 0 < x1 - 1000 x2 < 1/1000 far out; the predicate says never
    def model(xs: Sequence[Any]) -> Any:
        z = xs[0] - 1000 * xs[1]
        return relu(z) - 2 * relu(z - F(1, 2000))

    lines = probe_lines([[1, -1000], [1, -1000]], [0, F(-1, 2000)], 2)
    result = check_classify_lines(model, lambda p: False, lines)
    assert not result.holds
