"""The OpenAPI document for lockgate's public and admin routes (served at /openapi.json)."""

from __future__ import annotations

from typing import Any

from lockgate import __version__

_ERR = {"$ref": "#/components/schemas/Error"}


def _op(summary: str, tag: str, body: str | None = None, stream: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "tags": [tag],
        "responses": {
            "200": {
                "description": "OK" + (" (JSON, or text/event-stream when stream=true)" if stream else "")
            },
            "400": {"description": "Invalid request", "content": {"application/json": {"schema": _ERR}}},
            "401": {
                "description": "Missing or bad API key",
                "content": {"application/json": {"schema": _ERR}},
            },
            "403": {
                "description": "Forbidden by key or policy",
                "content": {"application/json": {"schema": _ERR}},
            },
            "429": {"description": "Rate limited or upstream overloaded (Retry-After)"},
            "502": {"description": "Upstream failed"},
            "504": {"description": "Upstream timed out"},
        },
    }
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        }
    return op


def _obj(required: list[str], **props: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props, "additionalProperties": True}


def document() -> dict[str, Any]:
    s, arr = {"type": "string"}, {"type": "array", "items": {"type": "object"}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "lockgate", "version": __version__,
                 "description": "OpenAI-compatible sovereign gateway. Errors use OpenAI's error shape."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": _obj(["error"], error=_obj(["message", "type"], message=s, type=s, param=s, code=s)),
                "ChatRequest": _obj(["model", "messages"], model=s, messages=arr, stream={"type": "boolean"},
                                    stream_options={"type": "object"}, tools=arr, tool_choice={},
                                    response_format={"type": "object"}),
                "CompletionRequest": _obj(["model", "prompt"], model=s, prompt={}, stream={"type": "boolean"}),
                "EmbeddingRequest": _obj(["model", "input"], model=s, input={}),
                "KeyRequest": _obj(["name"], name=s, admin={"type": "boolean"}, team=s,
                                   models={"type": "array", "items": s}, policy=s, pii_policy=s),
                "CutRequest": _obj(["target"], target=s, reason=s),
            },
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v1/chat/completions": {"post": _op("Chat completion", "openai", "ChatRequest", True)},
            "/v1/completions": {"post": _op("Text completion", "openai", "CompletionRequest", True)},
            "/v1/embeddings": {"post": _op("Embeddings", "openai", "EmbeddingRequest")},
            "/v1/models": {"get": _op("List model aliases", "openai")},
            "/v1/models/{model}": {"get": _op("One model alias", "openai")},
            "/healthz": {"get": {"summary": "Liveness", "tags": ["ops"], "security": [],
                                 "responses": {"200": {"description": "alive"}}}},
            "/readyz": {"get": {"summary": "Readiness (engines answer)", "tags": ["ops"], "security": [],
                                "responses": {"200": {"description": "ready"}, "503": {"description": "not ready"}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "tags": ["ops"], "security": [],
                                 "responses": {"200": {"description": "text exposition"}}}},
            "/admin/keys": {"get": _op("List keys", "admin"), "post": _op("Create a key", "admin", "KeyRequest")},
            "/admin/keys/{key_id}": {"delete": _op("Revoke a key", "admin")},
            "/admin/cuts": {"get": _op("List cuts", "admin"), "post": _op("Cut a provider/country/law", "admin",
                                                                          "CutRequest")},
            "/admin/cuts/{target}": {"delete": _op("Restore a cut target", "admin")},
            "/admin/deployments": {"get": _op("Deployment state (breakers, load)", "admin")},
        },
    }  # fmt: skip
