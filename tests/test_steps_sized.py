"""Vectors and matrices of declared sizes, gradients by them, numbers written out (issue 61,
session 15): shown at the sizes tried, wrong only with a concrete witness a TA can check.

Each witness is checked here the way a TA would: the sizes and entries it prints are put
into the two sides again, by hand (numpy), and the sides' values must be the ones printed
and must differ."""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pytest

from grader.steps import Context, check_text
from grader.steps.models import StepMark


def _marks(text: str, context: Context | None = None) -> list[StepMark]:
    return [s for c in check_text(text, "markdown", context) for s in c.steps]


def _one(text: str, context: Context | None = None) -> StepMark:
    marks = _marks(text, context)
    assert len(marks) == 1, marks
    return marks[0]


def _value(text: str) -> np.ndarray:
    """A witness's printed value: ``3``, ``[1, -2]^T`` (a column), ``[[1, 2], [3, 4]]``."""
    column = text.endswith("^T")
    plain = re.sub(
        r"(-?\d+)/(\d+)", lambda m: repr(int(m.group(1)) / int(m.group(2))), text.removesuffix("^T")
    )
    a = np.array(json.loads(plain), dtype=float)
    return a.reshape(-1, 1) if column else a


# -- the brief's literals: symbolic sizes -------------------------------------------------------


def test_w_x_with_declared_sizes_is_shown_by_probes_at_the_sizes_named() -> None:
    mark = _one(
        r"Let $W \in \mathbb{R}^{m \times n}$ and $x \in \mathbb{R}^n$. "
        r"$$(W x)^\top (W x) = x^\top W^\top W x$$"
    )
    assert mark.status == "shown"
    assert mark.certificate == (
        "probes: equal at sizes m = 2, n = 3 and m = 3, n = 2 only, the vectors and matrices written out "
        "with symbolic entries and expanded exactly at each size (not a proof for every size)"
    )


def test_norm_squared_is_the_inner_product() -> None:
    mark = _one(r"For $x \in \mathbb{R}^n$: $$\|x\|^2 = x^\top x$$")
    assert mark.status == "shown"
    assert mark.certificate is not None and "n = 2 and n = 3 only" in mark.certificate
    assert "not a proof for every size" in mark.certificate


def test_transpose_of_a_product_right_and_wrong() -> None:
    right = _one(
        r"Let $A \in \mathbb{R}^{m \times n}$, $B \in \mathbb{R}^{n \times p}$. $$(AB)^\top = B^\top A^\top$$"
    )
    assert right.status == "shown"
    assert "m = 2, n = 3, p = 4 and m = 3, n = 4, p = 2" in (right.certificate or "")
    wrong = _one(r"Let $A, B \in \mathbb{R}^{n \times n}$. $$(AB)^\top = A^\top B^\top$$")
    assert wrong.status == "wrong" and wrong.witness is not None
    at = wrong.witness.at
    assert at["n"] == "2"
    a, b = _value(at["A"]), _value(at["B"])
    assert a.shape == b.shape == (2, 2)
    left, right_side = (a @ b).T, a.T @ b.T
    assert np.array_equal(left, _value(wrong.witness.left))
    assert np.array_equal(right_side, _value(wrong.witness.right))
    assert not np.array_equal(left, right_side)


def test_quadratic_form_gradient_shown_and_a_wrong_one_refuted_with_a_checkable_witness() -> None:
    given = r"For $x \in \mathbb{R}^n$ and $A \in \mathbb{R}^{n \times n}$: "
    shown = _one(given + r"$$\nabla_x (x^\top A x) = (A + A^\top) x$$")
    assert shown.status == "shown"
    assert "the gradient by x computed entry by entry" in (shown.certificate or "")
    wrong = _one(given + r"$$\nabla_x (x^\top A x) = 2 A x$$")
    assert wrong.status == "wrong" and wrong.witness is not None
    a, x = _value(wrong.witness.at["A"]), _value(wrong.witness.at["x"])
    assert np.array_equal((a + a.T) @ x, _value(wrong.witness.left))  # the gradient, by hand
    assert np.array_equal(2 * a @ x, _value(wrong.witness.right))
    assert not np.array_equal((a + a.T) @ x, 2 * a @ x)


