"""A local llama.cpp engine that lockgate starts and supervises, with several replicas so
concurrent requests do not queue behind one long generation."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from lockgate.engines.models import resolve_model_path
from lockgate.engines.process import SupervisedProcess, free_port
from lockgate.providers.base import (
    NativeCall,
    Provider,
    UpstreamConnectError,
    UpstreamReadTimeout,
    UpstreamResponse,
)
from lockgate.providers.openai_compat import client_session, post

# Called before an engine starts with (model path, acknowledgements); raises to refuse.
ServingGate = Callable[[Path, list[str]], None]


class Replica:
    __slots__ = ("base_url", "inflight", "process", "stats")

    def __init__(self, process: SupervisedProcess, base_url: str) -> None:
        self.process = process
        self.base_url = base_url
        self.inflight = 0
        self.stats: dict[str, Any] = {}  # the engine's own /stats, polled


STATS_INTERVAL = 2.0
_SUMMED = ("tokens_per_second", "queue_depth", "active_sequences", "parallel", "kv_cells_used",
           "kv_cells_cached", "kv_cells_total", "requests_total", "prompt_tokens_total",
           "cached_prompt_tokens_total", "completion_tokens_total", "preemptions_total")  # fmt: skip


def capacity(replicas: list[Replica]) -> dict[str, Any]:
    """The replicas' measured capacity added up: tokens/s now, queue depth, KV use."""
    out: dict[str, Any] = {}
    for r in replicas:
        for key in _SUMMED:
            value = r.stats.get(key)
            if isinstance(value, int | float):
                out[key] = round(out.get(key, 0) + value, 2)
    return out


class LlamaCppProvider(Provider):
    kind = "llamacpp"
    gate: ServingGate | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.config.engine is None:
            from lockgate.config.schema import EngineConfig

            self.config = self.config.model_copy(update={"engine": EngineConfig()})
        self.replicas: list[Replica] = []
        self._session: aiohttp.ClientSession | None = None
        self._headers = {"Content-Type": "application/json"}
        self.model_path: Path | None = None
        self._poll: asyncio.Task[None] | None = None

    def _argv(self, port: int) -> list[str]:
        eng = self.config.engine
        assert eng is not None and self.model_path is not None
        threads = eng.threads or max(1, (os.cpu_count() or 2) // eng.replicas)
        argv = [
            sys.executable, "-m", "lockgate.engines.llamacpp_worker",
            "--model", str(self.model_path), "--alias", self.name,
            "--port", str(port), "--ctx", str(eng.context), "--threads", str(threads),
        ]  # fmt: skip
        if eng.embeddings:
            argv.append("--embeddings")
        if eng.batching:
            argv += ["--batching", "--parallel", str(eng.parallel), "--prefill-chunk", str(eng.prefill_chunk)]
            if eng.kv_unified:
                argv.append("--kv-unified")
            if eng.kv_size:
                argv += ["--kv-size", str(eng.kv_size)]
            if not eng.prefix_cache:
                argv.append("--no-prefix-cache")
        return [*argv, *eng.extra_args]

    async def start(self) -> None:
        eng = self.config.engine
        assert eng is not None
        self.model_path = resolve_model_path(eng.model, f"providers.{self.name}.engine.model")
        if self.gate is not None:  # the serving gate: registered, pinned, scanned, licensed
            await asyncio.to_thread(self.gate, self.model_path, list(eng.acknowledge))
        t = self.config.timeouts
        self._session = client_session(self.config.max_connections, t.connect, t.read, t.total)
        logs = self.gateway.state_dir / "logs"
        for i in range(eng.replicas):
            port = (eng.base_port + i) if eng.base_port else free_port()
            proc = SupervisedProcess(
                f"{self.name}-{i}",
                self._argv(port),
                f"http://127.0.0.1:{port}/health",
                logs / f"engine-{self.name}-{i}.log",
                eng.startup_timeout,
                eng.restart_backoff_initial,
                eng.restart_backoff_max,
                env={"OMP_NUM_THREADS": "1"},
            )
            self.replicas.append(Replica(proc, f"http://127.0.0.1:{port}/v1"))
        try:
            await asyncio.gather(*(r.process.start() for r in self.replicas))
        except BaseException:
            await self.close()
            raise
        self._poll = asyncio.create_task(self._poll_stats(), name=f"engine-stats-{self.name}")

    async def _poll_stats(self) -> None:
        """Keep each replica's measured capacity (its /stats) for describe() and readyz."""
        timeout = aiohttp.ClientTimeout(total=2)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while True:
                for r in self.replicas:
                    if not r.process.healthy:
                        r.stats = {}
                        continue
                    try:
                        async with http.get(r.base_url.removesuffix("/v1") + "/stats") as resp:
                            data = await resp.json() if resp.status == 200 else {}
                        r.stats = data if isinstance(data, dict) else {}
                    except (aiohttp.ClientError, TimeoutError, ValueError):
                        r.stats = {}
                await asyncio.sleep(STATS_INTERVAL)

    async def close(self) -> None:
        if self._poll is not None:
            self._poll.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poll
            self._poll = None
        await asyncio.gather(*(r.process.stop() for r in self.replicas), return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def is_ready(self) -> bool:
        return any(r.process.healthy for r in self.replicas)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "ready": self.is_ready(),
            "model": str(self.model_path) if self.model_path else None,
            "batching": bool(self.config.engine and self.config.engine.batching),
            "capacity": capacity(self.replicas),
            "replicas": [
                {"base_url": r.base_url, "healthy": r.process.healthy, "inflight": r.inflight,
                 "restarts": r.process.restarts, "pid": r.process.pid, "stats": r.stats}
                for r in self.replicas
            ],
        }  # fmt: skip

    def _pick(self) -> Replica:
        healthy = [r for r in self.replicas if r.process.healthy] or self.replicas
        return min(healthy, key=lambda r: r.inflight)

    async def count_tokens(self, chat_body: bytes) -> int | None:
        assert self._session is not None, "provider used before start()"
        replica = self._pick()
        try:
            resp = await post(self._session, replica.base_url + "/count_tokens", chat_body, self._headers)
            data = await resp.read()
        except (UpstreamConnectError, UpstreamReadTimeout):
            return None
        if resp.status != 200:
            return None
        count = orjson.loads(data).get("input_tokens")
        return count if isinstance(count, int) else None

    async def send(self, path: str, body: bytes, native: NativeCall | None = None) -> UpstreamResponse:
        assert self._session is not None, "provider used before start()"
        replica = self._pick()
        replica.inflight += 1

        def done() -> None:
            replica.inflight -= 1

        try:
            return await post(self._session, replica.base_url + path, body, self._headers, done)
        except BaseException:
            done()
            raise
