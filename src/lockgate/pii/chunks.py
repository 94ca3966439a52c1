"""Restoring placeholders in streamed chat/completions chunks (the SSE relay's hook).

One `StreamRestorer` per streamed text: each choice's `delta.content` (or legacy `text`) and
each of its tool calls' `function.arguments`. When a choice reports `finish_reason`, whatever
is still held for it is flushed into that same chunk.

It needs of `lockgate.pii.redact` only what the `StreamSource` protocol names, so the import
goes one way (redact -> chunks).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class TextStream(Protocol):
    """One streamed text's restorer (`lockgate.pii.redact.StreamRestorer`)."""

    def feed(self, delta: str) -> str: ...

    def flush(self) -> str: ...


class StreamSource(Protocol):
    """What hands out a `TextStream` per streamed text (`lockgate.pii.redact.Restorer`)."""

    def stream(self) -> TextStream: ...


StreamKey = tuple[int, str, int]  # (choice index, "content" | "text" | "tool", tool-call index)


class ChunkRestorer:
    """Callable hook: parsed chunk dict in, the same chunk with placeholders restored out."""

    def __init__(self, restorer: StreamSource) -> None:
        self._restorer = restorer
        self._streams: dict[StreamKey, TextStream] = {}

    def __call__(self, chunk: dict[str, Any]) -> dict[str, Any]:
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else ():
            if isinstance(choice, dict):
                self._choice(choice)
        return chunk

    def _feed(self, key: StreamKey, holder: dict[str, Any], field: str) -> None:
        if isinstance(holder.get(field), str):
            stream = self._streams.get(key)
            if stream is None:
                stream = self._streams[key] = self._restorer.stream()
            holder[field] = stream.feed(holder[field])

    def _choice(self, choice: dict[str, Any]) -> None:
        index = choice.get("index", 0)
        self._feed((index, "text", 0), choice, "text")
        delta = choice.get("delta")
        if isinstance(delta, dict):
            self._feed((index, "content", 0), delta, "content")
            calls = delta.get("tool_calls")
            for call in calls if isinstance(calls, list) else ():
                function = call.get("function") if isinstance(call, dict) else None
                if isinstance(function, dict):
                    self._feed((index, "tool", call.get("index", 0)), function, "arguments")
        if choice.get("finish_reason") is not None:
            self._flush(index, choice)

    def _flush(self, index: int, choice: dict[str, Any]) -> None:
        for key in [k for k in self._streams if k[0] == index]:
            rest = self._streams.pop(key).flush()
            if rest:
                _APPEND[key[1]](choice, key[2], rest)


def _append_text(choice: dict[str, Any], _: int, rest: str) -> None:
    choice["text"] = (choice.get("text") or "") + rest


def _append_content(choice: dict[str, Any], _: int, rest: str) -> None:
    delta = choice.setdefault("delta", {})
    delta["content"] = (delta.get("content") or "") + rest


def _append_tool(choice: dict[str, Any], call_index: int, rest: str) -> None:
    calls = choice.setdefault("delta", {}).setdefault("tool_calls", [])
    calls.append({"index": call_index, "function": {"arguments": rest}})


_APPEND: dict[str, Callable[[dict[str, Any], int, str], None]] = {
    "text": _append_text,
    "content": _append_content,
    "tool": _append_tool,
}
