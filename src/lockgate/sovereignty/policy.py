"""Routing policies over provider facts.

``PolicyEngine.filter`` runs **before** load-balancing and fails closed: a deployment is
eligible only when every active policy allows it (policies combine with AND, so adding one can
only make a request stricter) and no cut applies to it.  Verdicts are cached per (policy tuple,
deployment) and the cache is dropped whenever the cut set's ``version`` changes.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from lockgate.config.schema import GatewayConfig
from lockgate.errors import InvalidRequest
from lockgate.sovereignty.builtin import BUILTIN_POLICIES
from lockgate.sovereignty.config import PolicyRule
from lockgate.sovereignty.cuts import CutSet
from lockgate.sovereignty.facts import ResolvedFacts
from lockgate.sovereignty.rules import evaluate

CUT_POLICY = "cut"
_CACHE_LIMIT = 65_536


@dataclass(frozen=True, slots=True)
class Exclusion:
    deployment: str
    policy: str  # policy name, or "cut" for the kill switch
    rule: str  # the rule that excluded it, e.g. "operator_country_in"
    detail: str  # human explanation, e.g. "operator country US is not in EU/EEA"


class Routable(Hashable, Protocol):
    """What the engine needs of a deployment: routing's ``Deployment`` and the drill's view."""

    @property
    def name(self) -> str: ...

    @property
    def provider_name(self) -> str: ...

    @property
    def facts(self) -> ResolvedFacts: ...


D = TypeVar("D", bound=Routable)


def combine(*groups: Iterable[str | None]) -> tuple[str, ...]:
    """Merge policy names from key, team and request header: a union, hence only stricter."""
    out: list[str] = []
    for group in groups:
        out.extend(n for n in group if n and n not in out)
    return tuple(out)


def policy_rules(config: GatewayConfig) -> dict[str, PolicyRule]:
    """Built-in policies with the config's definitions added or replacing them by name."""
    return {**BUILTIN_POLICIES, **config.policies.definitions}


class PolicyEngine:
    def __init__(self, config: GatewayConfig, cuts: CutSet) -> None:
        self.config = config
        self.cuts = cuts
        self.rules = policy_rules(config)
        self.names = frozenset(self.rules)
        self._cache: dict[tuple[tuple[str, ...], Routable], tuple[Exclusion, ...]] = {}
        self._cut_version = cuts.version

    def check_names(self, names: Sequence[str]) -> None:
        for n in names:
            if n not in self.names:
                known = ", ".join(sorted(self.names))
                raise InvalidRequest(f"unknown policy {n!r} (known: {known})", param="x-lockgate-policy")

    def evaluate(self, policy: str, facts: ResolvedFacts) -> tuple[str, str] | None:
        """(rule, detail) of the first rule of ``policy`` that excludes a provider, or None."""
        rule = self.rules.get(policy)
        if rule is None:
            return "unknown-policy", f"policy {policy!r} is not defined"
        return evaluate(rule, facts)

    def verdict(self, policies: tuple[str, ...], deployment: Routable) -> tuple[Exclusion, ...]:
        """Every reason the deployment is excluded (empty: eligible), computed without the cache."""
        out: list[Exclusion] = []
        cut = self.cuts.match(deployment.provider_name, deployment.facts)
        if cut is not None:
            out.append(Exclusion(deployment.name, CUT_POLICY, "kill-switch", f"cut: {cut}"))
        for policy in policies:
            failed = self.evaluate(policy, deployment.facts)
            if failed is not None:
                out.append(Exclusion(deployment.name, policy, failed[0], failed[1]))
        return tuple(out)

    def _fresh_cache(self) -> dict[tuple[tuple[str, ...], Routable], tuple[Exclusion, ...]]:
        version = self.cuts.version
        if version != self._cut_version or len(self._cache) > _CACHE_LIMIT:
            self._cache = {}
            self._cut_version = version
        return self._cache

    def filter(self, policies: Sequence[str], deployments: Sequence[D]) -> tuple[list[D], list[Exclusion]]:
        cache = self._fresh_cache()
        key = tuple(policies)
        eligible: list[D] = []
        excluded: list[Exclusion] = []
        for d in deployments:
            reasons = cache.get((key, d))
            if reasons is None:
                reasons = cache[(key, d)] = self.verdict(key, d)
            if reasons:
                excluded.extend(reasons)
            else:
                eligible.append(d)
        return eligible, excluded