def test_gradient_by_a_matrix_either_layout_is_shown() -> None:
    given = r"Let $W \in \mathbb{R}^{m \times n}$, $x \in \mathbb{R}^n$, $y \in \mathbb{R}^m$. "
    column = _one(given + r"$$\frac{\partial}{\partial W} \frac{1}{2}\|W x - y\|^2 = (W x - y) x^\top$$")
    row = _one(given + r"$$\frac{\partial}{\partial W} \frac{1}{2}\|W x - y\|^2 = x (W x - y)^\top$$")
    assert column.status == row.status == "shown"
    assert "numerator layout" in (row.certificate or "")
    wrong = _one(given + r"$$\nabla_W \frac{1}{2}\|W x - y\|^2 = 2(W x - y) x^\top$$")
    assert wrong.status == "wrong" and wrong.witness is not None
    at = wrong.witness.at
    w, x, y = _value(at["W"]), _value(at["x"]), _value(at["y"])
    assert (int(at["m"]), int(at["n"])) == w.shape
    assert np.array_equal((w @ x - y) @ x.T, _value(wrong.witness.left))


def test_partial_fraction_form_by_a_vector() -> None:
    mark = _one(r"Let $q, k \in \mathbb{R}^d$. $$\frac{\partial (q^\top k)}{\partial k} = q$$")
    assert mark.status == "shown"


def test_a_jacobian_is_not_taken_which_layout_is_meant_is_not_written() -> None:
    mark = _one(
        r"Let $x \in \mathbb{R}^n$, $A \in \mathbb{R}^{m \times n}$. "
        r"$$\frac{\partial (A x)}{\partial x} = A^\top$$"
    )
    assert mark.status == "undecided"


# -- the sizes the text states ------------------------------------------------------------------


def test_a_size_the_text_fixes_is_used_and_named() -> None:
    mark = _one(r"For $n = 3$ and $x \in \mathbb{R}^n$: $$\|x\|^2 = x^\top x$$")
    assert mark.status == "shown"
    assert mark.certificate is not None and mark.certificate.startswith("proved:")
    assert "n = 3 (the size stated)" in mark.certificate


def test_a_size_condition_not_read_leaves_the_sizes_untried() -> None:
    mark = _one(r"For $n > 5$ and $x, y \in \mathbb{R}^n$: $$x^\top y = 2 y^\top x$$")
    assert mark.status == "undecided"


def test_numbers_declared_sizes_are_a_proof() -> None:
    mark = _one(r"Let $A, B \in \mathbb{R}^{3 \times 3}$. $$(A+B)(A+B) = A A + A B + B A + B B$$")
    assert mark.status == "shown"
    assert (mark.certificate or "").startswith("proved: equal entry by entry")
    wrong = _one(r"Let $A, B \in \mathbb{R}^{3 \times 3}$. $$(A + B)^2 = A^2 + 2AB + B^2$$")
    assert wrong.status == "wrong" and wrong.witness is not None
    a, b = _value(wrong.witness.at["A"]), _value(wrong.witness.at["B"])
    assert not np.array_equal((a + b) @ (a + b), a @ a + 2 * a @ b + b @ b)


def test_a_part_declares_the_shapes() -> None:
    context = Context(shapes={"x": ("n",), "A": ("n", "n")})
    assert _one(r"$$\nabla_x (x^\top A x) = (A^\top + A) x$$", context).status == "shown"
    assert _one(r"$$\nabla_x (x^\top A x) = 2 A x$$", context).status == "wrong"


def test_huge_declared_sizes_are_not_written_out() -> None:
    started = time.process_time()
    mark = _one(r"Let $A, B \in \mathbb{R}^{1000 \times 1000}$. $$AB = BA$$")
    assert mark.status == "undecided"
    assert time.process_time() - started < 5  # a cap, not a speed target: nothing was expanded


