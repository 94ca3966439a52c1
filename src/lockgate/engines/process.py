"""Supervise one engine child process: start, wait until healthy, restart on crash with
exponential backoff, stop cleanly (SIGTERM, then SIGKILL).  Children die with the gateway."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import time
from collections import deque
from pathlib import Path

import aiohttp

log = logging.getLogger("lockgate.engines")


class EngineStartError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class SupervisedProcess:
    def __init__(
        self,
        name: str,
        argv: list[str],
        health_url: str,
        log_path: Path,
        startup_timeout: float,
        backoff_initial: float,
        backoff_max: float,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = argv
        self.health_url = health_url
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.env = env
        self.healthy = False
        self.restarts = 0
        self._proc: asyncio.subprocess.Process | None = None
        self._watch: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    async def start(self) -> None:
        await self._spawn()
        await self._wait_healthy()
        self._watch = asyncio.create_task(self._supervise(), name=f"supervise-{self.name}")

    async def _spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        logf = self.log_path.open("ab")
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=logf,
                stderr=asyncio.subprocess.STDOUT,
                env={**os.environ, **(self.env or {})},
                preexec_fn=_die_with_parent,
            )
        finally:
            logf.close()
        log.info("engine %s started (pid %s)", self.name, self._proc.pid)

    def tail(self, lines: int = 15) -> str:
        try:
            with self.log_path.open("rb") as f:
                return b"".join(deque(f, maxlen=lines)).decode("utf-8", "replace")
        except OSError:
            return ""

    async def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while time.monotonic() < deadline:
                if self._proc is not None and self._proc.returncode is not None:
                    raise EngineStartError(
                        f"engine {self.name} exited with code {self._proc.returncode} during start-up; "
                        f"last log lines ({self.log_path}):\n{self.tail()}"
                    )
                with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                    async with session.get(self.health_url) as r:
                        if r.status == 200:
                            self.healthy = True
                            return
                await asyncio.sleep(0.2)
        await self._terminate()
        raise EngineStartError(
            f"engine {self.name} was not healthy after {self.startup_timeout:.0f}s; "
            f"last log lines ({self.log_path}):\n{self.tail()}"
        )

    async def _supervise(self) -> None:
        backoff = self.backoff_initial
        while not self._stopping:
            assert self._proc is not None
            code = await self._proc.wait()
            self.healthy = False
            if self._stopping:
                return
            log.error("engine %s exited with code %s; restarting in %.1fs", self.name, code, backoff)
            await asyncio.sleep(backoff)
            if self._stopping:
                return
            try:
                await self._spawn()
                await self._wait_healthy()
                self.restarts += 1
                backoff = self.backoff_initial
            except (EngineStartError, OSError) as exc:
                log.error("engine %s restart failed: %s", self.name, exc)
                backoff = min(backoff * 2, self.backoff_max)

    async def _terminate(self) -> None:
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    async def stop(self) -> None:
        self._stopping = True
        self.healthy = False
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await self._terminate()
