"""The audit writer process: ``python -m lockgate.audit.worker``.

The gateway (``audit.remote.ProcessAuditSink``) sends one JSON line of settings, then
length-prefixed frames, each an orjson list of records (``wire.encode``).  This process feeds
them to an ordinary ``AuditSink`` — batching, hash chain, signed checkpoints, retries — so
the chain's Python work never competes with the gateway's event loop for the GIL.  Every
``STATS_INTERVAL`` seconds, and after every committed batch, it prints one JSON line of queue
statistics on stdout; ``written + skipped`` tells the gateway how many of the records it sent
are safely in the chain, so it can stop keeping them for a re-send.  On end of
input (the gateway closed the pipe, or died) it flushes everything it has and exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import struct
import sys
from pathlib import Path
from typing import Any

import orjson

from lockgate.audit.crypto import ContentCipher
from lockgate.audit.signing import load_or_create_key
from lockgate.audit.wire import decode
from lockgate.audit.writer import AuditSink
from lockgate.gcpolicy import freeze_heap
from lockgate.storage.db import make_engine

STATS_INTERVAL = 0.5
READ_PAUSE = 0.02  # seconds between reads of the pipe under load (the old ship cadence)
_PUMPS: set[asyncio.Task[None]] = set()
HEADER = struct.Struct("!I")
log = logging.getLogger("lockgate.audit.worker")


def stats(sink: AuditSink) -> bytes:
    body = {"depth": sink.depth, "written": sink.written, "skipped": sink.skipped, "dropped": sink.dropped,
            "errors": sink.errors}  # fmt: skip
    return orjson.dumps(body) + b"\n"


def _emit(sink: AuditSink) -> None:
    with contextlib.suppress(OSError, ValueError):  # the gateway is gone: keep flushing regardless
        sys.stdout.buffer.write(stats(sink))
        sys.stdout.buffer.flush()


async def _stdin() -> asyncio.StreamReader:
    reader = asyncio.StreamReader(limit=1 << 26)
    _PUMPS.add(asyncio.create_task(_pump(sys.stdin.fileno(), reader), name="audit-stdin"))
    return reader


async def _readable(loop: asyncio.AbstractEventLoop, fd: int) -> None:
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


async def _pump(fd: int, reader: asyncio.StreamReader) -> None:
    """Read the pipe in paced gulps.  The gateway writes each record the moment it is answered;
    waking for every one would cost both processes a context switch per request.  Records wait
    safely in the pipe (the kernel's, not the gateway's) while this pauses ``READ_PAUSE``."""
    loop = asyncio.get_running_loop()
    os.set_blocking(fd, False)
    while True:
        try:
            data = os.read(fd, 1 << 20)
        except BlockingIOError:
            await _readable(loop, fd)
            continue
        if not data:
            reader.feed_eof()
            return
        reader.feed_data(data)
        await asyncio.sleep(READ_PAUSE)


async def _report(sink: AuditSink) -> None:
    while True:
        await asyncio.sleep(STATS_INTERVAL)
        _emit(sink)


async def _consume(reader: asyncio.StreamReader, sink: AuditSink, resent: int) -> None:
    """Feed the frames to the sink.  The first ``resent`` records are ones the gateway sent a
    writer that died: the sink checks the store for them before appending (no duplicates)."""
    while True:
        try:
            size = HEADER.unpack(await reader.readexactly(HEADER.size))[0]
            frame = await reader.readexactly(size)
        except asyncio.IncompleteReadError:
            return  # the gateway closed the pipe (clean shutdown or crash): flush and stop
        for record in decode(frame):
            if resent > 0:
                resent -= 1
                sink.maybe_written.add(record.request_id)
            sink.submit(record)


def build_sink(settings: dict[str, Any]) -> AuditSink:
    """The writer's AuditSink, from explicit settings: this process loads neither the gateway's
    config schema nor the migration tool (the gateway migrated the store before starting it)."""
    content_key = settings["content_key"]
    return AuditSink(
        make_engine(settings["storage_url"]),
        load_or_create_key(Path(settings["signing_key"])),
        cipher=ContentCipher(content_key) if content_key else None,
        **settings["sink"],
    )


async def run(settings: dict[str, Any], reader: asyncio.StreamReader) -> None:
    sink = build_sink(settings)
    sink.on_commit = lambda: _emit(sink)  # the gateway forgets records once they are committed
    await sink.start()
    freeze_heap("audit writer start-up")  # SQLAlchemy metadata, key, modules: out of the collector
    reporter = asyncio.create_task(_report(sink))
    try:
        await _consume(reader, sink, int(settings.get("resent", 0)))
    finally:
        await sink.close()
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter
        _emit(sink)


async def _main() -> None:
    reader = await _stdin()
    settings = orjson.loads(await reader.readline())
    if "listen_fd" in settings:  # one writer for the workers of ``serve --workers N``
        from lockgate.audit.fanin import serve

        await serve(settings, reader)
        return
    await run(settings, reader)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(_main())


if __name__ == "__main__":
    main()
