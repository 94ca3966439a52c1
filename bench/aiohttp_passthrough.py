"""The bare peer: a minimal aiohttp pass-through proxy with one API key and nothing else.

Usage: python aiohttp_passthrough.py PORT UPSTREAM_BASE_URL   (the key comes from $BENCH_KEY)
"""

import asyncio
import os
import sys

import aiohttp
from aiohttp import web

UPSTREAM = web.AppKey("upstream", str)
AUTH = web.AppKey("auth", str)
SESSION = web.AppKey("session", aiohttp.ClientSession)


async def forward(request: web.Request) -> web.StreamResponse:
    if request.headers.get("Authorization") != request.app[AUTH]:
        return web.json_response(
            {"error": {"message": "bad key", "type": "invalid_request_error"}}, status=401
        )
    body = await request.read()
    headers = {"Content-Type": request.headers.get("Content-Type", "application/json")}
    async with request.app[SESSION].post(
        request.app[UPSTREAM] + request.path, data=body, headers=headers
    ) as up:
        if up.content_type != "text/event-stream":
            return web.Response(status=up.status, body=await up.read(), content_type=up.content_type)
        resp = web.StreamResponse(status=up.status, headers={"Content-Type": up.content_type})
        await resp.prepare(request)
        async for chunk in up.content.iter_any():
            await resp.write(chunk)
        await resp.write_eof()
        return resp


async def close_session(app: web.Application) -> None:
    await app[SESSION].close()


async def make_app(upstream: str) -> web.Application:
    app = web.Application()
    app[UPSTREAM] = upstream.rstrip("/")
    app[AUTH] = "Bearer " + os.environ["BENCH_KEY"]
    app[SESSION] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256))
    app.on_cleanup.append(close_session)
    app.router.add_post("/{tail:.*}", forward)
    return app


def new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


if __name__ == "__main__":
    port, upstream = int(sys.argv[1]), sys.argv[2]
    web.run_app(make_app(upstream), host="127.0.0.1", port=port, access_log=None, print=None, loop=new_loop())
