"""Ellipses read where their pattern is unambiguous (grader/steps/ellipsis.py): the readings
themselves; the marks they lead to are rows ``ellipsis: ...`` of tests/cases/steps/finding.yaml."""

from __future__ import annotations

import pytest

from grader.steps import ellipsis


def _written_only(a: str, b: str) -> bool:
    """No identity: a term is the pattern's only when written the same."""
    return False


def _zero(a: str, b: str) -> bool:
    """The checker's identity for the cases here: 0 and e^0 as the pattern's first term."""
    pairs = {("0", "(x_{1}) - x_1"), ("0", "x_{1} - x_1"), ("e^0", "e^{(x_{1} - x_1)}")}
    return (a.replace(" ", ""), b.replace(" ", "")) in {
        (x.replace(" ", ""), y.replace(" ", "")) for x, y in pairs
    }


def test_a_closed_sum_is_a_sum_over_a_fresh_index_from_its_first_term() -> None:
    found = ellipsis.sums_read(r"a_1 + a_2 + \dots + a_n", "", _written_only)
    assert found is not None
    text, exact, said, least = found
    assert text == r"(\sum_{l=1}^{n} (a_{l}))"
    assert exact and said == [r"\sum_{l=1}^{n} (a_{l})"]
    assert least == {"n": 3}  # a_1, a_2 and a_n written: n = 1, 2 is no witness


def test_terms_that_are_sums_and_a_term_of_its_own_before_them() -> None:
    found = ellipsis.sums_read(
        r"1 + \sum_{j=1}^{d} k_{1j} + \sum_{j=1}^{d} k_{2j} + \dots + \sum_{j=1}^{d} k_{nj}",
        "",
        _written_only,
    )
    assert found is not None
    assert found[0].replace(" ", "") == r"1+(\sum_{l=1}^{n}(\sum_{j=1}^{d}k_{lj}))"  # 1 stays a term


def test_a_middle_term_and_an_open_end() -> None:
    closed = ellipsis.sums_read(r"x_1^2 + \dots + x_j^2 + \dots + x_n^2", "", _written_only)
    assert closed is not None and closed[0] == r"(\sum_{l=1}^{n} (x_{l}^2))" and closed[1]
    open_end = ellipsis.sums_read(r"\frac{1}{e^0 + \dots + e^{(x_j - x_1)} + \dots}", "", _zero)
    assert open_end is not None
    assert open_end[0] == r"\frac{1}{(\sum_{l} (e^{(x_{l} - x_1)}))}"
    assert not open_end[1]  # the count is not written: never a witness


@pytest.mark.parametrize(
    "text",
    [
        r"x_1 + x_3 + \dots + x_n",  # the odd ones? not the previous term
        r"x_1 + \dots + y_j + \dots + x_n",  # another name in the middle
        r"0 + 0 + \dots + 1 + \dots + 0",  # no index, no count
        r"x_2 + \dots + x_j + \dots",  # no count and not from 1
        r"2x_1 + 2x_2 + \dots + x_n",  # a pattern that does not continue
        r"a_1 + a_2 + \dots",  # no term after the dots
    ],
)
def test_dots_whose_pattern_is_not_fixed_are_not_read(text: str) -> None:
    assert ellipsis.sums_read(text, "", _written_only) is None


def test_a_list_s_items_are_its_pattern_s_written_or_equal() -> None:
    items = ["0", "x_2 - x_1", "x_3 - x_1", r"\dots", "x_K - x_1"]
    assert ellipsis.list_pattern(items, _zero) == ("x_K - x_1", "K")
    assert ellipsis.list_pattern(items, _written_only) is None  # 0 is x_1 - x_1 only by value
    assert ellipsis.list_pattern(["x_1 + 1", "x_2", r"\dots", "x_K"], _zero) is None
    assert ellipsis.list_pattern(["x_1", "x_3", r"\dots", "x_K"], _zero) is None


DEFINITION = ("S", r"\mathbf{x}", "i", r"e^{\mathbf{x}_i} / \sum_j e^{\mathbf{x}_j}", 3)


def test_a_function_defined_entry_by_entry_of_lists_at_a_generic_entry() -> None:
    left = r"S([x_1, x_2, \dots, x_K]^\top)"
    right = r"S([0, x_2 - x_1, \dots, x_K - x_1])"
    reading = ellipsis.read(left, right, [DEFINITION], _zero)
    assert reading is not None and not reading.exact
    assert reading.left == r"(e^{(x_{k})} / \sum_{j=1}^{K} e^{(x_{j})})"
    assert reading.right == r"(e^{(x_{k} - x_1)} / \sum_{j=1}^{K} e^{(x_{j} - x_1)})"
    assert "generic entry k of the K entries" in reading.said
    assert "transposed" in reading.said
    two_lengths = ellipsis.read(left, r"S([y_1, y_2, \dots, y_N])", [DEFINITION], _zero)
    assert two_lengths is None
    assert ellipsis.read(left, right, [], _zero) is None  # S not defined


def test_a_sum_over_j_inside_a_sum_over_j_is_named() -> None:
    reading = ellipsis.read(
        r"\sum_{j=1}^{d} q_{1j} \left( \sum_{j=1}^{d} k_{1j} + \sum_{j=1}^{d} k_{2j} + \dots + "
        r"\sum_{j=1}^{d} k_{nj} \right)",
        r"\sum_{j=1}^{d} q_{1j} \sum_{i=1}^{n} k_{ij}",
        [],
        _written_only,
    )
    assert reading is not None and "a sum over j inside a sum over j" in reading.why


def test_dots_of_a_column_are_no_sum_s() -> None:
    column = r"\begin{bmatrix} a_1 \\ \vdots \\ a_N \end{bmatrix}"
    assert not ellipsis.has_dots(column)
    assert ellipsis.read(column, column, [], _written_only) is None


def test_put_gives_an_index_its_value_in_subscripts_and_elsewhere() -> None:
    assert ellipsis.put(r"\sum_{j=1}^{d} k_{nj}", "n", "3") == r"\sum_{j=1}^{d} k_{3j}"
    assert ellipsis.put("x_n + n", "n", "2") == "x_{2} + (2)"


def test_an_item_with_the_definition_s_bound_letter_is_not_read() -> None:
    left = r"S([x_1 + j, x_2 + j, \dots, x_K + j])"
    right = r"S([x_1, x_2, \dots, x_K])"
    assert ellipsis.read(left, right, [DEFINITION], _zero) is None  # j would be the sum's index
