"""Rate limits and budgets per key and team, enforced from memory on the request path.

``Limiter.check`` runs before a request is forwarded: a few dict look-ups, no I/O, no awaits.
It raises ``RateLimited`` (429, ``Retry-After``) when any limit of the key or its team is used
up, and otherwise counts the request at once, so a concurrent burst is seen by the next check.

``Limiter`` is also a ``RecordSink``: ``submit(record)`` adds the finished request's tokens and
cost, so a budget exhausted by a (streamed) response stops the *next* request.

A background task calls ``sync()`` every ``LimitsConfig.sync_interval`` seconds: it hands this
instance's new counts to the ``CounterBackend`` (``SqlBackend`` for a shared store) in a worker
thread and takes back the totals of all instances.  ``start()`` syncs once, so day and month
spend survive a restart.  See docs/limits.md for the lag this implies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from lockgate.errors import RateLimited
from lockgate.records import RequestRecord
from lockgate.usage.config import Limit, LimitsConfig
from lockgate.usage.counters import Bucket, CounterBackend, CounterBook, MemoryBackend
from lockgate.usage.rules import RULES
from lockgate.usage.windows import day_bounds, horizon, minute_start, month_bounds

log = logging.getLogger(__name__)

# (scope, counter subject, limit or None, name shown to the client)
Subject = tuple[str, str, Limit | None, str]


class Limiter:
    def __init__(
        self,
        config: LimitsConfig,
        backend: CounterBackend | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.book = CounterBook()
        self._backend: CounterBackend = backend if backend is not None else MemoryBackend()
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._sync_lock: asyncio.Lock | None = None

    # -- request path ---------------------------------------------------------------------

    def subjects(self, key_id: str | None, key_name: str | None, team: str | None) -> list[Subject]:
        found: list[Subject] = []
        key = key_id or key_name
        if key is not None:
            limit = self.config.keys.get(key_name or "", self.config.default_key)
            found.append(("key", key, limit, key_name or key))
        if team is not None:
            found.append(("team", team, self.config.teams.get(team), team))
        return found

    def peek(self, key_id: str | None, key_name: str | None, team: str | None) -> RateLimited | None:
        """The error ``check`` would raise now, without counting anything."""
        return self._first_breach(self.subjects(key_id, key_name, team), self._clock())

    def check(self, key_id: str | None, key_name: str | None, team: str | None) -> None:
        """Raise ``RateLimited`` when a limit is used up; otherwise count one request."""
        now = self._clock()
        subjects = self.subjects(key_id, key_name, team)
        error = self._first_breach(subjects, now)
        if error is not None:
            raise error
        start = minute_start(now)
        for scope, subject, _, _ in subjects:
            self.book.add(Bucket(scope, subject, "minute", start), requests=1)

    def _first_breach(self, subjects: list[Subject], now: float) -> RateLimited | None:
        for scope, subject, limit, shown in subjects:
            if limit is None:
                continue
            for rule in RULES:
                breach = rule.breach(self.book, scope, subject, limit, now)
                if breach is not None:
                    return RateLimited(
                        breach.message(scope, shown),
                        code=breach.code,
                        headers={"Retry-After": str(breach.retry_after)},
                    )
        return None

    def charge(
        self,
        key_id: str | None,
        key_name: str | None,
        team: str | None,
        *,
        tokens: int = 0,
        cost: float = 0.0,
    ) -> None:
        """Add a finished request's tokens (minute window) and cost (day and month)."""
        if tokens <= 0 and cost <= 0:
            return
        now = self._clock()
        minute, day, month = minute_start(now), day_bounds(now)[0], month_bounds(now)[0]
        for scope, subject, _, _ in self.subjects(key_id, key_name, team):
            self.book.add(Bucket(scope, subject, "minute", minute), tokens=max(tokens, 0))
            self.book.add(Bucket(scope, subject, "day", day), cost=max(cost, 0.0))
            self.book.add(Bucket(scope, subject, "month", month), cost=max(cost, 0.0))

    # -- RecordSink -----------------------------------------------------------------------

    def submit(self, record: RequestRecord) -> None:
        self.charge(
            record.key_id,
            record.key_name,
            record.team,
            tokens=record.prompt_tokens + record.completion_tokens,
            cost=record.cost,
        )

    async def start(self) -> None:
        try:
            await self.sync()
        except Exception:
            log.exception("limits: could not load shared counters at start; retrying in the background")
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self._run(self._stop), name="lockgate-limits-sync")

    async def close(self) -> None:
        """Stop the background task (never mid-sync) and flush what is still pending."""
        if self._task is not None and self._stop is not None:
            self._stop.set()
            await self._task
            self._task = None
        try:
            await self.sync()
        except Exception:
            log.exception("limits: final sync of usage counters failed")

    # -- sharing --------------------------------------------------------------------------

    async def sync(self) -> None:
        """Push this instance's new counts and take back everyone's totals (one transaction)."""
        if self._sync_lock is None:
            self._sync_lock = asyncio.Lock()
        async with self._sync_lock:
            since = horizon(self._clock())
            deltas = self.book.take_pending()
            try:
                totals = await asyncio.to_thread(self._backend.exchange, deltas, since)
            except Exception:
                self.book.restore(deltas)
                raise
            self.book.replace_totals(totals)

    async def _run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.config.sync_interval)
                return
            try:
                await self.sync()
            except Exception:
                log.warning("limits: syncing usage counters failed; will retry", exc_info=True)
