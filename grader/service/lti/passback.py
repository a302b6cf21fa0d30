"""Grade passback, the posting half: a thread that posts the ``lti_scores`` outbox to the
platforms' Assignment and Grade Services (docs/lms.md). Only the newest score of a line item
and LMS user is posted, never before the assignment's release, and never overtaking an older
one still being posted (a claim leases the score, under a lock of its line item: several
servers may share the database). Each timestamp is a later second than any sent before for
that line item and user (Moodle refuses one that is not, with 409). What a retry can change
is retried with capped exponential backoff; a refusal it cannot stops the score."""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from grader.course.lti import PENDING_MANUAL, LtiConfig, Platform
from grader.service.course import CourseState
from grader.service.crud import lti
from grader.service.db import Database
from grader.service.lti import scores
from grader.service.lti.keys import SCOPE_LINEITEM, SCOPE_SCORE, AccessTokens, TokenError
from grader.service.models import LtiLineItem, LtiScore, ScoreStatus, utcnow

log = logging.getLogger("grader.service.lti")
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
CONTAINER_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
FIRST_RETRY_SECONDS = 1.0  # then 2, 4, 8, ... up to
MAX_RETRY_SECONDS = 600.0
LEASE_SECONDS = 120.0  # a claimed score is due again after this (its server died posting it)
STAMP_STEP = dt.timedelta(seconds=1)  # Moodle keeps a grade's time in whole seconds
CONFLICT_ATTEMPTS = 5  # a timestamp refused this often (409) is not tried again
RETRIED = frozenset({401, 408, 409, 425, 429})  # and 5xx: what a later attempt can change
POLL_SECONDS = 0.5
BATCH = 50


class DeliveryError(RuntimeError):
    """The score was not posted; retried, unless the LMS's answer (``status``) says it is in vain."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status

    def final(self, attempts: int) -> bool:
        """Not worth another try, after ``attempts`` (this one included)."""
        if self.status == 409:
            return attempts >= CONFLICT_ATTEMPTS
        return self.status is not None and self.status < 500 and self.status not in RETRIED


@dataclass(frozen=True)
class Outgoing:
    """A claimed score and where it goes, read in the claiming transaction."""

    score_id: int
    item: LtiLineItem  # as it was then (the sessions do not expire what they read)
    platform: Platform | None
    label: str
    body: dict[str, Any]


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential backoff with a cap, a little jitter so that many scores spread out."""
    seconds = min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** min(attempts - 1, 30))
    return dt.timedelta(seconds=seconds * random.uniform(0.8, 1.0))


def scores_url(lineitem: str) -> str:
    """``{lineitem}/scores``, keeping the line item URL's query (Moodle has one)."""
    parts = urlsplit(lineitem)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))


def score_body(row: LtiScore, stamp: dt.datetime, platform: Platform | None) -> dict[str, Any]:
    """The AGS score; one whose hand-graded parts wait goes as the platform's setting says
    (``pending_scores`` in lti.yaml: Moodle keeps ``scoreGiven`` only when ``FullyGraded``)."""
    progress = row.grading_progress
    if progress == PENDING_MANUAL and platform is not None:
        progress = platform.progress_while_pending()
    return {
        "userId": row.subject,
        "scoreGiven": row.score_given,
        "scoreMaximum": row.score_maximum,
        "activityProgress": row.activity_progress,
        "gradingProgress": progress,
        "timestamp": stamp.isoformat(timespec="milliseconds"),
    }


