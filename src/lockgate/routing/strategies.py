"""Load-balancing strategies: order the eligible deployments of one alias for one request.

Each strategy is a function registered by name; the router never branches on the name.
Strategies run *after* the policy filter, so they only ever see allowed deployments.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from lockgate.routing.deployment import Deployment

Strategy = Callable[[Sequence[Deployment]], list[Deployment]]
STRATEGIES: dict[str, Strategy] = {}


def strategy(name: str) -> Callable[[Strategy], Strategy]:
    def register(fn: Strategy) -> Strategy:
        STRATEGIES[name] = fn
        return fn

    return register


@strategy("ordered")
def ordered(deps: Sequence[Deployment]) -> list[Deployment]:
    """Configured order: the first is primary, the rest are fallbacks."""
    return list(deps)


@strategy("weighted")
def weighted(deps: Sequence[Deployment]) -> list[Deployment]:
    """Weighted random choice for the first try; the rest follow by weight (sampling without replacement)."""
    pool = list(deps)
    out: list[Deployment] = []
    while pool:
        pick = random.choices(pool, weights=[d.weight for d in pool])[0]
        out.append(pick)
        pool.remove(pick)
    return out


@strategy("least-busy")
def least_busy(deps: Sequence[Deployment]) -> list[Deployment]:
    """Fewest requests in flight first; ties keep the configured order."""
    return sorted(deps, key=lambda d: d.stats.inflight / d.weight)


@strategy("least-latency")
def least_latency(deps: Sequence[Deployment]) -> list[Deployment]:
    """Lowest moving-average latency first; unmeasured deployments are tried first to learn them."""
    return sorted(deps, key=lambda d: -1.0 if d.stats.ewma_latency_ms is None else d.stats.ewma_latency_ms)
