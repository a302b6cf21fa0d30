"""Times as people read them: in the course's time zone (course.yaml's ``timezone``), UTC when
it has none, and UTC on hover in pages. One function for text, one for HTML."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from html import escape


def shown_time(moment: dt.datetime, zone: zoneinfo.ZoneInfo | None) -> str:
    """``2026-12-01 17:00 CET`` in ``zone`` (``... UTC`` without one)."""
    local = moment.astimezone(zone or dt.UTC)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or 'UTC'}"


def time_html(moment: dt.datetime | None, zone: zoneinfo.ZoneInfo | None, empty: str = "none") -> str:
    """``<time datetime=... title=...>`` showing the time in ``zone``, with UTC on hover."""
    if moment is None:
        return escape(empty)
    utc = moment.astimezone(dt.UTC)
    return (
        f"<time datetime='{utc.isoformat()}' title='{utc:%Y-%m-%d %H:%M} UTC'>"
        f"{escape(shown_time(moment, zone))}</time>"
    )
