"""AuditSink: batching, flush on close, retries on database loss, bounded queue, content encryption."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from prometheus_client import REGISTRY
from sqlalchemy import Engine, event, func, select
from sqlalchemy.exc import OperationalError

from lockgate.audit.crypto import ContentCipher
from lockgate.audit.signing import Signer, load_or_create_key
from lockgate.audit.tables import audit_checkpoints, audit_log
from lockgate.audit.testing import sample_record
from lockgate.audit.verify import verify
from lockgate.audit.writer import AuditSink
from lockgate.records import RecordSink
from lockgate.storage.db import open_store


def metric(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())


class CountingStatements:
    """Counts audit_log INSERT statements (one per batch) and can fail the next N transactions."""

    def __init__(self, engine: Engine) -> None:
        self.inserts = 0
        self.fail_next = 0
        event.listen(engine, "before_cursor_execute", self._before)

    def _before(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.fail_next > 0 and statement.lstrip().upper().startswith(
            ("SELECT PG_ADVISORY", "UPDATE AUDIT_HEADS")
        ):
            self.fail_next -= 1
            raise OperationalError(statement, None, Exception("database is unavailable (injected)"))
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_LOG"):
            self.inserts += 1


def test_sink_satisfies_record_sink(engine: Engine, signer: Signer) -> None:
    assert isinstance(AuditSink(engine, signer), RecordSink)


async def test_batches_and_flushes_everything_on_close(engine: Engine, signer: Signer) -> None:
    stmts = CountingStatements(engine)
    sink = AuditSink(engine, signer, batch_size=10, flush_interval=60.0, checkpoint_every=1000)
    await sink.start()
    for i in range(1, 36):
        sink.submit(sample_record(i))
    await sink.close()
    assert count(engine) == 35 and sink.written == 35
    assert stmts.inserts == 4  # 10 + 10 + 10 + 5: batches, not one statement per record
    report = verify(engine)
    assert report.ok and report.chain("main").last_signed_seq == 35  # close seals the tail
    with engine.connect() as conn:
        kinds = conn.execute(select(audit_checkpoints.c.kind)).scalars().all()
    assert kinds[-1] in ("close", "idle")


async def test_periodic_checkpoints(engine: Engine, signer: Signer) -> None:
    sink = AuditSink(engine, signer, batch_size=5, flush_interval=60.0, checkpoint_every=10)
    await sink.start()
    for i in range(1, 41):
        sink.submit(sample_record(i))
    await sink.close()
    with engine.connect() as conn:
        seqs = conn.execute(select(audit_checkpoints.c.seq).order_by(audit_checkpoints.c.seq)).scalars().all()
    assert seqs[:3] == [10, 20, 30] and seqs[-1] == 40
    assert verify(engine).ok


async def test_database_loss_loses_nothing(engine: Engine, signer: Signer) -> None:
    stmts = CountingStatements(engine)
    stmts.fail_next = 4
    errors_before = metric("lockgate_audit_write_errors_total")
    sink = AuditSink(engine, signer, batch_size=8, flush_interval=0.01, retry_initial=0.01, retry_max=0.02)
    await sink.start()
    for i in range(1, 31):
        sink.submit(sample_record(i))
    await sink.close()
    assert stmts.fail_next == 0 and sink.errors == 4
    assert metric("lockgate_audit_write_errors_total") - errors_before == 4
    assert count(engine) == 30
    with engine.connect() as conn:
        ids = conn.execute(select(audit_log.c.request_id).order_by(audit_log.c.seq)).scalars().all()
    assert ids == [f"req-{i:06d}" for i in range(1, 31)]  # order kept across retries
    assert verify(engine).ok


async def test_close_gives_up_after_timeout_and_counts_the_loss(engine: Engine, signer: Signer) -> None:
    stmts = CountingStatements(engine)
    stmts.fail_next = 10**9
    sink = AuditSink(engine, signer, retry_initial=0.01, retry_max=0.01, close_timeout=0.2)
    await sink.start()
    for i in range(5):
        sink.submit(sample_record(i))
    await sink.close()
    assert sink.written == 0 and sink.dropped == 5
    sink.submit(sample_record(9))  # after close: refused, never blocks
    assert sink.dropped == 6


def test_bounded_queue_drops_and_counts(engine: Engine, signer: Signer) -> None:
    dropped_before = metric("lockgate_audit_dropped_total")
    depth_before = metric("lockgate_audit_queue_depth")
    sink = AuditSink(engine, signer, queue_max=100)
    for i in range(150):
        sink.submit(sample_record(i))  # not started: nothing drains
    assert sink.depth == 100 and sink.dropped == 50
    assert metric("lockgate_audit_dropped_total") - dropped_before == 50
    assert metric("lockgate_audit_queue_depth") - depth_before == 100


async def test_queue_gauges_follow_the_queue(engine: Engine, signer: Signer) -> None:
    cap_before = metric("lockgate_audit_queue_capacity")
    depth_before = metric("lockgate_audit_queue_depth")
    written_before = metric("lockgate_audit_written_total")
    sink = AuditSink(engine, signer, queue_max=500, flush_interval=60.0)
    await sink.start()
    assert metric("lockgate_audit_queue_capacity") - cap_before == 500
    for i in range(20):
        sink.submit(sample_record(i))
    assert metric("lockgate_audit_queue_depth") - depth_before == 20
    await sink.close()
    assert metric("lockgate_audit_queue_depth") - depth_before == 0
    assert metric("lockgate_audit_written_total") - written_before == 20
    assert metric("lockgate_audit_queue_capacity") - cap_before == 0


async def test_content_is_encrypted_at_rest(engine: Engine, signer: Signer) -> None:
    cipher = ContentCipher("operator secret")
    sink = AuditSink(engine, signer, cipher=cipher)
    await sink.start()
    sink.submit(sample_record(1, request_body=b'{"messages":"my IBAN is DE89"}', response_body=b"ok"))
    sink.submit(sample_record(2))
    await sink.close()
    with engine.connect() as conn:
        rows = conn.execute(select(audit_log).order_by(audit_log.c.seq)).all()
    blob = bytes(rows[0].request_body)
    assert b"IBAN" not in blob
    assert cipher.decrypt(blob, "req-000001", "request_body") == b'{"messages":"my IBAN is DE89"}'
    assert cipher.decrypt(bytes(rows[0].response_body), "req-000001", "response_body") == b"ok"
    assert rows[1].request_body is None
    with pytest.raises(InvalidTag):
        ContentCipher("wrong").decrypt(blob, "req-000001", "request_body")
    assert verify(engine).ok


async def test_bodies_are_dropped_without_content_logging(engine: Engine, signer: Signer) -> None:
    sink = AuditSink(engine, signer)
    await sink.start()
    sink.submit(sample_record(1, request_body=b"secret", request_sha256="a" * 64))
    await sink.close()
    with engine.connect() as conn:
        row = conn.execute(select(audit_log)).one()
    assert row.request_body is None and row.request_sha256 == "a" * 64


async def test_two_writers_share_one_chain(
    store_url: str, engine: Engine, signer: Signer, tmp_path: Path
) -> None:
    """Two gateways (two engines, two sinks, other keys) appending to one store make one chain."""
    other_engine = open_store(store_url)
    other_key = load_or_create_key(tmp_path / "other.key")
    a = AuditSink(engine, signer, batch_size=7, flush_interval=0.01, checkpoint_every=20)
    b = AuditSink(other_engine, other_key, batch_size=5, flush_interval=0.01, checkpoint_every=20)
    await a.start()
    await b.start()
    for i in range(200):
        (a if i % 2 else b).submit(sample_record(i, instance="gw-a" if i % 2 else "gw-b"))
        if i % 25 == 0:
            await asyncio.sleep(0.02)  # let both writers interleave their batches
    await asyncio.gather(a.close(), b.close())
    other_engine.dispose()
    report = verify(engine)
    assert report.ok, report.as_dict()
    chain = report.chain("main")
    assert (chain.records, chain.first_seq, chain.last_seq) == (200, 1, 200)
    with engine.connect() as conn:
        instances = conn.execute(select(audit_log.c.instance).order_by(audit_log.c.seq)).scalars().all()
    switches = sum(1 for x, y in itertools.pairwise(instances) if x != y)
    assert switches > 2  # batches really interleaved
