"""A gateway worker's side of the shared audit writer (``lockgate serve --workers N``).

``SocketAuditSink`` is ``ProcessAuditSink`` with a Unix-socket connection to the one writer
the supervisor runs (``audit.fanin``) instead of a pipe to a writer of its own.  Everything
on the request path is inherited unchanged: ``submit`` writes the framed record into the
connection with one non-blocking ``os.write``, ``barrier`` is ``None`` while the kernel holds
every record, and each record is kept until the writer reports it committed.

What differs is the link: the writer's statistics come back on the same connection (one
line after each batch, counting this connection's records only), and a connection that ends
means the writer died.  The supervisor restarts it; this sink reconnects to the same socket
path (the supervisor holds the listening socket, so a connection is accepted into its queue
at once) and re-sends every record not yet committed, marked as possibly written so the new
writer skips those the dead one had committed.  On close it ends its half of the connection
and waits until the writer has committed everything it sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time

import orjson

from lockgate.audit import metrics
from lockgate.audit.remote import PIPE_SIZE, RESTART_BACKOFF, ProcessAuditSink

log = logging.getLogger("lockgate.audit")


class SocketAuditSink(ProcessAuditSink):
    def __init__(
        self,
        path: str,
        queue_max: int,
        close_timeout: float = 60.0,
        *,
        on_failure: str = "wait",
        wait_max: float = 10.0,
    ) -> None:
        super().__init__({}, queue_max, close_timeout, on_failure=on_failure, wait_max=wait_max)
        self.path = path
        self._conn: socket.socket | None = None  # the reading side (a duplicate of ``_fd``)
        self._started = False

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        metrics.QUEUE_CAPACITY.set(self.queue_max)
        await self._connect()
        self._started = True
        self._watch = asyncio.create_task(self._supervise(), name="audit-link-watch")

    async def _connect(self) -> None:
        """Connect; send the header line and every record not yet committed."""
        assert self._loop is not None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setblocking(False)
        with contextlib.suppress(OSError):  # capped by net.core.wmem_max; the default works too
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, PIPE_SIZE)
        try:
            await self._loop.sock_connect(sock, self.path)
            conn = socket.socket(fileno=os.dup(sock.fileno()))
        except BaseException:
            sock.close()
            raise
        conn.setblocking(False)
        self._fd, self._conn, self._done = sock.detach(), conn, 0
        self._before = (self.written, self.errors)
        self._out.clear()
        self._send(orjson.dumps({"resent": len(self._kept)}) + b"\n" + b"".join(self._kept))
        self._stats = asyncio.create_task(self._read_acks(conn), name="audit-acks")
        if self.live:
            self._wake()

    async def _read_acks(self, conn: socket.socket) -> None:
        """Statistics lines until the connection ends (the writer finished, or died)."""
        assert self._loop is not None
        pending = b""
        try:
            while True:
                try:
                    data = await self._loop.sock_recv(conn, 1 << 16)
                except OSError:
                    data = b""
                if not data or conn is not self._conn:
                    return
                *lines, pending = (pending + data).split(b"\n")
                for line in lines:
                    self._committed(line)
        finally:
            conn.close()

    async def _supervise(self) -> None:
        pause = RESTART_BACKOFF[0]
        while not self._closing:
            assert self._stats is not None
            await asyncio.wait({self._stats})  # the connection ended (cancelling this task stops it)
            if self._closing:
                return
            self._lost_writer()
            log.error("audit: the connection to the writer process was lost (the writer process died?); "
                      "reconnecting and re-sending %d records it had not committed", len(self._kept))  # fmt: skip
            metrics.WRITER_RESTARTS.inc()
            self.restarts += 1
            started = time.monotonic()
            while not self._closing:
                try:
                    await self._connect()
                    break
                except OSError as exc:
                    log.error("audit: could not reach the writer (%s); retrying in %.2fs", exc, pause)
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, RESTART_BACKOFF[1])
            if time.monotonic() - started < 1.0:
                pause = RESTART_BACKOFF[0]

    async def close(self) -> None:
        if not self._started:
            return
        self._started = False
        self._closing = True
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        if self._fd is None and self._kept:  # the link broke just now: one more connection
            self._closing = False
            with contextlib.suppress(OSError):
                await self._connect()
            self._closing = True
        if self._out and self._fd is not None and self._loop is not None:
            drained: asyncio.Future[None] = self._loop.create_future()
            self._waiters.append(drained)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(drained, self.close_timeout)
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.shutdown(socket.SHUT_WR)  # end of input: the writer commits and replies
        if self._fd is not None:
            self._loop_remove_writer()
            os.close(self._fd)
            self._fd = None
        if self._stats is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._stats, self.close_timeout)
        if self._kept:
            log.error("audit: %d records were not confirmed committed when this worker stopped "
                      "(they stay with the writer if it read them)", len(self._kept))  # fmt: skip
        self._wake()
