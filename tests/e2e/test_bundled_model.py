"""End to end: a real `lockgate serve` with the bundled SmolLM2 on llama.cpp, driven by the
official openai SDK (sync and async, streaming and not)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import urllib.request

import openai
import pytest
from tests.conftest import ServedGateway

pytestmark = pytest.mark.engine


def test_models_lists_smollm2(bundled_gateway: ServedGateway) -> None:
    client = openai.OpenAI(base_url=bundled_gateway.base_url + "/v1", api_key="unused")
    ids = [m.id for m in client.models.list().data]
    assert ids == ["smollm2"]


def test_sync_chat_real_generation_usage_and_headers(bundled_gateway: ServedGateway) -> None:
    client = openai.OpenAI(base_url=bundled_gateway.base_url + "/v1", api_key="unused")
    raw = client.chat.completions.with_raw_response.create(
        model="smollm2", messages=[{"role": "user", "content": "What is the capital of France?"}],
        max_tokens=24, temperature=0,
    )  # fmt: skip
    reply = raw.parse()
    text = reply.choices[0].message.content or ""
    assert len(text.split()) >= 2  # real generated words
    assert reply.usage is not None and reply.usage.prompt_tokens > 10
    assert 0 < reply.usage.completion_tokens <= 24
    assert raw.headers["x-lockgate-provider"] == "local"
    assert raw.headers["x-lockgate-jurisdiction"] == "DE"  # self-hosted: the operator's domicile


def test_sync_stream_matches_non_stream_at_temperature_zero(bundled_gateway: ServedGateway) -> None:
    client = openai.OpenAI(base_url=bundled_gateway.base_url + "/v1", api_key="unused")
    msgs = [{"role": "user", "content": "List three fruits."}]
    full = client.chat.completions.create(model="smollm2", messages=msgs, max_tokens=20, temperature=0)  # type: ignore[arg-type]
    chunks = list(client.chat.completions.create(
        model="smollm2", messages=msgs, max_tokens=20, temperature=0, stream=True,  # type: ignore[arg-type]
        stream_options={"include_usage": True}))  # fmt: skip
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == full.choices[0].message.content
    usage = chunks[-1].usage
    assert usage is not None and full.usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (
        full.usage.prompt_tokens,
        full.usage.completion_tokens,
    )


async def test_async_sixteen_concurrent_streaming_clients(bundled_gateway: ServedGateway) -> None:
    client = openai.AsyncOpenAI(base_url=bundled_gateway.base_url + "/v1", api_key="unused", timeout=300)

    async def one(i: int) -> tuple[str, int]:
        stream = await client.chat.completions.create(
            model="smollm2", messages=[{"role": "user", "content": f"Say a word about the number {i}."}],
            max_tokens=8, stream=True, stream_options={"include_usage": True},
        )  # fmt: skip
        text, completion = "", -1
        async for c in stream:
            if c.choices:
                text += c.choices[0].delta.content or ""
            if c.usage:
                completion = c.usage.completion_tokens
        return text, completion

    results = await asyncio.gather(*(one(i) for i in range(16)))
    assert len(results) == 16
    assert all(text.strip() and 0 < n <= 8 for text, n in results)


def test_completions_and_embeddings(bundled_gateway: ServedGateway) -> None:
    client = openai.OpenAI(base_url=bundled_gateway.base_url + "/v1", api_key="unused")
    comp = client.completions.create(model="smollm2", prompt="The sky is", max_tokens=5, temperature=0)
    assert comp.choices[0].text
    emb = client.embeddings.create(model="smollm2", input=["sovereign", "gateway"])
    assert len(emb.data) == 2 and len(emb.data[0].embedding) == 576


def test_readyz_names_engine_replicas(bundled_gateway: ServedGateway) -> None:
    with urllib.request.urlopen(bundled_gateway.base_url + "/readyz") as r:
        body = json.load(r)
    assert body["status"] == "ready"
    assert len(body["engines"]["local"]) == 2


def test_tool_call_turn_without_content_and_context_overflow(bundled_gateway: ServedGateway) -> None:
    client = openai.OpenAI(base_url=bundled_gateway.base_url + "/v1", api_key="unused", max_retries=0)
    messages = [
        {"role": "user", "content": "What is the weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [{
            "id": "call_1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 21 C"},
    ]  # fmt: skip
    reply = client.chat.completions.create(model="smollm2", messages=messages, max_tokens=8)  # type: ignore[arg-type]
    assert reply.choices[0].message.content is not None
    # a prompt beyond the engine's context is the caller's error (400), for streams too
    huge = [{"role": "user", "content": "word " * 5000}]
    with pytest.raises(openai.BadRequestError, match="cannot run this request"):
        client.chat.completions.create(model="smollm2", messages=huge, max_tokens=4)  # type: ignore[arg-type]
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="smollm2", messages=huge, max_tokens=4, stream=True)  # type: ignore[arg-type]
    # and it did not open the circuit breaker for everyone else
    ok = client.chat.completions.create(
        model="smollm2", messages=[{"role": "user", "content": "Hi"}], max_tokens=4
    )
    assert ok.choices[0].message.content


async def test_client_gone_before_first_byte_frees_the_replica(bundled_gateway: ServedGateway) -> None:
    import aiohttp

    body = {"model": "smollm2", "stream": True, "max_tokens": 64,
            "messages": [{"role": "user", "content": "Write a long story about a lighthouse."}]}  # fmt: skip
    for _ in range(3):  # the client leaves while the engine is still preparing its first token
        async with aiohttp.ClientSession() as http:
            with contextlib.suppress(TimeoutError, aiohttp.ClientError):
                await http.post(bundled_gateway.base_url + "/v1/chat/completions", json=body,
                                timeout=aiohttp.ClientTimeout(total=0.05))  # fmt: skip

    def busy() -> int:
        with urllib.request.urlopen(bundled_gateway.base_url + "/readyz") as r:
            replicas = json.load(r)["providers"]["local"]["replicas"]
        return sum(rep["inflight"] for rep in replicas)

    for _ in range(240):
        if busy() == 0:
            break
        await asyncio.sleep(0.5)
    assert busy() == 0
