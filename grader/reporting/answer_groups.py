"""A part's answers across a class, in groups a TA grades at once.

Auto-graded parts are grouped by proven meaning: every right answer is one group
(the checker showed each equal to the reference: ``σ(x)(1-σ(x))``,
``e^{-x}/(1+e^{-x})^2`` and ``\\sigma(x)\\sigma(-x)``), and wrong answers that
agree at grader's sample points (:func:`grader.reporting.grouping.meaning_key`)
are one group only once the checker shows each equal to the group's first answer
(:func:`grader.engine.same_answer`); an answer it cannot show equal starts its
own group. Code answers are never run here: they are one group when they did the
same on the same trials, each in its own sandbox when it was graded (the outputs
their verdicts keep, :mod:`grader.types.code.outputs`). Unreadable (``invalid``)
answers come first, grouped by their text: that is where a right answer can hide.
``text`` parts are grouped by normalised text, the largest group first and the
answers no one else gave after.

Each wrong group says which known slip of the reference it is, when it is one
(:mod:`grader.hand.misconceptions`).

In a set with parameters each answer is read against its student's own variant: wrong
answers that are the same listed mistake or known slip there are one group across
variants, shown as the formula of the parameters (:mod:`grader.hand.variant_groups`);
any other answer is grouped only with answers to a part defined alike.

An answer a TA grades from the pages of a PDF hand-in (a scan, or a part whose text gives no
answer: status ``manual`` with nothing read) is a ``page`` group of its own: no two students'
pages are the same answer.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from grader.core.parts import PartBase
from grader.core.report import PartResult
from grader.core.verdict import Status
from grader.engine import is_auto_graded, same_answer
from grader.hand.misconceptions import Misconception, identify, mistakes_snippet
from grader.hand.variant_groups import relation
from grader.reporting.grouping import normalised_text
from grader.reporting.stats import key_by_meaning
from grader.types import ANSWER_TYPES
from grader.types.base import OutputsMatcher

WRONG = (Status.INCORRECT, Status.PARTIAL)
# Order of the kinds of group on a TA's page.
KIND_ORDER = ("invalid", "wrong", "error", "text", "page", "correct", "single", "missing")
# Groups of wrong answers with different sample values a spelling is proven against.
MAX_PROOFS_PER_SPELLING = 12


@dataclass(frozen=True)
class GivenAnswer:
    """One student's answer to the part, with its verdict (hand grade included)."""

    folder: str
    student: str
    result: PartResult
    answer: Any  # as handed in (None when blank)
    part: PartBase | None = None  # the part in the student's variant (a set with parameters)
    variant: str | None = None  # that variant's id


@dataclass
class AnswerGroup:
    kind: str  # one of KIND_ORDER
    answer: str  # the group's first answer, as shown
    members: list[GivenAnswer] = field(default_factory=list)
    proven: bool = True  # every member shown equal to the first (or the same text)
    misconception: Misconception | None = None
    variant: str | None = None  # the one variant whose answers these are (a set with parameters)
    formula: Any = None  # a group across variants: its answer as a formula of the parameters
    whose: str | None = None  # a ``page`` group: its one student's folder (in its id, never shown)

    @property
    def id(self) -> str:
        """Stable while the group's first answer and kind stay: what a TA's grade names."""
        within = f"\n{self.variant}" if self.variant is not None else ""
        within += f"\n{self.whose}" if self.whose is not None else ""
        return hashlib.sha256(f"{self.kind}\n{self.answer}{within}".encode()).hexdigest()[:12]

    @property
    def graded(self) -> int:
        return sum(1 for m in self.members if m.result.hand is not None)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "answer": self.answer,
            "count": len(self.members),
            "graded": self.graded,
            "students": [m.folder for m in self.members],
        }
        if self.misconception is not None:
            data["misconception"] = self.misconception.name
            data["as_reference"] = self.misconception.answer
        if self.variant is not None:
            data["variant"] = self.variant
        return data


