"""How shapes and values are worded in feedback (grader.mathlang.wording)."""

from __future__ import annotations

import pytest

from grader.mathlang.wording import dims_text, shape_with_article, value_kind, with_article


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("scalar", "a scalar"),
        ("row vector (1×n)", "a row vector (1×n)"),
        ("n-vector", "an n-vector"),  # "en"
        ("d-vector", "a d-vector"),
        ("8-vector", "an 8-vector"),
        ("11-vector", "an 11-vector"),
        ("18×3 matrix", "an 18×3 matrix"),
        ("12-vector", "a 12-vector"),
        ("80-vector", "an 80-vector"),
        ("n×m matrix", "an n×m matrix"),
        ("h×d array", "an h×d array"),
        ("d_v-vector", "a d_v-vector"),
        ("nh-vector", "an nh-vector"),  # read letter by letter
        ("heads-vector", "a heads-vector"),  # read as a word
        ("array", "an array"),
    ],
)
def test_the_article_is_the_one_heard(text: str, expected: str) -> None:
    assert with_article(text) == expected


def test_value_kinds_name_sizes_by_their_dims() -> None:
    names = {5: "n", 7: "m"}
    assert value_kind(()) == "scalar"
    assert value_kind((5,), names=names) == "n-vector"
    assert value_kind((1, 5), row=True, names=names) == "row vector (1×n)"
    assert value_kind((5, 7), names=names) == "n×m matrix"
    assert value_kind((2, 3, 4)) == "2×3×4 array"


def test_declared_shapes_and_array_answers_are_worded_as_they_were() -> None:
    assert shape_with_article(()) == "a number"
    assert shape_with_article((3,)) == "a 3-vector"
    assert shape_with_article((8,)) == "an 8-vector"
    assert shape_with_article((2, 3)) == "a 2×3 matrix"
    assert shape_with_article(("n", "d")) == "an n×d matrix"
    assert dims_text((3,)) == "3 (a vector)"
    assert dims_text((2, 3)) == "2 x 3"
