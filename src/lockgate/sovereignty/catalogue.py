"""Resolve a provider's facts: built-in catalogue entry, then config overrides, with provenance.

Facts from the catalogue keep their source URL and ``verified`` flag.  A config override is
recorded with the source ``"config"``; it counts as verified only for a self-hosted provider,
where it is the operator's statement about its own infrastructure.  Self-hosted providers
default to the operator's domicile and to no foreign-access law.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lockgate.errors import ConfigError
from lockgate.sovereignty.catalogue_data import ENTRIES, CatalogueEntry, Fact, FactValue
from lockgate.sovereignty.laws import canonical_laws
from lockgate.sovereignty.regions import GROUPS, is_country

if TYPE_CHECKING:
    from lockgate.config.schema import ProviderConfig
    from lockgate.sovereignty.facts import ResolvedFacts

__all__ = ["CATALOGUE", "CatalogueEntry", "Fact", "list_catalogue", "merge_facts"]

CATALOGUE: dict[str, CatalogueEntry] = {entry.name: entry for entry in ENTRIES}

CONFIG_SOURCE = "config"
SELF_HOSTED_SOURCE = "self-hosted (operator.domicile)"


def list_catalogue() -> list[CatalogueEntry]:
    """The built-in entries, sorted by name."""
    return sorted(CATALOGUE.values(), key=lambda e: e.name)


@dataclass
class _Merge:
    values: dict[str, FactValue] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    verified: dict[str, bool] = field(default_factory=dict)

    def put(self, key: str, value: FactValue, source: str, verified: bool) -> None:
        self.values[key] = value
        self.sources[key] = source
        self.verified[key] = verified


def _lookup(name: str, catalogue: str | None) -> CatalogueEntry | None:
    if catalogue is None:
        return None
    entry = CATALOGUE.get(catalogue)
    if entry is None:
        known = ", ".join(sorted(CATALOGUE))
        raise ConfigError(
            f"providers.{name}.catalogue: unknown catalogue entry {catalogue!r} (known: {known})"
        )
    return entry


def _country(name: str, key: str, value: str, allow_groups: bool = False) -> str:
    code = value.strip().upper()
    if is_country(code) or (allow_groups and code in GROUPS):
        return code
    raise ConfigError(
        f"providers.{name}.facts.{key}: {value!r} is not an ISO 3166-1 alpha-2 country code"
        + (" (or EU/EEA)" if allow_groups else "")
    )


def _normalise(name: str, key: str, value: object) -> FactValue:
    """Upper-case and check country codes, canonicalise law names, tuple-ise lists."""
    if key in ("operator_country", "parent_jurisdiction") and isinstance(value, str):
        return _country(name, key, value)
    if key == "processing_locations" and isinstance(value, list):
        return tuple(_country(name, key, v, allow_groups=True) for v in value)
    if key == "foreign_access_laws" and isinstance(value, list):
        return canonical_laws(value)
    if isinstance(value, str | bool) or value is None:
        return value
    raise ConfigError(f"providers.{name}.facts.{key}: unsupported value {value!r}")


def _overrides(name: str, cfg: ProviderConfig) -> dict[str, FactValue]:
    facts = cfg.facts
    return {key: _normalise(name, key, getattr(facts, key)) for key in sorted(facts.model_fields_set)}


def _is_self_hosted(cfg: ProviderConfig, entry: CatalogueEntry | None) -> bool:
    if cfg.facts.self_hosted is not None:
        return cfg.facts.self_hosted
    if cfg.engine is not None:
        return True
    return bool(entry and entry.facts["self_hosted"].value)


def _self_hosted_defaults(m: _Merge, domicile: str) -> None:
    stated = m.values.get("operator_country")
    country = stated if isinstance(stated, str) else domicile
    defaults: tuple[tuple[str, FactValue], ...] = (
        ("operator_entity", "the operator (self-hosted)"),
        ("operator_country", country),
        ("processing_locations", (country,)),
        ("retention", "under the operator's own control"),
        ("zero_data_retention", True),
        ("trains_on_customer_data", False),
        ("dpf_certified", False),
    )
    for key, value in defaults:
        if m.values.get(key) in (None, ()):
            m.put(key, value, SELF_HOSTED_SOURCE, True)
    for key in ("parent_jurisdiction", "foreign_access_laws"):
        if key not in m.values:
            m.put(key, None if key == "parent_jurisdiction" else (), SELF_HOSTED_SOURCE, True)


def _collect(name: str, cfg: ProviderConfig, domicile: str) -> tuple[_Merge, bool]:
    entry = _lookup(name, cfg.catalogue)
    m = _Merge()
    facts: Mapping[str, Fact] = entry.facts if entry else {}
    for key, fact in facts.items():
        m.put(key, fact.value, fact.source, fact.verified)
    self_hosted = _is_self_hosted(cfg, entry)
    for key, value in _overrides(name, cfg).items():
        m.put(key, value, CONFIG_SOURCE, self_hosted)
    m.put("self_hosted", self_hosted, m.sources.get("self_hosted", CONFIG_SOURCE), True)
    if self_hosted:
        _self_hosted_defaults(m, domicile.upper())
    return m, self_hosted


def _opt_str(value: FactValue) -> str | None:
    return value if isinstance(value, str) else None


def _opt_bool(value: FactValue) -> bool | None:
    return value if isinstance(value, bool) else None


def _tuple(value: FactValue) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else ()


def merge_facts(name: str, cfg: ProviderConfig, domicile: str) -> ResolvedFacts:
    """The resolved facts of provider ``name``; raises ConfigError for a bad catalogue name/fact."""
    from lockgate.sovereignty.facts import NONE_MEANS_NONE, ResolvedFacts

    m, self_hosted = _collect(name, cfg, domicile)
    v = m.values
    return ResolvedFacts(
        provider=name,
        operator_entity=_opt_str(v.get("operator_entity")),
        operator_country=_opt_str(v.get("operator_country")),
        processing_locations=_tuple(v.get("processing_locations")),
        parent_jurisdiction=_opt_str(v.get("parent_jurisdiction")),
        foreign_access_laws=_tuple(v.get("foreign_access_laws")),
        retention=_opt_str(v.get("retention")),
        zero_data_retention=_opt_bool(v.get("zero_data_retention")),
        trains_on_customer_data=_opt_bool(v.get("trains_on_customer_data")),
        dpf_certified=_opt_bool(v.get("dpf_certified")),
        self_hosted=self_hosted,
        catalogue=cfg.catalogue,
        sources=dict(m.sources),
        verified=dict(m.verified),
        unknown=frozenset(k for k in NONE_MEANS_NONE if k not in v),
    )
