"""The garbage collector in lockgate's long-running processes: freeze the start-up heap, time pauses.

A gateway builds a large, long-lived heap once (config, policy catalogue, routes, SQLAlchemy
metadata, imported modules: a few hundred thousand objects).  Left in the collector's oldest
generation, every full collection walks all of it while the event loop stands still, and that
pause is the gateway's c=32 tail latency.  ``freeze_heap`` collects once and then moves every
surviving object into the permanent generation (``gc.freeze``), which the collector never
walks again; the objects stay alive and are freed normally if their last reference goes.
Per-request garbage must still be acyclic (``tests/server/test_gc_cycles.py`` holds that).

``GcPauses`` times every collection through ``gc.callbacks`` and reports the pauses as a
Prometheus histogram per generation; ``prometheus_client``'s own GC collector reports the
counts.  Nothing here imports from lockgate: it is the bottom layer.
"""

from __future__ import annotations

import gc
import logging
import time
from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger("lockgate")

# A young collection walks only the objects allocated since the last one, so a larger first
# threshold means fewer, equally cheap walks per request (and fewer in-flight request objects
# promoted to older generations, where they make full collections due).  700 is CPython's default.
GEN0_THRESHOLD = 7000
PAUSE_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)


def tune() -> None:
    """Raise the first-generation threshold (the older generations keep CPython's defaults)."""
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)


def freeze_heap(what: str = "start-up") -> int:
    """Collect once, then move every live object out of the collector's way; returns how many
    objects are frozen.  Call it when a process is ready to serve, and again after anything
    that rebuilds large long-lived structures."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.debug("gc: froze %d objects after %s", frozen, what)
    return frozen


async def freeze_when_started(_app: object) -> None:
    """An aiohttp ``on_startup`` hook; append it last, after the hooks that build state."""
    freeze_heap()


class GcPauses(Collector):
    """Times every collection (``gc.callbacks``) into a histogram per generation."""

    def __init__(self) -> None:
        self.counts = [[0] * (len(PAUSE_BUCKETS) + 1) for _ in range(3)]  # last bucket: +Inf
        self.sums = [0.0, 0.0, 0.0]
        self._started = 0.0

    def install(self) -> None:
        if self._callback not in gc.callbacks:
            gc.callbacks.append(self._callback)

    def uninstall(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        seconds = time.perf_counter() - self._started
        generation = min(int(info.get("generation", 2)), 2)
        self.counts[generation][bisect_left(PAUSE_BUCKETS, seconds)] += 1
        self.sums[generation] += seconds

    def collect(self) -> Iterator[HistogramMetricFamily]:
        fam = HistogramMetricFamily(
            "lockgate_gc_pause_seconds",
            "Time the garbage collector held the process, per collection, by generation",
            labels=["generation"],
        )
        bounds = (*map(str, PAUSE_BUCKETS), "+Inf")
        for generation in range(3):
            total = 0
            buckets: list[tuple[str, float]] = []
            for bound, n in zip(bounds, self.counts[generation], strict=True):
                total += n
                buckets.append((bound, float(total)))
            fam.add_metric([str(generation)], buckets, self.sums[generation])
        yield fam
