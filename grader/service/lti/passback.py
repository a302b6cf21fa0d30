"""Grade passback, the posting half: a thread that delivers the ``lti_scores`` outbox to the
platforms' Assignment and Grade Services.

For each score due: a later score of the same line item and LMS user supersedes it (only
the newest is posted); a score of an assignment whose verdicts are not released yet waits
for the release. The line item is the one the launches announced, else found among the
platform's line items by ``resourceId`` (the assignment's name) or made. A score is claimed
by a conditional update that leases it for a while (several servers may share the database;
one that dies while posting lets the lease run out). A refused or unanswered post is
retried with exponential backoff (capped), for as long as it takes: the outbox is in the
database, so a restart loses nothing.
"""

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
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from grader.service.course import CourseState
from grader.service.db import Database, utcnow
from grader.service.lti import scores
from grader.service.lti.models import LtiLineItem, LtiScore, ScoreStatus
from grader.service.lti.oauth import SCOPE_LINEITEM, SCOPE_SCORE, AccessTokens, TokenError
from grader.service.lti.registration import LtiConfig, Platform

log = logging.getLogger("grader.service.lti")
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
CONTAINER_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
FIRST_RETRY_SECONDS = 1.0  # then 2, 4, 8, ... up to
MAX_RETRY_SECONDS = 600.0
LEASE_SECONDS = 120.0  # a claimed score is due again after this (its server died posting it)
POLL_SECONDS = 0.5
BATCH = 50


class DeliveryError(RuntimeError):
    """The score was not posted (the platform is down, or refused it): retried later."""


@dataclass(frozen=True)
class Outgoing:
    """A claimed score and where it goes, read in the claiming transaction."""

    score_id: int
    item_id: int
    platform: Platform | None
    assignment: str
    label: str
    lineitems_url: str | None
    lineitem_url: str | None
    scopes: tuple[str, ...]
    body: dict[str, Any]


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential backoff with a cap, a little jitter so that many scores spread out."""
    seconds = min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** min(attempts - 1, 30))
    return dt.timedelta(seconds=seconds * random.uniform(0.8, 1.0))


def scores_url(lineitem: str) -> str:
    """``{lineitem}/scores``, keeping the line item URL's query (Moodle has one)."""
    parts = urlsplit(lineitem)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))


def score_body(row: LtiScore) -> dict[str, Any]:
    return {
        "userId": row.subject,
        "scoreGiven": row.score_given,
        "scoreMaximum": row.score_maximum,
        "activityProgress": row.activity_progress,
        "gradingProgress": row.grading_progress,
        "timestamp": row.created_at.isoformat(timespec="milliseconds"),
    }


