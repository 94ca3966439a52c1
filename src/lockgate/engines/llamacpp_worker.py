"""The llama.cpp engine process: one model, an OpenAI-compatible HTTP surface, exact usage.

lockgate starts one of these per replica (``python -m lockgate.engines.llamacpp_worker``)
and supervises it.  It wraps ``llama_cpp.Llama`` directly (rather than llama-cpp-python's
FastAPI server) so that streamed responses carry ``usage`` when asked with
``stream_options.include_usage`` and so that a client's disconnect stops generation.

One generation runs at a time per process (llama.cpp contexts are not thread-safe);
lockgate spreads concurrent requests over replicas.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
from aiohttp import web

from lockgate import gcpolicy
from lockgate.engines.llamacpp_usage import UsageCounter

_PASSTHROUGH = (
    "temperature",
    "top_p",
    "top_k",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "tools",
    "tool_choice",
    "response_format",
    "logprobs",
    "top_logprobs",
)


def _error(status: int, message: str, param: str | None = None) -> web.Response:
    body = {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": None}}
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")


class Engine:
    def __init__(self, model_path: str, alias: str, ctx: int, threads: int | None, embeddings: bool) -> None:
        from llama_cpp import Llama

        self.alias = alias
        self.model_path = model_path
        self.ctx = ctx
        self.threads = threads
        self.embeddings_enabled = embeddings
        self.llm = Llama(model_path=model_path, n_ctx=ctx, n_threads=threads, verbose=False)
        self._embedder: Any = None
        self.lock = threading.Lock()
        self.usage = UsageCounter(self.llm)

    def embedder(self) -> Any:
        if self._embedder is None:
            from llama_cpp import LLAMA_POOLING_TYPE_MEAN, Llama

            self._embedder = Llama(
                model_path=self.model_path,
                n_ctx=self.ctx,
                n_threads=self.threads,
                embedding=True,
                pooling_type=LLAMA_POOLING_TYPE_MEAN,
                verbose=False,
            )
        return self._embedder


def _max_tokens(body: dict[str, Any]) -> int | None:
    value = body.get("max_completion_tokens", body.get("max_tokens"))
    return int(value) if isinstance(value, int) and value > 0 else None


def _chat_kwargs(body: dict[str, Any]) -> dict[str, Any]:
    kw = {k: body[k] for k in _PASSTHROUGH if body.get(k) is not None}
    kw["max_tokens"] = _max_tokens(body)
    return kw


async def _iterate_in_thread(
    engine: Engine, make: Any, queue: asyncio.Queue[Any], stop: threading.Event
) -> None:
    loop = asyncio.get_running_loop()

    def run() -> None:
        with engine.lock:
            engine.usage.reset()
            try:
                gen: Iterator[Any] = make()
                for item in gen:
                    if stop.is_set():
                        with contextlib.suppress(Exception):
                            gen.close()  # type: ignore[attr-defined]
                        break
                    loop.call_soon_threadsafe(queue.put_nowait, ("item", item))
            except Exception as exc:
                loop.call_soon_threadsafe(queue.put_nowait, ("error", exc))
            finally:
                # counted while still holding the lock: the next generation resets the counter
                loop.call_soon_threadsafe(queue.put_nowait, ("end", engine.usage.counts()))

    await asyncio.to_thread(run)


async def _stream(request: web.Request, engine: Engine, make: Any, finish: Any) -> web.StreamResponse:
    """Relay a generator of chunks as SSE; ``finish(chunks, usage)`` returns the usage chunk or None."""
    queue: asyncio.Queue[Any] = asyncio.Queue()
    stop = threading.Event()
    task = asyncio.create_task(_iterate_in_thread(engine, make, queue, stop))
    first = await queue.get()
    if first[0] == "error":  # failed before any token: still time for a proper HTTP status
        await task
        return _rejected(first[1])
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    chunks: list[dict[str, Any]] = []
    usage: dict[str, int] = {}
    pending: Any = first
    try:
        await resp.prepare(request)
        while True:
            kind, item = pending if pending is not None else await queue.get()
            pending = None
            if kind == "end":
                usage = item
                break
            if kind == "error":
                err = {"error": {"message": f"engine error: {item}", "type": "engine_error"}}
                await resp.write(b"data: " + orjson.dumps(err) + b"\n\n")
                continue
            item["model"] = engine.alias
            chunks.append(item)
            await resp.write(b"data: " + orjson.dumps(item) + b"\n\n")
        tail = finish(chunks, usage)
        if tail is not None:
            await resp.write(b"data: " + orjson.dumps(tail) + b"\n\n")
        await resp.write(b"data: [DONE]\n\n")
    finally:
        stop.set()
        await asyncio.shield(task)
    return resp


def _template_safe(message: Any) -> Any:
    """OpenAI allows an assistant turn with tool_calls and no content; chat templates index
    ``message['content']`` unconditionally, so give them an empty string."""
    if isinstance(message, dict) and message.get("content") is None:
        return {**message, "content": ""}
    return message


def _rejected(exc: Exception) -> web.Response:
    """A request the engine cannot run (template cannot render it, context overflow …) is the
    caller's error (400), so it never counts against the gateway's circuit breaker."""
    return _error(400, f"the engine cannot run this request: {type(exc).__name__}: {exc}")


def _usage_chunk(obj: str, chunks: list[dict[str, Any]], usage: dict[str, int]) -> dict[str, Any]:
    first = chunks[0] if chunks else {}
    return {
        "id": first.get("id", f"chatcmpl-{uuid.uuid4().hex}"),
        "object": obj,
        "created": first.get("created", int(time.time())),
        "model": first.get("model", ""),
        "choices": [],
        "usage": usage,
    }


async def chat(request: web.Request) -> web.StreamResponse:
    engine: Engine = request.app["engine"]
    body = await _json(request)
    if isinstance(body, web.Response):
        return body
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _error(400, "messages must be a non-empty list", "messages")
    messages = [_template_safe(m) for m in messages]
    kw = _chat_kwargs(body)
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    if not body.get("stream"):
        try:
            result = await asyncio.to_thread(
                _locked, engine, lambda: engine.llm.create_chat_completion(messages, **kw)
            )
        except Exception as exc:
            return _rejected(exc)
        result["model"] = body.get("model") or engine.alias
        return web.json_response(result, dumps=lambda o: orjson.dumps(o).decode())

    def make() -> Iterator[Any]:
        return iter(engine.llm.create_chat_completion(messages, stream=True, **kw))

    def finish(chunks: list[dict[str, Any]], usage: dict[str, int]) -> dict[str, Any] | None:
        return _usage_chunk("chat.completion.chunk", chunks, usage) if include_usage else None

    return await _stream(request, engine, make, finish)


async def completions(request: web.Request) -> web.StreamResponse:
    engine: Engine = request.app["engine"]
    body = await _json(request)
    if isinstance(body, web.Response):
        return body
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str):
        return _error(400, "prompt must be a string", "prompt")
    kw: dict[str, Any] = {
        k: body[k] for k in ("temperature", "top_p", "stop", "seed", "echo", "logprobs") if k in body
    }
    kw["max_tokens"] = _max_tokens(body) or 16
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    if not body.get("stream"):
        result = await asyncio.to_thread(_locked, engine, lambda: engine.llm.create_completion(prompt, **kw))
        return web.json_response(result, dumps=lambda o: orjson.dumps(o).decode())

    def make() -> Iterator[Any]:
        return iter(engine.llm.create_completion(prompt, stream=True, **kw))

    def finish(chunks: list[dict[str, Any]], usage: dict[str, int]) -> dict[str, Any] | None:
        return _usage_chunk("text_completion", chunks, usage) if include_usage else None

    return await _stream(request, engine, make, finish)


async def embeddings(request: web.Request) -> web.Response:
    engine: Engine = request.app["engine"]
    if not engine.embeddings_enabled:
        return _error(400, "this engine was started without embeddings", "model")
    body = await _json(request)
    if isinstance(body, web.Response):
        return body
    inp = body.get("input")
    if not (isinstance(inp, str) or (isinstance(inp, list) and all(isinstance(x, str) for x in inp))):
        return _error(400, "input must be a string or a list of strings", "input")
    result = await asyncio.to_thread(
        _locked, engine, lambda: engine.embedder().create_embedding(inp, model=engine.alias)
    )
    return web.json_response(result, dumps=lambda o: orjson.dumps(o).decode())


def _count(engine: Engine, messages: list[Any], tools: Any) -> int:
    """Tokens of the prompt exactly as the chat handler renders and tokenizes it."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    llm = engine.llm
    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        text = "".join(str(m.get("content") or "") for m in messages if isinstance(m, dict))
        return len(llm.tokenize(text.encode("utf-8"), add_bos=True, special=True))
    vocab = llm._model
    eos = vocab.token_get_text(llm.token_eos()) if llm.token_eos() >= 0 else ""
    bos = vocab.token_get_text(llm.token_bos()) if llm.token_bos() >= 0 else ""
    formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
    result = formatter(messages=messages, tools=tools)
    return len(llm.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True))