# -- never a false "wrong" ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (r"$$AB = BA$$", "not declared"),
        (r"Let $A, B \in \mathbb{R}^{n \times n}$ be symmetric. $$(AB)^\top = AB$$", "symmetric"),
        (
            r"Let $Q \in \mathbb{R}^{n \times n}$ with $Q^\top Q = I$, $x \in \mathbb{R}^n$. "
            r"$$(Qx)^\top (Qx) = x^\top x$$",
            "'I'",
        ),
        (
            r"Let $A \in \mathbb{R}^{n \times n}$, $x \in \mathbb{R}^n$. $$x^\top A = A^\top x$$",
            "up to a transpose",
        ),
        (r"Let $A, B \in \mathbb{R}^{n \times n}$ such that they commute. $$AB = BA$$", "not read"),
    ],
)
def test_no_witness_where_a_property_or_a_shape_is_not_known(text: str, why: str) -> None:
    mark = _one(text)
    assert mark.status == "undecided" and mark.witness is None
    assert why in (mark.certificate or "")


def test_a_vector_declared_bold_leaves_the_plain_letter_a_scalar() -> None:
    marks = _marks(
        r"Let $\mathbf{x} \in \mathbb{R}^n$. $$\tanh(x) = \frac{e^x - e^{-x}}{e^x + e^{-x}}$$ "
        r"$$\mathbf{x}^\top \mathbf{x} = \|\mathbf{x}\|^2$$"
    )
    assert [m.status for m in marks] == ["shown", "shown"]
    assert marks[0].certificate == "proved"
    assert "n = 2 and n = 3 only" in (marks[1].certificate or "")


# -- numbers written out ------------------------------------------------------------------------


def test_the_seed_s_convolution_as_dot_products_is_computed_exactly() -> None:
    rows = r"[2, 0, 1, 0] \cdot [1, 2, 3, 4], \\ [0, 2, 0, 1] \cdot [1, 2, 3, 4]"
    right = _one(rf"$$\begin{{bmatrix}} {rows} \end{{bmatrix}} = [5, 8]$$")
    assert right.status == "shown" and right.certificate == "exact: equal entry by entry, computed exactly"
    wrong = _one(rf"$$\begin{{bmatrix}} {rows} \end{{bmatrix}} = [5, 9]$$")
    assert wrong.status == "wrong" and wrong.witness is not None
    assert (wrong.witness.left, wrong.witness.right) == ("[5, 8]^T", "[5, 9]^T")


def test_a_matrix_keeps_its_columns() -> None:
    mark = _one(
        r"$$\begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix} \begin{bmatrix} 1 \\ -1 \end{bmatrix}"
        r" = \begin{bmatrix} -1 \\ -1 \end{bmatrix}$$"
    )
    assert mark.status == "shown"
    assert re.search(r"\\begin\{bmatrix\} 1 & 2 \\\\ 3 & 4", mark.left)


# -- functions not defined here, statements between arrays (the 001 seed's lines 213-227) ----------


def test_a_function_not_defined_here_of_equal_arguments_is_shown_never_refuted() -> None:
    same = _one(
        r"$$\phi(\lambda \mathbf{u}^\top \mathbf{x}^{(i)} - \lambda \mathbf{u}^\top \mathbf{x}^{(j)})"
        r" = \phi(\lambda \mathbf{u}^\top (\mathbf{x}^{(i)} - \mathbf{x}^{(j)}))$$"
    )
    assert same.status == "shown" and "not a proof for every size" in (same.certificate or "")
    other = _one(r"$$2 + \phi(\mathbf{u}^\top \mathbf{x}) = \phi(\mathbf{x}^\top \mathbf{u}) + 1$$")
    assert other.status == "undecided" and other.witness is None


