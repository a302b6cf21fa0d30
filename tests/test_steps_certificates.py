"""Every step's certificate says exactly what was shown (issue 61, session 14).

A step shown on a bounded window of sizes (vectors and matrices written out at sizes 2 and
3, sums without bounds written out for 1 to 4 terms) is shown by probes only, and its
certificate says which sizes; a step the engine probed says how many points. A list of
dimensions (``2 \\times 3 \\times 4`` where the words are about shapes) is never shown equal
to a reordering of it by commutativity.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.steps import StepMark, check_text

ROOT = Path(__file__).parent.parent


def _marks(text: str) -> list[StepMark]:
    return [s for c in check_text(text, "markdown") for s in c.steps]


def _one(text: str) -> StepMark:
    (mark,) = _marks(text)
    return mark


@pytest.mark.parametrize(
    "text",
    [
        r"$$\mathbf{x}^\top \mathbf{y} = \mathbf{y}^\top \mathbf{x}$$",
        r"$$(AB)^\top = B^\top A^\top$$",
        r"$$\|\mathbf{x}\|^2 = \mathbf{x}^\top \mathbf{x}$$",
        r"$$A\mathbf{x} + A\mathbf{y} = A(\mathbf{x} + \mathbf{y})$$",
        r"$$\mathbf{x}^\top \mathbf{y} = \frac{1}{2}((\mathbf{x}+\mathbf{y})^\top(\mathbf{x}+\mathbf{y})"
        r" - \mathbf{x}^\top\mathbf{x} - \mathbf{y}^\top\mathbf{y})$$",
        r"$$\exp(\mathbf{x}^\top \mathbf{y}) \exp(\mathbf{x}^\top \mathbf{x})"
        r" = \exp(\mathbf{x}^\top (\mathbf{x} + \mathbf{y}))$$",
        r"$$\frac{\mathbf{x}^\top \mathbf{y}}{1 + \|\mathbf{x}\|^2}"
        r" = \frac{\mathbf{y}^\top \mathbf{x}}{1 + \mathbf{x}^\top\mathbf{x}}$$",
    ],
)
def test_arrays_at_sizes_2_and_3_are_probes_that_name_the_sizes(text: str) -> None:
    mark = _one(text)
    assert mark.status == "shown"
    assert mark.certificate is not None
    assert mark.certificate.startswith("probes: equal at sizes 2 and 3 only")
    assert "not a proof for every size" in mark.certificate


@pytest.mark.parametrize(
    "text",
    [
        r"$$(AB)^\top = A^\top B^\top$$",  # false for most matrices: but no size is a witness
        r"$$\mathbf{x}^\top A \mathbf{y} = \mathbf{y}^\top A \mathbf{x}$$",  # true only for symmetric A
        r"$$\|\mathbf{x} + \mathbf{y}\|^2 = \|\mathbf{x}\|^2 + \|\mathbf{y}\|^2$$",
    ],
)
def test_arrays_that_differ_are_never_wrong(text: str) -> None:
    mark = _one(text)
    assert mark.status == "undecided" and mark.witness is None


def test_polynomial_arrays_are_decided_without_sympy() -> None:
    code = (
        "import sys\nfrom grader.steps import check_text\n"
        "m = check_text(r'$$(AB)^\\top \\mathbf{x} = B^\\top A^\\top \\mathbf{x}$$ "
        "$$\\|\\mathbf{x}\\|^2 = \\mathbf{x}^\\top \\mathbf{x}$$', 'markdown')\n"
        "print([s.status for c in m for s in c.steps], 'sympy' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT, timeout=120
    )
    assert out.stdout.strip() == "['shown', 'shown'] False"


@pytest.mark.parametrize(
    ("text", "size"),
    [
        (r"$$\sum_{j=1}^{n} (a_j + b_j) = \sum_{j=1}^{n} a_j + \sum_{j=1}^{n} b_j$$", "n = 1, 2, 3 and 4"),
        (
            r"$$\sum_j x_j^2 = \sum_j x_j \cdot x_j$$",
            "N (the number of terms of a sum written without bounds) = 1, 2, 3 and 4",
        ),
        (
            r"$$\frac{e^{x_1}}{e^{x_1} + e^{x_2} + \dots + e^{x_K}} = "
            r"\frac{1}{1 + e^{(x_2 - x_1)} + \dots + e^{(x_K - x_1)}}$$",
            "K = 3, 4, 5 and 6",
        ),
    ],
)
def test_sums_written_out_for_a_few_sizes_are_probes_that_name_them(text: str, size: str) -> None:
    mark = _one(text)
    assert mark.status == "shown"
    assert mark.certificate is not None
    assert mark.certificate.startswith(f"probes: equal for {size} only")
    assert "not a proof for every size" in mark.certificate


@pytest.mark.parametrize(
    ("text", "certificate"),
    [
        (r"$$\sum_{j=1}^{3} j^2 = 14$$", "exact (the sums written out term by term)"),
        (r"$$\sum_{j=1}^{3} x_j = x_1 + x_2 + x_3$$", "proved (the sums written out term by term)"),
        (r"$$\sum_{k=0}^{2} 2^k y = 7y$$", "proved (the sums written out term by term)"),
    ],
)
def test_sums_with_whole_number_bounds_are_the_sums_themselves(text: str, certificate: str) -> None:
    mark = _one(text)
    assert (mark.status, mark.certificate) == ("shown", certificate)


def test_a_sum_with_whole_number_bounds_that_differs_is_wrong_with_a_witness() -> None:
    mark = _one(r"$$\sum_{j=1}^{3} x_j = x_1 + x_2$$")
    assert mark.status == "wrong" and mark.witness is not None


def test_a_step_the_engine_probed_says_how_many_points() -> None:
    marks = [m for m in _marks(r"$$\max(0, x) - \max(0, -x) = x = |x| \operatorname{sign}(x)$$")]
    probed = [m for m in marks if (m.certificate or "").startswith("probes")]
    for mark in probed:
        assert mark.certificate is not None and "points" in mark.certificate
    assert all(m.certificate != "probes" for m in marks)


SHAPES = [
    # the literal, in a sentence about a shape
    ("The output has shape $2 \\times 3 \\times 4 = 4 \\times 3 \\times 2$.", "undecided"),
    ("The tensor's dimensions: $$3 \\times 5 = 5 \\times 3$$", "undecided"),
    ("The output size is $2 \\times 12 = 4 \\times 6$.", "undecided"),
    ("Let $W \\in \\mathbb{R}^{m \\times n}$. Then $$2 \\times 3 = 3 \\times 2$$", "undecided"),
    # the same dimensions in order: shown, dimension by dimension
    ("The output has shape $2 \\times 3 \\times 4 = 2 \\times 3 \\times 4$.", "shown"),
    ("The feature map: $(32 - 5 + 1) \\times (32 - 5 + 1) \\times 16 = 28 \\times 28 \\times 16$.", "shown"),
    # a count of entries is a product, shapes or not
    ("The tensor has $2 \\times 3 \\times 4 = 24$ entries.", "shown"),
    # different products: different shapes too
    ("The output size is $2 \\times 3 = 3 \\times 3$.", "wrong"),
    # no word about shapes: \times is multiplication
    ("Multiplying, $$2 \\times 3 \\times 4 = 4 \\times 3 \\times 2$$", "shown"),
]


@pytest.mark.parametrize(("text", "status"), SHAPES, ids=[s[0][:40] for s in SHAPES])
def test_a_list_of_dimensions_is_not_shown_by_commutativity(text: str, status: str) -> None:
    marks = [m for m in _marks(text) if "\\times" in m.left]
    (mark,) = marks
    assert mark.status == status, mark.certificate
    if status == "undecided":
        assert mark.certificate is not None and "shape" in mark.certificate
    if status == "shown" and "shape" in text:
        assert mark.certificate is not None and "dimension by dimension" in mark.certificate


def test_cli_json_prints_the_probes_certificates(tmp_path: Path) -> None:
    write_up = tmp_path / "answer.md"
    write_up.write_text(
        "$$\\mathbf{x}^\\top \\mathbf{y} = \\mathbf{y}^\\top \\mathbf{x}$$\n\n"
        "The output has shape $2 \\times 3 \\times 4 = 4 \\times 3 \\times 2$.\n"
    )
    result = CliRunner().invoke(main, ["steps", str(write_up), "--format", "json"])
    assert result.exit_code == 0, result.output
    steps = [s for c in json.loads(result.output)["chains"] for s in c["steps"]]
    assert [s["status"] for s in steps] == ["shown", "undecided"]
    assert steps[0]["certificate"].startswith("probes: equal at sizes 2 and 3 only")
    assert steps[1]["witness"] is None


SIGMOID = "Recall that $\\sigma(x) = \\frac{1}{1 + e^{-x}}$.\n\n"


def test_a_function_the_write_up_defines_shows_a_step_and_the_certificate_names_it() -> None:
    mark = _one(SIGMOID + "$$2 \\cdot \\frac{1}{1 + e^{-2x}} - 1 = 2\\sigma(2x) - 1$$")
    assert mark.status == "shown"
    assert mark.certificate is not None
    assert "sigma(x) = \\frac{1}{1 + e^{-x}} as the write-up defines it on line 1" in mark.certificate


@pytest.mark.parametrize(
    ("text", "at"),
    [
        # wrong with the written definition: wrong, the witness a point where it fails under it
        (SIGMOID + "$$\\frac{1}{1 + e^{x}} = \\sigma(x)$$", {"x"}),
        # a parameter of the definition (k) is the step's own symbol, given a value at the witness
        (
            "The sigmoid $\\sigma(x) = \\frac{1}{1+e^{-kx}}$.\n\n$$\\frac{1}{1 + e^{-x}} = \\sigma(x)$$",
            {"k", "x"},
        ),
        # a prime of a defined function: its derivative, computed
        (SIGMOID + "$$\\sigma'(x) = \\sigma(x)(1 + \\sigma(x))$$", {"x"}),
        # "where sigma is the logistic function": the standard function the words name
        (
            "$$\\sigma(-x) = \\sigma(x)$$ where $\\sigma$ is the logistic function.\n\n"
            "$$1 - \\sigma(x) = \\sigma(x)$$",
            {"x"},
        ),
    ],
)
def test_a_step_under_a_written_definition_is_wrong_with_a_witness_under_it(text: str, at: set[str]) -> None:
    marks = [m for m in _marks(text) if "sigma" in m.right]
    assert marks and marks[-1].status == "wrong" and marks[-1].witness is not None
    assert set(marks[-1].witness.at) == at
    assert "as the write-up defines it on line" in (marks[-1].certificate or "")


@pytest.mark.parametrize(
    "text",
    [
        # a statement with a condition after it is no definition
        "Here $\\sigma(x) = 0$ whenever $x < -A$.\n\n$$0 = \\sigma(5)$$",
        # a definition after the step does not apply to it
        "$$\\frac{1}{1 + e^{-x}} = \\sigma(x)$$\n\nRecall that $\\sigma(x) = \\frac{1}{1 + e^{-x}}$.",
        # circular: the name in its own formula
        "Let $\\sigma(x) = 1 + \\sigma(x - 1)$.\n\n$$3 = 1 + \\sigma(2)$$",
        # piecewise (cases): not read, the name stays undefined
        "Let $\\sigma(x) = \\begin{cases} x & x > 0 \\\\ 0 & x \\le 0 \\end{cases}$.\n\n$$3 = \\sigma(2)$$",
        # inside a condition ("for f(x) = ..."): a case, not a definition
        "The bound holds for $\\sigma(x) = x^2$ only.\n\n$$5 = \\sigma(2)$$",
        # with a condition written in the formula
        "Let $\\sigma(x) = \\frac{1}{x} \\text{ for } x \\neq 0$.\n\n$$3 = \\sigma(2)$$",
        # a prime on a function nowhere defined
        "$$\\sigma(x)(1 + \\sigma(x)) = \\sigma'(x)$$",
        # the logistic named in another item ("(a)" and "(b)" are parts apart)
        "(a) where $\\sigma$ is the sigmoid, $$\\frac{1}{2} = \\sigma(0)$$\n\n(b) $$0 = \\sigma(0)$$",
        # a standard name never guessed from the letter alone
        "$$0 = \\sigma(0)$$",
    ],
)
def test_a_written_function_is_never_a_witness_nor_a_guess(text: str) -> None:
    marks = [m for m in _marks(text) if "sigma" in m.right or "sigma" in m.left]
    assert marks and all(m.status != "wrong" and m.witness is None for m in marks)
    assert marks[-1].status == "undecided"


def test_a_redefinition_replaces_the_definition_before_it() -> None:
    text = "Let $f(x) = x^2$.\n\n$$9 = f(3)$$\n\nNow let $f(x) = x^3$.\n\n$$27 = f(3)$$\n\n$$4 = f(2)$$"
    marks = _marks(text)
    assert [m.status for m in marks] == ["shown", "shown", "wrong"]
    assert marks[2].certificate is not None and "on line 5" in marks[2].certificate


def test_an_engine_decision_is_kept_for_the_same_question() -> None:
    from grader.steps import decide

    text = "$$\\max(0, x) - \\max(0, -x) = x$$"
    decide._DECIDED.clear()
    first = _one(text)
    kept = dict(decide._DECIDED)
    second = _one(text)
    assert first == second
    assert dict(decide._DECIDED) == kept  # asked again: answered from what was kept


@pytest.mark.parametrize("error", ["PoleError", "PolynomialError", "NotImplementedError"])
def test_what_sympy_s_limit_raises_leaves_the_step_undecided(
    monkeypatch: pytest.MonkeyPatch, error: str
) -> None:
    import sympy
    from sympy.core.function import PoleError
    from sympy.polys.polyerrors import PolynomialError

    raised = {"PoleError": PoleError, "PolynomialError": PolynomialError}.get(error, NotImplementedError)

    def limit(*_args: object, **_kwargs: object) -> None:
        raise raised("sympy cannot take this form")

    monkeypatch.setattr(sympy, "limit", limit)
    mark = _one(r"$$\lim_{h \to 0} \frac{(x+h)^2 - x^2}{h} = 2x$$")
    assert mark.status == "undecided" and mark.witness is None
    assert mark.certificate is not None and "internal error" not in mark.certificate


def test_a_limit_sympy_takes_is_shown() -> None:
    mark = _one(r"$$\lim_{h \to 0} \frac{(x+h)^2 - x^2}{h} = 2x$$")
    assert (mark.status, mark.certificate) == ("shown", "proved (the limit as h -> 0 computed symbolically)")


def test_arrays_too_large_to_expand_are_left_undecided_within_limits() -> None:
    import time

    from grader.steps import arrays
    from grader.steps.read import Context

    power = "(A+B)" * 8  # 18 entries, degree 8: millions of terms if expanded
    started = time.process_time()
    assert arrays.shown_at_sizes(power, "(A+B)" * 7 + "(B+A)", Context()) is None
    assert time.process_time() - started < 5.0  # a generous bound: the work is capped, not timed


@pytest.mark.parametrize(
    "conclusion",
    [r"(x+1)^2 = x^2 + 2x + 1", r"\max(0, x) - \max(0, -x) = x"],
)
def test_an_implication_shown_by_its_conclusion_alone_claims_no_more_than_the_conclusion(
    conclusion: str,
) -> None:
    """``P \\implies a = b`` with ``a = b`` true for every value: the step's certificate is the
    conclusion's own (exact stays exact, probes stay probes), said to be about it alone."""
    premise = r"(a+b)^2 = a^2 + 2ab + b^2 = b^2 + 2ab + a^2"
    [mark] = [m for m in _marks(f"$${premise} \\implies {conclusion}$$") if m.relation == "implies"]
    own = _one(f"$${conclusion}$$")
    assert mark.status == own.status == "shown"
    assert mark.certificate == f"the conclusion alone, whatever the premise: {own.certificate}"


