"""Admin routes (admin keys only): keys, kill-switch cuts, deployment state, and the read views
the console shows (traffic, routing explorer, drill, audit chain, usage, models).

A caller is an admin key in ``Authorization`` (channel ``api``) or a console session cookie
(channel ``console``, which must also carry the CSRF token on every change).  Every change is
recorded as an admin event naming the key and the channel.
"""

from __future__ import annotations

import asyncio
import io
import math
import re
import time
from typing import Any

from aiohttp import web

from lockgate.audit.export import iter_records, write_csv, write_jsonl
from lockgate.audit.usage_report import DIMENSIONS, PERIODS, usage
from lockgate.auth.admin_events import list_events, record_event
from lockgate.auth.keys import Principal, create_key, list_keys, load_principals, revoke_key
from lockgate.errors import GatewayError, InvalidRequest, PermissionDenied, ServiceUnavailable
from lockgate.registry.records import all_artifacts as list_artifacts
from lockgate.server.console.sessions import SAFE_METHODS, check_csrf, cookie_session, resolve
from lockgate.server.gateway import Gateway
from lockgate.server.proxy import error_response, read_json
from lockgate.server.public import GATEWAY, json_response
from lockgate.server.views import budgets, capacity, chain, cutplan, explain, models, traffic
from lockgate.sovereignty.cuts import add_cut, list_cuts, load_cuts, remove_cut
from lockgate.sovereignty.drill import UnknownPolicy
from lockgate.sovereignty.targets import InvalidCutTarget, normalise_target
from lockgate.usage.load import parse_window

CALLER: web.RequestKey[tuple[Principal, str]] = web.RequestKey("admin_caller", tuple)
VERIFY_JOBS: web.AppKey[chain.VerifyJobs] = web.AppKey("verify_jobs", chain.VerifyJobs)


async def caller(request: web.Request) -> tuple[Principal, str]:
    """The principal and channel of an admin request: a key in the headers, else a console session."""
    gw = request.app[GATEWAY]
    if "Authorization" not in request.headers and "x-api-key" not in request.headers:
        session = await cookie_session(request)
        if session is not None:
            principal = resolve(gw.auth, session)
            if request.method not in SAFE_METHODS:
                check_csrf(request, session)
            return principal, "console"
    return gw.auth.authenticate(request.headers), "api"


async def _admin(request: web.Request) -> Gateway:
    gw = request.app[GATEWAY]
    principal, via = await caller(request)
    if not principal.is_admin:
        raise PermissionDenied("This route needs an admin key ('lockgate keys create NAME --admin').")
    if gw.store is None:
        raise ServiceUnavailable("This gateway runs without a store; admin changes are unavailable.")
    request[CALLER] = (principal, via)
    return gw


async def audit_event(
    request: web.Request, gw: Gateway, action: str, target: str | None, detail: dict[str, Any] | None = None
) -> None:
    """Record a change made by the calling admin key (off the proxy request path)."""
    assert gw.store is not None
    principal, via = request[CALLER]
    await asyncio.to_thread(record_event, gw.store, principal.id, principal.name, via, action, target, detail)


def _guarded(fn: Any) -> Any:
    async def wrapper(request: web.Request) -> web.Response:
        try:
            return await fn(request, await _admin(request))  # type: ignore[no-any-return]
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
    team = body.get("team")
    if team is not None and not isinstance(team, str):
        raise InvalidRequest("'team' must be a string.", param="team")
    for field in ("policy", "pii_policy"):
        if body.get(field) is not None:
            gw.policy.check_names([str(body[field])])
    key_id, secret = await asyncio.to_thread(
        create_key, gw.store, name, admin=bool(body.get("admin")), team=team, models=models,
        policy=body.get("policy"), pii_policy=body.get("pii_policy"),
    )  # fmt: skip
    gw.auth.replace(await asyncio.to_thread(load_principals, gw.store))
    await audit_event(request, gw, "key.create", key_id, {"name": name, "admin": bool(body.get("admin"))})
    return json_response({"id": key_id, "key": secret, "note": "shown once; store it now"}, 201)


