"""The OpenAI endpoints lockgate proxies, described as data: path, required fields, streaming."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lockgate.errors import InvalidRequest
from lockgate.protocols import ANTHROPIC_MESSAGES, OPENAI_RESPONSES, WireProtocol


def _require_model(body: dict[str, Any]) -> None:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("'model' is required and must be a string naming a model alias.", param="model")


def _check_stream(body: dict[str, Any]) -> None:
    stream = body.get("stream", False)
    if stream is not None and not isinstance(stream, bool):
        raise InvalidRequest("'stream' must be true or false.", param="stream")
    opts = body.get("stream_options")
    if opts is not None and not isinstance(opts, dict):
        raise InvalidRequest("'stream_options' must be an object.", param="stream_options")


def _check_chat(body: dict[str, Any]) -> None:
    _require_model(body)
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs:
        raise InvalidRequest("'messages' is required and must be a non-empty array.", param="messages")
    for i, m in enumerate(msgs):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise InvalidRequest(f"messages[{i}] must be an object with a 'role'.", param=f"messages[{i}]")
    _check_stream(body)


def _check_completion(body: dict[str, Any]) -> None:
    _require_model(body)
    prompt = body.get("prompt")
    if not isinstance(prompt, (str, list)):
        raise InvalidRequest("'prompt' is required and must be a string or an array.", param="prompt")
    _check_stream(body)


def _check_embeddings(body: dict[str, Any]) -> None:
    _require_model(body)
    inp = body.get("input")
    if not isinstance(inp, (str, list)) or (isinstance(inp, list) and not inp):
        raise InvalidRequest("'input' is required: a string or a non-empty array.", param="input")
    if body.get("stream"):
        raise InvalidRequest("embeddings cannot be streamed.", param="stream")


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str  # record/metrics name
    path: str  # upstream path under the provider's base URL
    validate: Callable[[dict[str, Any]], None]
    streams: bool
    # the client's protocol, when it is not the internal one (chat completions); its adapter
    # translates at the edge and ``validate`` checks the translated body
    protocol: WireProtocol | None = None


CHAT = Endpoint("chat.completions", "/chat/completions", _check_chat, True)
COMPLETIONS = Endpoint("completions", "/completions", _check_completion, True)
EMBEDDINGS = Endpoint("embeddings", "/embeddings", _check_embeddings, False)
MESSAGES = Endpoint("anthropic.messages", "/chat/completions", _check_chat, True, ANTHROPIC_MESSAGES)
RESPONSES = Endpoint("openai.responses", "/chat/completions", _check_chat, True, OPENAI_RESPONSES)
COUNT_TOKENS = Endpoint("anthropic.count_tokens", "/count_tokens", _check_chat, False, ANTHROPIC_MESSAGES)