@pytest.mark.parametrize(
    ("text", "status"),
    [
        # x > 0 on the whole domain: max(0, x) is x there, its derivative 1
        ("For $x > 0$:\n\n$$\\frac{d}{dx}\\max\\{0, x\\} = 1$$", "shown"),
        ("For $x > 0$:\n\n$$\\frac{d}{dx}\\max\\{0, x\\} = 0$$", "wrong"),
        ("For $x < 0$:\n\n$$\\frac{d}{dx}|x| = -1$$", "shown"),
        # the ReLU's difference quotient: the branch that holds near h = 0, from x's sign
        ("For $x > 0$:\n\n$$\\lim_{h \\to 0} \\frac{\\max\\{0, x+h\\} - \\max\\{0, x\\}}{h} = 1$$", "shown"),
        ("For $x < 0$:\n\n$$\\lim_{h \\to 0} \\frac{\\max\\{0, x+h\\} - \\max\\{0, x\\}}{h} = 0$$", "shown"),
        # no sign stated, or the kink at the point itself: not computed, never wrong
        ("$$\\frac{d}{dx}\\max\\{0, x\\} = 1$$", "undecided"),
        ("$$\\lim_{h \\to 0} \\frac{|h|}{h} = 1$$", "undecided"),
        ("For $x > 0$:\n\n$$\\lim_{h \\to 0} \\frac{\\max\\{0, h\\}}{h} = 1$$", "undecided"),
    ],
)
def test_a_kink_away_from_the_domain_is_differentiated_by_its_branch(text: str, status: str) -> None:
    mark = _one(text)
    assert mark.status == status
    if status == "wrong":
        assert mark.witness is not None and (mark.witness.left, mark.witness.right) == ("1", "0")


