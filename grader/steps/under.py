"""Steps decided under what the write-up defines beyond functions of one variable: a
recurrence the chain states (:mod:`grader.steps.recurrence`) and entries of vector
functions (:mod:`grader.steps.entries`). Each reading rewrites the step's text and hands it
back to the caller's ``mark_step`` (the decision itself stays in :mod:`grader.steps.decide`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from grader.mathlang.domains import SymbolDomain
from grader.steps import entries
from grader.steps.models import Step, StepMark
from grader.steps.recurrence import free_of, unrolled
from grader.steps.scope import Scope

Marker = Callable[[Step, Scope], StepMark]


def with_recurrence(step: Step, scope: Scope, base: dict[str, Any], mark_step: Marker) -> StepMark | None:
    """A step that unrolls the chain's recurrence (:mod:`grader.steps.recurrence`): decided with
    the rule put in at the earlier indices, shown or wrong as that step is (a witness then
    gives the deepest value and the inputs freely: the rule computes the others, so the
    point is one the recurrence allows); None when there is nothing to unroll or that step is
    undecided (the other readings then try the step as written)."""
    assert scope.recurrence is not None
    name, letter, rule, line = scope.recurrence
    found = unrolled(step.left, step.right, (name, letter, rule))
    if found is None:
        return None
    left, right, used, deepest = found
    base_name = re.sub(r"\\(?:mathbf|boldsymbol|bm)\s*\{\s*\\?([A-Za-z]+)\s*\}", r"\1", name).lstrip("\\")
    # the index a whole number from which every index the step names is 1 or more
    shift = re.search(r"-(\d+)\}$", deepest)
    index = SymbolDomain(integer=True, min=float(int(shift.group(1)) + 1 if shift else 1))
    inner = replace(
        scope, recurrence=None, defined=scope.defined - {base_name}, domains={**scope.domains, letter: index}
    )
    mark = mark_step(step.model_copy(update={"left": left, "right": right}), inner)
    if mark.status == "undecided" or (mark.status == "shown" and not used):
        return None  # shown with nothing put in: the step as written is, without the recurrence
    if mark.status == "wrong" and not free_of(left, right, deepest, scope.context):
        return StepMark(
            **base,
            status="undecided",
            certificate=f"fails with the recurrence (line {line}) put in, but at a value of {deepest} "
            "the recurrence may never reach (the failure depends on it): no witness",
        )
    at = ", ".join(f"{letter} - {k}" if k else letter for k in used)
    said = f"under the recurrence {name}_{{{letter}}} = {rule} (line {line}), put in at {at}"
    if not used:  # wrong with the name at one index only, whatever its value there
        said = f"under the recurrence on line {line}: {deepest} its only value the step holds, free"
    return mark.model_copy(
        update={"left": step.left, "right": step.right, "certificate": f"{mark.certificate} ({said})"}
    )


def with_entries(step: Step, scope: Scope, base: dict[str, Any], mark_step: Marker) -> StepMark | None:
    """A step that takes an entry of a vector function the write-up defines entry by entry
    (:mod:`grader.steps.entries`): decided with the definition put in, the certificate naming
    it; None when nothing is put in, an application is not read, or that step is undecided."""
    arrays = frozenset(scope.shapes)
    sides = [entries.put_in(side, list(scope.entries), arrays) for side in (step.left, step.right)]
    if sides[0] is None or sides[1] is None or not (sides[0][1] or sides[1][1]):
        return None
    used = [d for d in scope.entries if d in sides[0][1] or d in sides[1][1]]
    if any(d[4] == step.line for d in used):
        return None  # the definition itself, or a step on its line: nothing to decide under it
    written = step.model_copy(update={"left": sides[0][0], "right": sides[1][0]})
    mark = mark_step(written, replace(scope, entries=()))
    if mark.status == "undecided":
        return None
    said = "; ".join(
        f"{'' if len(name) == 1 else chr(92)}{name}({vector}){f'_{index}' if index else ''} = {formula} "
        f"as the write-up defines it on line {line}"
        for name, vector, index, formula, line in used
    )
    return mark.model_copy(
        update={"left": step.left, "right": step.right, "certificate": f"{mark.certificate} (under {said})"}
    )


_WHOLE = re.compile(r"^\s*(\\?[A-Za-z]+)\s*(?:\\left\s*)?\((.*?)(?:\\right\s*)?\)\s*$", re.DOTALL)


def with_whole_lists(step: Step, scope: Scope, base: dict[str, Any], mark_step: Marker) -> StepMark | None:
    """``S([1, 2]) = S([2, 3])`` with ``S`` defined entry by entry and lists of one length K
    written out whole: decided entry by entry (k = 1 to K, :func:`with_entries`): shown where
    every entry is, wrong at the first entry wrong (its witness), else None."""
    if step.relation != "=" or not scope.entries:
        return None
    left, right = (_WHOLE.match(text) for text in (step.left, step.right))
    if left is None or right is None or left.group(1) != right.group(1):
        return None
    lists = [entries.listed_items(m.group(2)) for m in (left, right)]
    if lists[0] is None and lists[1] is None:
        return _at_generic_entry(step, scope, base, mark_step)
    if lists[0] is None or lists[1] is None or len(lists[0]) != len(lists[1]):
        return None
    shown: list[StepMark] = []
    for k in range(1, len(lists[0]) + 1):
        at_k = {"left": f"{step.left.strip()}_{{{k}}}", "right": f"{step.right.strip()}_{{{k}}}"}
        mark = with_entries(step.model_copy(update=at_k), scope, base, mark_step)
        if mark is None or mark.status == "undecided":
            return None
        said = f"entry {k} of {len(lists[0])}: {mark.certificate}"
        if mark.status == "wrong":
            return mark.model_copy(update={"left": step.left, "right": step.right, "certificate": said})
        shown.append(mark)
    said = f"entry by entry, each of the {len(shown)}: {shown[0].certificate}"
    return shown[0].model_copy(update={"left": step.left, "right": step.right, "certificate": said})


def _at_generic_entry(step: Step, scope: Scope, base: dict[str, Any], mark_step: Marker) -> StepMark | None:
    """``S(\\mathbf{x} + c) = S(\\mathbf{x})``, the same function defined entry by entry at two
    arguments of the one vector (element-wise arithmetic, :func:`entries.put_in`): two vectors of
    one length are equal when every entry is, so the step is shown when it is at a generic entry
    ``k`` (a fresh letter: every value of it, as any free letter). Never refuted that way: a
    point found at an entry gives no size for the vector (left to the other readings)."""
    at = entries.fresh_index(f"{step.left} {step.right}")
    if at is None:
        return None
    at_k = {"left": f"{step.left.strip()}_{{{at}}}", "right": f"{step.right.strip()}_{{{at}}}"}
    mark = with_entries(step.model_copy(update=at_k), scope, base, mark_step)
    if mark is None or mark.status != "shown":
        return None
    said = f"entry by entry, at a generic entry {at}: {mark.certificate}"
    return mark.model_copy(update={"left": step.left, "right": step.right, "certificate": said})
