"""Comparing what a student's code gave with what the reference gave, trial by trial.

Runs outside the sandbox, on plain data decoded here (dtype, shape, numbers): nothing
the student's code did can reach this comparison. The feedback names the first input
where they differ, the output and the entry, and the student's value there: never the
reference's output on a drawn trial (that made ``/check`` an oracle, issue 45), only on a
fixed case the TA lets show it (``show_case_expected``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.core.verdict import Certificate, CheckUndecided, Decision, MachineLacks, Verdict, Witness
from grader.mathlang.wording import dims_text
from grader.types.code.part import CodePart
from grader.types.code.source import Program
from grader.types.code.structure import STRUCTURED
from grader.types.code.trials import CASE, EDGE, RANDOM, Trial

SHOWN_ENTRIES = 12  # an input this small is shown whole in feedback
MAX_DIMS = 32
MAX_OUTPUT_ENTRIES = 1_000_000  # as the runner refuses larger ones


class Unreadable(ValueError):
    """An output record that is not plain numbers as the runner writes them."""


@dataclass(frozen=True)
class Output:
    """One value a program gave: an array, ``None`` (an attribute left unset), or why neither."""

    array: np.ndarray | None
    unsupported: str | None = None


def decode(value: Any) -> Output:
    """An output as the runner encodes it; anything else is Unreadable."""
    if value is None:
        return Output(None)
    if not isinstance(value, dict):
        raise Unreadable("not an encoded array")
    if "unsupported" in value:
        return Output(None, str(value["unsupported"])[:200])
    shape, data, dtype = value.get("shape"), value.get("data"), value.get("dtype")
    if dtype not in ("float64", "int64") or not isinstance(shape, list) or not isinstance(data, list):
        raise Unreadable("not an encoded array")
    if len(shape) > MAX_DIMS or not all(isinstance(n, int) and 0 <= n <= MAX_OUTPUT_ENTRIES for n in shape):
        raise Unreadable("a bad shape")
    if math.prod(shape) != len(data) or not all(isinstance(x, int | float) for x in data):
        raise Unreadable("entries do not fit the shape")
    return Output(np.array(data, dtype=np.float64).reshape(shape))


def compare(
    part: CodePart,
    student: dict[str, Any],
    reference: dict[str, Any],
    trials: list[Trial],
    seed: int,
    twins: dict[int, Any] | None = None,
) -> Verdict:
    """The verdict for the student's result against the reference's (both a runner ``result``);
    ``twins``: the reference's outputs on each structured trial's twin, by trial number."""
    reference_trials = reference.get("trials", [])
    for number, trial in enumerate(trials):
        student_trials = student.get("trials") or []
        if number >= len(student_trials):
            return _raised(part, student.get("error"), trial, number)
        twin = (twins or {}).get(number) if trial.kind == STRUCTURED else None
        try:
            differs = _first_difference(part, student_trials[number], reference_trials[number], trial, twin)
        except Unreadable as exc:
            return Verdict.incorrect(f"{_with_inputs(trial)}your code's outputs could not be read ({exc})")
        if differs is not None:
            return differs
    return Verdict.correct(decision=_decision(trials, seed))


def behaves_alike(part: CodePart, student: dict[str, Any], other: dict[str, Any]) -> bool:
    """The same outputs trial by trial, up to the same exception (type and message) at the same trial."""
    mine, theirs = student.get("trials") or [], other.get("trials") or []
    if len(mine) != len(theirs):
        return False
    try:
        for got, expected in zip(mine, theirs, strict=True):
            if not isinstance(got, dict) or not isinstance(expected, dict) or set(got) != set(expected):
                return False
            for name, value in expected.items():
                if not _same_output(part, decode(got[name]), decode(value)):
                    return False
    except Unreadable:
        return False
    error, other_error = student.get("error"), other.get("error")
    if error is None or other_error is None:
        return error is None and other_error is None
    return bool(
        isinstance(error, dict)
        and isinstance(other_error, dict)
        and all(error.get(key) == other_error.get(key) for key in ("type", "message", "trial"))
    )


def _same_output(part: CodePart, have: Output, wanted: Output) -> bool:
    if have.array is None or wanted.array is None:
        return have.array is None and wanted.array is None and have.unsupported == wanted.unsupported
    return have.array.shape == wanted.array.shape and bool(
        np.isclose(have.array, wanted.array, rtol=part.rtol, atol=part.atol, equal_nan=True).all()
    )


def _decision(trials: list[Trial], seed: int) -> Decision:
    """``probes``: how many trials, of which kinds, and which were edges (their seed is kept
    with the verdict for the TA, never in what a student reads)."""
    count = len(trials)
    kinds = [
        (kind, sum(1 for trial in trials if trial.kind == kind)) for kind in (CASE, EDGE, RANDOM, STRUCTURED)
    ]
    how = ", ".join(f"{number} {kind}{'s' * (number != 1)}" for kind, number in kinds if number)
    edges = "; ".join(f"{n} ({trial.edge})" for n, trial in enumerate(trials, 1) if trial.kind == EDGE)
    method = f"ran in a sandbox on {count} input{'s' * (count != 1)} ({how}); every output agreed"
    if edges:
        method += f"; the edge inputs: trial {edges}"
    structures = sorted({trial.edge for trial in trials if trial.kind == STRUCTURED})
    if structures:
        method += f"; the structured inputs: {', '.join(structures)}"
    classes = tuple(f"{kind}s" for kind, number in kinds if number)
    return Decision(
        method, exact=False, probes=count, certificate=Certificate.PROBES, probe_classes=classes, seed=seed
    )


def _first_difference(
    part: CodePart, got: Any, expected: Any, trial: Trial, twin: Any = None
) -> Verdict | None:
    if not isinstance(got, dict):
        raise Unreadable("not a mapping of outputs")
    for name, reference_value in expected.items():
        wanted = decode(reference_value)
        if name not in got:
            names = ", ".join(sorted(map(str, got))) or "nothing"
            return _wrong(part, trial, f"your code gave no {_label(name)} (it gave {names})")
        have = decode(got[name])
        moved = _twin_output(twin, name)
        verdict = _compare_output(part, name, have, wanted, trial, moved)
        if verdict is not None:
            return verdict
    return None


def _twin_output(twin: Any, name: str) -> np.ndarray | None:
    if not isinstance(twin, dict) or name not in twin:
        return None
    try:
        return decode(twin[name]).array
    except Unreadable:
        return None


def _close(
    part: CodePart, have: np.ndarray, wanted: np.ndarray, trial: Trial, moved: np.ndarray | None
) -> np.ndarray:
    """Entry by entry, within the part's tolerance. On a structured trial, also within how far
    the reference's own output moved on the trial's twin (inputs a few units in the last place
    away: the digits the reference has), and any entry where the reference gave no finite
    number is not held against a finite one (a stabler answer than the reference)."""
    close = np.isclose(have, wanted, rtol=part.rtol, atol=part.atol, equal_nan=True)
    if trial.kind != STRUCTURED:
        return close
    close |= ~np.isfinite(wanted) & np.isfinite(have)
    if moved is not None and moved.shape == wanted.shape:
        with np.errstate(invalid="ignore", over="ignore"):
            spread = np.where(np.isfinite(moved) & np.isfinite(wanted), np.abs(moved - wanted), 0.0)
            close |= np.abs(have - wanted) <= part.atol + part.rtol * np.abs(wanted) + 2 * spread
    return close


def _compare_output(
    part: CodePart, name: str, have: Output, wanted: Output, trial: Trial, moved: np.ndarray | None = None
) -> Verdict | None:
    if wanted.array is None:
        if have.array is None and have.unsupported is None:
            return None
        return _wrong(part, trial, f"your {_label(name)} is set; the expected leaves it None")
    if have.unsupported is not None:
        return _wrong(part, trial, f"your {_label(name)} is {have.unsupported}, not an array of numbers")
    if have.array is None:
        return _wrong(
            part, trial, f"your {_label(name)} is None (never set); expected {_shape(wanted.array)}"
        )
    if have.array.shape != wanted.array.shape:
        return _wrong(
            part,
            trial,
            f"your {_label(name)} has shape {_dims(have.array)}, the expected shape is {_dims(wanted.array)}",
        )
    close = _close(part, have.array, wanted.array, trial, moved)
    if bool(close.all()):
        return None
    flat = int(np.flatnonzero(~close)[0])
    index = np.unravel_index(flat, have.array.shape) if have.array.shape else ()
    at = f"[{', '.join(map(str, index))}]" if index else ""
    received, expected = _two_numbers(have.array.ravel()[flat], wanted.array.ravel()[flat])
    wrong = int((~close).sum())
    count = f" ({wrong} of {close.size} entries differ)" if close.size > 1 else ""
    if _shows_expected(part, trial):
        message = f"your {_label(name, at)} is {received}, the expected {expected}{count}"
        return _wrong(part, trial, message, received, expected)
    message = f"your {_label(name, at)} is {received}, which is not the expected value{count}"
    return _wrong(part, trial, message, received)


def _shows_expected(part: CodePart, trial: Trial) -> bool:
    """The expected output may be told on a fixed case the TA wrote and lets show, never on a
    drawn trial (a student would read them all, one ``/check`` at a time)."""
    return trial.kind == CASE and part.show_case_expected


def _wrong(
    part: CodePart, trial: Trial, message: str, received: str | None = None, expected: str | None = None
) -> Verdict:
    witness = Witness(
        _shown_inputs(trial), received, expected, symbols={k: str(v) for k, v in trial.sizes.items()}
    )
    return Verdict.incorrect(f"{_with_inputs(trial)}{message}", witness=witness)


def _raised(part: CodePart, error: Any, trial: Trial, number: int) -> Verdict:
    if not isinstance(error, dict):
        return Verdict.incorrect(f"{_with_inputs(trial)}your code gave no result")
    kind = str(error.get("type", "an exception"))[:100]
    message = str(error.get("message", ""))[:300]
    raised = f"{kind}: {message}" if message else kind
    if error.get("memory"):
        return Verdict.incorrect(
            f"{_with_inputs(trial)}your code needed more than {part.memory_limit} MiB of memory "
            f"(memory_limit) and was stopped ({raised})"
        )
    where = _where(error)
    if error.get("trial") is None:
        return Verdict.incorrect(f"your code raised {raised} while it was being loaded{where}")
    return Verdict.incorrect(
        f"{_with_inputs(trial)}your code raised {raised}{where}",
        witness=Witness(_shown_inputs(trial), raised, None),
    )


def _where(error: dict[str, Any]) -> str:
    line = error.get("line")
    if isinstance(line, int):
        return f" (line {line} of your answer)"
    if error.get("where") == "<harness>":
        return " (in the part's harness, calling your code)"
    if error.get("where") == "<given>":
        return " (in the code the part gives, calling your code)"
    return ""


def shift_lines(record: dict[str, Any], code: Program) -> dict[str, Any]:
    """A runner result with the error's line counted in the student's own text."""
    error = record.get("error")
    if code.line_offset and isinstance(error, dict) and isinstance(error.get("line"), int):
        error = {**error, "line": max(error["line"] - code.line_offset, 1)}
        return {**record, "error": error}
    return record


def _label(name: str, index: str = "") -> str:
    return f"`{name}{index}`" if name != "output" else f"output{index}" if index else "output"


def _with_inputs(trial: Trial) -> str:
    shown = _shown_inputs(trial)
    structure = f"on an input with {trial.edge}, " if trial.kind == STRUCTURED else ""
    if not shown:
        return f"{structure.removesuffix(', ')}: " if structure else ""
    return structure + "with " + ", ".join(f"{name} {value}" for name, value in shown.items()) + ": "


def _shown_inputs(trial: Trial) -> dict[str, str]:
    shown = {}
    for name, array in trial.inputs.items():
        if array.ndim == 0:
            shown[name] = f"= {_number(array.item())}"
        elif array.size <= SHOWN_ENTRIES:
            shown[name] = f"of shape {dims_text(array.shape)} = {_array_text(array)}"
        else:
            shown[name] = f"of shape {dims_text(array.shape)}"
    return shown


def _array_text(array: np.ndarray) -> str:
    formatter: Any = {"float_kind": _short, "int_kind": str}
    return np.array2string(array, separator=", ", max_line_width=10_000, formatter=formatter).replace(
        "\n", ""
    )


def _short(value: float) -> str:
    return _number(value) if float(value).is_integer() else f"{value:.4g}"


def _number(value: Any) -> str:
    number = float(value) + 0.0  # no "-0"
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return f"{number:.6g}"


def _two_numbers(first: Any, second: Any) -> tuple[str, str]:
    """Both values, with as many digits as it takes to see that they differ."""
    first, second = float(first) + 0.0, float(second) + 0.0  # no "-0"
    for digits in (6, 9, 12, 17):
        shown = (f"{first:.{digits}g}", f"{second:.{digits}g}")
        if shown[0] != shown[1]:
            break
    if all(float(value).is_integer() and abs(float(value)) < 1e15 for value in (first, second)):
        return _number(first), _number(second)
    return shown


def _shape(array: np.ndarray) -> str:
    return f"an array of shape {_dims(array)}"


def _dims(array: np.ndarray) -> str:
    return dims_text(array.shape) if array.shape else "() (a number)"


def reference_failure(record: dict[str, Any], what: str) -> str:
    """Why a reference run cannot serve (None-like empty string when it can)."""
    if "unavailable" in record:
        raise CheckUndecided(f"this part needs {record['unavailable']}, which the runner cannot import")
    if "result" not in record:
        return f"{what} did not finish ({_ending(record)})"
    error = record["result"].get("error") if isinstance(record["result"], dict) else None
    if error:
        where = _where(error).replace("your answer", "the reference")
        return (
            f"{what} raised {error.get('type')}: {error.get('message')}{where} on trial {error.get('trial')}"
        )
    return ""


def ending(record: dict[str, Any], part: CodePart) -> Verdict:
    """The verdict for a student's run that gave no result at all."""
    if "unavailable" in record:
        raise MachineLacks(f"this part needs {record['unavailable']}, which is not installed")
    killed = record.get("killed")
    if killed in ("time", "cpu"):  # past its CPU time, or twice that in wall-clock time: the code's own doing
        return Verdict.incorrect(
            f"your code did not finish within {part.time_limit:g} s (the part's time limit) and was stopped"
        )
    if record.get("lost") == "wall clock":  # the sandbox's own time ran out (its start-up too): a TA looks
        return Verdict.error(
            f"your code did not finish within {part.time_limit:g} s (time_limit) and was stopped; "
            "a TA should look at it"
        )
    if killed == "output":
        return Verdict.incorrect("your code sent back more output than the grader reads, and was stopped")
    if killed == "file size":
        return Verdict.incorrect("your code wrote a file larger than allowed, and was stopped")
    if killed:
        return Verdict.incorrect(f"your code's process was killed ({killed})")
    if "exited" in record:
        return Verdict.incorrect(
            f"your code ended its own process (exit status {record['exited']}) before giving a result"
        )
    lost = str(record.get("lost", "no result"))
    if lost == "sandbox ended":
        return Verdict.incorrect("your code stopped the sandbox it ran in before giving a result")
    return Verdict.error(f"your code could not be run ({lost}); a TA should look at it")


def _ending(record: dict[str, Any]) -> str:
    for key in ("killed", "exited", "lost"):
        if key in record:
            return f"{key}: {record[key]}"
    return "no result"
