"""How the batched engine schedules LoRA adapters, measured: throughput of a mixed batch against
a batch of one adapter set, for several turn lengths (``adapter_quantum``).

Run: .venv/bin/python bench/engine_lora.py [--rounds N] [--threads T] [--tokens N]

In one process on the bundled SmolLM2 it generates a tiny LoRA adapter (rank 4 on attn_q,
attn_v, ffn_up; the tests' fixture), then for each mode runs 8 greedy sequences to completion on
one ``BatchEngine`` (8 slots, no prefix cache) and prints total generated tokens/s and the
ratio to ``base8`` from the same round: ``base8`` / ``lora8`` (all 8 on the base model / on the
adapter), ``mixed-qN`` (4 base + 4 adapter sequences taking turns of N decode steps). Rounds
interleave the modes, so machine load hits them alike; compare only within a run.

First it measures what a turn change costs: the median time of a 4-sequence ``llama_decode``
right after ``llama_set_adapters_lora`` changed the context's adapter set, against the same
decode with the set unchanged (llama.cpp rebuilds the step's graph after a change).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import llama_cpp as L  # noqa: E402
from llama_cpp import Llama  # noqa: E402
from tests.engines.lora_fixture import write_lora  # noqa: E402

from lockgate.engines.batched import BatchEngine  # noqa: E402
from lockgate.engines.lora import LoraAdapters  # noqa: E402
from lockgate.engines.models import resolve_model_path  # noqa: E402
from lockgate.engines.sampling import Sampling  # noqa: E402

MODES = {
    "base8": (8, 0, 1),
    "lora8": (0, 8, 1),
    "mixed-q1": (4, 4, 1),
    "mixed-q4": (4, 4, 4),
    "mixed-q8": (4, 4, 8),
}


def switch_cost(llm: Llama, lora: LoraAdapters, threads: int, rounds: int = 30) -> tuple[float, float]:
    """Median ms of a 4-sequence decode step right after an adapter change and without one."""
    params = L.llama_context_default_params()
    params.n_ctx, params.n_batch, params.n_ubatch, params.n_seq_max = 8 * 256, 512, 512, 8
    params.n_threads = params.n_threads_batch = threads
    ctx = L.llama_init_from_model(llm._model.model, params)
    batch = L.llama_batch_init(512, 0, 1)
    pos = [0] * 8

    def step(seqs: range) -> float:
        for i, seq in enumerate(seqs):
            batch.token[i], batch.pos[i], batch.n_seq_id[i], batch.logits[i] = 100 + seq, pos[seq], 1, 1
            batch.seq_id[i][0] = seq
            pos[seq] += 1
        batch.n_tokens = len(seqs)
        start = time.perf_counter()
        if L.llama_decode(ctx, batch) != 0:
            raise RuntimeError("llama_decode failed")
        return (time.perf_counter() - start) * 1000

    after, steady = [], []
    for i in range(rounds):
        adapter, seqs = ("bench", range(4, 8)) if i % 2 == 0 else (None, range(0, 4))
        lora.apply(ctx, adapter)
        after.append(step(seqs))
        lora.apply(ctx, adapter)  # the same set again: a no-op
        steady += [step(seqs), step(seqs)]
    L.llama_batch_free(batch)
    L.llama_free(ctx)
    return statistics.median(after), statistics.median(steady)


def run_mode(llm: Llama, lora: LoraAdapters, threads: int, mode: str, tokens: int) -> tuple[float, int]:
    n_base, n_lora, quantum = MODES[mode]
    engine = BatchEngine(llm, context=512, parallel=8, threads=threads, prefix_cache=False, lora=lora,
                         adapter_quantum=quantum)  # fmt: skip
    done = threading.Semaphore(0)
    counts: list[int] = []

    def emit(event: tuple[object, ...]) -> None:
        if event[0] == "error":
            print("engine error:", event[1], file=sys.stderr)
        if event[0] in ("done", "error"):
            if event[0] == "done":
                counts.append(int(event[2]["completion_tokens"]))  # type: ignore[index]
            done.release()

    greedy = Sampling(temperature=0.0)
    adapters = [None] * n_base + ["bench"] * n_lora
    start = time.perf_counter()
    for i, adapter in enumerate(adapters):
        text = f"<|im_start|>user\nWrite a long story about the number {i} and the sea.<|im_end|>\n<|im_start|>assistant\n"
        prompt = llm.tokenize(text.encode(), special=True)  # SmolLM2's ChatML
        engine.submit(prompt, tokens, [], greedy, emit, adapter)
    for _ in adapters:
        done.acquire()
    elapsed = time.perf_counter() - start
    switches = int(engine.snapshot()["adapter_switches_total"])
    engine.close()
    return sum(counts) / elapsed, switches


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=48, help="tokens generated per sequence")
    args = parser.parse_args()
    base = resolve_model_path("bundled:smollm2")
    llm = Llama(model_path=str(base), n_ctx=512, n_threads=args.threads, verbose=False)
    with tempfile.TemporaryDirectory() as tmp:
        adapter = write_lora(base, Path(tmp) / "bench.gguf")
        lora = LoraAdapters(llm._model.model, [("bench", 1.0, str(adapter))])
        after, steady = switch_cost(llm, lora, args.threads)
        print(f"4-sequence decode step: {after:.1f} ms right after an adapter change, {steady:.1f} ms "
              f"without one (a change costs {after - steady:.1f} ms)")  # fmt: skip
        rates: dict[str, list[float]] = {m: [] for m in MODES}
        switches: dict[str, int] = {}
        for _ in range(args.rounds):
            for mode in MODES:
                rate, switches[mode] = run_mode(llm, lora, args.threads, mode, args.tokens)
                rates[mode].append(rate)
    ref = statistics.median(rates["base8"])
    print(f"{'mode':10s} {'tok/s':>8s} {'vs base8':>9s} {'switches':>9s}   (median of {args.rounds} rounds)")
    for mode, values in rates.items():
        rate = statistics.median(values)
        print(f"{mode:10s} {rate:8.1f} {rate / ref:9.2f} {switches[mode]:9d}")


if __name__ == "__main__":
    main()
