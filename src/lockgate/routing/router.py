"""Aliases → deployments, built once from the config at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lockgate.config.schema import GatewayConfig
from lockgate.errors import ModelNotFound
from lockgate.providers.base import Provider
from lockgate.routing.breaker import CircuitBreaker
from lockgate.routing.deployment import Deployment
from lockgate.routing.strategies import STRATEGIES, Strategy
from lockgate.sovereignty.facts import ResolvedFacts


@dataclass(slots=True)
class ModelRoute:
    alias: str
    deployments: list[Deployment]
    strategy: Strategy
    protected: bool = False
    description: str | None = None


class Router:
    def __init__(self, routes: dict[str, ModelRoute]) -> None:
        self.routes = routes
        self._known = ", ".join(sorted(routes))

    def route(self, alias: str) -> ModelRoute:
        route = self.routes.get(alias)
        if route is None:
            raise ModelNotFound(
                f"The model {alias!r} does not exist on this gateway. Available models: {self._known}. "
                "List them with GET /v1/models.",
                param="model",
            )
        return route

    def deployments(self) -> list[Deployment]:
        return [d for r in self.routes.values() for d in r.deployments]


def build_router(
    cfg: GatewayConfig, providers: Mapping[str, Provider], facts: Mapping[str, ResolvedFacts]
) -> Router:
    routes: dict[str, ModelRoute] = {}
    for alias, spec in cfg.models.items():
        deps = []
        for d in spec.deployments:
            provider = providers[d.provider].for_deployment(d)
            deps.append(
                Deployment(
                    alias=alias,
                    provider_name=d.provider,
                    upstream_model=d.model,
                    provider=provider,
                    facts=facts[d.provider],
                    breaker=CircuitBreaker(cfg.breaker.failure_threshold, cfg.breaker.reset_after),
                    weight=d.weight,
                    price=d.price,
                    self_hosted_copy_of=d.self_hosted_copy_of,
                    params=dict(d.params),
                    variant=provider.variant,
                )
            )
        routes[alias] = ModelRoute(alias, deps, STRATEGIES[spec.strategy], spec.protected, spec.description)
    return Router(routes)