@pytest.mark.parametrize(
    "text",
    [
        # a value named in words, not the function: a(1 - a) is a product
        "where $a$ is the sigmoid of $z$:\n\n$$a - a^2 = a(1 - a)$$",
        "where $\\sigma$ is the sigmoid output:\n\n$$\\sigma - \\sigma^2 = \\sigma(1 - \\sigma)$$",
    ],
)
def test_a_value_named_in_words_is_not_a_function(text: str) -> None:
    marks = _marks(text)
    assert len(marks) == 1 and marks[0].status in ("shown", "undecided")  # a product, never a call
    assert "as the write-up defines it" not in (marks[0].certificate or "")


def test_a_definition_that_uses_another_takes_both() -> None:
    text = (
        "Let $\\sigma(z) = \\frac{1}{1+e^{-z}}$ and $L(z) = -\\log \\sigma(z)$.\n\n"
        "$$\\frac{d}{dz} L(z) = \\sigma(z) - 1$$\n\n$$\\frac{d}{dz} L(z) = 1 - \\sigma(z)$$"
    )
    marks = _marks(text)
    assert [m.status for m in marks] == ["shown", "wrong"]
    assert "L(z) = -\\log \\sigma(z) as the write-up defines it on line 1" in (marks[0].certificate or "")


@pytest.mark.parametrize(
    ("text", "status"),
    [
        (
            "$$\\frac{d}{dx}f(x) = \\lim_{\\epsilon \\rightarrow 0} "
            "\\frac{f(x+\\epsilon) - f(x)}{\\epsilon}$$",
            "shown",
        ),
        ("$$\\lim_{h \\to 0} \\frac{g(t+h) - g(t)}{h} = \\frac{d}{dt} g(t)$$", "shown"),
        # not the definition: another variable, a sign, the increment not to 0 (never wrong)
        ("$$\\frac{d}{dz} f(z) = \\lim_{h \\to 0} \\frac{f(x+h) - f(z)}{h}$$", "undecided"),
        ("$$\\frac{d}{dx} f(x) = \\lim_{h \\to 0} \\frac{f(x+h) + f(x)}{h}$$", "undecided"),
        ("$$\\frac{d}{dx} f(x) = \\lim_{h \\to 1} \\frac{f(x+h) - f(x)}{h}$$", "undecided"),
    ],
)
def test_the_definition_of_the_derivative_is_shown_for_any_function(text: str, status: str) -> None:
    mark = _one(text)
    assert mark.status == status and mark.witness is None


