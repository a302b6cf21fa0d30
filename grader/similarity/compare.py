"""Pairs of sheets scored on each signal: what they share beyond what chance shares.

Every signal is a set of features per sheet, each tied to a part: the winnowed
fingerprints of code, the canonical k-grams of formulas, the word shingles of prose, the
wrong-answer groups a student is in.

Code, formulas and prose: a feature that ``df`` of the class's ``N`` sheets hold weighs
``log((N + 1) / df) / log(N + 1)`` (what one student alone writes weighs 1, what everyone
writes nearly 0). A pair shares the weight ``O`` of the features both hold. A sheet of
weight ``M`` would share ``E`` with a sheet drawn at random from the rest of the class (each
feature with the share of the other ``N - 2`` sheets that hold it). The pair's score is
chance-corrected containment, as Cohen's kappa corrects agreement: ``(O - E) / (M - E)``
of the lighter sheet, from 0 (no more than chance) to 1 (all of it): a copy of a whole
sheet scores 1, of half of it about 0.5, and two honest sheets that write the class's
common code share only what chance shares. A sheet with less of its own than
``MIN_WEIGHT`` is divided by that instead, so one shared line cannot make a score of 1.

Wrong answers: one a group of ``df`` students gave weighs ``min(1, 2 / df)`` (nothing
beyond ``cap`` students: the class's common slip). One rare wrong answer in common
happens by chance in a large class: the score is ``(W - 1) / 2`` of the weight ``W`` two
students share, 0.5 for two rare wrong answers in common, 1 from three on.

The pair's score is read part by part (:func:`_by_parts`): each part's chance-corrected
containment above what two sheets of this class share there by chance, the strongest parts
set aside (as many as a null model of the class's size says honest pairs reach by chance:
:func:`set_aside`), one and a half more parts' worth a score of 1. A class under ``CHANCE_FROM`` sheets, or a
sheet of one or two parts, is scored on the chance-corrected containment over all of the
sheet's code, formulas and prose together. The shared wrong answers' score replaces either
where it is higher.

Every pair is scored for a class up to ``ALL_PAIRS_UP_TO`` sheets (numpy products of the
sheets' features, in blocks). A larger class is first cut down to candidate pairs by
MinHash LSH (:mod:`grader.similarity.lsh`) over each sheet's features part by part (a
copied part is the same set in both sheets), and only those are scored.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from grader.similarity.fingerprints import Fingerprint
from grader.similarity.models import SIGNALS, Pair, Passage, SharedAnswer, Signal

ALL_PAIRS_UP_TO = 1_500
TEXT_SIGNALS = ("code", "formulas", "prose")
PART = "part:"  # a channel of one part's features (all its text signals)
# A part's score divides by at least this much weight of the lighter sheet's own (one shared
# feature is not a copied part); above that, what chance gives a part is the class's own level.
PART_FLOOR = 0.5
PART_NOISE = 0.3  # a part's score honest answers reach by chance, in a class too small to tell
PARTS_COPIED = 1.5  # parts copied beyond those set aside (:func:`set_aside`) that make a score of 1
PARTS_FROM = 3  # a sheet of fewer parts that can differ is scored as a whole
CHANCE_PAIRS = 0.05  # honest pairs of a class expected with a part above chance beyond those set aside
# A signal's score divides by at least this much weight of the lighter sheet's own.
MIN_WEIGHT = {"code": 3.0, "formulas": 2.0, "prose": 3.0, "answers": 3.0}
CHANCE_FROM = 20  # sheets the chance is estimated over, at least
SHOWN_FROM = 0.05  # pairs that score below this are left out
_BLOCK = 2048  # features per block of the products


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
    """Students who may share a wrong answer before it is the class's common slip."""
    return max(10, sheets // 50)


def weight(df: int, cap: int) -> float:
    """A wrong answer's weight: ``df`` students gave it."""
    return 0.0 if df > cap or df < 1 else min(1.0, 2.0 / df)


def common_from(sheets: int) -> int:
    """Sheets that hold a text feature when it weighs nothing: the class's common stock."""
    return max(20, sheets // 10)


def rarity(df: int, sheets: int) -> float:
    """A text feature's weight: ``df`` of ``sheets`` hold it; 1 for one sheet's own, 0 from
    :func:`common_from` sheets on."""
    common = common_from(sheets)
    return max(0.0, math.log(common / df) / math.log(common)) if df >= 1 else 0.0


@dataclass
class _Index:
    keys: list[dict[str, set[int]]]  # per sheet: signal -> its feature ids
    df: dict[int, int]
    holders: dict[int, list[int]]
    explained: list[set[int]]
    weights: dict[int, float]  # feature id -> its weight
    own: list[dict[str, float]]  # per sheet: signal -> M (its features' weight)
    chance: list[dict[str, float]]  # per sheet: signal -> sum of w * (df - 1) over its features
    cap: int
    ids: dict[tuple[str, str, int | str], int]  # (signal, part, hash or key) -> feature id


def _index(sheets: Sequence[Sheet], cap: int) -> _Index:
    ids: dict[tuple[str, str, int | str], int] = {}
    keys: list[dict[str, set[int]]] = []
    holders: dict[int, list[int]] = defaultdict(list)
    explained: list[set[int]] = []
    for number, sheet in enumerate(sheets):
        own, mine = _sheet_keys(sheet, ids)
        explained.append(mine)
        for channel, found in own.items():
            for key_id in found if not channel.startswith(PART) else ():
                holders[key_id].append(number)
        keys.append(own)
    df = {key_id: len(students) for key_id, students in holders.items()}
    n = len(sheets)
    weights: dict[int, float] = {}
    for own in keys:
        for signal, found in own.items():
            for k in found:
                if k not in weights and not signal.startswith(PART):
                    weights[k] = weight(df[k], cap) if signal == "answers" else rarity(df[k], n)
    own_weight = [{signal: sum(weights[k] for k in found) for signal, found in own.items()} for own in keys]
    chance = [  # what the sheet's features are held by others: sum of w * (df - 1)
        {
            signal: 0.0 if signal == "answers" else sum(weights[k] * (df[k] - 1) for k in found)
            for signal, found in own.items()
        }
        for own in keys
    ]
    return _Index(keys, df, holders, explained, weights, own_weight, chance, cap, ids)


def _sheet_keys(
    sheet: Sheet, ids: dict[tuple[str, str, int | str], int]
) -> tuple[dict[str, set[int]], set[int]]:
    """A sheet's feature ids by signal, and those its own variant's reference explains."""
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
    for signal in TEXT_SIGNALS:  # each part's features of every text signal: one channel
        for part, prints in sheet.features.get(signal, {}).items():
            channel = own.setdefault(PART + part, set())
            channel.update(ids[(signal, part, fp.hash)] for fp in prints)
    answers = own.setdefault("answers", set())
    for part, (key, _) in sheet.wrong.items():
        answers.add(ids.setdefault(("answers", part, key), len(ids)))
    return own, mine


def score_pairs(
    sheets: Sequence[Sheet],
    *,
    cap: int | None = None,
    all_pairs_up_to: int = ALL_PAIRS_UP_TO,
    shown_from: float = SHOWN_FROM,
) -> list[Pair]:
    """The pairs of sheets with a score of at least ``shown_from`` (of a large class: among
    the candidate pairs), the highest first, with each signal's score."""
    cap = cap if cap is not None else default_cap(len(sheets))
    index = _index(sheets, cap)
    large = len(sheets) > all_pairs_up_to
    first, second, shared = _candidates(sheets, index) if large else _all_pairs(sheets, index)
    scores = {s: _beyond_chance(index, first, second, shared, (s,)) for s in TEXT_SIGNALS}
    scores["answers"] = np.clip((shared["answers"] - 1.0) / (MIN_WEIGHT["answers"] - 1.0), 0.0, 1.0)
    sheet = _beyond_chance(index, first, second, shared, TEXT_SIGNALS)
    by_parts, enough = _by_parts(index, first, second, shared)
    whole = np.maximum(np.where(enough, by_parts, sheet), scores["answers"])
    corpus = np.array([sheet.corpus for sheet in sheets], dtype=bool)
    keep = np.nonzero((whole >= shown_from) & ~(corpus[first] & corpus[second]))[0]
    pairs = []
    for n in keep.tolist():
        i, j = int(first[n]), int(second[n])
        a, b = sheets[i].student, sheets[j].student
        if sheets[i].corpus or (not sheets[j].corpus and b < a):
            a, b = b, a
        signals = {s: Signal(score=round(float(scores[s][n]), 4)) for s in SIGNALS}
        pairs.append(Pair(a=a, b=b, score=round(float(whole[n]), 4), signals=signals))
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    return pairs


_Shared = tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]


def _all_pairs(sheets: Sequence[Sheet], index: _Index) -> _Shared:
    """Every pair's shared weight per signal: products of the sheets' features for the text
    signals (numpy, in blocks of features), the index of wrong answers for the last."""
    n = len(sheets)
    totals = {channel: _products(index, channel, n) for channel in (*TEXT_SIGNALS, *_parts(index))}
    answers = np.zeros((n, n), dtype=np.float64)
    for key_id, students in index.holders.items():
        if not 2 <= len(students) <= index.cap or key_id not in _answer_ids(index, students[0]):
            continue
        for i, j in combinations(students, 2):
            answers[min(i, j), max(i, j)] += index.weights[key_id]
    totals["answers"] = answers
    upper = np.triu(sum(np.abs(t) for t in totals.values()), 1)
    first, second = np.nonzero(upper)
    return first, second, {signal: t[first, second] for signal, t in totals.items()}


def _products(index: _Index, signal: str, n: int) -> np.ndarray:
    columns = sorted({k for own in index.keys for k in own.get(signal, ()) if index.df[k] >= 2})
    totals = np.zeros((n, n), dtype=np.float64)
    column_of = {k: c for c, k in enumerate(columns)}
    for first in range(0, len(columns), _BLOCK):
        block = columns[first : first + _BLOCK]
        matrix = np.zeros((n, len(block)), dtype=np.float32)
        for row, own in enumerate(index.keys):
            cols = [
                c - first
                for k in own.get(signal, ())
                if first <= (c := column_of.get(k, -1)) < first + _BLOCK
            ]
            matrix[row, cols] = 1.0
        weights = np.array([index.weights[k] for k in block], dtype=np.float32)
        totals += (matrix * weights) @ matrix.T
    _take_out_explained(totals, index, column_of)
    return np.triu(totals, 1)


def _answer_ids(index: _Index, sheet: int) -> set[int]:
    return index.keys[sheet].get("answers", set())


def _take_out_explained(totals: np.ndarray, index: _Index, column_of: dict[int, int]) -> None:
    """A feature two sheets both hold from their own variant's reference is no evidence."""
    for key_id in column_of:
        both = [s for s in index.holders[key_id] if key_id in index.explained[s]]
        for i, j in combinations(both, 2):
            totals[i, j] -= index.weights[key_id]
            totals[j, i] -= index.weights[key_id]


def _candidates(sheets: Sequence[Sheet], index: _Index) -> _Shared:
    """The shared weight of the candidate pairs MinHash LSH finds (a large class)."""
    from grader.similarity.lsh import candidate_pairs, max_bucket

    owners, sets = _part_sets(sheets, index)
    channels = (*SIGNALS, *_parts(index))
    found: dict[str, list[float]] = {channel: [] for channel in channels}
    first: list[int] = []
    second: list[int] = []
    for i, j in sorted(candidate_pairs(owners, sets, bucket=max_bucket(len(sheets)))):
        first.append(i)
        second.append(j)
        for channel in channels:
            common = index.keys[i].get(channel, set()) & index.keys[j].get(channel, set())
            common -= index.explained[i] & index.explained[j]
            found[channel].append(sum(index.weights[k] for k in common))
    shared = {signal: np.array(values, dtype=np.float64) for signal, values in found.items()}
    return np.array(first, dtype=np.int64), np.array(second, dtype=np.int64), shared


def _part_sets(sheets: Sequence[Sheet], index: _Index) -> tuple[list[int], list[set[int]]]:
    """Each sheet's features part by part, those others hold too but at most
    :func:`banded_up_to` sheets (a copied part is the same set in the copy and its source; a
    common feature would put the copy in one band with the many honest sheets that hold it)."""
    rare = banded_up_to(len(sheets))
    owners: list[int] = []
    sets: list[set[int]] = []
    for number, sheet in enumerate(sheets):
        for signal, parts in sheet.features.items():
            for part, prints in parts.items():
                keys = {index.ids[(signal, part, fp.hash)] for fp in prints}
                found = {k for k in keys if 2 <= index.df[k] <= rare}
                if found:
                    owners.append(number)
                    sets.append(found)
    return owners, sets


def _parts(index: _Index) -> list[str]:
    return sorted({channel for own in index.keys for channel in own if channel.startswith(PART)})


def _by_parts(
    index: _Index, first: np.ndarray, second: np.ndarray, shared: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """The sheet's parts as evidence, and where it is the pair's score: a class of at least
    ``CHANCE_FROM`` sheets (what chance gives a part is the class's own) and a sheet of at
    least ``PARTS_FROM`` parts that can differ (either sheet has features of its own there:
    two right answers the reference explains cannot), more than are set aside. Each part's
    score beyond chance counts above what two sheets of this class share there by chance
    (:func:`_part_noise`), rescaled to 0..1; the strongest parts are set aside, as many as
    :func:`set_aside` says honest pairs of a class this size reach by chance (one short
    function written the same way, two in a large class); the rest is summed,
    ``PARTS_COPIED`` parts' worth making a score of 1. A copy of every part scores 1, a half
    copy by its copied parts (not their average with the honest half)."""
    scores = []
    can_differ = []
    above = []
    sheets = len(index.keys)
    for channel in _parts(index):
        own, _ = _own(index, (channel,))
        differ = np.maximum(own[first], own[second]) > 0
        part = np.where(differ, _beyond_chance(index, first, second, shared, (channel,)), 0.0)
        noise = _part_noise(part, sheets)
        above.append(float(np.count_nonzero(part > noise)) if noise < 1 else 0.0)
        scores.append(np.clip((part - noise) / max(1.0 - noise, 1e-9), 0.0, 1.0) if noise < 1 else 0 * part)
        can_differ.append(differ)
    if not scores:
        return np.zeros(len(first)), np.zeros(len(first), dtype=bool)
    matrix = np.vstack(scores)
    pairs = sheets * (sheets - 1) / 2  # in a large class, those not scored are above no level
    aside = set_aside([count / pairs for count in above], pairs)
    enough = (np.vstack(can_differ).sum(axis=0) >= max(aside + 1, PARTS_FROM)) & (sheets >= CHANCE_FROM)
    strongest = -np.sort(-matrix, axis=0)[:aside].sum(axis=0)
    return np.minimum(1.0, (matrix.sum(axis=0) - strongest) / PARTS_COPIED), enough


def set_aside(above: Sequence[float], pairs: float) -> int:
    """How many of a pair's strongest parts are no evidence in this class: the fewest ``m``
    such that fewer than ``CHANCE_PAIRS`` of the class's ``pairs`` would have ``m + 1`` parts
    above their chance levels, were each part above its level independently, as a share
    ``above[p]`` of the class's pairs is (a null model of the class's own: a larger class has
    more pairs, each part's level is where one pair in ``2 N`` is above it, so two parts above
    happen to some honest pairs of any class and three to none of 500 or 5,000 sheets)."""
    # at_least[k]: the expected share of pairs with k given parts all above (the elementary
    # symmetric sums of ``above``), by the parts one at a time
    at_least = [1.0] + [0.0] * len(above)
    for share in above:
        for k in range(len(above), 0, -1):
            at_least[k] += at_least[k - 1] * share
    aside = 1
    while aside < len(above) and at_least[aside + 1] * pairs > CHANCE_PAIRS:
        aside += 1
    return aside


def _part_noise(part: np.ndarray, sheets: int) -> float:
    """What a part's score reaches by chance in this class: the score a quarter as many of
    its pairs as it has sheets exceed (one pair in ``2 N`` of all ``N (N - 1) / 2``); below
    ``CHANCE_FROM`` sheets, ``PART_NOISE`` (the explanation's). In a large class only the candidate pairs are
    scored: the highest-scoring pairs of a part, so the estimate is of the same pairs."""
    if sheets < CHANCE_FROM or len(part) == 0:
        return PART_NOISE
    rank = max(1, sheets // 4)
    if rank > len(part):
        return 0.0
    return float(np.partition(part, len(part) - rank)[len(part) - rank])


def banded_up_to(sheets: int) -> int:
    """Sheets that may hold a feature the candidate step bands on (a large class)."""
    return max(20, sheets // 100)


def _own(index: _Index, signals: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    own = np.array([sum(o.get(s, 0.0) for s in signals) for o in index.own])
    chance = np.array([sum(c.get(s, 0.0) for s in signals) for c in index.chance])
    return own, chance


def _beyond_chance(
    index: _Index,
    first: np.ndarray,
    second: np.ndarray,
    shared: dict[str, np.ndarray],
    signals: tuple[str, ...],
) -> np.ndarray:
    """What each pair shares of ``signals`` beyond chance, over the lighter sheet's own. The
    chance is what the lighter sheet shares with a sheet drawn from the rest of the class
    (the pair left out): its features' weight times the share of the other ``N - 2`` sheets
    that hold each, as if the class had at least ``CHANCE_FROM`` others: in a handful of
    sheets, three alike are a ring of copies, not chance)."""
    total = sum(shared[s] for s in signals)
    own, held = _own(index, signals)
    light = np.where(own[first] <= own[second], first, second)
    others = max(len(index.keys) - 2, CHANCE_FROM)
    chance = np.maximum(held[light] - total, 0.0) / others
    floor = max(MIN_WEIGHT.get(s, PART_FLOOR) for s in signals)
    beyond = (total - chance) / np.maximum(own[light] - chance, floor)
    return np.where(total > 0, np.clip(beyond, 0.0, 1.0), 0.0)


def explain(
    pair: Pair, sheets_by_student: dict[str, Sheet], *, cap: int, df: dict[tuple[str, str, int | str], int]
) -> Pair:
    """``pair`` with why: each signal's parts (the weight each shares) and the passages both
    sheets share that at most ``cap`` sheets of the class hold (the class's common stock is
    not highlighted)."""
    sheets = len(sheets_by_student)
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
                    if fp.hash in by_hash and fp.hash not in both and df.get((name, part, fp.hash), 2) <= cap
                ]
                if not matched:
                    continue
                parts[part] = round(
                    sum(rarity(df.get((name, part, a.hash), 2), sheets) for a, _ in matched), 4
                )
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
