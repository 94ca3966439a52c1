"""The gateway's side of the audit writer process (``audit.writer: process``, the default).

``submit`` appends the record's field values to a list — a few microseconds on the event
loop.  A background task ships the list every ``SHIP_INTERVAL`` seconds as one frame to the
writer process (``lockgate.audit.worker``), which hashes, signs and stores in its own
interpreter, so the audit chain's work never holds the gateway's GIL.

Loss window: on a gateway crash only the records not yet shipped (at most ``SHIP_INTERVAL``
seconds' worth) are lost; the writer sees end of input, flushes what it received and exits.
The writer runs in its own session, so a Ctrl-C aimed at the gateway does not interrupt its
final flush.  If the writer itself dies, it is restarted and later records go to the new one;
what the dead writer had not committed is lost and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from typing import Any

import orjson

from lockgate.audit import metrics
from lockgate.audit.signing import DEFAULT_KEY_FILE
from lockgate.audit.wire import encode, row
from lockgate.audit.worker import HEADER
from lockgate.config.schema import GatewayConfig
from lockgate.records import RequestRecord

log = logging.getLogger("lockgate.audit")
SHIP_INTERVAL = 0.02
SHIP_AT = 512  # ship early once this many records wait


def worker_settings(cfg: GatewayConfig) -> dict[str, Any]:
    """What the writer process needs, secrets included (sent over the pipe, never argv/env)."""
    a = cfg.audit
    return {
        "storage_url": cfg.storage_url(),
        "signing_key": str(a.signing_key or cfg.state_dir / DEFAULT_KEY_FILE),
        "content_key": a.content_key.get_secret_value() if a.log_content and a.content_key else None,
        "sink": {
            "chain_id": a.chain_id,
            "batch_size": a.batch_size,
            "flush_interval": a.flush_interval,
            "queue_max": a.queue_max,
            "checkpoint_every": a.checkpoint_every,
            "retry_initial": a.retry_initial,
            "retry_max": a.retry_max,
        },
    }


class ProcessAuditSink:
    def __init__(self, settings: dict[str, Any], queue_max: int, close_timeout: float = 60.0) -> None:
        self.settings = settings
        self.queue_max = queue_max
        self.close_timeout = close_timeout
        self._rows: list[list[Any]] = []
        self._wake = asyncio.Event()
        self._proc: asyncio.subprocess.Process | None = None
        self._pump: asyncio.Task[None] | None = None
        self._stats: asyncio.Task[None] | None = None
        self._closing = False
        self.written = 0
        self.dropped = 0
        self.errors = 0
        self.child_depth = 0

    @property
    def depth(self) -> int:
        return len(self._rows) + self.child_depth

    # -- request path ------------------------------------------------------------------
    def submit(self, record: RequestRecord) -> None:
        if self._closing or len(self._rows) >= self.queue_max:
            self.dropped += 1
            metrics.DROPPED.inc()
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.error("audit: record %s NOT recorded (writer backlog full); %d dropped so far",
                          record.request_id, self.dropped)  # fmt: skip
            return
        self._rows.append(row(record))
        if len(self._rows) >= SHIP_AT:
            self._wake.set()

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        metrics.QUEUE_CAPACITY.set(self.queue_max)
        await self._spawn()
        self._pump = asyncio.create_task(self._ship_forever(), name="audit-ship")

    async def _spawn(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "lockgate.audit.worker",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, start_new_session=True,
        )  # fmt: skip
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(orjson.dumps(self.settings) + b"\n")
        self._stats = asyncio.create_task(self._read_stats(self._proc.stdout), name="audit-stats")

    async def _read_stats(self, stdout: asyncio.StreamReader) -> None:
        async for line in stdout:
            with contextlib.suppress(orjson.JSONDecodeError, KeyError, TypeError):
                s = orjson.loads(line)
                metrics.WRITTEN.inc(max(0, s["written"] - self.written))
                self.written, self.child_depth, self.errors = s["written"], s["depth"], s["errors"]
                metrics.QUEUE_DEPTH.set(self.depth)

    async def _ship_forever(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), SHIP_INTERVAL)
            self._wake.clear()
            await self._ship()

    async def _ship(self) -> None:
        if not self._rows:
            return
        rows, self._rows = self._rows, []
        frame = encode(rows)
        for _ in range(3):
            proc = self._proc
            assert proc is not None and proc.stdin is not None
            try:
                proc.stdin.write(HEADER.pack(len(frame)) + frame)
                await proc.stdin.drain()
                return
            except (BrokenPipeError, ConnectionResetError):
                log.error("audit: the writer process died (exit %s); restarting it", proc.returncode)
                await self._spawn()
        self.dropped += len(rows)
        metrics.DROPPED.inc(len(rows))
        log.error("audit: could not hand %d records to a writer process; they were NOT recorded", len(rows))

    async def close(self) -> None:
        if self._proc is None:
            return
        self._closing = True
        if self._pump is not None:
            await self._pump
        await self._ship()
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        try:
            await asyncio.wait_for(self._proc.wait(), self.close_timeout)
        except TimeoutError:
            log.error("audit: the writer did not finish within %.0fs; it keeps flushing on its own",
                      self.close_timeout)  # fmt: skip
        if self._stats is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._stats, 5)
        self._proc = None
