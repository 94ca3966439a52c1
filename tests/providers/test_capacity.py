"""Measured capacity of a llama.cpp provider, from its replicas' /stats (no engine is started:
the polled figures are set as the poll loop would set them)."""

from __future__ import annotations

from typing import Any

from lockgate.config.loader import parse_config
from lockgate.providers.capacity import REMOTE, MeasuredCapacity
from lockgate.providers.llamacpp import LlamaCppProvider, Replica
from lockgate.providers.openai_compat import OpenAICompatibleProvider


def provider(batching: bool = True) -> LlamaCppProvider:
    cfg = parse_config({"providers": {"local": {"kind": "llamacpp", "engine": {"replicas": 2, "batching": batching,
                                                                              "parallel": 4}}}})  # fmt: skip
    p = LlamaCppProvider("local", cfg.providers["local"], cfg)
    p.replicas = [Replica(None, f"http://127.0.0.1:{9 + i}/v1") for i in range(2)]  # type: ignore[arg-type]
    return p


def stats(rate: float, batch: float, queue: int = 0) -> dict[str, Any]:
    return {"mode": "batched", "tokens_per_second": rate, "batch_size": batch, "queue_depth": queue,
            "active_sequences": int(batch), "parallel": 4, "kv_cells_used": 100, "kv_cells_cached": 20,
            "kv_cells_total": 8192}  # fmt: skip


def test_nothing_polled_yet_is_null_with_a_reason() -> None:
    cap = provider().capacity()
    assert cap.tokens_per_second is None and cap.peak_tokens_per_second is None
    assert cap.reason == "no engine replica has reported its rate yet"
    serial = provider(batching=False).capacity()
    assert serial.reason is not None and "batching is off" in serial.reason


def test_rates_are_summed_over_replicas_and_the_peak_is_kept() -> None:
    p = provider()
    p.replicas[0].stats, p.replicas[1].stats = stats(0.0, 0.0), stats(0.0, 0.0)
    p._note_peak()
    idle = p.capacity()
    assert idle.tokens_per_second == 0.0 and idle.peak_tokens_per_second is None
    assert idle.reason == "no generation measured since the gateway started" and idle.measured_at is not None
    p.replicas[0].stats, p.replicas[1].stats = stats(60.0, 1.0), stats(90.0, 3.0, queue=2)
    p._note_peak()
    p.replicas[0].stats, p.replicas[1].stats = stats(10.0, 1.0), stats(0.0, 0.0)
    p._note_peak()
    cap = p.capacity()
    assert cap.tokens_per_second == 10.0 and cap.batch_size == 1.0  # now
    assert cap.peak_tokens_per_second == 150.0 and cap.peak_batch_size == 4.0  # the busiest poll
    assert cap.peak_tokens_per_minute == 9000.0 and cap.slots == 8 and cap.lower_bound  # 4 of 8 slots
    assert cap.kv_cells_total == 16384 and cap.queue_depth == 0 and cap.reason is None
    data = cap.as_dict()
    assert data["peak_is_lower_bound"] is True and MeasuredCapacity.from_dict(data) == cap


def test_a_remote_provider_measures_nothing() -> None:
    cfg = parse_config({"providers": {"up": {"base_url": "http://127.0.0.1:9/v1"}}})
    cap = OpenAICompatibleProvider("up", cfg.providers["up"], cfg).capacity()
    assert cap == MeasuredCapacity.unmeasured(REMOTE) and cap.as_dict()["peak_tokens_per_minute"] is None


def test_gateway_metrics_export_measured_and_declared_capacity() -> None:
    from types import SimpleNamespace

    from prometheus_client import CollectorRegistry, generate_latest

    from lockgate.metrics import Metrics

    local = provider()
    local.replicas[0].stats, local.replicas[1].stats = stats(60.0, 1.0, queue=3), stats(40.0, 1.0)
    local._note_peak()
    cfg = parse_config({"providers": {"up": {"base_url": "http://127.0.0.1:9/v1",
                                             "capacity": {"tokens_per_minute": 5000}}}})  # fmt: skip
    remote = OpenAICompatibleProvider("up", cfg.providers["up"], cfg)
    metrics = Metrics()
    metrics.deployments = [SimpleNamespace(provider_name=p.name, provider=p, name=f"{p.name}/m", stats=SimpleNamespace(inflight=0),
                                           breaker=SimpleNamespace(state=SimpleNamespace(value="closed")))
                           for p in (local, remote)]  # fmt: skip
    registry = CollectorRegistry()
    registry.register(metrics)
    text = generate_latest(registry).decode()
    assert 'lockgate_capacity_tokens_per_second{provider="local"} 100.0' in text
    assert 'lockgate_capacity_peak_tokens_per_second{provider="local"} 100.0' in text
    assert 'lockgate_capacity_queue_depth{provider="local"} 3.0' in text
    assert 'lockgate_capacity_kv_cells_total{provider="local"} 16384.0' in text
    assert 'lockgate_capacity_tokens_per_second{provider="up"}' not in text  # unmeasured: absent, not zero
    assert 'lockgate_capacity_declared_tokens_per_minute{provider="up"} 5000.0' in text
    # `serve --workers 2`: both workers watch the same engine, so a scrape must not add them up
    from lockgate.server.fleetmetrics import merge

    merged = merge([text, text]).decode()
    assert 'lockgate_capacity_peak_tokens_per_second{provider="local"} 100.0' in merged
    assert 'lockgate_capacity_declared_tokens_per_minute{provider="up"} 5000.0' in merged
