"""``grader hand``: grading by question, for TAs who grade by hand.

``grader hand groups`` lists each part's answers in groups graded at once
(unreadable ones first, then wrong ones by proven meaning with the known slip
each is, then the rest), with the hand-grading progress, and offers each wrong
group a TA commented on as a ``mistakes:`` entry for next year's problem file.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from grader.cli_options import _PROBLEM_FILE
from grader.cli_service import COURSE_ARG, DB_OPTION
from grader.core.report import Report, points_value
from grader.loading import ProblemFileError, load_problem_set, load_submission
from grader.spec import ProblemSet

if TYPE_CHECKING:
    from grader.reporting.answer_groups import AnswerGroup

EXIT_USAGE = 2
SHOWN_CHARS = 70
SHOWN_STUDENTS = 6
VARIANT_KEY = "grader.variant_key"  # the --variant-key, kept in the command's context
BY_STEP = "grader.by_step"  # --by-step, kept in the command's context


@click.group(name="hand")
def hand() -> None:
    """Grade by question: answer groups, misconceptions, hand-grading progress."""


@hand.command(name="groups")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_PROBLEM_FILE
@click.option("--part", "part_ids", multiple=True, help="Only this part (repeat for several).")
@click.option(
    "--hand",
    "hand_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The hand grades so far.",
)
@click.option("--cache", type=click.Path(dir_okay=False, path_type=Path), help="A verdict store to reuse.")
@click.option("-j", "--jobs", type=click.IntRange(1, 256), default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="The groups as JSON, for scripts.")
@click.option(
    "--mistakes", is_flag=True, help="Print a mistakes: entry for each wrong group a TA commented on."
)
@click.option(
    "--by-step",
    is_flag=True,
    expose_value=False,
    callback=lambda ctx, _, value: ctx.meta.__setitem__(BY_STEP, value),
    help="Hand-graded parts: group answers by the first wrong step of their derivations (grader steps).",
)
@click.option(
    "--variant-key",
    envvar="GRADER_VARIANT_KEY",
    expose_value=False,
    callback=lambda ctx, _, value: ctx.meta.__setitem__(VARIANT_KEY, value),
    help="The course's secret the students' variants of a set with parameters are drawn with. "
    "Env: GRADER_VARIANT_KEY.",
)
def groups_command(
    path: Path,
    problem_file: Path,
    part_ids: tuple[str, ...],
    hand_file: Path | None,
    cache: Path | None,
    jobs: int,
    as_json: bool,
    mistakes: bool,
) -> None:
    """Each part's answers in PATH (a class folder) in groups a TA grades at once."""
    from grader.batch import BatchOptions, run_batch, submission_folders
    from grader.hand import load_hand_grades

    try:
        spec = load_problem_set(problem_file)
        book = load_hand_grades(hand_file, spec) if hand_file else None
    except ProblemFileError as exc:
        click.echo(exc.render(), err=True)
        sys.exit(EXIT_USAGE)
    parts = {address: part for address, _, part in spec.iter_parts()}
    unknown = [p for p in part_ids if p not in parts]
    if unknown:
        click.echo(
            f"error: {spec.assignment} has no part {', '.join(unknown)} ({', '.join(parts)})", err=True
        )
        sys.exit(EXIT_USAGE)
    variant_key = click.get_current_context().meta.get(VARIANT_KEY)
    if spec.parameters and not variant_key:
        click.echo(
            f"error: {spec.assignment} gives each student a variant: give the course's key "
            "(--variant-key or GRADER_VARIANT_KEY)",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    folders = submission_folders(path)
    if not folders:
        click.echo(f"error: {path} holds no submissions", err=True)
        sys.exit(EXIT_USAGE)
    options = BatchOptions(
        jobs=jobs,
        cache=cache,
        use_cache=cache is not None,
        hand=book.by_folder() if book else {},
        variant_key=(variant_key or "").encode("utf-8"),
    )
    reports = run_batch(spec, path, folders, options).reports
    by_part = class_groups(spec, path, folders, reports, part_ids or tuple(parts))
    if click.get_current_context().meta.get(BY_STEP):
        from grader.engine import is_auto_graded
        from grader.reporting.step_groups import by_first_wrong_step

        by_part = {
            pid: groups if is_auto_graded(parts[pid]) else by_first_wrong_step(parts[pid], groups)
            for pid, groups in by_part.items()
        }
    if as_json:
        data = {pid: [g.to_dict() for g in groups] for pid, groups in by_part.items()}
        click.echo(json.dumps({"assignment": spec.assignment, "parts": data}, indent=2, ensure_ascii=False))
        return
    for part_id, groups in by_part.items():
        click.echo(render_groups(spec, part_id, groups))
        if mistakes:
            for snippet in group_mistakes(part_id, groups, parts[part_id].points):
                click.echo(snippet)


def class_groups(
    spec: ProblemSet, root: Path, folders: Sequence[Path], reports: list[Report], part_ids: tuple[str, ...]
) -> dict[str, list[AnswerGroup]]:
    """The answer groups of each part, from the class's reports and answers as handed in."""
    from grader.hand.variant_groups import own_part
    from grader.reporting.answer_groups import GivenAnswer, answer_groups

    parts = {address: part for address, _, part in spec.iter_parts()}
    answers = {}
    for folder in folders:
        submission = load_submission(folder)
        matched = submission.matched_to(parts)
        answers[folder.relative_to(root).as_posix()] = {} if submission.load_error else matched.answers
    found = {}
    written = spec.raw_parts()
    for part_id in part_ids:
        given = [
            GivenAnswer(
                r.folder or "",
                r.student,
                result,
                answers.get(r.folder or "", {}).get(part_id),
                own_part(spec, part_id, r.variant),
                r.variant,
            )
            for r in reports
            for result in r.parts
            if result.id == part_id
        ]
        found[part_id] = answer_groups(parts[part_id], given, written=written.get(part_id))
    return found


def render_groups(spec: ProblemSet, part_id: str, groups: list[AnswerGroup]) -> str:
    part = next(p for a, _, p in spec.iter_parts() if a == part_id)
    answered = sum(len(g.members) for g in groups if g.kind != "missing")
    graded = sum(g.graded for g in groups if g.kind != "missing")
    lines = [
        f"{part_id} ({part.type}, {points_value(part.points)} points): {answered} answers in "
        f"{sum(1 for g in groups if g.kind != 'missing')} groups, {graded} graded by hand"
    ]
    for group in groups:
        shown = group.answer.replace("\n", " ")
        if len(shown) > SHOWN_CHARS:
            shown = shown[: SHOWN_CHARS - 1] + "…"
        students = ", ".join(m.folder for m in group.members[:SHOWN_STUDENTS])
        if len(group.members) > SHOWN_STUDENTS:
            students += f", … ({len(group.members) - SHOWN_STUDENTS} more)"
        line = f"  [{group.id}] {group.kind:<8} {len(group.members):>4} × {shown or '(no answer)'}"
        if group.graded:
            line += f"  ({group.graded} graded)"
        lines.append(line)
        if group.misconception is not None:
            lines.append(
                f"      known slip: {group.misconception.name} (the reference {group.misconception.answer})"
            )
        elif group.formula is not None:
            lines.append("      a listed mistake, each in the student's own variant")
        if group.variant is not None:
            lines.append(f"      variant {group.variant} only")
        lines.append(f"      {students}")
    return "\n".join(lines) + "\n"


def group_mistakes(part_id: str, groups: list[AnswerGroup], points: float) -> list[str]:
    """A ``mistakes:`` entry per wrong group a TA graded with a comment, or with a known slip."""
    from grader.reporting.answer_groups import mistakes_entry

    return [text for group in groups if (text := mistakes_entry(part_id, group, points))]


@hand.command(name="export")
@COURSE_ARG
@click.option("-a", "--assignment", required=True, help="The assignment's name (its problem file's).")
@DB_OPTION
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write it here.")
def export_command(course_dir: Path, assignment: str, db_url: str | None, output: Path | None) -> None:
    """The grading service's hand grades of ASSIGNMENT, as a file ``grader grade --hand`` reads."""
    from sqlalchemy import select

    from grader.core.files import write_atomic
    from grader.hand.book import grades_yaml
    from grader.service.crud.hand_grades import export_grades
    from grader.service.db import Database, migrate
    from grader.service.models import Assignment
    from grader.service.settings import Settings

    settings = Settings(course_dir=course_dir, db_url=db_url)
    if db_url is None and not (settings.data_dir / "grader.sqlite3").exists():
        click.echo(f"error: no grading service database in {settings.data_dir} (give --db)", err=True)
        sys.exit(EXIT_USAGE)
    migrate(settings.database_url)
    database = Database(settings.database_url)
    try:
        with database.session() as db:
            found = db.scalar(select(Assignment).where(Assignment.name == assignment))
            if found is None:
                names = ", ".join(db.scalars(select(Assignment.name))) or "none"
                click.echo(
                    f"error: no assignment {assignment!r} in the service (assignments: {names})", err=True
                )
                sys.exit(EXIT_USAGE)
            grades = export_grades(db, found.id)
    finally:
        database.dispose()
    text = grades_yaml(grades, assignment)
    if output is None:
        click.echo(text, nl=False)
        return
    write_atomic(output, text)
    click.echo(f"wrote {len(grades)} hand grades of {assignment} to {output}", err=True)


@hand.command(name="requests")
@click.argument("course_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--db", "db_url", help="Database URL (default: SQLite in COURSE_DIR/.grader-service/).")
@click.option("--all", "show_all", is_flag=True, help="List the answered requests too.")
@click.option("--answer", "request_id", type=int, help="Answer this request (its #).")
@click.option("--points", type=click.FloatRange(min=0), help="The part's new points (a hand grade).")
@click.option("--keep", is_flag=True, help="Keep the points.")
@click.option("--reply", help="The reply the student reads.")
@click.option(
    "--by", "by_name", envvar="GRADER_TA", help="The TA answering (default: the only TA). Env: GRADER_TA."
)
def requests_command(
    course_dir: Path,
    db_url: str | None,
    show_all: bool,
    request_id: int | None,
    points: float | None,
    keep: bool,
    reply: str | None,
    by_name: str | None,
) -> None:
    """The grading service's open regrade requests; with --answer, answer one.

    An answer changes the part's points (--points, written as the student's hand grade) or
    keeps them (--keep), with a reply (--reply) the student reads on their feedback page."""
    from grader.cli_service import open_service
    from grader.service.errors import ApiError

    if request_id is not None and (reply is None or (points is None) == (not keep)):
        raise click.UsageError("--answer needs --points P or --keep, and --reply TEXT")
    service = open_service(course_dir, db_url)
    try:
        with service.db.session() as db:
            if request_id is None:
                click.echo(_listed_requests(db, service.course, show_all), nl=False)
                return
            done = _answer_request(db, service.course, request_id, points, keep, reply or "", by_name)
    except ApiError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(EXIT_USAGE)
    finally:
        service.db.dispose()
    click.echo(done)


def _listed_requests(db: Any, course: Any, show_all: bool) -> str:
    from grader.reporting.escape import terminal_text
    from grader.service.crud.regrade_requests import OPEN, requests_where
    from grader.service.models import RegradeRequestRow

    rows = requests_where(db, *([] if show_all else [RegradeRequestRow.status == OPEN]))
    if not rows:
        return "no open regrade request\n" if not show_all else "no regrade request\n"
    lines = []
    for row, student in rows:
        loaded = course.by_id(row.assignment_id)
        then = points_value(row.points_then) if row.points_then is not None else "-"
        lines.append(
            terminal_text(
                f"#{row.id} {row.status:<7} {loaded.name if loaded else '?'} {row.part} {student} "
                f"(points then {then}, asked {row.created_at:%Y-%m-%d %H:%M} UTC)",
                keep_newlines=False,
            )
        )
        lines += ["    " + terminal_text(line, keep_newlines=False) for line in row.reason.splitlines()]
        if row.status != OPEN:
            answer = f"{row.answered_by}: {row.reply}"
            lines.append("  > " + terminal_text(answer, keep_newlines=False))
    return "\n".join(lines) + "\n"


def _answer_request(
    db: Any, course: Any, request_id: int, points: float | None, keep: bool, reply: str, by_name: str | None
) -> str:
    from sqlalchemy import select

    from grader.course.regrade_requests import AnswerBody
    from grader.service.crud.regrade_requests import answer
    from grader.service.models import Role, User

    staff = db.scalars(
        select(User)
        .where(User.role.in_((Role.TA, Role.ADMIN)), User.removed_at.is_(None))
        .order_by(User.name)
    ).all()
    chosen = [u for u in staff if u.name == by_name] if by_name else staff
    if len(chosen) != 1:
        names = ", ".join(u.name for u in staff) or "none"
        raise click.UsageError(f"say who answers with --by (a TA of the course: {names})")
    try:
        body = AnswerBody(points=points, keep=keep, reply=reply)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    row = answer(db, course, request_id, body, chosen[0])
    outcome = (
        f"points changed to {points_value(row.points or 0)}" if row.points is not None else "points kept"
    )
    return f"answered regrade request #{row.id} ({row.part}): {outcome}"
