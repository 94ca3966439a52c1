"""The built-in policies.  ``policies.definitions`` in config adds to or replaces them by name."""

from __future__ import annotations

from lockgate.sovereignty.config import PolicyRule

BUILTIN_POLICIES: dict[str, PolicyRule] = {
    "on-prem-only": PolicyRule(
        description="Only self-hosted engines the operator runs itself.",
        self_hosted=True,
    ),
    "eu-sovereign": PolicyRule(
        description="EU/EEA operator, no parent outside the EU/EEA, no foreign-access law, "
        "processing in the EU/EEA.",
        operator_country_in=["EEA"],
        parent_jurisdiction_in=["EEA"],
        foreign_access_laws_none_of=["*"],
        processing_in=["EEA"],
    ),
    "eu-only": PolicyRule(
        description="Data processed only in the EU/EEA (the operator may be foreign).",
        processing_in=["EEA"],
    ),
    "no-cn": PolicyRule(
        description="No operator, parent or processing in China and no exposure to PRC access laws.",
        exclude_countries=["CN"],
        exclude_law_jurisdictions=["CN"],
    ),
    "no-us-cloud-act": PolicyRule(
        description="No provider exposed to the US CLOUD Act (US operator or parent included).",
        foreign_access_laws_none_of=["US-CLOUD-Act"],
    ),
    "public-data": PolicyRule(description="Public data: no restriction."),
}
