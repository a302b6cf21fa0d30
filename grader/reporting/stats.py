"""Class statistics of a batch of reports: what the dashboard and ``grader stats`` show.

Pure: reports in, numbers and groups out (no files, no terminal). Per part: the
mean score, the share of each status, the most common wrong answers grouped by
what they mean (:mod:`grader.reporting.grouping`), and a flag when many
verdicts are ``error`` (a TA should look at the part).

``report_from_dict`` reads back a ``<student>.json`` report (contract section 7)
for ``grader stats``.
"""

from __future__ import annotations

import functools
import statistics
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import chain
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple

from grader.core.parts import PartBase
from grader.core.report import HandMark, PartResult, Report, points_value
from grader.core.summary import WRONG, PartNote, RowMaker, SheetRow
from grader.core.verdict import Status
from grader.reporting.answers import read_context, read_received
from grader.reporting.grouping import meaning_key, normalised_text

# WRONG (grader.core.summary): statuses whose answers are listed as wrong answers; unreadable
# ones first (a right answer written in a form grader cannot read hides there).
# Only this many distinct spellings per part are read as formulas; rarer ones are grouped by text.
MAX_READ_ANSWERS = 50
# Wrong-answer groups kept per part.
MAX_GROUPS = 5
# Feedback messages kept per group.
MAX_FEEDBACK = 3
# Rows sharing their parts taken into the columns together (a chunk's, at most this many).
PENDING_ROWS = 64
# A part is flagged for review when at least this share of its verdicts are errors.
REVIEW_ERROR_SHARE = 0.1

# (answers' received texts, the part or None, the part's type or "") -> one meaning key per text
KeyAnswers = Callable[[Sequence[str], PartBase | None, str], list[str]]


@dataclass(frozen=True)
class AnswerGroup:
    """Wrong answers that mean the same, most common spelling first."""

    answer: str
    count: int
    members: tuple[int, ...]  # indices of the reports that gave it
    spellings: tuple[str, ...]
    feedback: tuple[str, ...]
    statuses: tuple[str, ...]

    def to_dict(self, reports: Sequence[Report]) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "count": self.count,
            "students": [reports[i].student for i in self.members],
            "spellings": list(self.spellings),
            "feedback": list(self.feedback),
            "statuses": list(self.statuses),
        }


@dataclass(frozen=True)
class PartStats:
    id: str
    type: str
    max_score: float
    submissions: int
    mean_score: float
    counts: Mapping[str, int]
    wrong_answers: tuple[AnswerGroup, ...] = ()
    hand_graded: int = 0  # answers a TA graded (or whose verdict a TA overrode)
    to_grade: int = 0  # answers waiting for a TA
    hand_to_review: int = 0  # hand grades kept but flagged (the answer or the verdict changed)
    unreadable: tuple[int, ...] = ()  # reports whose answer could not be read (before any override)

    def share(self, status: Status | str) -> float:
        """The fraction of submissions with this status (0 when there are none)."""
        return self.counts.get(str(status), 0) / self.submissions if self.submissions else 0.0

    @property
    def mean_fraction(self) -> float:
        return self.mean_score / self.max_score if self.max_score else 0.0

    @property
    def by_hand(self) -> bool:
        """Graded by a TA: every answer waits for one (or is missing), so no mean is shown."""
        manual = self.counts.get(Status.MANUAL.value, 0)
        return manual > 0 and manual + self.counts.get(Status.MISSING.value, 0) == self.submissions

    @property
    def needs_review(self) -> bool:
        errors = self.counts.get(Status.ERROR.value, 0)
        return errors > 0 and errors >= REVIEW_ERROR_SHARE * self.submissions

    def to_dict(self, reports: Sequence[Report]) -> dict[str, Any]:
        return {
            "id": self.id,
            "max_score": points_value(self.max_score),
            "submissions": self.submissions,
            "mean_score": round(self.mean_score, 4),
            "correct": round(self.share(Status.CORRECT), 4),
            "missing": round(self.share(Status.MISSING), 4),
            "invalid": round(self.share(Status.INVALID), 4),
            "error": round(self.share(Status.ERROR), 4),
            "counts": dict(self.counts),
            "needs_review": self.needs_review,
            "wrong_answers": [group.to_dict(reports) for group in self.wrong_answers],
            "hand_graded": self.hand_graded,
            "to_grade": self.to_grade,
            "hand_to_review": self.hand_to_review,
            "unreadable": [reports[i].student for i in self.unreadable],
        }


