"""Engine path: the bundled model on one llama.cpp server, called directly and through lockgate.

The same engine process serves both, so the difference is what lockgate adds on the way.
"""

from __future__ import annotations

import contextlib
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lockbench.launch import start_lockgate
from lockbench.peers import Endpoint, Features
from lockbench.procs import BenchError, Service, free_port, start, wait_ready
from lockbench.sse import StreamResult, measure_streams
from lockbench.suite import Settings

ENGINE_MODEL = "smollm2"
ENGINE_PROMPT = "Write a long list of fruits, one per line, and do not stop early."
CONCURRENCIES = (1, 4)


@dataclass(frozen=True)
class EngineLine:
    via: str
    concurrency: int
    result: StreamResult

    @property
    def tokens_per_s(self) -> float:
        return self.result.chunks_per_s

    def to_json(self) -> dict[str, Any]:
        return {
            "via": self.via,
            "concurrency": self.concurrency,
            "tokens_per_s": round(self.tokens_per_s, 2),
            "ttft_p50_ms": round(self.result.ttfc_p50_ms, 3),
            **self.result.to_json(),
        }


def bundled_model() -> Path:
    """The GGUF that lockgate's ``bundled:smollm2`` resolves to (the same file its engine loads)."""
    from lockgate.engines.models import resolve_model_path
    from lockgate.errors import ConfigError

    try:
        return resolve_model_path("bundled:smollm2")
    except ConfigError as exc:
        raise BenchError(str(exc)) from None


def start_engine(work: Path) -> Service:
    port = free_port()
    argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_model())]
    argv += ["--model_alias", ENGINE_MODEL, "--host", "127.0.0.1", "--port", str(port), "--verbose", "False"]
    argv += ["--interrupt_requests", "False"]  # queue concurrent requests instead of cancelling
    service = start("llama-server", argv, port, work / "logs")
    body = b'{"model":"smollm2","messages":[{"role":"user","content":"hi"}],"max_tokens":2}'
    probe = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/chat/completions",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    wait_ready(service, probe, timeout=120)
    return service


def _measure(endpoint: Endpoint, settings: Settings, via: str) -> list[EngineLine]:
    target = endpoint.stream(ENGINE_PROMPT, max_tokens=settings.engine_max_tokens, temperature=0.0, seed=1)
    measure_streams(target, 1, 1, text_only=True)  # warm-up: load pages, fill caches
    counts = {1: settings.engine_streams_c1, 4: settings.engine_streams_c4}
    return [EngineLine(via, c, measure_streams(target, counts[c], c, text_only=True)) for c in CONCURRENCIES]


def run_engine(work: Path, settings: Settings, key: str) -> list[EngineLine]:
    """Direct and via-lockgate lines at concurrency 1 and 4 against one engine process."""
    with contextlib.ExitStack() as stack:
        engine = start_engine(work)
        stack.callback(engine.stop)
        base = f"http://127.0.0.1:{engine.port}"
        direct = Endpoint("engine", base, key, ENGINE_MODEL, ENGINE_MODEL)
        lines = _measure(direct, settings, "direct")
        routes = {ENGINE_MODEL: (f"{base}/v1", ENGINE_MODEL)}
        features = Features("engine", policy=False, pii=False, audit=False)
        gateway, via = start_lockgate("engine", features, work, routes, key)
        stack.callback(gateway.stop)
        lines += _measure(via, settings, "lockgate")
    return lines
