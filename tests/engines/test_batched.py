"""The batched engine (continuous batching over llama.cpp's low-level API) on the bundled model:
concurrent streams equal their single-stream runs, usage is exact, a client that leaves frees
its sequence, a full KV cache makes requests wait, and a chat's follow-up reuses its prefix."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import openai
import orjson
import pytest

from lockgate.engines.batched import BatchEngine, Sequence
from lockgate.engines.models import resolve_model_path
from lockgate.engines.process import free_port
from lockgate.engines.sampling import Sampling

pytestmark = pytest.mark.engine


class Worker:
    def __init__(self, base: str, proc: subprocess.Popen[bytes]) -> None:
        self.base = base
        self.proc = proc

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.base + "/stats", timeout=5) as r:
            data: dict[str, Any] = orjson.loads(r.read())
        return data

    def count_tokens(self, content: str) -> int:
        body = orjson.dumps({"messages": [{"role": "user", "content": content}]})
        req = urllib.request.Request(self.base + "/v1/count_tokens", data=body, method="POST")
        with urllib.request.urlopen(req, timeout=30) as r:
            return int(orjson.loads(r.read())["input_tokens"])

    def client(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=self.base + "/v1", api_key="unused", max_retries=0, timeout=300)


@contextlib.contextmanager
def worker(tmp: Path, *args: str) -> Iterator[Worker]:
    port = free_port()
    log = (tmp / f"worker-{port}.log").open("wb")
    argv = [sys.executable, "-m", "lockgate.engines.llamacpp_worker", "--model",
            str(resolve_model_path("bundled:smollm2")), "--alias", "smollm2", "--port", str(port),
            "--threads", "2", "--ctx", "2048", "--batching", *args]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp / f"worker-{port}.log").read_text()
            with contextlib.suppress(OSError), urllib.request.urlopen(base + "/health", timeout=2):
                break
            time.sleep(0.2)
        yield Worker(base, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def eight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    with worker(tmp_path_factory.mktemp("batched"), "--parallel", "8") as w:
        yield w


async def _stream(client: openai.AsyncOpenAI, content: str, max_tokens: int) -> tuple[str, Any]:
    stream = await client.chat.completions.create(
        model="smollm2", messages=[{"role": "user", "content": content}], max_tokens=max_tokens,
        temperature=0, stream=True, stream_options={"include_usage": True},
    )  # fmt: skip
    text, usage = "", None
    async for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
        if chunk.usage:
            usage = chunk.usage
    return text, usage


async def test_eight_concurrent_streams_equal_their_single_runs_with_exact_usage(eight: Worker) -> None:
    client = eight.client()
    prompts = [f"Tell me one short fact about the number {i}." for i in range(8)]
    single = [await _stream(client, p, 24) for p in prompts]
    together = await asyncio.gather(*(_stream(client, p, 24) for p in prompts))
    for (text1, usage1), (text8, usage8), prompt in zip(single, together, prompts, strict=True):
        assert text8 == text1 and text1.strip()
        assert usage1 is not None and usage8 is not None
        assert (usage8.prompt_tokens, usage8.completion_tokens) == (
            usage1.prompt_tokens,
            usage1.completion_tokens,
        )
        assert usage8.total_tokens == usage8.prompt_tokens + usage8.completion_tokens
        # the prompt count is the template's rendering, as count_tokens reports it
        assert eight.count_tokens(prompt) == usage8.prompt_tokens
    # the non-streamed answer is the same text with the same usage
    full = await client.chat.completions.create(
        model="smollm2", messages=[{"role": "user", "content": prompts[0]}], max_tokens=24, temperature=0
    )
    assert full.choices[0].message.content == single[0][0]
    assert full.usage is not None and full.usage.completion_tokens == single[0][1].completion_tokens
    stats = eight.stats()
    assert stats["mode"] == "batched" and stats["active_sequences"] == 0 and stats["queue_depth"] == 0


async def test_client_leaving_mid_stream_frees_its_sequence(eight: Worker) -> None:
    before = eight.stats()["completion_tokens_total"]
    body = {"model": "smollm2", "stream": True, "max_tokens": 1500, "temperature": 0,
            "messages": [{"role": "user", "content": "Write a very long story about a lighthouse."}]}  # fmt: skip
    async with aiohttp.ClientSession() as http:
        resp = await http.post(eight.base + "/v1/chat/completions", json=body)
        seen = 0
        async for _line in resp.content:
            seen += 1
            if seen >= 6:
                break
        assert eight.stats()["active_sequences"] == 1
        resp.close()  # the client leaves
    for _ in range(100):
        if eight.stats()["active_sequences"] == 0:
            break
        await asyncio.sleep(0.1)
    stats = eight.stats()
    assert stats["active_sequences"] == 0
    assert stats["completion_tokens_total"] - before < 200  # stopped, not run to 1500 tokens


async def test_grammar_and_tools_fall_back_to_the_high_level_path(eight: Worker) -> None:
    client = eight.client()
    before = eight.stats()["requests_total"]
    reply = await client.chat.completions.create(
        model="smollm2", messages=[{"role": "user", "content": "Give a JSON object with a colour."}],
        max_tokens=16, temperature=0, response_format={"type": "json_object"},
    )  # fmt: skip
    assert (reply.choices[0].message.content or "").lstrip().startswith("{")  # the grammar held
    assert eight.stats()["requests_total"] == before  # not on the batched path


async def test_follow_up_turn_reuses_the_cached_prefix(eight: Worker) -> None:
    client = eight.client()
    first = [{"role": "user", "content": "Name a colour of the sky at dusk."}]
    reply = await client.chat.completions.create(
        model="smollm2", messages=first, max_tokens=12, temperature=0
    )  # type: ignore[arg-type]
    assert reply.usage is not None
    follow = [*first, {"role": "assistant", "content": reply.choices[0].message.content or ""},
              {"role": "user", "content": "And at noon?"}]  # fmt: skip
    again = await client.chat.completions.create(
        model="smollm2", messages=follow, max_tokens=4, temperature=0
    )  # type: ignore[arg-type]
    assert again.usage is not None and again.usage.prompt_tokens_details is not None
    cached = again.usage.prompt_tokens_details.cached_tokens or 0
    assert cached >= reply.usage.prompt_tokens  # at least the whole first prompt was not prefilled again
    assert cached < again.usage.prompt_tokens


async def test_full_kv_cache_makes_requests_wait_and_all_complete(tmp_path: Path) -> None:
    # a unified pool of 256 cells for 4 slots: six requests of ~35 prompt + 60 answer tokens
    # cannot all fit at once, so they queue and running ones are preempted, never failed
    with worker(tmp_path, "--ctx", "256", "--parallel", "4", "--kv-unified", "--kv-size", "256") as w:
        client = w.client()
        peak = {"queue": 0}

        async def watch() -> None:
            while True:
                peak["queue"] = max(peak["queue"], (await asyncio.to_thread(w.stats))["queue_depth"])
                await asyncio.sleep(0.05)

        watcher = asyncio.create_task(watch())
        try:
            results = await asyncio.gather(*(
                client.chat.completions.create(
                    model="smollm2", max_tokens=60, temperature=0.7, seed=i, stop=["\u0000never"],
                    messages=[{"role": "user", "content": f"Write a long list of animals, number {i}."}])
                for i in range(6)))  # fmt: skip
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        for r in results:
            assert r.usage is not None and r.choices[0].message.content is not None
            assert r.choices[0].finish_reason in ("length", "stop")
            assert r.usage.completion_tokens <= 60
        stats = w.stats()
        assert peak["queue"] > 0 or stats["preemptions_total"] > 0
        assert stats["active_sequences"] == 0 and stats["queue_depth"] == 0
        assert stats["requests_total"] == 6


def test_stop_strings_are_held_back_and_cut() -> None:
    sent: list[Any] = []
    seq = Sequence([1], 100, ["END", "<|im_end|>"], Sampling(), sent.append)
    flush = BatchEngine._flush
    for piece in ["Hello", " E", "N", "x and ", "<|im", "_end|> tail"]:
        seq.text += piece
        if flush(None, seq, False):  # type: ignore[arg-type]
            break
    assert "".join(e[1] for e in sent) == "Hello ENx and "
    assert seq.text == "Hello ENx and "
