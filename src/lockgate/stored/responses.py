"""``ResponseStore``: responses kept for ``previous_response_id`` and ``GET /v1/responses/{id}``.

A stored response carries the whole conversation as chat-completions messages (this turn's
assistant reply included), so a continuation only prepends them, and the Responses API object
as the client received it.  It is sealed with the content key (``audit.content_key``,
AES-256-GCM, see ``audit.crypto``) bound to its id and owner, and expires after the audit
retention.

The request path never waits on the database:

* ``put`` is synchronous and O(1): the item goes into an in-memory LRU and a pending map and is
  readable by ``get`` at once.  A background task writes the pending items in batches, one
  transaction on a worker thread (serialising and encrypting there too).  A failed batch is
  kept and retried with backoff; ``close`` writes everything still pending.
* ``get`` answers from the LRU or the pending map; only a miss reads the row through
  ``asyncio.to_thread``.

Ownership: a response is readable by the key that created it and by any key of the same team.
Everyone else gets ``None``, exactly as for an id that does not exist, so ids cannot be probed.
Keyless gateways store under the one anonymous principal, which then reads its own responses.

Items handed to ``put`` and returned by ``get`` are shared with the cache: treat them as
read-only (build new lists to continue a conversation).

Several gateway instances on one PostgreSQL store see each other's responses once written
(within ``flush_interval``); each keeps its own cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

import orjson
from cryptography.exceptions import InvalidTag
from sqlalchemy import Engine, delete, insert, select

from lockgate.audit.crypto import ContentCipher
from lockgate.stored.tables import stored_responses

if TYPE_CHECKING:
    from lockgate.config.schema import GatewayConfig

log = logging.getLogger("lockgate.stored")

DAY = 86_400.0
_FORMAT = 1  # version of the JSON inside the sealed blob
_MAX_ID = 64  # stored_responses.id / key_id
_MAX_TEAM = 200


@dataclass(slots=True)
class StoredResponse:
    id: str
    key_id: str | None
    team: str | None
    created_at: float
    messages: list[dict[str, Any]]  # the whole conversation, this turn's assistant reply included
    response: dict[str, Any]  # the Responses API object as returned to the client


def _field(key_id: str | None, team: str | None) -> str:
    """Associated data beside the id: a blob decrypts only under the owner it was written for."""
    return "stored_response " + orjson.dumps([key_id, team]).decode()


def _owned_by(item_key: str | None, item_team: str | None, key_id: str | None, team: str | None) -> bool:
    return item_key == key_id or (item_team is not None and item_team == team)


class ResponseStore:
    def __init__(
        self,
        engine: Engine,
        cipher: ContentCipher,
        retention_days: float | None,
        cache_size: int = 1024,
        flush_interval: float = 0.05,
        *,
        batch_size: int = 256,
        max_pending: int = 10_000,
        retry_initial: float = 0.2,
        retry_max: float = 10.0,
        close_timeout: float = 30.0,
        prune_interval: float | None = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``retention_days``: rows expire that long after creation (``None``: never).
        ``prune_interval``: seconds between deletions of expired rows by the background task
        (``None``: only ``prune()`` deletes them; expired rows are never served either way)."""
        if retention_days is not None and retention_days <= 0:
            raise ValueError("retention_days must be positive (or None to keep responses)")
        self.engine, self.cipher, self.retention_days = engine, cipher, retention_days
        self.cache_size, self.flush_interval, self.batch_size = cache_size, flush_interval, batch_size
        self.max_pending, self.retry_initial, self.retry_max = max_pending, retry_initial, retry_max
        self.close_timeout, self.prune_interval, self.clock = close_timeout, prune_interval, clock
        self._cache: OrderedDict[str, StoredResponse] = OrderedDict()
        self._pending: dict[str, StoredResponse] = {}  # put, not yet committed (incl. the batch in flight)
        self._queue: dict[str, StoredResponse] = {}  # waiting for the next batch, oldest first
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._closed = False
        self._prunes = prune_interval is not None and retention_days is not None
        self._next_prune = 0.0
        self.written = 0
        self.dropped = 0
        self.errors = 0

    # -- request path ------------------------------------------------------------------------

    @property
    def depth(self) -> int:
        """Stored responses not yet committed to the database."""
        return len(self._pending)

    def put(self, item: StoredResponse) -> None:
        """Keep ``item``; never blocks.  It is readable by ``get`` at once and written soon after.

        Raises ``ValueError`` for an id or owner that does not fit the table, and
        ``RuntimeError`` after ``close``.
        """
        if self._closed:
            raise RuntimeError("ResponseStore is closed")
        if not item.id or len(item.id) > _MAX_ID:
            raise ValueError(f"stored response id must have 1 to {_MAX_ID} characters")
        if item.key_id is not None and len(item.key_id) > _MAX_ID:
            raise ValueError(f"stored response key_id longer than {_MAX_ID} characters")
        if item.team is not None and len(item.team) > _MAX_TEAM:
            raise ValueError(f"stored response team longer than {_MAX_TEAM} characters")
        self._remember(item)
        if len(self._pending) >= self.max_pending and item.id not in self._pending:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.error(
                    "stored responses: %d writes pending (store unreachable?); %s is kept in memory "
                    "only; %d not written so far",
                    len(self._pending),
                    item.id,
                    self.dropped,
                )
            return
        self._queue[item.id] = item
        self._pending[item.id] = item
        if len(self._queue) == 1 or len(self._queue) >= self.batch_size:
            self._wake.set()  # from the first item the writer gathers for flush_interval

    async def get(self, response_id: str, key_id: str | None, team: str | None) -> StoredResponse | None:
        """The stored response, or ``None`` when it is missing, expired, unreadable, or owned by
        another key outside the caller's team."""
        item = self._cache.get(response_id)
        if item is not None:
            self._cache.move_to_end(response_id)
        else:
            item = self._pending.get(response_id)
        if item is not None:
            if self._expired(item.created_at):
                self._cache.pop(response_id, None)
                return None
            return item if _owned_by(item.key_id, item.team, key_id, team) else None
        if not response_id or len(response_id) > _MAX_ID:
            return None
        item = await asyncio.to_thread(self._load, response_id, key_id, team)
        if item is not None:
            self._remember(item)
        return item

    def _remember(self, item: StoredResponse) -> None:
        if self.cache_size <= 0:
            return
        self._cache[item.id] = item
        self._cache.move_to_end(item.id)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def _expires_at(self, created_at: float) -> float | None:
        return None if self.retention_days is None else created_at + self.retention_days * DAY

    def _expired(self, created_at: float) -> bool:
        expires = self._expires_at(created_at)
        return expires is not None and expires <= self.clock()

    # -- database (worker threads) -----------------------------------------------------------

    def _load(self, response_id: str, key_id: str | None, team: str | None) -> StoredResponse | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(stored_responses).where(stored_responses.c.id == response_id)).first()
        if row is None:
            return None
        m = row._mapping
        expires = m["expires_at"]
        if expires is not None and float(expires) <= self.clock():
            return None
        if not _owned_by(m["key_id"], m["team"], key_id, team):
            return None
        try:
            plain = self.cipher.decrypt(bytes(m["blob"]), response_id, _field(m["key_id"], m["team"]))
            body = orjson.loads(plain)
        except (InvalidTag, ValueError):
            log.warning(
                "stored responses: %s cannot be decrypted (other content key, or altered in the store)",
                response_id,
            )
            return None
        return StoredResponse(
            id=response_id,
            key_id=m["key_id"],
            team=m["team"],
            created_at=float(m["created_at"]),
            messages=body["messages"],
            response=body["response"],
        )

    def _row(self, item: StoredResponse) -> dict[str, Any] | None:
        try:
            plain = orjson.dumps({"v": _FORMAT, "messages": item.messages, "response": item.response})
        except TypeError:
            log.error("stored responses: %s is not JSON-serialisable; not written", item.id, exc_info=True)
            return None
        return {
            "id": item.id,
            "key_id": item.key_id,
            "team": item.team,
            "created_at": item.created_at,
            "expires_at": self._expires_at(item.created_at),
            "blob": self.cipher.encrypt(plain, item.id, _field(item.key_id, item.team)),
        }

    def _write(self, batch: list[StoredResponse]) -> int:
        """Write ``batch`` in one transaction; idempotent, so a retried batch never conflicts."""
        rows = [r for r in map(self._row, batch) if r is not None]
        if rows:
            with self.engine.begin() as conn:
                ids = [r["id"] for r in rows]
                conn.execute(delete(stored_responses).where(stored_responses.c.id.in_(ids)))
                conn.execute(insert(stored_responses), rows)
        return len(rows)

    def prune(self, now: float | None = None) -> int:
        """Delete rows expired at ``now`` (default: the clock); returns how many.  Synchronous:
        call it from a CLI, or from a coroutine through ``asyncio.to_thread``."""
        return prune_responses(self.engine, self.clock() if now is None else now)

    # -- background writer -------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None and not self._closed:
            self._closing = False
            self._task = asyncio.create_task(self._run(), name="stored-responses-writer")

    async def close(self) -> None:
        """Write everything pending (retrying for up to ``close_timeout`` seconds), then stop."""
        if self._closed:
            return
        self._closing = True
        if self._task is None:  # never started: write what was put, on a worker thread
            self._task = asyncio.create_task(self._run(), name="stored-responses-writer")
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), self.close_timeout)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            log.error(
                "stored responses: store unreachable at shutdown; %d responses were NOT stored",
                len(self._pending),
            )
            self.dropped += len(self._pending)
        self._task = None
        self._closed = True

    async def _run(self) -> None:
        delay = self.retry_initial
        batch: list[StoredResponse] = []
        while True:
            if not batch:
                await self._maybe_prune()
                await self._wait_for_batch()
                batch = [self._queue.pop(i) for i in list(islice(self._queue, self.batch_size))]
            if not batch:
                if self._closing:
                    return
                continue
            try:
                written = await asyncio.to_thread(self._write, batch)
            except Exception:
                self.errors += 1
                log.warning(
                    "stored responses: writing %d failed; retrying in %.1fs", len(batch), delay, exc_info=True
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max)
                continue
            delay = self.retry_initial
            self.written += written
            self.dropped += len(batch) - written
            for item in batch:
                if self._pending.get(item.id) is item:  # a newer put of the same id stays pending
                    del self._pending[item.id]
            batch = []

    async def _wait_for_batch(self) -> None:
        if self._closing or len(self._queue) >= self.batch_size:
            return
        if not self._queue:
            self._wake.clear()
            idle = max(0.0, self._next_prune - time.monotonic()) if self._prunes else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), idle)
        if self._queue and not self._closing and len(self._queue) < self.batch_size:
            # gather what arrives within flush_interval into the same transaction
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.flush_interval)

    async def _maybe_prune(self) -> None:
        """Delete expired rows once every ``prune_interval`` (the first time right after start)."""
        if not self._prunes or self._closing or time.monotonic() < self._next_prune:
            return
        self._next_prune = time.monotonic() + (self.prune_interval or 0.0)
        try:
            gone = await asyncio.to_thread(self.prune)
        except Exception:
            log.warning("stored responses: deleting expired responses failed", exc_info=True)
            return
        if gone:
            log.info("stored responses: deleted %d expired", gone)


