"""Each kind of tampering is detected and the first affected record is named (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select, update

from lockgate.audit.chain import link
from lockgate.audit.findings import ALTERED, DELETED, FORGED, REORDERED, TRUNCATED, UNANCHORED, Problem
from lockgate.audit.signing import Signer, load_or_create_key
from lockgate.audit.tables import audit_checkpoints, audit_heads, audit_log
from lockgate.audit.testing import fill_chain, sample_record
from lockgate.audit.verify import verify

N = 50  # checkpoints every 10 records: at 10, 20, 30, 40, 50


@pytest.fixture
def chain(engine: Engine, signer: Signer) -> Engine:
    fill_chain(engine, signer, [sample_record(i) for i in range(1, N + 1)], checkpoint_every=10)
    return engine


def first(engine: Engine) -> Problem:
    report = verify(engine)
    assert not report.ok
    problem = report.chain("main").first_problem
    assert problem is not None
    return problem


def test_intact_chain_verifies(chain: Engine) -> None:
    report = verify(chain)
    assert report.ok
    c = report.chain("main")
    assert (c.records, c.first_seq, c.last_seq, c.checkpoints, c.last_signed_seq, c.unsealed) == (
        N,
        1,
        N,
        5,
        N,
        0,
    )


def test_edited_field_is_named(chain: Engine) -> None:
    with chain.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 17).values(prompt_tokens=1))
    p = first(chain)
    assert (p.kind, p.seq, p.request_id) == (ALTERED, 17, "req-000017")


def test_edited_float_by_one_ulp_is_named(chain: Engine) -> None:
    with chain.begin() as conn:
        cost = conn.execute(select(audit_log.c.cost).where(audit_log.c.seq == 33)).scalar_one()
        conn.execute(update(audit_log).where(audit_log.c.seq == 33).values(cost=cost + 1e-15))
    assert (first(chain).kind, first(chain).seq) == (ALTERED, 33)


def test_edit_with_recomputed_hash_is_named(chain: Engine) -> None:
    with chain.begin() as conn:
        row = conn.execute(select(audit_log).where(audit_log.c.seq == 24)).one()._mapping
        forged = {**row, "team": "gamma"}
        new_hash = link(row["prev_hash"], forged)
        conn.execute(
            update(audit_log).where(audit_log.c.seq == 24).values(team="gamma", record_hash=new_hash)
        )
    p = first(chain)
    assert (p.kind, p.seq) == (ALTERED, 24)


def test_rewritten_suffix_is_caught_by_the_signed_checkpoint(chain: Engine) -> None:
    """Rewrite seq 42..50 with every hash recomputed: only the checkpoint at 50 can tell."""
    with chain.begin() as conn:
        rows = conn.execute(select(audit_log).where(audit_log.c.seq >= 42).order_by(audit_log.c.seq)).all()
        prev = rows[0].prev_hash
        for r in rows:
            new = {**r._mapping, "status": 500, "prev_hash": prev}
            new["record_hash"] = link(prev, new)
            conn.execute(update(audit_log).where(audit_log.c.seq == r.seq).values(**new))
            prev = new["record_hash"]
    p = first(chain)
    assert (p.kind, p.seq) == (ALTERED, 50)
    assert "41..50" in p.detail


def test_deleted_row_is_named(chain: Engine) -> None:
    with chain.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 12))
    p = first(chain)
    assert (p.kind, p.seq) == (DELETED, 12)


def test_swapped_rows_are_named(chain: Engine) -> None:
    with chain.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 26).values(seq=-1))
        conn.execute(update(audit_log).where(audit_log.c.seq == 27).values(seq=26))
        conn.execute(update(audit_log).where(audit_log.c.seq == -1).values(seq=27))
    p = first(chain)
    assert (p.kind, p.seq, p.request_id) == (REORDERED, 26, "req-000027")


def test_truncated_tail_is_named(chain: Engine) -> None:
    with chain.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq > 44))
    p = first(chain)
    assert (p.kind, p.seq) == (TRUNCATED, 45)


def test_truncation_past_unsigned_tail_is_seen_in_the_head(chain: Engine) -> None:
    with chain.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq > 44))
        conn.execute(delete(audit_checkpoints).where(audit_checkpoints.c.seq == 50))
    p = first(chain)
    assert (p.kind, p.seq) == (TRUNCATED, 45)
    assert "head" in p.detail


def test_forged_checkpoint_signature_is_named(chain: Engine) -> None:
    with chain.begin() as conn:
        sig = conn.execute(
            select(audit_checkpoints.c.signature).where(audit_checkpoints.c.seq == 30)
        ).scalar_one()
        bad = ("0" if sig[0] != "0" else "1") + sig[1:]
        conn.execute(update(audit_checkpoints).where(audit_checkpoints.c.seq == 30).values(signature=bad))
    p = first(chain)
    assert (p.kind, p.seq) == (FORGED, 30)


def test_checkpoint_signed_by_another_key_fails_with_pinned_key(
    chain: Engine, signer: Signer, tmp_path: Path
) -> None:
    intruder = load_or_create_key(tmp_path / "intruder.key")
    fill_chain(chain, intruder, [sample_record(i) for i in range(N + 1, N + 11)], checkpoint_every=10)
    assert verify(chain).ok  # the intruder registered its key in the database ...
    report = verify(chain, pinned=[signer.public])  # ... which a pinned key does not trust
    p = report.chain("main").first_problem
    assert p is not None and (p.kind, p.seq) == (FORGED, 60)


def test_missing_head_without_anchor_is_named(chain: Engine) -> None:
    with chain.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq <= 10))
    p = first(chain)
    assert (p.kind, p.seq) == (UNANCHORED, 10)


def test_deleting_everything_is_truncation(chain: Engine) -> None:
    with chain.begin() as conn:
        conn.execute(delete(audit_log))
    p = first(chain)
    assert (p.kind, p.seq) == (TRUNCATED, 1)


def test_head_row_alone_flags_truncation_of_unsigned_chain(engine: Engine, signer: Signer) -> None:
    fill_chain(engine, signer, [sample_record(i) for i in range(1, 6)], checkpoint_every=10)
    with engine.begin() as conn:
        conn.execute(delete(audit_checkpoints))
        conn.execute(delete(audit_log).where(audit_log.c.seq == 5))
        assert conn.execute(select(audit_heads.c.seq)).scalar_one() == 5
    p = first(engine)
    assert (p.kind, p.seq) == (TRUNCATED, 5)


def test_chains_are_verified_independently(chain: Engine, signer: Signer) -> None:
    fill_chain(chain, signer, [sample_record(i) for i in range(1, 8)], chain_id="other", checkpoint_every=5)
    with chain.begin() as conn:
        conn.execute(
            update(audit_log).where(audit_log.c.chain_id == "other", audit_log.c.seq == 3).values(status=418)
        )
    report = verify(chain)
    assert report.chain("main").ok
    p = report.chain("other").first_problem
    assert p is not None and (p.kind, p.seq) == (ALTERED, 3)
