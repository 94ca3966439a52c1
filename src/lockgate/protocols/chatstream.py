"""Reading a chat completions reply, streamed or whole, as a sequence of plain steps.

Both agent protocols need the same facts from a chat completion: text as it arrives, each
tool call's start (id, name) and argument pieces, why it ended, and the usage.  ``ChatFold``
turns each streamed chunk into those steps and keeps the whole answer for the final reply;
``fold_reply`` does the same for a non-streamed completion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lockgate.protocols.base import ChatUsage, Json


@dataclass(slots=True)
class Text:
    text: str


@dataclass(slots=True)
class ToolStart:
    index: int
    call_id: str
    name: str


@dataclass(slots=True)
class ToolArgs:
    index: int
    arguments: str


Step = Text | ToolStart | ToolArgs


@dataclass(slots=True)
class ToolCall:
    index: int
    call_id: str
    name: str
    arguments: str = ""


@dataclass(slots=True)
class Ending:
    """Why an answer ended, in words both protocols map from."""

    kind: str  # "end" | "length" | "tool" | "stop_sequence" | "refusal"
    stop_sequence: str | None = None


@dataclass(slots=True)
class Answer:
    text: str = ""
    calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    matched_stop: str | None = None
    usage: ChatUsage | None = None

    def ending(self, stops: list[str]) -> Ending:
        if self.calls or self.finish_reason in ("tool_calls", "function_call"):
            return Ending("tool")
        if self.finish_reason == "length":
            return Ending("length")
        if self.finish_reason == "content_filter":
            return Ending("refusal")
        if self.matched_stop is not None and self.matched_stop in stops:
            return Ending("stop_sequence", self.matched_stop)
        return Ending("end")


class ChatFold:
    """Folds streamed chat chunks (choice 0) into steps and a whole ``Answer``."""

    def __init__(self, call_prefix: str) -> None:
        self.answer = Answer()
        self._by_index: dict[int, ToolCall] = {}
        self._call_prefix = call_prefix

    def steps(self, chunk: Json) -> list[Step]:
        out: list[Step] = []
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.answer.usage = ChatUsage.of(usage)
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            return out
        for choice in choices:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta")
            if isinstance(delta, dict):
                text = delta.get("content")
                if isinstance(text, str) and text:
                    self.answer.text += text
                    out.append(Text(text))
                for call in delta.get("tool_calls") or ():
                    if isinstance(call, dict):
                        out += self._call(call)
            reason = choice.get("finish_reason")
            if reason:
                self.answer.finish_reason = str(reason)
                matched = choice.get("stop_reason")
                if isinstance(matched, str):
                    self.answer.matched_stop = matched
        return out

    def _call(self, call: Json) -> list[Step]:
        index = call.get("index", len(self._by_index))
        index = index if isinstance(index, int) else len(self._by_index)
        fn: Json = call["function"] if isinstance(call.get("function"), dict) else {}
        out: list[Step] = []
        known = self._by_index.get(index)
        if known is None:
            call_id = call.get("id") or f"{self._call_prefix}_{index}"
            known = self._by_index[index] = ToolCall(index, str(call_id), str(fn.get("name") or ""))
            self.answer.calls.append(known)
            out.append(ToolStart(index, known.call_id, known.name))
        elif fn.get("name") and not known.name:
            known.name = str(fn["name"])
        args = fn.get("arguments")
        if isinstance(args, str) and args:
            known.arguments += args
            out.append(ToolArgs(index, args))
        return out


def fold_reply(chat: Json, call_prefix: str) -> Answer:
    """A non-streamed chat completion as an ``Answer``."""
    answer = Answer(usage=ChatUsage.of(chat.get("usage")) if chat.get("usage") else None)
    choices = chat.get("choices")
    choice: Any = choices[0] if isinstance(choices, list) and choices else {}
    if not isinstance(choice, dict):
        return answer
    message: Json = choice["message"] if isinstance(choice.get("message"), dict) else {}
    content = message.get("content")
    if isinstance(content, str):
        answer.text = content
    elif isinstance(content, list):
        answer.text = "".join(p.get("text") or "" for p in content if isinstance(p, dict))
    for i, call in enumerate(message.get("tool_calls") or ()):
        if not isinstance(call, dict):
            continue
        fn: Json = call["function"] if isinstance(call.get("function"), dict) else {}
        answer.calls.append(
            ToolCall(i, str(call.get("id") or f"{call_prefix}_{i}"), str(fn.get("name") or ""),
                     str(fn.get("arguments") or ""))
        )  # fmt: skip
    answer.finish_reason = choice.get("finish_reason")
    matched = choice.get("stop_reason")
    if isinstance(matched, str):
        answer.matched_stop = matched
    return answer
