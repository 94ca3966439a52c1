"""Cost of a request: token prices (cached tokens included) and self-hosted hardware time."""

from __future__ import annotations

import pytest

from lockgate.records import RequestRecord
from lockgate.usage.config import PriceConfig
from lockgate.usage.pricing import Pricer, ThroughputMeter, cost_of, self_hosted_cost

PRICE = PriceConfig(currency="EUR", input_per_million=2.0, output_per_million=6.0, cached_per_million=0.5)


def test_no_price_table_costs_nothing() -> None:
    assert cost_of(None, 1000, 1000, 0) == 0.0


def test_input_and_output_tokens_at_their_prices() -> None:
    assert cost_of(PRICE, 1_000_000, 500_000, 0) == pytest.approx(2.0 + 3.0)


def test_cached_tokens_are_a_subset_of_prompt_at_cached_price() -> None:
    # 1M prompt tokens of which 400k cached: 600k at 2.0, 400k at 0.5, plus 100k output at 6.0
    assert cost_of(PRICE, 1_000_000, 100_000, 400_000) == pytest.approx(1.2 + 0.2 + 0.6)


def test_cached_tokens_at_input_price_without_cached_rate() -> None:
    price = PriceConfig(input_per_million=2.0, output_per_million=6.0)
    assert cost_of(price, 1_000_000, 0, 400_000) == pytest.approx(2.0)


def test_cached_count_above_prompt_is_clamped() -> None:
    assert cost_of(PRICE, 1000, 0, 5000) == pytest.approx(1000 * 0.5 / 1e6)


def test_negative_counts_cost_nothing() -> None:
    assert cost_of(PRICE, -5, -5, -5) == 0.0


def test_meter_sequential_requests() -> None:
    meter = ThroughputMeter(half_life=1e12)  # no decay: the plain ratio of sums
    meter.observe(100, 0.0, 2.0)
    meter.observe(300, 2.0, 4.0)
    assert meter.tokens_per_second == pytest.approx(100.0)


def test_meter_counts_overlapping_requests_once() -> None:
    meter = ThroughputMeter()
    # two requests served together over the same 10 s: 200 tokens in 10 s of busy time
    meter.observe(100, 0.0, 10.0)
    meter.observe(100, 0.0, 10.0)
    assert meter.tokens_per_second == pytest.approx(20.0)


def test_meter_partial_overlap_counts_only_new_busy_time() -> None:
    meter = ThroughputMeter(half_life=1e12)
    meter.observe(50, 0.0, 5.0)
    meter.observe(50, 3.0, 10.0)  # busy from 0 to 10: 100 tokens / 10 s
    assert meter.tokens_per_second == pytest.approx(10.0)


def test_meter_follows_recent_load() -> None:
    meter = ThroughputMeter(half_life=10.0)
    meter.observe(100, 0.0, 10.0)  # 10 tok/s long ago
    meter.observe(1000, 1000.0, 1010.0)  # 100 tok/s now; the old sample has decayed away
    rate = meter.tokens_per_second
    assert rate is not None and 99.0 < rate <= 100.0


def test_meter_unmeasured_and_invalid_samples() -> None:
    meter = ThroughputMeter()
    assert meter.tokens_per_second is None
    meter.observe(100, 5.0, 4.0)  # finished before it started: ignored
    meter.observe(-1, 0.0, 1.0)
    assert meter.tokens_per_second is None
    assert self_hosted_cost(3.6, 1000, meter) == 0.0


def test_self_hosted_cost_formula() -> None:
    meter = ThroughputMeter()
    meter.observe(1000, 0.0, 10.0)  # 100 tok/s
    # 3.60 per hour = 0.001 per second; 500 tokens take 5 s -> 0.005
    assert self_hosted_cost(3.6, 500, meter) == pytest.approx(0.005)
    assert self_hosted_cost(3.6, 0, meter) == 0.0


def _record(**kw: object) -> RequestRecord:
    base: dict[str, object] = {"request_id": "r1", "started_at": 100.0, "finished_at": 110.0}
    base.update(kw)
    return RequestRecord(**base)  # type: ignore[arg-type]


def test_pricer_token_priced_deployment_sets_cost_and_currency() -> None:
    rec = _record(deployment="mistral/large", prompt_tokens=1_000_000, completion_tokens=0)
    Pricer().apply(rec, PRICE)
    assert rec.cost == pytest.approx(2.0)
    assert rec.currency == "EUR"


def test_pricer_without_price_keeps_zero_cost() -> None:
    rec = _record(prompt_tokens=10, completion_tokens=10)
    Pricer().apply(rec, None)
    assert rec.cost == 0.0 and rec.currency is None


def test_pricer_self_hosted_uses_a_meter_per_deployment() -> None:
    hw = PriceConfig(currency="EUR", hardware_per_hour=36.0)
    pricer = Pricer()
    first = _record(deployment="local/a", prompt_tokens=500, completion_tokens=500)  # 100 tok/s
    pricer.apply(first, hw)
    # 1000 tokens at 100 tok/s = 10 s of a 36/h machine = 0.1
    assert first.cost == pytest.approx(0.1)
    other = _record(deployment="local/b", prompt_tokens=100, completion_tokens=100, finished_at=101.0)
    pricer.apply(other, hw)  # 200 tok/s on its own meter: 1 s -> 0.01
    assert other.cost == pytest.approx(0.01)
    assert set(pricer.meters) == {"local/a", "local/b"}
