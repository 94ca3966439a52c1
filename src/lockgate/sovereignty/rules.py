"""Policy rules: one evaluator per ``PolicyRule`` field, dispatched through a registry.

An evaluator returns ``None`` when the provider passes and a one-line detail when it does not.
Before an evaluator runs, every fact it needs must be known: an unknown fact fails the rule
with the detail ``"fact unknown: <fact>"`` (fail closed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lockgate.sovereignty.config import PolicyRule
from lockgate.sovereignty.facts import ResolvedFacts, effective_laws, is_unknown
from lockgate.sovereignty.laws import canonical_laws, law_country
from lockgate.sovereignty.regions import describe, expand

Check = Callable[[Any, ResolvedFacts, PolicyRule], str | None]


@dataclass(frozen=True, slots=True)
class RuleSpec:
    needs: tuple[str, ...]  # facts that must be known for the rule to be evaluated
    check: Check
    flag: bool = False  # a true/false switch that is active only when true


def _self_hosted(want: bool, f: ResolvedFacts, _: PolicyRule) -> str | None:
    if f.self_hosted == want:
        return None
    return "provider is not self-hosted" if want else "provider is self-hosted"


def _operator_country_in(codes: list[str], f: ResolvedFacts, _: PolicyRule) -> str | None:
    allowed = expand(codes)
    if f.operator_country in allowed:
        return None
    return f"operator country {f.operator_country} is not in {describe(allowed)}"


def _processing_in(codes: list[str], f: ResolvedFacts, _: PolicyRule) -> str | None:
    allowed = expand(codes)
    outside = [loc for loc in f.processing_locations if loc not in allowed]
    if not outside:
        return None
    return f"processing location {','.join(outside)} is not in {describe(allowed)}"


def _parent_in(codes: list[str], f: ResolvedFacts, _: PolicyRule) -> str | None:
    allowed = expand(codes)
    if f.parent_jurisdiction is None or f.parent_jurisdiction in allowed:
        return None
    return f"parent jurisdiction {f.parent_jurisdiction} is not in {describe(allowed)}"


def _laws_none_of(laws: list[str], f: ResolvedFacts, _: PolicyRule) -> str | None:
    exposed = effective_laws(f)
    banned = set(canonical_laws(laws))
    hits = [law for law in exposed if "*" in banned or law in banned]
    return f"exposed to foreign-access law {', '.join(hits)}" if hits else None


def _exclude_countries(codes: list[str], f: ResolvedFacts, _: PolicyRule) -> str | None:
    banned = expand(codes)
    for label, values in (
        ("operator country", (f.operator_country,)),
        ("parent jurisdiction", (f.parent_jurisdiction,)),
        ("processing location", f.processing_locations),
    ):
        hits = [v for v in values if v in banned]
        if hits:
            return f"{label} {','.join(hits)} is excluded"
    return None


def _exclude_law_jurisdictions(codes: list[str], f: ResolvedFacts, _: PolicyRule) -> str | None:
    banned = expand(codes)
    hits = [law for law in effective_laws(f) if law_country(law) in banned]
    return f"exposed to {', '.join(hits)} ({describe(banned)} law)" if hits else None


def _exclude_providers(names: list[str], f: ResolvedFacts, _: PolicyRule) -> str | None:
    for name in (f.provider, f.catalogue):
        if name is not None and name in names:
            return f"provider {name} is excluded"
    return None


def _require_zdr(_: bool, f: ResolvedFacts, __: PolicyRule) -> str | None:
    return None if f.zero_data_retention else "zero data retention is not stated"


def _forbid_training(_: bool, f: ResolvedFacts, __: PolicyRule) -> str | None:
    return "provider may train on customer data" if f.trains_on_customer_data else None


def _require_verified(_: bool, f: ResolvedFacts, rule: PolicyRule) -> str | None:
    unverified = [fact for fact in facts_used(rule) if not f.verified.get(fact, False)]
    return f"unverified fact: {', '.join(unverified)}" if unverified else None


_COUNTRY = ("operator_country",)
RULES: dict[str, RuleSpec] = {
    "self_hosted": RuleSpec((), _self_hosted),
    "operator_country_in": RuleSpec(_COUNTRY, _operator_country_in),
    "processing_in": RuleSpec(("processing_locations",), _processing_in),
    "parent_jurisdiction_in": RuleSpec(("parent_jurisdiction",), _parent_in),
    "foreign_access_laws_none_of": RuleSpec(("foreign_access_laws", *_COUNTRY), _laws_none_of),
    "exclude_countries": RuleSpec(
        (*_COUNTRY, "parent_jurisdiction", "processing_locations"), _exclude_countries
    ),
    "exclude_law_jurisdictions": RuleSpec(("foreign_access_laws", *_COUNTRY), _exclude_law_jurisdictions),
    "exclude_providers": RuleSpec((), _exclude_providers),
    "require_zero_data_retention": RuleSpec(("zero_data_retention",), _require_zdr, flag=True),
    "forbid_training_on_data": RuleSpec(("trains_on_customer_data",), _forbid_training, flag=True),
    "require_verified_facts": RuleSpec((), _require_verified, flag=True),
}


def active_rules(rule: PolicyRule) -> list[tuple[str, Any, RuleSpec]]:
    """The rules a policy sets, in registry order."""
    out: list[tuple[str, Any, RuleSpec]] = []
    for name, spec in RULES.items():
        value = getattr(rule, name)
        if value is None or (spec.flag and value is not True):
            continue
        out.append((name, value, spec))
    return out


def facts_used(rule: PolicyRule) -> list[str]:
    """Facts the policy's rules read (what ``require_verified_facts`` checks)."""
    used: list[str] = []
    for name, _value, spec in active_rules(rule):
        extra = ("self_hosted",) if name == "self_hosted" else ()
        used.extend(f for f in (*spec.needs, *extra) if f not in used)
    return used


def evaluate(rule: PolicyRule, facts: ResolvedFacts) -> tuple[str, str] | None:
    """The first rule of the policy that excludes the provider, as (rule name, detail)."""
    for name, value, spec in active_rules(rule):
        unknown = [fact for fact in spec.needs if is_unknown(facts, fact)]
        if unknown:
            return name, f"fact unknown: {', '.join(unknown)}"
        detail = spec.check(value, facts, rule)
        if detail is not None:
            return name, detail
    return None
