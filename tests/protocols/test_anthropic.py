"""The Messages adapter: request translation, replies, and golden stream transcripts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from lockgate.errors import InvalidRequest, PolicyDenied
from lockgate.protocols import ANTHROPIC_MESSAGES as P
from lockgate.protocols.base import ReplyIds, UpstreamFailure
from tests.protocols.transcripts import SCRIPTS, events

FIXTURES = Path(__file__).parents[1] / "agents" / "fixtures"
IDS = ReplyIds("req_abc", "claude-sonnet", 1700000000)


def _body(**extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}],
        **extra,
    }


def _run(script: str, stop: list[str] | None = None) -> list[tuple[str | None, dict[str, Any]]]:
    turn = P.parse(_body(stop_sequences=stop or []), {})
    t = P.stream(turn, IDS)
    raw = t.start()
    for chunk in SCRIPTS[script]:
        raw += t.feed(None, chunk)
    raw += t.finish()
    assert t.completed
    return events(raw)


def _grammar(evs: list[tuple[str | None, dict[str, Any]]]) -> list[str]:
    for name, data in evs:
        assert name == data["type"]  # the event line names the data's type
    return [
        d["type"] if d["type"] != "content_block_delta" else "delta:" + d["delta"]["type"] for _, d in evs
    ]


def test_request_translation_covers_every_text_field() -> None:
    body = _body(
        system=[{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Be kind."}],
        messages=[
            {"role": "user", "content": [{"type": "text", "text": "weather?"},
                                         {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}]},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm", "signature": "x"},
                                              {"type": "text", "text": "Checking."},
                                              {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                                          "content": [{"type": "text", "text": "IBAN DE89370400440532013000"}]},
                                         {"type": "text", "text": "thanks"}]},
        ],
        tools=[{"name": "weather", "description": "Weather", "input_schema": {"type": "object"}},
               {"type": "web_search_20250305", "name": "web_search"}],
        tool_choice={"type": "any", "disable_parallel_tool_use": True},
        stop_sequences=["END"], temperature=0.2, top_p=0.9, top_k=40, metadata={"user_id": "u1"},
        thinking={"type": "enabled", "budget_tokens": 1024},
    )  # fmt: skip
    turn = P.parse(body, {})
    chat = turn.chat
    msgs = chat["messages"]
    assert msgs[0] == {"role": "system", "content": "Be brief.\n\nBe kind."}
    assert msgs[1]["content"][1]["image_url"]["url"] == "data:image/png;base64,AAAA"
    assert msgs[2]["content"] == "Checking."
    assert msgs[2]["tool_calls"][0]["function"] == {"name": "weather", "arguments": '{"city":"Paris"}'}
    assert msgs[3] == {"role": "tool", "tool_call_id": "toolu_1", "content": "IBAN DE89370400440532013000"}
    assert msgs[4] == {"role": "user", "content": "thanks"}
    assert chat["tools"] == [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"},
                                                               "description": "Weather"}}]  # fmt: skip
    assert chat["tool_choice"] == "required" and chat["parallel_tool_calls"] is False
    assert chat["stop"] == ["END"] and chat["top_k"] == 40 and chat["max_tokens"] == 64
    assert set(turn.dropped) == {"thinking", "tool:web_search_20250305"}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
        ({"model": "m", "max_tokens": 0, "messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
        ({"model": "m", "max_tokens": 5, "messages": []}, "messages"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}, "messages"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": 3}]}, "messages[0].content"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"text": "x"}]}]},
         "messages[0].content[0]"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "temperature": 3},
         "temperature"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "stop_sequences": "x"},
         "stop_sequences"),
        ({"model": "m", "max_tokens": 5, "stream": "yes", "messages": [{"role": "user", "content": "x"}]}, "stream"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [
            {"type": "tool_result", "content": "x"}]}]}, "messages[0].content[0].tool_use_id"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}],
          "tools": [{"name": "t"}]}, "tools[0].input_schema"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}],
          "tools": [{"name": "t", "input_schema": {}}], "tool_choice": {"type": "tool"}}, "tool_choice.name"),
    ],
)  # fmt: skip
def test_bad_requests_name_the_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as exc:
        P.parse(body, {})
    assert exc.value.param == param
    assert param in exc.value.message


def test_unknown_and_thinking_blocks_are_dropped_not_refused() -> None:
    turn = P.parse(_body(messages=[{"role": "user", "content": [
        {"type": "text", "text": "hi"}, {"type": "future_block", "x": 1}]}]), {})  # fmt: skip
    assert turn.chat["messages"] == [{"role": "user", "content": "hi"}]
    assert turn.dropped == ["future_block"]


def test_reply_maps_tool_use_after_text() -> None:
    turn = P.parse(_body(), {})
    chat = {"choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": "Looking.",
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}]}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 4}}  # fmt: skip
    reply = P.reply(turn, chat, IDS)
    assert reply["id"] == "msg_abc" and reply["model"] == "claude-sonnet"
    assert reply["content"] == [{"type": "text", "text": "Looking."},
                                {"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}}]  # fmt: skip
    assert reply["stop_reason"] == "tool_use"
    assert reply["usage"]["input_tokens"] == 10 and reply["usage"]["output_tokens"] == 4


def test_golden_text() -> None:
    evs = _run("text")
    assert _grammar(evs) == ["message_start", "content_block_start", "delta:text_delta", "delta:text_delta",
                             "content_block_stop", "message_delta", "message_stop"]  # fmt: skip
    start = evs[0][1]["message"]
    assert start["usage"]["input_tokens"] > 0 and start["content"] == [] and start["stop_reason"] is None
    assert evs[1][1] == {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": ""},
    }
    delta = evs[-2][1]
    assert delta["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert delta["usage"]["output_tokens"] == 2 and delta["usage"]["input_tokens"] == 12


def test_golden_tool_call_after_text_is_tool_use() -> None:
    evs = _run("tool_after_text")
    assert _grammar(evs) == ["message_start", "content_block_start", "delta:text_delta", "content_block_stop",
                             "content_block_start", "delta:input_json_delta", "delta:input_json_delta",
                             "content_block_stop", "message_delta", "message_stop"]  # fmt: skip
    assert evs[4][1]["index"] == 1
    assert evs[4][1]["content_block"] == {
        "type": "tool_use",
        "id": "call_a",
        "name": "get_weather",
        "input": {},
    }
    assert "".join(d["delta"]["partial_json"] for _, d in evs[5:7]) == '{"city": "Paris"}'
    assert evs[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_golden_parallel_tool_calls_open_and_close_each_block() -> None:
    evs = _run("parallel_tools")
    assert _grammar(evs) == ["message_start", "content_block_start", "delta:input_json_delta", "content_block_stop",
                             "content_block_start", "delta:input_json_delta", "content_block_stop",
                             "message_delta", "message_stop"]  # fmt: skip
    assert [d["index"] for _, d in evs if d["type"].startswith("content_block")] == [0, 0, 0, 1, 1, 1]


def test_golden_length_and_stop_sequence() -> None:
    assert _run("length")[-2][1]["delta"] == {"stop_reason": "max_tokens", "stop_sequence": None}
    assert _run("stop_sequence", ["END"])[-2][1]["delta"] == {
        "stop_reason": "stop_sequence",
        "stop_sequence": "END",
    }
    # a stop_reason the client did not ask for is an ordinary end
    assert _run("stop_sequence")[-2][1]["delta"]["stop_reason"] == "end_turn"


def test_golden_mid_stream_failure_closes_the_open_block() -> None:
    turn = P.parse(_body(), {})
    t = P.stream(turn, IDS)
    raw = t.start() + t.feed(None, SCRIPTS["text"][0]) + t.fail("upstream cut", "stream_interrupted")
    evs = events(raw)
    assert _grammar(evs) == [
        "message_start",
        "content_block_start",
        "delta:text_delta",
        "content_block_stop",
        "error",
    ]
    assert evs[-1][1]["error"] == {"type": "api_error", "message": "upstream cut"}
    assert not t.completed


def test_errors_use_anthropic_shape() -> None:
    status, body = P.error_body(PolicyDenied("no eligible deployment"), "req_1")
    assert status == 403
    assert (
        body
        == b'{"type":"error","error":{"type":"permission_error","message":"no eligible deployment"},"request_id":"req_1"}'
    )


def test_context_overflow_keeps_the_wording_claude_code_reads() -> None:
    err = P.upstream_error(
        None, UpstreamFailure(400, "Requested tokens (3000) exceed context window of 2048")
    )
    assert err.status == 400 and err.message.startswith("prompt is too long")
    assert "exceed context window" in err.message


def test_native_usage_and_headers() -> None:
    usage = P.native_usage({"usage": {"input_tokens": 5, "cache_read_input_tokens": 3, "output_tokens": 2}})
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens) == (
        8,
        2,
        3,
    )
    assert P.native_headers({"anthropic-beta": "x", "anthropic-version": "2023-06-01"}) == {
        "anthropic-version": "2023-06-01", "anthropic-beta": "x"}  # fmt: skip


def test_claude_code_request_as_captured_translates() -> None:
    """The request Claude Code really sends (captured by tests/agents): a system turn inside
    `messages`, cache_control marks, adaptive thinking, context management, output_config."""
    captured = orjson.loads((FIXTURES / "claude_code_request.json").read_bytes())[0]
    assert captured["path"] == "/v1/messages"
    turn = P.parse(captured["body"], captured["headers"])
    roles = [m["role"] for m in turn.chat["messages"]]
    assert roles[0] == "system" and "user" in roles and roles.count("system") >= 2
    assert turn.chat["stream"] is True and turn.chat["max_tokens"] == captured["body"]["max_tokens"]
    assert {"thinking", "context_management"} <= set(turn.dropped)
    assert len(turn.chat["tools"]) == len(captured["body"]["tools"])
