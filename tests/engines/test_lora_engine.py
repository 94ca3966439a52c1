"""LoRA adapters on the batched engine: loaded once on the bundled SmolLM2, asked for with
``x-lockgate-adapter``, scheduled one adapter per decode step, prefix cache keyed by adapter."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from tests.engines.lora_fixture import write_lora
from tests.engines.test_batched import Worker, worker

from lockgate.engines.adapters import ADAPTER_HEADER
from lockgate.engines.batched import next_group
from lockgate.engines.models import resolve_model_path
from lockgate.engines.process import free_port

pytestmark = pytest.mark.engine

PROMPT = "What is the capital of France?"


def test_steps_take_turns_over_the_active_adapters() -> None:
    active = [None, "support", "other", "support", None]
    order: list[str | None] = []
    last: str | None = None
    for _ in range(6):
        last = next_group(active, last)
        order.append(last)
    assert order == ["other", "support", None, "other", "support", None]
    assert next_group([None, None], None) is None  # only the base model: no switching
    assert next_group(["support"], None) == "support"
    assert next_group([], "support") is None
    assert next_group([None, "other"], "support") is None  # the last group left: wrap around


def test_an_adapter_keeps_the_context_for_its_quantum_of_steps() -> None:
    active = [None, "support", None]
    order: list[str | None] = []
    last: str | None = None
    steps = 0
    for _ in range(10):
        group = next_group(active, last, steps, quantum=4)
        steps = steps + 1 if group == last else 1
        last = group
        order.append(group)
    assert order == [None] * 4 + ["support"] * 4 + [None] * 2
    assert next_group(["support"], None, 9, quantum=4) == "support"  # alone: every step
    assert next_group(["support", "other"], "gone", 1, quantum=4) == "other"  # its group ended early


@pytest.fixture(scope="module")
def adapters(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("lora-files")
    base = resolve_model_path("bundled:smollm2")
    return write_lora(base, tmp / "support.gguf", seed=1), write_lora(base, tmp / "other.gguf", seed=2)


def _adapter_args(adapters: tuple[Path, Path]) -> tuple[str, ...]:
    support, other = adapters
    return (
        "--parallel",
        "4",
        "--adapter",
        "support",
        "1.0",
        str(support),
        "--adapter",
        "other",
        "0.5",
        str(other),
    )


@pytest.fixture(scope="module")
def lora(tmp_path_factory: pytest.TempPathFactory, adapters: tuple[Path, Path]) -> Iterator[Worker]:
    """Without prefix reuse: a prompt whose KV comes partly from the cache can differ from a fresh
    prefill in the last bits (so, at a near tie, by a token), which would blur what is tested here."""
    with worker(
        tmp_path_factory.mktemp("lora"), *_adapter_args(adapters), "--no-prefix-cache", "--embeddings"
    ) as w:
        yield w


@pytest.fixture(scope="module")
def lora_cached(tmp_path_factory: pytest.TempPathFactory, adapters: tuple[Path, Path]) -> Iterator[Worker]:
    with worker(tmp_path_factory.mktemp("lora-cached"), *_adapter_args(adapters)) as w:
        yield w


def _headers(adapter: str | None) -> dict[str, str]:
    return {ADAPTER_HEADER: adapter} if adapter else {}


async def _stream(client: openai.AsyncOpenAI, adapter: str | None, content: str = PROMPT) -> tuple[str, Any]:
    stream = await client.chat.completions.create(
        model="smollm2", messages=[{"role": "user", "content": content}], max_tokens=20, temperature=0,
        stream=True, stream_options={"include_usage": True}, extra_headers=_headers(adapter),
    )  # fmt: skip
    text, usage = "", None
    async for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
        if chunk.usage:
            usage = chunk.usage
    return text, usage


async def test_adapters_change_the_output_and_the_base_is_unchanged_beside_them(lora: Worker) -> None:
    client = lora.client()
    names: list[str | None] = [None, "support", "other"]
    single = {name: (await _stream(client, name))[0] for name in names}
    assert all(text.strip() for text in single.values())
    assert len(set(single.values())) == 3, single  # each adapter answers differently from the base
    before = lora.stats()["adapter_switches_total"]
    mixed = [None, "support", None, "other", "support", None]
    together = await asyncio.gather(*(_stream(client, name) for name in mixed))
    for name, (text, usage) in zip(mixed, together, strict=True):
        assert usage is not None and usage.completion_tokens > 0
        if name != "support":
            # bit for bit its single-stream run: the base model whatever ran beside it, and an
            # adapter alone in its group (steps never mix adapters)
            assert text == single[name], name
        else:  # two sequences of one adapter share steps: its F32 matrices may differ in the last bits
            assert text.strip() and text != single[None]
    stats = lora.stats()
    assert stats["adapters"] == ["support", "other"]
    assert stats["adapter_switches_total"] > before  # the steps alternated between the groups
    assert stats["active_sequences"] == 0 and stats["queue_depth"] == 0


async def test_a_cached_prefix_is_reused_only_with_its_own_adapter(lora_cached: Worker) -> None:
    client = lora_cached.client()
    prompt = "Name one river in Europe and say where it flows."
    base, usage = await _stream(client, None, prompt)
    assert usage.prompt_tokens_details.cached_tokens == 0
    support, usage = await _stream(client, "support", prompt)
    assert usage.prompt_tokens_details.cached_tokens == 0  # the base model's KV is not the adapter's
    assert support != base
    _, usage = await _stream(client, "support", prompt)
    assert usage.prompt_tokens_details.cached_tokens == usage.prompt_tokens - 1
    _, usage = await _stream(client, None, prompt)
    assert usage.prompt_tokens_details.cached_tokens == usage.prompt_tokens - 1  # kept beside the adapter's
    _, usage = await _stream(client, "other", prompt)
    assert usage.prompt_tokens_details.cached_tokens == 0  # nor another adapter's
    assert lora_cached.stats()["cached_prompt_tokens_total"] == 2 * (usage.prompt_tokens - 1)


async def test_the_serial_path_runs_with_the_adapter_too(lora: Worker) -> None:
    client = lora.client()

    async def serial(adapter: str | None) -> str:
        reply = await client.chat.completions.create(
            model="smollm2", messages=[{"role": "user", "content": PROMPT}], max_tokens=20, temperature=0,
            logprobs=True, extra_headers=_headers(adapter),
        )  # fmt: skip  # logprobs: the high-level path
        return reply.choices[0].message.content or ""

    base = await serial(None)
    support = await serial("support")
    assert support != base
    assert await serial(None) == base  # the switch back dropped the adapter's KV and adapter set


async def test_an_unknown_adapter_is_a_400_naming_it(lora: Worker) -> None:
    client = lora.client()
    with pytest.raises(openai.BadRequestError) as err:
        await _stream(client, "nope")
    assert "no adapter 'nope'" in str(err.value) and "support, other" in str(err.value)
    with pytest.raises(openai.BadRequestError, match="no adapter 'nope'"):
        await client.completions.create(
            model="smollm2", prompt="Hi", max_tokens=2, extra_headers=_headers("nope")
        )


async def test_embeddings_are_not_served_with_an_adapter(lora: Worker) -> None:
    client = lora.client()
    with pytest.raises(openai.BadRequestError, match="not served with a LoRA adapter"):
        await client.embeddings.create(model="smollm2", input="hello", extra_headers=_headers("support"))


def test_a_file_that_is_not_a_lora_adapter_stops_the_engine_at_start(tmp_path: Path) -> None:
    base = resolve_model_path("bundled:smollm2")
    argv = [sys.executable, "-m", "lockgate.engines.llamacpp_worker", "--model", str(base), "--port",
            str(free_port()), "--threads", "1", "--batching", "--adapter", "bad", "1.0", str(base)]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode != 0
    assert f"could not load the LoRA adapter {base} (adapter 'bad')" in done.stderr


def test_an_adapter_scale_outside_its_range_stops_the_engine(
    tmp_path: Path, adapters: tuple[Path, Path]
) -> None:
    base = resolve_model_path("bundled:smollm2")
    argv = [sys.executable, "-m", "lockgate.engines.llamacpp_worker", "--model", str(base), "--port",
            str(free_port()), "--adapter", "support", "9", str(adapters[0])]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode != 0 and "--adapter support: scale 9 is outside (0, 4]" in done.stderr
