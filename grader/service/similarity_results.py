"""The TAs' similar sheets (issue 63, docs/similarity.md), computed beside the grading loop, never
in a request, and stored with their audit row; no web module here."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import time
from typing import Any

from grader.course.files import LoadedAssignment
from grader.service.course import CourseState
from grader.service.crud import similarity
from grader.service.crud.audit import audit
from grader.service.db import Database
from grader.service.models import SimilarityResult, utcnow

log = logging.getLogger("grader.service")

CHECK_SECONDS = 2.0  # between two looks of the background refresher
# The background waits for an assignment's grading to settle (no job of it waiting, or the
# oldest waiting this long: a stuck one) and leaves, between two computations of one page, at
# least GAP_FACTOR times what the last took: a backlog of regrades is not computed verdict by
# verdict. A TA's request waits for neither.
SETTLE_SECONDS = 300.0
GAP_FACTOR = 10.0
COMPUTED, CURRENT, LATER = "computed", "current", "later"


def handins_key(handed_in: list[Any]) -> str:
    """The digest of a set of hand-ins: each student's counted version and its verdict."""
    rows = [
        (user.name, submission.id, None if report is None else [(r.id, str(r.status)) for r in report.parts])
        for user, submission, report in handed_in
    ]
    return hashlib.sha256(repr(sorted(rows)).encode()).hexdigest()


def refresh(db: Database, loaded: LoadedAssignment, now: dt.datetime, settled: bool) -> str:
    """Compute and store ``loaded``'s page when due (COMPUTED); CURRENT when nothing is to be done;
    LATER when it is to be done once grading has ``settled`` and the gap since the last is over."""
    from grader.service.crud.hand_grades import counted_submissions

    with db.session(read_only=True) as session:
        row = similarity.rows_of(session, [loaded.id]).get(loaded.id)
        pending = row is not None and row.pending
        if not pending and (loaded.due is None or now < loaded.due):
            return CURRENT
        gap = (
            row is not None
            and row.computed_at is not None
            and now - row.computed_at < dt.timedelta(seconds=GAP_FACTOR * row.seconds)
        )
        if not pending and (not settled or gap):
            return LATER
        handed_in = counted_submissions(session, loaded)
    key = handins_key(handed_in)
    if not pending and row is not None and row.computed_at is not None and row.handins_key == key:
        return CURRENT
    started = time.perf_counter()
    body, graded = _computed(loaded, handed_in)
    seconds = time.perf_counter() - started
    with db.session() as session:
        row = similarity.rows_of(session, [loaded.id]).get(loaded.id)
        if row is None:
            row = SimilarityResult(assignment_id=loaded.id)
            session.add(row)
        row.handins_key, row.handins, row.graded = key, len(handed_in), graded
        row.body, row.seconds, row.computed_at = body, seconds, utcnow()
        audit(session, None, "similarity_computed", assignment=loaded.name, handins=len(handed_in))
    log.info("similar sheets of %s: %d hand-ins in %.1f s", loaded.name, len(handed_in), seconds)
    return COMPUTED


class Refresher:
    """A thread that looks every ``every`` seconds for assignments whose page is due, first
    comparing each one's stamp (hand-ins, verdicts, due, the TAs' requests) with the last look's."""

    def __init__(self, db: Database, course: CourseState, every: float = CHECK_SECONDS):
        self.db, self.course, self.every = db, course, every
        self._stop = threading.Event()
        self._seen: dict[int, tuple[Any, ...]] = {}
        self._thread = threading.Thread(target=self._run, name="grader-similarity", daemon=True)

    def start(self) -> Refresher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        failing = False
        while not self._stop.wait(self.every):
            try:
                self.look()
                failing = False
            except Exception:  # a database away or a sheet that breaks a reader: next look
                if not failing:  # once a failing spell, not every look
                    log.exception("similar sheets: the background look failed (tried again every look)")
                failing = True

    def look(self) -> list[str]:
        stamps, waiting = self._stamps()
        now = utcnow()
        done = []
        for loaded in self.course.all():
            stamp = (*stamps.get(loaded.id, ()), loaded.due, loaded.due is not None and now >= loaded.due)
            if self._seen.get(loaded.id) == stamp:
                continue
            oldest = waiting.get(loaded.id)
            settled = oldest is None or now - oldest > dt.timedelta(seconds=SETTLE_SECONDS)
            outcome = refresh(self.db, loaded, now, settled)
            if outcome == COMPUTED:
                done.append(loaded.name)
            if outcome != LATER:
                self._seen[loaded.id] = stamp
        return done

    def _stamps(self) -> tuple[dict[int, tuple[Any, ...]], dict[int, dt.datetime]]:
        """Each assignment's stamp, and when its oldest job waiting was queued."""
        with self.db.session(read_only=True) as session:
            waiting, handed, asked = similarity.stamp_rows(session)
        stamps: dict[int, tuple[Any, ...]] = {row[0]: tuple(row[1:]) for row in handed}
        for assignment_id, *rest in asked:
            stamps[assignment_id] = (*stamps.get(assignment_id, ()), *rest)
        return stamps, waiting


def _computed(loaded: LoadedAssignment, handed_in: list[Any]) -> tuple[str, int]:
    """The page's pairs, rendered, and how many of the hand-ins have a verdict."""
    from grader.course.variant_key import student_spec
    from grader.service.crud.hand_grades import read_answers
    from grader.similarity import compare_class
    from grader.similarity.page import render_page
    from grader.similarity.patterns import Graded, wrong_answers

    spec = loaded.spec
    addresses = [address for address, _, _ in spec.iter_parts()]
    answers: dict[str, dict[str, Any]] = {}
    graded = []
    for user, submission, report in handed_in:
        read = read_answers(submission, user.name)
        given = {} if read.load_error else dict(read.matched_to(addresses).answers)
        answers[user.name] = given
        if report is not None:
            graded.append(Graded(user.name, report, given))
    own_specs = {name: student_spec(spec, name) for name in answers} if spec.parameters else None
    found = compare_class(spec, answers, wrong=wrong_answers(spec, graded), own_specs=own_specs)
    title = spec.title or loaded.name
    body = render_page(
        title, found.pairs, found.sheets, found.students, "similarity_body.html", embedded=True
    )
    return body, len(graded)