class Passback:
    """The thread that posts the outbox until :meth:`stop`."""

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
        """Post every score that is due; how many were posted."""
        with self.db.session() as db:
            due = db.scalars(
                select(LtiScore.id)
                .where(LtiScore.status == ScoreStatus.PENDING, LtiScore.next_attempt_at <= utcnow())
                .order_by(LtiScore.id)
                .limit(BATCH)
            ).all()
        return sum(self.deliver(score_id) for score_id in due if not self._stop.is_set())

    def deliver(self, score_id: int) -> bool:
        outgoing = self._claim(score_id)
        if outgoing is None:
            return False
        try:
            self._send(outgoing)
        except (DeliveryError, TokenError, httpx.HTTPError, ValueError) as error:
            self._failed(outgoing, str(error) or type(error).__name__)
            return False
        with self.db.session() as db:
            row = db.get(LtiScore, score_id)
            if row is not None:
                row.status, row.delivered_at, row.last_error = ScoreStatus.DELIVERED, utcnow(), None
        log.info(json.dumps({"event": "lti_score", "score": score_id, "assignment": outgoing.assignment}))
        return True

    def _claim(self, score_id: int) -> Outgoing | None:
        with self.db.session() as db:
            row = db.get(LtiScore, score_id)
            item = db.get(LtiLineItem, row.line_item_id) if row is not None else None
            if row is None or item is None or row.status != ScoreStatus.PENDING:
                return None
            if _superseded(db, row):
                row.status = ScoreStatus.SUPERSEDED
                return None
            now = utcnow()
            loaded = self.course.get(item.assignment)
            if loaded is not None and not loaded.released(now):  # the LMS would show it early
                row.next_attempt_at = loaded.release or loaded.due or now
                return None
            claimed = db.execute(
                update(LtiScore)
                .where(
                    LtiScore.id == score_id,
                    LtiScore.status == ScoreStatus.PENDING,
                    LtiScore.next_attempt_at <= now,
                )
                .values(next_attempt_at=now + dt.timedelta(seconds=LEASE_SECONDS))
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None  # another server took it
            return Outgoing(
                score_id=row.id,
                item_id=item.id,
                platform=self.config.find(item.issuer, item.client_id),
                assignment=item.assignment,
                label=(loaded.spec.title if loaded else None) or item.assignment,
                lineitems_url=item.lineitems_url,
                lineitem_url=item.lineitem_url,
                scopes=tuple(item.scopes or ()),
                body=score_body(row),
            )

    def _failed(self, outgoing: Outgoing, error: str) -> None:
        with self.db.session() as db:
            row = db.get(LtiScore, outgoing.score_id)
            if row is None:
                return
            row.attempts += 1
            row.last_error = error[:2000]
            row.next_attempt_at = utcnow() + retry_delay(row.attempts)
            attempts = row.attempts
        log.warning(
            json.dumps(
                {"event": "lti_score_failed", "score": outgoing.score_id, "attempts": attempts, "why": error}
            )
        )

    def _send(self, outgoing: Outgoing) -> None:
        platform = outgoing.platform
        if platform is None:
            raise DeliveryError("the platform of this line item is no longer in lti.yaml")
        if SCOPE_SCORE not in outgoing.scopes:
            raise DeliveryError("the LMS does not let the tool post scores for this link (AGS score scope)")
        lineitem = outgoing.lineitem_url or self._line_item(platform, outgoing)
        token = self.tokens.token(platform, (SCOPE_SCORE,))
        response = self.http.post(
            scores_url(lineitem),
            content=json.dumps(outgoing.body),
            headers={"Content-Type": SCORE_TYPE, "Authorization": f"Bearer {token}"},
        )
        self._check(platform, response, "posting the score")

    def _line_item(self, platform: Platform, outgoing: Outgoing) -> str:
        """The platform's line item of the assignment, by its ``resourceId``; made when there
        is none. Kept, so that it is looked for once."""
        if not outgoing.lineitems_url or SCOPE_LINEITEM not in outgoing.scopes:
            raise DeliveryError("the LMS gave no line item for this link and no right to make one")
        auth = {"Authorization": f"Bearer {self.tokens.token(platform, (SCOPE_LINEITEM,))}"}
        url = httpx.URL(outgoing.lineitems_url).copy_merge_params({"resource_id": outgoing.assignment})
        response = self.http.get(url, headers={**auth, "Accept": CONTAINER_TYPE})
        self._check(platform, response, "listing the line items")
        items = response.json()
        if not isinstance(items, list):
            raise DeliveryError("the LMS's line items are not a list")
        found = next(
            (i for i in items if isinstance(i, dict) and i.get("resourceId") == outgoing.assignment),
            None,
        )
        if found is None:
            found = self._make_line_item(platform, outgoing, auth)
        if not isinstance(found, dict) or not found.get("id"):
            raise DeliveryError("the LMS's line item has no id")
        lineitem = str(found["id"])
        with self.db.session() as db:
            item = db.get(LtiLineItem, outgoing.item_id)
            if item is not None and not item.lineitem_url:
                item.lineitem_url = lineitem
        return lineitem

    def _make_line_item(self, platform: Platform, outgoing: Outgoing, auth: dict[str, str]) -> Any:
        body = {
            "scoreMaximum": outgoing.body["scoreMaximum"],
            "label": outgoing.label,
            "resourceId": outgoing.assignment,
            "tag": "grader",
        }
        response = self.http.post(
            str(outgoing.lineitems_url),
            content=json.dumps(body),
            headers={**auth, "Content-Type": LINEITEM_TYPE, "Accept": LINEITEM_TYPE},
        )
        self._check(platform, response, "making the line item")
        return response.json()

    def _check(self, platform: Platform, response: httpx.Response, doing: str) -> None:
        if response.is_success:
            return
        if response.status_code == 401:
            self.tokens.forget(platform)  # a new token next time
        raise DeliveryError(f"{doing}: the LMS answered {response.status_code}: {response.text[:300]}")


def _superseded(db: Session, row: LtiScore) -> bool:
    """A later score of the same line item and user exists (posted or waiting)."""
    later = db.scalar(
        select(func.count())
        .select_from(LtiScore)
        .where(
            LtiScore.line_item_id == row.line_item_id,
            LtiScore.subject == row.subject,
            LtiScore.id > row.id,
            LtiScore.status != ScoreStatus.SUPERSEDED,
        )
    )
    return bool(later)


def outbox_counts(db: Session) -> dict[str, int]:
    """Scores by status, for the TA's LMS page."""
    rows = db.execute(select(LtiScore.status, func.count()).group_by(LtiScore.status)).all()
    found = {ScoreStatus.PENDING: 0, ScoreStatus.DELIVERED: 0, ScoreStatus.SUPERSEDED: 0}
    found.update({status: int(count) for status, count in rows})
    return found