@_guarded
async def delete_key(request: web.Request, gw: Gateway) -> web.Response:
    assert gw.store is not None
    if not await asyncio.to_thread(revoke_key, gw.store, request.match_info["key_id"]):
        raise InvalidRequest("No active key with that id.", param="key_id", status=404)
    gw.auth.replace(await asyncio.to_thread(load_principals, gw.store))
    await audit_event(request, gw, "key.revoke", request.match_info["key_id"])
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
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise InvalidRequest("'reason' must be a string.", param="reason")
    await asyncio.to_thread(add_cut, gw.store, target, reason)
    gw.cuts.replace(await asyncio.to_thread(load_cuts, gw.store))
    await audit_event(request, gw, "cut", target, {"reason": reason})
    return json_response({"cut": target}, 201)


@_guarded
async def delete_cut(request: web.Request, gw: Gateway) -> web.Response:
    assert gw.store is not None
    try:
        target = normalise_target(request.match_info["target"], gw.cfg.providers)
    except InvalidCutTarget as exc:  # a path naming no target names no cut: not found
        raise InvalidRequest(str(exc), param="target", status=404) from None
    if not await asyncio.to_thread(remove_cut, gw.store, target):
        raise InvalidRequest(f"No cut named {target!r}.", param="target", status=404)
    gw.cuts.replace(await asyncio.to_thread(load_cuts, gw.store))
    await audit_event(request, gw, "restore", target)
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


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequest(f"'{name}' must be an integer.", param=name) from None
    if not low <= value <= high:
        raise InvalidRequest(f"'{name}' must be between {low} and {high}.", param=name)
    return value


def _float_param(request: web.Request, name: str) -> float | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InvalidRequest(f"'{name}' must be a number (unix seconds).", param=name)
    return value


def _audit_on(gw: Gateway) -> dict[str, Any]:
    on = gw.cfg.audit.enabled
    return {
        "audit_enabled": on,
        "note": None if on else "audit is off (audit.enabled: false): nothing is recorded",
    }


@_guarded
async def get_overview(request: web.Request, gw: Gateway) -> web.Response:
    assert gw.store is not None
    hours = _int_param(request, "hours", 24, 1, 24 * 92)
    bucket = _int_param(request, "bucket", 3600 if hours > 6 else 300, 60, 86400)
    data = await asyncio.to_thread(traffic.overview, gw.store, hours, bucket)
    return json_response({**data, **_audit_on(gw), "source": "audit_log"})


@_guarded
async def get_requests(request: web.Request, gw: Gateway) -> web.Response:
    assert gw.store is not None
    filters = {k: v for k, v in request.query.items() if k in traffic.FILTERS and (v or k == "status")}
    if "status" in filters and not re.fullmatch(r"[1-5][0-9][0-9]", filters["status"]):
        raise InvalidRequest("'status' must be an HTTP status code.", param="status")
    limit = _int_param(request, "limit", 50, 1, traffic.MAX_PAGE)
    page = await asyncio.to_thread(
        traffic.request_page, gw.store, filters, limit, _float_param(request, "before")
    )
    return json_response({**page, **_audit_on(gw), "bodies": "never shown"})


@_guarded
async def get_audit_status(request: web.Request, gw: Gateway) -> web.Response:
    assert gw.store is not None
    chains = await asyncio.to_thread(chain.chain_status, gw.store)
    return json_response({"chains": chains, **_audit_on(gw), "configured_chain": gw.cfg.audit.chain_id})


@_guarded
async def post_audit_verify(request: web.Request, gw: Gateway) -> web.Response:
    assert gw.store is not None
    job = await request.app[VERIFY_JOBS].start(gw.store)
    await audit_event(request, gw, "audit.verify", job.id)
    return json_response(job.as_dict(), 202)


