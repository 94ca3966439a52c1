"""Helpers for tests and benchmarks of the audit log (free of pytest).

``throwaway_database(url)`` creates a fresh PostgreSQL database on the server ``url`` points at
(see ``scripts/pg.sh``) and drops it afterwards; ``sample_record`` and ``fill_chain`` build
chains quickly without the async writer.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from lockgate.audit import appender
from lockgate.audit.chain import record_columns
from lockgate.audit.signing import Signer
from lockgate.records import RequestRecord

PG_URL_ENV = "LOCKGATE_TEST_PG_URL"


def pg_test_url() -> str | None:
    return os.environ.get(PG_URL_ENV) or None


@contextmanager
def throwaway_database(base_url: str) -> Iterator[str]:
    url = make_url(base_url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    name = f"lockgate_t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


def sample_record(i: int, **overrides: Any) -> RequestRecord:
    """A plausible record number ``i``; ``overrides`` set any field."""
    values: dict[str, Any] = {
        "request_id": f"req-{i:06d}",
        "started_at": 1_767_225_600.0 + i * 0.25,  # 2026-01-01T00:00:00Z onwards
        "finished_at": 1_767_225_600.0 + i * 0.25 + 0.125,
        "instance": "gw-test",
        "endpoint": "chat.completions",
        "key_id": f"key{i % 3}",
        "team": ("alpha", "beta")[i % 2],
        "model_alias": "smollm2",
        "deployment": "local/smollm2",
        "provider": "local",
        "jurisdiction": "EU",
        "policy": "eu-only",
        "route_reason": "least-busy",
        "pii_findings": {"email": i % 2} if i % 2 else {},
        "prompt_tokens": 10 + i,
        "completion_tokens": 5 + (i % 7),
        "cost": 0.001 * i,
        "currency": "EUR",
        "latency_ms": 12.5 + i,
        "status": 200,
        "request_sha256": f"{i:064x}",
    }
    values.update(overrides)
    return RequestRecord(**values)


def fill_chain(
    engine: Engine,
    signer: Signer,
    records: list[RequestRecord],
    *,
    chain_id: str = "main",
    checkpoint_every: int = 10,
) -> None:
    """Append ``records`` in batches of ``checkpoint_every`` with a signed checkpoint after each."""
    for start in range(0, len(records), checkpoint_every):
        rows = [record_columns(r) for r in records[start : start + checkpoint_every]]
        with engine.begin() as conn:
            appender.lock_chain(conn, chain_id)
            appender.register_key(conn, signer)
            head = appender.append(conn, chain_id, rows)
            appender.sign_checkpoint(conn, chain_id, head, signer, "periodic")
