"""Config shapes for provider facts and routing policies."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ProviderFacts(BaseModel):
    """Where a provider stands.  Unset fields inherit from the built-in catalogue entry."""

    model_config = ConfigDict(extra="forbid")

    operator_entity: str | None = None
    operator_country: str | None = Field(
        None, description="ISO 3166-1 alpha-2 of the operating legal entity."
    )
    processing_locations: list[str] | None = Field(
        None, description="ISO country codes where data is processed."
    )
    parent_jurisdiction: str | None = Field(None, description="ISO country of the ultimate parent company.")
    foreign_access_laws: list[str] | None = Field(
        None, description="e.g. US-CLOUD-Act, US-FISA-702, PRC-NIL."
    )
    retention: str | None = None
    zero_data_retention: bool | None = None
    trains_on_customer_data: bool | None = None
    dpf_certified: bool | None = None
    self_hosted: bool | None = None


class PolicyRule(BaseModel):
    """A named policy: every rule that is set must hold for a deployment to be eligible."""

    model_config = ConfigDict(extra="forbid")

    description: str | None = None
    self_hosted: bool | None = None
    operator_country_in: list[str] | None = Field(None, description="ISO codes; 'EU' and 'EEA' expand.")
    processing_in: list[str] | None = None
    parent_jurisdiction_in: list[str] | None = None
    foreign_access_laws_none_of: list[str] | None = Field(None, description="['*'] means no such law at all.")
    exclude_countries: list[str] | None = None
    exclude_law_jurisdictions: list[str] | None = Field(
        None, description="Exclude providers exposed to any access law of these countries (e.g. CN)."
    )
    exclude_providers: list[str] | None = Field(None, description="Provider or catalogue names.")
    require_zero_data_retention: bool | None = None
    forbid_training_on_data: bool | None = None
    require_verified_facts: bool | None = None


class PolicyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    definitions: dict[str, PolicyRule] = Field(
        default_factory=dict, description="Adds to the built-in policies."
    )
    default: str | None = Field(None, description="Policy for keys that name none (None: no restriction).")
    pii_default: str | None = Field(
        "on-prem-only", description="Policy added when a request carries personal data."
    )
    teams: dict[str, str] = Field(
        default_factory=dict,
        description="Policy per team; a key of that team is held to it as well as to its own (AND).",
    )