def test_statements_between_arrays_that_are_one_relation_rearranged() -> None:
    implies = _one(
        r"$$\mathbf{w}^\top (\mathbf{x}^{(j)} - \mathbf{x}^{(i)}) > 0 \implies "
        r"\mathbf{w}^\top \mathbf{x}^{(j)} > \mathbf{w}^\top \mathbf{x}^{(i)}$$"
    )
    assert implies.status == "shown"
    flipped = _one(
        r"$$\mathbf{w}^\top (\mathbf{x} - \mathbf{y}) > 0 \iff "
        r"\mathbf{w}^\top \mathbf{y} < \mathbf{w}^\top \mathbf{x}$$"
    )
    assert flipped.status == "shown" and "negative constant" in (flipped.certificate or "")
    backwards = _one(
        r"$$\mathbf{w}^\top (\mathbf{x} - \mathbf{y}) > 0 \iff "
        r"\mathbf{w}^\top \mathbf{y} > \mathbf{w}^\top \mathbf{x}$$"
    )
    assert backwards.status == "undecided" and backwards.witness is None


@pytest.mark.parametrize(
    "text",
    [
        r"Let $W \in \mathbb{R}^{m \times n}$, $x \in \mathbb{R}^n$, $y \in \mathbb{R}^m$. "
        r"$$\nabla_W L = (W x - y) x^\top$$",
        r"Let $w \in \mathbb{R}^{n}$. $$\frac{\partial \ell}{\partial w} = w$$",
        r"Let $w \in \mathbb{R}^{n}$. $$\nabla_w (L + \lambda w^\top w) = 2 \lambda w$$",
        r"Let $w, x \in \mathbb{R}^{n}$ and $z = w^\top x$. $$\nabla_w (z + w^\top w) = 2 w$$",
    ],
)
def test_a_gradient_of_a_name_that_may_depend_on_the_variable_is_not_computed(text: str) -> None:
    """A loss named L, a defined z: their gradient is not zero, nor known; never shown, never wrong."""
    mark = _one(text)
    assert mark.status == "undecided" and mark.witness is None


def test_lists_of_numbers_are_computed_lists_with_symbols_are_left_alone() -> None:
    assert _one(r"$$[1, 2] \cdot [3, 4] = 11$$").status == "shown"
    wrong = _one(r"$$[1, 2] + [3, 4] = [4, 7]$$")
    assert wrong.status == "wrong" and wrong.witness is not None
    assert (wrong.witness.left, wrong.witness.right) == ("[4, 6]^T", "[4, 7]^T")
    interval = _one(r"$$1 + [a, b] = [0, 1]$$")  # an interval, a tuple? not read as a vector
    assert interval.status == "undecided" and interval.witness is None


# -- vectors written with dots (the brief's item 3) ---------------------------------------------


def test_a_vector_written_with_dots_is_a_family_over_its_index() -> None:
    inner = r"[x_1, x_2, \dots, x_n]^\top [y_1, y_2, \dots, y_n]"
    shown = _one(rf"$${inner} = x_1 y_1 + x_2 y_2 + \dots + x_n y_n$$")
    assert shown.status == "shown"
    assert shown.certificate == (
        "probes: equal for n = 3, 4, 5 and 6 only, the items elided with dots written out at each "
        "(proved; not a proof for every size)"
    )
    column = _one(
        r"$$\begin{bmatrix} x_1 \\ \vdots \\ x_n \end{bmatrix}^\top "
        r"\begin{bmatrix} x_1 \\ \vdots \\ x_n \end{bmatrix}"
        r" = x_1^2 + \dots + x_n^2$$"
    )
    assert column.status == "shown"
    wrong = _one(r"$$[x_1, x_2, \dots, x_n]^\top [x_1, x_2, \dots, x_n] = x_1 + x_2 + \dots + x_n$$")
    assert wrong.status == "wrong" and wrong.witness is not None
    at = wrong.witness.at
    x = [int(at[f"x_{k}"]) for k in range(1, int(at["n"]) + 1)]
    assert (int(wrong.witness.left), int(wrong.witness.right)) == (sum(v * v for v in x), sum(x))


