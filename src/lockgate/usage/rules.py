"""The four limits of a key or team, each a rule that reads the counters and reports a breach.

``RULES`` is the registry the limiter walks; a new kind of limit is a new entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lockgate.usage.config import Limit
from lockgate.usage.counters import Amount, Bucket, CounterBook
from lockgate.usage.windows import (
    MINUTE,
    PERIODS,
    interpolated,
    minute_start,
    retry_seconds,
    sliding_retry_after,
    utc_label,
)


@dataclass(frozen=True, slots=True)
class Breach:
    what: str  # "requests per minute"
    limit: float
    used: float
    retry_after: int  # whole seconds
    resets_at: float
    code: str
    template: str  # formatted with what, limit and used

    def message(self, scope: str, shown: str) -> str:
        head = self.template.format(what=self.what, limit=_num(self.limit), used=_num(self.used))
        return (
            f"The {scope} {shown!r} {head}; it resets at {utc_label(self.resets_at)}, "
            f"retry after {self.retry_after} s. Ask the gateway operator to raise the limit if you need more."
        )


_RATE = "reached its limit of {limit} {what} ({used} counted over the last minute)"
_BUDGET = "used up its {what} budget of {limit} ({used} spent)"


def _num(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.4f}".rstrip("0")


@dataclass(frozen=True, slots=True)
class MinuteRule:
    """Requests or tokens per minute, over a fixed window with interpolation."""

    what: str
    value_of: Callable[[Limit], float | None]
    metric: Callable[[Amount], float]

    def breach(self, book: CounterBook, scope: str, subject: str, limit: Limit, now: float) -> Breach | None:
        allowed = self.value_of(limit)
        if allowed is None:
            return None
        start = minute_start(now)
        elapsed = now - start
        prev = self.metric(book.get(Bucket(scope, subject, "minute", start - MINUTE)))
        curr = self.metric(book.get(Bucket(scope, subject, "minute", start)))
        used = interpolated(prev, curr, elapsed)
        if used < allowed:
            return None
        wait = sliding_retry_after(prev, curr, elapsed, allowed)
        return Breach(self.what, allowed, used, retry_seconds(wait), now + wait, "rate_limit_exceeded", _RATE)


@dataclass(frozen=True, slots=True)
class SpendRule:
    """Spend per calendar day or month (UTC); resets at the start of the next period."""

    what: str
    period: str
    value_of: Callable[[Limit], float | None]

    def breach(self, book: CounterBook, scope: str, subject: str, limit: Limit, now: float) -> Breach | None:
        allowed = self.value_of(limit)
        if allowed is None:
            return None
        start, end = PERIODS[self.period](now)
        spent = book.get(Bucket(scope, subject, self.period, start)).cost
        if spent < allowed:
            return None
        wait = retry_seconds(end - now)
        return Breach(self.what, allowed, spent, wait, end, "insufficient_quota", _BUDGET)


RULES: tuple[MinuteRule | SpendRule, ...] = (
    MinuteRule("requests per minute", lambda lim: lim.requests_per_minute, lambda a: a.requests),
    MinuteRule("tokens per minute", lambda lim: lim.tokens_per_minute, lambda a: a.tokens),
    SpendRule("daily spend", "day", lambda lim: lim.spend_per_day),
    SpendRule("monthly spend", "month", lambda lim: lim.spend_per_month),
)
