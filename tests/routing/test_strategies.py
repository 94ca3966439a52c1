"""Load-balancing strategies order only the eligible deployments they are given."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from lockgate.routing.breaker import CircuitBreaker
from lockgate.routing.deployment import Deployment
from lockgate.routing.strategies import STRATEGIES
from lockgate.sovereignty.facts import ResolvedFacts


def _dep(name: str, weight: float = 1.0, inflight: int = 0, latency: float | None = None) -> Deployment:
    d = Deployment(alias="a", provider_name=name, upstream_model="m", provider=None,  # type: ignore[arg-type]
                   facts=ResolvedFacts(provider=name), breaker=CircuitBreaker(), weight=weight)  # fmt: skip
    d.stats.inflight = inflight
    d.stats.ewma_latency_ms = latency
    return d


def _names(deps: Any) -> list[str]:
    return [d.provider_name for d in deps]


def test_registry_has_documented_strategies() -> None:
    assert set(STRATEGIES) == {"ordered", "weighted", "least-busy", "least-latency"}


def test_ordered_keeps_configured_order() -> None:
    deps = [_dep("a"), _dep("b"), _dep("c")]
    assert _names(STRATEGIES["ordered"](deps)) == ["a", "b", "c"]


def test_least_busy_prefers_fewest_inflight_per_weight() -> None:
    deps = [_dep("a", inflight=3), _dep("b", inflight=1), _dep("c", weight=4, inflight=2)]
    assert _names(STRATEGIES["least-busy"](deps)) == ["c", "b", "a"]


def test_least_latency_tries_unmeasured_first_then_fastest() -> None:
    deps = [_dep("slow", latency=90), _dep("new"), _dep("fast", latency=10)]
    assert _names(STRATEGIES["least-latency"](deps)) == ["new", "fast", "slow"]


def test_weighted_follows_weights_and_returns_every_deployment() -> None:
    random.seed(7)
    deps = [_dep("heavy", weight=9), _dep("light", weight=1)]
    firsts = Counter(STRATEGIES["weighted"](deps)[0].provider_name for _ in range(2000))
    assert 0.85 < firsts["heavy"] / 2000 < 0.95
    assert sorted(_names(STRATEGIES["weighted"](deps))) == ["heavy", "light"]


def test_ewma_latency() -> None:
    d = _dep("x")
    d.stats.observe_latency(100)
    d.stats.observe_latency(200)
    assert d.stats.ewma_latency_ms == 120
