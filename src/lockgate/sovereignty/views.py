"""Light, offline views of a config's deployments: what the policy engine needs, no provider."""

from __future__ import annotations

from dataclasses import dataclass

from lockgate.config.schema import GatewayConfig
from lockgate.sovereignty.facts import ResolvedFacts, resolve_facts


@dataclass(frozen=True, slots=True, eq=False)
class DeploymentView:
    alias: str
    provider_name: str
    upstream_model: str
    facts: ResolvedFacts
    self_hosted_copy_of: str | None = None
    weight: float = 1.0

    @property
    def name(self) -> str:
        return f"{self.provider_name}/{self.upstream_model}"

    @property
    def is_insurance(self) -> bool:
        """A self-hosted copy of the weights a hosted deployment of the alias serves."""
        return self.self_hosted_copy_of is not None


def resolve_all(config: GatewayConfig) -> dict[str, ResolvedFacts]:
    """Resolved facts of every configured provider (raises ConfigError on a bad fact)."""
    domicile = config.operator.domicile
    return {name: resolve_facts(name, cfg, domicile) for name, cfg in config.providers.items()}


def build_views(config: GatewayConfig) -> dict[str, list[DeploymentView]]:
    """Per alias, its deployments in config order."""
    facts = resolve_all(config)
    return {
        alias: [
            DeploymentView(
                alias=alias,
                provider_name=dep.provider,
                upstream_model=dep.model,
                facts=facts[dep.provider],
                self_hosted_copy_of=dep.self_hosted_copy_of,
                weight=dep.weight,
            )
            for dep in spec.deployments
        ]
        for alias, spec in config.models.items()
    }
