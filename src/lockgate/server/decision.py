"""Decide where one request may go: policies (key, team default, stricter-only header),
personal-data escalation or redaction, and the fail-closed refusal when nothing is left."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lockgate.auth.keys import Principal
from lockgate.config.schema import GatewayConfig
from lockgate.errors import InvalidRequest, PermissionDenied, PolicyDenied
from lockgate.pii.detector import PiiScanner
from lockgate.pii.findings import Findings
from lockgate.routing.deployment import Deployment
from lockgate.routing.router import ModelRoute
from lockgate.sovereignty.cuts import CutSet
from lockgate.sovereignty.policy import Exclusion, PolicyEngine
from lockgate.sovereignty.targets import InvalidCutTarget, normalise_target
from lockgate.tracing import NOOP_TRACER, Span, Tracer

if TYPE_CHECKING:
    from lockgate.pii.redact import Restorer

POLICY_HEADER = "x-lockgate-policy"
DRILL_HEADER = "x-lockgate-drill-cut"


@dataclass(slots=True)
class Decision:
    candidates: list[Deployment]
    policies: list[str]
    findings: dict[str, int] = field(default_factory=dict)
    # deployments that must only see the redacted body (outside the personal-data policy)
    redacted_for: frozenset[int] = frozenset()
    redacted_body: dict[str, Any] | None = None
    restorer: Restorer | None = None
    excluded: list[Exclusion] = field(default_factory=list)  # by policy or cut, with reasons

    def restorer_for(self, dep: Deployment) -> Restorer | None:
        """The placeholder restorer for a reply from ``dep``, if it was sent the redacted body."""
        return self.restorer if self.restorer is not None and id(dep) in self.redacted_for else None


class Decider:
    def __init__(self, cfg: GatewayConfig, engine: PolicyEngine, scanner: PiiScanner | None) -> None:
        self.cfg = cfg
        self.engine = engine
        self.scanner = scanner
        self.default_policy = cfg.keys.policy or cfg.policies.default
        self.default_pii_policy = cfg.keys.pii_policy or cfg.policies.pii_default
        self.action = cfg.pii.action
        self.pii = cfg.pii
        self.team_policies = cfg.policies.teams
        self.tracer: Tracer = NOOP_TRACER  # server.assemble installs the configured one

    def base_policies(self, principal: Principal, headers: Mapping[str, str]) -> list[str]:
        names: list[str] = []
        own = principal.policy or self.default_policy
        if own:
            names.append(own)
        team = self.team_policies.get(principal.team) if principal.team else None
        if team and team not in names:
            names.append(team)
        extra = headers.get(POLICY_HEADER)
        if extra:
            # a request can only add policies (AND), which can only shrink the eligible set
            asked = [n.strip() for n in extra.split(",") if n.strip()]
            self.engine.check_names(asked)
            names.extend(n for n in asked if n not in names)
        return names

    async def decide(
        self, principal: Principal, headers: Mapping[str, str], body: dict[str, Any], route: ModelRoute
    ) -> Decision:
        """Traced as a ``lockgate.policy`` span with a ``lockgate.pii_scan`` child."""
        with self.tracer.span("lockgate.policy") as span:
            decision = await self._decide(principal, headers, body, route, span)
            if span.recording:
                span.set("lockgate.policy", "+".join(decision.policies))
                span.set("lockgate.eligible", [d.name for d in decision.candidates])
                span.set("lockgate.excluded", [e.deployment for e in decision.excluded])
                span.set("lockgate.redacted", bool(decision.redacted_for))
            return decision

    async def _decide(
        self,
        principal: Principal,
        headers: Mapping[str, str],
        body: dict[str, Any],
        route: ModelRoute,
        span: Span,
    ) -> Decision:
        policies = self.base_policies(principal, headers)
        if span.recording:
            span.set("lockgate.policy", "+".join(policies))
        engine = self._engine_for(principal, headers)
        eligible, excluded = engine.filter(policies, route.deployments)
        findings: Findings | None = None
        if self.scanner is not None:
            with self.tracer.span("lockgate.pii_scan") as scan:
                # off the loop when the NER backend wants the text (PiiScanner.scan_request_async)
                findings = await self.scanner.scan_request_async(body)
                if scan.recording:  # the types found, never the values
                    scan.set("lockgate.pii.types", sorted(findings.counts))
                    scan.set("lockgate.pii.truncated", findings.truncated)
        if findings is None or not (findings or findings.truncated):
            self._require(eligible, excluded, policies, route)
            return Decision(eligible, policies, excluded=excluded)
        counts = findings.counts
        if findings.truncated:
            # content past pii.max_scan_chars was not scanned: treat it as personal (fail closed)
            counts["unscanned"] = 1
        pii_policy = principal.pii_policy or self.default_pii_policy
        action = self.pii.action_for(counts)  # pii.types: the strictest action of the types found
        if action == "block":
            kinds = ", ".join(sorted(counts))
            raise PermissionDenied(
                f"The request contains personal data ({kinds}) and this gateway blocks such requests. "
                "Remove the personal data, or ask the operator to route or redact instead.",
                code="personal_data_blocked",
            )
        if not pii_policy or pii_policy in policies:
            self._require(eligible, excluded, policies, route)
            return Decision(eligible, policies, counts, excluded=excluded)
        strict = [*policies, pii_policy]
        safe, safe_excluded = engine.filter(strict, route.deployments)
        if action == "route" or not eligible or findings.truncated:
            self._require(safe, safe_excluded, strict, route, personal=counts)
            return Decision(safe, strict, counts, excluded=safe_excluded)
        # redact: deployments inside the personal-data policy get the original body,
        # the others (still inside the key's own policies) see placeholders
        safe_ids = frozenset(id(d) for d in safe)
        outside = frozenset(id(d) for d in eligible if id(d) not in safe_ids)
        from lockgate.pii.redact import Redactor

        redacted, restorer = Redactor().redact(body, findings)
        return Decision(eligible, policies, counts, outside, redacted, restorer, excluded)

    def _engine_for(self, principal: Principal, headers: Mapping[str, str]) -> PolicyEngine:
        """The live exit drill (``x-lockgate-drill-cut``, admin keys only) applies extra cuts to
        this one request, leaving the running gateway untouched."""
        drill = headers.get(DRILL_HEADER)
        if not drill:
            return self.engine
        if not principal.is_admin:
            raise PermissionDenied(f"The {DRILL_HEADER} header needs an admin key.", param=DRILL_HEADER)
        try:
            extra = {normalise_target(t.strip(), self.cfg.providers) for t in drill.split(",") if t.strip()}
        except InvalidCutTarget as exc:
            raise InvalidRequest(str(exc), param=DRILL_HEADER) from None
        return PolicyEngine(self.cfg, CutSet(self.engine.cuts.targets | extra))

    @staticmethod
    def _require(
        eligible: Sequence[Deployment],
        excluded: Sequence[Exclusion],
        policies: Sequence[str],
        route: ModelRoute,
        personal: dict[str, int] | None = None,
    ) -> None:
        if eligible:
            return
        named = " + ".join(policies) or "(none)"
        why = "; ".join(f"{e.deployment}: {e.rule} ({e.detail})" for e in excluded)
        extra = f" The request carries personal data ({', '.join(sorted(personal))})." if personal else ""
        raise PolicyDenied(
            f"No deployment of {route.alias!r} is allowed under policy {named}.{extra} Excluded: {why}. "
            "Use another model, or ask the operator to add an eligible deployment.",
            param="model",
            details={
                "policy": named,
                "excluded": [
                    {"deployment": e.deployment, "policy": e.policy, "rule": e.rule, "detail": e.detail}
                    for e in excluded
                ],
            },
        )
