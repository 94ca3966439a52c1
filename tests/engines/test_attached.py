"""A worker's view of an engine the supervisor runs: healthy follows the engine's /health."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from lockgate.engines import attached
from lockgate.engines.attached import AttachedEngine
from lockgate.engines.process import EngineStartError, free_port


async def _until(check: Callable[[], bool], what: str) -> None:
    for _ in range(200):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


async def test_health_is_followed_through_an_engine_restart(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attached, "HEALTH_INTERVAL", 0.05)
    state = {"status": 200}

    async def health(_: web.Request) -> web.Response:
        return web.Response(status=state["status"])

    app = web.Application()
    app.router.add_get("/health", health)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    engine = AttachedEngine("local-0", str(server.make_url("/health")))
    try:
        await engine.start()
        assert engine.healthy and engine.pid is None  # the supervisor owns the process
        state["status"] = 503  # the supervisor is restarting it
        await _until(lambda: not engine.healthy, "unhealthy")
        state["status"] = 200
        await _until(lambda: engine.healthy, "healthy again")
    finally:
        await engine.stop()
        await server.close()
    assert not engine.healthy


async def test_an_engine_that_never_answers_fails_start_naming_it() -> None:
    url = f"http://127.0.0.1:{free_port()}/health"
    engine = AttachedEngine("local-1", url, startup_timeout=0.3)
    with pytest.raises(EngineStartError, match=f"engine local-1 at {url} did not answer"):
        await engine.start()