@dataclass(frozen=True)
class BatchStats:
    assignment: str
    max_score: float
    scores: tuple[float, ...]
    parts: tuple[PartStats, ...]
    pending: float = 0.0
    unreadable: tuple[int, ...] = field(default=())  # reports whose answers file could not be read

    @property
    def students(self) -> int:
        return len(self.scores)

    @property
    def mean_score(self) -> float:
        return statistics.fmean(self.scores) if self.scores else 0.0

    @property
    def median_score(self) -> float:
        return statistics.median(self.scores) if self.scores else 0.0

    def to_dict(self, reports: Sequence[Report]) -> dict[str, Any]:
        return {
            "assignment": self.assignment,
            "students": self.students,
            "max_score": points_value(self.max_score),
            "mean_score": round(self.mean_score, 4),
            "median_score": points_value(self.median_score),
            "unreadable_submissions": [reports[i].student for i in self.unreadable],
            "parts": [part.to_dict(reports) for part in self.parts],
        }


@dataclass(frozen=True)
class ParameterValueStats:
    """One part's results among the students whose variant gives a parameter one value."""

    part: str
    parameter: str
    value: str
    students: int
    mean_fraction: float  # mean score over the part's points

    def to_dict(self) -> dict[str, Any]:
        return {
            "part": self.part,
            "parameter": self.parameter,
            "value": self.value,
            "students": self.students,
            "mean_fraction": round(self.mean_fraction, 4),
        }


def parameter_stats(reports: Sequence[Report | SheetRow]) -> list[ParameterValueStats]:
    """Each part's mean score per value of each parameter (is it harder when a is even?), from
    the variant ids the reports (or their summary rows) carry (``a=3,b=1/2``); empty when none
    carries one."""
    fractions: dict[tuple[str, str, str], list[float]] = {}
    for report in reports:
        if report.variant is None:
            continue
        values = [pair.split("=", 1) for pair in report.variant.split(",") if "=" in pair]
        for part_id, score, max_score in _part_scores(report):
            if max_score <= 0:
                continue
            for name, value in values:
                fractions.setdefault((part_id, name, value), []).append(score / max_score)
    return [
        ParameterValueStats(part, name, value, len(found), statistics.fmean(found))
        for (part, name, value), found in sorted(fractions.items(), key=_parameter_order)
    ]


def _part_scores(report: Report | SheetRow) -> Iterable[tuple[str, float, float]]:
    if isinstance(report, SheetRow):
        return zip(report.ids, report.scores, report.max_scores, strict=True)
    return ((part.id, part.score, part.max_score) for part in report.parts)


def _parameter_order(item: tuple[tuple[str, str, str], list[float]]) -> tuple[str, str, float, str]:
    (part, name, value), _ = item
    try:
        number = float(Fraction(value))
    except (ValueError, ZeroDivisionError):
        number = 0.0
    return part, name, number, value


def batch_stats(
    reports: Sequence[Report],
    parts: Mapping[str, PartBase] | None = None,
    key_answers: KeyAnswers | None = None,
) -> BatchStats:
    """Statistics of one assignment's reports; ``parts`` (by id) lets answers be read
    with each part's names, as grader reads them."""
    tally = ClassTally()
    maker = RowMaker()
    for index, report in enumerate(reports):
        tally.add(index, maker.row(report))
    return tally.stats(parts, key_answers)


class WrongAnswer(NamedTuple):
    """A wrong or unreadable answer to a part, as the wrong-answer groups read it."""

    status: Status
    received: str | None
    feedback: str


