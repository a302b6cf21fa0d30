"""Reading problem sets and submission folders from disk (the only I/O besides reports).

A bad problem file raises :class:`ProblemFileError` naming the file, the line and
column, and what is wrong. A bad answers file never raises: the submission
carries a ``load_error`` so the report shows one clear row and the batch goes on.
"""

from __future__ import annotations

import bisect
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import ValidationError

from grader.core.deferred import deferred
from grader.core.files import write_atomic
from grader.core.folder import Folder
from grader.core.submission import SourcePosition, Submission
from grader.core.textfiles import read_text, shown_name, without_surrogates
from grader.core.yamlio import (
    ANSWERS_FILE,
    MAX_NESTING,
    Position,
    TypedString,
    YamlError,
    dump_readable,
    load_with_positions,
    locate,
)
from grader.mathlang.limits import MAX_VALUE_DIGITS, limit_from_environment
from grader.spec import PART_TYPES, ProblemSet
from grader.writeups import (
    WRITEUP_SUFFIXES,
    escaping_writeups,
    fill_from_writeup,
    ignored_writeup_warning,
    writeup_files,
)

ANSWER_FILES = ("answers.yaml", "answers.yml", "answers.json")
MAX_PROBLEM_FILE_BYTES = limit_from_environment(
    "GRADER_MAX_PROBLEM_FILE_BYTES", 2_000_000, 1_000, 100_000_000
)
MAX_ANSWERS_FILE_BYTES = limit_from_environment(
    "GRADER_MAX_ANSWERS_FILE_BYTES", 1_000_000, 1_000, 100_000_000
)


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


def load_problem_set(path: Path | str) -> ProblemSet:
    """The problem file at ``path``, with the items the ``rubric.yaml`` beside it adds to its
    parts' rubrics (:func:`read_rubric_file`)."""
    path = Path(path)
    try:
        text = read_text(path, MAX_PROBLEM_FILE_BYTES)
    except OSError as exc:
        raise ProblemFileError(path, [Diagnostic(None, None, f"cannot read: {exc.strerror}")]) from None
    except ValueError as exc:
        raise ProblemFileError(path, [Diagnostic(None, None, str(exc))]) from None
    return parse_problem_set(text, path, rubrics=read_rubric_file(path.parent))


def parse_problem_set(
    text: str, path: Path | str = "<problem set>", rubrics: RubricFile | None = None
) -> ProblemSet:
    """``rubrics``: a rubric file's items (:func:`read_rubric_file`), merged into the rubrics
    of the parts of this problem set's assignment (:func:`merge_rubric`)."""
    try:
        data, positions = load_with_positions(text)
    except YamlError as exc:
        raise ProblemFileError(path, [Diagnostic(exc.line, exc.column, exc.message)]) from None
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        message = f"a problem set must be a mapping with assignment and questions; this file is {kind}"
        raise ProblemFileError(path, [Diagnostic(1, 1, message)])
    _read_source_files(data, path, positions)
    if rubrics and isinstance(data.get("assignment"), str):
        merge_rubric(data, rubrics.get(data["assignment"], {}))
    try:
        return ProblemSet.model_validate(data)
    except ValidationError as exc:
        raise ProblemFileError(path, _problems_from(exc, positions)) from None


_SOURCE_FIELDS = ("answer", "given", "harness")
# A folder that hands in a PDF or page images (grader.pdf: imported only when one is read).
_PDF_HAND_IN = deferred("grader.pdf.intake", "pdf_hand_in")
_FILL_FROM_PDF = deferred("grader.pdf.intake", "fill_from_pdf")
_IS_PDF_FOLDER = deferred("grader.pdf.intake", "is_pdf_submission")

# ---------------------------------------------------------------------------
# Rubric files

RUBRIC_FILE = "rubric.yaml"  # beside the problem files: rubric items added from the grading view
RUBRIC_FILES = (RUBRIC_FILE, "rubric.yml")
# assignment -> part address -> items ({id, points, text}), as a rubric file holds them
RubricFile = dict[str, dict[str, list[dict[str, Any]]]]


