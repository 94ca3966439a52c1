"""The agent protocols against a real `lockgate serve` with the bundled SmolLM2 on llama.cpp,
driven by the official anthropic and openai SDKs."""

from __future__ import annotations

import anthropic
import openai
import pytest
from tests.conftest import ServedGateway

pytestmark = pytest.mark.engine


def _prompt(usage: anthropic.types.Usage) -> int:
    """The whole prompt: Anthropic's input_tokens leaves out what the engine's prefix cache served."""
    return usage.input_tokens + (usage.cache_read_input_tokens or 0)


def test_messages_text_stream_and_usage(bundled_gateway: ServedGateway) -> None:
    client = anthropic.Anthropic(
        base_url=bundled_gateway.base_url, api_key="unused", max_retries=0, timeout=120
    )
    ask = [{"role": "user", "content": "What is the capital of France?"}]
    raw = client.messages.with_raw_response.create(model="smollm2", max_tokens=24, messages=ask)  # type: ignore[arg-type]
    reply = raw.parse()
    with client.messages.stream(model="smollm2", max_tokens=24, messages=ask) as stream:  # type: ignore[arg-type]
        streamed = "".join(stream.text_stream)
        final = stream.get_final_message()
    text = reply.content[0].text  # type: ignore[union-attr]
    assert len(text.split()) >= 2 and len(streamed.split()) >= 2  # real generated words
    assert final.content[0].text == streamed  # type: ignore[union-attr]
    assert reply.stop_reason in ("end_turn", "max_tokens") and final.stop_reason in ("end_turn", "max_tokens")
    assert _prompt(reply.usage) > 10 and 0 < reply.usage.output_tokens <= 24
    # the prompt is the same: its exact count arrives with the last event of the stream
    assert _prompt(final.usage) == _prompt(reply.usage) and 0 < final.usage.output_tokens <= 24
    assert raw.headers["x-lockgate-provider"] == "local"
    assert raw.headers["x-lockgate-protocol"] == "anthropic.messages; translated"


def test_messages_length_stop_is_max_tokens(bundled_gateway: ServedGateway) -> None:
    client = anthropic.Anthropic(
        base_url=bundled_gateway.base_url, api_key="unused", max_retries=0, timeout=120
    )
    reply = client.messages.create(model="smollm2", max_tokens=3, messages=[
        {"role": "user", "content": "Write a long poem about the sea."}])  # fmt: skip
    assert reply.stop_reason == "max_tokens" and reply.usage.output_tokens == 3


def test_count_tokens_is_exact_from_the_local_tokenizer(bundled_gateway: ServedGateway) -> None:
    client = anthropic.Anthropic(
        base_url=bundled_gateway.base_url, api_key="unused", max_retries=0, timeout=120
    )
    ask = [{"role": "user", "content": "What is the capital of France?"}]
    raw = client.messages.with_raw_response.count_tokens(model="smollm2", messages=ask)  # type: ignore[arg-type]
    reply = client.messages.create(model="smollm2", max_tokens=2, messages=ask)  # type: ignore[arg-type]
    assert raw.headers["x-lockgate-token-count"] == "exact"
    assert raw.parse().input_tokens == _prompt(reply.usage)  # what generation then counted


def test_responses_text_stream_and_usage(bundled_gateway: ServedGateway) -> None:
    client = openai.OpenAI(
        base_url=bundled_gateway.base_url + "/v1", api_key="unused", max_retries=0, timeout=120
    )
    reply = client.responses.create(model="smollm2", input="Name three colours.", max_output_tokens=20,
                                    temperature=0, store=False)  # fmt: skip
    events = list(client.responses.create(model="smollm2", input="Name three colours.", max_output_tokens=20,
                                          temperature=0, store=False, stream=True))  # fmt: skip
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    done = events[-1]
    assert len(reply.output_text.split()) >= 2 and deltas == done.response.output_text  # type: ignore[union-attr]
    assert done.type in ("response.completed", "response.incomplete")
    assert reply.usage is not None and reply.usage.input_tokens > 5 and 0 < reply.usage.output_tokens <= 20
    assert done.response.usage is not None and done.response.usage.input_tokens == reply.usage.input_tokens  # type: ignore[union-attr]
