"""Usage aggregation is exact and buckets by UTC day/month on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from lockgate.audit.signing import Signer
from lockgate.audit.testing import fill_chain, sample_record
from lockgate.audit.usage_report import UsageRow, usage


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.fixture
def usage_engine(engine: Engine, signer: Signer) -> Engine:
    records = [
        sample_record(1, started_at=ts("2026-01-31T23:59:59"), key_id="k1", team="a", prompt_tokens=100,
                      completion_tokens=20, cached_tokens=10, cost=0.25, currency="EUR"),
        sample_record(2, started_at=ts("2026-02-01T00:00:00"), key_id="k1", team="a", prompt_tokens=7,
                      completion_tokens=3, cached_tokens=0, cost=0.5, currency="EUR"),
        sample_record(3, started_at=ts("2026-02-01T12:00:00"), key_id="k2", team="a", prompt_tokens=1000,
                      completion_tokens=1, cached_tokens=999, cost=0.125, currency="EUR", status=502,
                      error_type="upstream_error"),
        sample_record(4, started_at=ts("2026-02-01T13:00:00"), key_id="k2", team="b", prompt_tokens=5,
                      completion_tokens=5, cached_tokens=0, cost=2.0, currency="USD", model_alias="big",
                      provider="us-cloud", jurisdiction="US"),
        sample_record(5, started_at=ts("2026-02-02T08:00:00"), key_id=None, team=None, prompt_tokens=0,
                      completion_tokens=0, cost=0.0, currency=None, status=429, error_type="rate_limited"),
    ]  # fmt: skip
    fill_chain(engine, signer, records, checkpoint_every=2)
    return engine


def test_by_key_per_day(usage_engine: Engine) -> None:
    rows = usage(usage_engine, "key", "day")
    assert rows == [
        UsageRow("2026-01-31", "k1", "EUR", 1, 100, 20, 10, 0.25, 0),
        UsageRow("2026-02-01", "k1", "EUR", 1, 7, 3, 0, 0.5, 0),
        UsageRow("2026-02-01", "k2", "EUR", 1, 1000, 1, 999, 0.125, 1),
        UsageRow("2026-02-01", "k2", "USD", 1, 5, 5, 0, 2.0, 0),
        UsageRow("2026-02-02", None, None, 1, 0, 0, 0, 0.0, 1),
    ]


def test_by_team_per_month(usage_engine: Engine) -> None:
    rows = usage(usage_engine, "team", "month")
    assert rows == [
        UsageRow("2026-01", "a", "EUR", 1, 100, 20, 10, 0.25, 0),
        UsageRow("2026-02", None, None, 1, 0, 0, 0, 0.0, 1),
        UsageRow("2026-02", "a", "EUR", 2, 1007, 4, 999, 0.625, 1),
        UsageRow("2026-02", "b", "USD", 1, 5, 5, 0, 2.0, 0),
    ]


def test_by_jurisdiction_since(usage_engine: Engine) -> None:
    rows = usage(usage_engine, "jurisdiction", "month", since=ts("2026-02-01T00:00:00"))
    assert [(r.group, r.currency, r.requests, r.prompt_tokens) for r in rows] == [
        ("EU", None, 1, 0),
        ("EU", "EUR", 2, 1007),
        ("US", "USD", 1, 5),
    ]


@pytest.mark.parametrize("by", ["model", "provider"])
def test_totals_match_the_records(usage_engine: Engine, by: str) -> None:
    rows = usage(usage_engine, by, "month")
    assert sum(r.requests for r in rows) == 5
    assert sum(r.prompt_tokens for r in rows) == 1112
    assert sum(r.completion_tokens for r in rows) == 29
    assert sum(r.cached_tokens for r in rows) == 1009


def test_many_records_sum_exactly(engine: Engine, signer: Signer) -> None:
    records = [sample_record(i, started_at=ts("2026-03-05T10:00:00") + i, key_id="k") for i in range(1, 301)]
    fill_chain(engine, signer, records, checkpoint_every=100)
    (row,) = usage(engine, "key", "day")
    assert row.requests == 300
    assert row.prompt_tokens == sum(r.prompt_tokens for r in records)
    assert row.completion_tokens == sum(r.completion_tokens for r in records)
    assert row.cost == pytest.approx(sum(r.cost for r in records), abs=1e-9)


def test_unknown_dimension_is_an_error(engine: Engine) -> None:
    with pytest.raises(ValueError, match="by must be one of"):
        usage(engine, "colour", "day")
