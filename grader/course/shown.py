"""Times as people read them: in the course's time zone (course.yaml's ``timezone``), UTC when
it has none (pages show them with UTC on hover: the ``time`` filter of :mod:`grader.service.templating`)."""

from __future__ import annotations

import datetime as dt
import zoneinfo


def shown_time(moment: dt.datetime, zone: zoneinfo.ZoneInfo | None) -> str:
    """``2026-12-01 17:00 CET`` in ``zone`` (``... UTC`` without one)."""
    local = moment.astimezone(zone or dt.UTC)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or 'UTC'}"
