"""Retention: delete the oldest records and leave a signed anchor so the rest still verifies.

Rows are removed as a prefix of the chain: every record up to the last one before the first
record that is still inside the retention period.  Before deleting, a checkpoint of kind
``anchor`` is signed at the last removed seq; ``verify`` accepts a chain that starts right after
such an anchor (and only after an anchor: other checkpoints do not license a missing head).
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine, delete, func, select

from lockgate.audit import appender
from lockgate.audit.signing import Signer
from lockgate.audit.tables import audit_checkpoints, audit_log
from lockgate.audit.verify import verify_chain

MIN_RETENTION_DAYS = 183


class PruneRefused(Exception):
    """The chain is not intact, so pruning would sign over a tampered history."""


@dataclass(frozen=True, slots=True)
class PruneResult:
    chain_id: str
    deleted: int
    anchor_seq: int | None


def _last_prunable(conn: Connection, chain_id: str, before: float) -> int | None:
    in_chain = audit_log.c.chain_id == chain_id
    first_kept = conn.execute(
        select(func.min(audit_log.c.seq)).where(in_chain, audit_log.c.started_at >= before)
    ).scalar()
    if first_kept is not None:
        return int(first_kept) - 1
    last = conn.execute(select(func.max(audit_log.c.seq)).where(in_chain)).scalar()
    return None if last is None else int(last)


def _anchor(conn: Connection, chain_id: str, seq: int, signer: Signer) -> None:
    row_hash = conn.execute(
        select(audit_log.c.record_hash).where(audit_log.c.chain_id == chain_id, audit_log.c.seq == seq)
    ).scalar_one()
    conn.execute(
        delete(audit_checkpoints).where(
            audit_checkpoints.c.chain_id == chain_id, audit_checkpoints.c.seq == seq
        )
    )
    appender.register_key(conn, signer)
    appender.sign_checkpoint(conn, chain_id, appender.Head(seq, str(row_hash)), signer, "anchor")


def prune_chain(
    engine: Engine,
    chain_id: str,
    before: float,
    signer: Signer,
    keys: dict[str, Ed25519PublicKey] | None = None,
) -> PruneResult:
    """Delete records of ``chain_id`` started before ``before`` (unix seconds).

    With ``keys`` the chain is verified first and a tampered chain is refused (``PruneRefused``).
    """
    with engine.begin() as conn:
        appender.lock_chain(conn, chain_id)
        if keys is not None:
            report = verify_chain(conn, chain_id, keys)
            if report.first_problem is not None:
                raise PruneRefused(report.first_problem.line())
        last = _last_prunable(conn, chain_id, before)
        first = conn.execute(
            select(func.min(audit_log.c.seq)).where(audit_log.c.chain_id == chain_id)
        ).scalar()
        if last is None or first is None or last < int(first):
            return PruneResult(chain_id, 0, None)
        _anchor(conn, chain_id, last, signer)
        gone = conn.execute(
            delete(audit_log).where(audit_log.c.chain_id == chain_id, audit_log.c.seq <= last)
        )
        conn.execute(
            delete(audit_checkpoints).where(
                audit_checkpoints.c.chain_id == chain_id, audit_checkpoints.c.seq < last
            )
        )
        return PruneResult(chain_id, int(gone.rowcount), last)
