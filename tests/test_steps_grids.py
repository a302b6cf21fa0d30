"""Matrices written with dots, sums over two sizes, a layer's superscripted names and a vector
beside the entries a sum names (issue 61, session 16): shown at the sizes tried, wrong only
with a concrete size and entries a TA can check (checked here with numpy), never a pattern
guessed that two readings of the written entries differ on."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from grader.steps import check_text
from grader.steps.grids import grids_written_out
from grader.steps.models import StepMark


def _one(text: str) -> StepMark:
    marks = [s for c in check_text(text, "markdown") for s in c.steps]
    assert len(marks) == 1, marks
    return marks[0]


def _grid(cells: list[list[str]]) -> str:
    """A matrix environment from its written rows (``None`` rows: the row of dots)."""
    return r"\begin{bmatrix} " + r" \\ ".join(" & ".join(r) for r in cells) + r" \end{bmatrix}"


# the Jacobian of softmax, as the 001 seed writes it (entries s_i = S(x)_i)
_JACOBIAN = _grid(
    [
        ["s_1 (1 - s_1)", "-s_1 s_2", r"\cdots", "-s_1 s_n"],
        ["-s_2 s_1", "s_2 (1 - s_2)", r"\cdots", "-s_2 s_n"],
        [r"\vdots", r"\vdots", r"\ddots", r"\vdots"],
        ["-s_n s_1", "-s_n s_2", r"\cdots", "s_n (1 - s_n)"],
    ]
)
_DIAGONAL = _grid(
    [
        ["s_1", "0", r"\cdots", "0"],
        ["0", "s_2", r"\cdots", "0"],
        [r"\vdots"] * 2 + [r"\ddots", r"\vdots"],
        ["0", "0", r"\cdots", "s_n"],
    ]
)
_OUTER = _grid(
    [
        ["s_1 s_1", "s_1 s_2", r"\cdots", "s_1 s_n"],
        ["s_2 s_1", "s_2 s_2", r"\cdots", "s_2 s_n"],
        [r"\vdots"] * 2 + [r"\ddots", r"\vdots"],
        ["s_n s_1", "s_n s_2", r"\cdots", "s_n s_n"],
    ]
)


def test_the_jacobian_of_softmax_with_dots_is_written_out_whole() -> None:
    mark = _one(f"$${_JACOBIAN} = {_DIAGONAL} - {_OUTER}$$")
    assert mark.status == "shown"
    assert mark.certificate == (
        "probes: equal for n = 3, 4 and 5 only, the matrices elided with dots written out whole at each "
        "(proved; not a proof for every size)"
    )


def test_a_wrong_sign_in_a_matrix_with_dots_is_refuted_at_a_size_a_ta_can_check() -> None:
    mark = _one(f"$${_JACOBIAN} = {_DIAGONAL} + {_OUTER}$$")
    assert mark.status == "wrong" and mark.witness is not None
    at = mark.witness.at
    n = int(at["n"])
    s = np.array([float(at[f"s_{k}"]) for k in range(1, n + 1)])
    left = np.diag(s) - np.outer(s, s)
    right = np.diag(s) + np.outer(s, s)
    assert np.array_equal(np.array(json.loads(mark.witness.left)), left)
    assert np.array_equal(np.array(json.loads(mark.witness.right)), right)
    assert not np.array_equal(left, right)


def test_entries_of_a_function_s_value_are_shown_never_refuted() -> None:
    """The 001 seed's line 79: ``S(\\mathbf{x})_i`` read as names of their own."""
    s = _JACOBIAN.replace("s_", r"S(\mathbf{x})_")
    shown = _one(f"$${s} = {s.replace('(1 - ', '(1 + 0 - ')}$$")
    assert shown.status == "shown"
    assert "read as unknowns" in (shown.certificate or "")
    wrong = _one(f"$${s} = {s.replace('(1 - ', '(1 + ')}$$")
    assert wrong.status == "undecided" and wrong.witness is None