@dataclass
class _NotedPart:
    """What a part's noted results (wrong answers, TAs' grades) add up to so far."""

    hand_graded: int = 0
    hand_to_review: int = 0
    unreadable: list[int] = field(default_factory=list)
    # The wrong answers by their text, each with its sheet's index, as they came but the
    # first sheet's first; and the texts given as an unreadable answer. The end groups
    # distinct texts, not every answer.
    by_text: dict[str, list[tuple[int, WrongAnswer]]] = field(default_factory=dict)
    invalid: set[str] = field(default_factory=set)
    meanings: dict[str, str] = field(default_factory=dict)  # texts' meaning keys, read by workers

    def add(self, index: int, status: Status, note: PartNote) -> None:
        hand = note.hand
        automatic = status
        if hand is not None:
            self.hand_graded += 1
            if hand.stale or hand.auto_changed:
                self.hand_to_review += 1
            if hand.auto_status is not None:
                automatic = hand.auto_status
        if automatic is Status.INVALID:
            self.unreadable.append(index)
        received = note.received
        if status in WRONG and received is not None:
            given = self.by_text.get(received)
            if given is None:
                self.by_text[received] = [(index, WrongAnswer(status, received, note.feedback))]
                if note.meaning is not None:
                    self.meanings[received] = note.meaning
            else:
                # The same answer mostly gets the same verdict: share it, so the groups' counts
                # at the end compare its texts by identity (no hashing of every answer's feedback).
                last = given[-1][1]
                if last.status is not status or last.feedback != note.feedback:
                    last = WrongAnswer(status, received, note.feedback)
                given.append((index, last))
                if index < given[0][0]:  # the first sheet that gave the text is kept first
                    given[0], given[-1] = given[-1], given[0]
            if status is Status.INVALID:
                self.invalid.add(received)


class ClassTally:
    """A class's statistics built up from its summary rows as they come, in any order: the
    rows' wrong answers and TAs' grades are tallied as each is added, the columns (statuses,
    points) at the end. Index ``i`` is the ``i``-th sheet of the class (the order of the
    dashboard's students); every index from 0 is added once before :meth:`stats`."""

    def __init__(self) -> None:
        self.rows: dict[int, SheetRow] = {}
        self._noted: dict[str, _NotedPart] = {}
        self._groups: dict[tuple[str, ...], _Group] = {}  # by the rows' parts
        self._pending: list[tuple[int, SheetRow]] = []  # rows sharing their ids, not yet in a group

    def __contains__(self, index: int) -> bool:
        return index in self.rows

    def add(self, index: int, row: SheetRow) -> None:
        self.rows[index] = row
        ids, statuses = row.ids, row.statuses
        pending = self._pending
        if pending and (pending[0][1].ids is not ids or len(pending) >= PENDING_ROWS):
            self._flush()  # a chunk's rows share their ids: its columns are taken a chunk at a time
        self._pending.append((index, row))
        for position, note in row.notes.items():
            part_id = ids[position]
            noted = self._noted.get(part_id)
            if noted is None:
                noted = self._noted[part_id] = _NotedPart()
            noted.add(index, statuses[position], note)

    def ordered(self) -> list[SheetRow]:
        return [self.rows[index] for index in range(len(self.rows))]

    def stats(
        self, parts: Mapping[str, PartBase] | None = None, key_answers: KeyAnswers | None = None
    ) -> BatchStats:
        keys = key_answers or key_by_meaning
        rows = self.ordered()
        self._flush()
        columns = _columns(self._groups.values())  # in the order parts first appear
        part_stats = tuple(
            self._part_stats(part_id, column, rows, (parts or {}).get(part_id), keys)
            for part_id, column in columns.items()
        )
        return BatchStats(
            assignment=rows[0].assignment if rows else "",
            max_score=max(map(attrgetter("max_score"), rows), default=0.0),
            scores=tuple(map(attrgetter("score"), rows)),
            parts=part_stats,
            pending=max(map(attrgetter("pending"), rows), default=0.0),
            unreadable=tuple(i for i, r in enumerate(rows) if r.error),
        )

    def _flush(self) -> None:
        """Add the pending rows (sharing their parts) to their group's columns."""
        pending, self._pending = self._pending, []
        if pending:
            ids = pending[0][1].ids
            group = self._groups.get(ids)
            if group is None:
                group = self._groups[ids] = _Group(ids)
            group.add(pending)

    def _part_stats(
        self, part_id: str, column: _Column, rows: Sequence[SheetRow], part: PartBase | None, keys: KeyAnswers
    ) -> PartStats:
        # A pass a status, in C, each item compared by identity first (a third of a Counter's time).
        given = {status: column.statuses.count(status) for status in Status}
        noted = self._noted.get(part_id, _NotedPart())
        type_name = part.type if part is not None else column.first_type(rows, part_id)
        if keys is key_by_meaning and noted.meanings:  # the workers read these answers already
            keys = functools.partial(key_by_meaning, known=noted.meanings)
        return PartStats(
            id=part_id,
            type=type_name,
            max_score=max(column.max_scores, default=0.0),
            submissions=len(column.statuses),
            mean_score=statistics.fmean(column.scores) if column.statuses else 0.0,
            counts={status.value: given[status] for status in Status},
            wrong_answers=tallied_groups(
                noted.by_text,
                noted.invalid,
                part,
                type_name,
                keys,
                {t: g[0][0] for t, g in noted.by_text.items()},
            ),
            hand_graded=noted.hand_graded,
            to_grade=given[Status.MANUAL],
            hand_to_review=noted.hand_to_review,
            unreadable=tuple(sorted(noted.unreadable)),
        )


