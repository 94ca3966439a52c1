"""Resolved facts of one provider: catalogue entry + config overrides, with provenance."""

from __future__ import annotations

from dataclasses import dataclass, field

from lockgate.config.schema import ProviderConfig
from lockgate.sovereignty.config import ProviderFacts
from lockgate.sovereignty.laws import implied_laws

#: Every fact a provider carries, in display order.
FACT_NAMES: tuple[str, ...] = tuple(ProviderFacts.model_fields)

#: Facts whose empty value means "none" rather than "unknown" (when not listed in ``unknown``).
NONE_MEANS_NONE: frozenset[str] = frozenset({"parent_jurisdiction", "foreign_access_laws"})


@dataclass(frozen=True, slots=True)
class ResolvedFacts:
    provider: str
    operator_entity: str | None = None
    operator_country: str | None = None
    processing_locations: tuple[str, ...] = ()
    parent_jurisdiction: str | None = None
    foreign_access_laws: tuple[str, ...] = ()
    retention: str | None = None
    zero_data_retention: bool | None = None
    trains_on_customer_data: bool | None = None
    dpf_certified: bool | None = None
    self_hosted: bool = False
    catalogue: str | None = None
    sources: dict[str, str] = field(default_factory=dict)  # fact -> source URL
    verified: dict[str, bool] = field(default_factory=dict)  # fact -> verified against the source
    unknown: frozenset[str] = frozenset()  # facts nobody established (policies fail closed on them)

    @property
    def jurisdiction(self) -> str:
        """The country whose law governs the operator (shown in x-lockgate-jurisdiction)."""
        return self.operator_country or "unknown"


def is_unknown(facts: ResolvedFacts, name: str) -> bool:
    """Is this fact unestablished?  ``None``/empty counts as unknown except where it means none."""
    if name in facts.unknown:
        return True
    value = getattr(facts, name)
    if name in NONE_MEANS_NONE:
        return False
    return value is None or value == ()


def effective_laws(facts: ResolvedFacts) -> tuple[str, ...]:
    """Declared foreign-access laws plus those implied by a hosted operator's or parent's country."""
    if facts.self_hosted:
        return facts.foreign_access_laws
    implied = implied_laws(facts.operator_country, facts.parent_jurisdiction)
    return facts.foreign_access_laws + tuple(x for x in implied if x not in facts.foreign_access_laws)


def resolve_facts(name: str, cfg: ProviderConfig, domicile: str) -> ResolvedFacts:
    """Merge the catalogue entry named by ``cfg.catalogue`` with ``cfg.facts`` overrides.

    Self-hosted providers (local engines) default to the operator's own domicile.
    """
    from lockgate.sovereignty.catalogue import merge_facts

    return merge_facts(name, cfg, domicile)