@pytest.mark.parametrize(
    "cells",
    [
        # rows x_2, x_4, dots: 2, 4, 6 or 2, 4, 8? not 1, 2, ...: never guessed
        [
            ["x_2", "0", r"\cdots", "0"],
            ["0", "x_4", r"\cdots", "0"],
            [r"\vdots"] * 2 + [r"\ddots", r"\vdots"],
            ["0", "0", r"\cdots", "x_n"],
        ],
        # the diagonal's entries follow no one pattern (x_1, y_2)
        [
            ["x_1", "0", r"\cdots", "0"],
            ["0", "y_2", r"\cdots", "0"],
            [r"\vdots"] * 2 + [r"\ddots", r"\vdots"],
            ["0", "0", r"\cdots", "x_n"],
        ],
        # the dots at different places in two rows
        [
            ["x_1", r"\cdots", "0", "0"],
            ["0", "x_2", r"\cdots", "0"],
            [r"\vdots"] * 2 + [r"\ddots", r"\vdots"],
            ["0", "0", r"\cdots", "x_n"],
        ],
    ],
)
def test_a_matrix_whose_dots_two_patterns_read_differently_is_not_written_out(cells: list[list[str]]) -> None:
    grid = _grid(cells)
    assert list(grids_written_out([grid, "0"])) == []
    mark = _one(f"$${grid} = {grid} + 0$$")
    assert mark.status == "undecided"


def test_sizes_that_disagree_between_two_matrices_with_dots_are_not_written_out() -> None:
    other = _DIAGONAL.replace("s_n", "s_m")
    assert _one(f"$${other} = {_DIAGONAL}$$").status == "undecided"


# -- sums over two sizes, a layer's superscripted names ------------------------------------------


def test_a_double_sum_over_two_sizes_is_shown_and_a_swapped_index_refuted() -> None:
    shown = _one(r"$$\sum_{i=1}^{m} \sum_{j=1}^{n} a_{ij} x_j = \sum_{j=1}^{n} x_j \sum_{i=1}^{m} a_{ij}$$")
    assert shown.status == "shown"
    assert "(m, n) = (1, 2), (2, 1), (2, 3) and (3, 2) only" in (shown.certificate or "")
    wrong = _one(r"$$\sum_{i=1}^{m} \sum_{j=1}^{n} a_{ij} = \sum_{j=1}^{n} \sum_{i=1}^{m} a_{ji}$$")
    assert wrong.status == "wrong" and wrong.witness is not None
    at = wrong.witness.at
    m, n = int(at["m"]), int(at["n"])
    a = {k.removeprefix("a_"): int(v) for k, v in at.items() if k.startswith("a_")}
    left = sum(a[f"{i}{j}"] for i in range(1, m + 1) for j in range(1, n + 1))
    right = sum(a[f"{j}{i}"] for i in range(1, m + 1) for j in range(1, n + 1))
    assert (left, right) == (int(wrong.witness.left), int(wrong.witness.right)) and left != right


def test_an_index_of_a_two_letter_subscript_outside_its_sum_is_not_written_out() -> None:
    mark = _one(r"$$\sum_{j=1}^{n} x_{ij} = n x_{ij}$$")
    assert mark.status == "undecided"


def test_the_seed_s_network_with_layer_superscripts_is_shown_never_refuted() -> None:
    """The 001 seed's line 168: sums over M and D with \\omega^{(1)}, \\omega^{(2)}."""
    left = (
        r"\sum_{j=1}^M \omega_{kj}^{(2)} \cdot \frac{1}{2} \left(\tanh \left(\frac{1}{2} \left(\sum_{i=1}^D "
        r"\omega_{ji}^{(1)} x_i + \omega_{j0}^{(1)} \right) \right) + 1 \right) + \omega_{k0}^{(2)}"
    )
    right = (
        r"\sum_{j=1}^M \frac{\omega_{kj}^{(2)}}{2} \left(\tanh \left(\sum_{i=1}^D "
        r"\frac{\omega_{ji}^{(1)}}{2} x_i + \frac{\omega_{j0}^{(1)}}{2} \right) + 1 \right) "
        r"+ \omega_{k0}^{(2)}"
    )
    shown = _one(f"$${left} = {right}$$")
    assert shown.status == "shown" and "(D, M) = " in (shown.certificate or "")
    planted = _one(f"$${left} = {right.replace('{2} x_i', '{4} x_i')}$$")
    assert planted.status == "undecided" and "superscript" in (planted.certificate or "")