@dataclass
class _Column:
    """One part's statuses and points over the class (in no particular order), and its largest
    points possible in each group of rows that share their parts."""

    statuses: list[Status] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    max_scores: list[float] = field(default_factory=list)

    def first_type(self, rows: Sequence[SheetRow], part_id: str) -> str:
        """The part's type as the first row that names one gives it."""
        for row in rows:
            if part_id in row.ids:
                found = row.types[row.ids.index(part_id)]
                if found:
                    return found
        return ""


class _Group:
    """The rows with the same parts, kept a column at a time as they come (a chunk at a time):
    each part's statuses and points, and the distinct tuples of points possible, each with
    the first sheet that gave it."""

    def __init__(self, ids: tuple[str, ...]):
        self.ids = ids
        self.first = -1  # the group's first sheet in the class's order
        self.statuses: list[list[Status]] = [[] for _ in ids]  # per part, in the order rows came
        self.scores: list[list[float]] = [[] for _ in ids]
        self.maxima: dict[int, tuple[int, tuple[float, ...]]] = {}  # by id: (first sheet, maxima)

    def add(self, rows: Sequence[tuple[int, SheetRow]]) -> None:
        members = list(map(itemgetter(1), rows))
        # Each part's column extended by the chunk's (a loop in C: 45 parts, 3,000 chunks).
        deque(map(list.extend, self.statuses, zip(*map(attrgetter("statuses"), members), strict=True)), 0)
        deque(map(list.extend, self.scores, zip(*map(attrgetter("scores"), members), strict=True)), 0)
        first = min(map(itemgetter(0), rows))
        if self.first < 0 or first < self.first:
            self.first = first
        maxima = self.maxima
        for index, row in rows:
            known = maxima.get(id(row.max_scores))
            if known is None or index < known[0]:
                maxima[id(row.max_scores)] = (index, row.max_scores)

    def columns(self) -> Iterator[tuple[list[Status], list[float]]]:
        """Each part's statuses and points, in the order of ``ids`` (the group's own lists)."""
        return zip(self.statuses, self.scores, strict=True)

    def best(self) -> list[float]:
        """Each part's largest points possible: the same value, and the same first one of equal
        values, as over every row in the class's order."""
        distinct = [maxima for _, maxima in sorted(self.maxima.values(), key=itemgetter(0))]
        return [max(values) for values in zip(*distinct, strict=True)]


