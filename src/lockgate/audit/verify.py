"""Walk each chain, recompute every hash, check every checkpoint signature, name the first break.

Memory stays flat: rows are streamed in ``seq`` order once; a second, targeted query is made
only when links are broken, to tell a reordering (the link points at another row that still
exists) from a rewrite (it points at nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine, Row, select, union

from lockgate.audit.chain import GENESIS, HASHED_FIELDS, link
from lockgate.audit.findings import (
    ALTERED,
    DELETED,
    FORGED,
    REORDERED,
    TRUNCATED,
    UNANCHORED,
    ChainReport,
    Problem,
    VerifyReport,
)
from lockgate.audit.signing import checkpoint_message, key_id_of, load_public_pem, signature_valid
from lockgate.audit.tables import audit_checkpoints, audit_heads, audit_keys, audit_log

_COLUMNS = [audit_log.c[name] for name in (*HASHED_FIELDS, "seq", "prev_hash", "record_hash")]
#: ``progress`` callbacks hear of walked records in steps of this many (and once at the end of a chain)
PROGRESS_STEP = 500
Progress = Callable[[int], None]


@dataclass(slots=True)
class _Walk:
    report: ChainReport
    anchors: dict[int, Row[Any]]
    expected_seq: int = 1
    expected_prev: str = GENESIS
    last_good_cp: int = 0
    breaks: list[tuple[int, str | None, str]] = field(default_factory=list)  # (seq, request_id, prev_hash)

    def add(self, kind: str, seq: int, request_id: str | None, detail: str) -> None:
        self.report.problems.append(Problem(kind, seq, request_id, detail))


def database_keys(conn: Connection) -> dict[str, Ed25519PublicKey]:
    rows = conn.execute(select(audit_keys.c.key_id, audit_keys.c.public_key)).all()
    return {str(r.key_id): load_public_pem(str(r.public_key)) for r in rows}


def _chain_ids(conn: Connection) -> list[str]:
    query = union(select(audit_log.c.chain_id).distinct(), select(audit_heads.c.chain_id))
    return sorted(str(r[0]) for r in conn.execute(query))


def _valid_checkpoints(
    conn: Connection, walk: _Walk, chain_id: str, keys: dict[str, Ed25519PublicKey]
) -> dict[int, Row[Any]]:
    rows = conn.execute(
        select(audit_checkpoints)
        .where(audit_checkpoints.c.chain_id == chain_id)
        .order_by(audit_checkpoints.c.seq)
    ).all()
    valid: dict[int, Row[Any]] = {}
    for cp in rows:
        key = keys.get(str(cp.key_id))
        message = checkpoint_message(
            chain_id, int(cp.seq), str(cp.record_hash), float(cp.signed_at), str(cp.key_id), str(cp.kind)
        )
        if key is not None and signature_valid(key, str(cp.signature), message):
            valid[int(cp.seq)] = cp
            continue
        why = "signed with an unknown key" if key is None else "signature does not verify"
        walk.add(FORGED, int(cp.seq), None, f"checkpoint {why} (key id {cp.key_id})")
    walk.report.checkpoints = len(rows)
    return valid


def _rows(conn: Connection, chain_id: str) -> Iterator[Row[Any]]:
    query = select(*_COLUMNS).where(audit_log.c.chain_id == chain_id).order_by(audit_log.c.seq)
    yield from conn.execute(query.execution_options(yield_per=2000))


def _start(walk: _Walk, first: Row[Any]) -> None:
    seq = int(first.seq)
    walk.report.first_seq = seq
    walk.expected_seq = seq
    if seq == 1:
        return
    anchor = walk.anchors.get(seq - 1)
    if anchor is not None and anchor.kind == "anchor":
        walk.expected_prev = str(anchor.record_hash)
        walk.last_good_cp = seq - 1
        return
    walk.add(
        UNANCHORED, seq - 1, None, f"records 1..{seq - 1} are missing and no signed prune anchor covers them"
    )
    walk.expected_prev = str(first.prev_hash)


def _step(walk: _Walk, row: Row[Any]) -> None:
    seq, rid = int(row.seq), str(row.request_id)
    if seq != walk.expected_seq:
        walk.add(DELETED, walk.expected_seq, None, f"records {walk.expected_seq}..{seq - 1} are missing")
    elif row.prev_hash != walk.expected_prev:
        walk.breaks.append((seq, rid, str(row.prev_hash)))
    if link(str(row.prev_hash), row._mapping) != row.record_hash:
        walk.add(ALTERED, seq, rid, "content does not match its stored record_hash")
    cp = walk.anchors.get(seq)
    if cp is not None and cp.record_hash != row.record_hash:
        walk.add(
            ALTERED,
            seq,
            rid,
            f"the chain differs from the checkpoint signed at seq {seq}: "
            f"a record in {walk.last_good_cp + 1}..{seq} was rewritten",
        )
    elif cp is not None:
        walk.last_good_cp = seq
    walk.expected_seq, walk.expected_prev = seq + 1, str(row.record_hash)
    walk.report.records += 1
    walk.report.last_seq = seq


def _classify_breaks(conn: Connection, walk: _Walk, chain_id: str) -> None:
    wanted = {prev for _seq, _rid, prev in walk.breaks}
    where: dict[str, int] = {}
    chunk = sorted(wanted)
    for i in range(0, len(chunk), 500):
        query = select(audit_log.c.seq, audit_log.c.record_hash).where(
            audit_log.c.chain_id == chain_id, audit_log.c.record_hash.in_(chunk[i : i + 500])
        )
        where.update({str(r.record_hash): int(r.seq) for r in conn.execute(query)})
    for seq, rid, prev in walk.breaks:
        found = where.get(prev)
        if found is not None:
            walk.add(REORDERED, seq, rid, f"linked after seq {found} instead of seq {seq - 1}")
        else:
            walk.add(
                ALTERED,
                seq - 1,
                None,
                f"its record_hash no longer matches the link stored in seq {seq} "
                "(row rewritten, or records removed and renumbered)",
            )


def _tail(conn: Connection, walk: _Walk, chain_id: str) -> None:
    last = walk.report.last_seq if walk.report.last_seq is not None else walk.expected_seq - 1
    signed = [s for s in walk.anchors if s > last]
    if signed:
        walk.add(
            TRUNCATED,
            last + 1,
            None,
            f"records {last + 1}..{max(signed)} are covered by a signed checkpoint but missing",
        )
    head = conn.execute(select(audit_heads.c.seq).where(audit_heads.c.chain_id == chain_id)).scalar()
    if head is not None and int(head) > last and not signed:
        walk.add(TRUNCATED, last + 1, None, f"the chain head records seq {head} but the log ends at {last}")
    covered = [s for s in walk.anchors if s <= last]
    walk.report.last_signed_seq = max(covered, default=0)


def verify_chain(
    conn: Connection, chain_id: str, keys: dict[str, Ed25519PublicKey], progress: Progress | None = None
) -> ChainReport:
    """``progress(n)``: n more records were walked (called from this thread, every PROGRESS_STEP)."""
    walk = _Walk(ChainReport(chain_id), {})
    walk.anchors = _valid_checkpoints(conn, walk, chain_id, keys)
    for row in _rows(conn, chain_id):
        if walk.report.first_seq is None:
            _start(walk, row)
        _step(walk, row)
        if progress is not None and walk.report.records % PROGRESS_STEP == 0:
            progress(PROGRESS_STEP)
    if progress is not None and walk.report.records % PROGRESS_STEP:
        progress(walk.report.records % PROGRESS_STEP)
    if walk.report.first_seq is None:  # no rows at all: the newest anchor is the start
        anchors = [s for s, cp in walk.anchors.items() if cp.kind == "anchor"]
        walk.expected_seq = max(anchors, default=0) + 1
    if walk.breaks:
        _classify_breaks(conn, walk, chain_id)
    _tail(conn, walk, chain_id)
    return walk.report


def verify(
    engine: Engine,
    pinned: Iterable[Ed25519PublicKey] | None = None,
    chain_ids: Iterable[str] | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    """Verify chains (all by default).  ``pinned`` keys replace the keys stored in the database;
    ``progress`` hears how many more records were walked (see ``verify_chain``)."""
    with engine.connect() as conn:
        pins = list(pinned or [])
        keys = {key_id_of(k): k for k in pins} if pins else database_keys(conn)
        ids = list(chain_ids) if chain_ids is not None else _chain_ids(conn)
        chains = [verify_chain(conn, cid, keys, progress) for cid in ids]
    return VerifyReport(chains, "pinned" if pins else "database", sorted(keys))