class Passback:
    def __init__(self, db: Database, config: LtiConfig, course: CourseState, tokens: AccessTokens):
        self.db = db
        self.config = config
        self.course = course
        self.tokens = tokens
        self.http = httpx.Client(timeout=15)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="grader-lti-passback", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        self.http.close()

    def _run(self) -> None:
        try:
            with self.db.session() as db:  # a due moved while no server was running
                scores.queue_all_changed(db)
        except Exception:
            log.exception("the scores of moved dues were not queued")
        while not self._stop.is_set():
            try:
                self.deliver_due()
            except Exception:  # a database hiccup must not end the passback for good
                log.exception("grade passback loop error; retrying")
            self._stop.wait(POLL_SECONDS)

    def deliver_due(self) -> int:
        with self.db.session() as db:
            due = lti.due_scores(db, utcnow(), BATCH)
        return sum(self.deliver(score_id) for score_id in due if not self._stop.is_set())

    def deliver(self, score_id: int) -> bool:
        outgoing = self._claim(score_id)
        if outgoing is None:
            return False
        try:
            self._send(outgoing)
        except (DeliveryError, TokenError, httpx.HTTPError, ValueError) as error:
            self._failed(outgoing, error)
            return False
        with self.db.session() as db:
            row = db.get(LtiScore, score_id)
            if row is not None:
                row.status, row.delivered_at, row.last_error = ScoreStatus.DELIVERED, utcnow(), None
        log.info(
            json.dumps({"event": "lti_score", "score": score_id, "assignment": outgoing.item.assignment})
        )
        return True

    def _claim(self, score_id: int) -> Outgoing | None:
        with self.db.session() as db:
            row = db.get(LtiScore, score_id)
            # the line item's lock (PostgreSQL; SQLite has one writer) serialises the claims of
            # its scores: the checks below see every claim made before
            item = db.get(LtiLineItem, row.line_item_id, with_for_update=True) if row is not None else None
            if row is None or item is None:
                return None
            db.refresh(row)
            now = utcnow()
            if row.status not in (ScoreStatus.PENDING, ScoreStatus.SENDING) or row.next_attempt_at > now:
                return None
            if lti.superseded(db, row):
                row.status = ScoreStatus.SUPERSEDED
                return None
            loaded = self.course.get(item.assignment)
            if loaded is not None and not loaded.released(now):  # the LMS would show it early
                row.next_attempt_at = loaded.release or loaded.due or now
                return None
            if lti.earlier_in_flight(db, row, now):
                row.next_attempt_at = now + dt.timedelta(seconds=POLL_SECONDS)
                return None
            stamp = max(now, lti.last_stamp(db, row) + STAMP_STEP)
            if not lti.claim_score(db, row, now, stamp, now + dt.timedelta(seconds=LEASE_SECONDS)):
                return None  # another server took it
            platform = self.config.find(item.issuer, item.client_id)
            label = (loaded.spec.title if loaded else None) or item.assignment
            return Outgoing(row.id, item, platform, label, score_body(row, stamp, platform))

    def _failed(self, outgoing: Outgoing, error: Exception) -> None:
        why = str(error) or type(error).__name__
        with self.db.session() as db:
            row = db.get(LtiScore, outgoing.score_id)
            if row is None:
                return
            row.attempts += 1
            row.last_error = why[:2000]
            final = isinstance(error, DeliveryError) and error.final(row.attempts)
            row.status = ScoreStatus.REFUSED if final else ScoreStatus.PENDING
            row.next_attempt_at = utcnow() + retry_delay(row.attempts)
            logged = {"score": outgoing.score_id, "attempts": row.attempts, "why": why}
        log.warning(json.dumps({"event": "lti_score_refused" if final else "lti_score_failed", **logged}))

    def _send(self, outgoing: Outgoing) -> None:
        platform = outgoing.platform
        if platform is None:
            raise DeliveryError("the platform of this line item is no longer in lti.yaml")
        if SCOPE_SCORE not in (outgoing.item.scopes or ()):
            raise DeliveryError("the LMS does not let the tool post scores for this link (AGS score scope)")
        lineitem = outgoing.item.lineitem_url or self._line_item(platform, outgoing)
        token = self.tokens.token(platform, (SCOPE_SCORE,))
        response = self.http.post(
            scores_url(lineitem),
            content=json.dumps(outgoing.body),
            headers={"Content-Type": SCORE_TYPE, "Authorization": f"Bearer {token}"},
        )
        self._check(platform, response, "posting the score")

    def _line_item(self, platform: Platform, outgoing: Outgoing) -> str:
        """The platform's line item of the assignment, by its ``resourceId``, made when there
        is none; kept, so that it is looked for once."""
        assignment, lineitems = outgoing.item.assignment, outgoing.item.lineitems_url
        if not lineitems or SCOPE_LINEITEM not in (outgoing.item.scopes or ()):
            raise DeliveryError("the LMS gave no line item for this link and no right to make one")
        auth = {"Authorization": f"Bearer {self.tokens.token(platform, (SCOPE_LINEITEM,))}"}
        url = httpx.URL(lineitems).copy_merge_params({"resource_id": assignment})
        response = self.http.get(url, headers={**auth, "Accept": CONTAINER_TYPE})
        self._check(platform, response, "listing the line items")
        items = response.json()
        if not isinstance(items, list):
            raise DeliveryError("the LMS's line items are not a list")
        found = next((i for i in items if isinstance(i, dict) and i.get("resourceId") == assignment), None)
        if found is None:
            body = {"scoreMaximum": outgoing.body["scoreMaximum"], "label": outgoing.label}
            response = self.http.post(
                lineitems,
                content=json.dumps({**body, "resourceId": assignment, "tag": "grader"}),
                headers={**auth, "Content-Type": LINEITEM_TYPE, "Accept": LINEITEM_TYPE},
            )
            self._check(platform, response, "making the line item")
            found = response.json()
        if not isinstance(found, dict) or not found.get("id"):
            raise DeliveryError("the LMS's line item has no id")
        with self.db.session() as db:
            item = db.get(LtiLineItem, outgoing.item.id)
            if item is not None and not item.lineitem_url:
                item.lineitem_url = str(found["id"])
        return str(found["id"])

    def _check(self, platform: Platform, response: httpx.Response, doing: str) -> None:
        if response.is_success:
            return
        if response.status_code == 401:
            self.tokens.forget(platform)  # a new token next time
        # Moodle says why in the status line only (its body is "[]")
        answer = f"{response.status_code} {response.reason_phrase}".strip()
        raise DeliveryError(
            f"{doing}: the LMS answered {answer}: {response.text[:300]}", response.status_code
        )
