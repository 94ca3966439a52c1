"""Several gateway instances enforcing one limit through the shared store (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from types import SimpleNamespace

import pytest
from sqlalchemy import Engine, func, select

from lockgate.errors import ConfigError, RateLimited
from lockgate.usage.config import Limit, LimitsConfig
from lockgate.usage.counters import Amount, Bucket, Counts, MemoryBackend
from lockgate.usage.limits import Limiter
from lockgate.usage.shared import SqlBackend, build_limiter
from lockgate.usage.tables import usage_counters


def pair(engines: tuple[Engine, Engine], config: LimitsConfig, clock) -> tuple[Limiter, Limiter]:  # type: ignore[no-untyped-def]
    first, second = engines
    return (
        Limiter(config, SqlBackend(first, "gw-a", clock=clock), clock=clock),
        Limiter(config, SqlBackend(second, "gw-b", clock=clock), clock=clock),
    )


def try_check(limiter: Limiter, key: str) -> bool:
    try:
        limiter.check(key, key, None)
    except RateLimited:
        return False
    return True


async def test_two_instances_enforce_one_shared_rpm_limit(engines, clock, subject) -> None:  # type: ignore[no-untyped-def]
    config = LimitsConfig(keys={subject: Limit(requests_per_minute=10)})
    a, b = pair(engines, config, clock)
    accepted = 0
    for i in range(30):  # requests alternate between instances, each syncs after every request
        gw = (a, b)[i % 2]
        await gw.sync()
        accepted += try_check(gw, subject)
        await gw.sync()
    assert accepted == 10  # one global limit, not 2 x 10


async def test_lag_is_bounded_by_one_sync_interval(engines, clock, subject) -> None:  # type: ignore[no-untyped-def]
    config = LimitsConfig(keys={subject: Limit(requests_per_minute=10)})
    a, b = pair(engines, config, clock)
    # burst of 6 on each instance before either syncs: each only sees its own counts
    burst = sum(try_check(a, subject) for _ in range(6)) + sum(try_check(b, subject) for _ in range(6))
    assert burst == 12  # the documented overshoot: at most one interval's traffic per instance
    await a.sync()
    await b.sync()
    await a.sync()
    assert not try_check(a, subject)
    assert not try_check(b, subject)


async def test_spend_and_tokens_are_shared_and_survive_restart(engines, clock, subject) -> None:  # type: ignore[no-untyped-def]
    config = LimitsConfig(teams={subject: Limit(spend_per_month=1.0, tokens_per_minute=500)})
    a, b = pair(engines, config, clock)
    a.charge("k1", "x", subject, tokens=300, cost=0.6)
    b.charge("k2", "y", subject, tokens=300, cost=0.6)
    await a.sync()
    await b.sync()
    with pytest.raises(RateLimited, match="tokens per minute"):
        b.check("k3", "z", subject)
    clock.advance(3600)  # tokens are long gone, the monthly spend is not
    restarted = Limiter(config, SqlBackend(engines[0], "gw-a2", clock=clock), clock=clock)
    await restarted.start()
    try:
        with pytest.raises(RateLimited, match=r"monthly spend budget of 1 \(1\.2 spent\)"):
            restarted.check("k1", "x", subject)
    finally:
        await restarted.close()


async def test_close_flushes_pending_counts(engines, clock, subject) -> None:  # type: ignore[no-untyped-def]
    config = LimitsConfig(keys={subject: Limit(requests_per_minute=3)})
    a, b = pair(engines, config, clock)
    await a.start()
    for _ in range(3):
        a.check(subject, subject, None)
    await a.close()
    await b.sync()
    assert not try_check(b, subject)
    with engines[1].connect() as conn:
        total = conn.execute(
            select(func.sum(usage_counters.c.requests)).where(usage_counters.c.subject == subject)
        ).scalar_one()
    assert total == 3


async def test_rows_are_kept_per_instance(engines, clock, subject) -> None:  # type: ignore[no-untyped-def]
    a, b = pair(engines, LimitsConfig(), clock)
    a.check(subject, subject, None)
    b.check(subject, subject, None)
    b.check(subject, subject, None)
    await a.sync()
    await b.sync()
    with engines[0].connect() as conn:
        rows = conn.execute(
            select(usage_counters.c.instance, usage_counters.c.requests)
            .where(usage_counters.c.subject == subject)
            .order_by(usage_counters.c.instance)
        ).all()
    assert [tuple(r) for r in rows] == [("gw-a", 1), ("gw-b", 2)]


async def test_stale_windows_are_pruned(engines, clock, subject) -> None:  # type: ignore[no-untyped-def]
    a, _ = pair(engines, LimitsConfig(), clock)
    a.check(subject, subject, None)
    await a.sync()
    clock.advance(2 * 3600)  # minute rows older than the horizon + one hour are deleted
    await a.sync()
    with engines[0].connect() as conn:
        left = conn.execute(
            select(func.count()).select_from(usage_counters).where(usage_counters.c.subject == subject)
        ).scalar_one()
    assert left == 0


class FlakyBackend:
    """Fails the first exchange, like a database that is restarting."""

    def __init__(self) -> None:
        self.inner = MemoryBackend()
        self.calls = 0

    def exchange(self, deltas: Mapping[Bucket, Amount], since: Mapping[str, int]) -> Counts:
        self.calls += 1
        if self.calls == 1:
            raise ConnectionError("database restarting")
        return self.inner.exchange(deltas, since)


async def test_failed_sync_keeps_the_counts(clock) -> None:  # type: ignore[no-untyped-def]
    backend = FlakyBackend()
    lim = Limiter(LimitsConfig(keys={"a": Limit(requests_per_minute=2)}), backend, clock=clock)
    lim.check("a", "a", None)
    with pytest.raises(ConnectionError):
        await lim.sync()
    lim.check("a", "a", None)
    await lim.sync()
    assert not try_check(lim, "a")
    other = Limiter(lim.config, backend, clock=clock)
    await other.sync()
    assert other.book.get(next(iter(other.book.totals))).requests == 2


async def test_start_survives_an_unreachable_store(clock) -> None:  # type: ignore[no-untyped-def]
    backend = FlakyBackend()
    lim = Limiter(LimitsConfig(sync_interval=0.01), backend, clock=clock)
    await lim.start()  # first exchange fails: logged, the gateway still starts
    lim.check("a", "a", None)
    await lim.close()  # the final flush succeeds
    assert backend.calls >= 2
    fresh = Limiter(lim.config, backend, clock=clock)
    await fresh.sync()
    assert sum(a.requests for a in fresh.book.totals.values()) == 1


def test_unknown_dialect_is_a_config_error() -> None:
    engine = SimpleNamespace(dialect=SimpleNamespace(name="mysql"))
    with pytest.raises(ConfigError, match=r"storage\.url"):
        SqlBackend(engine, "gw")  # type: ignore[arg-type]


class SignallingBackend(MemoryBackend):
    def __init__(self) -> None:
        super().__init__()
        self.synced = threading.Event()
        self.calls = 0

    def exchange(self, deltas: Mapping[Bucket, Amount], since: Mapping[str, int]) -> Counts:
        self.calls += 1
        if self.calls > 1:  # the first call is start()'s load
            self.synced.set()
        return super().exchange(deltas, since)


async def test_background_task_syncs_every_interval(clock) -> None:  # type: ignore[no-untyped-def]
    backend = SignallingBackend()
    lim = Limiter(LimitsConfig(sync_interval=0.01), backend, clock=clock)
    await lim.start()
    lim.check("a", "a", None)
    assert await asyncio.to_thread(backend.synced.wait, 30)
    await lim.close()
    assert sum(a.requests for a in backend.exchange({}, {"minute": 0}).values()) == 1


def test_migration_downgrades_and_upgrades(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect

    from lockgate.storage.db import MIGRATIONS, open_store

    engine = open_store(f"sqlite:///{tmp_path / 'm.db'}")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
    assert "usage_counters" not in inspect(engine).get_table_names()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
    inspected = inspect(engine)
    assert inspected.get_pk_constraint("usage_counters")["constrained_columns"] == [
        "scope",
        "subject",
        "period",
        "window_start",
        "instance",
    ]
    engine.dispose()


async def test_build_limiter_shares_through_the_store(engines, clock, subject) -> None:  # type: ignore[no-untyped-def]
    config = LimitsConfig(keys={subject: Limit(requests_per_minute=1)})
    a = build_limiter(config, engines[0], "gw-a", clock=clock)
    b = build_limiter(config, engines[1], "gw-b", clock=clock)
    a.check(subject, subject, None)
    await a.sync()
    await b.sync()
    assert not try_check(b, subject)


async def test_build_limiter_without_store_is_local(clock) -> None:  # type: ignore[no-untyped-def]
    lim = build_limiter(LimitsConfig(keys={"k": Limit(requests_per_minute=1)}), None, "gw", clock=clock)
    lim.check("k", "k", None)
    await lim.sync()
    assert not try_check(lim, "k")


async def test_concurrent_syncs_lose_and_double_nothing(engines, clock, subject) -> None:  # type: ignore[no-untyped-def]
    a, b = pair(engines, LimitsConfig(), clock)
    for i in range(40):
        a.charge(subject, subject, subject, tokens=i + 1, cost=0.25)
        b.charge(subject, subject, subject, tokens=2 * (i + 1), cost=0.5)
        await asyncio.gather(a.sync(), b.sync())
    await asyncio.gather(a.sync(), b.sync())
    minute = sum(v.tokens for k, v in a.book.totals.items() if k.subject == subject and k.scope == "team")
    month = sum(
        v.cost
        for k, v in b.book.totals.items()
        if k.subject == subject and k.period == "month" and k.scope == "team"
    )
    assert minute == 3 * sum(range(1, 41))
    assert month == pytest.approx(40 * 0.75)


class BlockingBackend(MemoryBackend):
    """Holds the exchange until released, like a slow database."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def exchange(self, deltas: Mapping[Bucket, Amount], since: Mapping[str, int]) -> Counts:
        self.entered.set()
        self.release.wait(30)
        return super().exchange(deltas, since)


async def test_counts_in_a_running_sync_still_count(clock) -> None:  # type: ignore[no-untyped-def]
    backend = BlockingBackend()
    lim = Limiter(LimitsConfig(keys={"a": Limit(requests_per_minute=2)}), backend, clock=clock)
    lim.check("a", "a", None)
    lim.check("a", "a", None)
    sync = asyncio.create_task(lim.sync())
    assert await asyncio.to_thread(backend.entered.wait, 30)
    assert not try_check(lim, "a")  # the two requests being sent are still seen
    backend.release.set()
    await sync
    assert not try_check(lim, "a")
    assert lim.book.sending == {}
