"""The exit drill: evaluate a config offline under cuts, per alias and per policy.

For every alias × policy the drill compares the eligible deployments without the cuts with
those left under them, and reports what keeps serving, what is lost and why, and whether the
alias falls back to a self-hosted copy of the same weights (``self_hosted_copy_of``).  Given the
recent load and each provider's capacity (``drill_capacity``), it also says whether the survivors
can carry the load that moves onto them; an alias whose survivors cannot is ``degraded``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from lockgate.config.schema import GatewayConfig
from lockgate.sovereignty.cuts import CutSet
from lockgate.sovereignty.drill_capacity import CapacityInputs, Placement, assess
from lockgate.sovereignty.policy import Exclusion, PolicyEngine, combine, policy_rules
from lockgate.sovereignty.views import DeploymentView, build_views


@dataclass(frozen=True, slots=True)
class AliasVerdict:
    alias: str
    policy: str
    protected: bool
    status: str  # ok | degraded (lost some to the cuts, or survivors too small) | insured | dark
    serving: tuple[str, ...]  # deployments still eligible under the cuts
    lost: tuple[Exclusion, ...]  # eligible without the cuts, excluded with them
    excluded: tuple[Exclusion, ...]  # excluded by the policy even without cuts
    fallback_to_copy: bool  # only self-hosted copies serve, because others were cut or excluded
    has_copy: bool  # the alias binds a self-hosted copy at all
    capacity: dict[str, Any] | None = None  # survivors' capacity against moved load (drill_capacity)

    @property
    def dark(self) -> bool:
        return not self.serving


@dataclass
class DrillReport:
    cuts: list[str]
    policies: list[str]
    verdicts: list[AliasVerdict] = field(default_factory=list)
    capacity: dict[str, Any] | None = None  # the window and each provider's capacity, when assessed

    @property
    def dark_protected(self) -> list[AliasVerdict]:
        return [v for v in self.verdicts if v.protected and v.dark]

    def to_dict(self) -> dict[str, Any]:
        return {
            "cuts": self.cuts,
            "policies": self.policies,
            "ok": not self.dark_protected,
            "dark_protected": sorted({v.alias for v in self.dark_protected}),
            "aliases": [asdict(v) for v in self.verdicts],
            "capacity": self.capacity,
        }


class UnknownPolicy(ValueError):
    """A policy named for the drill is not defined."""


def evaluated_policies(config: GatewayConfig, requested: Sequence[str] = ()) -> list[str]:
    """Assigned defaults plus ``requested``; every defined policy when nothing is requested."""
    defined = policy_rules(config)
    unknown = [p for p in requested if p not in defined]
    if unknown:
        known = ", ".join(sorted(defined))
        raise UnknownPolicy(f"--policy: unknown policy {unknown[0]!r} (known: {known})")
    if not requested:
        return list(defined)
    assigned = (
        config.keys.policy,
        config.policies.default,
        config.keys.pii_policy,
        config.policies.pii_default,
    )
    return list(combine(assigned, requested))


_STATUS: tuple[tuple[str, Callable[[Sequence[DeploymentView], bool, bool], bool]], ...] = (
    ("dark", lambda serving, _lost, _copy: not serving),
    ("insured", lambda _serving, _lost, copy: copy),
    ("degraded", lambda _serving, lost, _copy: lost),
    ("ok", lambda _serving, _lost, _copy: True),
)


def _status(serving: Sequence[DeploymentView], lost: bool, fallback: bool) -> str:
    return next(name for name, test in _STATUS if test(serving, lost, fallback))


def _verdict(
    alias: str,
    policy: str,
    deps: list[DeploymentView],
    engines: tuple[PolicyEngine, PolicyEngine],
    protected: bool,
) -> AliasVerdict:
    before, excluded = engines[0].filter((policy,), deps)
    after, after_excluded = engines[1].filter((policy,), deps)
    lost_names = {d.name for d in before} - {d.name for d in after}
    lost = tuple(e for e in after_excluded if e.deployment in lost_names)
    dropped = bool(lost) or bool(excluded)
    fallback = dropped and bool(after) and all(d.is_insurance for d in after)
    return AliasVerdict(
        alias=alias,
        policy=policy,
        protected=protected,
        status=_status(after, bool(lost), fallback),
        serving=tuple(d.name for d in after),
        lost=lost,
        excluded=tuple(excluded),
        fallback_to_copy=fallback,
        has_copy=any(d.is_insurance for d in deps),
    )


def _with_capacity(
    verdicts: list[AliasVerdict], views: dict[str, list[DeploymentView]], inputs: CapacityInputs
) -> list[AliasVerdict]:
    """The verdicts of one policy with their capacity; survivors that are too small degrade."""
    placements = [
        Placement(
            v.alias,
            views[v.alias],
            frozenset(v.serving) | {e.deployment for e in v.lost},
            frozenset(v.serving),
        )
        for v in verdicts
    ]
    found = assess(inputs, placements, {v.alias: bool(v.lost) for v in verdicts})
    out = []
    for v in verdicts:
        cap = found[v.alias]
        status = "degraded" if cap["verdict"] == "short" and v.status != "dark" else v.status
        out.append(replace(v, capacity=cap, status=status))
    return out


def run_drill(
    config: GatewayConfig,
    cuts: Sequence[str],
    policies: Sequence[str],
    capacity: CapacityInputs | None = None,
) -> DrillReport:
    """Evaluate every alias under each policy with and without ``cuts`` (canonical targets);
    with ``capacity``, also whether the survivors carry the load that moves onto them."""
    engines = (PolicyEngine(config, CutSet()), PolicyEngine(config, CutSet(cuts)))
    report = DrillReport(cuts=list(cuts), policies=list(policies))
    views = build_views(config)
    for policy in policies:
        verdicts = [
            _verdict(alias, policy, deps, engines, config.models[alias].protected)
            for alias, deps in views.items()
        ]
        report.verdicts.extend(verdicts if capacity is None else _with_capacity(verdicts, views, capacity))
    if capacity is not None:
        report.capacity = {
            "window_minutes": capacity.window[1] - capacity.window[0] + 1,
            "load_source": capacity.source,
            "unit": "generated tokens per minute (p95 minute of the window)",
            "providers": {name: pool.as_dict() for name, pool in capacity.pools.items()},
        }
    order = {alias: i for i, alias in enumerate(views)}
    report.verdicts.sort(key=lambda v: order[v.alias])
    return report
