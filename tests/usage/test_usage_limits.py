"""Limiter on one instance: rpm, tpm, daily and monthly spend per key and team, with a fake clock."""

from __future__ import annotations

import pytest

from lockgate.errors import RateLimited
from lockgate.records import RequestRecord
from lockgate.usage.config import Limit, LimitsConfig
from lockgate.usage.limits import Limiter


def make(clock, **limits: object) -> Limiter:  # type: ignore[no-untyped-def]
    return Limiter(LimitsConfig(**limits), clock=clock)


def allowed(limiter: Limiter, n: int, key: str = "k1", name: str = "alice", team: str | None = None) -> int:
    ok = 0
    for _ in range(n):
        try:
            limiter.check(key, name, team)
        except RateLimited:
            continue
        ok += 1
    return ok


def test_requests_per_minute_per_key(clock) -> None:  # type: ignore[no-untyped-def]
    lim = make(clock, keys={"alice": Limit(requests_per_minute=5)})
    assert allowed(lim, 8) == 5
    assert allowed(lim, 3, key="k2", name="bob") == 3  # bob has no limit


def test_rejected_requests_are_not_counted(clock) -> None:  # type: ignore[no-untyped-def]
    lim = make(clock, keys={"alice": Limit(requests_per_minute=2)})
    assert allowed(lim, 50) == 2
    clock.advance(60)  # next window: previous minute weighs (1 - 0/60) = 2 -> still full
    assert allowed(lim, 1) == 0
    clock.advance(30)  # half a minute in: 2 * 0.5 = 1 < 2 -> one more request fits
    assert allowed(lim, 5) == 1


def test_sliding_estimate_and_retry_after(clock) -> None:  # type: ignore[no-untyped-def]
    lim = make(clock, keys={"alice": Limit(requests_per_minute=10)})
    clock.advance(50)  # 12:00:50
    assert allowed(lim, 10) == 10
    with pytest.raises(RateLimited) as info:
        lim.check("k1", "alice", None)
    # 10 requests in this window: next window at +10 s, then 10*(1-e/60) < 10 right after -> 11 s
    assert info.value.headers == {"Retry-After": "11"}
    clock.advance(11)
    assert allowed(lim, 1) == 1


def test_error_shape_names_the_limit(clock) -> None:  # type: ignore[no-untyped-def]
    lim = make(clock, keys={"alice": Limit(requests_per_minute=1)})
    lim.check("k1", "alice", None)
    with pytest.raises(RateLimited) as info:
        lim.check("k1", "alice", None)
    err = info.value
    assert err.status == 429
    body = err.to_dict()["error"]
    assert body["type"] == "rate_limit_error"
    assert body["code"] == "rate_limit_exceeded"
    assert "key 'alice'" in body["message"]
    assert "1 requests per minute" in body["message"]
    assert "resets at 2025-03-10 12:01:00 UTC" in body["message"]
    assert int(err.headers["Retry-After"]) >= 1


def test_default_key_limit_applies_to_unlisted_keys(clock) -> None:  # type: ignore[no-untyped-def]
    lim = make(clock, default_key=Limit(requests_per_minute=2), keys={"vip": Limit(requests_per_minute=4)})
    assert allowed(lim, 5, key="k1", name="anyone") == 2
    assert allowed(lim, 5, key="k2", name="other") == 2  # counted per key
    assert allowed(lim, 5, key="k3", name="vip") == 4


def test_team_limit_is_shared_by_its_keys(clock) -> None:  # type: ignore[no-untyped-def]
    lim = make(clock, teams={"ml": Limit(requests_per_minute=3)})
    assert allowed(lim, 2, key="k1", name="a", team="ml") == 2
    assert allowed(lim, 5, key="k2", name="b", team="ml") == 1
    with pytest.raises(RateLimited, match="team 'ml'"):
        lim.check("k3", "c", "ml")
    assert allowed(lim, 3, key="k4", name="d", team="other") == 3