def test_dots_whose_pattern_is_not_plain_are_not_guessed() -> None:
    mark = _one(
        r"$$[x_1, x_2, \dots, x_n]^\top [y_1, y_2, \dots, y_n] = x_1 y_1 + x_2 y_2 + \dots + 2 x_n y_n$$"
    )
    assert mark.status == "undecided" and "ellipsis" in (mark.certificate or "")


def test_a_derivative_by_an_entry_with_a_free_index_is_tried_at_every_index() -> None:
    """The 001 seed's line 67, without its words: every j from 1 to N, N = 1, 2, 3; never wrong."""
    shown = _one(r"$$\frac{d}{d\mathbf{x}_j} (\sum_k e^{\mathbf{x}_k}) = e^{\mathbf{x}_j}$$")
    assert shown.status == "shown"
    assert "every j from 1 to N" in (shown.certificate or "") and "not a proof for every size" in (
        shown.certificate or ""
    )
    false = _one(r"$$\frac{d}{d\mathbf{x}_j} (\sum_k e^{\mathbf{x}_k}) = 2 e^{\mathbf{x}_j}$$")
    assert false.status == "undecided" and false.witness is None  # how many terms the sum has is not written


def test_sizes_outside_the_part_s_domain_are_not_tried_and_one_size_left_is_a_probe() -> None:
    from grader.mathlang.domains import SymbolDomain

    context = Context(
        domains={"n": SymbolDomain(integer=True, min=3, max=6)}, shapes={"x": ("n",), "y": ("n",)}
    )
    mark = _one(r"$$x^\top y = y^\top x$$", context)
    assert mark.status == "shown"
    assert (mark.certificate or "").startswith("probes: equal at sizes n = 3 only")


def test_a_declaration_reaches_the_chains_of_the_lines_after_it() -> None:
    text = (
        "Let $A, B \\in \\mathbb{R}^{n \\times n}$.\n\n"
        + "Some words.\n\n" * 5
        + "$$(AB)^\\top = A^\\top B^\\top$$\n"
    )
    mark = _one(text)
    assert mark.status == "wrong" and mark.witness is not None and mark.witness.at["n"] == "2"
    far = (
        "Let $A, B \\in \\mathbb{R}^{n \\times n}$.\n\n"
        + "Some words.\n\n" * 20
        + "$$(AB)^\\top = A^\\top B^\\top$$\n"
    )
    assert _one(far).status == "undecided"  # 41 lines on: a later question may reuse the letters


# -- review of session 15: entries beside their vector, number sets, derivatives by an entry ----


@pytest.mark.parametrize(
    "text",
    [
        r"$$\frac{\partial}{\partial x_j} \sum_{k=1}^n x_k^2 = 0$$",
        r"$$\frac{\partial}{\partial w_j} \frac{1}{2}\sum_i (w_i x_i - y)^2 = 0$$",
        r"$$\frac{\partial}{\partial x_j} \sum_k x_k x_j = \sum_k x_k$$",
        # fresh: no sum, the entries written out; a false step by another entry
        r"$$\frac{\partial}{\partial x_j} (x_1^2 + x_2^2) = 0$$",
        r"$$\frac{\partial}{\partial a_i} \sum_{k=1}^m a_k b_k = 0$$",
    ],
)
def test_a_derivative_by_an_indexed_entry_is_not_shown_dropping_its_own_term(text: str) -> None:
    """x_j may be one of x_1..x_n: read as a symbol apart, the derivative drops its term."""
    assert _one(text).status != "shown"


@pytest.mark.parametrize(
    "text",
    [
        r"$$\frac{\partial}{\partial x_j} \sum_{k=1}^n x_k^2 = 2 x_j$$",
        r"$$\frac{\partial}{\partial x_j} (x_1^2 + x_2^2) = 2 x_j$$",
        r"$$\frac{\partial}{\partial x_1} (x_1^2 + x_j^2) = 2 x_1$$",
    ],
)
def test_a_true_derivative_by_an_indexed_entry_is_not_refuted(text: str) -> None:
    assert _one(text).status != "wrong"


