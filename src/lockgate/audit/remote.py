"""The gateway's side of the audit writer process (``audit.writer: process``, the default).

The promise: if a client got an answer, its record exists.  Every reply path acknowledges
its record (``server.ack``) before the answer's last bytes, and that lands here:

* ``submit`` encodes the record and writes it straight into the writer's pipe with one
  non-blocking ``os.write`` (a few microseconds; see docs/benchmarks.md).  Once the bytes are
  in the pipe they belong to the kernel and the writer: a SIGKILLed gateway loses nothing
  that was acknowledged, the writer reads to end of input, commits and exits.
* ``barrier`` is what the answer waits on, and it is normally ``None``: only when the pipe
  is full (the writer is behind by more than ``PIPE_SIZE`` bytes) or no writer is running
  does the answer wait, bounded by ``audit.writer_wait``.
* Every record is also kept here until the writer reports it committed (``written +
  skipped`` on its stdout, after every batch).  If the writer dies, it is restarted at once
  and every record it had not committed is re-sent; the new writer looks the re-sent ones up
  in the store and skips those the dead one had committed, so none is lost or doubled.
* With ``audit.on_writer_failure: reject`` new requests get 503 while no writer runs or the
  backlog is full (``admit``); with ``wait`` (the default) they are served and wait as above.

The writer runs in its own session, so a Ctrl-C aimed at the gateway does not interrupt its
final flush.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import sys
import time
from collections import deque
from typing import Any

import orjson

from lockgate.audit import metrics
from lockgate.audit.signing import DEFAULT_KEY_FILE
from lockgate.audit.wire import encode, row
from lockgate.audit.worker import HEADER
from lockgate.config.schema import GatewayConfig
from lockgate.errors import ServiceUnavailable
from lockgate.records import RequestRecord

log = logging.getLogger("lockgate.audit")
PIPE_SIZE = 1 << 20  # bytes of records the kernel holds for the writer (Linux F_SETPIPE_SZ)
RESTART_BACKOFF = (0.05, 2.0)  # first and longest pause between attempts to start a writer


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
            "sign_interval": a.sign_interval,
            "retry_initial": a.retry_initial,
            "retry_max": a.retry_max,
        },
    }


def frame(record: RequestRecord) -> bytes:
    body = encode([row(record)])
    return HEADER.pack(len(body)) + body


class ProcessAuditSink:
    def __init__(
        self,
        settings: dict[str, Any],
        queue_max: int,
        close_timeout: float = 60.0,
        *,
        on_failure: str = "wait",
        wait_max: float = 10.0,
    ) -> None:
        self.settings = settings
        self.queue_max = queue_max
        self.close_timeout = close_timeout
        self.on_failure = on_failure
        self.wait_max = wait_max
        self._kept: deque[bytes] = deque()  # framed records the writer has not committed yet
        self._done = 0  # of the records sent to the current writer, how many it committed
        self._out = bytearray()  # bytes the pipe would not take yet (written when it drains)
        self._fd: int | None = None  # our end of the writer's stdin; None while no writer runs
        self._waiters: list[asyncio.Future[None]] = []
        self._proc: asyncio.subprocess.Process | None = None
        self._watch: asyncio.Task[None] | None = None
        self._stats: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self.restarts = 0
        self._before = (0, 0)  # written and errors of the writers before the current one
        self.written = 0
        self.dropped = 0
        self.errors = 0
        self.child_depth = 0

    @property
    def depth(self) -> int:
        return len(self._kept)

    @property
    def live(self) -> bool:
        """A writer runs and holds (or its pipe holds) every record submitted so far."""
        return self._fd is not None and not self._out

    # -- request path ------------------------------------------------------------------
    def submit(self, record: RequestRecord) -> None:
        if self._closing or len(self._kept) >= self.queue_max:
            self.dropped += 1
            metrics.DROPPED.inc()
            if self.dropped == 1 or self.dropped % 1000 == 0:
                why = "the gateway is shutting down" if self._closing else "writer backlog full"
                log.error("audit: record %s NOT recorded (%s); %d dropped so far",
                          record.request_id, why, self.dropped)  # fmt: skip
            return
        data = frame(record)
        self._kept.append(data)
        metrics.QUEUE_DEPTH.inc()
        if self._fd is not None:
            self._send(data)

    def _send(self, data: bytes) -> None:
        """Into the pipe now when it has room, else queued behind what is already waiting."""
        if self._out:
            self._out += data
            return
        assert self._fd is not None
        try:
            n = os.write(self._fd, data)
        except BlockingIOError:
            n = 0
        except (BrokenPipeError, ConnectionResetError):
            self._lost_writer()
            return
        if n < len(data):
            self._out += data[n:]
            assert self._loop is not None
            self._loop.add_writer(self._fd, self._writable)

    def _writable(self) -> None:
        assert self._fd is not None
        try:
            n = os.write(self._fd, self._out)
        except BlockingIOError:
            return
        except (BrokenPipeError, ConnectionResetError):
            self._lost_writer()
            return
        del self._out[:n]
        if not self._out:
            self._loop_remove_writer()
            self._wake()

    def _loop_remove_writer(self) -> None:
        if self._loop is not None and self._fd is not None:
            self._loop.remove_writer(self._fd)

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for w in waiters:
            if not w.done():
                w.set_result(None)

    def barrier(self) -> asyncio.Future[None] | None:
        """None when the writer (or its pipe) holds every record submitted so far; otherwise
        something that resolves once it does, or after ``audit.writer_wait`` seconds."""
        if self.live or self._loop is None:
            return None
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._waiters.append(waiter)
        handle = self._loop.call_later(self.wait_max, self._late, waiter)
        waiter.add_done_callback(lambda _: handle.cancel())
        return waiter

    def _late(self, waiter: asyncio.Future[None]) -> None:
        if not waiter.done():
            metrics.HANDOVER_LATE.inc()
            log.error("audit: no writer took a record within %.1fs; answering anyway (the record stays "
                      "queued in the gateway and is re-sent when a writer runs)", self.wait_max)  # fmt: skip
            waiter.set_result(None)

    def admit(self) -> None:
        """``audit.on_writer_failure: reject``: refuse new requests while records cannot reach a
        writer (none runs, or the backlog is full)."""
        if self._closing:
            return
        if self._fd is None or len(self._kept) >= self.queue_max:
            raise ServiceUnavailable(
                "The audit log cannot take records right now (its writer is restarting or behind); "
                "this gateway refuses requests rather than answer without a record. Retry shortly.",
                headers={"Retry-After": "1"},
            )

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        metrics.QUEUE_CAPACITY.set(self.queue_max)
        await self._spawn()
        self._watch = asyncio.create_task(self._supervise(), name="audit-writer-watch")

    async def _spawn(self) -> None:
        """Start a writer; send it the settings and every record not yet committed."""
        read_end, write_end = os.pipe()
        try:
            with contextlib.suppress(OSError, AttributeError):  # Linux only; the default works too
                fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "lockgate.audit.worker",
                stdin=read_end, stdout=asyncio.subprocess.PIPE, start_new_session=True,
            )  # fmt: skip
        except BaseException:
            os.close(write_end)
            raise
        finally:
            os.close(read_end)
        os.set_blocking(write_end, False)
        assert proc.stdout is not None
        self._proc, self._fd, self._done = proc, write_end, 0
        self._before = (self.written, self.errors)
        self._out.clear()
        settings = {**self.settings, "resent": len(self._kept)}
        self._send(orjson.dumps(settings) + b"\n" + b"".join(self._kept))
        self._stats = asyncio.create_task(self._read_stats(proc, proc.stdout), name="audit-stats")
        if self.live:
            self._wake()

    def _lost_writer(self) -> None:
        """The pipe broke: stop writing to it; the supervisor restarts the writer."""
        if self._fd is None:
            return
        self._loop_remove_writer()
        os.close(self._fd)
        self._fd = None
        self._out.clear()

    async def _supervise(self) -> None:
        pause = RESTART_BACKOFF[0]
        while not self._closing:
            proc = self._proc
            assert proc is not None
            await proc.wait()
            if self._closing:
                return
            self._lost_writer()
            log.error("audit: the writer process died (exit %s); restarting it and re-sending %d records "
                      "it had not committed", proc.returncode, len(self._kept))  # fmt: skip
            metrics.WRITER_RESTARTS.inc()
            self.restarts += 1
            started = time.monotonic()
            while not self._closing:
                try:
                    await self._spawn()
                    break
                except Exception as exc:
                    log.error("audit: could not start a writer process (%s); retrying in %.2fs", exc, pause)
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, RESTART_BACKOFF[1])
            if time.monotonic() - started < 1.0:
                pause = RESTART_BACKOFF[0]

    async def _read_stats(self, proc: asyncio.subprocess.Process, stdout: asyncio.StreamReader) -> None:
        async for line in stdout:
            if proc is not self._proc:
                return  # a late line from a writer that has been replaced
            self._committed(line)

    def _committed(self, line: bytes) -> None:
        """One statistics line from the writer: forget the records it has committed."""
        with contextlib.suppress(orjson.JSONDecodeError, KeyError, TypeError):
            s = orjson.loads(line)
            done = s["written"] + s.get("skipped", 0)
            committed = min(done - self._done, len(self._kept))
            for _ in range(committed):
                self._kept.popleft()  # committed: no longer needed for a re-send
            metrics.QUEUE_DEPTH.dec(max(0, committed))
            self._done = max(self._done, done)
            written = self._before[0] + s["written"]  # over all writers this gateway started
            metrics.WRITTEN.inc(max(0, written - self.written))
            self.written, self.child_depth, self.errors = (
                written,
                s["depth"],
                self._before[1] + s["errors"],
            )

    async def close(self) -> None:
        if self._proc is None:
            return
        self._closing = True
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        if self._proc.returncode is not None and self._kept:  # died just now: one more writer
            self._lost_writer()
            self._closing = False
            await self._spawn()
            self._closing = True
        deadline = time.monotonic() + self.close_timeout
        if self._out and self._fd is not None and self._loop is not None:
            drained: asyncio.Future[None] = self._loop.create_future()
            self._waiters.append(drained)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(drained, self.close_timeout)
        if self._fd is not None:
            self._loop_remove_writer()
            os.close(self._fd)  # end of input: the writer commits what it has and exits
            self._fd = None
        try:
            await asyncio.wait_for(self._proc.wait(), max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            log.error("audit: the writer did not finish within %.0fs; it keeps flushing on its own",
                      self.close_timeout)  # fmt: skip
        if self._stats is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._stats, 5)
        self._wake()
        self._proc = None
