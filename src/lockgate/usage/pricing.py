"""What a request cost: token prices for hosted models, hardware time for self-hosted engines.

Token-priced deployments::

    cost = (prompt - cached) * input_per_million / 1e6
         + cached * (cached_per_million or input_per_million) / 1e6
         + completion * output_per_million / 1e6

Cached tokens are a subset of the prompt tokens; they are priced at ``cached_per_million``
when the price table has one, else at the normal input price.

Self-hosted deployments (``hardware_per_hour`` set) pay for the machine, not per token.  A
``ThroughputMeter`` per deployment measures how many tokens (prompt + completion) the engine
processes per second of *busy* time, and each request is charged its share of that time::

    cost = hardware_per_hour * (tokens / measured_tokens_per_second) / 3600

Summed over a busy period this charges exactly the hardware price of the time the engine spent
serving requests; idle time is not charged to anyone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from lockgate.records import RequestRecord
from lockgate.usage.config import PriceConfig

PER_MILLION = 1_000_000.0
SECONDS_PER_HOUR = 3600.0


def cost_of(
    price: PriceConfig | None, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0
) -> float:
    """Token cost of one request under ``price`` (0.0 without a price table)."""
    if price is None:
        return 0.0
    cached = min(max(cached_tokens, 0), max(prompt_tokens, 0))
    uncached = max(prompt_tokens, 0) - cached
    cached_rate = price.input_per_million if price.cached_per_million is None else price.cached_per_million
    total = (
        uncached * price.input_per_million
        + cached * cached_rate
        + max(completion_tokens, 0) * price.output_per_million
    )
    return total / PER_MILLION


@dataclass(slots=True)
class ThroughputMeter:
    """Tokens per second of busy time, averaged with exponential decay over recent requests.

    Busy time is the union of the requests' [start, finish] intervals, so ten concurrent
    requests over the same ten seconds count ten seconds, not a hundred.  Requests are observed
    when they finish; the part of an interval that overlaps time already counted is skipped.
    Both sums decay with ``half_life`` seconds, so the rate follows the engine's recent load.
    """

    half_life: float = 300.0
    _tokens: float = 0.0
    _busy: float = 0.0
    _busy_until: float = -math.inf
    _last: float | None = None

    def observe(self, tokens: int, started_at: float, finished_at: float) -> None:
        if finished_at < started_at or tokens < 0:
            return
        busy = max(0.0, finished_at - max(started_at, self._busy_until))
        self._busy_until = max(self._busy_until, finished_at)
        decay = 1.0
        if self._last is not None and finished_at > self._last:
            decay = 0.5 ** ((finished_at - self._last) / self.half_life)
        self._last = finished_at if self._last is None else max(self._last, finished_at)
        self._tokens = self._tokens * decay + tokens
        self._busy = self._busy * decay + busy

    @property
    def tokens_per_second(self) -> float | None:
        """``None`` until at least one request with measurable busy time was observed."""
        if self._busy <= 0.0 or self._tokens <= 0.0:
            return None
        return self._tokens / self._busy


def self_hosted_cost(hardware_per_hour: float, tokens: int, meter: ThroughputMeter) -> float:
    """Share of the hourly hardware price for ``tokens``; 0.0 while throughput is unmeasured."""
    rate = meter.tokens_per_second
    if rate is None or tokens <= 0:
        return 0.0
    return hardware_per_hour * (tokens / rate) / SECONDS_PER_HOUR


@dataclass(slots=True)
class Pricer:
    """Prices finished requests; keeps one ``ThroughputMeter`` per self-hosted deployment."""

    meters: dict[str, ThroughputMeter] = field(default_factory=dict)

    def meter(self, deployment: str) -> ThroughputMeter:
        found = self.meters.get(deployment)
        if found is None:
            found = self.meters[deployment] = ThroughputMeter()
        return found

    def cost(self, record: RequestRecord, price: PriceConfig | None) -> float:
        if price is None or price.hardware_per_hour is None:
            return cost_of(price, record.prompt_tokens, record.completion_tokens, record.cached_tokens)
        tokens = record.prompt_tokens + record.completion_tokens
        meter = self.meter(record.deployment or "")
        meter.observe(tokens, record.started_at, record.finished_at)
        return self_hosted_cost(price.hardware_per_hour, tokens, meter)

    def apply(self, record: RequestRecord, price: PriceConfig | None) -> None:
        """Fill ``record.cost`` and ``record.currency`` (call before submitting to sinks)."""
        record.cost = self.cost(record, price)
        record.currency = price.currency if price is not None else record.currency
