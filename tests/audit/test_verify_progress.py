"""``verify`` reports walked records through its progress hook: in steps, then the remainder of
each chain, adding up to exactly the records it checked (also when a chain is broken)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, delete

from lockgate.audit import verify as verify_module
from lockgate.audit.signing import Signer
from lockgate.audit.tables import audit_log
from lockgate.audit.testing import fill_chain, sample_record
from lockgate.audit.verify import verify


@pytest.fixture
def small_steps(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(verify_module, "PROGRESS_STEP", 10)
    return 10


def test_progress_comes_in_steps_and_adds_up(engine: Engine, signer: Signer, small_steps: int) -> None:
    fill_chain(engine, signer, [sample_record(i) for i in range(1, 26)], checkpoint_every=10)
    fill_chain(engine, signer, [sample_record(i, request_id=f"b-{i}") for i in range(1, 8)], chain_id="b")
    calls: list[int] = []
    report = verify(engine, progress=calls.append)
    assert report.ok
    assert calls == [7, 10, 10, 5]  # chain "b" (7 records) sorts before "main" (25)
    assert sum(calls) == sum(c.records for c in report.chains) == 32


def test_progress_counts_what_was_walked_when_records_are_missing(
    engine: Engine, signer: Signer, small_steps: int
) -> None:
    fill_chain(engine, signer, [sample_record(i) for i in range(1, 21)], checkpoint_every=10)
    with engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq.in_([4, 5])))
    calls: list[int] = []
    report = verify(engine, chain_ids=["main"], progress=calls.append)
    assert not report.ok
    assert calls == [10, 8] and report.chain("main").records == 18


def test_no_hook_no_calls_and_same_report(engine: Engine, signer: Signer) -> None:
    fill_chain(engine, signer, [sample_record(i) for i in range(1, 6)], checkpoint_every=10)
    assert verify(engine).chains[0].as_dict() == verify(engine, progress=lambda n: None).chains[0].as_dict()
