"""The audit migration creates the same schema on SQLite and PostgreSQL, and values round-trip
exactly enough that a hash computed before writing is recomputed after reading."""

from __future__ import annotations

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, inspect, select

from lockgate.audit.chain import GENESIS, link, record_columns
from lockgate.audit.tables import audit_log
from lockgate.records import RequestRecord
from lockgate.storage.db import MIGRATIONS, migrate


def _alembic(engine: Engine, action: str, target: str) -> None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, target)


def test_tables_and_indexes(engine: Engine) -> None:
    insp = inspect(engine)
    assert {"audit_log", "audit_checkpoints", "audit_keys", "audit_heads"} <= set(insp.get_table_names())
    columns = {c["name"] for c in insp.get_columns("audit_log")}
    assert set(audit_log.c.keys()) == columns
    assert set(RequestRecord.__dataclass_fields__) <= columns
    indexes = {tuple(ix["column_names"]) for ix in insp.get_indexes("audit_log")}
    assert {("started_at",), ("key_id", "started_at")} <= indexes
    assert insp.get_pk_constraint("audit_log")["constrained_columns"] == ["chain_id", "seq"]


def test_migrate_is_idempotent_and_reversible(engine: Engine) -> None:
    migrate(engine)
    _alembic(engine, "downgrade", "0001")
    assert "audit_log" not in inspect(engine).get_table_names()
    migrate(engine)
    assert "audit_log" in inspect(engine).get_table_names()


def test_stored_values_hash_the_same_after_reading_back(engine: Engine) -> None:
    awkward = RequestRecord(
        request_id="r-ünïcode-✓",
        started_at=1_767_225_600.123456789,
        finished_at=1_767_225_600.987654321,
        instance="gw",
        endpoint="embeddings",
        pii_findings={"iban": 2, "email": 1},
        prompt_tokens=2**40,
        cost=0.1 + 0.2,
        latency_ms=1e-300,
        ttft_ms=123.456,
        stream=True,
        route_reason='quotes " and \\ backslash',
    )
    row = {**record_columns(awkward), "chain_id": "c", "seq": 1, "prev_hash": GENESIS}
    row["record_hash"] = link(GENESIS, row)
    with engine.begin() as conn:
        conn.execute(audit_log.insert().values(**row))
    with engine.connect() as conn:
        back = conn.execute(select(audit_log)).one()._mapping
    assert link(GENESIS, back) == row["record_hash"]
    assert back["cost"] == 0.1 + 0.2 and back["prompt_tokens"] == 2**40