def is_problem_file(path: Path) -> bool:
    """A YAML file of a problems folder that is a problem set (not its rubric file)."""
    return path.suffix in (".yaml", ".yml") and path.name not in RUBRIC_FILES


def read_rubric_file(folder: Path) -> RubricFile:
    """The ``rubric.yaml`` of ``folder`` (empty when there is none): for each assignment, for
    each part (its address, ``q1.a``), the rubric items added to it. :class:`ProblemFileError`
    when it is not in that shape."""
    path = folder / RUBRIC_FILE
    if not path.exists():
        return {}
    try:
        return parse_rubric_file(read_text(path, MAX_PROBLEM_FILE_BYTES), path)
    except OSError as exc:
        raise ProblemFileError(path, [Diagnostic(None, None, f"cannot read: {exc.strerror}")]) from None
    except ValueError as exc:
        raise ProblemFileError(path, [Diagnostic(None, None, str(exc))]) from None


def parse_rubric_file(text: str, path: Path | str = RUBRIC_FILE) -> RubricFile:
    try:
        data, _ = load_with_positions(text)
    except YamlError as exc:
        raise ProblemFileError(path, [Diagnostic(exc.line, exc.column, exc.message)]) from None
    shape = "a rubric file maps each assignment to its parts, each part to a list of items {id, points, text}"
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(
        isinstance(parts, dict)
        and all(
            isinstance(items, list) and all(isinstance(i, dict) for i in items) for items in parts.values()
        )
        for parts in data.values()
    ):
        raise ProblemFileError(path, [Diagnostic(1, 1, shape)])
    return {str(a): {str(p): list(items) for p, items in parts.items()} for a, parts in data.items()}


_RUBRIC_FILE_LOCK = threading.Lock()  # one read-modify-write of a rubric file at a time
RUBRIC_FILE_HEADER = (
    "# Rubric items added from the grading view (grader serve), by assignment and part;\n"
    "# an item here replaces the problem file's item with the same id (docs/service.md).\n"
)


def with_rubric_item(items: list[dict[str, Any]], item: dict[str, Any]) -> list[dict[str, Any]]:
    """``items`` with ``item`` in place of the one with its id, else last."""
    return list(({old.get("id"): old for old in items} | {item["id"]: item}).values())


def write_rubric_item(folder: Path, assignment: str, part: str, item: dict[str, Any]) -> None:
    """``item`` into ``folder``'s rubric file (the grading view's edit), the rest of it as it is,
    never half written; its mode kept, or the problem files' (they hold the key), else 0600.
    :class:`ProblemFileError` when the file does not load: its items unknown, none is written."""
    path = folder / RUBRIC_FILE
    with _RUBRIC_FILE_LOCK:
        data = read_rubric_file(folder)
        parts = data.setdefault(assignment, {})
        parts[part] = with_rubric_item(parts.get(part, []), item)
        if path.exists():
            mode = path.stat().st_mode & 0o777
        else:
            problems = [p for p in folder.glob("*.y*ml") if p.name != path.name]
            mode = problems[0].stat().st_mode & 0o666 if problems else 0o600
        write_atomic(path, RUBRIC_FILE_HEADER + dump_readable(data), mode=mode)


def merge_rubric(data: dict[str, Any], added: dict[str, list[dict[str, Any]]]) -> None:
    """Merge a rubric file's items for one assignment into a problem file's ``data``: an item
    whose id the part's ``rubric:`` has already replaces it where it stands (the rubric file
    wins: it is where the grading view writes an edit), a new id goes after the part's own
    items. Items of a part the problem set does not have are left out."""
    questions = data.get("questions")
    if not isinstance(questions, list) or not added:
        return
    for question in questions:
        if not isinstance(question, dict):
            continue
        parts = question.get("parts")
        single = not isinstance(parts, list)
        for part in [question] if not isinstance(parts, list) else parts:
            if not isinstance(part, dict):
                continue
            where = str(question.get("id")) if single else f"{question.get('id')}.{part.get('id')}"
            items = added.get(where)
            if not items:
                continue
            own = part.get("rubric")
            merged = list(own) if isinstance(own, list) else []
            at = {item.get("id"): i for i, item in enumerate(merged) if isinstance(item, dict)}
            for item in items:
                if item.get("id") in at:
                    merged[at[item.get("id")]] = item
                else:
                    at[item.get("id")] = len(merged)
                    merged.append(item)
            part["rubric"] = merged


