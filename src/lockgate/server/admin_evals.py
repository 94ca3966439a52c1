"""Admin routes for evaluation runs (admin keys or a console session): the runs found in
``eval.runs_dir``, one run's HTML report, and the comparison of two runs.

The report is the file ``lockgate eval run`` wrote, served as it is under its own policy: it
carries an inline ``<style>`` block, ``style`` attributes and inline SVG, so it may use inline
styles, but it may run no script at all (``default-src 'none'``, no ``script-src``, and a CSP
``sandbox`` without ``allow-scripts``), load nothing from anywhere, and not be framed.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from lockgate.server.admin import _guarded
from lockgate.server.gateway import Gateway
from lockgate.server.public import json_response
from lockgate.server.views.evals import RunsDir

EVAL_RUNS: web.AppKey[RunsDir] = web.AppKey("eval_runs", RunsDir)
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'; sandbox"
)


@_guarded
async def get_evals(request: web.Request, gw: Gateway) -> web.Response:
    return json_response(await asyncio.to_thread(request.app[EVAL_RUNS].runs))


@_guarded
async def get_eval_report(request: web.Request, gw: Gateway) -> web.Response:
    body = await asyncio.to_thread(request.app[EVAL_RUNS].report, request.match_info["run_id"])
    return web.Response(
        body=body, content_type="text/html", charset="utf-8",
        headers={"Content-Security-Policy": REPORT_CSP, "X-Content-Type-Options": "nosniff",
                 "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY", "Cache-Control": "no-store"},
    )  # fmt: skip


@_guarded
async def get_eval_compare(request: web.Request, gw: Gateway) -> web.Response:
    a, b = request.query.get("a", ""), request.query.get("b", "")
    return json_response(await asyncio.to_thread(request.app[EVAL_RUNS].compare, a, b))


ROUTES = [
    web.get("/admin/evals", get_evals),
    web.get("/admin/evals/compare", get_eval_compare),
    web.get("/admin/evals/{run_id}/report", get_eval_report),
]


def install(app: web.Application, gw: Gateway) -> None:
    app[EVAL_RUNS] = RunsDir(gw.cfg.eval.runs_dir)
    app.add_routes(ROUTES)
