"""Append rows to a chain inside one transaction, serialised across writers.

Several gateways (PostgreSQL) or processes (SQLite) may append to one chain.  Each batch
first takes the chain's lock, then reads the head, links its rows to it, moves the head and,
when due, signs a checkpoint, all in the same transaction.  The lock is dialect specific and
chosen from ``CHAIN_LOCKS``; both end when the transaction does.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
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
    """Link ``rows`` (hashed columns plus bodies, each with the same keys) after the head; the
    caller holds the lock.  A row may carry its canonical bytes under ``CANONICAL_KEY``
    (``chain.prepared_row``), which are hashed as they are and never stored."""
    head = read_head(conn, chain_id)
    if not rows:
        return head
    cols = [c for c in rows[0] if c != CANONICAL_KEY]
    stored = itemgetter(*cols)  # one C call per row gives its values in column order
    params: list[tuple[Any, ...]] = []
    seq, prev = head.seq, head.record_hash
    for row in rows:
        canon = row.get(CANONICAL_KEY)
        record_hash = link(prev, row) if canon is None else link_canonical(prev, canon)
        seq += 1
        params.append((*stored(row), chain_id, seq, prev, record_hash))
        prev = record_hash
    _insert_many(conn, [*cols, "chain_id", "seq", "prev_hash", "record_hash"], params)
    head = Head(seq, prev)
    write_head(conn, chain_id, head)
    return head


# SQLite allows 32,766 bound variables per statement; 34 columns × 256 rows stays below it
_ROWS_PER_STATEMENT = 256


def _insert_many(conn: Connection, cols: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Multi-row ``INSERT … VALUES (…), (…)`` statements of up to ``_ROWS_PER_STATEMENT`` rows.

    The writer runs in a thread beside a busy event loop.  ``executemany`` (and SQLAlchemy's
    per-row parameter processing) hands the GIL back and forth once per row, and under load
    each hand-back can wait a full switch interval; one statement per chunk keeps the batch
    to a few hand-backs, so the writer keeps up with the request rate.
    """
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    group = "(" + ", ".join([mark] * len(cols)) + ")"
    head = f"INSERT INTO {audit_log.name} ({', '.join(cols)}) VALUES "
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[start : start + _ROWS_PER_STATEMENT]
        conn.exec_driver_sql(head + ", ".join([group] * len(chunk)), tuple(itertools.chain.from_iterable(chunk)))


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
