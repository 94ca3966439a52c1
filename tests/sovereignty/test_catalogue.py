from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from lockgate.config.schema import GatewayConfig
from lockgate.errors import ConfigError
from lockgate.sovereignty.catalogue import CATALOGUE, list_catalogue, merge_facts
from lockgate.sovereignty.facts import FACT_NAMES, effective_laws, is_unknown, resolve_facts

Build = Callable[..., GatewayConfig]
Spec = Callable[..., dict[str, Any]]

REQUIRED = {
    "deepseek", "moonshot", "zai", "alibaba", "alibaba-eu", "mistral", "scaleway", "ovhcloud",
    "ionos", "stackit", "nebius", "together", "fireworks", "openai", "openai-eu", "anthropic",
}  # fmt: skip


def test_catalogue_covers_required_providers() -> None:
    assert set(CATALOGUE) >= REQUIRED
    assert [e.name for e in list_catalogue()] == sorted(CATALOGUE)


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_every_fact_has_source_url_and_flag(name: str) -> None:
    entry = CATALOGUE[name]
    assert set(entry.facts) == set(FACT_NAMES)
    for fact in entry.facts.values():
        assert fact.source.startswith("https://"), (name, fact)
        assert isinstance(fact.verified, bool)
        if fact.value is None:
            assert fact.verified is False, "an unknown fact cannot be verified"


def test_eu_modes_are_separate_entries() -> None:
    assert CATALOGUE["alibaba-eu"].facts["processing_locations"].value == ("DE",)
    assert CATALOGUE["alibaba"].facts["processing_locations"].value == ("SG",)
    assert CATALOGUE["alibaba-eu"].facts["parent_jurisdiction"].value == "CN"
    assert CATALOGUE["openai-eu"].facts["processing_locations"].value == ("EU",)
    assert CATALOGUE["openai-eu"].facts["operator_country"].value == "US"


def test_third_party_summaries_are_unverified() -> None:
    # DeepSeek facts come from press and third-party summaries only in the reference notes
    assert not any(f.verified for k, f in CATALOGUE["deepseek"].facts.items() if k != "self_hosted")
    # Scaleway's own docs state ZDR and the CLOUD Act position
    assert CATALOGUE["scaleway"].facts["zero_data_retention"].verified


def test_merge_catalogue_then_override(build: Build, spec: Spec) -> None:
    cfg = build({"p": spec("openai", zero_data_retention=True, foreign_access_laws=["cloud act"])})
    facts = merge_facts("p", cfg.providers["p"], "DE")
    assert facts.operator_country == "US" and facts.catalogue == "openai"
    assert facts.sources["operator_country"] == CATALOGUE["openai"].facts["operator_country"].source
    assert facts.zero_data_retention is True
    assert facts.sources["zero_data_retention"] == "config"
    assert facts.verified["zero_data_retention"] is False  # a claim about someone else
    assert facts.foreign_access_laws == ("US-CLOUD-Act",)


def test_unknown_catalogue_names_field_and_known_entries(build: Build, spec: Spec) -> None:
    cfg = build({"p": spec("deepsek")})
    with pytest.raises(ConfigError) as err:
        resolve_facts("p", cfg.providers["p"], "DE")
    msg = str(err.value)
    assert "providers.p.catalogue" in msg and "'deepsek'" in msg and "deepseek" in msg


def test_bad_country_override_is_config_error(build: Build, spec: Spec) -> None:
    cfg = build({"p": spec(operator_country="Germany")})
    with pytest.raises(ConfigError, match=r"providers\.p\.facts\.operator_country"):
        resolve_facts("p", cfg.providers["p"], "DE")


def test_self_hosted_defaults_to_domicile_and_counts_as_verified(build: Build, spec: Spec) -> None:
    cfg = build({"local": spec("local"), "own": spec(self_hosted=True, retention="7 days")})
    local = resolve_facts("local", cfg.providers["local"], "fr")
    assert local.self_hosted and local.operator_country == "FR"
    assert local.processing_locations == ("FR",)
    assert local.parent_jurisdiction is None and local.foreign_access_laws == ()
    assert not is_unknown(local, "foreign_access_laws") and not is_unknown(local, "parent_jurisdiction")
    assert effective_laws(local) == ()
    own = resolve_facts("own", cfg.providers["own"], "DE")
    assert own.self_hosted and own.retention == "7 days"
    assert own.sources["retention"] == "config" and own.verified["retention"] is True


def test_hosted_without_facts_is_unknown_not_domicile(build: Build, spec: Spec) -> None:
    cfg = build({"bare": spec()})
    facts = resolve_facts("bare", cfg.providers["bare"], "DE")
    assert not facts.self_hosted and facts.operator_country is None
    for name in ("operator_country", "processing_locations", "parent_jurisdiction", "foreign_access_laws"):
        assert is_unknown(facts, name), name


def test_implied_laws_for_foreign_parent(build: Build, spec: Spec) -> None:
    cfg = build({"p": spec(operator_country="SG", parent_jurisdiction="CN", foreign_access_laws=[])})
    facts = resolve_facts("p", cfg.providers["p"], "DE")
    assert effective_laws(facts) == ("PRC-NIL",)
