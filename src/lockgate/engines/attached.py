"""An engine replica another process supervises: the ``lockgate serve --workers N`` supervisor
starts each local engine once and gives every gateway worker its address.  A worker only
watches the replica's ``/health``, so its ``healthy`` flag (what routing and ``/readyz`` read)
follows the engine through the supervisor's restarts."""

from __future__ import annotations

import asyncio
import contextlib
import time

import aiohttp

from lockgate.engines.process import EngineStartError

HEALTH_INTERVAL = 1.0


class AttachedEngine:
    """Same surface as ``SupervisedProcess`` (``healthy``, ``restarts``, ``pid``, ``start``,
    ``stop``), without owning a process."""

    def __init__(self, name: str, health_url: str, startup_timeout: float = 30.0) -> None:
        self.name = name
        self.health_url = health_url
        self.startup_timeout = startup_timeout
        self.healthy = False
        self.restarts = 0  # counted by the supervisor that owns the process
        self.pid: int | None = None
        self._watch: asyncio.Task[None] | None = None

    async def _check(self, http: aiohttp.ClientSession) -> bool:
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with http.get(self.health_url) as r:
                return r.status == 200
        return False

    async def start(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while not await self._check(http):
                if time.monotonic() > deadline:
                    raise EngineStartError(f"engine {self.name} at {self.health_url} did not answer")
                await asyncio.sleep(0.2)
        self.healthy = True
        self._watch = asyncio.create_task(self._follow(), name=f"attached-{self.name}")

    async def _follow(self) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while True:
                await asyncio.sleep(HEALTH_INTERVAL)
                self.healthy = await self._check(http)

    async def stop(self) -> None:
        self.healthy = False
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
