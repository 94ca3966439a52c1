"""Prometheus metrics for the request path.  Label children are cached per deployment so a
request costs a dict lookup and a few increments, not a label resolution."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prometheus_client import Counter, Gauge, Histogram

if TYPE_CHECKING:
    from lockgate.records import RequestRecord
    from lockgate.routing.deployment import Deployment

_LAT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Metrics:
    def __init__(self) -> None:
        labels = ("alias", "deployment")
        self.requests = Counter(
            "lockgate_requests", "Requests by alias, deployment and HTTP status", (*labels, "status")
        )
        self.latency = Histogram(
            "lockgate_request_duration_seconds", "End-to-end request latency", labels, buckets=_LAT_BUCKETS
        )
        self.ttft = Histogram(
            "lockgate_time_to_first_token_seconds",
            "Time to first streamed chunk",
            labels,
            buckets=_LAT_BUCKETS,
        )
        self.overhead = Histogram(
            "lockgate_overhead_seconds",
            "Gateway time outside the upstream call (non-streamed)",
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05),
        )
        self.tokens = Counter("lockgate_tokens", "Tokens by alias, deployment and kind", (*labels, "kind"))
        self.upstream_errors = Counter(
            "lockgate_upstream_errors", "Upstream failures by deployment and kind", ("deployment", "kind")
        )
        self.inflight = Gauge("lockgate_inflight_requests", "Requests in flight")
        self.breaker_open = Gauge(
            "lockgate_circuit_open", "1 when a deployment's circuit breaker is open", ("deployment",)
        )
        self._children: dict[tuple[str, ...], Any] = {}
        self.known_aliases: frozenset[str] = frozenset()

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (metric._name, *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def upstream_error(self, dep: Deployment, kind: str) -> None:
        self._child(self.upstream_errors, dep.name, kind).inc()

    def observe(self, rec: RequestRecord) -> None:
        # client-supplied names that match no alias are not used as labels (cardinality)
        alias = rec.model_alias if rec.model_alias in self.known_aliases else ""
        dep = rec.deployment or ""
        self._child(self.requests, alias, dep, str(rec.status)).inc()
        self._child(self.latency, alias, dep).observe(rec.latency_ms / 1000.0)
        if rec.ttft_ms is not None:
            self._child(self.ttft, alias, dep).observe(rec.ttft_ms / 1000.0)
        if rec.prompt_tokens:
            self._child(self.tokens, alias, dep, "prompt").inc(rec.prompt_tokens)
        if rec.completion_tokens:
            self._child(self.tokens, alias, dep, "completion").inc(rec.completion_tokens)


METRICS = Metrics()
