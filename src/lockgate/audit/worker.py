"""The audit writer process: ``python -m lockgate.audit.worker``.

The gateway (``audit.remote.ProcessAuditSink``) sends one JSON line of settings, then
length-prefixed frames, each an orjson list of records (``wire.encode``).  This process feeds
them to an ordinary ``AuditSink`` — batching, hash chain, signed checkpoints, retries — so
the chain's Python work never competes with the gateway's event loop for the GIL.  Every
``STATS_INTERVAL`` seconds it prints one JSON line of queue statistics on stdout.  On end of
input (the gateway closed the pipe, or died) it flushes everything it has and exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
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
HEADER = struct.Struct("!I")
log = logging.getLogger("lockgate.audit.worker")


def stats(sink: AuditSink) -> bytes:
    body = {"depth": sink.depth, "written": sink.written, "dropped": sink.dropped, "errors": sink.errors}
    return orjson.dumps(body) + b"\n"


async def _stdin() -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    return reader


async def _report(sink: AuditSink) -> None:
    while True:
        await asyncio.sleep(STATS_INTERVAL)
        sys.stdout.buffer.write(stats(sink))
        sys.stdout.buffer.flush()


async def _consume(reader: asyncio.StreamReader, sink: AuditSink) -> None:
    while True:
        try:
            size = HEADER.unpack(await reader.readexactly(HEADER.size))[0]
            frame = await reader.readexactly(size)
        except asyncio.IncompleteReadError:
            return  # the gateway closed the pipe (clean shutdown or crash): flush and stop
        for record in decode(frame):
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
    await sink.start()
    freeze_heap("audit writer start-up")  # SQLAlchemy metadata, key, modules: out of the collector
    reporter = asyncio.create_task(_report(sink))
    try:
        await _consume(reader, sink)
    finally:
        await sink.close()
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter
        sys.stdout.buffer.write(stats(sink))
        sys.stdout.buffer.flush()


async def _main() -> None:
    reader = await _stdin()
    settings = orjson.loads(await reader.readline())
    await run(settings, reader)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(_main())


if __name__ == "__main__":
    main()
