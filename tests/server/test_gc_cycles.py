"""No cyclic garbage per request: a regression here brings back the collector's tail latency.

Each hot path (JSON completion, SSE stream, policy refusal, upstream 5xx) is driven a few
thousand times through a running gateway, every feature on (keys, eu-sovereign policy, PII
scan, audit), with the collector paused.  Objects that only a collection can free are then
counted (``gc.DEBUG_SAVEALL`` keeps them for the failure message).  One reference cycle per
request would leave thousands; the bound leaves room only for background work (store refresh,
audit shipping), which does not grow with the number of requests.
"""

from __future__ import annotations

import asyncio
import gc
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from tests.support.gateway import remote, running_gateway
from tests.support.upstream import FakeUpstream

from lockgate.records import RequestRecord

KEY = "sk-gc-cycles-admin-0123456789"
REQUESTS = 2000
STREAMS = 1000
CONCURRENCY = 16
MAX_UNREACHABLE = 100  # whole run; a cycle per request leaves >= 2 objects x REQUESTS
EU = {"operator_country": "DE", "parent_jurisdiction": "DE", "foreign_access_laws": [],
      "processing_locations": ["DE"], "self_hosted": False}  # fmt: skip
US = {"operator_country": "US", "parent_jurisdiction": "US", "foreign_access_laws": ["US-CLOUD-Act"],
      "processing_locations": ["US"], "self_hosted": False}  # fmt: skip


def _config(up: FakeUpstream) -> dict[str, Any]:
    return {
        "auth": {"mode": "keys", "admin_key": "${GC_TEST_ADMIN_KEY}", "reload_interval": 3600},
        "providers": {"eu": remote(up.url, facts=EU), "us": remote(up.url, facts=US)},
        "models": {
            "ok": {"deployments": [{"provider": "eu", "model": "ok"}]},
            "fail500": {"deployments": [{"provider": "eu", "model": "fail500"}]},
            "us-only": {"deployments": [{"provider": "us", "model": "ok"}]},
        },
        "policies": {"default": "eu-sovereign"},
        "retry": {"attempts": 0},
        "breaker": {"failure_threshold": 1_000_000},  # every 5xx reaches the upstream
        "pii": {"enabled": True, "cache_entries": 0},
        "audit": {"enabled": True},
    }


PATHS: dict[str, tuple[dict[str, Any], int, int]] = {
    # name: (request body, expected status, requests)
    "json": ({"model": "ok"}, 200, REQUESTS),
    "sse": ({"model": "ok", "stream": True, "stream_options": {"include_usage": True}}, 200, STREAMS),
    "policy_refusal": ({"model": "us-only"}, 403, REQUESTS),
    "upstream_error": ({"model": "fail500"}, 502, REQUESTS),
}


@asynccontextmanager
async def _gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[str, Any]]:
    monkeypatch.setenv("GC_TEST_ADMIN_KEY", KEY)
    up = FakeUpstream("fake", words=3)
    await up.start()
    try:
        async with running_gateway(_config(up), tmp_path) as (base, gw):
            yield base, gw
    finally:
        await up.close()


async def _drive(
    session: aiohttp.ClientSession, base: str, body: dict[str, Any], status: int, n: int
) -> None:
    """``n`` requests, ``CONCURRENCY`` at a time on keep-alive connections, each read to the end.

    The session outlives the measured run: closing a connection leaves a few cyclic objects in
    asyncio's transport, per connection and not per request, so that happens after counting."""
    payload = {"messages": [{"role": "user", "content": "Say hello to the team."}], **body}
    headers = {"Authorization": f"Bearer {KEY}"}
    url = base + "/v1/chat/completions"

    async def worker(count: int) -> None:
        for _ in range(count):
            async with session.post(url, json=payload, headers=headers) as resp:
                await resp.read()
                assert resp.status == status, await resp.text()

    share, rest = divmod(n, CONCURRENCY)
    await asyncio.gather(*(worker(share + (i < rest)) for i in range(CONCURRENCY)))


@contextmanager
def _collector_paused() -> Iterator[None]:
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _cyclic_garbage() -> Counter[str]:
    """Collect once, keeping what was unreachable; returns it counted by type."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        found = Counter(type(o).__qualname__ for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.collect()
    return found


async def _unreachable_after(base: str, path: str) -> Counter[str]:
    body, status, n = PATHS[path]
    async with aiohttp.ClientSession() as session:
        await _drive(session, base, body, status, 50)  # warm-up: lazy imports, pools, caches
        with _collector_paused():
            await _drive(session, base, body, status, n)
            return _cyclic_garbage()


@pytest.mark.parametrize("path", list(PATHS))
async def test_hot_path_leaves_no_cyclic_garbage(
    path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _gateway(tmp_path, monkeypatch) as (base, _):
        found = await _unreachable_after(base, path)
    total = sum(found.values())
    assert total <= MAX_UNREACHABLE, f"{path}: {total} unreachable objects: {found.most_common(12)}"


class _CyclicSink:
    """Makes one reference cycle per request, like a handler that keeps an exception with its
    traceback would: the test above must notice it."""

    def submit(self, record: RequestRecord) -> None:
        node: dict[str, Any] = {"record": record.request_id}
        node["self"] = node

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


async def test_the_check_notices_a_cycle_per_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with _gateway(tmp_path, monkeypatch) as (base, gw):
        gw.sinks.append(_CyclicSink())
        body, status, _ = PATHS["json"]
        async with aiohttp.ClientSession() as session:
            await _drive(session, base, body, status, 20)
            with _collector_paused():
                await _drive(session, base, body, status, 500)
                found = _cyclic_garbage()
    assert found["dict"] >= 500 and sum(found.values()) > MAX_UNREACHABLE