@_guarded
async def get_audit_verify(request: web.Request, gw: Gateway) -> web.Response:
    job = request.app[VERIFY_JOBS].jobs.get(request.match_info["job_id"])
    if job is None:
        raise InvalidRequest("No verification job with that id.", param="job_id", status=404)
    return json_response(job.as_dict())


@_guarded
async def get_audit_export(request: web.Request, gw: Gateway) -> web.Response:
    assert gw.store is not None
    fmt = request.query.get("format", "jsonl")
    if fmt not in ("jsonl", "csv"):
        raise InvalidRequest("'format' must be jsonl or csv.", param="format")
    start = _float_param(request, "from") or 0.0
    end = _float_param(request, "to") or time.time() + 1

    store = gw.store

    def render() -> tuple[str, int]:
        out = io.StringIO()
        writer = write_jsonl if fmt == "jsonl" else write_csv
        count = writer(iter_records(store, start, end), out)  # no cipher: bodies are never exported here
        return out.getvalue(), count

    text, count = await asyncio.to_thread(render)
    await audit_event(request, gw, "audit.export", fmt, {"from": start, "to": end, "records": count})
    name = f"lockgate-audit-{int(start)}-{int(end)}.{fmt}"
    return web.Response(
        text=text, content_type="application/x-ndjson" if fmt == "jsonl" else "text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )  # fmt: skip


@_guarded
async def get_routing(request: web.Request, gw: Gateway) -> web.Response:
    """What the routing explorer can pick: aliases, active keys and known teams."""
    principals = gw.auth.principals()
    teams = sorted(
        {p.team for p in principals if p.team} | set(gw.cfg.policies.teams) | set(gw.cfg.limits.teams)
    )
    keys = [{"id": p.id, "name": p.name, "team": p.team, "admin": p.is_admin, "policy": p.policy}
            for p in sorted(principals, key=lambda p: p.name)]  # fmt: skip
    return json_response({"aliases": sorted(gw.router.routes), "keys": keys, "teams": teams,
                          "policies": sorted(gw.policy.names), "cuts": sorted(gw.cuts.targets)})  # fmt: skip


@_guarded
async def get_explain(request: web.Request, gw: Gateway) -> web.Response:
    alias = request.query.get("alias", "")
    route = gw.router.route(alias)
    principal = explain.find_principal(
        gw.auth.principals(), request.query.get("key_id"), request.query.get("team")
    )
    return json_response(explain.explain(gw.decider, route, principal))


def _target(gw: Gateway, raw: str) -> str:
    try:
        return normalise_target(raw, gw.cfg.providers)
    except InvalidCutTarget as exc:
        raise InvalidRequest(str(exc), param="target") from None


@_guarded
async def get_cut_plan(request: web.Request, gw: Gateway) -> web.Response:
    target = _target(gw, request.query.get("target", ""))
    action = request.query.get("action", "cut")
    if action not in ("cut", "restore"):
        raise InvalidRequest("'action' must be cut or restore.", param="action")
    restore = action == "restore"
    return json_response(cutplan.plan(gw.router.deployments(), set(gw.cuts.targets), target, restore))


@_guarded
async def get_drill(request: web.Request, gw: Gateway) -> web.Response:
    cuts = [_target(gw, c) for c in request.query.getall("cut", [])]
    extra = request.query.getall("with", [])
    if any(w != "current" for w in extra):
        raise InvalidRequest("'with' may only be 'current' (add the cuts in force).", param="with")
    if extra:
        cuts = sorted(set(cuts) | gw.cuts.targets)
    window = _window(request)
    figures, store, policies = capacity.measured(gw.providers), gw.store, request.query.getall("policy", [])
    assert store is not None

    def matrix() -> dict[str, Any]:  # the load is a database read: off the event loop
        inputs = capacity.drill_inputs(gw.cfg, store, figures, "not measured by this gateway", window)
        return cutplan.drill_matrix(gw.cfg, list(dict.fromkeys(cuts)), policies, inputs)

    try:
        data = await asyncio.to_thread(matrix)
    except UnknownPolicy as exc:
        raise InvalidRequest(str(exc), param="policy") from None
    return json_response(data)


def _window(request: web.Request) -> int:
    try:
        return parse_window(request.query.get("window", "24h"))
    except ValueError as exc:
        raise InvalidRequest(f"'window': {exc}.", param="window") from None


@_guarded
async def get_capacity(request: web.Request, gw: Gateway) -> web.Response:
    """Measured capacity per provider (no I/O: the engines' figures are polled in the background)."""
    return json_response(capacity.capacity_view(gw.cfg, gw.providers, gw.router.deployments()))


@_guarded
async def get_usage(request: web.Request, gw: Gateway) -> web.Response:
    assert gw.store is not None
    by, period = request.query.get("by", "key"), request.query.get("period", "day")
    if by not in DIMENSIONS or period not in PERIODS:
        raise InvalidRequest(
            f"'by' must be one of {sorted(DIMENSIONS)}, 'period' one of {list(PERIODS)}.", param="by"
        )
    rows = await asyncio.to_thread(usage, gw.store, by, period, _float_param(request, "since"))
    return json_response({"by": by, "period": period, "data": [r.as_dict() for r in rows], **_audit_on(gw)})


@_guarded
async def get_budgets(request: web.Request, gw: Gateway) -> web.Response:
    assert gw.store is not None
    store = gw.store
    keys = await asyncio.to_thread(list_keys, store)
    data = await asyncio.to_thread(budgets.budgets, store, gw.cfg.limits, keys)
    return json_response({**data, **_audit_on(gw)})


@_guarded
async def get_models(request: web.Request, gw: Gateway) -> web.Response:
    assert gw.store is not None
    data = await asyncio.to_thread(models.artifacts_view, gw.store, gw.cfg.operator)
    return json_response({"data": data, "enforced": gw.cfg.registry.enforce})


@_guarded
async def get_models_bom(request: web.Request, gw: Gateway) -> web.Response:
    assert gw.store is not None
    store = gw.store
    from lockgate.registry.bom import bom_json  # CycloneDX loads only when a bill is asked for

    text = await asyncio.to_thread(lambda: bom_json(list_artifacts(store)))
    return web.Response(
        text=text, content_type="application/vnd.cyclonedx+json",
        headers={"Content-Disposition": 'attachment; filename="lockgate-ml-bom.cdx.json"'},
    )  # fmt: skip


@_guarded
async def get_events(request: web.Request, gw: Gateway) -> web.Response:
    assert gw.store is not None
    limit = _int_param(request, "limit", 100, 1, 1000)
    events = await asyncio.to_thread(list_events, gw.store, limit)
    return json_response({"data": [e.as_dict() for e in events]})


ROUTES = [
    web.get("/admin/keys", get_keys),
    web.post("/admin/keys", post_key),
    web.delete("/admin/keys/{key_id}", delete_key),
    web.get("/admin/cuts", get_cuts),
    web.post("/admin/cuts", post_cut),
    web.delete("/admin/cuts/{target}", delete_cut),
    web.get("/admin/deployments", get_deployments),
    web.get("/admin/overview", get_overview),
    web.get("/admin/requests", get_requests),
    web.get("/admin/audit/status", get_audit_status),
    web.post("/admin/audit/verify", post_audit_verify),
    web.get("/admin/audit/verify/{job_id}", get_audit_verify),
    web.get("/admin/audit/export", get_audit_export),
    web.get("/admin/routing", get_routing),
    web.get("/admin/explain", get_explain),
    web.get("/admin/cut-plan", get_cut_plan),
    web.get("/admin/drill", get_drill),
    web.get("/admin/capacity", get_capacity),
    web.get("/admin/usage", get_usage),
    web.get("/admin/budgets", get_budgets),
    web.get("/admin/models", get_models),
    web.get("/admin/models/bom", get_models_bom),
    web.get("/admin/events", get_events),
]
