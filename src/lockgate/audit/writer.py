"""``AuditSink``: takes records off the request path and appends them to the chain in batches.

Queue policy: ``submit`` never blocks and never awaits.  Records go into a bounded in-memory
queue (``audit.queue_max``).  When it is full the *new* record is refused, counted in
``lockgate_audit_dropped_total`` and logged at ERROR; blocking instead would turn a slow or
absent database into a gateway outage.  A full queue means the store has been unreachable for
``queue_max`` records; alert on the dropped counter and the depth gauge.

A background task writes a batch once ``batch_size`` records wait or every
``flush_interval`` seconds, in one transaction on a worker thread.  A failed batch is kept
and retried with exponential backoff; nothing is taken off the queue until it committed.
``close()`` flushes everything (retrying for up to ``close_timeout`` seconds).

Signed head: a checkpoint (an Ed25519 signature over the chain head) is written every
``checkpoint_every`` records, whenever the queue runs empty, at least every ``sign_interval``
seconds while records arrive, and on shutdown.  ``lockgate audit verify`` reports records
missing below a signed checkpoint as a truncation, so only what arrived after the newest
signature (at most ``sign_interval`` seconds of records) rests on the unsigned ``audit_heads``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, select

from lockgate.audit import appender, metrics
from lockgate.audit.chain import prepared_row
from lockgate.audit.crypto import ContentCipher
from lockgate.audit.signing import DEFAULT_KEY_FILE, Signer, load_or_create_key
from lockgate.audit.tables import audit_log
from lockgate.records import RequestRecord

if TYPE_CHECKING:
    from lockgate.config.schema import GatewayConfig

log = logging.getLogger("lockgate.audit")


class AuditSink:
    def __init__(
        self,
        engine: Engine,
        signer: Signer,
        *,
        chain_id: str = "main",
        cipher: ContentCipher | None = None,
        batch_size: int = 256,
        flush_interval: float = 0.5,
        queue_max: int = 100_000,
        checkpoint_every: int = 1000,
        sign_interval: float = 5.0,
        retry_initial: float = 0.2,
        retry_max: float = 10.0,
        close_timeout: float = 30.0,
    ) -> None:
        self.engine, self.signer, self.chain_id, self.cipher = engine, signer, chain_id, cipher
        self.batch_size, self.flush_interval, self.capacity = batch_size, flush_interval, queue_max
        self.checkpoint_every, self.sign_interval = checkpoint_every, sign_interval
        self._signed_at = time.monotonic()  # when this sink last signed the head
        # request ids that a previous writer may have committed already (records re-sent after
        # a writer process died): checked against the store before they are appended
        self.maybe_written: set[str] = set()
        self.on_commit: Callable[[], None] | None = None  # called on the loop after each batch
        self.retry_initial, self.retry_max, self.close_timeout = retry_initial, retry_max, close_timeout
        self._queue: deque[RequestRecord] = deque()
        self._pending: list[RequestRecord] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._stopped = False
        self._key_registered = False
        self.written = 0
        self.skipped = 0  # re-sent records found already committed (not appended twice)
        self.dropped = 0
        self.errors = 0

    @property
    def depth(self) -> int:
        return len(self._queue) + len(self._pending)

    def submit(self, record: RequestRecord) -> None:
        if self.depth >= self.capacity or self._stopped:
            self._drop(record)
            return
        self._queue.append(record)
        metrics.QUEUE_DEPTH.inc()
        if len(self._queue) >= self.batch_size:
            self._wake.set()

    def _drop(self, record: RequestRecord) -> None:
        self.dropped += 1
        metrics.DROPPED.inc()
        if self.dropped == 1 or self.dropped % 1000 == 0:
            why = "sink is closed" if self._stopped else f"queue full ({self.capacity})"
            log.error(
                "audit: record %s NOT recorded: %s; %d dropped so far", record.request_id, why, self.dropped
            )

    async def start(self) -> None:
        if self._task is None:
            metrics.QUEUE_CAPACITY.inc(self.capacity)
            self._task = asyncio.create_task(self._run(), name=f"audit-writer-{self.chain_id}")

    async def close(self) -> None:
        if self._task is None:
            return
        self._closing = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), self.close_timeout)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            lost = self.depth
            log.error("audit: store unreachable at shutdown; %d queued records were NOT recorded", lost)
            metrics.QUEUE_DEPTH.dec(lost)
            metrics.DROPPED.inc(lost)
            self.dropped += lost
        metrics.QUEUE_CAPACITY.dec(self.capacity)
        self._stopped = True
        self._task = None

    async def _run(self) -> None:
        delay = self.retry_initial
        while True:
            if not self._pending:
                await self._wait_for_batch()
                self._pending = [self._queue.popleft() for _ in range(min(self.batch_size, len(self._queue)))]
            if not self._pending:
                if self._closing:
                    await self._seal()
                    return
                continue
            try:
                skipped = await asyncio.to_thread(self._write, list(self._pending), idle=not self._queue)
            except Exception:
                self.errors += 1
                metrics.WRITE_ERRORS.inc()
                log.warning(
                    "audit: writing %d records failed; retrying in %.1fs",
                    len(self._pending),
                    delay,
                    exc_info=True,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max)
                continue
            delay = self.retry_initial
            done = len(self._pending)
            self._pending = []
            self.written += done - skipped
            self.skipped += skipped
            metrics.WRITTEN.inc(done - skipped)
            metrics.QUEUE_DEPTH.dec(done)
            if self.on_commit is not None:
                self.on_commit()

    async def _seal(self) -> None:
        """On shutdown: sign the chain head if records after the last checkpoint are unsigned."""
        if not self._key_registered:
            return  # this sink wrote nothing: the head is someone else's to sign
        try:
            await asyncio.to_thread(self._sign_head, "close")
        except Exception:
            log.warning("audit: could not sign the chain head at shutdown", exc_info=True)

    def _sign_head(self, kind: str) -> None:
        with self.engine.begin() as conn:
            appender.lock_chain(conn, self.chain_id)
            head = appender.read_head(conn, self.chain_id)
            if head.seq > appender.last_checkpoint_seq(conn, self.chain_id) and appender.sign_checkpoint(
                conn, self.chain_id, head, self.signer, kind
            ):
                metrics.CHECKPOINTS.inc()
        self._signed_at = time.monotonic()

    async def _wait_for_batch(self) -> None:
        if self._closing or len(self._queue) >= self.batch_size:
            return
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.flush_interval)

    def _row(self, record: RequestRecord) -> dict[str, Any]:
        row = prepared_row(record)
        for field in ("request_body", "response_body"):
            body: bytes | None = getattr(record, field)
            row[field] = None
            if self.cipher is not None and body is not None:
                row[field] = self.cipher.encrypt(body, record.request_id, field)
        return row

    def _write(self, batch: list[RequestRecord], *, idle: bool) -> int:
        """Append one batch in one transaction; returns how many were already in the chain."""
        rows = [self._row(r) for r in batch]
        skipped = 0
        with self.engine.begin() as conn:
            appender.lock_chain(conn, self.chain_id)
            if self.maybe_written:
                rows = self._not_yet_written(conn, batch, rows)
                skipped = len(batch) - len(rows)
            if not self._key_registered:
                appender.register_key(conn, self.signer)
            head = appender.append(conn, self.chain_id, rows)
            kind = self._checkpoint_kind(head.seq - appender.last_checkpoint_seq(conn, self.chain_id), idle)
            if kind and appender.sign_checkpoint(conn, self.chain_id, head, self.signer, kind):
                metrics.CHECKPOINTS.inc()
        if kind:
            self._signed_at = time.monotonic()
        self._key_registered = True
        return skipped

    def _not_yet_written(
        self, conn: Connection, batch: list[RequestRecord], rows: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Drop re-sent records a previous writer committed (looked up under the chain lock)."""
        suspects = [r for r in batch if r.request_id in self.maybe_written]
        if not suspects:
            return rows
        since = min(r.started_at for r in suspects) - 1.0  # uses the started_at index
        ids = [r.request_id for r in suspects]
        found: set[str] = set()
        for i in range(0, len(ids), 500):
            query = select(audit_log.c.request_id).where(
                audit_log.c.chain_id == self.chain_id,
                audit_log.c.started_at >= since,
                audit_log.c.request_id.in_(ids[i : i + 500]),
            )
            found.update(str(x) for x in conn.execute(query).scalars())
        self.maybe_written.difference_update(ids)
        if found:
            log.warning("audit: %d re-sent records were already in the chain; not appended twice", len(found))
        return [row for r, row in zip(batch, rows, strict=True) if r.request_id not in found]

    def _checkpoint_kind(self, unsealed: int, idle: bool) -> str | None:
        if unsealed >= self.checkpoint_every:
            return "periodic"
        if self._closing and idle:
            return "close"
        if unsealed > 0 and time.monotonic() - self._signed_at >= self.sign_interval:
            return "interval"
        return "idle" if idle and unsealed > 0 else None


def signer_for(cfg: GatewayConfig) -> Signer:
    """The checkpoint signing key: ``audit.signing_key`` or ``data_dir/audit-signing.key``."""
    return load_or_create_key(cfg.audit.signing_key or cfg.state_dir / DEFAULT_KEY_FILE)


def cipher_for(cfg: GatewayConfig) -> ContentCipher | None:
    key = cfg.audit.content_key
    return ContentCipher(key.get_secret_value()) if key is not None else None


def build_audit_sink(cfg: GatewayConfig, engine: Engine) -> AuditSink:
    """The sink the gateway registers; bodies are kept only when ``audit.log_content`` is on."""
    a = cfg.audit
    return AuditSink(
        engine,
        signer_for(cfg),
        chain_id=a.chain_id,
        cipher=cipher_for(cfg) if a.log_content else None,
        batch_size=a.batch_size,
        flush_interval=a.flush_interval,
        queue_max=a.queue_max,
        checkpoint_every=a.checkpoint_every,
        sign_interval=a.sign_interval,
        retry_initial=a.retry_initial,
        retry_max=a.retry_max,
    )
