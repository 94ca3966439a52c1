"""``POST /admin/audit/verify-stream``: verify every audit chain and stream the progress.

The same job as ``POST /admin/audit/verify`` (``views.chain.VerifyJobs``), but its state comes
back on the same connection as JSON lines, one every ``TICK`` seconds and a last one when it
ends: a console behind ``serve --workers`` or a balancer cannot poll a job that another
process holds, while a stream stays with the process that runs it.
"""

from __future__ import annotations

import asyncio

import orjson
from aiohttp import web

from lockgate.server.admin import VERIFY_JOBS, _guarded, audit_event
from lockgate.server.gateway import Gateway

TICK = 0.25


@_guarded
async def post_verify_stream(request: web.Request, gw: Gateway) -> web.StreamResponse:
    assert gw.store is not None
    job = await request.app[VERIFY_JOBS].start(gw.store)
    await audit_event(request, gw, "audit.verify", job.id)
    response = web.StreamResponse(
        headers={"Content-Type": "application/x-ndjson", "Cache-Control": "no-store"}
    )
    await response.prepare(request)
    while True:
        finished = job.finished_at is not None  # read before the line, so the last line is the final state
        await response.write(orjson.dumps(job.as_dict()) + b"\n")
        if finished:
            break
        await asyncio.sleep(TICK)
    await response.write_eof()
    return response


ROUTES = [web.post("/admin/audit/verify-stream", post_verify_stream)]
