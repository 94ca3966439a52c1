"""The static upstream: nginx answering a fixed chat completion and a fixed SSE stream."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import urllib.request
from pathlib import Path
from typing import Any

from lockbench.procs import BenchError, Service, free_port, start, wait_ready

TEMPLATE = Path(__file__).resolve().parent.parent / "nginx.conf.in"
UPSTREAM_MODEL = "bench-model"
CREATED = 1_700_000_000
CHAT_PATH = "/v1/chat/completions"
SSE_PATH = "/sse/v1/chat/completions"


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def completion_body() -> str:
    return _dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": CREATED,
            "model": UPSTREAM_MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Hello from the static upstream."},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19},
        }
    )


def _chunk(delta: dict[str, str], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": UPSTREAM_MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def stream_body(chunks: int) -> str:
    """``chunks`` content chunks, then a usage chunk, then ``[DONE]``, in SSE framing."""
    events = []
    for i in range(chunks):
        delta = {"role": "assistant", "content": "tok "} if i == 0 else {"content": f"tok{i} "}
        events.append(_chunk(delta, "stop" if i == chunks - 1 else None))
    usage = {"prompt_tokens": 12, "completion_tokens": chunks, "total_tokens": 12 + chunks}
    events.append({**_chunk({}, None), "choices": [], "usage": usage})
    return "".join(f"data: {_dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"


def models_body() -> str:
    return _dumps(
        {"object": "list", "data": [{"id": UPSTREAM_MODEL, "object": "model", "owned_by": "bench"}]}
    )


def _nginx_literal(text: str) -> str:
    """A fixed body is placed inside single quotes in nginx.conf; it must not need escaping."""
    if "'" in text or "$" in text or "\\" in text:
        raise BenchError("static upstream body contains a character nginx would interpret")
    return text


def render_config(prefix: Path, port: int, chunks: int) -> str:
    values = {
        "@PREFIX@": str(prefix),
        "@PORT@": str(port),
        "@USER@": pwd.getpwuid(os.getuid()).pw_name,
        "@CHUNKS@": str(chunks),
        "@COMPLETION@": _nginx_literal(completion_body()),
        "@MODELS@": _nginx_literal(models_body()),
    }
    text = TEMPLATE.read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(key, value)
    return text


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise BenchError("nginx: not found; install it with 'apt-get install -y nginx-light'")
    return found


def start_nginx(work: Path, chunks: int) -> Service:
    prefix = work.resolve() / "nginx"
    prefix.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = prefix / "nginx.conf"
    (prefix / "stream.sse").write_text(stream_body(chunks), encoding="utf-8")
    conf.write_text(render_config(prefix, port, chunks), encoding="utf-8")
    argv = [nginx_binary(), "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
    service = start("nginx", argv, port, work / "logs")
    probe = urllib.request.Request(f"http://127.0.0.1:{port}{CHAT_PATH}", data=b"{}", method="POST")
    wait_ready(service, probe, timeout=15)
    return service