def answer_groups(
    part: PartBase,
    answers: Sequence[GivenAnswer],
    *,
    mine: bool = True,
    written: Mapping[str, Any] | None = None,
    sealed: Callable[[str], str] | None = None,
) -> list[AnswerGroup]:
    """The groups of one part's answers, in the order a TA should grade them. ``mine``:
    look for the known slip of each wrong group. ``written``: the part as the file writes
    it, in a set with parameters (its mistakes as formulas of the parameters). ``sealed``:
    a student's folder as a ``page`` group's id holds it (the service keys it with its secret,
    so that a TA with the roster cannot tell whose page group an id is)."""
    blank = [a for a in answers if a.result.status is Status.MISSING]
    paged = [a for a in answers if on_pages(a)]
    given = [_own(part, a) for a in answers if a.result.status is not Status.MISSING and not on_pages(a)]
    varied = len(_alike(given)) > 1
    mine = mine and _outputs_matcher(part) is None  # a slip is found by running it: not for code
    if not is_auto_graded(part):
        groups = _text_groups(given)
    else:
        groups = _by_text("invalid", [a for a in given if a.result.auto_status is Status.INVALID])
        wrong = [a for a in given if a.result.auto_status in WRONG]
        groups += _across_variants(wrong, written, mine) if varied else _wrong_groups(part, wrong)
        groups += _by_text("error", [a for a in given if a.result.auto_status is Status.ERROR])
        right = [a for a in given if a.result.auto_status is Status.CORRECT]
        if right:
            groups.append(AnswerGroup("correct", _shown(right[0]), right))
        if mine and not varied:
            for group in groups:
                if group.kind == "wrong":
                    group.misconception = identify(part, group.members[0].answer)
    seal = sealed or str
    groups += [
        AnswerGroup("page", "(on the pages of a PDF)", [_own(part, a)], whose=seal(a.folder)) for a in paged
    ]
    if blank:
        groups.append(AnswerGroup("missing", "", blank))
    return sorted(groups, key=lambda g: (KIND_ORDER.index(g.kind), -len(g.members)))


def on_pages(given: GivenAnswer) -> bool:
    """An answer graded from the pages of a PDF hand-in: left to a TA (``manual``, a TA's grade
    over it or not) with nothing read from it."""
    hand = given.result.hand
    status = hand.base_status if hand is not None and hand.base_status is not None else given.result.status
    blank = given.answer is None or (isinstance(given.answer, str) and not given.answer.strip())
    return status is Status.MANUAL and blank


def _shown(given: GivenAnswer) -> str:
    if isinstance(given.answer, str):
        return given.answer
    return given.result.received or json.dumps(given.answer, default=str)


def _by_text(kind: str, answers: Sequence[GivenAnswer]) -> list[AnswerGroup]:
    """Alike texts, within answers to a part defined alike (in a set with parameters: the
    same text can mean another thing in another variant)."""
    groups: dict[tuple[int, str], AnswerGroup] = {}
    alike = _alike(answers)
    for index, (variant, members) in enumerate(alike.items()):
        for given in members:
            key = (index, normalised_text(_shown(given)))
            if key not in groups:
                groups[key] = AnswerGroup(kind, _shown(given), variant=variant if len(alike) > 1 else None)
            groups[key].members.append(given)
    return list(groups.values())


def _own(part: PartBase, given: GivenAnswer) -> GivenAnswer:
    """The answer with the part it answers (its variant's, else ``part``)."""
    return given if given.part is not None else replace(given, part=part)


def _alike(answers: Sequence[GivenAnswer]) -> dict[str | None, list[GivenAnswer]]:
    """The answers by the part they answer, parts defined alike together (variants whose
    values the part does not use), keyed by the first variant of each."""
    by_object: dict[int, list[GivenAnswer]] = {}  # a variant's answers share its part
    for given in answers:
        by_object.setdefault(id(given.part), []).append(given)
    found: list[tuple[PartBase | None, str | None, list[GivenAnswer]]] = []
    for members in by_object.values():
        part = members[0].part
        home = next((alike for other, _, alike in found if other == part), None)
        if home is None:
            found.append((part, members[0].variant, list(members)))
        else:
            home.extend(members)
    return {variant: members for _, variant, members in found}


