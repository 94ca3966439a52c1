"""Console routes: sign-in and sign-out, the page shell and its static files.

Everything the pages show comes from the admin API (``/admin/...``) with the session cookie;
this module only exchanges an admin key for a session and serves files.  Responses carry a
strict Content-Security-Policy: no inline script or style, nothing from another origin.
"""

from __future__ import annotations

import html
from pathlib import Path

from aiohttp import web

from lockgate.auth.keys import hash_secret
from lockgate.errors import GatewayError, PermissionDenied
from lockgate.server.console.sessions import (
    SESSIONS,
    check_csrf,
    check_same_origin,
    clear_cookie,
    cookie_session,
    resolve,
    set_cookie,
)
from lockgate.server.proxy import error_response
from lockgate.server.public import GATEWAY, json_response

STATIC = Path(__file__).with_name("static")
ASSETS = {
    "console.js": "application/javascript",
    "console-actions.js": "application/javascript",
    "console.css": "text/css",
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def _secure(response: web.StreamResponse) -> web.StreamResponse:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"  # no-referrer would send Origin: null
    response.headers["X-Frame-Options"] = "DENY"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _page(name: str, status: int = 200, message: str | None = None) -> web.StreamResponse:
    text = (STATIC / name).read_text(encoding="utf-8")
    note = f'<p class="error" role="alert">{html.escape(message)}</p>' if message else ""
    return _secure(
        web.Response(text=text.replace("<!--message-->", note), status=status, content_type="text/html")
    )


async def shell(request: web.Request) -> web.StreamResponse:
    if not request.path.endswith("/"):
        raise web.HTTPSeeOther("console/")
    session = await cookie_session(request)
    if session is None:
        raise web.HTTPSeeOther("signin")
    try:
        resolve(request.app[GATEWAY].auth, session)
    except GatewayError:
        await request.app[SESSIONS].close(session.id)
        raise web.HTTPSeeOther("signin") from None
    return _page("index.html")


async def signin_form(request: web.Request) -> web.StreamResponse:
    return _page("signin.html")


async def signin(request: web.Request) -> web.StreamResponse:
    gw = request.app[GATEWAY]
    try:
        check_same_origin(request)
        form = await request.post()
        key = str(form.get("key", "")).strip()
        principal = gw.auth.authenticate({"Authorization": f"Bearer {key}"} if key else {})
        if not principal.is_admin:
            raise PermissionDenied("This key is not an admin key; the console needs one.")
    except GatewayError as err:
        return _page("signin.html", err.status, err.message)
    session = await request.app[SESSIONS].open(None if gw.auth.keyless else hash_secret(key))
    response = web.HTTPSeeOther("./")
    set_cookie(response, request, session)
    _secure(response)
    raise response


async def session_info(request: web.Request) -> web.StreamResponse:
    """The signed-in key and the CSRF token the page sends with every change."""
    try:
        session = await cookie_session(request)
        if session is None:
            raise PermissionDenied("Not signed in to the console.", status=401, code="not_signed_in")
        principal = resolve(request.app[GATEWAY].auth, session)
    except GatewayError as err:
        return _secure(error_response(err))
    return _secure(json_response({"csrf": session.csrf, "key_id": principal.id, "key_name": principal.name,
                                  "expires_at": session.expires_at}))  # fmt: skip


async def signout(request: web.Request) -> web.StreamResponse:
    session = await cookie_session(request)
    if session is not None:
        try:
            check_csrf(request, session)
        except GatewayError as err:
            return _secure(error_response(err))
        await request.app[SESSIONS].close(session.id)
    response = json_response({"signed_out": True})
    clear_cookie(response)
    return _secure(response)


async def asset(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in ASSETS:
        raise web.HTTPNotFound()
    response = web.Response(body=(STATIC / name).read_bytes(), content_type=ASSETS[name])
    response.headers["Cache-Control"] = "no-cache"
    return _secure(response)


ROUTES = [
    web.get("/console", shell),
    web.get("/console/", shell),
    web.get("/console/signin", signin_form),
    web.post("/console/signin", signin),
    web.get("/console/session", session_info),
    web.post("/console/signout", signout),
    web.get("/console/static/{name}", asset),
]
