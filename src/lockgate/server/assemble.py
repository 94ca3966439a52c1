"""Wire a Gateway from the config: store, sinks (audit, limits), the serving gate."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lockgate.audit.remote import ProcessAuditSink, worker_settings
from lockgate.audit.socket_sink import SocketAuditSink
from lockgate.audit.writer import build_audit_sink
from lockgate.config.schema import GatewayConfig
from lockgate.errors import ConfigError
from lockgate.providers.llamacpp import LlamaCppProvider, ServingGate
from lockgate.registry.errors import GateRefused
from lockgate.registry.gate_process import check_in_child
from lockgate.server.gateway import Gateway
from lockgate.storage.db import open_store
from lockgate.stored.responses import build_response_store
from lockgate.tracing import build_tracer
from lockgate.usage.shared import build_limiter


def serving_gate(cfg: GatewayConfig) -> ServingGate:
    """An engine may only start on a registered artifact whose files still match their pinned
    hashes, whose scan has no blocking finding and whose licence fits the operator.  The check
    runs in a child process (see ``registry.gate_process``)."""

    def gate(model_path: Path, acknowledgements: list[str], adapters: Sequence[Path] = ()) -> None:
        check_in_child(
            cfg.storage_url(), model_path, cfg.operator, acknowledgements, cfg.registry.verify_hashes_at_start,
            adapters,
        )  # fmt: skip

    return gate


def check_ner_pipeline(cfg: GatewayConfig) -> None:
    """The NER backend's spaCy pipeline is a model artifact: it is loaded only after the serving
    gate passed it (registered, every file unchanged since pinning, scan clean, licence fits),
    whatever ``registry.enforce`` says.  Raises ``ConfigError`` naming the field otherwise."""
    ner = cfg.pii.ner
    if not (cfg.pii.enabled and ner.enabled and ner.pipeline is not None):
        return
    try:
        check_in_child(cfg.storage_url(), ner.pipeline, cfg.operator, ner.acknowledge, True)
    except GateRefused as exc:
        raise ConfigError(f"pii.ner.pipeline: refused by the model registry: {exc}") from None


def build_gateway(cfg: GatewayConfig, host: str, port: int, *, audit_socket: str | None = None) -> Gateway:
    """``audit_socket``: a worker of ``serve --workers N`` hands its records to the supervisor's
    one writer process there instead of starting a writer of its own."""
    store = open_store(cfg.storage_url())
    check_ner_pipeline(cfg)  # before the Gateway's PiiScanner loads the pipeline
    gw = Gateway(cfg, store, host, port)
    # in the serving process itself (each serve --workers worker builds its own exporter)
    gw.tracer = gw.decider.tracer = build_tracer(cfg.tracing, gw.instance)
    limits = cfg.limits
    if limits.keys or limits.teams or limits.default_key:  # no limits configured: nothing to count
        limiter = build_limiter(limits, store, gw.instance)
        gw.guards.append(lambda p: limiter.check(p.id, p.name, p.team))
        gw.sinks.append(limiter)
    if cfg.audit.enabled:
        if cfg.audit.writer == "process":
            a = cfg.audit
            sink = (
                SocketAuditSink(
                    audit_socket, a.queue_max, on_failure=a.on_writer_failure, wait_max=a.writer_wait
                )
                if audit_socket is not None
                else ProcessAuditSink(
                    worker_settings(cfg), a.queue_max, on_failure=a.on_writer_failure, wait_max=a.writer_wait
                )
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
