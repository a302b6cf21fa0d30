"""Pairs of sheets scored on each signal: shared features, weighted by how rare they are.

Every signal is a set of features per sheet, each tied to a part: the winnowed
fingerprints of code, the canonical k-grams of formulas, the word shingles of prose, the
wrong-answer groups a student is in. A feature that ``df`` sheets of the class share
weighs ``min(1, 2 / df)``, and nothing when more than ``cap`` sheets share it: what two
students alone share is evidence, what a tenth of the class writes is the class's common
stock. A pair's score on a signal is the weight they share over the smaller of their two
weights (a copy of a whole sheet scores 1, of half of it about 0.5), with a floor
(``MIN_WEIGHT``) so that a sheet with almost nothing of its own cannot score high on one
shared line. The pair's score is its strongest signal's.

Every pair is scored for a class up to ``ALL_PAIRS_UP_TO`` sheets (through an index of
the features: pairs that share nothing score 0). A larger class is first cut down to
candidate pairs by MinHash LSH (:mod:`grader.similarity.lsh`) over each sheet's shared
features, and only those are scored.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from grader.similarity.fingerprints import Fingerprint
from grader.similarity.models import SIGNALS, Pair, Passage, SharedAnswer, Signal

ALL_PAIRS_UP_TO = 1_500
# A signal's score is shared weight over max(smaller sheet's weight, this): a sheet with
# less than this much of its own cannot reach 1 on it.
MIN_WEIGHT = {"code": 6.0, "formulas": 6.0, "prose": 6.0, "answers": 3.0}


@dataclass
class Sheet:
    """One student's sheet as the signals see it."""

    student: str
    texts: dict[str, str] = field(default_factory=dict)  # part -> the answer as handed in
    # signal -> part -> features (the handout's already left out)
    features: dict[str, dict[str, list[Fingerprint]]] = field(default_factory=dict)
    # part -> (the wrong-answer group's key, the answer as shown): wrong answers only
    wrong: dict[str, tuple[str, str]] = field(default_factory=dict)
    corpus: bool = False  # an earlier term's sheet: compared with the class, never with itself
    # signal -> part -> hashes of the student's own variant's reference (a set with
    # parameters): a feature two students share is no evidence when both have it from there
    explained: dict[str, dict[str, set[int]]] = field(default_factory=dict)


