"""A deployment: one provider serving one upstream model behind a client-facing alias."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lockgate.routing.breaker import CircuitBreaker

if TYPE_CHECKING:
    from lockgate.providers.base import Provider
    from lockgate.sovereignty.facts import ResolvedFacts
    from lockgate.usage.config import PriceConfig


@dataclass(slots=True)
class DeploymentStats:
    inflight: int = 0
    ewma_latency_ms: float | None = None
    requests: int = 0

    def observe_latency(self, ms: float, alpha: float = 0.2) -> None:
        prev = self.ewma_latency_ms
        self.ewma_latency_ms = ms if prev is None else prev + alpha * (ms - prev)


@dataclass(slots=True, eq=False)
class Deployment:
    alias: str
    provider_name: str
    upstream_model: str
    provider: Provider
    facts: ResolvedFacts
    breaker: CircuitBreaker
    weight: float = 1.0
    price: PriceConfig | None = None
    self_hosted_copy_of: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    stats: DeploymentStats = field(default_factory=DeploymentStats)
    variant: str | None = None  # a LoRA adapter's id: the base model and its adapters differ by name
    # "provider/model" or "provider/model+adapter": built once, read several times per request
    name: str = field(init=False)

    def __post_init__(self) -> None:
        base = f"{self.provider_name}/{self.upstream_model}"
        self.name = base if self.variant is None else f"{base}+{self.variant}"
