"""Recent load as capacity planning needs it: tokens per minute at the p95 minute of a window.

A window of N minutes has N one-minute buckets; a minute without requests counts as zero, so
the p95 minute is the load exceeded in only 5% of the window's minutes (nearest rank: the
value at rank ceil(0.95 N) of the ascending list).  The peak minute is reported beside it.
Series are sparse (``{minute index: tokens}``, minute index = unix seconds // 60), which keeps
a month-long window cheap.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

MINUTE = 60
MAX_WINDOW = 31 * 24 * 3600
_UNITS = {"m": 60, "h": 3600, "d": 86400}

Series = dict[int, float]  # minute index -> tokens in that minute


@dataclass(frozen=True, slots=True)
class MinuteLoad:
    p95_tokens_per_minute: float  # the p95 minute of the window (idle minutes count as zero)
    peak_tokens_per_minute: float  # the busiest minute
    tokens: float  # all tokens in the window
    minutes: int  # minutes in the window
    busy_minutes: int  # minutes with any tokens

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_window(text: str) -> int:
    """``90m``, ``24h`` or ``7d`` -> seconds (at least one minute, at most 31 days)."""
    match = re.fullmatch(r"\s*(\d+)\s*([mhd])\s*", text)
    if not match:
        raise ValueError(f"{text!r} is not a window (use e.g. 90m, 24h or 7d)")
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if not MINUTE <= seconds <= MAX_WINDOW:
        raise ValueError(f"{text!r} is out of range (1m to 31d)")
    return seconds


def minute_of(unix: float) -> int:
    return math.floor(unix / MINUTE)


def window_bounds(end: float, seconds: int) -> tuple[int, int]:
    """The first and last minute index of the ``seconds``-long window that ends with ``end``'s minute."""
    last = minute_of(end)
    return last - math.ceil(seconds / MINUTE) + 1, last


def p95_minute(series: Mapping[int, float], first: int, last: int, q: float = 0.95) -> MinuteLoad:
    """The ``q`` quantile (nearest rank) and the peak of tokens per minute over minutes
    ``first``..``last``; minutes outside that range are ignored, missing minutes are zero."""
    if last < first:
        raise ValueError("the window has no minutes")
    if not 0 < q <= 1:
        raise ValueError("q must be in (0, 1]")
    minutes = last - first + 1
    busy = sorted(v for m, v in series.items() if first <= m <= last and v > 0)
    idle = minutes - len(busy)
    rank = math.ceil(q * minutes)  # 1-based, in the ascending list of all minutes
    at_rank = 0.0 if rank <= idle else busy[rank - idle - 1]
    return MinuteLoad(
        p95_tokens_per_minute=round(at_rank, 2),
        peak_tokens_per_minute=round(busy[-1], 2) if busy else 0.0,
        tokens=round(sum(busy), 2),
        minutes=minutes,
        busy_minutes=len(busy),
    )


def add(into: Series, series: Mapping[int, float], share: float = 1.0) -> Series:
    """Add ``share`` of ``series`` minute by minute into ``into`` (returned for chaining)."""
    if share <= 0:
        return into
    for minute, tokens in series.items():
        into[minute] = into.get(minute, 0.0) + tokens * share
    return into


def total(series_list: Iterable[Mapping[int, float]]) -> Series:
    """The minute-by-minute sum of several series."""
    out: Series = {}
    for s in series_list:
        add(out, s)
    return out
