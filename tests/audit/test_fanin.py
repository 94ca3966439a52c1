"""One audit writer process, several gateway workers (``audit.fanin`` + ``audit.socket_sink``).

The writer runs as ``serve --workers`` runs it: ``python -m lockgate.audit.worker`` with a
listening Unix socket passed in, its settings on stdin.  Two ``SocketAuditSink``s (the two
workers' sides) hand records over interleaved; the writer is SIGKILLed mid-way and replaced on
the same socket.  Every record is in one chain exactly once, each worker learns that exactly
its own records are committed, and the chain verifies with a signed head.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import orjson
from tests.audit.test_process_sink import settings, stored_ids, wait_dead

from lockgate.audit.socket_sink import SocketAuditSink
from lockgate.audit.testing import sample_record
from lockgate.audit.verify import verify
from lockgate.storage.db import open_store


class Writer:
    def __init__(self, cfg: dict[str, Any], path: Path) -> None:
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(16)
        self.settings = {**cfg, "listen_fd": self.listener.fileno()}
        self.proc: asyncio.subprocess.Process | None = None

    async def spawn(self) -> asyncio.subprocess.Process:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "lockgate.audit.worker", stdin=asyncio.subprocess.PIPE,
            pass_fds=(self.listener.fileno(),),
        )  # fmt: skip
        assert self.proc.stdin is not None
        self.proc.stdin.write(orjson.dumps(self.settings) + b"\n")
        await self.proc.stdin.drain()
        return self.proc

    async def stop(self) -> int:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.close()
        code = await asyncio.wait_for(self.proc.wait(), 60)
        self.listener.close()
        return code


async def committed(sink: SocketAuditSink, at_least: int) -> None:
    for _ in range(400):
        if sink.written >= at_least:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"only {sink.written} committed")


async def test_two_producers_one_chain_through_a_writer_restart(store_url: str, tmp_path: Path) -> None:
    writer = Writer(settings(store_url, tmp_path), tmp_path / "audit.sock")
    first = await writer.spawn()
    sinks = [SocketAuditSink(str(tmp_path / "audit.sock"), queue_max=10_000, wait_max=20) for _ in range(2)]
    for sink in sinks:
        await sink.start()
    for i in range(300):
        sinks[i % 2].submit(sample_record(i))
        assert sinks[i % 2].barrier() is None  # in the kernel's hands: nothing to wait for
    await committed(sinks[0], 50)
    os.kill(first.pid, signal.SIGKILL)
    wait_dead(first.pid)
    await writer.spawn()  # what the supervisor does; the sinks reconnect and re-send
    for i in range(300, 400):
        sinks[i % 2].submit(sample_record(i))
    for sink in sinks:
        await asyncio.wait_for(sink.close(), 60)
    assert await writer.stop() == 0
    for n, sink in enumerate(sinks):
        assert sink.depth == 0, f"worker {n} still holds {sink.depth} uncommitted records"
        assert sink.restarts == 1
    ids = stored_ids(store_url)
    assert set(ids) == {f"req-{i:06d}" for i in range(400)}
    assert max(ids.values()) == 1, "a re-sent record was appended twice"
    engine = open_store(store_url)
    try:
        report = verify(engine)
    finally:
        engine.dispose()
    assert report.ok, report.as_dict()
    assert report.chains[0].last_signed_seq == report.chains[0].last_seq == 400


async def test_records_of_a_producer_that_vanished_are_still_committed(
    store_url: str, tmp_path: Path
) -> None:
    """A worker killed right after handing records over: the writer reads its connection to the end."""
    writer = Writer(settings(store_url, tmp_path), tmp_path / "audit.sock")
    await writer.spawn()
    sink = SocketAuditSink(str(tmp_path / "audit.sock"), queue_max=10_000)
    await sink.start()
    for i in range(150):
        sink.submit(sample_record(i))
    assert sink._fd is not None and sink._conn is not None and sink._watch is not None
    sink._watch.cancel()  # a dead worker does not reconnect
    os.close(sink._fd)  # the worker's end goes away without a goodbye, as on SIGKILL
    sink._conn.close()
    sink._fd = None
    assert await writer.stop() == 0
    assert set(stored_ids(store_url)) == {f"req-{i:06d}" for i in range(150)}


async def test_a_worker_that_cannot_reach_a_writer_waits_then_answers(tmp_path: Path) -> None:
    """No writer accepts: records stay queued in the kernel and the worker; close gives up in time."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp_path / "audit.sock"))
    listener.listen(4)
    sink = SocketAuditSink(str(tmp_path / "audit.sock"), queue_max=10_000, close_timeout=0.5)
    await sink.start()
    sink.submit(sample_record(1))
    await sink.close()
    assert sink.depth == 1, "an unconfirmed record must not be forgotten"
    listener.close()