def test_tokens_per_minute_from_submitted_records(clock) -> None:  # type: ignore[no-untyped-def]
    lim = make(clock, keys={"alice": Limit(tokens_per_minute=1000)})
    lim.check("k1", "alice", None)
    rec = RequestRecord(
        "r1", clock(), key_id="k1", key_name="alice", prompt_tokens=700, completion_tokens=300
    )
    lim.submit(rec)
    with pytest.raises(RateLimited, match="tokens per minute") as info:
        lim.check("k1", "alice", None)
    # 1000 tokens this window: 60 s to the next one, then they decay below the limit at once
    assert info.value.headers["Retry-After"] == "61"
    clock.advance(61)
    lim.check("k1", "alice", None)


def test_daily_spend_resets_at_utc_midnight(clock) -> None:  # type: ignore[no-untyped-def]
    lim = make(clock, teams={"ml": Limit(spend_per_day=5.0)})
    lim.check("k1", "a", "ml")
    lim.charge("k1", "a", "ml", tokens=10, cost=4.0)
    lim.check("k1", "a", "ml")
    lim.charge("k1", "a", "ml", cost=1.5)  # a streamed response ended over budget
    with pytest.raises(RateLimited) as info:
        lim.check("k2", "b", "ml")
    body = info.value.to_dict()["error"]
    assert body["code"] == "insufficient_quota"
    assert "daily spend budget of 5 (5.5 spent)" in body["message"]
    assert "2025-03-11 00:00:00 UTC" in body["message"]
    assert info.value.headers["Retry-After"] == str(12 * 3600 + 1)
    clock.advance(12 * 3600)
    lim.check("k2", "b", "ml")


def test_monthly_spend_resets_on_the_first(clock) -> None:  # type: ignore[no-untyped-def]
    lim = make(clock, keys={"alice": Limit(spend_per_month=10.0)})
    lim.charge("k1", "alice", None, cost=6.0)
    clock.advance(5 * 86400)  # a new day, same month
    lim.charge("k1", "alice", None, cost=4.0)
    with pytest.raises(RateLimited, match="monthly spend") as info:
        lim.check("k1", "alice", None)
    assert "2025-04-01 00:00:00 UTC" in info.value.message
    clock.now = 1743465600.0  # 2025-04-01 00:00:00 UTC
    lim.check("k1", "alice", None)


def test_zero_budget_blocks_everything(clock) -> None:  # type: ignore[no-untyped-def]
    lim = make(clock, keys={"alice": Limit(spend_per_day=0.0)})
    with pytest.raises(RateLimited):
        lim.check("k1", "alice", None)


def test_peek_does_not_count(clock) -> None:  # type: ignore[no-untyped-def]
    lim = make(clock, keys={"alice": Limit(requests_per_minute=1)})
    assert lim.peek("k1", "alice", None) is None
    assert lim.peek("k1", "alice", None) is None
    lim.check("k1", "alice", None)
    assert isinstance(lim.peek("k1", "alice", None), RateLimited)


def test_anonymous_request_has_no_key_limits(clock) -> None:  # type: ignore[no-untyped-def]
    lim = make(clock, default_key=Limit(requests_per_minute=1))
    assert allowed(lim, 3, key=None, name=None) == 3  # type: ignore[arg-type]
    lim.charge(None, None, None, tokens=5, cost=1.0)
    assert lim.book.pending == {}


def test_zero_usage_records_add_no_counters(clock) -> None:  # type: ignore[no-untyped-def]
    lim = make(clock)
    lim.submit(RequestRecord("r1", clock(), key_id="k1", key_name="alice", status=429))
    assert lim.book.pending == {}


def test_priced_records_feed_the_budget(clock) -> None:  # type: ignore[no-untyped-def]
    from lockgate.usage.config import PriceConfig
    from lockgate.usage.pricing import Pricer

    lim = make(clock, keys={"alice": Limit(spend_per_day=1.0)})
    rec = RequestRecord("r1", clock(), key_id="k1", key_name="alice", prompt_tokens=500_000)
    Pricer().apply(rec, PriceConfig(input_per_million=2.0))
    lim.submit(rec)
    with pytest.raises(RateLimited, match="daily spend"):
        lim.check("k1", "alice", None)
