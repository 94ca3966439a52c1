"""Public routes: the OpenAI surface, model list, health, readiness, metrics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from lockgate.errors import GatewayError, ModelNotFound
from lockgate.server.endpoints import CHAT, COMPLETIONS, COUNT_TOKENS, EMBEDDINGS, MESSAGES, RESPONSES
from lockgate.server.gateway import Gateway
from lockgate.server.proxy import Proxy, error_response

GATEWAY: web.AppKey[Gateway] = web.AppKey("gateway", Gateway)
# what /metrics answers when this process is one of several workers (``server.fleetmetrics``)
EXPOSITION: web.AppKey[Callable[[], Awaitable[bytes]]] = web.AppKey("exposition")
STARTED = int(time.time())


def json_response(data: object, status: int = 200) -> web.Response:
    """JSON for the non-proxied routes (values orjson cannot encode are rendered with str)."""
    return web.Response(body=orjson.dumps(data, default=str), status=status, content_type="application/json")


def routes(proxy: Proxy) -> list[web.RouteDef]:
    async def chat(request: web.Request) -> web.StreamResponse:
        return await proxy.handle(request, CHAT)

    async def completions(request: web.Request) -> web.StreamResponse:
        return await proxy.handle(request, COMPLETIONS)

    async def embeddings(request: web.Request) -> web.StreamResponse:
        return await proxy.handle(request, EMBEDDINGS)

    async def messages(request: web.Request) -> web.StreamResponse:
        return await proxy.handle(request, MESSAGES)

    async def count_tokens(request: web.Request) -> web.StreamResponse:
        return await proxy.handle(request, COUNT_TOKENS, proxy.count_tokens)

    async def responses(request: web.Request) -> web.StreamResponse:
        return await proxy.handle(request, RESPONSES)

    async def get_response(request: web.Request) -> web.Response:
        gw = request.app[GATEWAY]
        try:
            principal = gw.auth.authenticate(request.headers)
            found = await proxy.sessions.read(request.match_info["response_id"], principal)
            if found is None:
                why = "" if proxy.sessions.store is not None else f" {proxy.sessions.off_reason}"
                raise ModelNotFound(
                    f"No stored response {request.match_info['response_id']!r} that this key may read.{why}",
                    param="response_id", code="response_not_found",
                )  # fmt: skip
        except GatewayError as err:
            return error_response(err)
        return json_response(found)

    return [
        web.post("/v1/chat/completions", chat),
        web.post("/v1/messages", messages),
        web.post("/v1/messages/count_tokens", count_tokens),
        web.post("/v1/responses", responses),
        web.get("/v1/responses/{response_id}", get_response),
        web.post("/v1/completions", completions),
        web.post("/v1/embeddings", embeddings),
        web.get("/v1/models", list_models),
        web.get("/v1/models/{model}", get_model),
        web.get("/healthz", healthz),
        web.get("/readyz", readyz),
        web.get("/metrics", metrics),
    ]


def _model_entry(gw: Gateway, alias: str) -> dict[str, object]:
    route = gw.router.routes[alias]
    return {
        "id": alias,
        "object": "model",
        "created": STARTED,
        "owned_by": "lockgate",
        "lockgate": {
            "description": route.description,
            "deployments": [
                {"name": d.name, "provider": d.provider_name, "jurisdiction": d.facts.jurisdiction,
                 "self_hosted": d.facts.self_hosted}
                for d in route.deployments
            ],
        },
    }  # fmt: skip


async def list_models(request: web.Request) -> web.Response:
    gw = request.app[GATEWAY]
    try:
        principal = gw.auth.authenticate(request.headers)
    except GatewayError as err:
        return error_response(err)
    allowed = principal.allowed_models
    data = [_model_entry(gw, a) for a in gw.router.routes if allowed is None or a in allowed]
    return json_response({"object": "list", "data": data})


async def get_model(request: web.Request) -> web.Response:
    gw = request.app[GATEWAY]
    try:
        gw.auth.authenticate(request.headers)
        alias = request.match_info["model"]
        gw.router.route(alias)
    except GatewayError as err:
        return error_response(err)
    return json_response(_model_entry(gw, alias))


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


def _may_see_detail(gw: Gateway, request: web.Request) -> bool:
    """Only admin keys (or keyless loopback mode) see engines, providers and base URLs."""
    try:
        return gw.auth.authenticate(request.headers).is_admin
    except GatewayError:
        return False


async def readyz(request: web.Request) -> web.Response:
    """Ready once every local engine answers and every alias has a ready deployment.

    Anyone gets the status; admin keys also get aliases, providers and engine base URLs.
    """
    gw = request.app[GATEWAY]
    names = list(gw.providers)
    probes = await asyncio.gather(*(gw.providers[n].probe() for n in names), return_exceptions=True)
    ready = {n: p is True for n, p in zip(names, probes, strict=True)}
    aliases = {
        alias: any(ready[d.provider_name] for d in route.deployments)
        for alias, route in gw.router.routes.items()
    }
    ok = all(aliases.values()) and all(ready[n] for n, p in gw.providers.items() if p.kind != "openai")
    status = "ready" if ok else "not ready"
    if not _may_see_detail(gw, request):
        return json_response({"status": status}, 200 if ok else 503)
    body = {
        "status": status,
        "aliases": aliases,
        "providers": gw.describe(),
        "engines": {n: [r["base_url"] for r in d.get("replicas", [])] for n, d in gw.describe().items()
                    if "replicas" in d},
    }  # fmt: skip
    return json_response(body, 200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    expose = request.app.get(EXPOSITION)
    body = generate_latest() if expose is None else await expose()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
