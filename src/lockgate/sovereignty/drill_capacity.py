"""Whether the deployments that survive a cut can carry the traffic that moves onto them.

For one policy, every alias's recorded traffic (generated tokens, minute by minute) is placed
as the router would place it with that policy in force for everyone:

* **without the cuts**: traffic on deployments the policy excludes goes to the ones it allows;
* **with the cuts**: traffic of the deployments lost to the cuts (the *moved* load) goes to the
  survivors.

Both splits follow the deployments' weights.  A provider's load is the sum over all aliases
that use it, so two aliases moving onto one local engine are counted together.  Each survivor
provider's p95 minute after the cut is compared with its capacity (``sovereignty.capacity``):

``covered`` every survivor fits · ``short`` one does not (``shortfall_factor`` = its load over
its capacity) · ``unknown`` none is short but one's capacity is unknown · ``unaffected`` no
load moves onto this alias's survivors · ``dark`` nothing serves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lockgate.sovereignty.capacity import LoadKey, PoolCapacity
from lockgate.sovereignty.views import DeploymentView
from lockgate.usage.load import Series, add, p95_minute, total


@dataclass(frozen=True, slots=True)
class CapacityInputs:
    series: Mapping[LoadKey, Series]  # (alias, deployment) -> generated tokens per minute
    pools: Mapping[str, PoolCapacity]  # provider -> capacity
    window: tuple[int, int]  # first and last minute index
    source: str = "usage records"  # what the series were read from (shown in reports)


@dataclass(frozen=True, slots=True)
class Placement:
    """One alias under one policy: who serves without and with the cuts."""

    alias: str
    deployments: Sequence[DeploymentView]
    before: frozenset[str]
    after: frozenset[str]


def _spread(deps: Sequence[DeploymentView], into: frozenset[str], load: Series) -> dict[str, Series]:
    """``load`` split over the deployments named in ``into`` by weight (per deployment name)."""
    targets = [d for d in deps if d.name in into]
    weight = sum(d.weight for d in targets)
    return {d.name: add({}, load, d.weight / weight) for d in targets} if weight > 0 else {}


@dataclass(slots=True)
class _Placed:
    base: dict[str, Series]  # per deployment, without the cuts
    after: dict[str, Series]  # per deployment, with the cuts
    moved: Series


def _place(p: Placement, series: Mapping[LoadKey, Series]) -> _Placed:
    own = {d.name: series.get((p.alias, d.name), {}) for d in p.deployments}
    excluded = total(s for name, s in own.items() if name not in p.before)
    base = {
        name: add(dict(own[name]), spread)
        for name, spread in _spread(p.deployments, p.before, excluded).items()
    }
    moved = total(s for name, s in base.items() if name not in p.after)
    after = {
        name: add(dict(base[name]), spread) for name, spread in _spread(p.deployments, p.after, moved).items()
    }
    return _Placed(base, after, moved)


def _pool_row(
    provider: str, cap: PoolCapacity, base: Series, after: Series, window: tuple[int, int]
) -> dict[str, Any]:
    before_p95 = p95_minute(base, *window).p95_tokens_per_minute
    after_p95 = p95_minute(after, *window).p95_tokens_per_minute
    limit = cap.tokens_per_minute
    ratio = None if limit is None else round(after_p95 / limit, 3)
    return {"provider": provider, "load_before_tokens_per_minute": before_p95,
            "load_after_tokens_per_minute": after_p95, "capacity_tokens_per_minute": limit,
            "capacity_source": cap.source, "capacity_note": cap.reason, "load_over_capacity": ratio}  # fmt: skip


def _cap(inputs: CapacityInputs, provider: str) -> PoolCapacity:
    return inputs.pools.get(provider) or PoolCapacity(provider, None, None, "not measured or declared")


def _verdict(rows: list[dict[str, Any]]) -> tuple[str, float | None]:
    ratios = [r["load_over_capacity"] for r in rows]
    short = [x for x in ratios if x is not None and x > 1]
    if short:
        return "short", max(short)
    if any(x is None for x in ratios):
        return "unknown", None
    return "covered", None


def assess(
    inputs: CapacityInputs, placements: Sequence[Placement], lost: Mapping[str, bool]
) -> dict[str, dict[str, Any]]:
    """Per alias (all under one policy): the capacity verdict.  ``lost[alias]``: it lost
    deployments to the cuts."""
    placed = {p.alias: _place(p, inputs.series) for p in placements}
    provider_of = {d.name: d.provider_name for p in placements for d in p.deployments}
    pool_base: dict[str, Series] = {}
    pool_after: dict[str, Series] = {}
    received: dict[str, float] = {}
    for pl in placed.values():
        for name, s in pl.base.items():
            add(pool_base.setdefault(provider_of[name], {}), s)
        for name, s in pl.after.items():
            add(pool_after.setdefault(provider_of[name], {}), s)
        if pl.moved:
            for d in {provider_of[n] for n in pl.after}:
                received[d] = received.get(d, 0.0) + sum(pl.moved.values())
    out: dict[str, dict[str, Any]] = {}
    for p in placements:
        pl = placed[p.alias]
        pools = sorted({provider_of[n] for n in p.after})
        moved = p95_minute(pl.moved, *inputs.window)
        entry: dict[str, Any] = {"moved_p95_tokens_per_minute": moved.p95_tokens_per_minute,
                                 "moved_tokens": moved.tokens, "window_minutes": moved.minutes,
                                 "load_source": inputs.source, "survivors": [], "shortfall_factor": None}  # fmt: skip
        if not pools:
            out[p.alias] = {**entry, "verdict": "dark"}
            continue
        if not lost.get(p.alias) and not any(received.get(x) for x in pools):
            out[p.alias] = {**entry, "verdict": "unaffected"}
            continue
        rows = [
            _pool_row(x, _cap(inputs, x), pool_base.get(x, {}), pool_after.get(x, {}), inputs.window)
            for x in pools
        ]
        verdict, factor = _verdict(rows)
        out[p.alias] = {**entry, "survivors": rows, "verdict": verdict, "shortfall_factor": factor}
    return out
