"""A local llama.cpp engine that lockgate starts and supervises, with several replicas so
concurrent requests do not queue behind one long generation."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp
import orjson

from lockgate.engines.adapters import ADAPTER_HEADER, AdapterSpec, collect_specs, resolve_adapter
from lockgate.engines.attached import AttachedEngine
from lockgate.engines.models import resolve_model_path
from lockgate.engines.process import SupervisedProcess, free_port
from lockgate.providers.base import (
    NativeCall,
    Provider,
    UpstreamBodyError,
    UpstreamConnectError,
    UpstreamReadTimeout,
    UpstreamResponse,
)
from lockgate.providers.capacity import MeasuredCapacity
from lockgate.providers.transport import Transport, transport_for

if TYPE_CHECKING:
    from lockgate.config.schema import DeploymentConfig


class ServingGate(Protocol):
    """Called before an engine starts; raises to refuse the model or one of its LoRA adapters."""

    def __call__(
        self, model_path: Path, acknowledgements: list[str], adapters: Sequence[Path] = ()
    ) -> None: ...


class Replica:
    __slots__ = ("base_url", "inflight", "process", "stats")

    def __init__(self, process: SupervisedProcess | AttachedEngine, base_url: str) -> None:
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
    # engine base URLs started by the ``serve --workers`` supervisor: watch them, start none
    attached: list[str] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.config.engine is None:
            from lockgate.config.schema import EngineConfig

            self.config = self.config.model_copy(update={"engine": EngineConfig()})
        self.replicas: list[Replica] = []
        self._transport: Transport | None = None
        self._headers = {"Content-Type": "application/json"}
        self.model_path: Path | None = None
        self._poll: asyncio.Task[None] | None = None
        self._peak: tuple[float, float, float] | None = None  # (tokens/s, batch size, unix time)
        self._measured_at: float | None = None
        # LoRA adapters of this provider's deployments, served on the one base model
        self.adapters: list[AdapterSpec] = collect_specs(
            (d.adapter, d.adapter_scale, f"models.{alias}.deployments.{i}.adapter")
            for alias, m in self.gateway.models.items() for i, d in enumerate(m.deployments)
            if d.provider == self.name and d.adapter is not None
        )  # fmt: skip
        self.adapter_paths: dict[str, Path] = {}
        self._adapter_headers = {a.id: {**self._headers, ADAPTER_HEADER: a.id} for a in self.adapters}

    def for_deployment(self, deployment: DeploymentConfig) -> Provider:
        """A deployment with an adapter gets a view of these replicas that asks for its adapter."""
        if deployment.adapter is None:
            return self
        spec = next(
            a for a in self.adapters if (a.path, a.scale) == (deployment.adapter, deployment.adapter_scale)
        )
        return AdapterRoute(self, spec.id)

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
        for spec in self.adapters:
            argv += spec.argv(self.adapter_paths[spec.id])
        return [*argv, *eng.extra_args]

    async def start(self) -> None:
        eng = self.config.engine
        assert eng is not None
        self.model_path = resolve_model_path(eng.model, f"providers.{self.name}.engine.model")
        if self.attached is not None:
            await self._attach(self.attached)
            return
        self.adapter_paths = {a.id: resolve_adapter(a) for a in self.adapters}
        if self.gate is not None:  # the serving gate: registered, pinned, scanned, licensed
            adapters = list(self.adapter_paths.values())
            await asyncio.to_thread(self.gate, self.model_path, list(eng.acknowledge), adapters)
        self._transport = transport_for(self.config)
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

    async def _attach(self, urls: list[str]) -> None:
        self._transport = transport_for(self.config)
        for i, url in enumerate(urls):
            engine = AttachedEngine(f"{self.name}-{i}", url.removesuffix("/v1") + "/health")
            self.replicas.append(Replica(engine, url))
        await asyncio.gather(*(r.process.start() for r in self.replicas))
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
                self._note_peak()
                await asyncio.sleep(STATS_INTERVAL)

    def _note_peak(self) -> None:
        """Keep the highest generation rate the replicas sustained together (summed per poll)."""
        measured = [
            r.stats for r in self.replicas if isinstance(r.stats.get("tokens_per_second"), int | float)
        ]
        if not measured:
            return
        now = time.time()
        self._measured_at = now
        rate = sum(float(s["tokens_per_second"]) for s in measured)
        batch = sum(float(s.get("batch_size") or 0.0) for s in measured)
        if rate > 0 and (self._peak is None or rate > self._peak[0]):
            self._peak = (round(rate, 2), round(batch, 2), now)

    def capacity(self) -> MeasuredCapacity:
        """Measured by the engines themselves (their /stats), summed over replicas."""
        if self._measured_at is None:
            batching = bool(self.config.engine and self.config.engine.batching)
            why = (
                "no engine replica has reported its rate yet"
                if batching
                else "engine.batching is off: the serial engine does not measure its rate"
            )
            return MeasuredCapacity.unmeasured(why)
        now = capacity(self.replicas)
        rate = float(now.get("tokens_per_second", 0.0))
        batch = sum(float(r.stats.get("batch_size") or 0.0) for r in self.replicas)
        peak = self._peak or (None, None, None)
        return MeasuredCapacity(
            tokens_per_second=rate, batch_size=round(batch, 2), peak_tokens_per_second=peak[0],
            peak_batch_size=peak[1], peak_measured_at=peak[2], slots=now.get("parallel"),
            queue_depth=now.get("queue_depth"), active_sequences=now.get("active_sequences"),
            kv_cells_used=now.get("kv_cells_used"), kv_cells_cached=now.get("kv_cells_cached"),
            kv_cells_total=now.get("kv_cells_total"), measured_at=self._measured_at,
            reason=None if self._peak else "no generation measured since the gateway started",
        )  # fmt: skip

    async def close(self) -> None:
        if self._poll is not None:
            self._poll.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poll
            self._poll = None
        await asyncio.gather(*(r.process.stop() for r in self.replicas), return_exceptions=True)
        if self._transport is not None:
            await self._transport.close()
            self._transport = None

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
        assert self._transport is not None, "provider used before start()"
        replica = self._pick()
        try:
            resp = await self._transport.post(replica.base_url, "/count_tokens", chat_body, self._headers)
            data = await resp.read()
        except (UpstreamConnectError, UpstreamReadTimeout, UpstreamBodyError):
            return None
        if resp.status != 200:
            return None
        count = orjson.loads(data).get("input_tokens")
        return count if isinstance(count, int) else None

    async def send(
        self,
        path: str,
        body: bytes,
        native: NativeCall | None = None,
        adapter: str | None = None,
        *,
        extra: Mapping[str, str] | None = None,
    ) -> UpstreamResponse:
        assert self._transport is not None, "provider used before start()"
        headers = self._adapter_headers[adapter] if adapter is not None else self._headers
        if extra:
            headers = {**headers, **extra}
        replica = self._pick()
        replica.inflight += 1

        def done() -> None:
            replica.inflight -= 1

        try:
            return await self._transport.post(replica.base_url, path, body, headers, done)
        except BaseException:
            done()
            raise


class AdapterRoute(Provider):
    """One adapter deployment's view of a local engine: the same replicas and state, with every
    request asking the engine for the deployment's LoRA adapter."""

    kind = LlamaCppProvider.kind

    def __init__(self, engine: LlamaCppProvider, adapter: str) -> None:
        super().__init__(engine.name, engine.config, engine.gateway)
        self.engine = engine
        self.adapter = adapter

    @property
    def variant(self) -> str:
        return self.adapter

    def is_ready(self) -> bool:
        return self.engine.is_ready()

    async def probe(self) -> bool:
        return await self.engine.probe()

    def describe(self) -> dict[str, Any]:
        return {**self.engine.describe(), "adapter": self.adapter}

    def capacity(self) -> MeasuredCapacity:
        return self.engine.capacity()

    def secrets(self) -> list[str]:
        return self.engine.secrets()

    async def count_tokens(self, chat_body: bytes) -> int | None:
        return await self.engine.count_tokens(chat_body)

    async def send(
        self,
        path: str,
        body: bytes,
        native: NativeCall | None = None,
        *,
        extra: Mapping[str, str] | None = None,
    ) -> UpstreamResponse:
        return await self.engine.send(path, body, native, self.adapter, extra=extra)
