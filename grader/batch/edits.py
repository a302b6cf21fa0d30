"""A re-run after a problem-file edit: which stored sheets a worker must see again.

A sheet's report is made (grader.engine.grade) from the problem set, the folder's
answers and each part's verdict. Most fields of a part are shown by the report or
its pages too (points, prompts, the reference as the expected answer, the names an
answer is read with...), but a few only decide verdicts (:data:`VERDICT_ONLY_FIELDS`:
tolerances, listed mistakes, a check's limits). When an edit changed nothing else,
the verdicts under the edited parts' new keys that the store lacks are checked first,
once per distinct answer (a worker reads the first sheet that gives it and checks the
edited parts only). Then a sheet whose folder and files are unchanged and whose
verdicts of the edited parts are the same under the old and the new keys (the same
stored text) has the same report and files as a cold run would make: it keeps its
stored report, row and files. Its row loses the meaning keys of the edited parts'
wrong answers (a key is read with the part; the dashboard reads those again). Any
other edit, or a sheet whose verdicts cannot be compared, is graded again as before.

Which problem set a stored sheet was graded with is told by its problem-set key; the
store keeps what it needs of the last two problem sets (:class:`SpecRecord`, sealed
like every entry) under ``meta``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from grader.batch.reading import SubmissionTask, VerdictKey
from grader.batch.store import VerdictStore
from grader.core.integrity import intact, seal
from grader.core.summary import SheetRow
from grader.reading import reading_limits
from grader.spec import ProblemSet

# Fields of a part that only its checks read (the engine's result and the pages never do:
# tests/test_edit_regrade.py checks it for every shipped problem set). A change of any other
# field of the problem file, defaults included, makes every report anew.
VERDICT_ONLY_FIELDS = frozenset({"rtol", "atol", "mistakes", "time_limit", "memory_limit"})
LAST_SPEC, EARLIER_SPEC = "spec", "spec before"  # the store's meta keys


@dataclass(frozen=True)
class SpecRecord:
    """What a re-run needs of the problem set a sheet was graded with."""

    problem: str  # the run's problem digest (rendering, limits, options and the whole problem set)
    view: str  # digest of all of it but the parts' verdict-only fields (see spec_view)
    parts: dict[str, str]  # part address -> its verdict key's part digest

    def text(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def parse(cls, text: str) -> SpecRecord | None:
        try:
            data = json.loads(text)
            parts = {str(address): str(part) for address, part in data["parts"].items()}
            return cls(str(data["problem"]), str(data["view"]), parts)
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


def spec_view(spec: ProblemSet, head: str) -> str:
    """Digest of ``head`` (grader's code, the limits, the rendering options) and of everything
    of the problem set but its parts' verdict-only fields, with the limits a sheet is read under."""
    data = json.loads(spec.model_dump_json())
    for question in data["questions"]:
        question["parts"] = [
            {name: value for name, value in part.items() if name not in VERDICT_ONLY_FIELDS}
            for part in question["parts"]
        ]
    seconds, mebibytes = reading_limits(spec)
    text = f"{head}\nread {seconds!r} {mebibytes}\n{json.dumps(data, sort_keys=True)}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def earlier_specs(store: VerdictStore, current: SpecRecord) -> list[SpecRecord]:
    """The problem sets of the store's last runs other than ``current``, which becomes the last."""
    last, before = _sealed_spec(store, LAST_SPEC), _sealed_spec(store, EARLIER_SPEC)
    if last is None or last.problem != current.problem:
        if last is not None:
            _seal_spec(store, EARLIER_SPEC, last)
        _seal_spec(store, LAST_SPEC, current)
        before = last
    return [spec for spec in (last, before) if spec is not None and spec.problem != current.problem]


def _sealed_spec(store: VerdictStore, name: str) -> SpecRecord | None:
    value = store.meta(name)
    if value is None or " " not in value:
        return None
    mac, text = value.split(" ", 1)
    return SpecRecord.parse(text) if intact(store.key, mac, name, text) else None


def _seal_spec(store: VerdictStore, name: str, spec: SpecRecord) -> None:
    text = spec.text()
    store.set_meta(name, f"{seal(store.key, name, text)} {text}")


@dataclass(frozen=True)
class EditedSheet:
    """A stored sheet graded with an earlier problem set that differs in verdicts only."""

    task: SubmissionTask
    row: SheetRow  # its stored row
    pairs: tuple[tuple[VerdictKey, VerdictKey], ...]  # (earlier key, key now) of each edited part
    edited: frozenset[str]  # the edited parts' addresses


def verdict_pairs(
    answers: dict[str, str], row: SheetRow, earlier: SpecRecord, now: SpecRecord
) -> tuple[tuple[VerdictKey, VerdictKey], ...] | None:
    """(earlier key, key now) of the sheet's answer to each edited part; None when an answer's
    digest is not known (then only a worker can tell)."""
    if earlier.view != now.view or set(earlier.parts) != set(now.parts):
        return None
    if not answers:  # a sheet that could not be read: no part was checked
        return () if row.error else None
    pairs = []
    for address, part in now.parts.items():
        if earlier.parts[address] == part:
            continue
        answer = answers.get(address)
        if answer is None:
            return None
        pairs.append(((earlier.parts[address], answer), (part, answer)))
    return tuple(pairs)


def edited_parts(earlier: SpecRecord, now: SpecRecord) -> frozenset[str]:
    return frozenset(address for address, part in now.parts.items() if earlier.parts.get(address) != part)


def keys_now(sheets: Iterable[EditedSheet]) -> set[VerdictKey]:
    return {new for sheet in sheets for _, new in sheet.pairs}


def checking_once(sheets: Sequence[EditedSheet], known: set[VerdictKey]) -> list[int]:
    """Indices of sheets whose grading checks every verdict now not in ``known`` (at least once:
    the first sheet that gives each)."""
    covered = set(known)
    chosen = []
    for index, sheet in enumerate(sheets):
        new = {key for _, key in sheet.pairs} - covered
        if new:
            chosen.append(index)
            covered |= new
    return chosen


def unmoved(sheet: EditedSheet, blobs: dict[VerdictKey, str]) -> bool:
    """Every verdict of the sheet's edited parts is stored both ways, the same bytes."""
    return all(old in blobs and new in blobs and blobs[old] == blobs[new] for old, new in sheet.pairs)


def without_meanings(row: SheetRow, addresses: frozenset[str]) -> SheetRow:
    """The row without the meaning keys of these parts' answers (read with the part as it was)."""
    notes = {
        index: dataclasses.replace(note, meaning=None) if row.ids[index] in addresses else note
        for index, note in row.notes.items()
    }
    return dataclasses.replace(row, notes=notes)
