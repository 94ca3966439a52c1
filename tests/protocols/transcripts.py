"""Chat completion chunk scripts for the golden transcripts, and an SSE reader."""

from __future__ import annotations

from typing import Any

import orjson


def text_chunk(text: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}


def tool_start(index: int, call_id: str, name: str, args: str = "") -> dict[str, Any]:
    call = {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": args}}
    return {"choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}]}


def tool_args(index: int, args: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": index, "function": {"arguments": args}}]},
                         "finish_reason": None}]}  # fmt: skip


def finish(reason: str, **extra: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {}, "finish_reason": reason, **extra}]}


def usage(prompt: int, completion: int) -> dict[str, Any]:
    return {"choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                                     "total_tokens": prompt + completion}}  # fmt: skip


SCRIPTS: dict[str, list[dict[str, Any]]] = {
    "text": [text_chunk("Hello"), text_chunk(" world"), finish("stop"), usage(12, 2)],
    "tool_after_text": [
        text_chunk("Let me look."),
        tool_start(0, "call_a", "get_weather", '{"city":'),
        tool_args(0, ' "Paris"}'),
        finish("tool_calls"),
        usage(30, 9),
    ],
    "parallel_tools": [
        tool_start(0, "call_a", "get_weather", '{"city": "Paris"}'),
        tool_start(1, "call_b", "get_time", '{"tz": "CET"}'),
        finish("tool_calls"),
        usage(40, 20),
    ],
    "length": [text_chunk("one two"), text_chunk(" three"), finish("length"), usage(5, 3)],
    "stop_sequence": [text_chunk("a, b, c"), finish("stop", stop_reason="END"), usage(5, 4)],
}


def events(raw: bytes) -> list[tuple[str | None, dict[str, Any]]]:
    """``(event name, data)`` for every event in an SSE byte string."""
    out: list[tuple[str | None, dict[str, Any]]] = []
    for block in raw.replace(b"\r\n", b"\n").split(b"\n\n"):
        name, data = None, []
        for line in block.split(b"\n"):
            if line.startswith(b"event:"):
                name = line[6:].strip().decode()
            elif line.startswith(b"data:"):
                data.append(line[5:].strip())
        if data:
            out.append((name, orjson.loads(b"\n".join(data))))
    return out