def test_a_nesting_of_a_defined_function_that_grows_fast_is_not_put_in() -> None:
    nested = "x"
    for _ in range(30):
        nested = f"f({nested})"
    mark = _one(f"Let $f(x) = x + x + x$.\n\n$$3 = {nested}$$")
    assert mark.status == "undecided" and mark.witness is None


def test_a_defined_letter_is_applied_not_multiplied() -> None:
    # a(2) reads as a times 2 where a is no function; defined, it is the function applied
    text = "Let $a(x) = x^2$ and $k(t) = 3t$.\n\n$$4 = a(2)$$\n\n$$5 = a(2)$$\n\n$$6 = k(2)$$"
    marks = _marks(text)
    assert [m.status for m in marks] == ["shown", "wrong", "shown"]
    assert marks[1].witness is not None and (marks[1].witness.left, marks[1].witness.right) == ("5", "4")


@pytest.mark.parametrize(
    "text",
    [
        # a standard function word that does not end the phrase names no function
        "$\\phi$ is tanh-like, so $$1 + \\phi(0) = 2$$",
        "where $\\psi$ is the ReLU-ish unit, $$1 + \\psi(-1) = 0$$",
        "Here $\\psi$ is the softplus derivative: $$1 + \\psi(0) = \\frac{3}{2}$$",
        "where $\\rho$ is the sigmoid or tanh, $$1 + \\rho(0) = 1$$",
        "Here $\\rho$ is the logistic with slope $k$: $$\\rho(0) + 1 = 1$$",
        # the name is not the sentence's subject
        "The derivative of $\\sigma$ is the sigmoid, so $$1 + \\sigma(0) = 1 + \\log 2$$",
        # a name introduced anew in prose ends the reach of its definition
        "Let $f(x) = x^2$. Now let $f$ be any linear function:\n\n$$f(2) - f(0) = 2f(1) - 2f(0)$$",
        "Let $f(x) = x^2$.\n\nLet $f: \\mathbb{R} \\to \\mathbb{R}$ be linear.\n\n"
        "$$f(2) - f(0) = 2f(1) - 2f(0)$$",
        # an equation or a claim about a defined name is not its definition
        "Let $g(x) = x^2$. We solve $g(x) = 2x$: $$g(x) - 2x = 0 \\iff x(x - 2) = 0$$",
        "Let $u(x) = x^2$. The fixed points satisfy $u(x) = x$, and $$u(2) + 0 = 4$$",
        "Let $u(x) = x^2$.\n\nAt a fixed point, $u(x) = x$.\n\n$$u(2) + 0 = 4$$",
        "Let $v(x) = x^2$. The bound holds for $v(x) = x^3$ too: $$v(2) + 0 = 8$$",
        # a parameter whose range is stated in words: a witness fixing it is no witness
        "Let $\\sigma(x) = \\frac{1}{1+e^{-kx}}$ (the slope $k$ is positive). $$\\sigma(1) > \\frac{1}{2}$$",
        "Let $s(x) = e^{-bx}$, with $b$ a decay rate, positive. $$s(1) + 0 < 1$$",
        # a question heading "Q2." ends a definition's reach; "$f$ is the identity" is a new meaning
        "Q1. Let $f(x) = x^2$.\n\nQ2. $$f(2) + 0 = 2$$",
        "Let $f(x) = x^2$. Here $f$ is the identity. $$f(2) + 0 = 2$$",
    ],
)
def test_an_attack_on_written_definitions_is_never_wrong(text: str) -> None:
    marks = _marks(text)
    assert marks and all(m.status != "wrong" and m.witness is None for m in marks), marks


