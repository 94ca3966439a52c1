"""The llama.cpp engine process: one model, an OpenAI-compatible HTTP surface, exact usage.

lockgate starts one of these per replica (``python -m lockgate.engines.llamacpp_worker``)
and supervises it.  It wraps llama-cpp-python directly (rather than its FastAPI server) so
that streamed responses carry ``usage`` when asked with ``stream_options.include_usage`` and
so that a client's disconnect stops generation.

With ``--batching`` (the default in lockgate's engine config) chat and text completions run
on :mod:`lockgate.engines.batched`: continuous batching over one llama.cpp context, many
sequences per ``llama_decode``.  What that path does not do yet (``response_format``
grammars, tools, ``logprobs``, ``logit_bias``, ``echo``, embeddings) runs on the high-level
``llama_cpp.Llama`` in the same process, one request at a time, exactly as without batching.

``GET /metrics`` (Prometheus text) and ``GET /stats`` (JSON) report the engine's measured
capacity: tokens/s at its current batch size, queue depth and KV use.

``--adapter ID SCALE PATH`` (repeatable) loads a GGUF LoRA adapter once on the shared base
weights; a request with the header ``x-lockgate-adapter: ID`` runs with it (on either path).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from lockgate import gcpolicy
from lockgate.engines.adapters import ADAPTER_HEADER, parse_adapter_args
from lockgate.engines.batched import BatchEngine
from lockgate.engines.batched_http import (
    batchable_chat,
    batchable_completion,
    batched_chat,
    batched_completion,
)
from lockgate.engines.llamacpp_usage import UsageCounter
from lockgate.engines.lora import LoraAdapters
from lockgate.engines.replies import error, max_tokens, rejected

_PASSTHROUGH = (
    "temperature",
    "top_p",
    "top_k",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "repeat_penalty",
    "min_p",
    "logit_bias",
    "tools",
    "tool_choice",
    "response_format",
    "logprobs",
    "top_logprobs",
)


@dataclass
class BatchOptions:
    parallel: int = 4
    unified: bool = False
    kv_size: int | None = None
    prefill_chunk: int = 256
    prefix_cache: bool = True


class Engine:
    def __init__(
        self, model_path: str, alias: str, ctx: int, threads: int | None, embeddings: bool,
        batching: BatchOptions | None = None, adapters: list[tuple[str, float, str]] | None = None,
    ) -> None:  # fmt: skip
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
        self.formatter = _formatter(self.llm)
        # LoRA adapters (id, scale, path), each loaded once on the shared base weights
        self.lora = LoraAdapters(self.llm._model.model, adapters) if adapters else None
        self._serial_adapter: str | None = None  # the high-level context's adapter set
        self.batch: BatchEngine | None = None
        if batching is not None:
            self.batch = BatchEngine(
                self.llm, context=ctx, parallel=batching.parallel, threads=threads,
                unified=batching.unified, kv_size=batching.kv_size,
                prefill_chunk=batching.prefill_chunk, prefix_cache=batching.prefix_cache, lora=self.lora,
            )  # fmt: skip
        # the serialized (high-level) path's own counters
        self.serial_waiting = 0
        self.serial_running = 0
        self.serial_requests = 0
        self.counter_lock = threading.Lock()

    def count(self, waiting: int = 0, running: int = 0, requests: int = 0) -> None:
        with self.counter_lock:
            self.serial_waiting += waiting
            self.serial_running += running
            self.serial_requests += requests

    def use_adapter(self, adapter: str | None) -> None:
        """The high-level path's adapter set (called holding ``lock``); a change also drops the
        high-level ``Llama``'s own prefix reuse, whose KV belongs to the previous set."""
        if adapter == self._serial_adapter:
            return
        if self.lora is not None:
            self.lora.apply(self.llm._ctx.ctx, adapter)
        self.llm.reset()  # type: ignore[no-untyped-call]
        self._serial_adapter = adapter

    def render(self, messages: list[Any], tools: Any = None) -> tuple[list[int], list[str]]:
        """The prompt's tokens exactly as the high-level chat handler renders and tokenizes
        it, and the stop strings the template adds (its end-of-turn token)."""
        llm = self.llm
        if self.formatter is None:
            text = "".join(str(m.get("content") or "") for m in messages if isinstance(m, dict))
            return llm.tokenize(text.encode("utf-8"), add_bos=True, special=True), []
        result = self.formatter(messages=messages, tools=tools)
        tokens = llm.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True)
        stop = result.stop if isinstance(result.stop, list) else [result.stop] if result.stop else []
        return tokens, [str(x) for x in stop]

    def completion_prompt(self, text: str) -> list[int]:
        """A text completion's prompt tokens as ``Llama.create_completion`` builds them."""
        llm, model = self.llm, self.llm._model
        sep, cls = model.token_sep(), model.token_cls()
        first = cls if cls != -1 else llm.token_bos()
        bos = [first] if model.add_bos_token() and first != -1 else []
        eos = [sep if sep != -1 else llm.token_eos()] if (model.add_eos_token() or sep != -1) else []
        return [*bos, *llm.tokenize(text.encode("utf-8"), add_bos=False, special=True), *eos]

    def stats(self) -> dict[str, Any]:
        if self.batch is not None:
            extra = {"adapters": self.lora.ids} if self.lora is not None else {}
            return {"mode": "batched", **self.batch.snapshot(), **extra}
        return {
            "mode": "serial",
            "queue_depth": self.serial_waiting,
            "active_sequences": self.serial_running,
            "parallel": 1,
            "requests_total": self.serial_requests,
        }

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