def _across_variants(
    answers: Sequence[GivenAnswer], written: Mapping[str, Any] | None, mine: bool
) -> list[AnswerGroup]:
    """Wrong answers to several variants: grouped by meaning within a variant, then the
    groups that are the same listed mistake or known slip in their own variants joined."""
    joined: dict[str, AnswerGroup] = {}
    groups: list[AnswerGroup] = []
    for variant, members in _alike(answers).items():
        part = members[0].part
        assert part is not None  # set by _own
        for group in _wrong_groups(part, members):
            related = relation(part, group.members[0].answer, written, slips=mine)
            if related is None:
                group.variant = variant
                groups.append(group)
                continue
            home = joined.get(related.key)
            if home is None:
                home = joined[related.key] = AnswerGroup(
                    "wrong", related.shown, misconception=related.misconception, formula=related.formula
                )
                groups.append(home)
            home.members.extend(group.members)
    return sorted(groups, key=lambda g: -len(g.members))


def _text_groups(answers: Sequence[GivenAnswer]) -> list[AnswerGroup]:
    groups = _by_text("text", answers)
    for group in groups:
        if len(group.members) == 1:
            group.kind = "single"
    return groups


def _wrong_groups(part: PartBase, answers: Sequence[GivenAnswer]) -> list[AnswerGroup]:
    """Wrong answers by meaning: spellings with the same sample values first, then any two
    groups the checker shows equal (sample values rounded apart can still be one formula).
    A spelling joins a group only once the checker proves it equal to the group's first."""
    spellings = _by_text("wrong", answers)
    if not spellings:
        return []
    keys = key_by_meaning([g.answer for g in spellings], part, part.type)
    candidates: dict[str, list[AnswerGroup]] = {}
    for group, key in zip(spellings, keys, strict=True):
        candidates.setdefault(key, []).append(group)
    groups: list[AnswerGroup] = []
    for same_values in candidates.values():
        groups += _proven_groups(part, same_values, len(same_values))
    groups.sort(key=lambda g: -len(g.members))
    return _proven_groups(part, groups, MAX_PROOFS_PER_SPELLING)


def _proven_groups(part: PartBase, spellings: Sequence[AnswerGroup], tries: int) -> list[AnswerGroup]:
    """``spellings`` merged where the checker shows one equal to an earlier group's first
    answer (trying at most ``tries`` earlier groups, the largest first)."""
    proven: list[AnswerGroup] = []
    for spelling in spellings:
        first = spelling.members[0]
        home = next((g for g in proven[:tries] if _same(part, g.members[0], first)), None)
        if home is None:
            proven.append(spelling)
        else:
            home.members.extend(spelling.members)
    return proven


def _same(part: PartBase, one: GivenAnswer, other: GivenAnswer) -> bool:
    """Shown alike: by what each did when it was graded, for a type that keeps it (code: each
    ran in a sandbox of its own, and nothing runs again here); else by the checker."""
    matcher = _outputs_matcher(part)
    if matcher is not None:
        mine, theirs = one.result.outputs, other.result.outputs
        return mine is not None and theirs is not None and matcher(part, mine, theirs)
    try:
        return same_answer(part, one.answer, other.answer)
    except Exception:  # a checker that fails on the pair proves nothing
        return False


def _outputs_matcher(part: PartBase) -> OutputsMatcher | None:
    answer_type = ANSWER_TYPES.get(part.type)
    return answer_type.alike_by_outputs if answer_type is not None else None


def mistakes_entry(part_id: str, group: AnswerGroup, points: float) -> str | None:
    """A wrong group as a ``mistakes:`` entry for the problem file (the group's answer, the
    TAs' most common comment or its known slip, the share of points they gave), or None
    when there is nothing to say about it yet."""
    if group.kind != "wrong":
        return None
    marks = [m.result.hand for m in group.members if m.result.hand is not None]
    comment = Counter(m.comment for m in marks if m.comment).most_common(1)
    feedback = comment[0][0] if comment else (group.misconception.name if group.misconception else "")
    if not feedback:
        return None
    score = marks[0].points / points if marks and points else 0.0
    if group.formula is not None:  # a group across variants: the slip in the parameters
        return mistakes_snippet(part_id, group.formula, feedback, score)
    if group.variant is not None:  # one variant's numbers would be wrong in every other
        return None
    return mistakes_snippet(part_id, group.members[0].answer, feedback, score)
