"""OpenAI's Responses API (``POST /v1/responses``) as an adapter over chat completions.

Request: ``input`` (a string or items: messages with ``input_text`` / ``input_image`` parts,
``function_call``, ``function_call_output``), ``instructions``, function ``tools`` (other tool
types are refused by name), ``tool_choice``, ``max_output_tokens``, ``temperature``,
``top_p``, ``text.format``, ``parallel_tool_calls``, ``store`` and ``previous_response_id``.
Items a chat upstream cannot serve (``reasoning``, shell and search calls …) are skipped and
named in ``x-lockgate-dropped``, because agents such as Codex send them every turn.

Stream grammar: every event has ``type`` and ``sequence_number``; ``response.created`` →
``response.in_progress`` → per output item ``output_item.added`` → (``content_part.added`` →
``output_text.delta``… → ``output_text.done`` → ``content_part.done``) or
(``function_call_arguments.delta``… → ``.done``) → ``output_item.done`` → ``response.completed``
(or ``response.incomplete`` / ``response.failed``).
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
    sse,
)
from lockgate.protocols.chatstream import (
    Answer,
    ChatFold,
    Ending,
    Text,
    ToolArgs,
    ToolCall,
    ToolStart,
    fold_reply,
)
from lockgate.protocols.checks import bad, number

# request fields that shape nothing a chat upstream does; accepted silently
_IGNORED = ("include", "prompt_cache_key", "safety_identifier", "service_tier", "truncation", "user",
            "metadata", "store", "stream_options", "background", "prompt_cache_retention")  # fmt: skip
_SKIPPED_ITEMS = ("reasoning", "item_reference", "web_search_call", "file_search_call", "computer_call",
                  "computer_call_output", "local_shell_call", "local_shell_call_output", "custom_tool_call",
                  "custom_tool_call_output", "image_generation_call", "code_interpreter_call", "mcp_call",
                  "mcp_list_tools", "mcp_approval_request", "mcp_approval_response", "compaction")  # fmt: skip


def _parts(content: Any, param: str, turn: Turn) -> str | list[Json]:
    """A message's content: a string, or input/output text and image parts."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise bad("must be a string or an array of content parts.", param)
    parts: list[Json] = []
    for i, part in enumerate(content):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise bad("must be an object with a 'type'.", f"{param}[{i}]")
        kind = part["type"]
        if kind in ("input_text", "output_text", "text", "summary_text"):
            if not isinstance(part.get("text"), str):
                raise bad("'text' must be a string.", f"{param}[{i}].text")
            parts.append({"type": "text", "text": part["text"]})
        elif kind == "refusal" and isinstance(part.get("refusal"), str):
            parts.append({"type": "text", "text": part["refusal"]})
        elif kind == "input_image":
            url = part.get("image_url")
            if not isinstance(url, str) or not url:
                turn.drop("input_image:file_id")
                continue
            image: Json = {"url": url}
            if part.get("detail") in ("low", "high", "auto"):
                image["detail"] = part["detail"]
            parts.append({"type": "image_url", "image_url": image})
        else:
            turn.drop(kind)
    if all(p["type"] == "text" for p in parts):
        return "\n\n".join(p["text"] for p in parts)
    return parts