# -- a vector beside the entries a sum names -----------------------------------------------------


def test_the_norm_of_a_vector_is_the_sum_of_its_entries_squared() -> None:
    """The 002 seed's line 238."""
    mark = _one(r"$$\frac{1}{2} \|\mathbf{v}\|_2^2 = \frac{1}{2} \sum_{m=1}^d \mathbf{v}_m^2$$")
    assert mark.status == "shown"
    assert "v the column of the entries the sum names" in (mark.certificate or "")


@pytest.mark.parametrize(
    "text",
    [
        r"$$\|x\|^2 = \sum_{i=1}^{n-1} x_i^2$$",  # entries 1 to n - 1: how many x has is not written
        r"For $x \in \mathbb{R}^m$: $$\|x\|^2 = \sum_{i=1}^{n} x_i^2$$",  # declared of another size
        r"$$\|x\|^2 = \sum_{i=1}^{n} x_i$$",  # fails, but the size of x is read from the sum: no witness
    ],
)
def test_a_vector_s_size_not_written_gives_neither_shown_nor_wrong(text: str) -> None:
    mark = _one(text)
    assert mark.status == "undecided" and mark.witness is None


def test_a_transpose_of_a_scalar_entry_is_not_a_vector() -> None:
    mark = _one(r"$$x_1^\top = \sum_{i=1}^{n} x_i$$")
    assert mark.status != "shown"


def test_huge_sizes_are_bounded_work() -> None:
    start = time.process_time()
    huge = _grid(
        [
            ["x_{1}", "0", r"\cdots", "0"],
            ["0", "x_{2}", r"\cdots", "0"],
            [r"\vdots"] * 2 + [r"\ddots", r"\vdots"],
            ["0", "0", r"\cdots", "x_{n}"],
        ]
    )
    mark = _one(rf"For $n = 100000$: $${huge} = {huge}$$")
    assert mark.status in ("shown", "undecided")
    assert time.process_time() - start < 10


# -- a 1-D convolution the words name -------------------------------------------------------------

_CONV = r"$$[1, 2, 3, 4] * [1, 0, 2] = {}$$"


@pytest.mark.parametrize(
    ("words", "result"),
    [
        ("Full convolution (with kernel flipping):", "[1, 2, 5, 8, 6, 8]"),
        ("Valid convolution, kernel flipped:", "[5, 8]"),
        ("Same convolution (we flip the kernel):", "[2, 5, 8, 6]"),
        ("Valid convolution without flipping the kernel:", "[7, 10]"),
    ],
)
def test_a_convolution_the_words_name_is_computed_exactly(words: str, result: str) -> None:
    mark = _one(f"{words}\n\n{_CONV.format(result)}")
    assert mark.status == "shown", mark
    assert "convolution" in (mark.certificate or "")
    wrong = _one(f"{words}\n\n{_CONV.format('[99' + result[result.index(',') :])}")
    assert wrong.status == "wrong" and wrong.witness is not None
    assert wrong.witness.left.replace("^T", "") == result


@pytest.mark.parametrize(
    "words",
    [
        "The convolution:",  # which mode is not said
        "Compute the full, valid and same convolution:",  # the nearest line names three modes
        "Valid convolution (flip the kernel; the library does not flip it):",  # flipped and not: unclear
    ],
)
def test_a_convolution_whose_mode_or_flip_is_not_said_is_not_computed(words: str) -> None:
    assert _one(f"{words}\n\n{_CONV.format('[5, 8]')}").status == "undecided"


def test_a_symmetric_kernel_needs_no_word_on_flipping() -> None:
    mark = _one("Valid convolution:\n\n$$[1, 2, 3, 4] * [1, 0, 1] = [4, 6]$$")
    assert mark.status == "shown"


