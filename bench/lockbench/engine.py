"""Engine path: the bundled model on llama.cpp, from the physical limit to the gateway.

In one run on one machine:

- ``raw``: ``llama_decode`` driven directly with B sequences per call (B = 1, 4, 8; 24-token
  prompts, then decode steps, no sampling, no HTTP): the physical limit;
- ``llama_cpp.server``: llama-cpp-python's own server, the peer a user would otherwise pick;
- ``direct``: lockgate's engine process (continuous batching, ``--parallel 8``) called directly;
- ``lockgate``: the same engine process through ``lockgate serve``, so the difference between
  the last two is what lockgate adds on the way.

Each serving line gives tokens/s at one stream and in total at 8 concurrent streams, time to
first token p50/p95, and the serving process's resident memory after the run.  One stream
repeats one prompt (so it measures decoding); 8 streams run twice: all with the same prompt
(the shared prefix is prefilled once) and with 8 distinct questions of about 64 tokens (8
prefills; the issue's TTFT target).  ``raw prefill`` is llama_decode's rate on those 8 x 64
prompt tokens in one call: the floor under the distinct line's time to first token.  The
follow-up lines compare a 1,500-token conversation's first turn with its next turn.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lockbench.followup import FollowUp, follow_up, question
from lockbench.install import ensure_llama_cpp_server
from lockbench.launch import start_lockgate
from lockbench.loadgen import HttpTarget
from lockbench.peers import Endpoint, Features
from lockbench.procs import BenchError, Service, free_port, start, wait_ready
from lockbench.sse import StreamResult, measure_streams
from lockbench.suite import Settings

ENGINE_MODEL = "smollm2"
ENGINE_PROMPT = "Write a long list of fruits, one per line, and do not stop early."
CONCURRENCIES = (1, 8)
RAW_BATCHES = (1, 4, 8)
RAW_PROMPT_TOKENS = 24
RAW_PREFILL_TOKENS = 64
# Threads per engine (and for the raw loop): half the cores, as llama-cpp-python's own default
# for generation; on a busy machine more threads than free cores stall llama.cpp's barriers.
THREADS = int(os.environ.get("LOCKBENCH_ENGINE_THREADS") or max(1, (os.cpu_count() or 2) // 2))


@dataclass(frozen=True)
class EngineLine:
    via: str
    concurrency: int
    result: StreamResult
    rss_kb: int = 0
    prompts: str = "same"

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
            "prompts": self.prompts,
            **self.result.to_json(),
        }


@dataclass(frozen=True)
class EngineRun:
    """Everything the engine section measured in one run."""

    lines: list[EngineLine]
    follow_ups: list[FollowUp]
    model_kb: int = 0
    kv_kb: int = 0

    @property
    def memory_budget_kb(self) -> int:
        """The issue's bound on the engine's RSS with 8 streams: weights + KV cache + 150 MB."""
        return self.model_kb + self.kv_kb + 150 * 1024 if self.model_kb and self.kv_kb else 0

    def to_json(self) -> dict[str, Any]:
        return {"lines": [e.to_json() for e in self.lines], "follow_ups": [f.to_json() for f in self.follow_ups],
                "model_kb": self.model_kb, "kv_kb": self.kv_kb, "memory_budget_kb": self.memory_budget_kb}  # fmt: skip


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
    rates[-1] = _kv_bytes_per_cell(L, lmodel)
    for b in batches:
        cparams = L.llama_context_default_params()
        cparams.n_ctx = 512 * b
        cparams.n_batch = cparams.n_ubatch = 512
        cparams.n_seq_max = b
        cparams.no_perf = True
        # flash attention as the engine sets it (llama.cpp's auto: on for this CPU), so the limit
        # and the engine run the same kernels
        cparams.flash_attn_type = L.LLAMA_FLASH_ATTN_TYPE_AUTO
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
        if b == max(batches):  # the prefill floor: 8 distinct 64-token prompts in one call
            rates[0] = _prefill_rate(L, ctx, batch, put, b, prompt)
        L.llama_batch_free(batch)
        L.llama_free(ctx)
    L.llama_model_free(lmodel)
    return rates


def _kv_bytes_per_cell(L: Any, lmodel: Any) -> float:
    """K and V in f16 for every layer: what one token of context costs in the KV cache."""
    head_dim = L.llama_model_n_embd(lmodel) // L.llama_model_n_head(lmodel)
    return float(L.llama_model_n_layer(lmodel) * 2 * L.llama_model_n_head_kv(lmodel) * head_dim * 2)


def _prefill_rate(L: Any, ctx: Any, batch: Any, put: Any, seqs: int, prompt: list[int]) -> float:
    """Prompt tokens per second for ``seqs`` sequences of 64 tokens prefilled in one call."""
    best = 0.0
    for _ in range(2):
        L.llama_memory_clear(L.llama_get_memory(ctx), True)
        i = 0
        for seq in range(seqs):
            for pos in range(RAW_PREFILL_TOKENS):
                put(i, prompt[(pos + seq) % len(prompt)], pos, seq, pos == RAW_PREFILL_TOKENS - 1)
                i += 1
        batch.n_tokens = i
        started = time.perf_counter()
        L.llama_decode(ctx, batch)
        best = max(best, i / (time.perf_counter() - started))
    return best


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
    lines = [EngineLine(via, 1, measure_streams(target, settings.engine_streams_c1, 1, text_only=True),
                        service.rss_kb())]  # fmt: skip
    streams = max(8, settings.engine_streams_c4)
    lines.append(EngineLine(via, 8, measure_streams(target, streams, 8, text_only=True), service.rss_kb()))
    distinct = _distinct_targets(endpoint, settings, via)
    lines.append(
        EngineLine(via, 8, measure_streams(distinct, 8, 8, text_only=True), service.rss_kb(), "distinct")
    )
    return lines


_ROUNDS = itertools.count(1)


def _distinct_targets(endpoint: Endpoint, settings: Settings, via: str) -> list[HttpTarget]:
    """8 questions that share no prefix beyond the chat template, new on every call (a second
    measurement must not find the first one's prompts in the prefix cache)."""
    n = next(_ROUNDS)
    return [
        endpoint.stream(f"[{via} round {n}] " + question(i), max_tokens=settings.engine_max_tokens,
                        temperature=0.0, seed=1)
        for i in range(8)
    ]  # fmt: skip


def _follow_up(endpoint: Endpoint, via: str) -> FollowUp:
    probe = endpoint.stream("x")
    return follow_up(via, probe.url, probe.headers, endpoint.sse_model, seed=len(via))


def _raw_lines(rates: dict[int, float]) -> list[EngineLine]:
    lines = [
        EngineLine("raw", b, StreamResult(b, b, 0, 0, 0.0, rate, 0.0, 0.0))
        for b, rate in rates.items()
        if b > 0
    ]
    if rates.get(0):
        floor_ms = 8 * RAW_PREFILL_TOKENS / rates[0] * 1000.0
        lines.append(EngineLine("raw prefill", 8, StreamResult(8, 8, 0, 0, 0.0, rates[0], floor_ms, floor_ms, floor_ms),
                                prompts="distinct"))  # fmt: skip
    return lines


def run_engine(work: Path, settings: Settings, key: str, peer: bool = True, serial: bool = True) -> EngineRun:
    """The raw decode rate, llama-cpp-python's server, and lockgate's engine direct and through
    lockgate, at 1 and 8 concurrent streams, one after the other on the same machine."""
    model = bundled_model()
    rates = raw_decode(model, steps=max(16, settings.engine_max_tokens))
    lines = _raw_lines(rates)
    follow_ups: list[FollowUp] = []
    if peer:  # llama_cpp.server needs llama-cpp-python's [server] extra
        try:
            ensure_llama_cpp_server()
        except BenchError as exc:
            print(f"llama_cpp.server skipped: {exc}", flush=True)
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
        follow_ups.append(_follow_up(direct, "direct"))
        kv_cells = _kv_cells(base)
        routes = {ENGINE_MODEL: (f"{base}/v1", ENGINE_MODEL)}
        features = Features("engine", policy=False, pii=False, audit=False)
        gateway, via = start_lockgate("engine", features, work, routes, key)
        stack.callback(gateway.stop)
        lines += _measure(via, settings, "lockgate", engine)
        follow_ups.append(_follow_up(via, "lockgate"))
    kv_kb = int(kv_cells * rates[-1] / 1024)
    return EngineRun(lines, follow_ups, model_kb=model.stat().st_size // 1024, kv_kb=kv_kb)


def _kv_cells(base: str) -> int:
    """KV cells the engine allocated (its /stats), for the memory bound."""
    import json

    with urllib.request.urlopen(f"{base}/stats", timeout=10) as resp:
        stats = json.loads(resp.read())
    return int(stats.get("kv_cells_total") or 0)


def main() -> None:  # pragma: no cover - a quick look without the whole suite
    """``python bench/lockbench/engine.py [--smoke] [--no-peer] [--no-serial]``: the engine section alone."""
    import json
    import tempfile

    from lockbench.suite import PRESETS

    settings = PRESETS["smoke" if "--smoke" in sys.argv else "full"]
    keep = ("via", "concurrency", "prompts", "tokens_per_s", "ttft_p50_ms", "ttft_p95_ms", "rss_kb", "errors")
    with tempfile.TemporaryDirectory() as tmp:
        run = run_engine(Path(tmp), settings, "sk-bench-engine", peer="--no-peer" not in sys.argv,
                         serial="--no-serial" not in sys.argv)  # fmt: skip
    for line in run.lines:
        print(json.dumps({k: v for k, v in line.to_json().items() if k in keep}))
    for f in run.follow_ups:
        print(json.dumps(f.to_json()))
    print(json.dumps({k: v for k, v in run.to_json().items() if k.endswith("_kb")}))


if __name__ == "__main__":  # pragma: no cover
    main()
