"""A class's sheets as the signals see them, with the handout left out.

The handout is what every student was given: a code part's starter code (``given``,
``signature``), each part's and question's prompt and title, and the reference answer
(two students who both got it right share it honestly). Its features are taken out of
every sheet's, so an answer that only fills in the template shares nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from grader.similarity.code import code_tokens
from grader.similarity.compare import Sheet
from grader.similarity.fingerprints import Fingerprint, Token, fingerprints, stable_hash
from grader.similarity.writing import formula_features, prose_features
from grader.spec import ProblemSet

CODE_GRAM = 6  # tokens in one code k-gram (inside a statement)
CODE_WINDOW = 2  # winnowing window: a shared passage of 7 tokens is always found


@dataclass
class Handout:
    """The features every student was given, per signal and part, and each part's type."""

    excluded: dict[str, dict[str, set[int]]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)  # part -> "code" or "writing"


MIN_STATEMENT = 3  # tokens of a statement hashed whole (shorter ones are everyone's)
PAIR_WINDOW = 8  # statements apart that still make a pair


def code_prints(text: str) -> list[Fingerprint]:
    """A code answer's features: each statement's normalised tokens whole, each pair of
    statements near each other (within ``PAIR_WINDOW``, in either order), and the winnowed
    k-grams inside a long statement. Statements, blocks and functions put in another order
    match as before; a statement changed in part still matches in the rest. A statement
    alone is often everyone's; the pairs are what makes a sheet its writer's own."""
    found: list[Fingerprint] = []
    statements: list[tuple[int, Fingerprint]] = []
    statement: list[Token] = []
    for token in [*code_tokens(text), Token(";", len(text), len(text))]:
        if token.kind != ";":
            statement.append(token)
            continue
        if len(statement) >= MIN_STATEMENT:
            kinds = "\x1f".join(t.kind for t in statement)
            whole = Fingerprint(stable_hash("s\x1f" + kinds), statement[0].start, statement[-1].end)
            found.append(whole)
            statements.append((whole.hash, whole))
            if len(statement) > CODE_GRAM:
                found += fingerprints(statement, CODE_GRAM, CODE_WINDOW, salt="c\x1f")
        statement = []
    for i, (one, first) in enumerate(statements):
        for other, second in statements[i + 1 : i + 1 + PAIR_WINDOW]:
            if one != other:
                low, high = sorted((one, other))
                span = (first.start, second.end) if first.start <= second.start else (second.start, first.end)
                found.append(Fingerprint(stable_hash(f"p\x1f{low}\x1f{high}"), min(span), max(span)))
    return found


def handout_of(spec: ProblemSet, *, references: bool = True) -> Handout:
    """The handout of a problem set: what :func:`sheet_of` leaves out of every sheet.
    ``references``: the reference answers too (a set without parameters: the same for all)."""
    handout = Handout()
    for address, question, part in spec.iter_parts():
        words = " \n".join(str(t) for t in (question.title, part.title, part.prompt) if t)
        if part.type == "code":
            handout.kinds[address] = "code"
            given = [getattr(part, name, None) for name in ("given", "signature", "answer", "harness")]
            if not references:
                given = given[:2]
            code = {fp.hash for text in given if isinstance(text, str) for fp in code_prints(text)}
            handout.excluded.setdefault("code", {})[address] = code
        else:
            handout.kinds[address] = "writing"
        texts = (words, answer_text(part.answer)) if references else (words,)
        for text in texts:
            handout.excluded.setdefault("formulas", {}).setdefault(address, set()).update(
                fp.hash for fp in formula_features(text)
            )
            handout.excluded.setdefault("prose", {}).setdefault(address, set()).update(
                fp.hash for fp in prose_features(text)
            )
    return handout


def reference_features(own: ProblemSet) -> dict[str, dict[str, set[int]]]:
    """The features of a student's own variant's reference answers, by signal and part: what
    two students of one variant share when both are right (not evidence), but a student of
    another variant has no reason to write."""
    found: dict[str, dict[str, set[int]]] = {}
    for address, _, part in own.iter_parts():
        text = answer_text(part.answer)
        if part.type == "code":
            found.setdefault("code", {})[address] = {fp.hash for fp in code_prints(text)}
            continue
        found.setdefault("formulas", {})[address] = {fp.hash for fp in formula_features(text)}
        found.setdefault("prose", {})[address] = {fp.hash for fp in prose_features(text)}
    return found


def answer_text(answer: Any) -> str:
    """An answer as text: a string as written, a mapping as ``key = value`` lines, a list
    as JSON."""
    if answer is None:
        return ""
    if isinstance(answer, str):
        return answer
    if isinstance(answer, Mapping):
        return "\n".join(f"{key} = {answer_text(value)}" for key, value in answer.items())
    try:
        return json.dumps(answer, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(answer)


def sheet_of(
    student: str,
    answers: Mapping[str, Any],
    handout: Handout,
    wrong: Mapping[str, tuple[str, str]] | None = None,
    *,
    corpus: bool = False,
    own_references: dict[str, dict[str, set[int]]] | None = None,
) -> Sheet:
    """One student's sheet: each answer's features by signal, the handout's left out.
    ``own_references``: the features of the student's own variant's references
    (:func:`reference_features`), kept but marked explained."""
    sheet = Sheet(student=student, wrong=dict(wrong or {}), corpus=corpus, explained=own_references or {})
    for part, answer in answers.items():
        kind = handout.kinds.get(part)
        if kind is None or answer is None:
            continue
        text = answer_text(answer)
        if not text.strip():
            continue
        sheet.texts[part] = text
        if kind == "code":
            found = {"code": code_prints(text)}
        else:
            found = {"formulas": formula_features(text), "prose": prose_features(text)}
        for signal, prints in found.items():
            excluded = handout.excluded.get(signal, {}).get(part, set())
            kept = [fp for fp in prints if fp.hash not in excluded]
            if kept:
                sheet.features.setdefault(signal, {})[part] = kept
    return sheet