def _chat_kwargs(body: dict[str, Any]) -> dict[str, Any]:
    kw = {k: body[k] for k in _PASSTHROUGH if body.get(k) is not None}
    kw["max_tokens"] = max_tokens(body)
    return kw


async def _iterate_in_thread(
    engine: Engine, make: Any, queue: asyncio.Queue[Any], stop: threading.Event, adapter: str | None
) -> None:
    loop = asyncio.get_running_loop()

    def run() -> None:
        engine.count(waiting=1)
        with engine.lock:
            engine.count(waiting=-1, running=1, requests=1)
            engine.usage.reset()
            try:
                engine.use_adapter(adapter)
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
                engine.count(running=-1)
                loop.call_soon_threadsafe(queue.put_nowait, ("end", engine.usage.counts()))

    await asyncio.to_thread(run)


async def _stream(
    request: web.Request, engine: Engine, make: Any, finish: Any, adapter: str | None
) -> web.StreamResponse:
    """Relay a generator of chunks as SSE; ``finish(chunks, usage)`` returns the usage chunk or None."""
    queue: asyncio.Queue[Any] = asyncio.Queue()
    stop = threading.Event()
    task = asyncio.create_task(_iterate_in_thread(engine, make, queue, stop, adapter))
    first = await queue.get()
    if first[0] == "error":  # failed before any token: still time for a proper HTTP status
        await task
        return rejected(first[1])
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
        return error(400, "messages must be a non-empty list", "messages")
    messages = [_template_safe(m) for m in messages]
    adapter = _adapter(request, engine)
    if isinstance(adapter, web.Response):
        return adapter
    if batchable_chat(engine, body):
        return await batched_chat(request, engine, body, messages, adapter)
    kw = _chat_kwargs(body)
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    if not body.get("stream"):
        try:
            result = await asyncio.to_thread(
                _locked, engine, lambda: engine.llm.create_chat_completion(messages, **kw), adapter
            )
        except Exception as exc:
            return rejected(exc)
        result["model"] = body.get("model") or engine.alias
        return web.json_response(result, dumps=lambda o: orjson.dumps(o).decode())

    def make() -> Iterator[Any]:
        return iter(engine.llm.create_chat_completion(messages, stream=True, **kw))

    def finish(chunks: list[dict[str, Any]], usage: dict[str, int]) -> dict[str, Any] | None:
        return _usage_chunk("chat.completion.chunk", chunks, usage) if include_usage else None

    return await _stream(request, engine, make, finish, adapter)