def _read_source_files(data: dict[str, Any], path: Path | str, positions: dict[Any, Position]) -> None:
    """A code part's reference, scaffold or harness may be a file beside the problem file,
    ``answer: {file: linear_ref.py}``: read here, so the part holds the text it runs."""
    questions = data.get("questions")
    if not isinstance(questions, list):
        return
    for q_index, question in enumerate(questions):
        parts = question.get("parts") if isinstance(question, dict) else None
        where: list[tuple[tuple[Any, ...], Any]] = (
            [(("questions", q_index, "parts", p_index), part) for p_index, part in enumerate(parts)]
            if isinstance(parts, list)
            else [(("questions", q_index), question)]
        )
        for loc, part in where:
            if isinstance(part, dict) and part.get("type") == "code":
                _read_part_sources(part, loc, path, positions)


def _read_part_sources(
    part: dict[str, Any], loc: tuple[Any, ...], path: Path | str, positions: dict[Any, Position]
) -> None:
    slots: list[tuple[dict[str, Any], str, tuple[Any, ...]]] = [
        (part, key, (*loc, key)) for key in _SOURCE_FIELDS
    ]
    mistakes = part.get("mistakes")
    if isinstance(mistakes, list):
        slots += [
            (m, "answer", (*loc, "mistakes", i, "answer"))
            for i, m in enumerate(mistakes)
            if isinstance(m, dict)
        ]
    for holder, key, field_loc in slots:
        value = holder.get(key)
        if not (isinstance(value, dict) and set(value) == {"file"} and isinstance(value["file"], str)):
            continue
        relative = Path(value["file"])
        try:
            if relative.is_absolute() or ".." in relative.parts:
                raise ValueError("name a file beside the problem file, without '..'")
            holder[key] = read_text(Path(path).parent / relative, MAX_PROBLEM_FILE_BYTES)
        except (OSError, ValueError) as exc:
            position = locate(positions, field_loc)
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            message = f"{_readable_loc(field_loc)}: {value['file']} cannot be read: {reason}"
            raise ProblemFileError(
                path,
                [
                    Diagnostic(
                        position.line if position else None, position.column if position else None, message
                    )
                ],
            ) from None


def _problems_from(exc: ValidationError, positions: dict[Any, Position]) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    seen: set[tuple[Any, ...]] = set()
    for error in _without_union_noise(exc.errors(include_url=False)):
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
_UNION_STEPS = ("function-", "tagged-union", "literal[")


def _is_union_step(step: Any) -> bool:
    return step in _UNION_TAGS or str(step).startswith(_UNION_STEPS)


def _without_union_noise(errors: list[Any]) -> list[Any]:
    """``domain: [1, 0]`` fails both ``all`` and ``[a, b]``: keep only the error that says
    what is wrong with the value written, not that it is not the word ``all``."""

    def field(error: Any) -> tuple[Any, ...]:
        return tuple(step for step in error["loc"] if not _is_union_step(step))

    explained = {field(error) for error in errors if error.get("type") != "literal_error"}
    return [e for e in errors if e.get("type") != "literal_error" or field(e) not in explained]


def _readable_loc(loc: tuple[Any, ...]) -> str:
    """``questions[0].parts[1].answer``: the path as a TA reads the file."""
    out = ""
    for step in loc:
        if isinstance(step, int):
            out += f"[{step}]"
        elif _is_union_step(step):
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


def find_answers_file(folder: Folder | Path) -> str | None:
    """The name of a submission folder's answers file; a link counts even when it leads
    nowhere readable, so the report can say why it is not graded."""
    folder = _folder(folder)
    return next((name for name in ANSWER_FILES if folder.lookup(name) is not None), None)


def _folder(folder: Folder | Path | str) -> Folder:
    return folder if isinstance(folder, Folder) else Folder.from_disk(folder)


