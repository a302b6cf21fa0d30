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

from grader.similarity.compare import SHOWN_FROM, Sheet, default_cap, explain, feature_counts, score_pairs
from grader.similarity.models import Pair
from grader.similarity.sheets import Handout, handout_of, reference_features, sheet_of
from grader.spec import ProblemSet

EXPLAINED = 200  # pairs explained (parts, passages), the highest first
PARALLEL_FROM = 200  # sheets from which ``jobs`` processes read them


@dataclass
class Found:
    pairs: list[Pair]  # the highest first; the first EXPLAINED with parts and passages
    sheets: dict[str, Sheet]
    students: int


def compare_class(  # noqa: PLR0913  (the class, and what else is known of it)
    spec: ProblemSet,
    answers: Mapping[str, Mapping[str, Any]],
    *,
    wrong: Mapping[str, Mapping[str, tuple[str, str]]] | None = None,
    corpus: Mapping[str, Mapping[str, Any]] | None = None,
    explained: int = EXPLAINED,
    all_pairs_up_to: int | None = None,
    own_specs: Mapping[str, ProblemSet] | None = None,
    shown_from: float = SHOWN_FROM,
    jobs: int = 1,
) -> Found:
    """The class's pairs, ranked. ``answers``: each student's answers by part id; ``wrong``:
    their wrong answers by part (:func:`grader.similarity.patterns.wrong_answers`);
    ``corpus``: earlier terms' sheets, compared with this class only; ``own_specs``: in a set
    with parameters, each student's own variant (its reference answers explain what two
    students of one variant share; a student of another variant has no reason to write them).
    ``jobs``: processes that read the sheets' features (forked: not from a threaded server)."""
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
    jobs_given = [
        (student, given, wrong.get(student), own_references(student)) for student, given in answers.items()
    ]
    sheets = _sheets(jobs_given, handout, jobs)
    sheets += [sheet_of(name, given, handout, corpus=True) for name, given in (corpus or {}).items()]
    cap = default_cap(len(sheets))
    options = {} if all_pairs_up_to is None else {"all_pairs_up_to": all_pairs_up_to}
    pairs = score_pairs(sheets, cap=cap, shown_from=shown_from, **options)
    by_student = {s.student: s for s in sheets}
    if explained:
        counts = feature_counts(sheets)
        pairs[:explained] = [explain(p, by_student, cap=cap, df=counts) for p in pairs[:explained]]
    return Found(pairs=pairs, sheets=by_student, students=len(answers))


_Given = tuple[
    str, Mapping[str, Any], Mapping[str, tuple[str, str]] | None, dict[str, dict[str, set[int]]] | None
]
_HANDOUT: list[Handout] = []  # the handout a forked reader process inherits


def _sheets(given: list[_Given], handout: Handout, jobs: int) -> list[Sheet]:
    """Each student's sheet, read in ``jobs`` forked processes for a large class."""
    if jobs <= 1 or len(given) < PARALLEL_FROM:
        return [_sheet(item, handout) for item in given]
    import multiprocessing

    _HANDOUT[:] = [handout]
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            return pool.map(_forked_sheet, given, chunksize=max(1, len(given) // (jobs * 4)))
    finally:
        _HANDOUT.clear()


def _forked_sheet(item: _Given) -> Sheet:
    return _sheet(item, _HANDOUT[0])


def _sheet(item: _Given, handout: Handout) -> Sheet:
    student, given, wrong, references = item
    return sheet_of(student, given, handout, wrong, own_references=references)


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