@pytest.mark.parametrize(
    ("text", "status"),
    [
        # still read: a function word that ends the phrase, a class noun after it, elementwise
        ("Let $\\sigma$ be the sigmoid. $$1 + \\sigma(0) = 2$$", "wrong"),
        ("where $\\phi$ is the tanh function, $$\\phi(0) + 1 = 2$$", "wrong"),
        ("Here $\\psi$ is the ReLU applied elementwise, and $$\\psi(-2) + 1 = 2$$", "wrong"),
        # a definition the words introduce; a redefinition with "now"
        ("Let $f$ be given by $f(x) = x^2$. $$f(3) + 1 = 11$$", "wrong"),
        ("Let $f(x) = x^2$.\n\nNow $f(x) = x^3$, and $$f(2) + 0 = 8$$", "shown"),
        # a parameter: wrong whatever its value (the step fails for every sample of k)
        ("Let $\\sigma(x) = \\frac{1}{1+e^{-kx}}$ (slope $k$ positive). $$\\sigma(0) + 1 = 2$$", "wrong"),
        # a parameter ranged by a stated condition: its witness stands
        ("Let $s(x) = e^{-bx}$. For $b < 0$: $$s(1) + 0 < 1$$", "wrong"),
    ],
)
def test_definitions_the_attacks_leave_are_still_read(text: str, status: str) -> None:
    marks = _marks(text)
    assert [m.status for m in marks] == [status]
    if status == "wrong":
        assert marks[0].witness is not None and "as the write-up defines it" in (marks[0].certificate or "")


