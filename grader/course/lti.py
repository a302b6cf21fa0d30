"""The course's LMS platforms: ``COURSE_DIR/lti.yaml`` lists the LMSs (issuer, client id, the
OIDC auth, token and JWKS URLs, deployment ids) this course accepts launches from, and for
each what its gradebook shows while a part waits for a TA (``pending_scores``). LTI itself (the
launches, scores and rosters) is :mod:`grader.service.lti`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, model_validator

CONFIG_FILE = "lti.yaml"
# The issuers of Canvas hosted by Instructure (a self-hosted Canvas has its own)
CANVAS_HOSTS = ("canvas.instructure.com", "canvas.beta.instructure.com", "canvas.test.instructure.com")
FULLY_GRADED, PENDING_MANUAL = "FullyGraded", "PendingManual"


class LtiConfigError(ValueError):
    pass


class Platform(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    issuer: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    auth_url: HttpUrl  # the platform's OIDC authorization endpoint
    token_url: HttpUrl  # OAuth2 token endpoint (AGS, NRPS)
    jwks_url: HttpUrl  # the platform's public keys
    deployment_ids: tuple[str, ...] = Field(min_length=1)
    # What the gradebook gets while a part waits for a TA: the automatic points as a grade
    # (fully_graded: every LMS shows them), or marked as waiting (pending_manual: Canvas shows
    # them as "needs grading", Moodle stores no grade until the full score); auto: pending_manual
    # for Canvas hosted by Instructure, fully_graded for any other platform.
    pending_scores: Literal["auto", "fully_graded", "pending_manual"] = "auto"
    # Institution roles (LIS institution/person#NAME, e.g. Administrator) whose holders are TAs
    # in every course of the platform; by default only the course's own staff are
    institution_ta_roles: tuple[str, ...] = ()

    def progress_while_pending(self) -> str:
        """The AGS ``gradingProgress`` of a score whose hand-graded parts wait."""
        choice = self.pending_scores
        if choice == "auto":
            choice = "pending_manual" if urlsplit(self.issuer).hostname in CANVAS_HOSTS else "fully_graded"
        return PENDING_MANUAL if choice == "pending_manual" else FULLY_GRADED


class LtiConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # The service's public URL, as the platforms know it: the OIDC redirect_uri and the links
    # deep linking makes are built from it, never from a request's Host header
    tool_url: HttpUrl | None = None
    platforms: tuple[Platform, ...] = ()

    @model_validator(mode="after")
    def _tool_url_with_platforms(self) -> LtiConfig:
        if self.platforms and self.tool_url is None:
            raise ValueError("tool_url is required: the service's public URL, e.g. https://grader.example")
        return self

    @property
    def launch_url(self) -> str:
        """The tool's launch URL (the OIDC redirect_uri, the target of the links it makes)."""
        return f"{str(self.tool_url).rstrip('/')}/lti/launch"

    def find(self, issuer: str, client_id: str | None = None) -> Platform | None:
        """The registration of ``issuer`` (and ``client_id`` when the platform sends one)."""
        matches = (p for p in self.platforms if p.issuer == issuer and client_id in (None, p.client_id))
        return next(matches, None)


def load(course_dir: Path) -> LtiConfig:
    """The course's registrations; none (LTI off) when there is no ``lti.yaml``."""
    path = course_dir / CONFIG_FILE
    if not path.exists():
        return LtiConfig()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return LtiConfig.model_validate(data)
    except (yaml.YAMLError, ValidationError) as error:
        raise LtiConfigError(f"{path}: {error}") from error