# -- diag(...), a function's value beside its entries, a row with \quad (the 001 seed's lines 81-96)

_S_DIAGONAL = _DIAGONAL.replace("s_", r"S(\mathbf{x})_")
_S_OUTER = _OUTER.replace("s_", r"S(\mathbf{x})_")
_S_COLUMN = r"\begin{bmatrix} S(\mathbf{x})_1 \\ S(\mathbf{x})_2 \\ \vdots \\ S(\mathbf{x})_n \end{bmatrix}"
_S_ROW = r"[S(\mathbf{x})_1 \quad S(\mathbf{x})_2 \quad \cdots \quad S(\mathbf{x})_n]"


def test_diag_of_a_function_s_value_and_its_outer_product_are_written_out() -> None:
    diag = r"\text{diag}(S(\mathbf{x}))"
    first = _one(f"$${_S_DIAGONAL} - {_S_OUTER} = {diag} - {_S_COLUMN} \\cdot {_S_ROW}$$")
    assert first.status == "shown"
    assert r"\text{diag}(...) the diagonal matrix" in (first.certificate or "")
    second = _one(
        f"$${diag} - {_S_COLUMN} \\cdot {_S_ROW} = {diag} - S(\\mathbf{{x}}) \\cdot S(\\mathbf{{x}})^\\top$$"
    )
    assert second.status == "shown"
    flipped = _one(
        f"$${diag} - {_S_COLUMN} \\cdot {_S_ROW} = {diag} + S(\\mathbf{{x}}) \\cdot S(\\mathbf{{x}})^\\top$$"
    )
    assert flipped.status == "undecided" and flipped.witness is None  # entries of S(x): never refuted


def test_diag_of_an_element_wise_product_of_values() -> None:
    grid = _grid(
        [
            [r"\sigma(\mathbf{x})_1 * (1 - \sigma(\mathbf{x})_1)", "0", r"\cdots", "0"],
            ["0", r"\sigma(\mathbf{x})_2 * (1 - \sigma(\mathbf{x})_2)", r"\cdots", "0"],
            [r"\vdots"] * 2 + [r"\ddots", r"\vdots"],
            ["0", "0", r"\cdots", r"\sigma(\mathbf{x})_n * (1 - \sigma(\mathbf{x})_n)"],
        ]
    )
    mark = _one(rf"$${grid} = \text{{diag}}(\sigma(\mathbf{{x}}) * (1 - \sigma(\mathbf{{x}})))$$")
    assert mark.status == "shown"
    # not element-wise: an inner product inside diag(...) is not read entry by entry
    other = _one(rf"$${grid} = \text{{diag}}(\sigma(\mathbf{{x}})^\top (1 - \sigma(\mathbf{{x}})))$$")
    assert other.status == "undecided"


def test_a_row_with_quad_whose_pattern_is_not_plain_is_not_written_out() -> None:
    row = r"[S(\mathbf{x})_2 \quad S(\mathbf{x})_4 \quad \cdots \quad S(\mathbf{x})_n]"
    mark = _one(
        f"$${_S_DIAGONAL} - {_S_OUTER} = \\text{{diag}}(S(\\mathbf{{x}})) - {_S_COLUMN} \\cdot {row}$$"
    )
    assert mark.status == "undecided"


def test_a_size_the_text_fixes_or_bounds_leaves_a_matrix_with_dots_unwritten() -> None:
    for given in ("n = 100000", "n > 5", "n = 2"):
        mark = _one(f"For ${given}$: $${_JACOBIAN} = {_DIAGONAL} + {_OUTER}$$")
        assert mark.status == "undecided", given


def test_a_function_s_derivative_superscript_is_not_a_layer_s_name() -> None:
    from grader.steps.sums import superscript_names

    assert superscript_names(r"f^{(2)}(x) + w_{k1}^{(2)} (x_1) + \omega^{(1)}") == (
        r"f^{(2)}(x) + w_{k1sup2} (x_1) + \omega_{sup1}"
    )