def _output_text(output: Any, param: str) -> str:
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return "\n\n".join(
            p.get("text") or "" for p in output if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    raise bad("must be a string or an array of content parts.", param)


class _Items:
    """Builds chat messages from Responses input items."""

    def __init__(self, turn: Turn) -> None:
        self.turn = turn
        self.out: list[Json] = []

    def add(self, item: Any, i: int) -> None:
        param = f"input[{i}]"
        if not isinstance(item, dict):
            raise bad("must be an object.", param)
        kind = item.get("type", "message" if "role" in item else None)
        if kind == "message":
            self._message(item, param)
        elif kind == "function_call":
            self._call(item, param)
        elif kind == "function_call_output":
            call_id = item.get("call_id")
            if not isinstance(call_id, str) or not call_id:
                raise bad("'call_id' is required.", f"{param}.call_id")
            text = _output_text(item.get("output", ""), f"{param}.output")
            self.out.append({"role": "tool", "tool_call_id": call_id, "content": text})
        elif isinstance(kind, str):
            self.turn.drop(kind if kind in _SKIPPED_ITEMS else f"item:{kind}")
        else:
            raise bad("needs a 'type' (message, function_call, function_call_output).", f"{param}.type")

    def _message(self, item: Json, param: str) -> None:
        role = item.get("role")
        if role not in ("user", "assistant", "system", "developer"):
            raise bad(f"'role' must be user, assistant, system or developer, not {role!r}.", f"{param}.role")
        content = _parts(item.get("content"), f"{param}.content", self.turn)
        role = "system" if role == "developer" else role
        if role == "assistant" and not isinstance(content, str):
            content = "".join(p.get("text", "") for p in content)
        if content == "" or content == []:
            return
        self.out.append({"role": role, "content": content})

    def _call(self, item: Json, param: str) -> None:
        name, call_id = item.get("name"), item.get("call_id")
        if not isinstance(name, str) or not name:
            raise bad("'name' is required.", f"{param}.name")
        if not isinstance(call_id, str) or not call_id:
            raise bad("'call_id' is required.", f"{param}.call_id")
        args = item.get("arguments", "")
        if not isinstance(args, str):
            args = orjson.dumps(args).decode()
        call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}
        last = self.out[-1] if self.out else None
        if last is not None and last["role"] == "assistant":
            last.setdefault("tool_calls", []).append(call)  # one assistant turn: text and its calls
        else:
            self.out.append({"role": "assistant", "content": None, "tool_calls": [call]})

    def pair(self) -> list[Json]:
        """Drop calls that have no output and outputs that have no call (chat upstreams refuse
        orphans; agents leave them when a turn was interrupted or a call was skipped)."""
        called = {c["id"] for m in self.out for c in m.get("tool_calls") or ()}
        answered = {m["tool_call_id"] for m in self.out if m["role"] == "tool"}
        out: list[Json] = []
        for m in self.out:
            if m["role"] == "tool" and m["tool_call_id"] not in called:
                self.turn.drop("orphan function_call_output")
                continue
            calls = m.get("tool_calls")
            if calls:
                kept = [c for c in calls if c["id"] in answered]
                if len(kept) < len(calls):
                    self.turn.drop("orphan function_call")
                if kept:
                    m = {**m, "tool_calls": kept}
                else:
                    m = {k: v for k, v in m.items() if k != "tool_calls"}
                    if not m.get("content"):
                        continue
            out.append(m)
        return out


def _unsupported(kind: Any, param: str) -> InvalidRequest:
    return bad(
        f"tool type {kind!r} is not supported by this gateway; only 'function' tools are "
        "(hosted tools such as web search run at OpenAI, not on the models it serves).",
        param, code="unsupported_tool_type",
    )  # fmt: skip


def _tools(tools: Any, turn: Turn, forced: Any) -> list[Json]:
    """Function tools.  Other types cannot run here: a request that forces one (``tool_choice``)
    is refused naming it; otherwise it is skipped and named in ``x-lockgate-dropped``, because
    agents offer them on every turn (Codex sends ``web_search`` and ``namespace`` tools)."""
    if not isinstance(tools, list):
        raise bad("must be an array of tools.", "tools")
    forced_type = forced.get("type") if isinstance(forced, dict) else None
    out = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise bad("must be an object.", f"tools[{i}]")
        kind = tool.get("type")
        if not isinstance(kind, str):
            raise bad("needs a 'type'.", f"tools[{i}].type")
        if kind != "function":
            if forced_type == kind or (forced_type is not None and forced_type.startswith(kind)):
                raise _unsupported(kind, f"tools[{i}].type")
            turn.drop(f"tool:{kind}")
            continue
        if not isinstance(tool.get("name"), str) or not tool["name"]:
            raise bad("a function tool needs a 'name'.", f"tools[{i}].name")
        fn: Json = {
            "name": tool["name"],
            "parameters": tool.get("parameters") or {"type": "object", "properties": {}},
        }
        if isinstance(tool.get("description"), str):
            fn["description"] = tool["description"]
        if isinstance(tool.get("strict"), bool):
            fn["strict"] = tool["strict"]
        out.append({"type": "function", "function": fn})
    return out


def _tool_choice(choice: Any) -> Any:
    if choice in ("auto", "none", "required"):
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function" and isinstance(choice.get("name"), str):
        return {"type": "function", "function": {"name": choice["name"]}}
    if isinstance(choice, dict) and isinstance(choice.get("type"), str):
        raise _unsupported(choice["type"], "tool_choice.type")
    raise bad("must be 'auto', 'none', 'required' or {'type': 'function', 'name': …}.", "tool_choice")


