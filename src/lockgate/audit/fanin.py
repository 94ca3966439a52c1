"""One audit writer, several producers (``lockgate serve --workers N``).

The ``serve`` supervisor starts one writer process (``python -m lockgate.audit.worker``) and
passes it a listening Unix socket (``listen_fd`` in its settings line).  The supervisor keeps
its own copy of that socket, so a gateway worker can connect (and queue records in the
kernel) even while a dead writer is being replaced.

Each gateway worker (``audit.socket_sink.SocketAuditSink``) connects, sends one JSON line
``{"resent": n}`` and then the same length-prefixed frames the single-process pipe carries.
Every connection feeds the same ``AuditSink``: one queue in arrival order, one batch loop,
one hash chain, so the chain cannot fork and the writer alone decides the order.

Acknowledged means durable, as with the pipe: bytes a worker wrote into its connection are in
the kernel's queue of the writer's end, and the writer reads a connection to its end even
after the worker died (a reset is read as the end: the data before it still counts).  The
writer tells each worker, on its own connection, how many of *its* records are committed
(``written``, cumulative, after every batch), because the sink commits in arrival order and
this module remembers which producer each queued record came from.  A worker keeps every
record until then and re-sends the uncommitted ones to the next writer if this one dies.

End of the settings pipe (the supervisor closed it, or died) means: read every connection to
its end (still accepting, so a worker that lost its connection can re-send on a new one),
commit, sign the head and exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import deque
from typing import Any

import orjson

from lockgate.audit.wire import decode
from lockgate.audit.worker import HEADER, READ_PAUSE, build_sink
from lockgate.audit.writer import AuditSink
from lockgate.gcpolicy import freeze_heap

log = logging.getLogger("lockgate.audit.fanin")
DRAIN_TIMEOUT = 60.0  # seconds to wait for open connections to end once the supervisor says stop


class Producer:
    """One gateway worker's connection: how many of its records are queued and committed."""

    __slots__ = ("committed", "ended", "outstanding", "sock", "wake")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.committed = 0  # of this connection's records, how many are in the chain
        self.outstanding = 0  # queued in the sink, not committed yet
        self.ended = False  # the worker closed its side (or died)
        self.wake = asyncio.Event()


class FanIn:
    def __init__(self, sink: AuditSink) -> None:
        self.sink = sink
        self.origins: deque[Producer] = deque()  # who sent each record in the sink's queue
        self.producers: set[Producer] = set()
        self._done = 0
        self._tasks: set[asyncio.Task[None]] = set()
        sink.on_commit = self.committed

    def submit(self, producer: Producer, data: bytes, resent: int) -> int:
        """Queue one frame's records; returns how many of ``resent`` are left to mark."""
        for record in decode(data):
            if resent > 0:
                resent -= 1
                self.sink.maybe_written.add(record.request_id)
            dropped = self.sink.dropped
            self.sink.submit(record)
            if self.sink.dropped == dropped:
                self.origins.append(producer)
                producer.outstanding += 1
        return resent

    def committed(self) -> None:
        """After each batch: credit the producers of the records it committed, in order."""
        done = self.sink.written + self.sink.skipped
        count, self._done = done - self._done, done
        touched: set[Producer] = set()
        for _ in range(min(count, len(self.origins))):
            producer = self.origins.popleft()
            producer.committed += 1
            producer.outstanding -= 1
            touched.add(producer)
        for producer in touched:
            producer.wake.set()

    def stats(self, producer: Producer) -> bytes:
        s = self.sink
        body = {"depth": s.depth, "written": producer.committed, "skipped": 0, "dropped": s.dropped,
                "errors": s.errors}  # fmt: skip
        return orjson.dumps(body) + b"\n"

    # -- connections ---------------------------------------------------------------------
    async def accept(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, _ = await loop.sock_accept(listener)
            except OSError as exc:  # e.g. out of file descriptors: keep serving the open ones
                log.error("audit: accepting a producer failed (%s)", exc)
                await asyncio.sleep(0.1)
                continue
            conn.setblocking(False)
            producer = Producer(conn)
            self.producers.add(producer)
            task = asyncio.create_task(self._serve(producer), name="audit-producer")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _serve(self, producer: Producer) -> None:
        reader = asyncio.StreamReader(limit=1 << 26)
        pump = asyncio.create_task(_pump(producer.sock, reader))
        acks = asyncio.create_task(self._acks(producer))
        try:
            header = orjson.loads(await reader.readline() or b"{}")
            resent = int(header.get("resent", 0)) if isinstance(header, dict) else 0
            while True:
                try:
                    size = HEADER.unpack(await reader.readexactly(HEADER.size))[0]
                    data = await reader.readexactly(size)
                except asyncio.IncompleteReadError:
                    break
                resent = self.submit(producer, data, resent)
        except (orjson.JSONDecodeError, ValueError) as exc:
            log.error("audit: a producer sent something that is not a record frame (%s); closing it", exc)
        finally:
            producer.ended = True
            producer.wake.set()
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
            await acks
            self.producers.discard(producer)
            producer.sock.close()

    async def _acks(self, producer: Producer) -> None:
        """Tell the producer what is committed; once it has ended and nothing of it is
        outstanding, send the last line and let the connection close."""
        loop = asyncio.get_running_loop()
        while True:
            await producer.wake.wait()
            producer.wake.clear()
            with contextlib.suppress(OSError):
                await loop.sock_sendall(producer.sock, self.stats(producer))
            if producer.ended and producer.outstanding <= 0:
                return

    async def drain(self, within: float) -> None:
        """Wait until every connection has ended and its records are committed.  Producers may
        still connect meanwhile (a worker that lost its connection re-sends on a new one)."""
        deadline = asyncio.get_running_loop().time() + within
        while self._tasks:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                log.error("audit: %d producers still connected after %.0fs; closing anyway",
                          len(self._tasks), within)  # fmt: skip
                for task in set(self._tasks):
                    task.cancel()
                return
            await asyncio.wait(set(self._tasks), timeout=left)


async def _pump(sock: socket.socket, reader: asyncio.StreamReader) -> None:
    """Read a connection in paced gulps (as ``worker._pump`` reads the pipe).  A reset comes
    after every byte the peer sent, so it ends the stream like an orderly close."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            data = await loop.sock_recv(sock, 1 << 20)
        except OSError:
            data = b""
        if not data:
            reader.feed_eof()
            return
        reader.feed_data(data)
        await asyncio.sleep(READ_PAUSE)


async def serve(settings: dict[str, Any], control: asyncio.StreamReader) -> None:
    """Run the writer for several producers until ``control`` (its stdin) ends."""
    listener = socket.socket(fileno=int(settings["listen_fd"]))
    listener.setblocking(False)
    sink = build_sink(settings)
    fanin = FanIn(sink)
    await sink.start()
    freeze_heap("audit writer start-up")
    accepting = asyncio.create_task(fanin.accept(listener), name="audit-accept")
    try:
        while await control.read(1 << 16):
            pass  # nothing more is sent on the settings pipe; its end is the signal to stop
    finally:
        await fanin.drain(float(settings.get("drain_timeout", DRAIN_TIMEOUT)))
        accepting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await accepting
        listener.close()
        await fanin.drain(0.0)  # one accepted in the last instant: its records are in the queue
        await sink.close()
