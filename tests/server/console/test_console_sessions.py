"""Console sessions in the store are shared by every process on it: one opened by one gateway
process is known to another, signing out anywhere ends it everywhere, and the idle and
absolute deadlines hold (SQLite and PostgreSQL).  Without a store they live in memory."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from lockgate.auth.console_sessions import console_sessions as table
from lockgate.server.console.sessions import (
    ABSOLUTE_SECONDS,
    IDLE_SECONDS,
    TOUCH_SECONDS,
    MemorySessions,
    StoredSessions,
    console_sessions,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr("lockgate.server.console.sessions.time.time", c)
    return c


def test_the_store_decides_where_sessions_live(engine: Engine) -> None:
    assert isinstance(console_sessions(engine), StoredSessions)
    assert isinstance(console_sessions(None), MemorySessions)


async def test_a_session_opened_by_one_process_is_known_to_another(engine: Engine, clock: Clock) -> None:
    one, two = StoredSessions(engine), StoredSessions(engine)
    opened = await one.open("keyhash")
    seen = await two.get(opened.id)
    assert seen is not None and (seen.key_hash, seen.csrf) == ("keyhash", opened.csrf)
    with engine.connect() as conn:
        (stored,) = conn.execute(select(table)).all()
    assert opened.id not in str(tuple(stored)) and stored.id_hash != opened.id  # only the hash is kept
    await two.close(opened.id)
    assert await one.get(opened.id) is None


async def test_unknown_empty_and_oversized_ids_find_nothing(engine: Engine) -> None:
    store = StoredSessions(engine)
    await store.open(None)
    for sid in (None, "", "nope", "x" * 10_000):
        assert await store.get(sid) is None


async def test_idle_deadline_last_seen_written_at_most_once_a_minute(engine: Engine, clock: Clock) -> None:
    store = StoredSessions(engine)
    opened = await store.open("k")
    created = clock.now
    clock.now += TOUCH_SECONDS / 2
    assert await store.get(opened.id) is not None
    with engine.connect() as conn:
        assert conn.execute(select(table.c.seen_at)).scalar_one() == created  # not written yet
    clock.now += TOUCH_SECONDS
    assert await store.get(opened.id) is not None
    with engine.connect() as conn:
        last = conn.execute(select(table.c.seen_at)).scalar_one()
    assert last == clock.now
    clock.now += IDLE_SECONDS - 1
    assert await store.get(opened.id) is not None
    clock.now += IDLE_SECONDS + 1
    assert await store.get(opened.id) is None
    with engine.connect() as conn:
        assert conn.execute(select(table)).all() == []  # the expired row is gone


async def test_absolute_deadline_even_when_active(engine: Engine, clock: Clock) -> None:
    store = StoredSessions(engine)
    opened = await store.open("k")
    deadline = clock.now + ABSOLUTE_SECONDS
    while clock.now + IDLE_SECONDS / 2 < deadline:
        clock.now += IDLE_SECONDS / 2
        assert await store.get(opened.id) is not None
    clock.now = deadline
    assert await store.get(opened.id) is None


async def test_opening_a_session_drops_expired_ones(engine: Engine, clock: Clock) -> None:
    store = StoredSessions(engine)
    await store.open("old")
    clock.now += IDLE_SECONDS + 1
    fresh = await store.open("new")
    with engine.connect() as conn:
        assert [r.key_hash for r in conn.execute(select(table))] == ["new"]
    assert (await store.get(fresh.id)) is not None


async def test_memory_sessions_expire_and_close(clock: Clock) -> None:
    store = MemorySessions()
    opened = await store.open("k")
    assert await store.get(opened.id) is opened
    clock.now += IDLE_SECONDS
    assert await store.get(opened.id) is None
    again = await store.open("k")
    await store.close(again.id)
    assert await store.get(again.id) is None and await store.get(None) is None
