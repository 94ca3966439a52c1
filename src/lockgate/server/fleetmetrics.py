"""``/metrics`` over every worker of ``lockgate serve --workers N``.

prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``) only covers its own
``Counter``/``Gauge``/``Histogram`` objects, whose values it keeps in memory-mapped files.
lockgate's request-path metrics are plain numbers behind a custom collector
(``metrics.Metrics``: a dict increment per request, no file write), and the GC pause histogram
is a collector too, so multiprocess mode would miss most of them.  The equivalent here:

* every worker serves its own exposition on a private Unix socket in the run directory
  (``metrics-<index>.sock``; never on the public port);
* the worker a scrape lands on reads every peer's exposition and its own, and merges them
  sample by sample: counters, histograms and summaries add up, a gauge follows its mode in
  ``metrics.GAUGE_MERGE`` (summed unless listed), ``*_created`` takes the earliest;
* each worker adds ``lockgate_worker_info{worker, pid}``, so the scrape shows which workers
  answered.

A worker that is restarting is missing from a scrape for a moment, and a restarted worker's
counters start again from zero (as after a process restart); Prometheus's ``rate()`` and
``increase()`` treat the drop as a counter reset.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import REGISTRY, Collector

from lockgate.metrics import GAUGE_MERGE

COMBINE: dict[str, Callable[[float, float], float]] = {"sum": lambda a, b: a + b, "max": max, "min": min}
PEER_TIMEOUT = 2.0
SampleKey = tuple[str, tuple[tuple[str, str], ...]]


def merge(texts: list[str]) -> bytes:
    """Several text expositions as one (see the module doc for the rules)."""
    families: dict[str, Metric] = {}
    values: dict[str, dict[SampleKey, float]] = {}
    for text in texts:
        for fam in text_string_to_metric_families(text):
            if fam.name not in families:
                families[fam.name] = Metric(fam.name, fam.documentation, fam.type, fam.unit)
                values[fam.name] = {}
            table = values[fam.name]
            mode = GAUGE_MERGE.get(fam.name, "sum") if fam.type == "gauge" else "sum"
            for s in fam.samples:
                key = (s.name, tuple(sorted(s.labels.items())))
                old = table.get(key)
                how = "min" if s.name.endswith("_created") else mode
                table[key] = s.value if old is None else COMBINE[how](old, s.value)
    for name, fam in families.items():
        for (sample, labels), value in values[name].items():
            fam.add_sample(sample, dict(labels), value)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed(list(families.values())))
    return generate_latest(registry)


class _Fixed(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


class WorkerInfo(Collector):
    def __init__(self, index: int) -> None:
        self.index = index

    def collect(self) -> Iterator[GaugeMetricFamily]:
        fam = GaugeMetricFamily(
            "lockgate_worker_info", "1 per worker process of this gateway", labels=["worker", "pid"]
        )
        fam.add_metric([str(self.index), str(os.getpid())], 1)
        yield fam


async def _peer(path: Path) -> str | None:
    try:
        connector = aiohttp.UnixConnector(path=str(path))
        timeout = aiohttp.ClientTimeout(total=PEER_TIMEOUT)
        async with (
            aiohttp.ClientSession(connector=connector, timeout=timeout) as http,
            http.get("http://worker/metrics") as r,
        ):
            return await r.text() if r.status == 200 else None
    except (aiohttp.ClientError, OSError, TimeoutError):
        return None  # restarting, or gone: left out of this scrape


class WorkerMetrics:
    """This worker's private exposition socket, and the merged answer to ``/metrics``."""

    def __init__(self, run_dir: Path, index: int) -> None:
        self.run_dir = run_dir
        self.path = run_dir / f"metrics-{index}.sock"
        self.info = WorkerInfo(index)
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        REGISTRY.register(self.info)
        app = web.Application()

        async def own(_: web.Request) -> web.Response:
            return web.Response(body=generate_latest(), content_type="text/plain")

        app.router.add_get("/metrics", own)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # left by this worker's previous incarnation
        await web.UnixSite(self._runner, str(self.path)).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        with contextlib.suppress(ValueError):
            REGISTRY.unregister(self.info)

    async def expose(self) -> bytes:
        peers = [p for p in sorted(self.run_dir.glob("metrics-*.sock")) if p != self.path]
        texts = [generate_latest().decode()]
        texts += [t for t in await asyncio.gather(*map(_peer, peers)) if t is not None]
        return await asyncio.to_thread(merge, texts)
