"""Engine path: the bundled model on llama.cpp, from the physical limit to the gateway.

In one run on one machine:

- ``raw``: ``llama_decode`` driven directly with B sequences per call (B = 1, 4, 8; 24-token
  prompts, then decode steps, no sampling, no HTTP): the physical limit;
- ``llama_cpp.server``: llama-cpp-python's own server, the peer a user would otherwise pick;
- ``direct``: lockgate's engine process (continuous batching, ``--parallel 8``) called directly;
- ``lockgate``: the same engine process through ``lockgate serve``, so the difference between
  the last two is what lockgate adds on the way.

Each serving line gives tokens/s at one stream and in total at 8 concurrent streams, time to
first token p50/p95, and the serving process's resident memory after the run.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import urllib.request
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from lockbench.launch import start_lockgate
from lockbench.peers import Endpoint, Features
from lockbench.procs import BenchError, Service, free_port, start, wait_ready
from lockbench.sse import StreamResult, measure_streams
from lockbench.suite import Settings

ENGINE_MODEL = "smollm2"
ENGINE_PROMPT = "Write a long list of fruits, one per line, and do not stop early."
CONCURRENCIES = (1, 8)
RAW_BATCHES = (1, 4, 8)
RAW_PROMPT_TOKENS = 24
# Threads per engine (and for the raw loop): half the cores, as llama-cpp-python's own default
# for generation; on a busy machine more threads than free cores stall llama.cpp's barriers.
THREADS = int(os.environ.get("LOCKBENCH_ENGINE_THREADS") or max(1, (os.cpu_count() or 2) // 2))


@dataclass(frozen=True)
class EngineLine:
    via: str
    concurrency: int
    result: StreamResult
    rss_kb: int = 0

    @property
    def tokens_per_s(self) -> float:
        return self.result.chunks_per_s

    def to_json(self) -> dict[str, Any]:
        return {
            "via": self.via,
            "concurrency": self.concurrency,
            "tokens_per_s": round(self.tokens_per_s, 2),
            "ttft_p50_ms": round(self.result.ttfc_p50_ms, 3),
            "ttft_p95_ms": round(self.result.ttfc_p95_ms, 3),
            "rss_kb": self.rss_kb,
            **self.result.to_json(),
        }


def raw_decode(model: Path, batches: tuple[int, ...] = RAW_BATCHES, steps: int = 48,
               threads: int | None = None) -> dict[int, float]:  # fmt: skip
    """Decode tokens/s with B sequences per ``llama_decode`` call: the physical limit."""
    import llama_cpp as L
    from llama_cpp._logger import set_verbose

    set_verbose(False)
    L.llama_backend_init()
    mparams = L.llama_model_default_params()
    lmodel = L.llama_model_load_from_file(str(model).encode(), mparams)
    vocab = L.llama_model_get_vocab(lmodel)
    text = b"Write a long list of fruits, one per line, and do not stop early. " * 4
    buf = (L.llama_token * 256)()
    n = L.llama_tokenize(vocab, text, len(text), buf, 256, True, True)
    prompt = list(buf[: min(n, RAW_PROMPT_TOKENS)])
    rates: dict[int, float] = {}
    for b in batches:
        cparams = L.llama_context_default_params()
        cparams.n_ctx = 512 * b
        cparams.n_batch = cparams.n_ubatch = 512
        cparams.n_seq_max = b
        cparams.no_perf = True
        cparams.n_threads = cparams.n_threads_batch = threads or THREADS
        ctx = L.llama_init_from_model(lmodel, cparams)
        batch = L.llama_batch_init(512, 0, 1)

        def put(i: int, token: int, pos: int, seq: int, logits: bool, batch: Any = batch) -> None:
            batch.token[i], batch.pos[i], batch.n_seq_id[i] = token, pos, 1
            batch.seq_id[i][0] = seq
            batch.logits[i] = 1 if logits else 0

        i = 0
        for seq in range(b):
            for pos, token in enumerate(prompt):
                put(i, token, pos, seq, pos == len(prompt) - 1)
                i += 1
        batch.n_tokens = i
        L.llama_decode(ctx, batch)
        started = time.perf_counter()
        for step in range(steps):
            for seq in range(b):
                put(seq, prompt[step % len(prompt)], len(prompt) + step, seq, True)
            batch.n_tokens = b
            L.llama_decode(ctx, batch)
        rates[b] = b * steps / (time.perf_counter() - started)
        L.llama_batch_free(batch)
        L.llama_free(ctx)
    L.llama_model_free(lmodel)
    return rates


def bundled_model() -> Path:
    """The GGUF that lockgate's ``bundled:smollm2`` resolves to (the same file its engine loads)."""
    from lockgate.engines.models import resolve_model_path
    from lockgate.errors import ConfigError

    try:
        return resolve_model_path("bundled:smollm2")
    except ConfigError as exc:
        raise BenchError(str(exc)) from None