def _columns(groups: Iterable[_Group]) -> dict[str, _Column]:
    """Each part's column, the parts in the order they first appear in the class's order."""
    columns: dict[str, _Column] = {}
    borrowed: set[str] = set()  # parts whose column holds a group's own lists
    for group in sorted(groups, key=attrgetter("first")):
        for part_id, (statuses, scores), best in zip(group.ids, group.columns(), group.best(), strict=True):
            column = columns.get(part_id)
            if column is None:  # the first group to give the part: its lists, copied if extended
                column = columns[part_id] = _Column(statuses, scores, [])
                borrowed.add(part_id)
            else:
                if part_id in borrowed:  # the group keeps its lists as they are
                    column.statuses, column.scores = column.statuses.copy(), column.scores.copy()
                    borrowed.discard(part_id)
                column.statuses.extend(statuses)
                column.scores.extend(scores)
            column.max_scores.append(best)
    return columns


def wrong_answer_groups(
    results: Sequence[tuple[int, WrongAnswer]], part: PartBase | None, type_name: str, keys: KeyAnswers
) -> tuple[AnswerGroup, ...]:
    """The most common unreadable answers to one part, then its most common wrong ones,
    grouped by meaning, largest first."""
    wrong = [(i, r) for i, r in results if r.status in WRONG and r.received is not None]
    if not wrong:
        return ()
    texts = [r.received or "" for _, r in wrong]
    distinct = _distinct(texts)
    key_of_text = dict(zip(distinct, keys(distinct, part, type_name), strict=True))
    grouped: dict[str, list[tuple[int, WrongAnswer]]] = {}
    for index, result in wrong:
        grouped.setdefault(key_of_text[result.received or ""], []).append((index, result))
    ordered = sorted(grouped.values(), key=lambda members: (-len(members), members[0][0]))
    unreadable = [m for m in ordered if any(r.status is Status.INVALID for _, r in m)]
    readable = [m for m in ordered if not any(r.status is Status.INVALID for _, r in m)]
    return tuple(_group(members) for members in unreadable[:MAX_GROUPS] + readable[:MAX_GROUPS])


def tallied_groups(
    by_text: Mapping[str, list[tuple[int, WrongAnswer]]],
    invalid: set[str],
    part: PartBase | None,
    type_name: str,
    keys: KeyAnswers,
    first: Mapping[str, int] | None = None,
) -> tuple[AnswerGroup, ...]:
    """:func:`wrong_answer_groups` of the wrong answers tallied by their text (``by_text``: each
    text's (sheet index, answer), the indices distinct; ``invalid``: the texts some sheet gave
    as an unreadable answer; ``first``: each text's first sheet, when known): the same groups,
    reading each answer only for the groups shown.
    Texts are ranked as there (most given first, then by the first sheet that gave them), and
    so are groups."""
    if not by_text:
        return ()
    if first is None:
        first = {text: min(given, key=itemgetter(0))[0] for text, given in by_text.items()}
    distinct = sorted(by_text, key=lambda text: (-len(by_text[text]), first[text]))
    grouped: dict[str, list[str]] = {}
    for text, key in zip(distinct, keys(distinct, part, type_name), strict=True):
        grouped.setdefault(key, []).append(text)
    sized = [
        (sum(len(by_text[text]) for text in texts), min(first[text] for text in texts), texts)
        for texts in grouped.values()
    ]
    ordered = sorted(sized, key=lambda group: (-group[0], group[1]))
    unreadable = [texts for _, _, texts in ordered if any(text in invalid for text in texts)]
    readable = [texts for _, _, texts in ordered if not any(text in invalid for text in texts)]
    # A group's texts are in the order of distinct: most given first, then the first given, as
    # its spellings are ordered (counted over its members, ties by their order).
    return tuple(
        _group(sorted(chain.from_iterable(by_text[text] for text in texts), key=itemgetter(0)), texts)
        for texts in unreadable[:MAX_GROUPS] + readable[:MAX_GROUPS]
    )


def _distinct(texts: Sequence[str]) -> list[str]:
    """Distinct texts, the most common first."""
    return [text for text, _ in Counter(texts).most_common()]


