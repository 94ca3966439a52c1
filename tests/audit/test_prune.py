"""Pruning removes a prefix of the chain and leaves a signed anchor: the rest still verifies."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine, func, select, update

from lockgate.audit.findings import UNANCHORED
from lockgate.audit.prune import PruneRefused, prune_chain
from lockgate.audit.signing import Signer
from lockgate.audit.tables import audit_checkpoints, audit_log
from lockgate.audit.testing import fill_chain, sample_record
from lockgate.audit.verify import database_keys, verify

T0 = 1_767_225_600.0


@pytest.fixture
def chain(engine: Engine, signer: Signer) -> Engine:
    fill_chain(
        engine, signer, [sample_record(i, started_at=T0 + i) for i in range(1, 41)], checkpoint_every=10
    )
    return engine


def keys(engine: Engine) -> dict[str, Ed25519PublicKey]:
    with engine.connect() as conn:
        return database_keys(conn)


def test_prune_keeps_remaining_chain_verifiable(chain: Engine, signer: Signer) -> None:
    result = prune_chain(chain, "main", T0 + 15.5, signer, keys(chain))
    assert (result.deleted, result.anchor_seq) == (15, 15)
    report = verify(chain, pinned=[signer.public])
    assert report.ok, report.as_dict()
    c = report.chain("main")
    assert (c.first_seq, c.last_seq, c.records) == (16, 40, 25)
    with chain.connect() as conn:
        cps = conn.execute(select(audit_checkpoints.c.seq, audit_checkpoints.c.kind).order_by("seq")).all()
    assert [tuple(r) for r in cps] == [(15, "anchor"), (20, "periodic"), (30, "periodic"), (40, "periodic")]


def test_chain_continues_after_prune(chain: Engine, signer: Signer) -> None:
    prune_chain(chain, "main", T0 + 100, signer)  # everything
    with chain.connect() as conn:
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar_one() == 0
    assert verify(chain).ok
    fill_chain(chain, signer, [sample_record(i) for i in range(41, 46)], checkpoint_every=5)
    report = verify(chain)
    assert report.ok and report.chain("main").first_seq == 41


def test_prune_twice_moves_the_anchor(chain: Engine, signer: Signer) -> None:
    prune_chain(chain, "main", T0 + 5.5, signer)
    prune_chain(chain, "main", T0 + 25.5, signer)
    with chain.connect() as conn:
        first_cp = conn.execute(select(func.min(audit_checkpoints.c.seq))).scalar_one()
    assert first_cp == 25
    assert verify(chain).ok


def test_nothing_to_prune(chain: Engine, signer: Signer) -> None:
    result = prune_chain(chain, "main", T0 - 1, signer)
    assert (result.deleted, result.anchor_seq) == (0, None)
    assert verify(chain).ok


def test_prune_refuses_a_tampered_chain(chain: Engine, signer: Signer) -> None:
    with chain.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 3).values(cost=99.0))
    with pytest.raises(PruneRefused, match="seq 3"):
        prune_chain(chain, "main", T0 + 10.5, signer, keys(chain))
    with chain.connect() as conn:
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar_one() == 40


def test_only_an_anchor_licenses_a_missing_head(chain: Engine, signer: Signer) -> None:
    """Deleting rows up to an ordinary (periodic) checkpoint is not a prune."""
    with chain.begin() as conn:
        conn.execute(audit_log.delete().where(audit_log.c.seq <= 20))
    p = verify(chain).chain("main").first_problem
    assert p is not None and p.kind == UNANCHORED
