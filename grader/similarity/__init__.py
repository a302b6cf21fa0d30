"""Copied work found: pairs of sheets alike in code, write-ups and wrong answers (issue 63).

A pure core: it reads answers as handed in and the class's verdicts, never grades, runs or
writes anything. ``compare_class`` is what the command line and the service call.

- :mod:`~grader.similarity.code`: code as normalised tokens (Python's lexer);
  :mod:`~grader.similarity.fingerprints`: k-grams and winnowing.
- :mod:`~grader.similarity.writing`: formulas on grader's canonical form, prose on shingles.
- :mod:`~grader.similarity.patterns`: wrong answers by proven group, across variants.
- :mod:`~grader.similarity.sheets`: a sheet's features with the handout left out.
- :mod:`~grader.similarity.compare`: the pairs' scores; :mod:`~grader.similarity.lsh`:
  candidate pairs of a large class.
- :mod:`~grader.similarity.page`: the HTML page and the CSV.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from grader.similarity.compare import Sheet, default_cap, explain, feature_counts, score_pairs
from grader.similarity.models import Pair
from grader.similarity.sheets import handout_of, reference_features, sheet_of
from grader.spec import ProblemSet

EXPLAINED = 200  # pairs explained (parts, passages), the highest first


@dataclass
class Found:
    pairs: list[Pair]  # the highest first; the first EXPLAINED with parts and passages
    sheets: dict[str, Sheet]
    students: int


def compare_class(
    spec: ProblemSet,
    answers: Mapping[str, Mapping[str, Any]],
    *,
    wrong: Mapping[str, Mapping[str, tuple[str, str]]] | None = None,
    corpus: Mapping[str, Mapping[str, Any]] | None = None,
    explained: int = EXPLAINED,
    all_pairs_up_to: int | None = None,
    own_specs: Mapping[str, ProblemSet] | None = None,
) -> Found:
    """The class's pairs, ranked. ``answers``: each student's answers by part id; ``wrong``:
    their wrong answers by part (:func:`grader.similarity.patterns.wrong_answers`);
    ``corpus``: earlier terms' sheets, compared with this class only; ``own_specs``: in a set
    with parameters, each student's own variant (its reference answers explain what two
    students of one variant share; a student of another variant has no reason to write them)."""
    varied = bool(spec.parameters)
    handout = handout_of(spec, references=not varied)
    wrong = wrong or {}
    references: dict[int, dict[str, dict[str, set[int]]]] = {}

    def own_references(student: str) -> dict[str, dict[str, set[int]]] | None:
        own = (own_specs or {}).get(student)
        if not varied or own is None:
            return None
        if id(own) not in references:
            references[id(own)] = reference_features(own)
        return references[id(own)]

    for student in answers:
        own_references(student)
    if references:  # what every variant's reference has: as good as handed out
        for signal, parts in _common(list(references.values())).items():
            for part, hashes in parts.items():
                handout.excluded.setdefault(signal, {}).setdefault(part, set()).update(hashes)
    sheets = [
        sheet_of(student, given, handout, wrong.get(student), own_references=own_references(student))
        for student, given in answers.items()
    ]
    sheets += [sheet_of(name, given, handout, corpus=True) for name, given in (corpus or {}).items()]
    cap = default_cap(len(sheets))
    options = {} if all_pairs_up_to is None else {"all_pairs_up_to": all_pairs_up_to}
    pairs = score_pairs(sheets, cap=cap, **options)
    by_student = {s.student: s for s in sheets}
    if explained:
        counts = feature_counts(sheets)
        pairs[:explained] = [explain(p, by_student, cap=cap, df=counts) for p in pairs[:explained]]
    return Found(pairs=pairs, sheets=by_student, students=len(answers))


def _common(found: list[dict[str, dict[str, set[int]]]]) -> dict[str, dict[str, set[int]]]:
    first, *rest = found
    return {
        signal: {
            part: hashes.intersection(*(r.get(signal, {}).get(part, set()) for r in rest))
            for part, hashes in parts.items()
        }
        for signal, parts in first.items()
    }


__all__ = ["Found", "Pair", "Sheet", "compare_class"]