def test_a_derivative_by_an_entry_with_every_index_tried_is_still_shown() -> None:
    mark = _one(r"$$\frac{\partial}{\partial x_j} \sum_k x_k^2 = 2 x_j$$")
    assert mark.status == "shown", mark


@pytest.mark.parametrize(
    "text",
    [
        r"Let $x \in \mathbb{R}^2$. Then $x \cdot x = x_1^2 + x_2^2$.",
        r"Let $x \in \mathbb{R}^n$. Then $x \cdot x = x_1^2 + x_2^2$.",
        r"Let $x \in \mathbb{R}^3$. Then $x^\top x = x_1^2 + x_2^2 + x_3^2$.",
        r"Let $v \in \mathbb{R}^2$. Then $\|v\|^2 = v_1^2 + v_2^2$.",
    ],
)
def test_entries_beside_their_declared_vector_are_no_scalars_apart(text: str) -> None:
    """x_1 is x's first entry: a point giving x and x_1 unrelated values is no witness."""
    assert _one(text).status != "wrong"


@pytest.mark.parametrize(
    "text",
    [
        r"Let $a \in \mathbb{R}^{+}$. Then $\sqrt{a^2} + |a| = 2a$.",
        r"Let $a \in \mathbb{R}^+$. Then $\sqrt{a^2} + |a| = 2a$.",
        r"Let $b \in \mathbb{R}_{+}$. Then $|b| + b = 2b$.",
    ],
)
def test_positive_reals_are_a_number_set_not_an_array_declaration(text: str) -> None:
    assert _one(text).status == "shown"


def test_t_in_positive_reals_abs_is_shown_again() -> None:
    assert _one(r"For $t \in \mathbb{R}^+$: $$|t| = t$$").status == "shown"
    assert _one(r"Let $t \in \mathbb{R}^+$. Then $|t| = t$.").status == "shown"


def test_a_positivity_set_not_read_gives_no_witness() -> None:
    assert _one(r"Let $a \in \mathbb{R}^{>0}$. Then $|a| = a$.").status != "wrong"
    assert _one(r"Let $a \in \mathbb{R}_{\ge 0}$. Then $\sqrt{a^2} = a$.").status != "wrong"


@pytest.mark.parametrize(
    ("text", "false"),
    [
        (r"Let $x \in \mathbb{R}^n$. Then $x \cdot x \ge x_1^2$.", "wrong"),
        (r"Let $x \in \mathbb{R}^n$. Then $x \cdot x = x^2$.", "shown"),
        (r"Let $x \in \mathbb{R}^n$. Then $(x \cdot x)\,x = x^3$.", "shown"),
        (r"Let $x \in \mathbb{R}^n$. Then $x^\top x = x^2$.", "shown"),
        (r"Let $x \in \mathbb{R}^3$. Then $x \times x = x^2$.", "shown"),
        (r"Let $x \in \mathbb{R}^n$. Then $\|x\| = |x|$.", "shown"),
    ],
)
def test_one_vector_is_read_entry_by_entry_only_with_element_wise_arithmetic(text: str, false: str) -> None:
    assert _one(text).status != false


def test_one_vector_read_entry_by_entry_is_shown_but_never_refuted() -> None:
    shown = _one(r"Let $x \in \mathbb{R}^n$. Then $\tanh(x) = \frac{e^{x}-e^{-x}}{e^{x}+e^{-x}}$.")
    assert shown.status == "shown"
    unrefuted = _one(r"Let $x \in \mathbb{R}^n$. Then $2x = x + x + 1$.")
    assert unrefuted.status == "undecided" and unrefuted.witness is None


def test_a_scalar_times_one_vector_is_still_element_wise() -> None:
    mark = _one(r"Let $x \in \mathbb{R}^n$. Then $2 \cdot \tanh(x) = \tanh(x) + \tanh(x)$.")
    assert mark.status == "shown"
