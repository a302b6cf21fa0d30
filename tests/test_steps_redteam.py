"""Red-team cases for the step marks of session 16 (issue 61): steps the readings of sums over
a size, matrices with dots and convolutions named in words marked falsely before, a true step
marked wrong or a false one shown, each next to its true or false twin."""

from __future__ import annotations

import pytest

from grader.steps import check_text
from grader.steps.arrays import convolved
from grader.steps.models import StepMark


def _one(text: str) -> StepMark:
    marks = [s for c in check_text(text, "markdown") for s in c.steps]
    assert len(marks) == 1, marks
    return marks[0]


_DIAG = (
    r"\begin{bmatrix} x_1 & 0 & \cdots & 0 \\ 0 & x_2 & \cdots & 0 \\ \vdots & \vdots & \ddots & \vdots"
    r" \\ 0 & 0 & \cdots & x_n \end{bmatrix}"
)


@pytest.mark.parametrize(
    "text",
    [
        # equal at every size written out (n = 1 to 4; 3 to 5 for a matrix), false at the next
        r"$$\sum_{i=1}^{n} i^3 = \frac{n^2 (n+1)^2}{4} + (n-1)(n-2)(n-3)(n-4)$$",
        r"$$\sum_{i=1}^{n} i = \frac{n(n+1)}{2} + (n-1)(n-2)(n-3)(n-4)(n-5)(n-6)$$",
        r"$$\sum_{i=1}^{n} x_i = \sum_{i=1}^{n} x_i + (n-1)(n-2)(n-3)(n-4) x_1$$",
        r"$$\sum_{i=1}^{n} 1 = \lfloor n/5 \rfloor + n$$",
        r"$$\sum_{k=1}^{m} k^2 = \frac{m (m+1)(2m+1)}{6} + (m-1)(m-2)(m-3)(m-4) m$$",
        rf"$${_DIAG} = (1 + (n-3)(n-4)(n-5)) {_DIAG}$$",
        # two sizes, equal at the four pairs tried
        r"$$\sum_{i=1}^{m} \sum_{j=1}^{n} (i + j) = \frac{m n (m + n + 2)}{2} + (m-1)(m-2)(n-1)(n-2)(n-3)$$",
        # items elided with dots, written out at n = 3 to 6
        r"$$x_1 + x_2 + \dots + x_n = x_1 + x_2 + \dots + x_n + (n-1)(n-2)(n-3)(n-4)(n-5)(n-6) x_1$$",
    ],
)
def test_a_step_right_at_the_sizes_tried_only_is_not_shown(text: str) -> None:
    mark = _one(text)
    assert mark.status == "undecided"
    assert "a few sizes do not show it for every size" in (mark.certificate or "")


@pytest.mark.parametrize(
    "text",
    [
        r"$$\sum_{i=1}^{n} i^3 = \frac{n^2 (n+1)^2}{4}$$",
        r"$$\sum_{i=1}^{n} i = \frac{n(n+1)}{2}$$",
        r"$$\sum_{k=1}^{m} k^2 = \frac{m (m+1)(2m+1)}{6}$$",
        r"$$\sum_{i=1}^{n} c = n c$$",
        r"$$\sum_{j=0}^{t-1} \beta^j = \frac{1-\beta^t}{1-\beta}$$",
        r"$$\sum_{i=1}^{m} \sum_{j=1}^{n} (i + j) = \frac{m n (m + n + 2)}{2}$$",
    ],
)
def test_a_sum_in_closed_form_is_proved_for_every_size(text: str) -> None:
    mark = _one(text)
    assert mark.status == "shown"
    assert mark.certificate == "proved: the sums summed in closed form, equal for every size"


def test_a_closed_form_off_by_a_power_is_not_proved() -> None:
    mark = _one(r"$$\sum_{j=0}^{t-1} \beta^j = \frac{1-\beta^{t+1}}{1-\beta}$$")
    assert mark.status != "shown"


@pytest.mark.parametrize(
    "text",
    [
        # subscripts computed from the index and the size: x_{n+1-j} at n = 2, j = 1 is x_2
        r"$$\sum_{j=1}^{n} x_{j} = \sum_{j=1}^{n} x_{n+1-j}$$",
        r"$$\sum_{j=1}^{n} x_{j+1} = \sum_{j=2}^{n+1} x_{j}$$",
        r"$$x_{n-1} + \sum_{j=1}^{n-2} x_j = \sum_{j=1}^{n-1} x_{j}$$",
    ],
)
def test_a_true_step_with_computed_subscripts_is_shown(text: str) -> None:
    assert _one(text).status == "shown"


