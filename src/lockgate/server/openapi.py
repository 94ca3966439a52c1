"""The OpenAPI document for lockgate's public and admin routes (served at /openapi.json).

Request schemas follow the gateway's own validation (``server.endpoints``, the protocol
adapters in ``protocols`` and the admin handlers): a body the schema accepts is not refused
as invalid, and a body it rejects is refused. Given a gateway, the document also lists the
configured model aliases (as examples), policies and cut targets, which validation checks
against the configuration. ``tests/server/test_schemathesis.py`` holds the two to each other.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lockgate import __version__
from lockgate.server.admin_eval_paths import eval_ack_paths
from lockgate.server.admin_paths import admin_view_paths
from lockgate.server.views.capacity import CAPACITY_SCHEMA

Json = dict[str, Any]

_OPENAI_ERR = {"$ref": "#/components/schemas/Error"}
_ANTHROPIC_ERR = {"$ref": "#/components/schemas/AnthropicError"}
_ERROR_STATUSES = {
    "400": "Invalid request",
    "401": "Missing or bad API key",
    "403": "Forbidden by key or policy",
    "404": "No such model, route or resource",
    "405": "Method not allowed",
    "413": "Request body too large",
    "429": "Rate limited or upstream overloaded (Retry-After)",
    "500": "Internal gateway error",
    "502": "Upstream failed",
    "503": "No deployment available or store unavailable",
    "504": "Upstream timed out",
}
_S: Json = {"type": "string"}
_NONEMPTY: Json = {"type": "string", "minLength": 1}
_BOOL_OR_NULL: Json = {"type": ["boolean", "null"]}
_OBJ: Json = {"type": "object"}
_OBJ_OR_NULL: Json = {"type": ["object", "null"]}
_ANY: Json = {}
# what Python reads as false: `if body.get(key)` skips these
_FALSY: Json = {"enum": [None, False, 0, "", [], {}]}


def _obj(required: list[str], **props: Any) -> Json:
    return {"type": "object", "required": required, "properties": props, "additionalProperties": True}


def _json(schema: Json) -> Json:
    return {"application/json": {"schema": schema}}


def _op(
    summary: str,
    tag: str,
    body: str | None = None,
    *,
    ok: Json | None = None,
    ok_status: str = "200",
    stream: bool = False,
    params: list[Json] | None = None,
    anthropic: bool = False,
) -> Json:
    err = _ANTHROPIC_ERR if anthropic else _OPENAI_ERR
    content = _json(ok or _OBJ)
    if stream:
        content["text/event-stream"] = {"schema": _S}
    responses: Json = {
        ok_status: {"description": "OK" + (" (JSON, or text/event-stream when stream=true)" if stream else ""),
                    "content": content},
    }  # fmt: skip
    for status, description in _ERROR_STATUSES.items():
        responses[status] = {"description": description, "content": _json(err)}
    op: Json = {"summary": summary, "tags": [tag], "responses": responses}
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = {"required": True, "content": _json({"$ref": f"#/components/schemas/{body}"})}
    return op


def _path_param(name: str, description: str, schema: Json | None = None) -> Json:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": schema or _NONEMPTY}  # fmt: skip


def _model(aliases: list[str]) -> Json:
    schema: Json = {"type": "string", "minLength": 1, "description": "A model alias (GET /v1/models)."}
    if aliases:
        schema["examples"] = aliases
    return schema


# -- OpenAI chat / completions / embeddings (server.endpoints) --------------------------------


def _openai_schemas(model: Json) -> Json:
    message = _obj(["role"], role=_S)
    return {
        "ChatRequest": _obj(["model", "messages"], model=model,
                            messages={"type": "array", "minItems": 1, "items": message},
                            stream=_BOOL_OR_NULL, stream_options=_OBJ_OR_NULL),
        "CompletionRequest": _obj(["model", "prompt"], model=model, prompt={"type": ["string", "array"]},
                                  stream=_BOOL_OR_NULL, stream_options=_OBJ_OR_NULL),
        "EmbeddingRequest": _obj(["model", "input"], model=model,
                                 input={"anyOf": [_S, {"type": "array", "minItems": 1}]},
                                 stream={"enum": [False, None]}),
    }  # fmt: skip


# -- Anthropic Messages (protocols.anthropic) ------------------------------------------------


def _anthropic_message(text_of: Json, text_blocks: Json) -> tuple[Json, Json]:
    """One entry of ``messages`` as the adapter validates it, and what makes a message servable."""
    block = {
        "type": "object",
        "required": ["type"],
        "properties": {"type": _S},
        "allOf": [
            {"if": {"properties": {"type": {"const": "text"}}},
             "then": {"required": ["text"], "properties": {"text": _S}}},
            {"if": {"properties": {"type": {"const": "image"}}},
             "then": {"required": ["source"], "properties": {"source": {"anyOf": [
                 _obj(["type", "media_type", "data"], type={"const": "base64"}, media_type=_S, data=_S),
                 _obj(["type", "url"], type={"const": "url"}, url=_S)]}}}},
            {"if": {"properties": {"type": {"const": "document"}}, "required": ["source"]},
             "then": {"properties": {"source": {"if": _obj(["type"], type={"const": "content"}),
                                                "then": _obj(["content"], content=text_of)}}}},
        ],
    }  # fmt: skip
    user_block = {"allOf": [block, {
        "if": {"properties": {"type": {"const": "tool_result"}}},
        "then": {"required": ["tool_use_id"],
                 "properties": {"tool_use_id": _NONEMPTY, "content": {"anyOf": [_S, text_blocks, {"type": "null"}]}}},
    }]}  # fmt: skip
    assistant_block = {"allOf": [block, {
        "if": {"properties": {"type": {"const": "tool_use"}}},
        "then": {"required": ["name"], "properties": {"name": _NONEMPTY}},
    }]}  # fmt: skip
    message = {
        "oneOf": [
            _obj(["role", "content"], role={"const": "system"}, content=text_of),
            _obj(["role", "content"], role={"const": "user"},
                 content={"anyOf": [_S, {"type": "array", "items": user_block}]}),
            _obj(["role", "content"], role={"const": "assistant"},
                 content={"anyOf": [_S, {"type": "array", "items": assistant_block}]}),
        ]
    }  # fmt: skip
    # at least one message the gateway can serve (not only system turns or dropped blocks)
    servable = {"anyOf": [
        _obj(["role", "content"], role={"enum": ["user", "assistant"]}, content=_S),
        _obj(["role", "content"], role={"const": "user"}, content={"type": "array", "contains": {
            "anyOf": [{"properties": {"type": {"enum": ["text", "image", "tool_result"]}}, "required": ["type"]},
                      {"properties": {"type": {"const": "document"},
                                      "source": {"anyOf": [_obj(["type", "data"], type={"const": "text"}, data=_S),
                                                           _obj(["type"], type={"const": "content"})]}},
                       "required": ["type", "source"]}]}}),
        _obj(["role", "content"], role={"const": "assistant"}, content={"type": "array", "contains": {
            "anyOf": [{"properties": {"type": {"const": "tool_use"}}, "required": ["type"]},
                      {"properties": {"type": {"const": "text"}, "text": {"minLength": 1}},
                       "required": ["type", "text"]}]}}),
    ]}  # fmt: skip
    return message, servable


def _anthropic_schemas(model: Json) -> Json:
    text_blocks = {"type": "array", "items": {"$ref": "#/components/schemas/AnthropicTextBlockLoose"}}
    text_of = {"anyOf": [_S, text_blocks]}
    message, servable = _anthropic_message(text_of, text_blocks)
    tool = {
        "type": "object",
        "required": ["name"],
        "properties": {"name": _S},
        "if": {"properties": {"type": {"enum": [None, "custom"]}}},
        "then": {"required": ["input_schema"], "properties": {"input_schema": _OBJ}},
    }
    tool_choice = {"type": "object", "required": ["type"], "properties": {"type": {"enum": ["auto", "any", "tool", "none"]}},
                   "if": {"properties": {"type": {"const": "tool"}}},
                   "then": {"required": ["name"], "properties": {"name": _S}}}  # fmt: skip
    number = {"type": "number", "minimum": 0, "maximum": 1}
    return {
        "AnthropicTextBlockLoose": {"type": "object",
                                    "if": {"properties": {"type": {"const": "text"}}},
                                    "then": {"required": ["text"], "properties": {"text": _S}}},
        "MessagesRequest": _obj(
            ["model", "max_tokens", "messages"], model=model, max_tokens={"type": "integer", "minimum": 1},
            stream={"type": "boolean"}, messages={"type": "array", "minItems": 1, "items": message,
                                                  "contains": servable},
            system={"anyOf": [text_of, {"type": "null"}]}, temperature={"anyOf": [number, {"type": "null"}]},
            top_p={"anyOf": [number, {"type": "null"}]},
            top_k={"anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}]},
            stop_sequences={"anyOf": [{"type": "array", "items": _NONEMPTY}, {"type": "null"}]},
            tools={"anyOf": [{"type": "array", "items": tool}, _FALSY]}, tool_choice={},
            metadata=_OBJ_OR_NULL) | {
            # tool_choice is read only when a client tool is offered
            "if": {"required": ["tools"], "properties": {"tools": {"type": "array", "contains": {
                "required": ["name"], "properties": {"name": _S, "type": {"enum": [None, "custom"]}}}}}},
            "then": {"properties": {"tool_choice": {"anyOf": [tool_choice, {"type": "null"}]}}},
        },
        "CountTokensRequest": {"$ref": "#/components/schemas/MessagesRequest"},
        "Message": _obj(["id", "type", "role", "content", "model", "stop_reason", "usage"],
                        id=_S, type={"const": "message"}, role={"const": "assistant"},
                        content={"type": "array", "items": _OBJ}, model=_S,
                        stop_reason={"type": ["string", "null"]}, usage=_OBJ),
        "TokenCount": _obj(["input_tokens"], input_tokens={"type": "integer", "minimum": 0}),
    }  # fmt: skip


# -- OpenAI Responses (protocols.responses) --------------------------------------------------


def _responses_schemas(model: Json, stored: bool) -> Json:
    text_kinds = ["input_text", "output_text", "text", "summary_text"]
    part = {"type": "object", "required": ["type"], "properties": {"type": _S},
            "if": {"properties": {"type": {"enum": text_kinds}}},
            "then": {"required": ["text"], "properties": {"text": _S}}}  # fmt: skip
    content = {"anyOf": [_S, {"type": "array", "items": part}]}
    message = _obj(
        ["role", "content"], role={"enum": ["user", "assistant", "system", "developer"]}, content=content
    )
    call = _obj(["name", "call_id"], name=_NONEMPTY, call_id=_NONEMPTY)
    output = _obj(["call_id"], call_id=_NONEMPTY, output={"type": ["string", "array"]})
    item = {"type": "object", "allOf": [
        {"if": {"required": ["type"]}, "then": {"properties": {"type": _S}},
         "else": {"required": ["role"]}},
        {"if": {"anyOf": [{"required": ["type"], "properties": {"type": {"const": "message"}}},
                          {"not": {"required": ["type"]}}]}, "then": message},
        {"if": {"required": ["type"], "properties": {"type": {"const": "function_call"}}}, "then": call},
        {"if": {"required": ["type"], "properties": {"type": {"const": "function_call_output"}}},
         "then": output},
    ]}  # fmt: skip
    # A message that survives translation. Function calls and outputs count only in pairs
    # with equal call_ids, which JSON Schema cannot say: the schema asks for a message.
    text_part = {
        "required": ["type", "text"],
        "properties": {"type": {"enum": text_kinds}, "text": {"minLength": 1}},
    }
    refusal_part = {
        "required": ["type", "refusal"],
        "properties": {"type": {"const": "refusal"}, "refusal": {"type": "string", "minLength": 1}},
    }
    image_part = {
        "required": ["type", "image_url"],
        "properties": {"type": {"const": "input_image"}, "image_url": _NONEMPTY},
    }

    def said(role: Json, parts: list[Json]) -> Json:
        return {
            "required": ["role", "content"],
            "properties": {
                "type": {"const": "message"},
                "role": role,
                "content": {
                    "anyOf": [
                        {"type": "string", "minLength": 1},
                        {"type": "array", "contains": {"anyOf": parts}},
                    ]
                },
            },
        }

    servable = {"anyOf": [said({"enum": ["user", "system", "developer"]}, [text_part, refusal_part, image_part]),
                          said({"const": "assistant"}, [text_part, refusal_part])]}  # fmt: skip
    return {
        "ResponsesRequest": _obj(
            ["model"], model=model, stream=_BOOL_OR_NULL, instructions={"type": ["string", "null"]},
            input={"anyOf": [_S, {"type": "array", "items": item}, {"type": "null"}]},
            previous_response_id={"anyOf": [_NONEMPTY, {"type": "null"}]} if stored else {"type": "null"},
            max_output_tokens={"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]},
            temperature={"anyOf": [{"type": "number", "minimum": 0, "maximum": 2}, {"type": "null"}]},
            top_p={"anyOf": [{"type": "number", "minimum": 0, "maximum": 1}, {"type": "null"}]},
            tools={"anyOf": [_FALSY, {"type": "array", "items": {
                "type": "object", "required": ["type"], "properties": {"type": _S},
                "if": {"properties": {"type": {"const": "function"}}},
                "then": {"required": ["name"], "properties": {"name": _NONEMPTY}}}}]},
            store=_BOOL_OR_NULL if stored else {"enum": [False, None]}, text={"anyOf": [{"type": "null"}, _obj([], format={"anyOf": [
                {"type": "null"}, _obj(["type"], type={"enum": ["text", "json_object"]}),
                _obj(["type", "schema"], type={"const": "json_schema"}, schema=_OBJ)]})]}) | {
            # something to answer: an input message or a stored conversation to continue
            "anyOf": [*([{"required": ["previous_response_id"], "properties": {"previous_response_id": _S}}]
                        if stored else []),
                      {"required": ["input"], "properties": {"input": {"anyOf": [
                          _S, {"type": "array", "contains": servable}]}}}],
        },
        "Response": _obj(["id", "object", "status", "model", "output"], id=_S, object={"const": "response"},
                         status=_S, model=_S, output={"type": "array", "items": _OBJ}),
    }  # fmt: skip


def _admin_schemas(policies: list[str], targets: list[str]) -> Json:
    policy: Json = {"type": ["string", "null"]}
    if policies:
        policy = {"enum": [*policies, None]}
    target: Json = {"type": "string", "enum": targets} if targets else _NONEMPTY
    return {
        "KeyRequest": _obj(["name"], name=_NONEMPTY, admin={}, team={"type": ["string", "null"]},
                           models={"type": ["array", "null"], "items": _S}, policy=policy, pii_policy=policy),
        "CutRequest": _obj(["target"], target=target, reason={"type": ["string", "null"]}),
        "CutTarget": target,
    }  # fmt: skip


def document(
    aliases: Iterable[str] = (),
    policies: Iterable[str] = (),
    cut_targets: Iterable[str] = (),
    stored_responses: bool = True,
) -> Json:
    """The OpenAPI 3.1 document; the arguments describe this gateway's configuration
    (``stored_responses``: whether ``previous_response_id`` can be served)."""
    model = _model(list(aliases))
    error = _obj(
        ["error"],
        error=_obj(
            ["message", "type"],
            message=_S,
            type=_S,
            param={"type": ["string", "null"]},
            code={"type": ["string", "null"]},
        ),
    )
    anthropic_error = _obj(
        ["type", "error"], type={"const": "error"}, error=_obj(["type", "message"], type=_S, message=_S)
    )
    schemas: Json = {"Error": error, "AnthropicError": anthropic_error,
                     **_openai_schemas(model), **_anthropic_schemas(model), **_responses_schemas(model, stored_responses),
                     **_admin_schemas(sorted(policies), sorted(cut_targets))}  # fmt: skip
    model_param = _path_param("model", "A model alias.")
    key_param = _path_param("key_id", "A key id (GET /admin/keys).")
    target_param = _path_param("target", "A cut target (GET /admin/cuts).")
    response_param = _path_param("response_id", "A stored response id (resp_…).")
    ops_no_auth = {"tags": ["ops"], "security": []}
    return {
        "openapi": "3.1.0",
        "info": {"title": "lockgate", "version": __version__,
                 "description": "OpenAI-compatible sovereign gateway. Errors use OpenAI's error shape, "
                                "except on the Anthropic routes (/v1/messages…), which use Anthropic's."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v1/chat/completions": {"post": _op("Chat completion", "openai", "ChatRequest", stream=True)},
            "/v1/completions": {"post": _op("Text completion", "openai", "CompletionRequest", stream=True)},
            "/v1/embeddings": {"post": _op("Embeddings", "openai", "EmbeddingRequest")},
            "/v1/messages": {"post": _op("Anthropic Messages", "anthropic", "MessagesRequest", stream=True,
                                         anthropic=True, ok={"$ref": "#/components/schemas/Message"})},
            "/v1/messages/count_tokens": {"post": _op("Anthropic token count", "anthropic", "CountTokensRequest",
                                                      anthropic=True, ok={"$ref": "#/components/schemas/TokenCount"})},
            "/v1/responses": {"post": _op("OpenAI Responses", "openai", "ResponsesRequest", stream=True,
                                          ok={"$ref": "#/components/schemas/Response"})},
            "/v1/responses/{response_id}": {"get": _op("A stored response", "openai", params=[response_param])},
            "/v1/models": {"get": _op("List model aliases", "openai")},
            "/v1/models/{model}": {"get": _op("One model alias", "openai", params=[model_param])},
            "/healthz": {"get": {"summary": "Liveness", **ops_no_auth,
                                 "responses": {"200": {"description": "alive", "content": _json(_OBJ)}}}},
            "/readyz": {"get": {"summary": "Readiness: status for anyone, detail for admin keys", **ops_no_auth,
                                "responses": {"200": {"description": "ready", "content": _json(
                                                  _obj(["status"], status={"const": "ready"}))},
                                              "503": {"description": "not ready", "content": _json(
                                                  _obj(["status"], status={"const": "not ready"}))}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", **ops_no_auth,
                                 "responses": {"200": {"description": "text exposition",
                                                       "content": {"text/plain": {"schema": _S}}}}}},
            "/openapi.json": {"get": {"summary": "This document", **ops_no_auth,
                                      "responses": {"200": {"description": "OpenAPI 3.1",
                                                            "content": _json(_OBJ)}}}},
            "/admin/keys": {"get": _op("List keys", "admin"),
                            "post": _op("Create a key", "admin", "KeyRequest", ok_status="201")},
            "/admin/keys/{key_id}": {"delete": _op("Revoke a key", "admin", params=[key_param])},
            "/admin/cuts": {"get": _op("List cuts", "admin"),
                            "post": _op("Cut a provider/country/law", "admin", "CutRequest", ok_status="201")},
            "/admin/cuts/{target}": {"delete": _op("Restore a cut target", "admin", params=[target_param])},
            "/admin/deployments": {"get": _op("Deployment state (breakers, load)", "admin")},
            "/admin/capacity": {"get": _op("Measured capacity per provider: tokens/s now and at peak, queue "
                                           "depth, KV use; null with a reason until measured", "admin",
                                           ok=CAPACITY_SCHEMA)},
            **admin_view_paths(_op, policies),
            **eval_ack_paths(_op),
        },
    }  # fmt: skip
