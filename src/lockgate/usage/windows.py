"""Time windows of the limits: one-minute windows with interpolation, UTC calendar day and month.

Minute limits use a fixed window with interpolation (a sliding-window estimate): with ``prev``
counted in the previous minute, ``curr`` in the current one and ``e`` seconds elapsed in it::

    estimate = prev * (1 - e / 60) + curr

which behaves like a true 60-second sliding window under steady load, while storing just two
counters per subject.  Spend windows are calendar periods in UTC.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from functools import lru_cache

MINUTE = 60
DAY = 86_400


def minute_start(now: float) -> int:
    return int(now // MINUTE) * MINUTE


def day_bounds(now: float) -> tuple[int, int]:
    start = int(now // DAY) * DAY
    return start, start + DAY


@lru_cache(maxsize=8)
def _month_bounds_of_day(day: int) -> tuple[int, int]:
    first = datetime.fromtimestamp(day * DAY, UTC).replace(day=1)
    nxt = (
        first.replace(year=first.year + 1, month=1)
        if first.month == 12
        else first.replace(month=first.month + 1)
    )
    return int(first.timestamp()), int(nxt.timestamp())


def month_bounds(now: float) -> tuple[int, int]:
    return _month_bounds_of_day(int(now // DAY))


def minute_bounds(now: float) -> tuple[int, int]:
    start = minute_start(now)
    return start, start + MINUTE


# period name -> (start, end) of the window that contains ``now``
PERIODS = {"minute": minute_bounds, "day": day_bounds, "month": month_bounds}


def horizon(now: float) -> dict[str, int]:
    """Oldest window start per period that limits still read (the previous minute included)."""
    return {
        "minute": minute_start(now) - MINUTE,
        "day": day_bounds(now)[0],
        "month": month_bounds(now)[0],
    }


def interpolated(prev: float, curr: float, elapsed: float) -> float:
    return prev * max(0.0, 1.0 - elapsed / MINUTE) + curr


def sliding_retry_after(prev: float, curr: float, elapsed: float, limit: float) -> float:
    """Seconds until ``interpolated(...)`` drops below ``limit`` (no new traffic assumed)."""
    if curr >= limit:
        # wait for the next window, where ``curr`` becomes the decaying previous window
        into_next = MINUTE * (1.0 - limit / curr) if curr > 0 else 0.0
        return (MINUTE - elapsed) + into_next
    if prev <= 0:
        return 0.0
    target = MINUTE * (1.0 - (limit - curr) / prev)
    return max(0.0, target - elapsed)


def retry_seconds(seconds: float) -> int:
    """Whole seconds for Retry-After: strictly after ``seconds`` (so the limit has cleared), >= 1."""
    return max(1, math.floor(seconds) + 1)


def utc_label(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