def start_lockgate_engine(work: Path, parallel: int = 8, batching: bool = True) -> Service:
    """lockgate's own engine process, as ``lockgate serve`` starts it (batching, or serial:
    one generation at a time on the high-level ``Llama``)."""
    port = free_port()
    argv = [sys.executable, "-m", "lockgate.engines.llamacpp_worker", "--model", str(bundled_model()),
            "--alias", ENGINE_MODEL, "--port", str(port), "--ctx", "2048",
            "--threads", str(THREADS)]  # fmt: skip
    if batching:  # every stream here sends the same prompt: with the prefix cache (the default,
        # and the serial path's Llama reuses its last prompt too) the lines show warm prompts;
        # LOCKBENCH_NO_PREFIX_CACHE=1 measures the cold path
        argv += ["--batching", "--parallel", str(parallel)]
        if os.environ.get("LOCKBENCH_NO_PREFIX_CACHE"):
            argv.append("--no-prefix-cache")
    service = start("lockgate-engine" if batching else "lockgate-engine-serial", argv, port, work / "logs")
    probe = urllib.request.Request(f"http://127.0.0.1:{port}/health")
    wait_ready(service, probe, timeout=120)
    return service


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


def _measure(endpoint: Endpoint, settings: Settings, via: str, service: Service) -> list[EngineLine]:
    target = endpoint.stream(ENGINE_PROMPT, max_tokens=settings.engine_max_tokens, temperature=0.0, seed=1)
    measure_streams(target, 1, 1, text_only=True)  # warm-up: load pages, fill caches
    counts = {1: settings.engine_streams_c1, 8: max(8, settings.engine_streams_c4)}
    lines = []
    for c in CONCURRENCIES:
        result = measure_streams(target, counts[c], c, text_only=True)
        lines.append(EngineLine(via, c, result, service.rss_kb()))
    return lines


def _raw_lines(rates: dict[int, float]) -> list[EngineLine]:
    return [EngineLine("raw", b, StreamResult(b, b, 0, 0, 0.0, rate, 0.0, 0.0)) for b, rate in rates.items()]


def run_engine(
    work: Path, settings: Settings, key: str, peer: bool = True, serial: bool = True
) -> list[EngineLine]:
    """The raw decode rate, llama-cpp-python's server, and lockgate's engine direct and through
    lockgate, at 1 and 8 concurrent streams, one after the other on the same machine."""
    lines = _raw_lines(raw_decode(bundled_model(), steps=max(16, settings.engine_max_tokens)))
    if peer and find_spec("fastapi") is None:  # llama_cpp.server needs llama-cpp-python[server]
        print("llama_cpp.server skipped: pip install 'llama-cpp-python[server]' to measure it", flush=True)
        peer = False
    with contextlib.ExitStack() as stack:
        if peer:
            server = start_engine(work)
            base = f"http://127.0.0.1:{server.port}"
            lines += _measure(Endpoint("llama_cpp.server", base, key, ENGINE_MODEL, ENGINE_MODEL), settings,
                              "llama_cpp.server", server)  # fmt: skip
            server.stop()
        if serial:  # the same process without batching: what the batched path replaces
            old = start_lockgate_engine(work, batching=False)
            lines += _measure(Endpoint("serial", f"http://127.0.0.1:{old.port}", key, ENGINE_MODEL, ENGINE_MODEL),
                              settings, "direct serial", old)  # fmt: skip
            old.stop()
        engine = start_lockgate_engine(work)
        stack.callback(engine.stop)
        base = f"http://127.0.0.1:{engine.port}"
        direct = Endpoint("engine", base, key, ENGINE_MODEL, ENGINE_MODEL)
        lines += _measure(direct, settings, "direct", engine)
        routes = {ENGINE_MODEL: (f"{base}/v1", ENGINE_MODEL)}
        features = Features("engine", policy=False, pii=False, audit=False)
        gateway, via = start_lockgate("engine", features, work, routes, key)
        stack.callback(gateway.stop)
        lines += _measure(via, settings, "lockgate", engine)
    return lines


def main() -> None:  # pragma: no cover - a quick look without the whole suite
    """``python bench/lockbench/engine.py [--smoke] [--no-peer]``: the engine section alone."""
    import json
    import tempfile

    from lockbench.suite import PRESETS

    settings = PRESETS["smoke" if "--smoke" in sys.argv else "full"]
    with tempfile.TemporaryDirectory() as tmp:
        lines = run_engine(Path(tmp), settings, "sk-bench-engine", peer="--no-peer" not in sys.argv,
                           serial="--no-serial" not in sys.argv)  # fmt: skip
    for line in lines:
        print(
            json.dumps(
                {
                    k: v
                    for k, v in line.to_json().items()
                    if k
                    in (
                        "via",
                        "concurrency",
                        "tokens_per_s",
                        "ttft_p50_ms",
                        "ttft_p95_ms",
                        "rss_kb",
                        "errors",
                    )
                }
            )
        )


if __name__ == "__main__":  # pragma: no cover
    main()
