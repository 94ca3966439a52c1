"""The collector policy: the start-up heap is frozen, and /metrics shows collections and pauses."""

from __future__ import annotations

import gc
from pathlib import Path

import aiohttp
import pytest
from tests.support.gateway import remote, running_gateway
from tests.support.upstream import FakeUpstream

from lockgate import gcpolicy
from lockgate.gcpolicy import GcPauses, freeze_heap


def test_freeze_heap_moves_live_objects_out_of_collection() -> None:
    try:
        frozen = freeze_heap("test")
        assert frozen == gc.get_freeze_count() > 1000
        assert sum(len(gc.get_objects(generation)) for generation in range(3)) < frozen
    finally:
        gc.unfreeze()


def test_tune_raises_only_the_first_threshold() -> None:
    before = gc.get_threshold()
    try:
        gcpolicy.tune()
        assert gc.get_threshold() == (gcpolicy.GEN0_THRESHOLD, before[1], before[2])
    finally:
        gc.set_threshold(*before)


def test_pauses_are_timed_per_generation() -> None:
    pauses = GcPauses()
    pauses.install()
    pauses.install()  # idempotent
    try:
        gc.collect(0)
        gc.collect()
    finally:
        pauses.uninstall()
    gc.collect()  # not counted any more
    (family,) = pauses.collect()
    counts = {s.labels["generation"]: s.value for s in family.samples if s.name.endswith("_count")}
    assert counts["0"] >= 1 and counts["2"] == 1
    sums = {s.labels["generation"]: s.value for s in family.samples if s.name.endswith("_sum")}
    assert sums["2"] > 0


@pytest.mark.parametrize("name", ["python_gc_collections_total", "lockgate_gc_pause_seconds_bucket"])
async def test_metrics_page_shows_collections_and_pauses(
    name: str, upstream: FakeUpstream, tmp_path: Path
) -> None:
    gc.collect()
    config = {
        "providers": {"up": remote(upstream.url)},
        "models": {"ok": {"deployments": [{"provider": "up", "model": "ok"}]}},
    }
    async with (
        running_gateway(config, tmp_path) as (base, _),
        aiohttp.ClientSession() as session,
        session.get(base + "/metrics") as resp,
    ):
        text = await resp.text()
    assert f'{name}{{generation="2"' in text