async def count_tokens(request: web.Request) -> web.Response:
    """``{"messages": [...], "tools": [...]}`` -> ``{"input_tokens": N}`` (the gateway's
    Anthropic ``count_tokens`` asks this where the deployment is local)."""
    engine: Engine = request.app["engine"]
    body = await _json(request)
    if isinstance(body, web.Response):
        return body
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _error(400, "messages must be a non-empty list", "messages")
    try:
        n = await asyncio.to_thread(_count, engine, [_template_safe(m) for m in messages], body.get("tools"))
    except Exception as exc:
        return _rejected(exc)
    return web.json_response({"input_tokens": n})


def _locked(engine: Engine, fn: Any) -> Any:
    with engine.lock:
        return fn()


async def _json(request: web.Request) -> dict[str, Any] | web.Response:
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        return _error(400, "body is not valid JSON")
    if not isinstance(body, dict):
        return _error(400, "body must be a JSON object")
    return body


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def models(request: web.Request) -> web.Response:
    engine: Engine = request.app["engine"]
    return web.json_response({"object": "list", "data": [{"id": engine.alias, "object": "model"}]})


def build_app(engine: Engine) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app["engine"] = engine
    app.router.add_get("/health", health)
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/v1/completions", completions)
    app.router.add_post("/v1/embeddings", embeddings)
    app.router.add_post("/v1/count_tokens", count_tokens)
    return app


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="lockgate-llamacpp-worker")
    p.add_argument("--model", required=True)
    p.add_argument("--alias", default="model")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ctx", type=int, default=2048)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--embeddings", action="store_true")
    args = p.parse_args(argv)
    engine = Engine(args.model, args.alias, args.ctx, args.threads, args.embeddings)
    app = build_app(engine)
    app.on_startup.append(gcpolicy.freeze_when_started)  # the loaded model's heap leaves the collector
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