async def completions(request: web.Request) -> web.StreamResponse:
    engine: Engine = request.app["engine"]
    body = await _json(request)
    if isinstance(body, web.Response):
        return body
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str):
        return error(400, "prompt must be a string", "prompt")
    adapter = _adapter(request, engine)
    if isinstance(adapter, web.Response):
        return adapter
    if batchable_completion(engine, body):
        return await batched_completion(request, engine, body, prompt, adapter)
    kw: dict[str, Any] = {
        k: body[k] for k in ("temperature", "top_p", "stop", "seed", "echo", "logprobs") if k in body
    }
    kw["max_tokens"] = max_tokens(body) or 16
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    if not body.get("stream"):
        result = await asyncio.to_thread(
            _locked, engine, lambda: engine.llm.create_completion(prompt, **kw), adapter
        )
        return web.json_response(result, dumps=lambda o: orjson.dumps(o).decode())

    def make() -> Iterator[Any]:
        return iter(engine.llm.create_completion(prompt, stream=True, **kw))

    def finish(chunks: list[dict[str, Any]], usage: dict[str, int]) -> dict[str, Any] | None:
        return _usage_chunk("text_completion", chunks, usage) if include_usage else None

    return await _stream(request, engine, make, finish, adapter)


async def embeddings(request: web.Request) -> web.Response:
    engine: Engine = request.app["engine"]
    if not engine.embeddings_enabled:
        return error(400, "this engine was started without embeddings", "model")
    if request.headers.get(ADAPTER_HEADER):
        return error(
            400, "embeddings are not served with a LoRA adapter; ask the base model's alias", "model"
        )
    body = await _json(request)
    if isinstance(body, web.Response):
        return body
    inp = body.get("input")
    if not (isinstance(inp, str) or (isinstance(inp, list) and all(isinstance(x, str) for x in inp))):
        return error(400, "input must be a string or a list of strings", "input")
    result = await asyncio.to_thread(
        _locked, engine, lambda: engine.embedder().create_embedding(inp, model=engine.alias)
    )
    return web.json_response(result, dumps=lambda o: orjson.dumps(o).decode())


