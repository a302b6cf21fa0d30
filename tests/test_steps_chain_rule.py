"""Derivatives of functions not defined here, by the chain rule (issue 61, session 18):
``\\frac{d}{dx} f(g(x)) = f'(g(x)) g'(x)`` is shown with each application an unknown, and a
step with such a function is never marked wrong (the function may be one for which it holds).
The table cases are in tests/cases/steps/finding.yaml and corpus.yaml (the rows
``chain-rule-generic-*``); these are the certificates and the attacks."""

from __future__ import annotations

import time

import pytest

from grader.steps import Context, check_text
from grader.steps.chain_rule import generic_sides
from grader.steps.models import StepMark


def _one(text: str, context: Context | None = None) -> StepMark:
    marks = [s for c in check_text(text, "markdown", context) for s in c.steps]
    assert len(marks) == 1, marks
    return marks[0]


def test_the_chain_rule_is_shown_and_says_what_was_read_as_unknowns() -> None:
    mark = _one(r"$$\frac{d}{dx} f(g(x)) = f'(g(x)) g'(x)$$")
    assert mark.status == "shown"
    assert mark.certificate == (
        "proved (functions not defined here left generic (where differentiable), derivatives by the "
        "chain rule; f'(g(x)), g'(x) read as unknowns)"
    )


@pytest.mark.parametrize(
    "math",
    [
        r"\frac{d}{dz} \sigma(wz + b) = w \sigma'(wz + b)",
        r"\frac{\partial}{\partial w} \frac{1}{2}(\sigma(wx+b) - y)^2 = (\sigma(wx+b) - y)\sigma'(wx+b) x",
        r"\frac{d}{dx} \frac{f(x)}{g(x)} = \frac{f'(x) g(x) - f(x) g'(x)}{g(x)^2}",
        r"\frac{d}{dx} \log f(x) = \frac{f'(x)}{f(x)}",
        r"\frac{d}{dx} f(3x^2 + 1) = 6x f'(1 + 3x^2)",
        r"\frac{d}{dx} f'(x) = f''(x)",
        r"\sigma'(wx + b) x = x \sigma'(xw + b)",
    ],
)
def test_generic_derivatives_that_hold_are_shown(math: str) -> None:
    mark = _one(f"$${math}$$")
    assert mark.status == "shown", mark.certificate


@pytest.mark.parametrize(
    "math",
    [
        r"\frac{d}{dx} e^{g(x)} = e^{g(x)}",  # g(x) = x makes it true
        r"\frac{d}{dz} \sigma(wz + b) = \sigma'(wz + b)",  # w = 1
        r"\frac{d}{dx} f(x)^2 = 2 f'(x)",  # f = 1
        r"\frac{d}{dx} f(g(x)) = f'(x) g'(x)",
        r"\frac{d}{dx} f(x) = 0",
        r"2 f'(x) = f'(x) + f(x)",
    ],
)
def test_generic_derivatives_that_fail_are_never_wrong(math: str) -> None:
    mark = _one(f"$${math}$$")
    assert mark.status == "undecided"
    assert mark.witness is None


def test_a_function_the_write_up_defines_is_not_generic() -> None:
    """Under a definition the step is decided with the formula: wrong with a witness."""
    mark = _one(r"Let $f(x) = x^3$. Then $$\frac{d}{dx} f(2x) = 2 f(2x)$$")
    assert mark.status == "wrong"


@pytest.mark.parametrize(
    "texts",
    [
        [r"\frac{d}{dx} f(\mathbf{x})", r"f'(\mathbf{x})"],  # a vector argument
        [r"\frac{d}{dx} f(x, y)", r"f'(x, y)"],  # two arguments
        [r"\frac{d}{dx} f(x)_i", r"f'(x)_i"],  # an entry of a value
        [r"\frac{d}{dx} f''''(x)", r"f'''''(x)"],  # beyond the orders kept
        [r"\frac{d}{dx_j} f(x_j)", r"f'(x_j)"],  # a derivative by an entry
        [r"o_1 + \frac{d}{dx} f(x)", r"o_1 + f'(x)"],  # the fresh names already used
        [r"\frac{d}{dx} f(x", r"f'(x)"],  # a bracket not closed
    ],
)
def test_what_is_not_read_generically(texts: list[str]) -> None:
    assert generic_sides(texts, Context()) is None


def test_a_hostile_nesting_is_left_quickly() -> None:
    deep = "x"
    for _ in range(60):
        deep = f"f({deep})"
    started = time.perf_counter()
    mark = _one(rf"$$\frac{{d}}{{dx}} {deep} = f'(x)$$")
    assert mark.status == "undecided"
    assert time.perf_counter() - started < 10
