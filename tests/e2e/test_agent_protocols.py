"""The agent protocols through a running gateway, driven by the official anthropic and openai SDKs.

The stand-in upstreams speak chat completions (one of them also speaks Anthropic's Messages API
natively), so every test proves both the translation and that the one pipeline ran: policy,
personal data, usage and the audit chain.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anthropic
import openai
import pytest
from tests.e2e.conftest import SovereignLab, dep
from tests.e2e.conftest_records import audit_rows, lockgate
from tests.support.gateway import running_gateway

IBAN = "DE89370400440532013000"
CONTENT_ENV = "LOCKGATE_TEST_CONTENT_KEY"
WEATHER_TOOL: dict[str, Any] = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}
FUNCTION_TOOL: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def _models() -> dict[str, Any]:
    return {
        "claude-sonnet": {"deployments": [dep("eu")]},  # the name Claude Code sends, as an alias
        "agent": {"deployments": [dep("eu", "tools")]},
        "chars": {"deployments": [dep("eu", "chars")]},
        "overflow": {"deployments": [dep("eu", "overflow")]},
        "pause": {"deployments": [dep("eu", "pause")]},
        "mix": {"strategy": "ordered", "deployments": [dep("us"), dep("own")]},
        "us-only": {"deployments": [dep("us")]},
        "native": {"deployments": [dep("cn")]},
    }


@pytest.fixture
def cfg(lab: SovereignLab, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv(CONTENT_ENV, "operator content key for stored responses")
    config = lab.config(_models(), audit={"content_key": "${" + CONTENT_ENV + "}", "flush_interval": 0.05},
                        server={"max_body_bytes": 200_000})  # fmt: skip
    config["providers"]["cn"]["native_protocols"] = {"anthropic": "/messages"}
    return config


@pytest.fixture
async def gateway(lab: SovereignLab, cfg: dict[str, Any]) -> AsyncIterator[tuple[str, str]]:
    key = lab.key("agent", policy="public-data")
    async with running_gateway(cfg, lab.tmp_path) as (base, _):
        yield base, key


_CLIENTS: list[anthropic.AsyncAnthropic | openai.AsyncOpenAI] = []


@pytest.fixture(autouse=True)
async def _close_clients() -> AsyncIterator[None]:
    yield
    while _CLIENTS:
        await _CLIENTS.pop().close()


def claude(base: str, key: str) -> anthropic.AsyncAnthropic:
    made = anthropic.AsyncAnthropic(base_url=base, api_key=key, max_retries=0, timeout=30)
    _CLIENTS.append(made)
    return made


def oai(base: str, key: str) -> openai.AsyncOpenAI:
    made = openai.AsyncOpenAI(base_url=base + "/v1", api_key=key, max_retries=0, timeout=30)
    _CLIENTS.append(made)
    return made


# -- Messages API --------------------------------------------------------------------------------
async def test_messages_json_and_stream(gateway: tuple[str, str], lab: SovereignLab) -> None:
    base, key = gateway
    client = claude(base, key)
    raw = await client.messages.with_raw_response.create(
        model="claude-sonnet",
        max_tokens=64,
        system="Be brief.",
        messages=[{"role": "user", "content": "hello"}],
    )
    reply = await raw.parse()
    async with client.messages.stream(
        model="claude-sonnet", max_tokens=64, messages=[{"role": "user", "content": "stream please"}]
    ) as stream:
        text = "".join([t async for t in stream.text_stream])
        final = await stream.get_final_message()
    assert reply.content[0].type == "text" and reply.content[0].text == "eu says: hello"
    assert reply.stop_reason == "end_turn" and reply.model == "claude-sonnet"
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (11, 7)
    assert raw.headers["x-lockgate-protocol"] == "anthropic.messages; translated"
    assert raw.headers["x-lockgate-provider"] == "eu"
    assert text == "eu says: stream please" and final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 4 and final.usage.input_tokens == 11
    sent = lab.ups["eu"].requests[0]
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}


async def test_messages_tool_use_and_tool_result_turn(gateway: tuple[str, str]) -> None:
    base, key = gateway
    client = claude(base, key)
    async with client.messages.stream(
        model="agent", max_tokens=64, tools=[WEATHER_TOOL],  # type: ignore[list-item]
        messages=[{"role": "user", "content": "Weather in Paris?"}],
    ) as stream:  # fmt: skip
        first = await stream.get_final_message()
    assert [b.type for b in first.content] == ["text", "tool_use"]
    assert first.stop_reason == "tool_use"  # a tool call after text is still tool_use
    call = first.content[1]
    assert call.type == "tool_use" and call.name == "get_weather" and call.input == {"city": "Paris"}
    second = await client.messages.create(
        model="agent", max_tokens=64, tools=[WEATHER_TOOL],  # type: ignore[list-item]
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": first.content},  # type: ignore[typeddict-item]
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "18°C, sunny"}]},
        ],
    )  # fmt: skip
    assert second.content[0].type == "text" and second.content[0].text == "tool said: 18°C, sunny"
    assert second.stop_reason == "end_turn"


async def test_messages_placeholders_restored_across_events(lab: SovereignLab, cfg: dict[str, Any]) -> None:
    key = lab.key("eu", policy="eu-sovereign")
    cfg = {**cfg, "pii": {"action": "redact"}, "models": {
        "chars": {"strategy": "ordered", "deployments": [dep("eu", "chars"), dep("own")]}}}  # fmt: skip
    async with running_gateway(cfg, lab.tmp_path) as (base, _):
        deltas: list[str] = []
        async with claude(base, key).messages.stream(
            model="chars", max_tokens=64, messages=[{"role": "user", "content": f"Pay {IBAN} today"}]
        ) as stream:
            deltas = [t async for t in stream.text_stream]
    assert "".join(deltas) == f"eu says: Pay {IBAN} today"
    assert not any("[IBAN" in d for d in deltas)
    assert IBAN.encode() not in lab.received("eu")


async def test_messages_errors_in_anthropic_shape(gateway: tuple[str, str], lab: SovereignLab) -> None:
    base, key = gateway
    with pytest.raises(anthropic.AuthenticationError) as bad_key:
        await claude(base, "lg-wrong").messages.create(
            model="agent", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
    with pytest.raises(anthropic.NotFoundError) as unknown:
        await claude(base, key).messages.create(
            model="nope", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
    with pytest.raises(anthropic.BadRequestError) as invalid:
        await claude(base, key).messages.create(
            model="agent", max_tokens=0, messages=[{"role": "user", "content": "x"}]
        )
    async with aiohttp.ClientSession() as http:
        big = {"model": "agent", "max_tokens": 5, "messages": [{"role": "user", "content": "x" * 300_000}]}
        async with http.post(base + "/v1/messages", json=big, headers={"x-api-key": key}) as r:
            too_large = (r.status, await r.json())
    assert bad_key.value.status_code == 401
    assert bad_key.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    assert unknown.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    assert "nope" in unknown.value.body["error"]["message"]  # type: ignore[index]
    assert invalid.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    assert "max_tokens" in invalid.value.body["error"]["message"]  # type: ignore[index]
    assert too_large[0] == 413 and too_large[1]["type"] == "error"
    assert too_large[1]["error"]["type"] == "request_too_large"
    assert lab.seen()["eu"] == 0


async def test_messages_policy_refusal_and_personal_data_in_a_tool_result(
    gateway: tuple[str, str], lab: SovereignLab
) -> None:
    base, key = gateway
    client = claude(base, key)
    turn: list[Any] = [
        {"role": "user", "content": "Pay the invoice."},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "lookup", "input": {}}]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "t1", "content": f"IBAN {IBAN}"}],
        },
    ]
    raw = await client.messages.with_raw_response.create(model="mix", max_tokens=16, messages=turn)
    with pytest.raises(anthropic.PermissionDeniedError) as refused:
        await client.messages.create(model="us-only", max_tokens=16, messages=turn)
    assert raw.headers["x-lockgate-provider"] == "own" and raw.headers["x-lockgate-pii"] == "iban"
    assert IBAN.encode() in lab.received("own") and lab.seen()["us"] == 0
    assert refused.value.status_code == 403
    assert refused.value.body["error"]["type"] == "permission_error"  # type: ignore[index]
    assert "personal data" in refused.value.body["error"]["message"]  # type: ignore[index]


async def test_messages_context_overflow_keeps_wording(gateway: tuple[str, str]) -> None:
    base, key = gateway
    with pytest.raises(anthropic.BadRequestError) as info:
        await claude(base, key).messages.create(
            model="overflow", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
    message = info.value.body["error"]["message"]  # type: ignore[index]
    assert message.startswith("prompt is too long") and "maximum context length is 2048" in message


async def test_messages_native_pass_through(gateway: tuple[str, str], lab: SovereignLab) -> None:
    base, key = gateway
    client = claude(base, key)
    raw = await client.messages.with_raw_response.create(
        model="native", max_tokens=16, messages=[{"role": "user", "content": "hi"}],
        thinking={"type": "enabled", "budget_tokens": 1024},
        extra_headers={"anthropic-beta": "interleaved-thinking-2025-05-14"},
    )  # fmt: skip
    reply = await raw.parse()
    async with client.messages.stream(
        model="native", max_tokens=16, messages=[{"role": "user", "content": "s"}]
    ) as s:
        streamed = await s.get_final_message()
    assert reply.content[0].text == "cn natively says: hi"  # type: ignore[union-attr]
    assert raw.headers["x-lockgate-protocol"] == "anthropic.messages; native"
    assert "native anthropic.messages" in raw.headers["x-lockgate-route"]
    seen, headers = lab.ups["cn"].requests[0], lab.ups["cn"].headers[0]
    assert seen["thinking"] == {"type": "enabled", "budget_tokens": 1024}  # untranslated
    assert seen["model"] == "ok"  # the deployment's upstream model name
    assert headers["anthropic-beta"] == "interleaved-thinking-2025-05-14" and headers["anthropic-version"]
    assert headers["x-api-key"] == "sk-upstream-secret-123" and "Authorization" not in headers
    assert streamed.content[0].text == "cn natively says: s" and streamed.usage.output_tokens == 5  # type: ignore[union-attr]


async def test_count_tokens_states_an_estimate_for_remote_deployments(gateway: tuple[str, str]) -> None:
    base, key = gateway
    raw = await claude(base, key).messages.with_raw_response.count_tokens(
        model="agent", messages=[{"role": "user", "content": "How many tokens is this sentence?"}]
    )
    assert (await raw.parse()).input_tokens > 0
    assert raw.headers["x-lockgate-token-count"].startswith("estimate")


# -- Responses API -------------------------------------------------------------------------------
async def test_responses_json_and_stream(gateway: tuple[str, str]) -> None:
    base, key = gateway
    client = oai(base, key)
    raw = await client.responses.with_raw_response.create(
        model="claude-sonnet", instructions="Be brief.", input="hello", store=False
    )
    reply = raw.parse()
    events = [e async for e in await client.responses.create(model="claude-sonnet", input="streamed", stream=True,
                                                             store=False)]  # fmt: skip
    assert reply.output_text == "eu says: hello" and reply.status == "completed"
    assert reply.usage is not None and (reply.usage.input_tokens, reply.usage.output_tokens) == (11, 7)
    assert raw.headers["x-lockgate-protocol"] == "openai.responses; translated"
    kinds = [e.type for e in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "eu says: streamed"
    assert [e.sequence_number for e in events] == list(range(len(events)))


async def test_responses_function_call_and_output_turn(gateway: tuple[str, str]) -> None:
    base, key = gateway
    client = oai(base, key)
    events = [e async for e in await client.responses.create(
        model="agent", input="Weather in Paris?", tools=[FUNCTION_TOOL], stream=True, store=False)]  # type: ignore[list-item]  # fmt: skip
    done = [e.item for e in events if e.type == "response.output_item.done"]
    call = next(i for i in done if i.type == "function_call")
    assert (call.call_id, call.name, call.arguments) == ("call_w1", "get_weather", '{"city": "Paris"}')  # type: ignore[union-attr]
    second = await client.responses.create(
        model="agent", tools=[FUNCTION_TOOL], store=False,  # type: ignore[list-item]
        input=[
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather in Paris?"}]},
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"type": "function_call", "call_id": "call_w1", "name": "get_weather", "arguments": '{"city": "Paris"}'},
            {"type": "function_call_output", "call_id": "call_w1", "output": "18°C"},
        ],
    )  # fmt: skip
    assert second.output_text == "tool said: 18°C"


async def test_responses_store_previous_response_id_and_ownership(
    gateway: tuple[str, str], lab: SovereignLab
) -> None:
    base, key = gateway
    other = lab.key("other", policy="public-data")  # made after start: loaded by the key refresh
    client = oai(base, key)
    first = await client.responses.create(model="claude-sonnet", input="My name is Ada.", store=True)
    second = await client.responses.create(
        model="claude-sonnet", input="Who am I?", previous_response_id=first.id
    )
    fetched = await client.responses.retrieve(first.id)
    sent = lab.ups["eu"].requests[-1]["messages"]
    assert [m["content"] for m in sent] == ["My name is Ada.", "eu says: My name is Ada.", "Who am I?"]
    assert second.previous_response_id == first.id and fetched.output_text == first.output_text
    for _ in range(100):  # the other key becomes known at the next key refresh
        try:
            await oai(base, other).models.list()
            break
        except openai.AuthenticationError:
            import asyncio

            await asyncio.sleep(0.1)
    with pytest.raises(openai.NotFoundError):
        await oai(base, other).responses.retrieve(first.id)
    with pytest.raises(openai.BadRequestError) as stolen:
        await oai(base, other).responses.create(
            model="claude-sonnet", input="x", previous_response_id=first.id
        )
    assert stolen.value.body["param"] == "previous_response_id"  # type: ignore[index]


async def test_responses_errors_in_openai_shape(gateway: tuple[str, str]) -> None:
    base, key = gateway
    client = oai(base, key)
    with pytest.raises(openai.BadRequestError) as tool_type:
        await client.responses.create(
            model="agent",
            input="x",
            tools=[{"type": "web_search"}],  # type: ignore[list-item]
            tool_choice={"type": "web_search"},
        )  # type: ignore[arg-type]
    with pytest.raises(openai.NotFoundError):
        await client.responses.create(model="nope", input="x")
    with pytest.raises(openai.AuthenticationError):
        await oai(base, "lg-wrong").responses.create(model="agent", input="x")
    with pytest.raises(openai.PermissionDeniedError):
        await client.responses.create(model="us-only", input=f"pay {IBAN}")
    assert tool_type.value.body["param"] == "tools[0].type"  # type: ignore[index]
    assert "'web_search'" in tool_type.value.message


async def test_responses_context_overflow_stream_is_response_failed(gateway: tuple[str, str]) -> None:
    base, key = gateway
    events = [
        e async for e in await oai(base, key).responses.create(model="overflow", input="x", stream=True)
    ]
    assert events[-1].type == "response.failed"
    assert (
        events[-1].response.error is not None and events[-1].response.error.code == "context_length_exceeded"
    )


async def test_responses_store_refused_without_storage(lab: SovereignLab) -> None:
    cfg = lab.config(_models())  # no content key: nothing can be stored encrypted
    key = lab.key("agent", policy="public-data")
    async with running_gateway(cfg, lab.tmp_path) as (base, _):
        client = oai(base, key)
        plain = await client.responses.create(
            model="claude-sonnet", input="x"
        )  # default: not kept, still served
        with pytest.raises(openai.BadRequestError) as asked:
            await client.responses.create(model="claude-sonnet", input="x", store=True)
    assert plain.output_text == "eu says: x" and plain.store is False
    assert asked.value.body["param"] == "store" and "content_key" in asked.value.message  # type: ignore[index]


# -- one pipeline: records -----------------------------------------------------------------------
async def test_mixed_protocol_traffic_leaves_a_verifying_chain(
    lab: SovereignLab, cfg: dict[str, Any]
) -> None:
    key = lab.key("agent", policy="public-data")
    async with running_gateway(cfg, lab.tmp_path) as (base, _):
        await claude(base, key).messages.create(model="claude-sonnet", max_tokens=8,
                                                messages=[{"role": "user", "content": "a"}])  # fmt: skip
        await oai(base, key).responses.create(model="claude-sonnet", input="b", store=False)
        await oai(base, key).chat.completions.create(
            model="claude-sonnet", messages=[{"role": "user", "content": "c"}]
        )
        with pytest.raises(anthropic.NotFoundError):
            await claude(base, key).messages.create(
                model="nope", max_tokens=8, messages=[{"role": "user", "content": "d"}]
            )
    rows = audit_rows(f"sqlite:///{lab.data_dir / 'lockgate.db'}")
    by_endpoint = {(r["endpoint"], r["status"]) for r in rows}
    assert {("anthropic.messages", 200), ("openai.responses", 200), ("chat.completions", 200),
            ("anthropic.messages", 404)} <= by_endpoint  # fmt: skip
    config = lab.write_config(cfg)
    verified = lockgate("audit", "verify", "-c", str(config))
    assert verified.exit_code == 0, verified.output


async def test_openai_agents_sdk_runs_a_tool_loop_through_the_gateway(gateway: tuple[str, str]) -> None:
    """The Agents SDK (Responses API by default): the model calls a function tool, the SDK runs
    it and sends the output back, and the final answer quotes it."""
    from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled

    set_tracing_disabled(True)  # the SDK would otherwise export traces to OpenAI
    calls: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """Weather for a city."""
        calls.append(city)
        return f"18°C in {city}"

    base, key = gateway
    model = OpenAIResponsesModel(model="agent", openai_client=oai(base, key))
    agent = Agent(name="weather", instructions="Use the tool.", model=model, tools=[get_weather])
    result = await Runner.run(agent, "Weather in Paris?")
    assert calls == ["Paris"]
    assert result.final_output == "tool said: 18°C in Paris"


async def test_messages_stream_pings_while_the_upstream_is_silent(
    gateway: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lockgate.server import edge

    monkeypatch.setattr(edge, "PING_EVERY", 0.1)
    base, key = gateway
    body = {
        "model": "pause",
        "max_tokens": 16,
        "stream": True,
        "messages": [{"role": "user", "content": "x"}],
    }
    async with aiohttp.ClientSession() as http, http.post(base + "/v1/messages", json=body,
                                                          headers={"x-api-key": key}) as r:  # fmt: skip
        raw = await r.read()
        dropped = r.headers.get("x-lockgate-dropped")
    names = [line[7:] for line in raw.decode().splitlines() if line.startswith("event: ")]
    first_delta = names.index("content_block_delta")
    assert "ping" in names[first_delta:]  # keep-alives while the upstream thinks
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert dropped is None


async def test_dropped_parts_are_named_in_a_header(gateway: tuple[str, str]) -> None:
    base, key = gateway
    raw = await claude(base, key).messages.with_raw_response.create(
        model="claude-sonnet", max_tokens=16, thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": [{"type": "text", "text": "hi"},
                                               {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}}]}],
    )  # fmt: skip
    assert raw.headers["x-lockgate-dropped"] == "document:base64,thinking"
