"""The Responses adapter: request translation, replies, and golden stream transcripts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from lockgate.errors import InvalidRequest
from lockgate.protocols import OPENAI_RESPONSES as P
from lockgate.protocols.base import ReplyIds, UpstreamFailure
from tests.protocols.transcripts import SCRIPTS, events

FIXTURES = Path(__file__).parents[1] / "agents" / "fixtures"
FUNCTION: dict[str, Any] = {"type": "function", "name": "f", "parameters": {"type": "object"}}
IDS = ReplyIds("req_abc", "smollm2", 1700000000)


def _run(script: str) -> list[dict[str, Any]]:
    turn = P.parse({"model": "smollm2", "input": "hi", "stream": True}, {})
    t = P.stream(turn, IDS)
    raw = t.start()
    for chunk in SCRIPTS[script]:
        raw += t.feed(None, chunk)
    raw += t.finish()
    evs = events(raw)
    for name, data in evs:
        assert name == data["type"]
    seqs = [d["sequence_number"] for _, d in evs]
    assert seqs == list(range(len(evs)))  # every event numbered, in order
    return [d for _, d in evs]


def test_codex_style_input_translates_and_skips_what_it_cannot_serve() -> None:
    body = {
        "model": "smollm2", "instructions": "You are Codex.", "stream": True, "store": False,
        "include": ["reasoning.encrypted_content"], "prompt_cache_key": "abc", "tool_choice": "auto",
        "parallel_tool_calls": False,
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "rules"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "list files"}]},
            {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "xyz"},
            {"type": "function_call", "call_id": "call_1", "name": "shell", "arguments": "{\"command\":[\"ls\"]}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "a.txt\nb.txt"},
            {"type": "function_call", "call_id": "call_orphan", "name": "shell", "arguments": "{}"},
            {"type": "local_shell_call", "call_id": "x", "action": {}},
        ],
        "tools": [{"type": "function", "name": "shell", "description": "Run", "parameters": {"type": "object"},
                   "strict": False}],
    }  # fmt: skip
    turn = P.parse(body, {})
    msgs = turn.chat["messages"]
    assert msgs[0] == {"role": "system", "content": "You are Codex."}
    assert msgs[1] == {"role": "system", "content": "rules"}
    assert msgs[2] == {"role": "user", "content": "list files"}
    assert msgs[3]["role"] == "assistant" and msgs[3]["tool_calls"][0]["id"] == "call_1"
    assert msgs[4] == {"role": "tool", "tool_call_id": "call_1", "content": "a.txt\nb.txt"}
    assert len(msgs) == 5  # the orphaned call is dropped: chat upstreams refuse it
    assert {"reasoning", "local_shell_call", "orphan function_call"} <= set(turn.dropped)
    assert turn.chat["tools"][0]["function"]["name"] == "shell"
    assert turn.chat["parallel_tool_calls"] is False and turn.chat["tool_choice"] == "auto"


def test_text_format_json_schema_and_limits() -> None:
    turn = P.parse({"model": "m", "input": "x", "max_output_tokens": 50, "temperature": 0.5, "top_p": 0.5,
                    "text": {"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"},
                                        "strict": True}}}, {})  # fmt: skip
    assert turn.chat["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "out", "schema": {"type": "object"}, "strict": True}}  # fmt: skip
    assert turn.chat["max_tokens"] == 50


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "x"}, "model"),
        ({"model": "m"}, "input"),
        ({"model": "m", "input": 5}, "input"),
        ({"model": "m", "input": [{"type": "message", "role": "robot", "content": "x"}]}, "input[0].role"),
        ({"model": "m", "input": [{"type": "function_call", "call_id": "c", "arguments": "{}"}]}, "input[0].name"),
        ({"model": "m", "input": [{"type": "function_call_output", "output": "x"}]}, "input[0].call_id"),
        ({"model": "m", "input": "x", "tools": [{"type": "web_search"}], "tool_choice": {"type": "web_search"}},
         "tools[0].type"),
        ({"model": "m", "input": "x", "tools": [{"type": "function", "name": "f"}],
          "tool_choice": {"type": "file_search"}}, "tool_choice.type"),
        ({"model": "m", "input": "x", "max_output_tokens": 0}, "max_output_tokens"),
        ({"model": "m", "input": "x", "text": {"format": {"type": "xml"}}}, "text.format.type"),
        ({"model": "m", "input": "x", "store": "yes"}, "store"),
        ({"model": "m", "input": "x", "tools": [{"type": "function", "name": "f"}], "tool_choice": "maybe"},
         "tool_choice"),
    ],
)  # fmt: skip
def test_bad_requests_name_the_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as exc:
        P.parse(body, {})
    assert exc.value.param == param and param in exc.value.message


def test_unsupported_tool_type_is_refused_when_forced_and_skipped_when_offered() -> None:
    with pytest.raises(InvalidRequest, match="'web_search' is not supported"):
        P.parse(
            {
                "model": "m",
                "input": "x",
                "tools": [{"type": "web_search"}],
                "tool_choice": {"type": "web_search"},
            },
            {},
        )
    offered = P.parse({"model": "m", "input": "x", "tools": [{"type": "web_search"}, FUNCTION]}, {})
    assert [t["function"]["name"] for t in offered.chat["tools"]] == ["f"]
    assert offered.dropped == ["tool:web_search"]


def test_codex_request_as_captured_translates() -> None:
    """The request Codex really sends (captured by tests/agents): developer items instead of
    instructions, web_search and namespace tools beside its function tools, reasoning and include."""
    captured = orjson.loads((FIXTURES / "codex_request.json").read_bytes())[0]
    assert captured["path"] == "/v1/responses"
    turn = P.parse(captured["body"], captured["headers"])
    assert turn.stream is True and turn.chat["messages"][0]["role"] == "system"
    assert turn.chat["messages"][-1]["role"] == "user"
    kinds = {t.get("type") for t in captured["body"]["tools"]}
    assert {f"tool:{k}" for k in kinds - {"function"}} <= set(turn.dropped)
    assert all(t["type"] == "function" for t in turn.chat["tools"])


def test_golden_text() -> None:
    evs = _run("text")
    assert [e["type"] for e in evs] == [
        "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
        "response.output_text.delta", "response.output_text.delta", "response.output_text.done",
        "response.content_part.done", "response.output_item.done", "response.completed"]  # fmt: skip
    done = evs[-1]["response"]
    assert done["id"] == "resp_abc" and done["status"] == "completed"
    assert done["output"][0]["content"][0]["text"] == "Hello world"
    assert done["usage"] == {"input_tokens": 12, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 2,
                             "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 14}  # fmt: skip
    # item ids agree between the stream and the final response
    assert evs[2]["item"]["id"] == evs[8]["item"]["id"] == done["output"][0]["id"]


def test_golden_tool_call_after_text() -> None:
    evs = _run("tool_after_text")
    kinds = [e["type"] for e in evs]
    assert kinds[-6:] == ["response.output_item.added", "response.function_call_arguments.delta",
                          "response.function_call_arguments.delta", "response.function_call_arguments.done",
                          "response.output_item.done", "response.completed"]  # fmt: skip
    item = evs[-2]["item"]
    assert item == {"id": item["id"], "type": "function_call", "status": "completed", "call_id": "call_a",
                    "name": "get_weather", "arguments": '{"city": "Paris"}'}  # fmt: skip
    assert [o["type"] for o in evs[-1]["response"]["output"]] == ["message", "function_call"]


def test_golden_parallel_tool_calls_each_complete_in_output_item_done() -> None:
    evs = _run("parallel_tools")
    done_items = [e["item"] for e in evs if e["type"] == "response.output_item.done"]
    assert [(i["call_id"], i["name"], i["arguments"]) for i in done_items] == [
        ("call_a", "get_weather", '{"city": "Paris"}'), ("call_b", "get_time", '{"tz": "CET"}')]  # fmt: skip
    assert [i["output_index"] for i in (e for e in evs if e["type"] == "response.output_item.added")] == [
        0,
        1,
    ]


def test_golden_length_is_incomplete() -> None:
    evs = _run("length")
    assert evs[-1]["type"] == "response.incomplete"
    assert evs[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}


def test_golden_mid_stream_failure() -> None:
    turn = P.parse({"model": "smollm2", "input": "hi", "stream": True}, {})
    t = P.stream(turn, IDS)
    raw = t.start() + t.feed(None, SCRIPTS["text"][0]) + t.fail("cut", "stream_interrupted")
    evs = [d for _, d in events(raw)]
    assert [e["type"] for e in evs][-4:] == ["response.output_text.done", "response.content_part.done",
                                            "response.output_item.done", "response.failed"]  # fmt: skip
    assert evs[-1]["response"]["error"] == {"code": "stream_interrupted", "message": "cut"}


def test_context_overflow_in_a_stream_is_response_failed() -> None:
    turn = P.parse({"model": "smollm2", "input": "hi", "stream": True}, {})
    raw = P.failed_stream(
        turn, IDS, UpstreamFailure(400, "This model's maximum context length is 2048 tokens")
    )
    assert raw is not None
    evs = [d for _, d in events(raw)]
    assert [e["type"] for e in evs] == ["response.created", "response.in_progress", "response.failed"]
    assert evs[-1]["response"]["error"]["code"] == "context_length_exceeded"


def test_continuation_prepends_history_and_keep_round_trips() -> None:
    first = P.parse({"model": "m", "instructions": "Be terse.", "input": "My name is Ada."}, {})
    reply = P.reply(first, {"choices": [{"index": 0, "finish_reason": "stop",
                                         "message": {"role": "assistant", "content": "Hi Ada."}}]}, IDS)  # fmt: skip
    kept = P.keep(first, reply)
    assert kept == [
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": "Hi Ada."},
    ]
    second = P.parse({"model": "m", "input": "What is my name?", "previous_response_id": reply["id"]}, {})
    P.continue_from(second, kept)
    assert [m["content"] for m in second.chat["messages"]] == [
        "My name is Ada.",
        "Hi Ada.",
        "What is my name?",
    ]
