"""The routing explorer: for a key or a team and an alias, every deployment with its facts and
sources, and whether the policies that key would carry allow it.

The reasoning is the request path's own: ``Decider.base_policies`` names the policies and
``PolicyEngine.verdict`` gives every exclusion, exactly as in the 403 message.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from lockgate.auth.keys import Principal
from lockgate.errors import InvalidRequest
from lockgate.routing.router import ModelRoute
from lockgate.server.decision import Decider
from lockgate.sovereignty.facts import FACT_NAMES, effective_laws, is_unknown
from lockgate.sovereignty.policy import PolicyEngine


def team_principal(team: str) -> Principal:
    """A stand-in for 'any key of this team' with no policy of its own."""
    return Principal(id=f"team:{team}", name=f"team {team}", team=team)


def _facts(dep: Any) -> dict[str, Any]:
    f = dep.facts
    facts = {}
    for name in FACT_NAMES:
        value = getattr(f, name, None)
        facts[name] = {
            "value": list(value) if isinstance(value, tuple) else value,
            "unknown": is_unknown(f, name),
            "source": f.sources.get(name),
            "verified": f.verified.get(name),
        }
    return {"facts": facts, "effective_laws": list(effective_laws(f)), "catalogue": f.catalogue,
            "self_hosted": f.self_hosted, "jurisdiction": f.jurisdiction}  # fmt: skip


def _evaluate(engine: PolicyEngine, policies: list[str], route: ModelRoute) -> list[dict[str, Any]]:
    rows = []
    for dep in route.deployments:
        reasons = engine.verdict(tuple(policies), dep)
        rows.append({"deployment": dep.name, "allowed": not reasons,
                     "excluded_by": [asdict(e) for e in reasons]})  # fmt: skip
    return rows


def explain(decider: Decider, route: ModelRoute, principal: Principal) -> dict[str, Any]:
    if principal.allowed_models is not None and route.alias not in principal.allowed_models:
        key_refusal: str | None = (
            f"the key may only use {', '.join(sorted(principal.allowed_models))}; {route.alias!r} is refused "
            "before any routing"
        )
    else:
        key_refusal = None
    policies = decider.base_policies(principal, {})
    pii_policy = principal.pii_policy or decider.default_pii_policy
    deployments = [
        {"deployment": d.name, "provider": d.provider_name, "upstream_model": d.upstream_model,
         "self_hosted_copy_of": d.self_hosted_copy_of, "weight": d.weight, "breaker": d.breaker.state.value,
         **_facts(d)}
        for d in route.deployments
    ]  # fmt: skip
    out: dict[str, Any] = {
        "alias": route.alias,
        "principal": {"id": principal.id, "name": principal.name, "team": principal.team,
                      "policy": principal.policy, "pii_policy": principal.pii_policy},
        "key_refusal": key_refusal,
        "policies": policies,
        "deployments": deployments,
        "verdicts": _evaluate(decider.engine, policies, route),
        "pii_action": decider.action,
        "personal_data": None,
    }  # fmt: skip
    if pii_policy and pii_policy not in policies:
        strict = [*policies, pii_policy]
        out["personal_data"] = {"policies": strict, "verdicts": _evaluate(decider.engine, strict, route)}
    return out


def find_principal(principals: list[Principal], key_id: str | None, team: str | None) -> Principal:
    if key_id:
        for p in principals:
            if p.id == key_id:
                return p
        raise InvalidRequest(f"No active key with id {key_id!r}.", param="key_id", status=404)
    if team:
        return team_principal(team)
    return Principal(id="default", name="a key with no policy or team of its own")