# Every form grader reads, as messages name them.
SUBMISSION_FORMS = (
    f"an answers file ({', '.join(ANSWER_FILES)}) or a write-up that marks its answers "
    "(LaTeX .tex, Markdown .md, Jupyter .ipynb)"
)


def no_submission_message(folder: Folder | Path) -> str:
    """What grader looked for in a folder it found nothing to grade in, and what it saw there
    instead (a PDF, a write-up without marks), in words a student can act on."""
    message = f"grader reads {SUBMISSION_FORMS}"
    folder = _folder(folder)
    names = [name for name in folder.top_level() if folder.is_file(name)]
    pdfs = [name for name in names if name.lower().endswith(".pdf")]
    if pdfs:
        message += (
            f"; {', '.join(pdfs[:3])}: a PDF is read when the folder holds no answers file and no write-up"
        )
    unmarked = [name for name in names if name.endswith(WRITEUP_SUFFIXES)]
    if unmarked:
        message += (
            f"; {', '.join(unmarked[:3])} marks no answer (\\answer{{<part id>}}{{...}}, "
            "'Answer <part id>:', a cell tagged answer:<part id>; see grader template)"
        )
    return message


def is_submission_folder(folder: Folder | Path) -> bool:
    """A folder with an answers file, a write-up (.tex, .md, .ipynb) that marks answers, or a PDF."""
    folder = _folder(folder)
    return find_answers_file(folder) is not None or bool(writeup_files(folder)) or _IS_PDF_FOLDER(folder)


def named_folder(folder: Path) -> Path:
    """The folder with a name: ``.`` (``grader grade .`` in CI) is the repository's folder."""
    return folder.resolve() if folder.name in ("", ".", "..") else folder


def load_submission(folder: Folder | Path | str) -> Submission:
    """The folder's answers as read; student text cleaned of what no report can hold (lone
    surrogates; control characters in the shown name). Never raises for a bad file."""
    folder = _folder(folder)
    submission = _read_submission(folder)
    submission.student = shown_name(submission.student) or folder.name
    submission.answers = without_surrogates(submission.answers)
    submission.warnings = without_surrogates(submission.warnings)
    if submission.load_error:
        submission.load_error = without_surrogates(submission.load_error)
    return submission


def _read_submission(folder: Folder) -> Submission:
    submission = Submission(student=folder.name, folder=str(folder.shown))
    if folder.link is not None:
        submission.source = str(folder.shown)
        submission.load_error = (
            f"this submission folder is a link (to {folder.link}), not a folder of its own: "
            "it is not graded (a student hands in their own folder, never a link to another's)"
        )
        return submission
    answers_file = find_answers_file(folder)
    if answers_file is None:
        found = writeup_files(folder)
        if found:
            fill_from_writeup(submission, folder, found)
            return submission
        pdf = _PDF_HAND_IN(folder)
        if pdf:  # a PDF, or photos of pages (grader.pdf)
            _FILL_FROM_PDF(submission, folder, pdf)
            return submission
        outside = escaping_writeups(folder)
        if outside:
            submission.load_error = (
                f"{', '.join(outside)}: a link to a file outside this submission folder "
                "(another student's work?); not read: hand in your own file"
            )
            return submission
        submission.load_error = (
            f"no answers file in {folder.shown} (expected one of {', '.join(ANSWER_FILES)}, "
            f"or a write-up marking its answers: {', '.join(WRITEUP_SUFFIXES)})"
        )
        return submission
    submission.source = folder.named(answers_file)
    refusal = _not_a_file_of(answers_file, folder)
    if refusal:
        submission.load_error = refusal
        return submission
    others = [name for name in ANSWER_FILES if folder.is_file(name) and name != answers_file]
    if others:
        ignored = ", ".join(others)
        submission.warnings.append(f"several answers files; graded {answers_file}, ignored {ignored}")
    ignored_writeup = ignored_writeup_warning(answers_file, writeup_files(folder))
    if ignored_writeup:
        submission.warnings.append(ignored_writeup)
    try:
        text = folder.read_text(answers_file, MAX_ANSWERS_FILE_BYTES)
    except ValueError as exc:
        submission.load_error = f"{answers_file}: {exc}"
        return submission
    read_answers_text(submission, text, Path(folder.named(answers_file)))
    read_code_files(submission, folder)
    return submission


