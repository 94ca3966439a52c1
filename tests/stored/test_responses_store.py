"""Stored responses: round trip, ownership, encryption at rest, expiry, batching, flush on close,
the in-memory cache, and the config helper, on SQLite and (with LOCKGATE_TEST_PG_URL) PostgreSQL."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from pydantic import SecretStr
from sqlalchemy import Engine, func, inspect, select, update

from lockgate.audit.crypto import ContentCipher
from lockgate.config.schema import GatewayConfig
from lockgate.storage.db import MIGRATIONS, migrate
from lockgate.stored.responses import (
    DAY,
    ResponseStore,
    StoredResponse,
    build_response_store,
    prune_responses,
)
from lockgate.stored.tables import stored_responses

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
SECRET = "Zebra-7731 lives at Elm Street 12"


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def cipher() -> ContentCipher:
    return ContentCipher("test-content-key")


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _store(engine: Engine, cipher: ContentCipher, clock: Clock, **kw: Any) -> ResponseStore:
    kw.setdefault("retention_days", 30.0)
    kw.setdefault("prune_interval", None)
    return ResponseStore(engine, cipher, clock=clock, **kw)


def _item(i: int = 0, key_id: str | None = "k1", team: str | None = "alpha", **kw: Any) -> StoredResponse:
    rid = kw.pop("id", f"resp_{i:040x}")
    return StoredResponse(
        id=rid,
        key_id=key_id,
        team=team,
        created_at=kw.pop("created_at", T0),
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": f"question {i}: {SECRET}"},
            {"role": "assistant", "content": f"answer {i} ünïcode ✓", "tool_calls": None},
        ],
        response={"id": rid, "object": "response", "status": "completed", "output": [{"n": i}]},
    )


def _rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(stored_responses)).scalar_one())


async def test_round_trip_through_the_database(engine: Engine, cipher: ContentCipher, clock: Clock) -> None:
    writer = _store(engine, cipher, clock)
    await writer.start()
    item = _item(1)
    writer.put(item)
    await writer.close()
    assert _rows(engine) == 1

    reader = _store(engine, cipher, clock)  # a fresh cache: this read comes from the database
    got = await reader.get(item.id, "k1", "alpha")
    assert got is not None and got is not item
    assert got == item
    with engine.connect() as conn:
        row = conn.execute(select(stored_responses)).one()._mapping
    assert (row["key_id"], row["team"], row["created_at"]) == ("k1", "alpha", T0)
    assert row["expires_at"] == pytest.approx(T0 + 30 * DAY)
    assert await reader.get("resp_missing", "k1", "alpha") is None
    assert await reader.get("", "k1", "alpha") is None
    assert await reader.get("x" * 500, "k1", "alpha") is None


async def test_visible_at_once_before_any_write(engine: Engine, cipher: ContentCipher, clock: Clock) -> None:
    store = _store(engine, cipher, clock, cache_size=0)  # no cache: the pending map answers
    item = _item(2)
    store.put(item)
    assert _rows(engine) == 0
    assert await store.get(item.id, "k1", None) is item
    await store.close()
    assert _rows(engine) == 1


@pytest.mark.parametrize("from_db", [False, True])
async def test_only_the_owner_and_its_team_may_read(
    engine: Engine, cipher: ContentCipher, clock: Clock, from_db: bool
) -> None:
    store = _store(engine, cipher, clock)
    team_item, solo_item = _item(1, "k1", "alpha"), _item(2, "k2", None)
    store.put(team_item)
    store.put(solo_item)
    await store.close()

    def reader() -> ResponseStore:
        return _store(engine, cipher, clock) if from_db else store

    cases: list[tuple[StoredResponse, str | None, str | None, bool]] = [
        (team_item, "k1", "alpha", True),  # the same key
        (team_item, "k1", None, True),  # the same key, whatever its team
        (team_item, "k9", "alpha", True),  # another key of the same team
        (team_item, "k9", "beta", False),  # another key of another team
        (team_item, "k9", None, False),  # another key without a team
        (team_item, None, None, False),
        (solo_item, "k2", None, True),
        (solo_item, "k3", None, False),  # no team on either side is not a shared team
        (solo_item, "k3", "alpha", False),
    ]
    for item, key_id, team, allowed in cases:
        got = await reader().get(item.id, key_id, team)
        assert (got == item) is allowed and (got is None) is not allowed, (item.id, key_id, team)


async def test_keyless_principal_reads_its_own(engine: Engine, cipher: ContentCipher, clock: Clock) -> None:
    store = _store(engine, cipher, clock)
    item = _item(3, key_id="anonymous", team=None)
    store.put(item)
    await store.close()
    assert await _store(engine, cipher, clock).get(item.id, "anonymous", None) == item


async def test_encrypted_at_rest_and_bound_to_id_and_owner(
    engine: Engine, cipher: ContentCipher, clock: Clock
) -> None:
    store = _store(engine, cipher, clock)
    first, second = _item(1, "k1", "alpha"), _item(2, "k2", "beta")
    store.put(first)
    store.put(second)
    await store.close()
    with engine.connect() as conn:
        blobs = {r.id: bytes(r.blob) for r in conn.execute(select(stored_responses))}
    for blob in blobs.values():
        assert SECRET.encode() not in blob
        assert b"question" not in blob and b"completed" not in blob and b"resp_" not in blob
        assert blob[:1] == b"\x01"

    other_key = _store(engine, ContentCipher("another-key"), clock)
    assert await other_key.get(first.id, "k1", "alpha") is None

    # changing the owner in the database does not hand the response to someone else
    with engine.begin() as conn:
        conn.execute(update(stored_responses).where(stored_responses.c.id == first.id).values(key_id="thief"))
    assert await _store(engine, cipher, clock).get(first.id, "thief", None) is None
    # nor does moving a blob onto another row
    with engine.begin() as conn:
        conn.execute(
            update(stored_responses).where(stored_responses.c.id == second.id).values(blob=blobs[first.id])
        )
    assert await _store(engine, cipher, clock).get(second.id, "k2", "beta") is None


async def test_expired_responses_are_not_served_and_are_pruned(
    engine: Engine, cipher: ContentCipher, clock: Clock
) -> None:
    store = _store(engine, cipher, clock, retention_days=1.0)
    old, new = _item(1, created_at=T0 - 2 * DAY), _item(2, created_at=T0)
    store.put(old)
    store.put(new)
    assert await store.get(old.id, "k1", "alpha") is None  # from the cache
    assert await store.get(new.id, "k1", "alpha") is new
    await store.close()

    fresh = _store(engine, cipher, clock, retention_days=1.0)
    assert await fresh.get(old.id, "k1", "alpha") is None  # from the database
    assert await fresh.get(new.id, "k1", "alpha") == new
    assert _rows(engine) == 2
    assert fresh.prune() == 1
    assert _rows(engine) == 1
    assert fresh.prune(now=T0 + 2 * DAY) == 1
    assert _rows(engine) == 0
    assert prune_responses(engine) == 0


async def test_without_retention_nothing_expires(engine: Engine, cipher: ContentCipher, clock: Clock) -> None:
    store = _store(engine, cipher, clock, retention_days=None)
    item = _item(1, created_at=T0 - 10_000 * DAY)
    store.put(item)
    await store.close()
    with engine.connect() as conn:
        assert conn.execute(select(stored_responses.c.expires_at)).scalar_one() is None
    assert prune_responses(engine, now=T0 + 10_000 * DAY) == 0
    assert await _store(engine, cipher, clock, retention_days=None).get(item.id, "k1", None) == item
    with pytest.raises(ValueError):
        ResponseStore(engine, cipher, retention_days=0)


async def test_background_task_prunes(engine: Engine, cipher: ContentCipher, clock: Clock) -> None:
    seed = _store(engine, cipher, clock, retention_days=1.0)
    seed.put(_item(1, created_at=T0 - 2 * DAY))
    seed.put(_item(2))
    await seed.close()
    store = _store(engine, cipher, clock, retention_days=1.0, prune_interval=3600.0)
    await store.start()
    for _ in range(200):
        if _rows(engine) == 1:
            break
        await asyncio.sleep(0.02)
    await store.close()
    assert _rows(engine) == 1


async def test_writes_leave_in_batches_while_running(
    engine: Engine, cipher: ContentCipher, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(engine, cipher, clock, flush_interval=0.05, batch_size=50)
    batches: list[int] = []
    real = store._write

    def counting(batch: list[StoredResponse]) -> int:
        batches.append(len(batch))
        return real(batch)

    monkeypatch.setattr(store, "_write", counting)
    await store.start()
    for i in range(120):
        store.put(_item(i))
    for _ in range(250):
        if store.depth == 0:
            break
        await asyncio.sleep(0.02)
    assert store.depth == 0 and _rows(engine) == 120  # written without closing
    assert sum(batches) == 120 and len(batches) <= 4 and max(batches) == 50
    await store.close()
    assert store.written == 120


async def test_close_flushes_everything(engine: Engine, cipher: ContentCipher, clock: Clock) -> None:
    store = _store(engine, cipher, clock, flush_interval=60.0, batch_size=100)
    await store.start()
    await asyncio.sleep(0)
    items = [_item(i) for i in range(333)]
    for item in items:
        store.put(item)
    await store.close()
    assert _rows(engine) == 333 and store.written == 333 and store.depth == 0
    with pytest.raises(RuntimeError):
        store.put(_item(999))
    reader = _store(engine, cipher, clock)
    assert await reader.get(items[-1].id, "k1", None) == items[-1]


async def test_close_without_start_still_writes(engine: Engine, cipher: ContentCipher, clock: Clock) -> None:
    store = _store(engine, cipher, clock)
    store.put(_item(1))
    await store.close()
    await store.close()  # idempotent
    assert _rows(engine) == 1


async def test_failed_batch_is_retried(
    engine: Engine, cipher: ContentCipher, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(engine, cipher, clock, retry_initial=0.01)
    real, calls = store._write, []

    def flaky(batch: list[StoredResponse]) -> int:
        calls.append(len(batch))
        if len(calls) < 3:
            raise ConnectionError("store down")
        return real(batch)

    monkeypatch.setattr(store, "_write", flaky)
    await store.start()
    store.put(_item(1))
    store.put(_item(2))
    await store.close()
    assert calls == [2, 2, 2] and store.errors == 2 and _rows(engine) == 2


async def test_same_id_put_again_keeps_the_latest(
    engine: Engine, cipher: ContentCipher, clock: Clock
) -> None:
    store = _store(engine, cipher, clock)
    first = _item(1)
    store.put(first)
    await store.close()
    again = _store(engine, cipher, clock)
    newer = _item(1)
    newer.response = {**newer.response, "status": "incomplete"}
    again.put(newer)
    await again.close()
    assert _rows(engine) == 1
    got = await _store(engine, cipher, clock).get(first.id, "k1", None)
    assert got is not None and got.response["status"] == "incomplete"


async def test_cache_answers_without_the_database(
    engine: Engine, cipher: ContentCipher, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(engine, cipher, clock, cache_size=2)
    items = [_item(i) for i in range(3)]
    for item in items:
        store.put(item)
    await store.close()  # written, so only the cache and the database can answer

    loads: list[str] = []
    real = store._load

    def counting(rid: str, key_id: str | None, team: str | None) -> StoredResponse | None:
        loads.append(rid)
        return real(rid, key_id, team)

    monkeypatch.setattr(store, "_load", counting)
    assert await store.get(items[2].id, "k1", None) is items[2]
    assert await store.get(items[1].id, "k1", None) is items[1]
    assert await store.get(items[2].id, "k2", None) is None  # the cache checks the owner too
    assert loads == []
    assert await store.get(items[0].id, "k1", None) == items[0]  # evicted: read from the database
    assert loads == [items[0].id]
    assert await store.get(items[0].id, "k1", None) is not None
    assert loads == [items[0].id]  # and now cached again

    # a database read never runs on the event loop: the cache hit path does no I/O at all
    def boom(*_: Any) -> None:
        raise AssertionError("database touched")

    monkeypatch.setattr(store, "_load", boom)
    assert await store.get(items[0].id, "k1", None) is not None


def test_put_rejects_what_does_not_fit(engine: Engine, cipher: ContentCipher, clock: Clock) -> None:
    store = _store(engine, cipher, clock)
    with pytest.raises(ValueError):
        store.put(_item(id=""))
    with pytest.raises(ValueError):
        store.put(_item(id="r" * 65))
    with pytest.raises(ValueError):
        store.put(_item(1, key_id="k" * 65))
    with pytest.raises(ValueError):
        store.put(_item(1, team="t" * 201))
    assert store.depth == 0


async def test_unserialisable_item_is_dropped_not_retried(
    engine: Engine, cipher: ContentCipher, clock: Clock
) -> None:
    store = _store(engine, cipher, clock)
    bad = _item(1)
    bad.response = {"when": object()}
    store.put(bad)
    store.put(_item(2))
    await store.close()
    assert _rows(engine) == 1 and store.dropped == 1 and store.written == 1


def test_table_and_migration(engine: Engine) -> None:
    insp = inspect(engine)
    assert {c["name"] for c in insp.get_columns("stored_responses")} == set(stored_responses.c.keys())
    assert insp.get_pk_constraint("stored_responses")["constrained_columns"] == ["id"]
    assert ("expires_at",) in {tuple(ix["column_names"]) for ix in insp.get_indexes("stored_responses")}
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
    assert "stored_responses" not in inspect(engine).get_table_names()
    migrate(engine)
    assert "stored_responses" in inspect(engine).get_table_names()


def _config(**audit: Any) -> GatewayConfig:
    return GatewayConfig.model_validate({"audit": audit})


def test_build_from_config(engine: Engine) -> None:
    store, reason = build_response_store(_config(), engine)
    assert store is None and "audit.content_key" in reason and reason.endswith(".")

    cfg = _config(content_key=SecretStr("k"), retention_days=200)
    store, reason = build_response_store(cfg, engine)
    assert store is not None and reason == ""
    assert store.retention_days == 200.0 and store.cache_size == 1024

    store, reason = build_response_store(cfg, None)
    assert store is None and "no store" in reason

    off = cfg.model_copy(update={"responses": cfg.responses.model_copy(update={"store": False})})
    store, reason = build_response_store(off, engine)
    assert store is None and "responses.store: false" in reason


async def test_built_store_round_trips(engine: Engine) -> None:
    store, _ = build_response_store(_config(content_key=SecretStr("k")), engine)
    assert store is not None
    await store.start()
    item = _item(5, created_at=time.time())
    store.put(item)
    await store.close()
    again, _ = build_response_store(_config(content_key=SecretStr("k")), engine)
    assert again is not None and await again.get(item.id, "k1", None) == item


def test_config_section_in_yaml() -> None:
    cfg = GatewayConfig.model_validate({"responses": {"store": False, "cache_size": 0}})
    assert cfg.responses.store is False and cfg.responses.cache_size == 0
    with pytest.raises(ValueError):
        GatewayConfig.model_validate({"responses": {"stor": True}})


def test_layering_keeps_the_request_stack_out() -> None:
    code = (
        "import sys, lockgate.stored.responses\n"
        "bad = sorted(m for m in sys.modules if m.startswith(("
        "'lockgate.server', 'lockgate.routing', 'lockgate.protocols', 'lockgate.providers')))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
