"""Wire a Gateway from the config: store, sinks (audit, limits), the serving gate."""

from __future__ import annotations

from lockgate.config.schema import GatewayConfig
from lockgate.server.gateway import Gateway
from lockgate.storage.db import open_store
from lockgate.usage.shared import build_limiter


def build_gateway(cfg: GatewayConfig, host: str, port: int) -> Gateway:
    store = open_store(cfg.storage_url())
    gw = Gateway(cfg, store, host, port)
    limiter = build_limiter(cfg.limits, store, gw.instance)
    gw.guards.append(lambda p: limiter.check(p.id, p.name, p.team))
    gw.sinks.append(limiter)
    return gw
