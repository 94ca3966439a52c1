from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from lockgate.config.schema import GatewayConfig
from lockgate.errors import InvalidRequest
from lockgate.sovereignty.cuts import CutSet
from lockgate.sovereignty.facts import ResolvedFacts
from lockgate.sovereignty.policy import Exclusion, PolicyEngine, combine
from lockgate.sovereignty.views import DeploymentView

Views = Callable[[GatewayConfig], list[DeploymentView]]
Build = Callable[..., GatewayConfig]
Spec = Callable[..., dict[str, Any]]


def eligible(engine: PolicyEngine, policies: tuple[str, ...], deps: list[DeploymentView]) -> set[str]:
    ok, _ = engine.filter(policies, deps)
    return {d.provider_name for d in ok}


def reasons(
    engine: PolicyEngine, policies: tuple[str, ...], deps: list[DeploymentView]
) -> dict[str, Exclusion]:
    _, excluded = engine.filter(policies, deps)
    return {e.deployment.split("/")[0]: e for e in excluded}


EXPECTED = {
    "on-prem-only": {"local"},
    "eu-sovereign": {"local", "scaleway", "mistral"},
    "eu-only": {"local", "scaleway", "mistral", "nebius", "openai-eu", "alibaba-eu"},
    "no-cn": {"local", "scaleway", "mistral", "nebius", "openai", "openai-eu"},  # anthropic: unknown
    "no-us-cloud-act": {"local", "scaleway", "mistral", "deepseek", "alibaba-eu"},
    "public-data": {
        "local", "scaleway", "mistral", "nebius", "openai", "openai-eu", "deepseek", "alibaba-eu",
        "anthropic", "bare",
    },
}  # fmt: skip


@pytest.mark.parametrize("policy", sorted(EXPECTED))
def test_builtin_policy_verdicts(world: GatewayConfig, as_views: Views, policy: str) -> None:
    engine = PolicyEngine(world, CutSet())
    assert eligible(engine, (policy,), as_views(world)) == EXPECTED[policy]


def test_rule_names_and_details(world: GatewayConfig, as_views: Views) -> None:
    engine = PolicyEngine(world, CutSet())
    deps = as_views(world)
    sov = reasons(engine, ("eu-sovereign",), deps)
    assert (sov["openai"].policy, sov["openai"].rule) == ("eu-sovereign", "operator_country_in")
    assert sov["openai"].detail == "operator country US is not in EU/EEA"
    assert sov["openai-eu"].detail == "operator country US is not in EU/EEA"
    assert sov["alibaba-eu"].detail == "operator country SG is not in EU/EEA"
    assert sov["nebius"].rule == "foreign_access_laws_none_of"
    assert sov["nebius"].detail == "exposed to foreign-access law US-CLOUD-Act"
    only = reasons(engine, ("eu-only",), deps)
    assert only["deepseek"].detail == "processing location CN is not in EU/EEA"
    assert reasons(engine, ("on-prem-only",), deps)["mistral"].detail == "provider is not self-hosted"
    nocn = reasons(engine, ("no-cn",), deps)
    assert (nocn["deepseek"].rule, nocn["deepseek"].detail) == (
        "exclude_countries",
        "operator country CN is excluded",
    )
    assert nocn["alibaba-eu"].detail == "parent jurisdiction CN is excluded"
    cloud = reasons(engine, ("no-us-cloud-act",), deps)
    assert cloud["openai-eu"].detail == "exposed to foreign-access law US-CLOUD-Act"


def test_unknown_facts_fail_closed(world: GatewayConfig, as_views: Views) -> None:
    engine = PolicyEngine(world, CutSet())
    deps = as_views(world)
    for policy in ("eu-sovereign", "eu-only", "no-cn", "no-us-cloud-act"):
        bare = reasons(engine, (policy,), deps)["bare"]
        assert bare.detail.startswith("fact unknown: "), (policy, bare)
    # Anthropic's processing location is undocumented ('global' by default)
    anthropic = reasons(engine, ("eu-only",), deps)["anthropic"]
    assert (anthropic.rule, anthropic.detail) == ("processing_in", "fact unknown: processing_locations")


def test_operator_laws_implied_even_when_config_omits_them(build: Build, spec: Spec, as_views: Views) -> None:
    cfg = build({"p": spec(operator_country="US", processing_locations=["DE"], foreign_access_laws=[])})
    engine = PolicyEngine(cfg, CutSet())
    assert reasons(engine, ("no-us-cloud-act",), as_views(cfg))["p"].detail.endswith("US-CLOUD-Act")