def _group(members: list[tuple[int, WrongAnswer]], spelled: Sequence[str] | None = None) -> AnswerGroup:
    """The group of ``members`` (in sheet order); ``spelled``: its texts, most common first
    (ties by the first member that gave them), when known."""
    # Counted in C (a group may hold a good part of a large class's answers); each Counter
    # keeps its values in the members' order, which breaks ties as the members' order does.
    answers = list(map(itemgetter(1), members))
    if spelled is None:  # received: never None here
        spelled = [text for text, _ in Counter(map(itemgetter(1), answers)).most_common()]
    given = Counter(map(itemgetter(2), answers))
    given.pop("", None)  # no feedback
    feedback = given.most_common(MAX_FEEDBACK)
    statuses = Counter(map(attrgetter("_value_"), map(itemgetter(0), answers))).most_common()
    return AnswerGroup(
        answer=spelled[0],
        count=len(members),
        members=tuple(map(itemgetter(0), members)),
        spellings=tuple(spelled),
        feedback=tuple(text for text, _ in feedback),
        statuses=tuple(status for status, _ in statuses),
    )


def key_by_meaning(
    texts: Sequence[str], part: PartBase | None, type_name: str = "", known: Mapping[str, str] | None = None
) -> list[str]:
    """Meaning keys for the first MAX_READ_ANSWERS texts (the most common); text keys after.
    ``known``: keys already read (by :func:`meaning_of`, in the workers), by text."""
    context = read_context(part, type_name)
    keys = []
    for rank, text in enumerate(texts):
        key = known.get(text) if known is not None and rank < MAX_READ_ANSWERS else None
        if key is None:
            answer = read_received(text, context) if rank < MAX_READ_ANSWERS else None
            key = meaning_key(answer, part) if answer is not None else "text:" + normalised_text(text)
        keys.append(key)
    return keys


def meaning_of(text: str, part: PartBase | None, type_name: str = "") -> str:
    """The meaning key :func:`key_by_meaning` gives a text it reads."""
    answer = read_received(text, read_context(part, type_name))
    return meaning_key(answer, part) if answer is not None else "text:" + normalised_text(text)


# ---- reading reports back ----------------------------------------------------------


def report_from_dict(data: Mapping[str, Any]) -> Report:
    """A report from its JSON form (contract section 7); raises ValueError when it is not one."""
    try:
        parts = [_part_from_dict(p) for p in data["parts"]]
        return Report(
            assignment=str(data["assignment"]),
            student=str(data["student"]),
            parts=parts,
            warnings=[str(w) for w in data.get("warnings", [])],
            error=data.get("error"),
            variant=str(data["variant"]) if data.get("variant") is not None else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a grader report ({type(exc).__name__}: {exc})") from None


def _part_from_dict(data: Mapping[str, Any]) -> PartResult:
    return PartResult(
        id=str(data["id"]),
        status=Status(data["status"]),
        score=float(data["score"]),
        max_score=float(data["max_score"]),
        feedback=str(data.get("feedback", "")),
        received=data.get("received"),
        expected=data.get("expected"),
        hand=_hand_from_dict(data["hand"]) if isinstance(data.get("hand"), Mapping) else None,
    )


def _to_review(result: PartResult) -> bool:
    return result.hand is not None and (result.hand.stale or result.hand.auto_changed)


def _hand_from_dict(data: Mapping[str, Any]) -> HandMark:
    """What a report's ``hand`` says (contract section 7), as far as statistics need it."""
    overrides = data.get("overrides")
    return HandMark(
        by=str(data.get("by", "")),
        points=float(data.get("points", 0)),
        comment=str(data.get("comment", "")),
        reason=data.get("reason"),
        auto_status=Status(overrides["status"]) if isinstance(overrides, Mapping) else None,
        auto_score=float(overrides.get("score", 0)) if isinstance(overrides, Mapping) else None,
        stale=bool(data.get("stale", False)),
        auto_changed=bool(data.get("auto_changed", False)),
    )
