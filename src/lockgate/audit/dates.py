"""Dates on the command line: ``YYYY-MM-DD`` or an ISO 8601 time; naive means UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta


def parse_when(text: str, *, end_of_day: bool = False) -> float:
    """Unix seconds for ``text``.  A bare date is its midnight, or the next midnight when
    ``end_of_day`` (so ``--to 2026-01-31`` includes all of that day).  Raise ``ValueError``."""
    text = text.strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return (start + timedelta(days=1) if end_of_day else start).timestamp()