def read_answers_text(submission: Submission, text: str, answers_file: Path) -> None:
    """Fill ``submission`` from the text of its answers file (YAML, or JSON by its suffix).
    A file that cannot be read becomes the submission's ``load_error``, never an exception."""
    try:
        data = _parse_answers_text(text, answers_file.suffix, submission)
    except ValueError as exc:
        submission.load_error = f"{answers_file.name}: {exc}"
        if isinstance(exc, UnreadableAnswers) and exc.line:
            submission.error_position = SourcePosition(
                str(answers_file), exc.line, exc.column or 1, excerpt=_excerpt(text, exc.line)
            )
        return
    _fill_submission(submission, data, answers_file.name)
    if answers_file.suffix == ".json":
        submission.positions = _json_positions(text, submission.answers, str(answers_file))


MAX_EXCERPT_CHARACTERS = 1_000  # of the line a caret points into


def _excerpt(text: str, line: int) -> str | None:
    """Line ``line`` of ``text`` as a file shows it (None past the last line)."""
    lines = text.split("\n", line)
    if len(lines) < line or (len(lines) == line and not lines[-1]):
        return None
    return lines[line - 1].rstrip("\r")[:MAX_EXCERPT_CHARACTERS]


class UnreadableAnswers(ValueError):
    """An answers file that is not valid YAML or JSON, with where it stops being readable."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.line = line
        self.column = column


def _parse_answers_text(text: str, suffix: str, submission: Submission) -> Any:
    if suffix == ".json":
        return load_answers_json(text)
    typed: list[TypedString] = []
    try:
        data, positions = load_with_positions(text, typed, limits=ANSWERS_FILE)
    except YamlError as exc:
        where = f" (line {exc.line}, column {exc.column})" if exc.line else ""
        raise UnreadableAnswers(f"{exc.message}{where}", exc.line, exc.column) from None
    source = submission.source or ""
    for note in typed:
        warning = _typed_latex_warning(note)
        submission.warnings.append(warning)
        submission.warning_positions[warning] = SourcePosition(source, note.line)
    answers_level = ("answers",) if isinstance(data, dict) and "answers" in data else ()
    for path, position in positions.items():
        if len(path) == len(answers_level) + 1 and path[:-1] == answers_level:
            submission.positions[str(path[-1])] = SourcePosition(source, position.line, position.column)
    return data


def _typed_latex_warning(note: TypedString) -> str:
    single_quoted = "'" + note.value.replace("'", "''") + "'"
    return (
        f'line {note.line}: "{note.value}" is in double quotes, where YAML reads a backslash as an '
        f"escape; it was read as typed. Put LaTeX in single quotes: {single_quoted}"
    )


def _json_positions(text: str, answers: dict[str, Any], source: str) -> dict[str, SourcePosition]:
    """The line of each answer's key in a JSON answers file (JSON keeps no positions): the
    first place the key is written as a key, found in one pass over the text."""
    line_starts = [0, *(match.end() for match in re.finditer("\n", text))]
    positions: dict[str, SourcePosition] = {}
    for start, end in _json_strings(text):
        if not _JSON_COLON.match(text, end):
            continue
        key = json.loads(text[start:end])
        if key in answers and key not in positions:
            line = bisect.bisect_right(line_starts, start)
            positions[key] = SourcePosition(source, line, start - line_starts[line - 1] + 1)
    return positions


_JSON_QUOTE_OR_ESCAPE = re.compile(r'["\\]')
_JSON_COLON = re.compile(r"\s*:")


def _json_strings(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of every string of a JSON text, quotes included, in one pass."""
    start: int | None = None
    escaped_at = -1
    for match in _JSON_QUOTE_OR_ESCAPE.finditer(text):
        at = match.start()
        if at == escaped_at or (start is None and match.group() == "\\"):
            continue
        if match.group() == "\\":
            escaped_at = at + 1
        elif start is None:
            start = at
        else:
            yield start, at + 1
            start = None


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