def prune_responses(engine: Engine, now: float | None = None) -> int:
    """Delete stored responses expired at ``now`` (default: the current time); no key needed."""
    cutoff = time.time() if now is None else now
    with engine.begin() as conn:
        gone = conn.execute(
            delete(stored_responses).where(
                stored_responses.c.expires_at.is_not(None), stored_responses.c.expires_at <= cutoff
            )
        )
        return int(gone.rowcount)


def build_response_store(cfg: GatewayConfig, engine: Engine | None) -> tuple[ResponseStore | None, str]:
    """The gateway's store for ``store: true`` / ``previous_response_id``, or ``None`` with the
    reason when storage is unavailable: one sentence that names the setting, for the client's
    400 (the caller adds what the client should do instead); ``""`` with a store."""
    if not cfg.responses.store:
        return None, "Stored responses are turned off on this gateway (responses.store: false)."
    if engine is None:
        return None, "Stored responses are unavailable: this gateway has no store."
    key = cfg.audit.content_key
    if key is None or not key.get_secret_value():
        return None, (
            "Stored responses are unavailable: this gateway has no content key to encrypt them "
            "(audit.content_key)."
        )
    store = ResponseStore(
        engine,
        ContentCipher(key.get_secret_value()),
        retention_days=float(cfg.audit.retention_days),
        cache_size=cfg.responses.cache_size,
    )
    return store, ""