def _formatter(llm: Any) -> Any:
    """The GGUF's chat template, as the high-level ``Llama`` builds it (None without one)."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        return None
    vocab = llm._model
    eos = vocab.token_get_text(llm.token_eos()) if llm.token_eos() >= 0 else ""
    bos = vocab.token_get_text(llm.token_bos()) if llm.token_bos() >= 0 else ""
    return Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)


def _count(engine: Engine, messages: list[Any], tools: Any) -> int:
    """Tokens of the prompt exactly as the chat handler renders and tokenizes it."""
    return len(engine.render(messages, tools)[0])


async def count_tokens(request: web.Request) -> web.Response:
    """``{"messages": [...], "tools": [...]}`` -> ``{"input_tokens": N}`` (the gateway's
    Anthropic ``count_tokens`` asks this where the deployment is local)."""
    engine: Engine = request.app["engine"]
    body = await _json(request)
    if isinstance(body, web.Response):
        return body
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return error(400, "messages must be a non-empty list", "messages")
    try:
        n = await asyncio.to_thread(_count, engine, [_template_safe(m) for m in messages], body.get("tools"))
    except Exception as exc:
        return rejected(exc)
    return web.json_response({"input_tokens": n})


def _locked(engine: Engine, fn: Any, adapter: str | None = None) -> Any:
    engine.count(waiting=1)
    with engine.lock:
        engine.count(waiting=-1, running=1, requests=1)
        try:
            engine.use_adapter(adapter)
            return fn()
        finally:
            engine.count(running=-1)


def _adapter(request: web.Request, engine: Engine) -> str | web.Response | None:
    """The LoRA adapter the request asks for (``x-lockgate-adapter``); None: the base model."""
    name = request.headers.get(ADAPTER_HEADER)
    if not name:
        return None
    if engine.lora is None or name not in engine.lora:
        known = ", ".join(engine.lora.ids) if engine.lora is not None else "none"
        return error(400, f"this engine serves no adapter {name!r} (loaded: {known})", "model")
    return name


async def _json(request: web.Request) -> dict[str, Any] | web.Response:
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        return error(400, "body is not valid JSON")
    if not isinstance(body, dict):
        return error(400, "body must be a JSON object")
    return body


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def stats(request: web.Request) -> web.Response:
    engine: Engine = request.app["engine"]
    return web.json_response(engine.stats())


_METRICS = (
    ("tokens_per_second", "gauge", "Generated tokens per second over the last 10 s"),
    ("batch_size", "gauge", "Mean sequences per decode step over the last 10 s"),
    ("queue_depth", "gauge", "Requests waiting for a sequence slot or KV space"),
    ("active_sequences", "gauge", "Sequences being generated"),
    ("parallel", "gauge", "Sequence slots"),
    ("kv_cells_used", "gauge", "KV cells held by running sequences"),
    ("kv_cells_cached", "gauge", "KV cells held by cached prefixes"),
    ("kv_cells_total", "gauge", "KV cells in the context"),
    ("requests_total", "counter", "Generations started"),
    ("prompt_tokens_total", "counter", "Prompt tokens of started generations"),
    ("cached_prompt_tokens_total", "counter", "Prompt tokens served from cached prefixes"),
    ("completion_tokens_total", "counter", "Tokens generated"),
    ("preemptions_total", "counter", "Sequences preempted for KV space"),
    ("adapter_switches_total", "counter", "Decode steps that changed the context's LoRA adapter set"),
)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text: the engine's measured capacity."""
    engine: Engine = request.app["engine"]
    snap = engine.stats()
    lines: list[str] = []
    for key, kind, help_text in _METRICS:
        if key in snap:
            name = f"lockgate_engine_{key}"
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {snap[key]}"]
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")


async def models(request: web.Request) -> web.Response:
    engine: Engine = request.app["engine"]
    return web.json_response({"object": "list", "data": [{"id": engine.alias, "object": "model"}]})


def build_app(engine: Engine) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app["engine"] = engine
    app.router.add_get("/health", health)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/stats", stats)
    app.router.add_get("/metrics", metrics)
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
    p.add_argument("--batching", action="store_true", help="continuous batching (lockgate.engines.batched)")
    p.add_argument("--parallel", type=int, default=4, help="sequences decoded together")
    p.add_argument("--kv-unified", action="store_true", help="one KV pool shared by the sequences")
    p.add_argument("--kv-size", type=int, default=None, help="KV cells of a unified pool")
    p.add_argument("--prefill-chunk", type=int, default=256)
    p.add_argument("--no-prefix-cache", action="store_true")
    p.add_argument("--adapter", nargs=3, action="append", metavar=("ID", "SCALE", "PATH"),
                   help="a GGUF LoRA adapter served on the model (repeatable)")  # fmt: skip
    args = p.parse_args(argv)
    batching = (
        BatchOptions(
            args.parallel, args.kv_unified, args.kv_size, args.prefill_chunk, not args.no_prefix_cache
        )
        if args.batching
        else None
    )
    adapters = parse_adapter_args(args.adapter)
    engine = Engine(args.model, args.alias, args.ctx, args.threads, args.embeddings, batching, adapters)
    app = build_app(engine)
    app.on_startup.append(gcpolicy.freeze_when_started)  # the loaded model's heap leaves the collector
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
