"""What a student's code did when it was graded, as its verdict keeps it: for TAs' groups.

Two code answers are one group when they did the same on the same trials, each in its
own sandbox when it was graded (:func:`alike`): grouping never runs code, and never
runs one student's code beside another's. The record is the student's own outputs,
plain data (or how the run ended), with a digest of what it ran on; never the
reference's outputs, and never shown to a student.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from grader.types.code import compare
from grader.types.code.part import CodePart
from grader.types.code.trials import Trial

MAX_OUTPUTS_CHARS = 64_000  # larger outputs are not kept: such an answer is grouped by its text


def kept_outputs(
    job: Mapping[str, Any], record: Mapping[str, Any], trials: Sequence[Trial] | None = None
) -> dict[str, Any] | None:
    """The outputs a verdict keeps of one run of the student's job (None: too large to keep);
    ``trials``: the job's trials, whose texts are encoded already."""
    if trials is not None and len(trials) == len(job["trials"]):
        inputs = [_hashed(trial.as_text()) for trial in trials]
    else:
        inputs = [_digest(trial) for trial in job["trials"]]
    outputs = {
        "ran_on": _digest({key: value for key, value in job.items() if key not in _OWN}),
        "given": _digest([source for source in job["sources"] if source["file"] != "<answer>"]),
        "inputs": inputs,
        "record": {key: value for key, value in record.items() if key != "job"},
    }
    if len(json.dumps(outputs, allow_nan=True)) > MAX_OUTPUTS_CHARS:
        return None
    return outputs


# What differs from one answer's job to another's: its code, and the trials it was given
# (each answer may be run on trials of its own; two answers are compared on those they share).
_OWN = ("id", "attach", "sources", "trials")


def _digest(value: Any) -> str:
    return _hashed(json.dumps(value, sort_keys=True, allow_nan=True))


def _hashed(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def alike(part: CodePart, one: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    """Did two answers do the same, by the outputs their verdicts keep: on every trial both
    were run on (at least one), the same outputs (within the part's tolerance) or the same
    exception; or the same ending (killed, exited)?"""
    if (one.get("ran_on"), one.get("given")) != (other.get("ran_on"), other.get("given")):
        return False
    mine, theirs = one.get("record"), other.get("record")
    if not isinstance(mine, Mapping) or not isinstance(theirs, Mapping):
        return False
    if not isinstance(mine.get("result"), dict) or not isinstance(theirs.get("result"), dict):
        return "result" not in mine and mine == theirs
    my_trials, their_trials = _by_input(one), _by_input(other)
    shared = [key for key in my_trials if key in their_trials]
    return bool(shared) and all(_same_trial(part, my_trials[key], their_trials[key]) for key in shared)


def _by_input(outputs: Mapping[str, Any]) -> dict[str, tuple[Any, ...]]:
    """What the answer did on each trial, by the digest of the trial's inputs: its outputs,
    the exception it raised there, or ``not run`` (after an exception)."""
    result = outputs["record"]["result"]
    given = result.get("trials") or []
    error = result.get("error") if isinstance(result.get("error"), dict) else None
    found: dict[str, tuple[Any, ...]] = {}
    for index, key in enumerate(outputs.get("inputs") or []):
        if index < len(given):
            found[key] = ("output", given[index])
        elif error is not None and error.get("trial") in (index, None):
            found[key] = ("error", error.get("type"), error.get("message"))
        else:
            found[key] = ("not run",)
    return found


def _same_trial(part: CodePart, mine: tuple[Any, ...], theirs: tuple[Any, ...]) -> bool:
    if mine[0] == "output" and theirs[0] == "output":
        return compare.behaves_alike(part, {"trials": [mine[1]]}, {"trials": [theirs[1]]})
    return mine == theirs
