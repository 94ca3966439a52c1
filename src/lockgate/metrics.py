"""Prometheus metrics for the request path.

The request path only bumps plain Python numbers (one event loop thread, so no locks); a
custom collector turns them into the standard exposition when ``/metrics`` is scraped.
Metric names and labels are those of ``prometheus_client`` counters and histograms.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from lockgate.gcpolicy import GcPauses

if TYPE_CHECKING:
    from lockgate.records import RequestRecord
    from lockgate.routing.deployment import Deployment

# How /metrics combines a gauge over the workers of ``lockgate serve --workers N``
# (``server.fleetmetrics``), in prometheus-client's multiprocess_mode terms: a gauge not listed
# here is summed ("livesum": in-flight requests, queue depths, memory); counters and histograms
# always add up, and a ``*_created`` timestamp takes the earliest.
GAUGE_MERGE: dict[str, str] = {
    "lockgate_circuit_open": "max",  # each worker keeps its own breakers: open in any worker
    "process_start_time_seconds": "min",
    "process_max_fds": "max",
    "python_info": "max",
}
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
CAPACITY_GAUGES = (
    ("tokens_per_second", "Generated tokens per second now (last 10 s), measured by the engines"),
    ("batch_size", "Mean sequences per decode step now"),
    ("peak_tokens_per_second", "Highest generation rate measured since the gateway started"),
    ("queue_depth", "Requests waiting for a sequence slot or KV space"),
    ("kv_cells_used", "KV cells held by running sequences"),
    ("kv_cells_total", "KV cells of the engines"),
)
# the engines are shared by the workers of `serve --workers`: each reports the same figures
GAUGE_MERGE.update({f"lockgate_capacity_{name}": "max" for name, _ in CAPACITY_GAUGES})
GAUGE_MERGE["lockgate_capacity_declared_tokens_per_minute"] = "max"
OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05)


class _Histogram:
    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # last: +Inf
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    def buckets(self) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        total = 0
        for bound, n in zip((*map(str, self.bounds), "+Inf"), self.counts, strict=True):
            total += n
            out.append((bound, float(total)))
        return out


class Metrics(Collector):
    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, str], int] = {}
        self.tokens: dict[tuple[str, str, str], int] = {}
        self.upstream_errors: dict[tuple[str, str], int] = {}
        self.latency: dict[tuple[str, str], _Histogram] = {}
        self.ttft: dict[tuple[str, str], _Histogram] = {}
        self.overhead = _Histogram(OVERHEAD_BUCKETS)
        self.known_aliases: frozenset[str] = frozenset()
        self.deployments: list[Deployment] = []

    # -- request path ----------------------------------------------------------------------
    def upstream_error(self, dep: Deployment, kind: str) -> None:
        key = (dep.name, kind)
        self.upstream_errors[key] = self.upstream_errors.get(key, 0) + 1

    def observe(self, rec: RequestRecord) -> None:
        # client-supplied names that match no alias are not used as labels (cardinality)
        alias = rec.model_alias if rec.model_alias in self.known_aliases else ""
        pair = (alias or "", rec.deployment or "")
        key = (*pair, str(rec.status))
        self.requests[key] = self.requests.get(key, 0) + 1
        hist = self.latency.get(pair)
        if hist is None:
            hist = self.latency[pair] = _Histogram(LATENCY_BUCKETS)
        hist.observe(rec.latency_ms / 1000.0)
        if rec.ttft_ms is not None:
            ttft = self.ttft.get(pair)
            if ttft is None:
                ttft = self.ttft[pair] = _Histogram(LATENCY_BUCKETS)
            ttft.observe(rec.ttft_ms / 1000.0)
        for kind, n in (("prompt", rec.prompt_tokens), ("completion", rec.completion_tokens)):
            if n:
                tkey = (*pair, kind)
                self.tokens[tkey] = self.tokens.get(tkey, 0) + n

    def observe_overhead(self, seconds: float) -> None:
        self.overhead.observe(seconds)

    # -- scrape ------------------------------------------------------------------------------
    def collect(self) -> Iterator[CounterMetricFamily | HistogramMetricFamily | GaugeMetricFamily]:
        labels = ["alias", "deployment"]
        req = CounterMetricFamily(
            "lockgate_requests", "Requests by alias, deployment and status", labels=[*labels, "status"]
        )
        for k, v in list(self.requests.items()):
            req.add_metric(list(k), v)
        yield req
        tok = CounterMetricFamily(
            "lockgate_tokens", "Tokens by alias, deployment and kind", labels=[*labels, "kind"]
        )
        for k, v in list(self.tokens.items()):
            tok.add_metric(list(k), v)
        yield tok
        err = CounterMetricFamily(
            "lockgate_upstream_errors", "Upstream failures", labels=["deployment", "kind"]
        )
        for k2, v in list(self.upstream_errors.items()):
            err.add_metric(list(k2), v)
        yield err
        for name, doc, table in (
            ("lockgate_request_duration_seconds", "End-to-end request latency", self.latency),
            ("lockgate_time_to_first_token_seconds", "Time to first streamed chunk", self.ttft),
        ):
            fam = HistogramMetricFamily(name, doc, labels=labels)
            for k2, h in list(table.items()):
                fam.add_metric(list(k2), h.buckets(), h.sum)
            yield fam
        over = HistogramMetricFamily("lockgate_overhead_seconds", "Gateway time outside the upstream call")
        over.add_metric([], self.overhead.buckets(), self.overhead.sum)
        yield over
        inflight = GaugeMetricFamily(
            "lockgate_inflight_requests", "Requests in flight per deployment", labels=["deployment"]
        )
        breaker = GaugeMetricFamily(
            "lockgate_circuit_open", "1 while a deployment's breaker is open", labels=["deployment"]
        )
        for d in self.deployments:
            inflight.add_metric([d.name], d.stats.inflight)
            breaker.add_metric([d.name], 0 if d.breaker.state.value == "closed" else 1)
        yield inflight
        yield breaker
        yield from self._capacity()

    def _capacity(self) -> Iterator[GaugeMetricFamily]:
        """Each provider's measured capacity (absent while it has measured nothing) and declared one."""
        providers = {d.provider_name: d.provider for d in self.deployments}
        figures = {name: p.capacity() for name, p in providers.items()}
        for field, doc in CAPACITY_GAUGES:
            fam = GaugeMetricFamily(f"lockgate_capacity_{field}", doc, labels=["provider"])
            for name, cap in figures.items():
                value = getattr(cap, field)
                if value is not None:
                    fam.add_metric([name], float(value))
            yield fam
        declared = GaugeMetricFamily(
            "lockgate_capacity_declared_tokens_per_minute",
            "Capacity declared in the config",
            labels=["provider"],
        )
        for name, p in providers.items():
            if p.config.capacity is not None:
                declared.add_metric([name], float(p.config.capacity.tokens_per_minute))
        yield declared


METRICS = Metrics()
REGISTRY.register(METRICS)
# collection counts come from prometheus_client's own GC collector (python_gc_*); pauses from here
GC_PAUSES = GcPauses()
GC_PAUSES.install()
REGISTRY.register(GC_PAUSES)