def test_a_shifted_sum_is_still_wrong_with_a_witness() -> None:
    mark = _one(r"$$\sum_{j=1}^{n} x_{j+1} = \sum_{j=1}^{n} x_{j}$$")
    assert mark.status == "wrong"
    assert mark.witness is not None
    at = mark.witness.at
    n = int(at["n"])
    value = {k: int(v) for k, v in at.items()}
    left = sum(value.get(f"x_{j + 1}", 0) for j in range(1, n + 1))
    right = sum(value.get(f"x_{j}", 0) for j in range(1, n + 1))
    assert left != right


def test_a_subscript_twice_the_index_is_never_a_witness() -> None:
    # x_{2j}: entry (2, j) or entry 2j; read as the second, the step is true
    assert _one(r"$$\sum_{j=1}^{2} x_{2j} = x_{2} + x_{4}$$").status == "undecided"


@pytest.mark.parametrize(
    "text",
    [
        "Full convolution with stride 2:\n\n$$[1, 2, 3, 4] * [1, 1] = [1, 5, 4]$$",
        "Valid convolution with dilation 2:\n\n$$[1, 2, 3, 4] * [1, 1] = [4, 6]$$",
        "Valid convolution, padding 1:\n\n$$[1, 2, 3] * [1, 1, 1] = [3, 6, 5]$$",
        # the flip is said of another paragraph's operation
        "Cross-correlation does not flip the kernel.\n\n$$a = a$$\n\nA valid convolution:\n\n"
        "$$[1, 2, 3, 4] * [1, 0, -1] = [2, 2]$$",
    ],
)
def test_a_convolution_the_words_qualify_otherwise_is_not_marked_wrong(text: str) -> None:
    marks = [s for c in check_text(text, "markdown") for s in c.steps if "*" in s.left]
    assert [m.status for m in marks] == ["undecided"]


def test_a_same_convolution_with_an_even_kernel_has_no_single_middle() -> None:
    # numpy keeps [1, 4, 7, 10] of the full [1, 4, 7, 10, 8], MATLAB [4, 7, 10, 8]
    assert convolved("[1, 2, 3, 4] * [1, 2]", "same", True) is None
    assert convolved("[1, 2, 3, 4] * [1, 2, 1]", "same", True) == "[4, 8, 12, 11]"
    text = "Same convolution, the kernel flipped:\n\n$$[1, 2, 3, 4] * [1, 2] = [4, 7, 10, 8]$$"
    assert _one(text).status == "undecided"


def test_a_plain_valid_convolution_is_still_decided() -> None:
    text = "A valid convolution (the kernel is flipped):\n\n$$[1, 2, 3, 4] * [1, 0, -1] = [2, 2]$$"
    assert _one(text).status == "shown"
    text = "A valid convolution (the kernel is flipped):\n\n$$[1, 2, 3, 4] * [1, 0, -1] = [-2, -2]$$"
    assert _one(text).status == "wrong"


def test_a_closed_form_wrong_at_a_size_written_out_is_still_wrong() -> None:
    mark = _one(r"$$1 + 2 + \dots + n = \frac{n(n+1)}{2} + (n-1)(n-2)(n-3)(n-4)$$")
    assert mark.status == "wrong"
    assert mark.witness is not None
    n = int(mark.witness.at["n"])
    assert n * (n + 1) // 2 != n * (n + 1) // 2 + (n - 1) * (n - 2) * (n - 3) * (n - 4)