@pytest.mark.parametrize(
    "text",
    [
        # the name written anew (with a power, an index): its application is a function's, not
        # a product of a symbol (tau(2) = 2 tau is no identity where tau is a function)
        "Let $\\tau(x) = x^2$. Let $\\tau_0$ be a threshold. $$\\tau(2) + 0 = 2\\tau$$",
        "where $\\sigma$ is the ReLU, and $\\sigma^2$ denotes the noise variance: "
        "$$\\sigma(x - 1) + 0 = \\sigma x - \\sigma$$",
        "Let $h(x) = x^2$.\n\n> Prompt: let $h$ be linear. Show $$h(2) - h(0) = 2h(1) - 2h(0)$$",
    ],
)
def test_a_function_written_anew_is_never_read_as_a_product(text: str) -> None:
    marks = _marks(text)
    assert [m.status for m in marks] == ["undecided"]
    assert "is a function the write-up writes on line" in (marks[0].certificate or "")


def test_a_standard_function_named_in_a_case_ends_where_another_case_opens() -> None:
    text = (
        "If $\\sigma$ is the sigmoid, then $$\\sigma(0) + 0 = \\frac{1}{2}$$\n\n"
        "Otherwise, for the tanh, $$\\sigma(0) + 1 = 1$$"
    )
    assert [m.status for m in _marks(text)] == ["shown", "undecided"]
    # the case goes on over paragraphs until another opens
    text = "When $\\phi$ is ReLU, $$\\phi(-1) + 0 = 0$$\n\n$$\\phi(-1) + 1 = 2$$"
    assert [m.status for m in _marks(text)] == ["shown", "wrong"]


