"""Small reply helpers shared by the engine process's two generation paths."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web


def error(status: int, message: str, param: str | None = None) -> web.Response:
    body = {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": None}}
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")


def rejected(exc: Exception) -> web.Response:
    """A request the engine cannot run (template cannot render it, context overflow …) is the
    caller's error (400), so it never counts against the gateway's circuit breaker."""
    return error(400, f"the engine cannot run this request: {type(exc).__name__}: {exc}")


def max_tokens(body: dict[str, Any]) -> int | None:
    value = body.get("max_completion_tokens", body.get("max_tokens"))
    return int(value) if isinstance(value, int) and value > 0 else None


def json_reply(result: Any) -> web.Response:
    return web.Response(body=orjson.dumps(result), content_type="application/json")
