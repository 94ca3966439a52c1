"""Append rows to a chain inside one transaction, serialised across writers.

Several gateways (PostgreSQL) or processes (SQLite) may append to one chain.  Each batch
first takes the chain's lock, then reads the head, links its rows to it, moves the head and,
when due, signs a checkpoint, all in the same transaction.  The lock is dialect specific and
chosen from ``CHAIN_LOCKS``; both end when the transaction does.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from lockgate.audit.chain import CANONICAL_KEY, GENESIS, link, link_canonical
from lockgate.audit.signing import Signer, checkpoint_message, public_pem
from lockgate.audit.tables import audit_checkpoints, audit_heads, audit_keys, audit_log


@dataclass(frozen=True, slots=True)
class Head:
    seq: int
    record_hash: str


def _lock_key(chain_id: str) -> int:
    return int.from_bytes(
        hashlib.sha256(b"lockgate-audit:" + chain_id.encode()).digest()[:8], "big", signed=True
    )


def _pg_lock(conn: Connection, chain_id: str) -> None:
    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (_lock_key(chain_id),))


def _write_lock(conn: Connection, chain_id: str) -> None:
    # any write statement takes SQLite's database write lock, even when it matches no row
    conn.execute(update(audit_heads).where(audit_heads.c.chain_id == chain_id).values(seq=audit_heads.c.seq))


CHAIN_LOCKS: dict[str, Callable[[Connection, str], None]] = {"postgresql": _pg_lock, "sqlite": _write_lock}


def lock_chain(conn: Connection, chain_id: str) -> None:
    CHAIN_LOCKS.get(conn.dialect.name, _write_lock)(conn, chain_id)


def read_head(conn: Connection, chain_id: str) -> Head:
    row = conn.execute(
        select(audit_heads.c.seq, audit_heads.c.record_hash).where(audit_heads.c.chain_id == chain_id)
    ).first()
    if row is not None:
        return Head(int(row.seq), str(row.record_hash))
    last = conn.execute(
        select(audit_log.c.seq, audit_log.c.record_hash)
        .where(audit_log.c.chain_id == chain_id)
        .order_by(audit_log.c.seq.desc())
        .limit(1)
    ).first()
    return Head(int(last.seq), str(last.record_hash)) if last is not None else Head(0, GENESIS)


def write_head(conn: Connection, chain_id: str, head: Head) -> None:
    values = {"seq": head.seq, "record_hash": head.record_hash, "updated_at": time.time()}
    done = conn.execute(update(audit_heads).where(audit_heads.c.chain_id == chain_id).values(**values))
    if done.rowcount == 0:
        conn.execute(insert(audit_heads).values(chain_id=chain_id, **values))


def append(conn: Connection, chain_id: str, rows: Sequence[dict[str, Any]]) -> Head:
    """Link ``rows`` (hashed columns plus bodies) after the head; the caller holds the lock."""
    head = read_head(conn, chain_id)
    out: list[dict[str, Any]] = []
    for row in rows:
        seq = head.seq + 1
        values = dict(row)
        canon = values.pop(CANONICAL_KEY, None)
        record_hash = (
            link(head.record_hash, values) if canon is None else link_canonical(head.record_hash, canon)
        )
        out.append(
            {
                **values,
                "chain_id": chain_id,
                "seq": seq,
                "prev_hash": head.record_hash,
                "record_hash": record_hash,
            }
        )
        head = Head(seq, record_hash)
    if out:
        _insert_many(conn, out)
        write_head(conn, chain_id, head)
    return head


# SQLite allows 32,766 bound variables per statement; 34 columns × 256 rows stays below it
_ROWS_PER_STATEMENT = 256


def _insert_many(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Multi-row ``INSERT … VALUES (…), (…)`` statements of up to ``_ROWS_PER_STATEMENT`` rows.

    The writer runs in a thread beside a busy event loop.  ``executemany`` (and SQLAlchemy's
    per-row parameter processing) hands the GIL back and forth once per row, and under load
    each hand-back can wait a full switch interval; one statement per chunk keeps the batch
    to a few hand-backs, so the writer keeps up with the request rate.
    """
    cols = list(rows[0])
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    group = "(" + ", ".join([mark] * len(cols)) + ")"
    head = f"INSERT INTO {audit_log.name} ({', '.join(cols)}) VALUES "
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[start : start + _ROWS_PER_STATEMENT]
        params = tuple(r[c] for r in chunk for c in cols)
        conn.exec_driver_sql(head + ", ".join([group] * len(chunk)), params)


def last_checkpoint_seq(conn: Connection, chain_id: str) -> int:
    got = conn.execute(
        select(func.max(audit_checkpoints.c.seq)).where(audit_checkpoints.c.chain_id == chain_id)
    ).scalar()
    return int(got or 0)


def sign_checkpoint(conn: Connection, chain_id: str, head: Head, signer: Signer, kind: str) -> bool:
    """Insert a signed checkpoint at ``head`` unless one exists there; True when one was written."""
    exists = conn.execute(
        select(audit_checkpoints.c.seq).where(
            audit_checkpoints.c.chain_id == chain_id, audit_checkpoints.c.seq == head.seq
        )
    ).first()
    if exists is not None or head.seq == 0:
        return False
    signed_at = time.time()
    message = checkpoint_message(chain_id, head.seq, head.record_hash, signed_at, signer.key_id, kind)
    conn.execute(
        insert(audit_checkpoints).values(
            chain_id=chain_id,
            seq=head.seq,
            record_hash=head.record_hash,
            signed_at=signed_at,
            key_id=signer.key_id,
            signature=signer.sign(message),
            kind=kind,
        )
    )
    return True


def register_key(conn: Connection, signer: Signer) -> None:
    known = conn.execute(select(audit_keys.c.key_id).where(audit_keys.c.key_id == signer.key_id)).first()
    if known is None:
        conn.execute(
            insert(audit_keys).values(
                key_id=signer.key_id, public_key=public_pem(signer.public), created_at=time.time()
            )
        )
