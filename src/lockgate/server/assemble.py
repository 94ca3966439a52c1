"""Wire a Gateway from the config: store, sinks (audit, limits), the serving gate."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lockgate.audit.remote import ProcessAuditSink, worker_settings
from lockgate.audit.writer import build_audit_sink
from lockgate.config.schema import GatewayConfig
from lockgate.providers.llamacpp import LlamaCppProvider
from lockgate.registry.gate_process import check_in_child
from lockgate.server.gateway import Gateway
from lockgate.storage.db import open_store
from lockgate.stored.responses import build_response_store
from lockgate.usage.shared import build_limiter


def serving_gate(cfg: GatewayConfig) -> Callable[[Path, list[str]], None]:
    """An engine may only start on a registered artifact whose files still match their pinned
    hashes, whose scan has no blocking finding and whose licence fits the operator.  The check
    runs in a child process (see ``registry.gate_process``)."""

    def gate(model_path: Path, acknowledgements: list[str]) -> None:
        check_in_child(
            cfg.storage_url(), model_path, cfg.operator, acknowledgements, cfg.registry.verify_hashes_at_start
        )

    return gate


def build_gateway(cfg: GatewayConfig, host: str, port: int) -> Gateway:
    store = open_store(cfg.storage_url())
    gw = Gateway(cfg, store, host, port)
    limits = cfg.limits
    if limits.keys or limits.teams or limits.default_key:  # no limits configured: nothing to count
        limiter = build_limiter(limits, store, gw.instance)
        gw.guards.append(lambda p: limiter.check(p.id, p.name, p.team))
        gw.sinks.append(limiter)
    if cfg.audit.enabled:
        if cfg.audit.writer == "process":
            a = cfg.audit
            sink = ProcessAuditSink(
                worker_settings(cfg), a.queue_max, on_failure=a.on_writer_failure, wait_max=a.writer_wait
            )
            gw.sinks.append(sink)
            gw.handover = sink.barrier  # answers wait for it only when a record is not with the writer
            if a.on_writer_failure == "reject":
                gw.guards.append(lambda _p: sink.admit())
        else:
            gw.sinks.append(build_audit_sink(cfg, store))
    responses, why_not = build_response_store(cfg, store)
    gw.responses, gw.responses_off = responses, why_not
    if cfg.registry.enforce:
        gate = serving_gate(cfg)
        for provider in gw.providers.values():
            if isinstance(provider, LlamaCppProvider):
                provider.gate = gate
    return gw