@pytest.mark.parametrize(
    "text",
    [
        # a property of the entries stated nearby: a point that ignores it is no witness
        "Since $p$ is a probability vector,\n\n$$\\sum_{i=1}^{n} p_i x = x$$",
        "The weights sum to one:\n\n$$\\sum_{i=1}^{n} w_i (x - c) = x - c$$",
        "For $\\mathbf{w}$ a unit vector,\n\n$$\\sum_{i=1}^{n} w_i^2 + 1 = 2$$",
        "Then for the weights with $\\sum_{j=1}^{m} a_j = 1$:\n\n$$\\sum_{j=1}^{m} a_j (y - z) = y - z$$",
        "Let $s = S(\\mathbf{x})$ be the softmax output. The rows of its Jacobian sum to zero:\n\n$$"
        r"\begin{bmatrix} s_1 (1 - s_1) & -s_1 s_2 & \cdots & -s_1 s_n \\ -s_2 s_1 & s_2 (1 - s_2) & \cdots"
        r" & -s_2 s_n \\ \vdots & \vdots & \ddots & \vdots \\ -s_n s_1 & -s_n s_2 & \cdots & s_n (1 - s_n)"
        r" \end{bmatrix} \begin{bmatrix} 1 \\ 1 \\ \vdots \\ 1 \end{bmatrix} = "
        r"\begin{bmatrix} 0 \\ 0 \\ \vdots \\ 0 \end{bmatrix}$$",
    ],
)
def test_a_sum_true_by_a_stated_property_of_its_entries_is_not_wrong(text: str) -> None:
    marks = [s for c in check_text(text, "markdown") for s in c.steps]
    assert marks[-1].status == "undecided"


def test_a_sum_wrong_without_words_is_still_wrong() -> None:
    assert _one(r"$$\sum_{i=1}^{n} p_i x = x$$").status == "wrong"


@pytest.mark.parametrize(
    "text",
    [
        # "same" as plain English, "full" of zeros: no mode named
        "We apply the same convolution (kernel flipped) to a longer signal:\n\n"
        "$$[1, 2, 3, 4] * [1, 1, 1] = [1, 3, 6, 9, 7, 4]$$",
        "The result of a convolution is full of zeros when the kernel is zero (kernel flipped or not):\n\n"
        "$$[1, 2, 3, 4] * [0, 0, 0] = [0, 0]$$",
    ],
)
def test_a_mode_word_that_does_not_name_the_mode_is_not_read(text: str) -> None:
    assert _one(text).status == "undecided"


@pytest.mark.parametrize(
    ("text", "status"),
    [
        (
            "The full convolution of x with the kernel, flipped:\n\n"
            "$$[1, 2, 3] * [1, 1, 1] = [1, 3, 6, 5, 3]$$",
            "shown",
        ),
        (
            "In PyTorch, conv1d computes a cross-correlation, valid mode.\n\n"
            "$$[1, 2, 3, 4] * [1, 0, -1] = [-2, -2]$$",
            "shown",
        ),
        (
            "Same convolution, numpy's mode same, kernel flipped:\n\n"
            "$$[1, 2, 3, 4] * [1, 2, 3] = [4, 10, 16, 18]$$",
            "wrong",
        ),
    ],
)
def test_a_mode_named_beside_the_word_convolution_or_mode_is_read(text: str, status: str) -> None:
    assert _one(text).status == status


def test_a_closed_form_of_a_high_degree_is_not_tried() -> None:
    # summed by sympy this takes about a minute of CPU: a student's line stays under limits
    mark = _one(r"$$\sum_{i=1}^{n} i^{60} (i+1)^{60} = \sum_{i=1}^{n} (i+1)^{60} i^{60}$$")
    assert mark.status == "undecided"
    assert "a few sizes do not show it for every size" in (mark.certificate or "")


@pytest.mark.parametrize(
    "text",
    [
        # x_1 + x_3 + ...: the odd ones? never read as x_1 + x_3 + x_4 + ... + x_n
        r"$$x_1 + x_3 + \dots + x_n = x_1 + x_2 + \dots + x_n$$",
        r"$$[x_1, x_3, \dots, x_n]^\top [y_1, y_3, \dots, y_n] = x_1 y_1 + x_2 y_2 + \dots + x_n y_n$$",
    ],
)
def test_items_elided_after_a_gap_are_not_written_out(text: str) -> None:
    assert _one(text).status == "undecided"


def test_items_after_a_term_of_their_own_are_still_written_out() -> None:
    text = (
        r"$$\frac{e^{x_1}}{e^{x_1} + e^{x_2} + \dots + e^{x_K}} = "
        r"\frac{1}{1 + e^{(x_2 - x_1)} + \dots + e^{(x_K - x_1)}}$$"
    )
    assert _one(text).status == "shown"


def test_a_sum_about_a_mean_the_words_name_is_not_wrong() -> None:
    text = "Let $\\bar{x}$ be the mean of the $x_i$.\n\n$$\\sum_{i=1}^{n} (x_i - \\bar{x}) = 0$$"
    marks = [s for c in check_text(text, "markdown") for s in c.steps]
    assert marks[-1].status == "undecided"
