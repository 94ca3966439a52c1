"""Capacity, as the admin API and the console show it, and the inputs of a capacity-aware drill.

``measured(providers)`` is what each provider measured of itself (in memory, no I/O);
``drill_inputs`` reads the recent load from the usage records (a database read: call it in a
worker thread) and pairs it with measured or declared capacity.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine

from lockgate.audit.minute_usage import minute_usage
from lockgate.config.schema import GatewayConfig
from lockgate.providers.base import Provider
from lockgate.routing.deployment import Deployment
from lockgate.sovereignty.capacity import LoadKey, pool_capacity
from lockgate.sovereignty.drill_capacity import CapacityInputs
from lockgate.usage.load import Series, window_bounds

DEFAULT_WINDOW = 24 * 3600


def measured(providers: Mapping[str, Provider]) -> dict[str, dict[str, Any]]:
    return {name: p.capacity().as_dict() for name, p in providers.items()}


def capacity_view(
    cfg: GatewayConfig, providers: Mapping[str, Provider], deps: list[Deployment]
) -> dict[str, Any]:
    """``GET /admin/capacity``: per provider, its deployments, measured and declared capacity."""
    figures = measured(providers)
    rows = []
    for name, provider in providers.items():
        declared = cfg.providers[name].capacity
        rows.append({
            "provider": name,
            "kind": provider.kind,
            "deployments": [{"alias": d.alias, "deployment": d.name} for d in deps if d.provider_name == name],
            "measured": figures[name],
            "declared_tokens_per_minute": declared.tokens_per_minute if declared else None,
        })  # fmt: skip
    return {"data": rows, "unit": "generated tokens", "at": time.time()}


def load_series(store: Engine, window: tuple[int, int]) -> dict[LoadKey, Series]:
    """Generated tokens per minute per (alias, deployment) over ``window`` (first, last minute)."""
    return {(s.alias, s.deployment): s.completion for s in minute_usage(store, *window)}


def drill_inputs(
    cfg: GatewayConfig,
    store: Engine | None,
    figures: Mapping[str, Mapping[str, Any]],
    unmeasured_why: str,
    window_seconds: int = DEFAULT_WINDOW,
    now: float | None = None,
) -> CapacityInputs:
    """Load of the last ``window_seconds`` from the usage records (none without a store), and
    each provider's capacity."""
    window = window_bounds(time.time() if now is None else now, window_seconds)
    series = load_series(store, window) if store is not None else {}
    source = "usage records (audit_log)" if store is not None else "no usage records: no database yet"
    return CapacityInputs(series, pool_capacity(cfg, figures, unmeasured_why), window, source)


_NUM = {"type": ["number", "null"]}
_MEASURED_FIELDS = (
    "tokens_per_second", "batch_size", "peak_tokens_per_second", "peak_batch_size", "peak_measured_at",
    "peak_tokens_per_minute", "slots", "queue_depth", "active_sequences", "kv_cells_used", "kv_cells_cached",
    "kv_cells_total", "measured_at",
)  # fmt: skip

#: The OpenAPI schema of ``GET /admin/capacity`` (``server.openapi`` documents the route with it).
CAPACITY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["data", "unit", "at"],
    "properties": {
        "unit": {"type": "string"},
        "at": {"type": "number"},
        "data": {"type": "array", "items": {
            "type": "object",
            "required": ["provider", "kind", "deployments", "measured", "declared_tokens_per_minute"],
            "properties": {
                "provider": {"type": "string"}, "kind": {"type": "string"},
                "deployments": {"type": "array", "items": {"type": "object", "properties": {
                    "alias": {"type": "string"}, "deployment": {"type": "string"}}}},
                "declared_tokens_per_minute": {"type": ["integer", "null"]},
                "measured": {"type": "object", "required": [*_MEASURED_FIELDS, "reason", "peak_is_lower_bound"],
                             "properties": {**{f: _NUM for f in _MEASURED_FIELDS},
                                            "reason": {"type": ["string", "null"]},
                                            "peak_is_lower_bound": {"type": "boolean"}}},
            },
        }},
    },
}  # fmt: skip