def default_cap(sheets: int) -> int:
    """Sheets that may share a feature before it is the class's common stock."""
    return max(10, sheets // 50)


def weight(df: int, cap: int) -> float:
    return 0.0 if df > cap or df < 1 else min(1.0, 2.0 / df)


@dataclass
class _Index:
    keys: list[dict[str, set[int]]]  # per sheet: signal -> its feature ids
    df: dict[int, int]
    holders: dict[int, list[int]]
    mass: list[dict[str, float]]
    cap: int
    explained: list[set[int]]


def _index(sheets: Sequence[Sheet], cap: int) -> _Index:
    ids: dict[tuple[str, str, int | str], int] = {}
    keys: list[dict[str, set[int]]] = []
    holders: dict[int, list[int]] = defaultdict(list)
    explained: list[set[int]] = []
    for number, sheet in enumerate(sheets):
        own: dict[str, set[int]] = {}
        mine: set[int] = set()
        for signal, parts in sheet.features.items():
            found = own.setdefault(signal, set())
            reference = sheet.explained.get(signal, {})
            for part, prints in parts.items():
                given = reference.get(part, set())
                for fp in prints:
                    key_id = ids.setdefault((signal, part, fp.hash), len(ids))
                    found.add(key_id)
                    if fp.hash in given:
                        mine.add(key_id)
        explained.append(mine)
        answers = own.setdefault("answers", set())
        for part, (key, _) in sheet.wrong.items():
            answers.add(ids.setdefault(("answers", part, key), len(ids)))
        for found in own.values():
            for key_id in found:
                holders[key_id].append(number)
        keys.append(own)
    df = {key_id: len(students) for key_id, students in holders.items()}
    mass = [{signal: sum(weight(df[k], cap) for k in found) for signal, found in own.items()} for own in keys]
    return _Index(keys, df, holders, mass, cap, explained)


def score_pairs(
    sheets: Sequence[Sheet], *, cap: int | None = None, all_pairs_up_to: int = ALL_PAIRS_UP_TO
) -> list[Pair]:
    """Every pair of sheets with a score above 0 (of a large class: every candidate pair),
    the highest first, with each signal's score and the parts it comes from."""
    cap = cap if cap is not None else default_cap(len(sheets))
    index = _index(sheets, cap)
    shared = _all_pairs(sheets, index) if len(sheets) <= all_pairs_up_to else _candidates(sheets, index)
    pairs = [_pair(sheets, index, i, j, found) for (i, j), found in shared.items()]
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    return pairs


def _all_pairs(sheets: Sequence[Sheet], index: _Index) -> dict[tuple[int, int], dict[str, float]]:
    """Every pair's shared weight per signal, from the index: pairs sharing nothing left out."""
    signal_of = {}
    for own in index.keys:
        for signal, found in own.items():
            for key_id in found:
                signal_of[key_id] = signal
    shared: dict[tuple[int, int], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for key_id, students in index.holders.items():
        if not 2 <= len(students) <= index.cap:
            continue
        w = weight(len(students), index.cap)
        signal = signal_of[key_id]
        for i, j in combinations(students, 2):
            if (sheets[i].corpus and sheets[j].corpus) or (
                key_id in index.explained[i] and key_id in index.explained[j]
            ):
                continue
            shared[(i, j)][signal] += w
    return shared


def _candidates(sheets: Sequence[Sheet], index: _Index) -> dict[tuple[int, int], dict[str, float]]:
    """The shared weight of the candidate pairs MinHash LSH finds (a large class)."""
    from grader.similarity.lsh import candidate_pairs

    cap = index.cap
    rare = [{k for found in own.values() for k in found if 2 <= index.df[k] <= cap} for own in index.keys]
    shared: dict[tuple[int, int], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for i, j in candidate_pairs(rare):
        if sheets[i].corpus and sheets[j].corpus:
            continue
        for signal in SIGNALS:
            common = index.keys[i].get(signal, set()) & index.keys[j].get(signal, set())
            common -= index.explained[i] & index.explained[j]
            total = sum(weight(index.df[k], cap) for k in common)
            if total:
                shared[(i, j)][signal] += total
    return shared


def _pair(sheets: Sequence[Sheet], index: _Index, i: int, j: int, found: dict[str, float]) -> Pair:
    signals: dict[str, Signal] = {}
    for signal in SIGNALS:
        total = found.get(signal, 0.0)
        smaller = min(index.mass[i].get(signal, 0.0), index.mass[j].get(signal, 0.0))
        score = min(1.0, total / max(smaller, MIN_WEIGHT[signal])) if total else 0.0
        signals[signal] = Signal(score=round(score, 4))
    best = max(s.score for s in signals.values())
    a, b = sheets[i].student, sheets[j].student
    if sheets[i].corpus or (not sheets[j].corpus and b < a):
        a, b = b, a
    return Pair(a=a, b=b, score=best, signals=signals)


def explain(
    pair: Pair, sheets_by_student: dict[str, Sheet], *, cap: int, df: dict[tuple[str, str, int | str], int]
) -> Pair:
    """``pair`` with why: each signal's parts and the passages both sheets share."""
    one, other = sheets_by_student[pair.a], sheets_by_student[pair.b]
    signals = {}
    for name, signal in pair.signals.items():
        if signal.score == 0:
            signals[name] = signal
            continue
        parts: dict[str, float] = {}
        passages: list[Passage] = []
        answers: list[SharedAnswer] = []
        if name == "answers":
            for part, (key, shown) in one.wrong.items():
                if other.wrong.get(part, ("", ""))[0] == key:
                    count = df.get(("answers", part, key), 2)
                    parts[part] = round(weight(count, cap), 4)
                    answers.append(SharedAnswer(part=part, answer=shown, students=count))
        else:
            mine = one.features.get(name, {})
            theirs = other.features.get(name, {})
            for part in mine.keys() & theirs.keys():
                by_hash = {fp.hash: fp for fp in theirs[part]}
                both = _explained(one, name, part) & _explained(other, name, part)
                matched = [
                    (fp, by_hash[fp.hash])
                    for fp in mine[part]
                    if fp.hash in by_hash
                    and fp.hash not in both
                    and weight(df.get((name, part, fp.hash), 2), cap) > 0
                ]
                if not matched:
                    continue
                parts[part] = round(sum(weight(df.get((name, part, a.hash), 2), cap) for a, _ in matched), 4)
                passages += _passages(part, matched, one.texts.get(part, ""), other.texts.get(part, ""))
        signals[name] = signal.model_copy(
            update={
                "parts": dict(sorted(parts.items(), key=lambda kv: -kv[1])),
                "passages": passages,
                "answers": answers,
            }
        )
    return pair.model_copy(update={"signals": signals})


def _explained(sheet: Sheet, signal: str, part: str) -> set[int]:
    return sheet.explained.get(signal, {}).get(part, set())


def feature_counts(sheets: Iterable[Sheet]) -> dict[tuple[str, str, int | str], int]:
    """How many sheets hold each feature (signal, part, hash or wrong-answer key)."""
    counts: dict[tuple[str, str, int | str], int] = defaultdict(int)
    for sheet in sheets:
        seen: set[tuple[str, str, int | str]] = set()
        for signal, parts in sheet.features.items():
            for part, prints in parts.items():
                seen.update((signal, part, fp.hash) for fp in prints)
        seen.update(("answers", part, key) for part, (key, _) in sheet.wrong.items())
        for key in seen:
            counts[key] += 1
    return counts


def _passages(
    part: str, matched: list[tuple[Fingerprint, Fingerprint]], text_a: str, text_b: str
) -> list[Passage]:
    """Matched fingerprints joined into passages: overlapping spans in a's text merged, and
    b's spans of the same run with them."""
    matched.sort(key=lambda m: (m[0].start, m[0].end))
    merged: list[list[int]] = []
    for a, b in matched:
        if merged and a.start <= merged[-1][1] + 1:
            last = merged[-1]
            last[1] = max(last[1], a.end)
            last[2] = min(last[2], b.start)
            last[3] = max(last[3], b.end)
        else:
            merged.append([a.start, a.end, b.start, b.end])
    return [
        Passage(
            part=part,
            a_lines=(_line(text_a, s), _line(text_a, max(s, e - 1))),
            b_lines=(_line(text_b, bs), _line(text_b, max(bs, be - 1))),
            a_span=(s, e),
            b_span=(bs, be),
        )
        for s, e, bs, be in merged
    ]


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1