def _text_format(text: Any, chat: Json) -> None:
    if not isinstance(text, dict):
        raise bad("must be an object.", "text")
    fmt = text.get("format")
    if fmt is None:
        return
    if not isinstance(fmt, dict):
        raise bad("must be an object with a 'type'.", "text.format")
    kind = fmt.get("type")
    if kind == "text":
        return
    if kind == "json_object":
        chat["response_format"] = {"type": "json_object"}
    elif kind == "json_schema":
        if not isinstance(fmt.get("schema"), dict):
            raise bad("'schema' is required for json_schema.", "text.format.schema")
        spec: Json = {"name": fmt.get("name") or "response", "schema": fmt["schema"]}
        if isinstance(fmt.get("strict"), bool):
            spec["strict"] = fmt["strict"]
        chat["response_format"] = {"type": "json_schema", "json_schema": spec}
    else:
        raise bad(f"unknown type {kind!r} (text, json_object, json_schema).", "text.format.type")


class OpenAIResponses(WireProtocol):
    name = "openai.responses"
    native_key = "responses"
    stores = True

    def wants_store(self, turn: Turn) -> bool | None:
        store: bool | None = turn.extra.get("store")
        return store

    def continues(self, turn: Turn) -> str | None:
        previous: str | None = turn.extra.get("previous_response_id")
        return previous

    def parse(self, body: Json, headers: Mapping[str, str]) -> Turn:
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise bad("is required and must be a string naming a model alias.", "model")
        stream = body.get("stream", False)
        if stream is not None and not isinstance(stream, bool):
            raise bad("must be true or false.", "stream")
        chat: Json = {"model": model, "stream": bool(stream)}
        turn = Turn(chat=chat, original=body, stream=bool(stream))
        items = _Items(turn)
        instructions = body.get("instructions")
        if instructions is not None and not isinstance(instructions, str):
            raise bad("must be a string.", "instructions")
        inp = body.get("input")
        if isinstance(inp, str):
            items.out.append({"role": "user", "content": inp})
        elif isinstance(inp, list):
            for i, item in enumerate(inp):
                items.add(item, i)
        elif inp is not None:
            raise bad("must be a string or an array of input items.", "input")
        previous = body.get("previous_response_id")
        if previous is not None and (not isinstance(previous, str) or not previous):
            raise bad("must be a response id string.", "previous_response_id")
        turn.extra["previous_response_id"] = previous
        turn.extra["instructions"] = instructions
        turn.extra["input_messages"] = items.out  # paired once the history is known
        turn.extra["items"] = items
        if not items.out and previous is None:
            raise bad("is required: a string or at least one message item.", "input")
        chat["messages"] = (
            [{"role": "system", "content": instructions}] if instructions else []
        ) + items.pair()
        number(body, "max_output_tokens", "max_tokens", chat, 1, None, integer=True)
        number(body, "temperature", "temperature", chat, 0.0, 2.0)
        number(body, "top_p", "top_p", chat, 0.0, 1.0)
        if body.get("tools"):
            tools = _tools(body["tools"], turn, body.get("tool_choice"))
            if tools:
                chat["tools"] = tools
            if tools and body.get("tool_choice") is not None:
                chat["tool_choice"] = _tool_choice(body["tool_choice"])
            if isinstance(body.get("parallel_tool_calls"), bool):
                chat["parallel_tool_calls"] = body["parallel_tool_calls"]
        if body.get("text") is not None:
            _text_format(body["text"], chat)
        store = body.get("store")
        if store is not None and not isinstance(store, bool):
            raise bad("must be true or false.", "store")
        turn.extra["store"] = store
        if body.get("reasoning"):
            turn.drop("reasoning")
        return turn

    def continue_from(self, turn: Turn, history: list[Json]) -> None:
        """Prepend a stored conversation (``previous_response_id``); the earlier instructions
        are not carried over, as OpenAI documents."""
        items: _Items = turn.extra["items"]
        items.out = [*history, *items.out]
        instructions = turn.extra["instructions"]
        system = [{"role": "system", "content": instructions}] if instructions else []
        turn.chat["messages"] = system + items.pair()
        if len(turn.chat["messages"]) == len(system):
            raise bad("the stored conversation and this input hold no message to answer.", "input")

    def keep(self, turn: Turn, reply: Json) -> list[Json]:
        """The conversation to store for a later ``previous_response_id``: everything but the
        instructions, plus this reply as one assistant message."""
        messages = turn.chat["messages"]
        history = messages[1:] if turn.extra.get("instructions") else list(messages)
        text = "".join(
            part.get("text", "")
            for item in reply.get("output") or () if item.get("type") == "message"
            for part in item.get("content") or ()
        )  # fmt: skip
        calls = [{"id": item["call_id"], "type": "function",
                  "function": {"name": item["name"], "arguments": item["arguments"]}}
                 for item in reply.get("output") or () if item.get("type") == "function_call"]  # fmt: skip
        assistant: Json = {"role": "assistant", "content": text or None}
        if calls:
            assistant["tool_calls"] = calls
        return [*history, assistant]

    # -- replies --------------------------------------------------------------------------
    def reply(self, turn: Turn, chat: Json, ids: ReplyIds) -> Json:
        answer = fold_reply(chat, ids.make("call"))
        return self.response(turn, ids, answer, answer.ending(turn.stop), answer.usage or ChatUsage())

    def response(
        self, turn: Turn, ids: ReplyIds, answer: Answer | None, ending: Ending | None, usage: ChatUsage | None,
        status: str | None = None, error: Json | None = None,
    ) -> Json:  # fmt: skip
        output: list[Json] = []
        if answer is not None:
            if answer.text:
                output.append(_message_item(ids, answer.text, "completed"))
            output += [_call_item(ids, call, "completed") for call in answer.calls]
        incomplete = None
        if status is None:
            status = "completed"
            if ending is not None and ending.kind == "length":
                status, incomplete = "incomplete", {"reason": "max_output_tokens"}
            elif ending is not None and ending.kind == "refusal":
                status, incomplete = "incomplete", {"reason": "content_filter"}
        body = turn.original
        return {
            "id": ids.make("resp"),
            "object": "response",
            "created_at": ids.created,
            "status": status,
            "model": ids.model,
            "output": output,
            "output_text": answer.text if answer is not None else "",
            "usage": _usage(usage) if usage is not None else None,
            "error": error,
            "incomplete_details": incomplete,
            "instructions": turn.extra.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": turn.extra.get("previous_response_id"),
            "temperature": body.get("temperature"),
            "top_p": body.get("top_p"),
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools") or [],
            "text": body.get("text") or {"format": {"type": "text"}},
            "store": bool(turn.extra.get("stored")),
            "metadata": body.get("metadata") or {},
        }

    def stream(self, turn: Turn, ids: ReplyIds) -> StreamTranslator:
        return ResponsesStream(self, turn, ids)

    def native_usage(self, reply: Json) -> ChatUsage | None:
        usage = reply.get("usage")
        if not isinstance(usage, dict):
            inner = reply.get("response")
            usage = inner.get("usage") if isinstance(inner, dict) else None
        if not isinstance(usage, dict):
            return None
        details = usage.get("input_tokens_details")
        cached = details.get("cached_tokens") if isinstance(details, dict) else 0
        return ChatUsage(
            int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0), int(cached or 0)
        )

    # -- errors ---------------------------------------------------------------------------
    def error_body(self, err: GatewayError, request_id: str | None) -> tuple[int, bytes]:
        return err.status, err.to_body()

    def upstream_error(self, turn: Turn | None, failure: UpstreamFailure) -> GatewayError:
        if failure.context_overflow:
            return InvalidRequest(failure.message, code="context_length_exceeded", param="input")
        return super().upstream_error(turn, failure)

    def failed_stream(self, turn: Turn, ids: ReplyIds, failure: UpstreamFailure) -> bytes | None:
        """A streamed request the upstream refused: ``response.failed`` in-band, as Codex reads it."""
        stream = ResponsesStream(self, turn, ids)
        code = "context_length_exceeded" if failure.context_overflow else (failure.code or "upstream_error")
        return stream.start() + stream.fail(failure.message, code)