MAX_CODE_FILE_BYTES = 100_000


def read_code_files(submission: Submission, folder: Folder) -> None:
    """Answers written ``{file: layers.py}`` (code kept in a file of the submission folder)
    become that file's text, with the file as their position. A file that cannot be read
    (outside the folder, a link out of it, missing, too large) stays ``{file, error}``,
    which the code checker reports as unreadable."""
    for key, answer in list(submission.answers.items()):
        if not (isinstance(answer, dict) and set(answer) == {"file"} and isinstance(answer["file"], str)):
            continue
        name = answer["file"]
        try:
            path = _code_file(folder, name)
            submission.answers[key] = folder.read_text(path, MAX_CODE_FILE_BYTES)
        except ValueError as exc:
            submission.answers[key] = {"file": name, "error": str(exc)}
            continue
        submission.positions[key] = SourcePosition(folder.named(path), 1, 1)


def _code_file(folder: Folder, name: str) -> str:
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts or relative.suffix != ".py":
        raise ValueError("a code file is a .py file inside the submission folder, named relative to it")
    path = str(relative)
    resolved = folder.resolve(path)
    if folder.lookup(path) is None and resolved is not None and folder.lookup(resolved) is None:
        raise ValueError(f"there is no {name} in the submission folder")
    refusal = _not_a_file_of(path, folder)
    if refusal:
        raise ValueError(refusal)
    return path


# ---------------------------------------------------------------------------
# Limits on answers files: what a student controls is read within bounds.


def _not_a_file_of(name: str, folder: Folder) -> str | None:
    """Why an answers file is not read: a link out of its own submission folder (to another
    student's answers, or anywhere else on the machine), a link that leads nowhere, or not
    a regular file (a pipe would block the batch for ever). None when it is fine."""
    shown = PurePosixPath(name).name
    link = folder.lookup(name)
    if link is not None and link.kind == "nowhere":  # a loop of links, or a link that vanished
        return f"{shown} is a link that cannot be followed; it is not graded"
    if folder.resolve(name) is None:
        return (
            f"{shown} is a link to a file outside this submission folder; "
            "it is not graded: hand in your own answers file"
        )
    if not folder.is_file(name):
        return f"{shown} is not a regular file; it is not graded"
    return None


def load_answers_json(text: str) -> Any:
    """A JSON answers file, nesting checked before parsing, duplicate keys refused and
    integers past the number-size limit kept as the text written."""
    _check_json_nesting(text, MAX_NESTING)
    try:
        return json.loads(text, object_pairs_hook=_without_duplicates, parse_int=_json_integer)
    except json.JSONDecodeError as exc:
        where = f"(line {exc.lineno}, column {exc.colno})"
        raise UnreadableAnswers(f"not valid JSON: {exc.msg} {where}", exc.lineno, exc.colno) from None


def _without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise UnreadableAnswers(f"duplicate key {key!r}")
        result[key] = value
    return result


def _json_integer(text: str) -> int | str:
    return int(text) if len(text) <= MAX_VALUE_DIGITS else text


_JSON_STRUCTURE = re.compile(r'[\[\]{}"\\]')


def _check_json_nesting(text: str, limit: int) -> None:
    """Refuse JSON nested deeper than ``limit`` (with its line), in one pass over the
    brackets, quotes and backslashes; strings are skipped."""
    if text.count("[") + text.count("{") <= limit:
        return
    depth, in_string, escaped_at = 0, False, -1
    for match in _JSON_STRUCTURE.finditer(text):
        at, char = match.start(), match.group()
        if at == escaped_at:
            continue
        if in_string:
            escaped_at = at + 1 if char == "\\" else escaped_at
            in_string = char != '"'
        elif char == '"':
            in_string = True
        elif char in "]}":
            depth -= 1
        elif char in "[{":
            depth += 1
            if depth > limit:
                line = text.count("\n", 0, at) + 1
                column = at - text.rfind("\n", 0, at)
                message = f"nested deeper than {limit} levels (line {line}, column {column})"
                raise UnreadableAnswers(message, line, column)
