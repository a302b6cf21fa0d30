"""Which known perturbation of the reference a wrong answer is, when it is one.

From the part's reference, :func:`perturbations` builds the answers of the common
slips: the sign flipped, transposed, a factor 2 or 1/2, a factor of a symbol
(1/n), a term missing, off by one (a number or a dimension), another activation
in place of the right one. A wrong answer *is* a perturbation when the checker
grades it correct against that perturbation as the reference, the way a listed
mistake is matched (:func:`grader.engine.same_answer`): proven, not guessed.
A group of such answers is offered as a ``mistakes:`` entry for the problem file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from grader.core.parts import PartBase
from grader.core.yamlio import dump_readable
from grader.engine import same_answer
from grader.mathlang import ast
from grader.mathlang.errors import MathError
from grader.mathlang.parser import parse
from grader.mathlang.render import to_text

# Activations a student may use in place of one another (names of the math language).
ACTIVATIONS = ("sigmoid", "tanh", "relu", "softplus")
MAX_CANDIDATES = 40  # perturbations tried per answer


@dataclass(frozen=True)
class Misconception:
    name: str  # "sign flipped"
    answer: Any  # the perturbed reference the answer equals


def identify(part: PartBase, answer: Any) -> Misconception | None:
    """The first known perturbation of the reference that ``answer`` is shown equal to."""
    for candidate in list(perturbations(part))[:MAX_CANDIDATES]:
        try:
            if same_answer(part, candidate.answer, answer):
                return candidate
        except Exception:  # a perturbation the checker cannot use is no match
            continue
    return None


def perturbations(part: PartBase) -> Iterator[Misconception]:
    reference = part.answer
    if reference is None or isinstance(reference, bool):
        return
    if part.type == "shape" and isinstance(reference, list | tuple):
        yield from _shape_slips(list(reference))
        return
    if isinstance(reference, int | float):
        yield from _number_slips(Fraction(str(reference)))
        return
    if isinstance(reference, list):
        yield from _array_slips(reference)
        return
    if isinstance(reference, str):
        yield from _formula_slips(part, reference)


def _number_slips(value: Fraction) -> Iterator[Misconception]:
    yield Misconception("sign flipped", _number(-value))
    yield Misconception("a factor 2 too large", _number(2 * value))
    yield Misconception("a factor 2 too small", _number(value / 2))
    yield Misconception("off by one", _number(value + 1))
    yield Misconception("off by one", _number(value - 1))


def _number(value: Fraction) -> int | float | str:
    if value.denominator == 1:
        return int(value)
    return f"{value.numerator}/{value.denominator}"


def _shape_slips(dims: list[Any]) -> Iterator[Misconception]:
    if len(dims) > 1:
        yield Misconception("transposed", list(reversed(dims)))
    for index, dim in enumerate(dims):
        if isinstance(dim, int):
            for step in (1, -1):
                if dim + step > 0:
                    changed = list(dims)
                    changed[index] = dim + step
                    yield Misconception(f"off by one in dimension {index + 1}", changed)


def _array_slips(values: list[Any]) -> Iterator[Misconception]:
    numbers = _map_numbers(values, lambda v: v)
    if numbers is None:
        return
    yield Misconception("sign flipped", _map_numbers(values, lambda v: -v))
    if values and all(isinstance(row, list) for row in values):
        widths = {len(row) for row in values}
        if len(widths) == 1:
            yield Misconception("transposed", [list(column) for column in zip(*values, strict=True)])
    yield Misconception("a factor 2 too large", _map_numbers(values, lambda v: 2 * v))
    yield Misconception("a factor 2 too small", _map_numbers(values, lambda v: v / 2))


def _map_numbers(values: Any, change: Any) -> Any:
    if isinstance(values, list):
        mapped = [_map_numbers(v, change) for v in values]
        return None if any(m is None for m in mapped) else mapped
    if isinstance(values, int | float) and not isinstance(values, bool):
        result = change(Fraction(str(values)))
        return int(result) if result.denominator == 1 else float(result)
    return None


def _formula_slips(part: PartBase, reference: str) -> Iterator[Misconception]:
    symbols = list(getattr(part, "symbols", {}) or {})
    try:
        tree = parse(reference, symbols=symbols)
    except (MathError, ValueError, RecursionError):
        return
    if isinstance(tree, ast.Relation):  # an equation: perturb its right side
        return
    text = to_text(tree)
    yield Misconception("sign flipped", f"-({text})")
    if isinstance(tree, ast.Matrix) or "^T" in text or any(_is_matrix(s) for s in _arrays(part)):
        yield Misconception("transposed", f"({text})^T")
    yield Misconception("a factor 2 too large", f"2*({text})")
    yield Misconception("a factor 2 too small", f"({text})/2")
    for name in sorted(ast.free_names(tree)):
        yield Misconception(f"a factor 1/{name} missing", f"{name}*({text})")
        yield Misconception(f"a factor 1/{name} too many", f"({text})/{name}")
    terms = _terms(tree)
    if len(terms) > 1:
        for index in range(len(terms)):
            kept = [(sign, term) for i, (sign, term) in enumerate(terms) if i != index]
            yield Misconception("a term missing", _joined(kept))
    yield from _activation_swaps(tree)


def _arrays(part: PartBase) -> list[Any]:
    return list((getattr(part, "arrays", None) or {}).values())


def _is_matrix(shape: Any) -> bool:
    return isinstance(shape, tuple | list) and len(shape) == 2


def _terms(node: ast.Node, sign: int = 1) -> list[tuple[int, ast.Node]]:
    """The top-level terms of a sum, with their signs."""
    if isinstance(node, ast.BinOp) and node.op in ("+", "-"):
        right_sign = sign if node.op == "+" else -sign
        return [*_terms(node.left, sign), *_terms(node.right, right_sign)]
    return [(sign, node)]


def _joined(terms: list[tuple[int, ast.Node]]) -> str:
    text = ""
    for sign, term in terms:
        shown = f"({to_text(term)})"
        if not text:
            text = shown if sign > 0 else f"-{shown}"
        else:
            text += f" + {shown}" if sign > 0 else f" - {shown}"
    return text


def _activation_swaps(tree: ast.Node) -> Iterator[Misconception]:
    used = {node.name for node in ast.walk(tree) if isinstance(node, ast.Call) and node.name in ACTIVATIONS}
    text = to_text(tree)
    for name in sorted(used):
        for other in ACTIVATIONS:
            if other != name:
                swapped = re.sub(rf"\b{name}\(", f"{other}(", text)
                yield Misconception(f"the wrong activation ({other} in place of {name})", swapped)


def mistakes_snippet(part_id: str, answer: Any, feedback: str, score: float = 0.0) -> str:
    """A ``mistakes:`` entry to paste under the part in the problem file, so the next
    answer of this group is graded automatically."""
    entry: dict[str, Any] = {"answer": answer, "feedback": feedback or "(what is wrong with it)"}
    if score:
        entry["score"] = round(score, 4)
    body = dump_readable({"mistakes": [entry]})
    return f"# under part {part_id} in the problem file\n{body}"


def described(misconception: Misconception) -> str:
    shown = (
        misconception.answer if isinstance(misconception.answer, str) else json.dumps(misconception.answer)
    )
    return f"{misconception.name}: the reference with this slip is {shown}"