def _usage(usage: ChatUsage) -> Json:
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_tokens},
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage.prompt_tokens + usage.completion_tokens,
    }


def _message_item(ids: ReplyIds, text: str, status: str) -> Json:
    content = (
        [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
        if status == "completed"
        else []
    )
    return {
        "id": ids.make("msg"),
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": content,
    }


def _call_item(ids: ReplyIds, call: ToolCall, status: str) -> Json:
    return {"id": ids.make("fc", call.index), "type": "function_call", "status": status,
            "call_id": call.call_id, "name": call.name, "arguments": call.arguments if status == "completed" else ""}  # fmt: skip


class ResponsesStream(StreamTranslator):
    """Chat completion chunks in, Responses stream events out."""

    def __init__(self, protocol: OpenAIResponses, turn: Turn, ids: ReplyIds) -> None:
        super().__init__()
        self.protocol = protocol
        self.turn = turn
        self.ids = ids
        self.fold = ChatFold(ids.make("call"))
        self.seq = 0
        self.output_index = -1
        self.open: str | None = None  # "text" | "tool"
        self.tool: ToolCall | None = None
        self._final: Json | None = None

    def _ev(self, kind: str, data: Json) -> bytes:
        data = {"type": kind, "sequence_number": self.seq, **data}
        self.seq += 1
        return sse(kind, data)

    def start(self) -> bytes:
        snapshot = self.protocol.response(self.turn, self.ids, None, None, None, status="in_progress")
        return self._ev("response.created", {"response": snapshot}) + self._ev(
            "response.in_progress", {"response": snapshot}
        )

    def _close(self) -> bytes:
        out = b""
        if self.open == "text":
            text = self.fold.answer.text
            idx = {"item_id": self.ids.make("msg"), "output_index": self.output_index, "content_index": 0}
            part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
            out += self._ev("response.output_text.done", {**idx, "text": text, "logprobs": []})
            out += self._ev("response.content_part.done", {**idx, "part": part})
            out += self._ev("response.output_item.done", {
                "output_index": self.output_index, "item": _message_item(self.ids, text, "completed")})  # fmt: skip
        elif self.open == "tool" and self.tool is not None:
            item = _call_item(self.ids, self.tool, "completed")
            out += self._ev("response.function_call_arguments.done", {
                "item_id": item["id"], "output_index": self.output_index, "arguments": self.tool.arguments})  # fmt: skip
            out += self._ev("response.output_item.done", {"output_index": self.output_index, "item": item})
        self.open, self.tool = None, None
        return out

    def feed(self, event: str | None, data: Json) -> bytes:
        out = bytearray()
        for step in self.fold.steps(data):
            if isinstance(step, Text):
                if self.open != "text":
                    if self.fold.answer.calls:
                        # text after a tool call: one message item per answer, so it is appended
                        # to the final reply only (Codex reads tool calls, not late text)
                        continue
                    out += self._close()
                    self.output_index += 1
                    self.open = "text"
                    item = _message_item(self.ids, "", "in_progress")
                    out += self._ev(
                        "response.output_item.added", {"output_index": self.output_index, "item": item}
                    )
                    part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
                    out += self._ev("response.content_part.added", {
                        "item_id": item["id"], "output_index": self.output_index, "content_index": 0, "part": part})  # fmt: skip
                out += self._ev("response.output_text.delta", {
                    "item_id": self.ids.make("msg"), "output_index": self.output_index, "content_index": 0,
                    "delta": step.text, "logprobs": []})  # fmt: skip
            elif isinstance(step, ToolStart):
                out += self._close()
                self.output_index += 1
                self.open = "tool"
                self.tool = next(c for c in self.fold.answer.calls if c.index == step.index)
                item = _call_item(self.ids, self.tool, "in_progress")
                out += self._ev(
                    "response.output_item.added", {"output_index": self.output_index, "item": item}
                )
            elif isinstance(step, ToolArgs) and self.tool is not None and self.tool.index == step.index:
                out += self._ev("response.function_call_arguments.delta", {
                    "item_id": self.ids.make("fc", step.index), "output_index": self.output_index,
                    "delta": step.arguments})  # fmt: skip
        return bytes(out)

    def finish(self) -> bytes:
        self.completed = True
        answer = self.fold.answer
        out = self._close()
        self.usage = answer.usage or ChatUsage()
        ending = answer.ending(self.turn.stop)
        final = self.protocol.response(self.turn, self.ids, answer, ending, self.usage)
        self._final = final
        kind = "response.completed" if final["status"] == "completed" else "response.incomplete"
        return out + self._ev(kind, {"response": final})

    def fail(self, message: str, code: str) -> bytes:
        out = self._close()
        answer = self.fold.answer
        self.usage = answer.usage
        final = self.protocol.response(self.turn, self.ids, answer, None, answer.usage, status="failed",
                                       error={"code": code, "message": message})  # fmt: skip
        self._final = final
        return out + self._ev("response.failed", {"response": final})

    def final(self) -> Json | None:
        return self._final
