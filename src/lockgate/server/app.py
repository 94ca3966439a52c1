"""Compose the aiohttp application once: public routes, admin routes, OpenAPI, error shape."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

from lockgate.errors import GatewayError, InvalidRequest
from lockgate.server import admin, admin_acks, admin_evals, admin_verify, public
from lockgate.server.console import pages as console
from lockgate.server.console.sessions import SESSIONS, console_sessions
from lockgate.server.gateway import Gateway
from lockgate.server.openapi import document
from lockgate.server.proxy import Proxy, error_response
from lockgate.server.views.chain import VerifyJobs

log = logging.getLogger("lockgate")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def openai_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Unknown routes, wrong methods and unexpected failures still answer in OpenAI's error shape."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        msg = f"{request.method} {request.path}: {exc.reason}."
        if exc.status == 404:
            msg += " See /openapi.json for the routes this gateway serves."
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None  # RFC 9110 on 405
        return error_response(
            InvalidRequest(msg, status=exc.status, code=exc.reason.lower().replace(" ", "_"), headers=allow)
        )
    except GatewayError as err:
        return error_response(err)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(
            GatewayError("Internal gateway error; the operator can find details in the log.")
        )


def cut_targets(gateway: Gateway) -> list[str]:
    """Every canonical kill-switch target: providers, catalogue providers, countries, laws."""
    from lockgate.sovereignty.catalogue import CATALOGUE
    from lockgate.sovereignty.laws import LAWS
    from lockgate.sovereignty.regions import COUNTRIES

    return sorted({*gateway.cfg.providers, *CATALOGUE, *COUNTRIES, *LAWS})


def build_app(gateway: Gateway) -> web.Application:
    app = web.Application(client_max_size=gateway.cfg.server.max_body_bytes, middlewares=[openai_errors])
    app[public.GATEWAY] = gateway
    proxy = Proxy(gateway)
    app.add_routes(public.routes(proxy))
    app.add_routes(admin.ROUTES)
    app.add_routes(admin_acks.ROUTES)
    app.add_routes(admin_verify.ROUTES)
    admin_evals.install(app, gateway)
    app[admin.VERIFY_JOBS] = VerifyJobs()
    app[SESSIONS] = console_sessions(gateway.store)
    app.add_routes(console.ROUTES)
    spec = orjson.dumps(
        document(gateway.router.routes, gateway.policy.names, cut_targets(gateway),
                 stored_responses=proxy.sessions.store is not None)
    )  # fmt: skip

    async def openapi(_: web.Request) -> web.Response:
        return web.Response(body=spec, content_type="application/json")

    app.router.add_get("/openapi.json", openapi)

    async def on_startup(_: web.Application) -> None:
        await gateway.start()

    async def on_cleanup(_: web.Application) -> None:
        await gateway.close()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app
