"""Counters shared by several gateway instances through the SQL store (PostgreSQL or SQLite).

``SqlBackend.exchange`` runs in a worker thread, in one transaction:

1. upsert this instance's deltas into its own rows of ``usage_counters``
   (``INSERT … ON CONFLICT DO UPDATE SET requests = requests + excluded.requests …``);
2. read back ``SUM(...) GROUP BY bucket`` over all instances for the windows limits still use;
3. now and then, delete rows of windows nobody reads any more.

The upsert is the same statement on PostgreSQL and SQLite; only the dialect's ``insert``
construct differs, looked up in ``UPSERTS``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from lockgate.errors import ConfigError
from lockgate.usage.config import LimitsConfig
from lockgate.usage.counters import Amount, Bucket, Counts
from lockgate.usage.limits import Limiter
from lockgate.usage.tables import usage_counters as T

# dialect name -> its INSERT construct with ``on_conflict_do_update``
UPSERTS: dict[str, Callable[[Any], Any]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}

# how long rows stay behind the oldest window limits read (clock skew between instances)
KEEP_BEHIND = {"minute": 3_600, "day": 2 * 86_400, "month": 62 * 86_400}
PRUNE_EVERY = 60.0
_KEY = ("scope", "subject", "period", "window_start", "instance")


def _bucket_of(item: tuple[Bucket, Amount]) -> Bucket:
    return item[0]


class SqlBackend:
    """``CounterBackend`` over the lockgate store; ``instance`` names this gateway's rows."""

    def __init__(self, engine: Engine, instance: str, *, clock: Callable[[], float] = time.time) -> None:
        insert = UPSERTS.get(engine.dialect.name)
        if insert is None:
            raise ConfigError(
                f"storage.url: shared limits need PostgreSQL or SQLite, not {engine.dialect.name!r}"
            )
        self._engine = engine
        self._instance = instance
        self._clock = clock
        self._last_prune = -PRUNE_EVERY
        stmt = insert(T)
        self._upsert = stmt.on_conflict_do_update(
            index_elements=list(_KEY),
            set_={
                "requests": T.c.requests + stmt.excluded.requests,
                "tokens": T.c.tokens + stmt.excluded.tokens,
                "cost": T.c.cost + stmt.excluded.cost,
                "updated_at": stmt.excluded.updated_at,
            },
        )

    def exchange(self, deltas: Mapping[Bucket, Amount], since: Mapping[str, int]) -> Counts:
        with self._engine.begin() as conn:
            self._push(conn, deltas)
            totals = self._pull(conn, since)
            self._maybe_prune(conn, since)
        return totals

    def _push(self, conn: Connection, deltas: Mapping[Bucket, Amount]) -> None:
        now = self._clock()
        rows = [
            {
                "scope": b.scope,
                "subject": b.subject,
                "period": b.period,
                "window_start": b.window_start,
                "instance": self._instance,
                "requests": a.requests,
                "tokens": a.tokens,
                "cost": a.cost,
                "updated_at": now,
            }
            for b, a in sorted(deltas.items(), key=_bucket_of)  # one lock order for every writer
            if a.requests or a.tokens or a.cost
        ]
        if rows:
            conn.execute(self._upsert, rows)

    def _pull(self, conn: Connection, since: Mapping[str, int]) -> Counts:
        windows = [and_(T.c.period == p, T.c.window_start >= start) for p, start in since.items()]
        query = (
            select(
                T.c.scope,
                T.c.subject,
                T.c.period,
                T.c.window_start,
                func.sum(T.c.requests),
                func.sum(T.c.tokens),
                func.sum(T.c.cost),
            )
            .where(or_(*windows))
            .group_by(T.c.scope, T.c.subject, T.c.period, T.c.window_start)
        )
        return {
            Bucket(scope, subject, period, int(start)): Amount(int(req or 0), int(tok or 0), float(cost or 0))
            for scope, subject, period, start, req, tok, cost in conn.execute(query)
        }

    def _maybe_prune(self, conn: Connection, since: Mapping[str, int]) -> None:
        now = self._clock()
        if now - self._last_prune < PRUNE_EVERY:
            return
        self._last_prune = now
        stale = [
            and_(T.c.period == p, T.c.window_start < start - KEEP_BEHIND.get(p, 0))
            for p, start in since.items()
        ]
        conn.execute(delete(T).where(or_(*stale)))


def build_limiter(
    config: LimitsConfig, store: Engine | None, instance: str, *, clock: Callable[[], float] = time.time
) -> Limiter:
    """The gateway's limiter: shared through ``store`` when there is one, else process-local."""
    backend = SqlBackend(store, instance, clock=clock) if store is not None else None
    return Limiter(config, backend, clock=clock)
