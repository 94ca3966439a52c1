"""Admin routes (admin keys only): keys, kill-switch cuts, deployment state."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from lockgate.auth.keys import create_key, list_keys, load_principals, revoke_key
from lockgate.errors import GatewayError, InvalidRequest, PermissionDenied, ServiceUnavailable
from lockgate.server.gateway import Gateway
from lockgate.server.proxy import error_response, read_json
from lockgate.server.public import GATEWAY, json_response
from lockgate.sovereignty.cuts import add_cut, list_cuts, load_cuts, remove_cut
from lockgate.sovereignty.targets import InvalidCutTarget, normalise_target


def _admin(request: web.Request) -> Gateway:
    gw = request.app[GATEWAY]
    principal = gw.auth.authenticate(request.headers)
    if not principal.is_admin:
        raise PermissionDenied("This route needs an admin key ('lockgate keys create NAME --admin').")
    if gw.store is None:
        raise ServiceUnavailable("This gateway runs without a store; admin changes are unavailable.")
    return gw


def _guarded(fn: Any) -> Any:
    async def wrapper(request: web.Request) -> web.Response:
        try:
            return await fn(request, _admin(request))  # type: ignore[no-any-return]
        except GatewayError as err:
            return error_response(err)

    return wrapper


@_guarded
async def get_keys(request: web.Request, gw: Gateway) -> web.Response:
    assert gw.store is not None
    return json_response({"data": await asyncio.to_thread(list_keys, gw.store)})


@_guarded
async def post_key(request: web.Request, gw: Gateway) -> web.Response:
    assert gw.store is not None
    body = await read_json(request)
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidRequest("'name' is required.", param="name")
    models = body.get("models")
    if models is not None and not (isinstance(models, list) and all(isinstance(m, str) for m in models)):
        raise InvalidRequest("'models' must be a list of aliases.", param="models")
    for field in ("policy", "pii_policy"):
        if body.get(field) is not None:
            gw.policy.check_names([str(body[field])])
    key_id, secret = await asyncio.to_thread(
        create_key, gw.store, name, admin=bool(body.get("admin")), team=body.get("team"), models=models,
        policy=body.get("policy"), pii_policy=body.get("pii_policy"),
    )  # fmt: skip
    gw.auth.replace(await asyncio.to_thread(load_principals, gw.store))
    return json_response({"id": key_id, "key": secret, "note": "shown once; store it now"}, 201)


@_guarded
async def delete_key(request: web.Request, gw: Gateway) -> web.Response:
    assert gw.store is not None
    if not await asyncio.to_thread(revoke_key, gw.store, request.match_info["key_id"]):
        raise InvalidRequest("No active key with that id.", param="key_id", status=404)
    gw.auth.replace(await asyncio.to_thread(load_principals, gw.store))
    return json_response({"revoked": request.match_info["key_id"]})


@_guarded
async def get_cuts(request: web.Request, gw: Gateway) -> web.Response:
    assert gw.store is not None
    cuts = await asyncio.to_thread(list_cuts, gw.store)
    return json_response(
        {"data": [{"target": c.target, "reason": c.reason, "created_at": c.created_at} for c in cuts]}
    )


@_guarded
async def post_cut(request: web.Request, gw: Gateway) -> web.Response:
    assert gw.store is not None
    body = await read_json(request)
    target = body.get("target")
    if not isinstance(target, str) or not target:
        raise InvalidRequest(
            "'target' is required: a provider, an ISO country code or a law.", param="target"
        )
    try:
        target = normalise_target(target, gw.cfg.providers)
    except InvalidCutTarget as exc:
        raise InvalidRequest(str(exc), param="target") from None
    await asyncio.to_thread(add_cut, gw.store, target, body.get("reason"))
    gw.cuts.replace(await asyncio.to_thread(load_cuts, gw.store))
    return json_response({"cut": target}, 201)


@_guarded
async def delete_cut(request: web.Request, gw: Gateway) -> web.Response:
    assert gw.store is not None
    try:
        target = normalise_target(request.match_info["target"], gw.cfg.providers)
    except InvalidCutTarget as exc:
        raise InvalidRequest(str(exc), param="target") from None
    if not await asyncio.to_thread(remove_cut, gw.store, target):
        raise InvalidRequest(f"No cut named {target!r}.", param="target", status=404)
    gw.cuts.replace(await asyncio.to_thread(load_cuts, gw.store))
    return json_response({"restored": target})


@_guarded
async def get_deployments(request: web.Request, gw: Gateway) -> web.Response:
    data = [
        {"alias": d.alias, "deployment": d.name, "breaker": d.breaker.state.value, "inflight": d.stats.inflight,
         "ewma_latency_ms": d.stats.ewma_latency_ms, "jurisdiction": d.facts.jurisdiction,
         "cut": gw.cuts.match(d.provider_name, d.facts)}
        for d in gw.router.deployments()
    ]  # fmt: skip
    return json_response({"data": data, "providers": gw.describe()})


ROUTES = [
    web.get("/admin/keys", get_keys),
    web.post("/admin/keys", post_key),
    web.delete("/admin/keys/{key_id}", delete_key),
    web.get("/admin/cuts", get_cuts),
    web.post("/admin/cuts", post_cut),
    web.delete("/admin/cuts/{target}", delete_cut),
    web.get("/admin/deployments", get_deployments),
]
