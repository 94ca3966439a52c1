"""The gateway's side of the audit writer process: immediate handover, re-send after the
writer dies (without duplicates), the bounded wait and ``on_writer_failure: reject``; and the
writer's de-duplication and time-based head signing."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select, update

from lockgate.audit import appender
from lockgate.audit.chain import prepared_row
from lockgate.audit.remote import ProcessAuditSink, frame
from lockgate.audit.signing import Signer
from lockgate.audit.tables import audit_checkpoints, audit_heads, audit_log
from lockgate.audit.testing import sample_record
from lockgate.audit.verify import verify
from lockgate.audit.writer import AuditSink
from lockgate.errors import ServiceUnavailable
from lockgate.storage.db import open_store


def settings(url: str, tmp_path: Path) -> dict[str, Any]:
    open_store(url).dispose()  # the gateway migrates the store before it starts a writer
    return {
        "storage_url": url,
        "signing_key": str(tmp_path / "signing.key"),
        "content_key": None,
        "sink": {"batch_size": 32, "flush_interval": 0.05, "checkpoint_every": 1000, "sign_interval": 5.0},
    }


def stored_ids(url: str) -> Counter[str]:
    engine = open_store(url)
    try:
        with engine.connect() as conn:
            return Counter(str(r) for r in conn.execute(select(audit_log.c.request_id)).scalars())
    finally:
        engine.dispose()


def wait_dead(pid: int) -> None:
    """Block (the event loop too, on purpose) until the process is gone."""
    for _ in range(500):
        try:
            if ") Z " in Path(f"/proc/{pid}/stat").read_text():
                time.sleep(0.3)  # its other threads (which share the pipe) finish exiting
                return
        except FileNotFoundError:
            return
        time.sleep(0.01)
    raise AssertionError(f"{pid} did not die")


async def test_records_are_in_the_pipe_when_submit_returns(store_url: str, tmp_path: Path) -> None:
    sink = ProcessAuditSink(settings(store_url, tmp_path), queue_max=10_000)
    await sink.start()
    for i in range(200):
        sink.submit(sample_record(i))
        assert sink.barrier() is None  # nothing for an answer to wait on
    await sink.close()
    assert stored_ids(store_url) == Counter(f"req-{i:06d}" for i in range(200))


async def test_dead_writer_is_restarted_and_nothing_is_lost_or_doubled(
    store_url: str, tmp_path: Path
) -> None:
    sink = ProcessAuditSink(settings(store_url, tmp_path), queue_max=10_000, on_failure="reject", wait_max=20)
    await sink.start()
    for i in range(300):
        sink.submit(sample_record(i))
    for _ in range(100):  # let the writer commit some, so the re-send overlaps committed records
        await asyncio.sleep(0.05)
        if sink.written >= 100:
            break
    assert sink._proc is not None
    old = sink._proc.pid
    os.kill(old, signal.SIGKILL)
    wait_dead(old)  # the loop is blocked: the gateway has not restarted it yet
    sink.submit(sample_record(300))  # the broken pipe is noticed here
    with pytest.raises(ServiceUnavailable):
        sink.admit()  # reject mode: no new requests while no writer holds the backlog
    waiter = sink.barrier()
    assert waiter is not None
    await asyncio.wait_for(waiter, 20)  # resolves once a new writer holds every record
    assert sink._proc.pid != old and sink.restarts == 1
    sink.admit()
    for i in range(301, 400):
        sink.submit(sample_record(i))
    await sink.close()
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


async def test_an_answer_waits_at_most_writer_wait(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    sink = ProcessAuditSink(settings(url, tmp_path), queue_max=1000, wait_max=0.2)
    await sink.start()
    sink._lost_writer()  # as if the pipe broke and no writer could be started
    sink.submit(sample_record(1))
    waiter = sink.barrier()
    assert waiter is not None
    t = time.monotonic()
    await waiter
    assert 0.15 < time.monotonic() - t < 2.0
    sink._closing = True  # the old writer still runs: end it without a re-send
    assert sink._proc is not None
    sink._proc.kill()
    await sink._proc.wait()


def test_frame_is_what_the_worker_reads() -> None:
    from lockgate.audit.wire import decode
    from lockgate.audit.worker import HEADER

    data = frame(sample_record(7))
    (size,) = HEADER.unpack(data[: HEADER.size])
    assert size == len(data) - HEADER.size
    assert decode(data[HEADER.size :])[0].request_id == "req-000007"


async def test_writer_skips_records_a_dead_writer_committed(engine: Engine, signer: Signer) -> None:
    first = AuditSink(engine, signer, batch_size=10, flush_interval=0.05)
    await first.start()
    for i in range(10):
        first.submit(sample_record(i))
    await first.close()
    second = AuditSink(engine, signer, batch_size=50, flush_interval=0.05)
    second.maybe_written = {f"req-{i:06d}" for i in range(5, 15)}  # re-sent: 5..9 are in already
    await second.start()
    for i in range(5, 20):
        second.submit(sample_record(i))
    await second.close()
    assert second.skipped == 5 and second.written == 10
    with engine.connect() as conn:
        ids = [
            str(r) for r in conn.execute(select(audit_log.c.request_id).order_by(audit_log.c.seq)).scalars()
        ]
    assert ids == [f"req-{i:06d}" for i in range(20)]
    assert verify(engine).ok


def test_head_is_signed_once_sign_interval_has_passed(engine: Engine, signer: Signer) -> None:
    """Neither idle nor checkpoint_every records: the time rule still signs the head."""
    sink = AuditSink(engine, signer, checkpoint_every=10**6, sign_interval=5.0)
    assert sink._checkpoint_kind(unsealed=3, idle=False) is None
    sink._signed_at = time.monotonic() - 5.1
    assert sink._checkpoint_kind(unsealed=3, idle=False) == "interval"
    assert sink._checkpoint_kind(unsealed=0, idle=False) is None  # nothing new to sign


async def test_signatures_are_never_further_apart_than_sign_interval(engine: Engine, signer: Signer) -> None:
    sink = AuditSink(engine, signer, batch_size=5, flush_interval=0.01, checkpoint_every=10**6,
                     sign_interval=0.2)  # fmt: skip
    await sink.start()
    i = 0
    t_end = time.monotonic() + 1.2
    while time.monotonic() < t_end:
        for _ in range(20):
            sink.submit(sample_record(i))
            i += 1
        await asyncio.sleep(0.005)
    await sink.close()
    with engine.connect() as conn:
        times = [float(t) for t in conn.execute(
            select(audit_checkpoints.c.signed_at).order_by(audit_checkpoints.c.seq)).scalars()]  # fmt: skip
    assert len(times) >= 3
    assert max(b - a for a, b in itertools.pairwise(times)) < 0.2 + 0.5
    report = verify(engine)
    assert report.ok and report.chains[0].last_signed_seq == report.chains[0].last_seq == i


async def test_truncating_the_tail_after_shutdown_is_caught_from_signed_data(
    engine: Engine, signer: Signer
) -> None:
    """The head is signed at shutdown, so removing the last records and rewinding the unsigned
    ``audit_heads`` to match still fails ``verify``."""
    sink = AuditSink(engine, signer, batch_size=7, flush_interval=60.0, checkpoint_every=10**6,
                     sign_interval=3600.0)  # fmt: skip
    await sink.start()
    for i in range(50):
        sink.submit(sample_record(i))
    await sink.close()
    with engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq > 47))
        last = conn.execute(select(audit_log.c.record_hash).where(audit_log.c.seq == 47)).scalar_one()
        conn.execute(update(audit_heads).values(seq=47, record_hash=last))
    report = verify(engine)
    assert not report.ok
    assert report.chains[0].problems[0].kind == "truncated"


async def test_shutdown_signs_a_head_no_checkpoint_covers(engine: Engine, signer: Signer) -> None:
    with engine.begin() as conn:
        appender.register_key(conn, signer)
        appender.append(conn, "main", [prepared_row(sample_record(i)) for i in range(5)])
    sink = AuditSink(engine, signer)
    sink._key_registered = True  # as after this writer's first batch
    await sink._seal()
    report = verify(engine)
    assert report.ok and report.chains[0].last_signed_seq == report.chains[0].last_seq == 5
    with engine.connect() as conn:
        assert list(conn.execute(select(audit_checkpoints.c.kind)).scalars()) == ["close"]
