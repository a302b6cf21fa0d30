"""A step is an exact claim (grader.steps.exactness): certificates say what was shown."""

from __future__ import annotations

from fractions import Fraction

import pytest

from grader.mathlang.parser import parse
from grader.steps import check_text
from grader.steps.exactness import no_value, rounded_decimals, tolerance_only


def _one(text: str):  # type: ignore[no-untyped-def]
    marks = [s for c in check_text(text, "markdown") for s in c.steps]
    assert len(marks) == 1
    return marks[0]


def test_rounded_decimal_is_shown_as_its_rounding() -> None:
    mark = _one(r"$$\sqrt{2} = 1.414$$")
    assert mark.status == "shown"
    assert mark.certificate == "bounded: equal to the rounding of the written decimal 1.414"


@pytest.mark.parametrize(
    "text", [r"$$1 + 10^{-30} = 1$$", r"$$\frac{1000001}{1000000} = 1$$", r"$$x + 10^{-30} = x$$"]
)
def test_tolerance_never_shows_a_step(text: str) -> None:
    mark = _one(text)
    assert mark.status == "wrong" and mark.certificate == "exact"


def test_overlapping_balls_are_probes_not_a_bound() -> None:
    mark = _one(r"$$\sqrt{2}\sqrt{2} = 2$$")
    assert mark.status == "shown" and mark.certificate is not None
    assert mark.certificate.startswith("probes:")


def test_equivalence_witness_names_the_side_with_no_value() -> None:
    mark = _one(r"$$\frac{x^2}{x} = 0 \iff x = 0$$")
    assert mark.status == "wrong" and mark.witness is not None
    assert mark.witness.at == {"x": "0"}
    assert mark.witness.model_dump(by_alias=True)["from"] == "no value"


def test_no_value_only_where_certain() -> None:
    at0 = {"x": Fraction(0)}
    assert no_value(parse("x^2/x"), at0, {})
    assert no_value(parse("log(x)"), at0, {})
    assert not no_value(parse("x + 1"), at0, {})
    assert not no_value(parse("log(x)"), {"x": Fraction(2)}, {})  # not rational, but has a value
    assert not no_value(parse("foo(x)"), at0, {})  # cannot evaluate: not known to have no value


def test_helpers() -> None:
    assert rounded_decimals(r"\frac{1}{3}", "0.333 + x") == ["0.333"]
    assert tolerance_only("interval bound")
    assert tolerance_only("proved: the two differ by the constant 1e-30, within atol 1e-09")
    assert not tolerance_only("proved")