@pytest.mark.parametrize(
    ("text", "status"),
    [
        # R_+ and N hold 0 in some conventions: their sign decides no kink and no limit
        ("For $x \\in \\mathbb{R}_{+}$: $$\\frac{d}{dx}\\max(0, x) + 0 = 1$$", "undecided"),
        ("For $x \\in \\mathbb{R}^+$: $$\\frac{d}{dx}\\max(0, x) + 0 = 1$$", "undecided"),
        ("For $n \\in \\mathbb{N}$: $$\\lim_{k \\to \\infty} \\frac{1}{1+e^{-kn}} = 1$$", "undecided"),
        # a bound stated gives it
        ("For $x > 0$: $$\\frac{d}{dx}\\max(0, x) + 0 = 1$$", "shown"),
        ("For $n \\in \\mathbb{N}$, $n > 0$: $$\\lim_{k \\to \\infty} \\frac{1}{1+e^{-kn}} = 1$$", "shown"),
    ],
)
def test_a_number_set_of_varying_convention_gives_no_sign(text: str, status: str) -> None:
    assert _one(text).status == status


def test_a_definition_after_a_use_on_its_line_applies_from_the_next_line() -> None:
    text = (
        "Let $f(x) = x^2$.\n\nWe have $f(2) + 0 = 4$ and, now let $f(x) = x^3$.\n\n$$f(2) + 0 = 8$$\n\n"
        "We have $g(2) + 0 = 5$ and now let $g(x) = x^2$."
    )
    assert [m.status for m in _marks(text)] == ["shown", "shown", "undecided"]
    # an explanation after the use ("where") is read for it
    assert _one("We have $g(2) + 0 = 5$ where $g(x) = x^2$.").status == "wrong"


def test_a_variable_introduced_in_prose_is_no_function() -> None:
    # "let $x$ be real" ends no definition: x(x + 1) stays a product
    text = "Let $g(x) = x^2$. Let $x$ be real. $$g(x) + x(x+1) = 2x^2 + x$$"
    assert [m.status for m in _marks(text)] == ["shown"]


def test_items_labelled_a_dot_and_b_dot_are_apart() -> None:
    text = (
        "a. $\\sigma$ is the sigmoid: $$\\sigma(0) + 0 = \\frac{1}{2}$$\n\n"
        "b. With the ReLU: $$\\sigma(0) + 0 = 0$$"
    )
    assert [m.status for m in _marks(text)] == ["shown", "undecided"]
