"""In-memory usage counters, and the seam through which instances share them.

A ``CounterBook`` holds three maps of ``Bucket -> Amount``:

* ``totals``: the global counts as last read from the shared backend (every instance's
  contributions, this one's included, up to the last sync);
* ``sending``: the deltas of a sync in progress, still counted until fresh totals arrive;
* ``pending``: what this instance counted since that sync began.

Limits read ``totals + sending + pending``, so an instance sees its own traffic at once and
everyone else's with at most one sync interval of lag.  A sync hands ``pending`` to a
``CounterBackend``, which adds it to the shared store and returns fresh totals.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple, Protocol


class Bucket(NamedTuple):
    scope: str  # "key" | "team"
    subject: str  # key id or team name
    period: str  # "minute" | "day" | "month"
    window_start: int  # unix seconds, UTC


@dataclass(slots=True)
class Amount:
    requests: int = 0
    tokens: int = 0
    cost: float = 0.0

    def add(self, other: Amount) -> None:
        self.requests += other.requests
        self.tokens += other.tokens
        self.cost += other.cost


Counts = dict[Bucket, Amount]
_ZERO = Amount()


class CounterBackend(Protocol):
    """Shared store of counters.  ``exchange`` runs in a worker thread, never on the loop."""

    def exchange(self, deltas: Mapping[Bucket, Amount], since: Mapping[str, int]) -> Counts:
        """Add ``deltas`` and return the totals of every bucket whose window starts at or after
        ``since[period]``."""
        ...


class CounterBook:
    """Counters of one instance; every method is O(1) and runs on the event loop."""

    __slots__ = ("pending", "sending", "totals")

    def __init__(self) -> None:
        self.totals: Counts = {}
        self.sending: Counts = {}
        self.pending: Counts = {}

    def add(self, bucket: Bucket, *, requests: int = 0, tokens: int = 0, cost: float = 0.0) -> None:
        amount = self.pending.get(bucket)
        if amount is None:
            amount = self.pending[bucket] = Amount()
        amount.requests += requests
        amount.tokens += tokens
        amount.cost += cost

    def get(self, bucket: Bucket) -> Amount:
        a = self.totals.get(bucket, _ZERO)
        b = self.sending.get(bucket, _ZERO)
        c = self.pending.get(bucket, _ZERO)
        return Amount(
            a.requests + b.requests + c.requests, a.tokens + b.tokens + c.tokens, a.cost + b.cost + c.cost
        )

    def take_pending(self) -> Counts:
        """Start a sync: pending deltas move to ``sending`` (still counted) and are returned."""
        self.sending, self.pending = self.pending, {}
        return self.sending

    def restore(self, deltas: Counts) -> None:
        """A sync failed: put its deltas back into ``pending`` so nothing counted is lost."""
        self.sending = {}
        merge(self.pending, deltas.items())

    def replace_totals(self, totals: Counts) -> None:
        """A sync succeeded: ``totals`` now include the deltas that were being sent."""
        self.totals, self.sending = totals, {}


def merge(into: Counts, items: Iterable[tuple[Bucket, Amount]]) -> None:
    for bucket, amount in items:
        into.setdefault(bucket, Amount()).add(amount)


def recent(counts: Mapping[Bucket, Amount], since: Mapping[str, int]) -> Counts:
    return {
        b: Amount(a.requests, a.tokens, a.cost)
        for b, a in counts.items()
        if b.window_start >= since.get(b.period, 0)
    }


class MemoryBackend:
    """Process-local backend: one instance, or several limiters in one process (tests)."""

    def __init__(self) -> None:
        self._counts: Counts = {}
        self._lock = threading.Lock()

    def exchange(self, deltas: Mapping[Bucket, Amount], since: Mapping[str, int]) -> Counts:
        with self._lock:
            merge(self._counts, deltas.items())
            self._counts = recent(self._counts, since)
            return recent(self._counts, since)
