"""Anthropic's Messages API (``POST /v1/messages``) as an adapter over chat completions.

Request: ``system`` (string or text blocks), ``messages`` whose content is a string or blocks
(text, image, document, tool_use, tool_result; thinking and unknown blocks are dropped and
named in ``x-lockgate-dropped``), ``tools``, ``tool_choice``, ``max_tokens``,
``stop_sequences``, ``temperature``, ``top_p``, ``top_k``, ``metadata``.

Stream grammar (no ``[DONE]``): ``message_start`` → per block ``content_block_start`` /
``content_block_delta``… / ``content_block_stop`` → ``message_delta`` (stop reason,
cumulative usage) → ``message_stop``; ``ping`` while the upstream is silent.  One block is
open at a time, and every block opened is closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from lockgate.errors import GatewayError, InvalidRequest
from lockgate.protocols.base import (
    ChatUsage,
    Json,
    ReplyIds,
    StreamTranslator,
    Turn,
    UpstreamFailure,
    WireProtocol,
    estimate_tokens,
    sse,
)
from lockgate.protocols.chatstream import Answer, ChatFold, Ending, Text, ToolArgs, ToolStart, fold_reply
from lockgate.protocols.checks import bad, number

STOP_REASONS = {"end": "end_turn", "length": "max_tokens", "tool": "tool_use",
                "stop_sequence": "stop_sequence", "refusal": "refusal"}  # fmt: skip

ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
               404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
               503: "overloaded_error", 529: "overloaded_error"}  # fmt: skip


def _text_of(blocks: Any, param: str) -> str:
    """A string, or a list of text blocks joined (``system``, ``tool_result.content``)."""
    if isinstance(blocks, str):
        return blocks
    if not isinstance(blocks, list):
        raise bad("must be a string or an array of text blocks.", param)
    parts = []
    for i, block in enumerate(blocks):
        if not isinstance(block, dict):
            raise bad("must be an object with a 'type'.", f"{param}[{i}]")
        if block.get("type") == "text":
            if not isinstance(block.get("text"), str):
                raise bad("'text' must be a string.", f"{param}[{i}].text")
            parts.append(block["text"])
    return "\n\n".join(parts)


def _image(block: Json, param: str) -> Json:
    src = block.get("source")
    if not isinstance(src, dict):
        raise bad("an image block needs a 'source' object.", f"{param}.source")
    if src.get("type") == "base64":
        media, data = src.get("media_type"), src.get("data")
        if not isinstance(media, str) or not isinstance(data, str):
            raise bad("a base64 image needs 'media_type' and 'data' strings.", f"{param}.source")
        return {"type": "image_url", "image_url": {"url": f"data:{media};base64,{data}"}}
    if src.get("type") == "url" and isinstance(src.get("url"), str):
        return {"type": "image_url", "image_url": {"url": src["url"]}}
    raise bad(f"unsupported image source type {src.get('type')!r} (base64 or url).", f"{param}.source.type")


def _tool_result(block: Json, param: str) -> Json:
    tool_id = block.get("tool_use_id")
    if not isinstance(tool_id, str) or not tool_id:
        raise bad("a tool_result block needs 'tool_use_id'.", f"{param}.tool_use_id")
    content = block.get("content", "")
    text = _text_of(content, f"{param}.content") if content is not None else ""
    if block.get("is_error"):
        text = f"[tool error] {text}"
    return {"role": "tool", "tool_call_id": tool_id, "content": text}


class _Messages:
    """Builds the chat message list from Anthropic messages."""

    def __init__(self, turn: Turn) -> None:
        self.turn = turn
        self.out: list[Json] = []

    def add(self, message: Any, i: int) -> None:
        param = f"messages[{i}]"
        if not isinstance(message, dict):
            raise bad("must be an object with 'role' and 'content'.", param)
        role = message.get("role")
        content = message.get("content")
        if role == "system":
            # Claude Code sends its environment notes as a system turn inside `messages`
            text = _text_of(content, f"{param}.content")
            if text:
                self.out.append({"role": "system", "content": text})
            return
        if role not in ("user", "assistant"):
            raise bad(f"'role' must be 'user', 'assistant' or 'system', not {role!r}.", f"{param}.role")
        if isinstance(content, str):
            self.out.append({"role": role, "content": content})
            return
        if not isinstance(content, list):
            raise bad("'content' must be a string or an array of content blocks.", f"{param}.content")
        parts: list[Json] = []
        calls: list[Json] = []
        results: list[Json] = []
        for j, block in enumerate(content):
            self._block(block, f"{param}.content[{j}]", role, parts, calls, results)
        self.out.extend(results)  # tool results answer the previous assistant turn: first
        if role == "assistant":
            text = "".join(p.get("text", "") for p in parts if p["type"] == "text")
            msg: Json = {"role": "assistant", "content": text or None}
            if calls:
                msg["tool_calls"] = calls
            if text or calls:
                self.out.append(msg)
        elif parts:
            only_text = all(p["type"] == "text" for p in parts)
            joined = "\n\n".join(p["text"] for p in parts) if only_text else parts
            self.out.append({"role": "user", "content": joined})

    def _block(
        self, block: Any, param: str, role: str, parts: list[Json], calls: list[Json], results: list[Json]
    ) -> None:
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise bad("must be an object with a 'type'.", param)
        kind = block["type"]
        if kind == "text":
            if not isinstance(block.get("text"), str):
                raise bad("'text' must be a string.", f"{param}.text")
            parts.append({"type": "text", "text": block["text"]})
        elif kind == "image":
            parts.append(_image(block, param))
        elif kind == "document":
            self._document(block, param, parts)
        elif kind == "tool_use" and role == "assistant":
            name = block.get("name")
            if not isinstance(name, str) or not name:
                raise bad("a tool_use block needs 'name'.", f"{param}.name")
            args = orjson.dumps(block.get("input") or {}).decode()
            calls.append({"id": str(block.get("id") or f"toolu_{len(calls)}"), "type": "function",
                          "function": {"name": name, "arguments": args}})  # fmt: skip
        elif kind == "tool_result" and role == "user":
            results.append(_tool_result(block, param))
        else:
            self.turn.drop(kind)  # thinking, redacted_thinking, server tool blocks, future types

    def _document(self, block: Json, param: str, parts: list[Json]) -> None:
        src = block.get("source")
        if isinstance(src, dict) and src.get("type") == "text" and isinstance(src.get("data"), str):
            title = block.get("title")
            head = f"{title}\n\n" if isinstance(title, str) and title else ""
            parts.append({"type": "text", "text": head + src["data"]})
        elif isinstance(src, dict) and src.get("type") == "content":
            parts.append({"type": "text", "text": _text_of(src.get("content"), f"{param}.source.content")})
        else:
            kind = src.get("type") if isinstance(src, dict) else None
            self.turn.drop(f"document:{kind}")


def _tools(tools: Any, turn: Turn) -> list[Json]:
    if not isinstance(tools, list):
        raise bad("must be an array of tool definitions.", "tools")
    out = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise bad("a tool needs a 'name'.", f"tools[{i}]")
        kind = tool.get("type")
        if kind not in (None, "custom"):
            turn.drop(f"tool:{kind}")  # server tools (web search, code execution …) run at Anthropic
            continue
        schema = tool.get("input_schema")
        if not isinstance(schema, dict):
            raise bad("a tool needs an 'input_schema' object.", f"tools[{i}].input_schema")
        fn: Json = {"name": tool["name"], "parameters": schema}
        if isinstance(tool.get("description"), str):
            fn["description"] = tool["description"]
        out.append({"type": "function", "function": fn})
    return out


def _tool_choice(choice: Any, chat: Json) -> None:
    if not isinstance(choice, dict) or not isinstance(choice.get("type"), str):
        raise bad("must be an object with a 'type' (auto, any, tool, none).", "tool_choice")
    kind = choice["type"]
    if kind == "auto":
        chat["tool_choice"] = "auto"
    elif kind == "any":
        chat["tool_choice"] = "required"
    elif kind == "none":
        chat["tool_choice"] = "none"
    elif kind == "tool":
        if not isinstance(choice.get("name"), str):
            raise bad("'name' is required when type is 'tool'.", "tool_choice.name")
        chat["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    else:
        raise bad(f"unknown type {kind!r} (auto, any, tool, none).", "tool_choice.type")
    if choice.get("disable_parallel_tool_use") is True:
        chat["parallel_tool_calls"] = False


class AnthropicMessages(WireProtocol):
    name = "anthropic.messages"
    native_key = "anthropic"
    native_key_header = "x-api-key"

    def parse(self, body: Json, headers: Mapping[str, str]) -> Turn:
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise bad("is required and must be a string naming a model alias.", "model")
        max_tokens = body.get("max_tokens")
        if isinstance(max_tokens, float) and max_tokens.is_integer():  # JSON's 1.0 is an integer too
            max_tokens = int(max_tokens)
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise bad("is required and must be a positive integer.", "max_tokens")
        stream = body.get("stream", False)
        if not isinstance(stream, bool):
            raise bad("must be true or false.", "stream")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise bad("is required and must be a non-empty array.", "messages")
        chat: Json = {"model": model, "max_tokens": max_tokens, "stream": stream}
        turn = Turn(chat=chat, original=body, stream=stream)
        built = _Messages(turn)
        system = body.get("system")
        if system is not None:
            text = _text_of(system, "system")
            if text:
                built.out.append({"role": "system", "content": text})
        for i, message in enumerate(messages):
            built.add(message, i)
        if not any(m["role"] != "system" for m in built.out):
            raise bad("holds nothing this gateway can serve (only dropped block types).", "messages")
        chat["messages"] = built.out
        number(body, "temperature", "temperature", chat, 0.0, 1.0)
        number(body, "top_p", "top_p", chat, 0.0, 1.0)
        number(body, "top_k", "top_k", chat, 0, None, integer=True)
        stops = body.get("stop_sequences")
        if stops is not None:
            if not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops):
                raise bad("must be an array of non-empty strings.", "stop_sequences")
            turn.stop = list(stops)
            if stops:
                chat["stop"] = list(stops)
        if body.get("tools"):
            tools = _tools(body["tools"], turn)
            if tools:
                chat["tools"] = tools
        if body.get("tool_choice") is not None and chat.get("tools"):
            _tool_choice(body["tool_choice"], chat)
        metadata = body.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise bad("must be an object.", "metadata")
        for key in ("thinking", "container", "mcp_servers", "context_management"):
            if body.get(key):
                turn.drop(key)
        return turn

    # -- replies --------------------------------------------------------------------------
    def reply(self, turn: Turn, chat: Json, ids: ReplyIds) -> Json:
        answer = fold_reply(chat, ids.make("toolu"))
        return self._message(answer, answer.ending(turn.stop), ids, answer.usage or ChatUsage())

    def _message(self, answer: Answer, ending: Ending, ids: ReplyIds, usage: ChatUsage) -> Json:
        content: list[Json] = []
        if answer.text:
            content.append({"type": "text", "text": answer.text})
        for call in answer.calls:
            content.append({"type": "tool_use", "id": call.call_id, "name": call.name,
                            "input": _input(call.arguments)})  # fmt: skip
        return {
            "id": ids.make("msg"),
            "type": "message",
            "role": "assistant",
            "model": ids.model,
            "content": content,
            "stop_reason": STOP_REASONS[ending.kind],
            "stop_sequence": ending.stop_sequence,
            "usage": _usage(usage),
        }

    def stream(self, turn: Turn, ids: ReplyIds) -> StreamTranslator:
        return MessagesStream(self, turn, ids)

    def native_usage(self, reply: Json) -> ChatUsage | None:
        usage = reply.get("usage")
        if not isinstance(usage, dict):
            message = reply.get("message")
            usage = message.get("usage") if isinstance(message, dict) else None
        if not isinstance(usage, dict):
            return None
        cached = int(usage.get("cache_read_input_tokens") or 0)
        created = int(usage.get("cache_creation_input_tokens") or 0)
        return ChatUsage(int(usage.get("input_tokens") or 0) + cached + created,
                         int(usage.get("output_tokens") or 0), cached)  # fmt: skip

    def native_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        out = {"anthropic-version": headers.get("anthropic-version") or "2023-06-01"}
        beta = headers.get("anthropic-beta")
        if beta:
            out["anthropic-beta"] = beta
        return out

    # -- errors ---------------------------------------------------------------------------
    def error_body(self, err: GatewayError, request_id: str | None) -> tuple[int, bytes]:
        kind = ERROR_TYPES.get(err.status, "api_error")
        body: Json = {"type": "error", "error": {"type": kind, "message": err.message}}
        if request_id:
            body["request_id"] = request_id
        return err.status, orjson.dumps(body)

    def upstream_error(self, turn: Turn | None, failure: UpstreamFailure) -> GatewayError:
        if failure.context_overflow:
            # Claude Code compacts the conversation when it reads this wording
            message = failure.message
            if "prompt is too long" not in message.lower():
                message = f"prompt is too long: {message}"
            return InvalidRequest(message, code="context_length_exceeded")
        return super().upstream_error(turn, failure)


def _input(arguments: str) -> Any:
    if not arguments.strip():
        return {}
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return {"_unparsed_arguments": arguments}
    return value if isinstance(value, dict) else {"value": value}


def _usage(usage: ChatUsage) -> Json:
    return {
        "input_tokens": max(0, usage.prompt_tokens - usage.cached_tokens),
        "output_tokens": usage.completion_tokens,
        "cache_read_input_tokens": usage.cached_tokens,
        "cache_creation_input_tokens": 0,
    }


class MessagesStream(StreamTranslator):
    """Chat completion chunks in, Anthropic stream events out."""

    def __init__(self, protocol: AnthropicMessages, turn: Turn, ids: ReplyIds) -> None:
        super().__init__()
        self.protocol = protocol
        self.turn = turn
        self.ids = ids
        self.fold = ChatFold(ids.make("toolu"))
        self.block = -1  # index of the last block opened
        self.open: str | None = None  # "text" | "tool" while a block is open
        self.tool_index: int | None = None
        self.estimate = estimate_tokens(turn.chat)
        self._final: Json | None = None

    def start(self) -> bytes:
        usage = {"input_tokens": self.estimate, "output_tokens": 0}
        message: Json = {"id": self.ids.make("msg"), "type": "message", "role": "assistant", "model": self.ids.model,
                   "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}  # fmt: skip
        return sse("message_start", {"type": "message_start", "message": message})

    def _close(self) -> bytes:
        if self.open is None:
            return b""
        self.open, self.tool_index = None, None
        return sse("content_block_stop", {"type": "content_block_stop", "index": self.block})

    def _open(self, kind: str, block: Json) -> bytes:
        out = self._close()
        self.block += 1
        self.open = kind
        return out + sse("content_block_start", {"type": "content_block_start", "index": self.block,
                                                 "content_block": block})  # fmt: skip

    def feed(self, event: str | None, data: Json) -> bytes:
        out = bytearray()
        for step in self.fold.steps(data):
            if isinstance(step, Text):
                if self.open != "text":
                    out += self._open("text", {"type": "text", "text": ""})
                out += self._delta({"type": "text_delta", "text": step.text})
            elif isinstance(step, ToolStart):
                out += self._open(
                    "tool", {"type": "tool_use", "id": step.call_id, "name": step.name, "input": {}}
                )
                self.tool_index = step.index
            elif isinstance(step, ToolArgs) and self.open == "tool" and self.tool_index == step.index:
                out += self._delta({"type": "input_json_delta", "partial_json": step.arguments})
            # argument pieces for a call whose block is already closed are kept in the fold only
        return bytes(out)

    def _delta(self, delta: Json) -> bytes:
        return sse(
            "content_block_delta", {"type": "content_block_delta", "index": self.block, "delta": delta}
        )

    def finish(self) -> bytes:
        self.completed = True
        answer = self.fold.answer
        ending = answer.ending(self.turn.stop)
        return self._end(ending)

    def _end(self, ending: Ending) -> bytes:
        answer = self.fold.answer
        self.usage = answer.usage or ChatUsage(self.estimate, 0)
        out = self._close()
        usage = _usage(self.usage)
        out += sse("message_delta", {
            "type": "message_delta",
            "delta": {"stop_reason": STOP_REASONS[ending.kind], "stop_sequence": ending.stop_sequence},
            "usage": usage,
        })  # fmt: skip
        self._final = self.protocol._message(answer, ending, self.ids, self.usage)
        return out + sse("message_stop", {"type": "message_stop"})

    def fail(self, message: str, code: str) -> bytes:
        out = self._close()
        self.usage = self.fold.answer.usage
        return out + sse("error", {"type": "error", "error": {"type": "api_error", "message": message}})

    def ping(self) -> bytes:
        return sse("ping", {"type": "ping"})

    def final(self) -> Json | None:
        return self._final