def test_policies_combine_with_and_only_stricter(world: GatewayConfig, as_views: Views) -> None:
    engine = PolicyEngine(world, CutSet())
    deps = as_views(world)
    names = sorted(EXPECTED)
    for a in names:
        for b in names:
            both = eligible(engine, (a, b), deps)
            assert both == EXPECTED[a] & EXPECTED[b], (a, b)
            assert both <= eligible(engine, (a,), deps)
    _, excluded = engine.filter(("eu-only", "no-cn"), deps)
    assert {e.policy for e in excluded if e.deployment.startswith("deepseek/")} == {"eu-only", "no-cn"}


def test_combine_is_a_union_preserving_order() -> None:
    assert combine(["eu-only"], [None, "no-cn", "eu-only"], ("on-prem-only",)) == (
        "eu-only",
        "no-cn",
        "on-prem-only",
    )


def test_config_definitions_add_and_override(build: Build, spec: Spec, as_views: Views) -> None:
    cfg = build(
        {"scaleway": spec("scaleway"), "ionos": spec("ionos"), "mistral": spec("mistral")},
        policies={
            "definitions": {
                "zdr": {"require_zero_data_retention": True},
                "eu-only": {"exclude_providers": ["mistral"]},
                "verified-eu": {"processing_in": ["EU"], "require_verified_facts": True},
                "no-train": {"forbid_training_on_data": True},
            }
        },
    )
    engine = PolicyEngine(cfg, CutSet())
    deps = as_views(cfg)
    zdr = reasons(engine, ("zdr",), deps)
    assert set(zdr) == {"ionos", "mistral"}
    assert zdr["ionos"].detail == "fact unknown: zero_data_retention"
    assert zdr["mistral"].detail == "zero data retention is not stated"
    assert reasons(engine, ("eu-only",), deps)["mistral"].detail == "provider mistral is excluded"
    verified = reasons(engine, ("verified-eu",), deps)
    assert set(verified) == {"mistral"}
    assert verified["mistral"].detail == "unverified fact: processing_locations"
    assert eligible(engine, ("no-train",), deps) == {"scaleway", "ionos", "mistral"}


def test_check_names(world: GatewayConfig) -> None:
    engine = PolicyEngine(world, CutSet())
    engine.check_names(["eu-sovereign", "public-data"])
    with pytest.raises(InvalidRequest) as err:
        engine.check_names(["eu-sovereign", "eu-sovreign"])
    assert err.value.param == "x-lockgate-policy" and "eu-sovreign" in err.value.message


def test_unknown_policy_in_filter_excludes_everything(world: GatewayConfig, as_views: Views) -> None:
    engine = PolicyEngine(world, CutSet())
    ok, excluded = engine.filter(("nope",), as_views(world))
    assert ok == [] and {e.rule for e in excluded} == {"unknown-policy"}


def test_filter_accepts_any_routable_and_keeps_order(world: GatewayConfig, as_views: Views) -> None:
    engine = PolicyEngine(world, CutSet())
    deps = as_views(world)
    ok, _ = engine.filter((), deps)
    assert ok == deps


def test_verdicts_are_cached_until_cuts_change(
    world: GatewayConfig, as_views: Views, monkeypatch: pytest.MonkeyPatch
) -> None:
    cuts = CutSet()
    engine = PolicyEngine(world, cuts)
    deps = as_views(world)
    calls: list[str] = []
    real = engine.verdict

    def counting(policies: tuple[str, ...], d: Any) -> tuple[Exclusion, ...]:
        calls.append(d.name)
        return real(policies, d)

    monkeypatch.setattr(engine, "verdict", counting)
    first = eligible(engine, ("no-cn",), deps)
    assert len(calls) == len(deps)
    assert eligible(engine, ("no-cn",), deps) == first
    assert len(calls) == len(deps), "second pass must come from the cache"
    cuts.replace({"FR"})
    after = eligible(engine, ("no-cn",), deps)
    assert len(calls) == 2 * len(deps)
    assert after == first - {"scaleway", "mistral"}
    _, excluded = engine.filter(("no-cn",), deps)
    cut = [e for e in excluded if e.policy == "cut"]
    assert {(e.rule, e.detail) for e in cut} == {("kill-switch", "cut: FR")}


def test_facts_object_is_what_matters(build: Build, spec: Spec) -> None:
    cfg = build({"p": spec("scaleway")})
    engine = PolicyEngine(cfg, CutSet())
    odd = ResolvedFacts(provider="p", operator_country="FR", processing_locations=("FR",))
    assert engine.evaluate("eu-sovereign", odd) is None
    assert engine.evaluate("on-prem-only", odd) == ("self_hosted", "provider is not self-hosted")
