"""Reading problem sets and submission folders from disk (the only I/O besides reports).

A bad problem file raises :class:`ProblemFileError` naming the file, the line and
column, and what is wrong. A bad answers file never raises: the submission
carries a ``load_error`` so the report shows one clear row and the batch goes on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from grader.core.submission import Submission
from grader.core.yamlio import Position, YamlError, load_with_positions, locate
from grader.spec import PART_TYPES, ProblemSet

ANSWER_FILES = ("answers.yaml", "answers.yml", "answers.json")
MAX_PROBLEM_FILE_BYTES = 2_000_000
MAX_ANSWERS_FILE_BYTES = 1_000_000


@dataclass(frozen=True)
class Diagnostic:
    """One thing wrong in a problem file, and where (1-based line and column)."""

    line: int | None
    column: int | None
    message: str


class ProblemFileError(Exception):
    """A problem file that cannot be used, with every problem found and where."""

    def __init__(self, path: Path | str, problems: list[Diagnostic]):
        self.path = str(path)
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        lines = []
        for problem in self.problems:
            where = self.path
            if problem.line is not None:
                where += f":{problem.line}"
                if problem.column is not None:
                    where += f":{problem.column}"
            lines.append(f"{where}: {problem.message}")
        return "\n".join(lines)


def read_text(path: Path, limit: int) -> str:
    """The file as UTF-8 text; ValueError with a plain reason otherwise."""
    size = path.stat().st_size
    if size > limit:
        raise ValueError(f"file is too large ({size:,} bytes; the limit is {limit:,})")
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise ValueError("file is binary, not text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ValueError(f"file is not UTF-8 text (byte {exc.start + 1}, line {line})") from None
    return text


def load_problem_set(path: Path | str) -> ProblemSet:
    path = Path(path)
    try:
        text = read_text(path, MAX_PROBLEM_FILE_BYTES)
    except OSError as exc:
        raise ProblemFileError(path, [Diagnostic(None, None, f"cannot read: {exc.strerror}")]) from None
    except ValueError as exc:
        raise ProblemFileError(path, [Diagnostic(None, None, str(exc))]) from None
    return parse_problem_set(text, path)


def parse_problem_set(text: str, path: Path | str = "<problem set>") -> ProblemSet:
    try:
        data, positions = load_with_positions(text)
    except YamlError as exc:
        raise ProblemFileError(path, [Diagnostic(exc.line, exc.column, exc.message)]) from None
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        message = f"a problem set must be a mapping with assignment and questions; this file is {kind}"
        raise ProblemFileError(path, [Diagnostic(1, 1, message)])
    try:
        return ProblemSet.model_validate(data)
    except ValidationError as exc:
        raise ProblemFileError(path, _problems_from(exc, positions)) from None


def _problems_from(exc: ValidationError, positions: dict[Any, Position]) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    seen: set[tuple[Any, ...]] = set()
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        position = locate(positions, loc)
        readable = _readable_loc(loc)
        message = _readable_message(error)
        key = (position, readable, message)
        if key in seen:
            continue
        seen.add(key)
        line = position.line if position else None
        column = position.column if position else None
        problems.append(Diagnostic(line, column, f"{readable}: {message}" if readable else message))
    return problems


_UNION_TAGS = set(PART_TYPES)  # pydantic names the union branch in error locations


def _readable_loc(loc: tuple[Any, ...]) -> str:
    """``questions[0].parts[1].answer``: the path as a TA reads the file."""
    out = ""
    for step in loc:
        if isinstance(step, int):
            out += f"[{step}]"
        elif step in _UNION_TAGS or str(step).startswith(("function-", "tagged-union")):
            continue
        else:
            out += f".{step}" if out else str(step)
    return out


def _readable_message(error: Any) -> str:
    kind = error.get("type")
    if kind == "extra_forbidden":
        return "unknown key (check the spelling)"
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_invalid":
        return f"unknown type {error['input'].get('type')!r}; use one of {sorted(_UNION_TAGS)}"
    if kind == "union_tag_not_found":
        return "every part needs a 'type'"
    message = str(error.get("msg", "invalid value"))
    return message.removeprefix("Value error, ")


# ---------------------------------------------------------------------------
# Submissions


def find_answers_file(folder: Path) -> Path | None:
    for name in ANSWER_FILES:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def is_submission_folder(folder: Path) -> bool:
    return find_answers_file(folder) is not None


def load_submission(folder: Path | str) -> Submission:
    folder = Path(folder)
    submission = Submission(student=folder.name, folder=str(folder))
    answers_file = find_answers_file(folder)
    if answers_file is None:
        submission.load_error = f"no answers file in {folder} (expected one of {', '.join(ANSWER_FILES)})"
        return submission
    submission.source = str(answers_file)
    others = [name for name in ANSWER_FILES if (folder / name).is_file() and name != answers_file.name]
    if others:
        submission.warnings.append(
            f"several answers files; graded {answers_file.name}, ignored {', '.join(others)}"
        )
    try:
        text = read_text(answers_file, MAX_ANSWERS_FILE_BYTES)
        data = _parse_answers_text(text, answers_file.suffix)
    except (OSError, ValueError) as exc:
        submission.load_error = f"{answers_file.name}: {exc}"
        return submission
    _fill_submission(submission, data, answers_file.name)
    return submission


def _parse_answers_text(text: str, suffix: str) -> Any:
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    try:
        data, _ = load_with_positions(text)
    except YamlError as exc:
        where = f" (line {exc.line}, column {exc.column})" if exc.line else ""
        raise ValueError(f"{exc.message}{where}") from None
    return data


def _fill_submission(submission: Submission, data: Any, filename: str) -> None:
    if data is None:
        submission.load_error = f"{filename} is empty"
        return
    if not isinstance(data, dict):
        submission.load_error = (
            f"{filename} must be a mapping with 'answers'; it holds a {type(data).__name__}"
        )
        return
    if "answers" in data:
        answers = data["answers"]
        extra = sorted(str(k) for k in data if k not in ("answers", "student"))
        if extra:
            submission.warnings.append(
                f"{filename}: keys {extra} are not used (only 'student' and 'answers' are)"
            )
    else:  # a flat mapping of part ids, written without the 'answers:' level
        answers = {k: v for k, v in data.items() if k != "student"}
        submission.warnings.append(f"{filename} has no 'answers:' key; read its top-level keys as answers")
    if answers is None:
        answers = {}
    if not isinstance(answers, dict):
        submission.load_error = f"{filename}: 'answers' must be a mapping of part ids to answers"
        return
    student = data.get("student")
    if student is not None and str(student).strip():
        submission.student = str(student).strip()
    submission.answers = {str(k): v for k, v in answers.items()}
