"""Recent load against capacity, per provider (the pool its deployments share) and deployment.

Capacity is in generated tokens per minute, the unit engines measure (prompt tokens are
prefilled in batches and cost far less per token).  A provider's capacity is

* **measured**: the peak generation rate its engine replicas sustained together since the
  gateway started (from the gateway's admin API, ``GET /admin/capacity``), when it has one;
* else **declared**: ``providers.<name>.capacity.tokens_per_minute`` in the config;
* else **unknown**, with the reason.  Unknown is never treated as enough.

Load is the p95 minute of a window (``usage.load``) of the usage records.  This module takes
plain inputs (measured figures as the admin API writes them, per-minute series) so that it does
not depend on where they were read from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from lockgate.config.schema import GatewayConfig
from lockgate.sovereignty.views import build_views
from lockgate.usage.load import MinuteLoad, Series, add, p95_minute

LoadKey = tuple[str, str]  # (alias, deployment name)


@dataclass(frozen=True, slots=True)
class PoolCapacity:
    provider: str
    tokens_per_minute: float | None
    source: str | None  # "measured" | "declared" | None (unknown)
    reason: str | None = None  # why it is unknown, or a caveat on a measured figure

    @property
    def known(self) -> bool:
        return self.tokens_per_minute is not None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _measured_caveat(figures: Mapping[str, Any]) -> str | None:
    if not figures.get("peak_is_lower_bound"):
        return None
    return (
        f"lower bound: the peak was seen at batch size {figures.get('peak_batch_size')} "
        f"of {figures.get('slots')} slots"
    )


def pool_capacity(
    config: GatewayConfig, measured: Mapping[str, Mapping[str, Any]], unmeasured_why: str
) -> dict[str, PoolCapacity]:
    """Per configured provider: measured, else declared, else unknown (with the reason).

    ``measured`` maps provider names to the admin API's figures; ``unmeasured_why`` explains a
    provider missing from it (e.g. no gateway was reachable)."""
    out: dict[str, PoolCapacity] = {}
    for name, spec in config.providers.items():
        figures = measured.get(name)
        peak = figures.get("peak_tokens_per_minute") if figures else None
        if isinstance(peak, int | float) and peak > 0:
            out[name] = PoolCapacity(name, float(peak), "measured", _measured_caveat(figures or {}))
        elif spec.capacity is not None:
            out[name] = PoolCapacity(name, float(spec.capacity.tokens_per_minute), "declared")
        else:
            why = str(figures.get("reason") or "not measured") if figures else unmeasured_why
            if "capacity.tokens_per_minute" not in why:
                why += "; no capacity.tokens_per_minute declared"
            out[name] = PoolCapacity(name, None, None, why)
    return out


@dataclass(frozen=True, slots=True)
class Headroom:
    load_tokens_per_minute: float
    capacity: PoolCapacity

    @property
    def tokens_per_minute(self) -> float | None:
        """Absolute headroom: capacity minus load (negative when over)."""
        cap = self.capacity.tokens_per_minute
        return None if cap is None else round(cap - self.load_tokens_per_minute, 2)

    @property
    def ratio(self) -> float | None:
        """Capacity over load (2.0: twice the load fits); None when unknown or nothing is loaded."""
        cap = self.capacity.tokens_per_minute
        if cap is None or self.load_tokens_per_minute <= 0:
            return None
        return round(cap / self.load_tokens_per_minute, 3)

    @property
    def utilisation(self) -> float | None:
        cap = self.capacity.tokens_per_minute
        return None if cap is None else round(self.load_tokens_per_minute / cap, 4)

    def as_dict(self) -> dict[str, Any]:
        return {
            "capacity_tokens_per_minute": self.capacity.tokens_per_minute,
            "capacity_source": self.capacity.source,
            "capacity_note": self.capacity.reason,
            "headroom_tokens_per_minute": self.tokens_per_minute,
            "headroom_ratio": self.ratio,
            "utilisation": self.utilisation,
        }


@dataclass(frozen=True, slots=True)
class DeploymentLoad:
    alias: str
    deployment: str
    provider: str
    load: MinuteLoad  # this deployment's generated tokens
    pool_load: MinuteLoad  # every deployment on the same provider, minute by minute
    headroom: Headroom  # of the provider, against pool_load

    def as_dict(self) -> dict[str, Any]:
        return {
            "alias": self.alias,
            "deployment": self.deployment,
            "provider": self.provider,
            "load": self.load.as_dict(),
            "provider_load": self.pool_load.as_dict(),
            **self.headroom.as_dict(),
        }


def headroom_report(
    config: GatewayConfig,
    series: Mapping[LoadKey, Series],
    pools: Mapping[str, PoolCapacity],
    window: tuple[int, int],
) -> list[DeploymentLoad]:
    """Per configured alias and deployment: its load, its provider's load and headroom."""
    views = [d for deps in build_views(config).values() for d in deps]
    per_pool: dict[str, Series] = {}
    for d in views:
        add(per_pool.setdefault(d.provider_name, {}), series.get((d.alias, d.name), {}))
    first, last = window
    pool_loads = {name: p95_minute(s, first, last) for name, s in per_pool.items()}
    return [
        DeploymentLoad(
            alias=d.alias,
            deployment=d.name,
            provider=d.provider_name,
            load=p95_minute(series.get((d.alias, d.name), {}), first, last),
            pool_load=pool_loads[d.provider_name],
            headroom=Headroom(pool_loads[d.provider_name].p95_tokens_per_minute, pools[d.provider_name]),
        )
        for d in views
    ]
