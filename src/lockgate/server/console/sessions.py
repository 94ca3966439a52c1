"""Console sessions: an admin key signs in once and is exchanged for an opaque session id.

The id travels in an ``HttpOnly; SameSite=Strict`` cookie (``Secure`` over TLS); the server
keeps, per session, the hash of the key (never the key), a CSRF token, and its idle and
absolute deadlines.  Each request re-resolves the key through the live key map, so revoking
the key ends its sessions.

Sessions live in the store (``auth.console_sessions``), so every worker and every instance on
one database knows them and signing out ends them everywhere; a gateway without a store keeps
them in its memory.  The last-seen time is written at most once a minute, so the idle
deadline is exact to within ``TOUCH_SECONDS``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web
from sqlalchemy import Engine

from lockgate.auth.console_sessions import delete_session, insert_session, load_session, touch_session
from lockgate.auth.guard import Authenticator
from lockgate.auth.keys import ANONYMOUS, Principal
from lockgate.errors import AuthenticationFailed, PermissionDenied

COOKIE = "lockgate_console"
CSRF_HEADER = "X-CSRF-Token"
IDLE_SECONDS = 30 * 60
ABSOLUTE_SECONDS = 12 * 3600
TOUCH_SECONDS = 60
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(slots=True)
class ConsoleSession:
    id: str
    key_hash: str | None  # None: signed in while the gateway was keyless
    csrf: str
    created_at: float
    seen_at: float

    @property
    def expires_at(self) -> float:
        return min(self.seen_at + IDLE_SECONDS, self.created_at + ABSOLUTE_SECONDS)

    @classmethod
    def new(cls, key_hash: str | None, now: float) -> ConsoleSession:
        return cls(secrets.token_urlsafe(32), key_hash, secrets.token_urlsafe(32), now, now)


class ConsoleSessions(Protocol):
    async def open(self, key_hash: str | None) -> ConsoleSession: ...

    async def get(self, session_id: str | None) -> ConsoleSession | None: ...

    async def close(self, session_id: str) -> None: ...


class MemorySessions:
    """Sessions of one process (a gateway without a store)."""

    def __init__(self) -> None:
        self._by_id: dict[str, ConsoleSession] = {}

    async def open(self, key_hash: str | None) -> ConsoleSession:
        now = time.time()
        for sid in [s.id for s in self._by_id.values() if now >= s.expires_at]:
            del self._by_id[sid]
        session = ConsoleSession.new(key_hash, now)
        self._by_id[session.id] = session
        return session

    async def get(self, session_id: str | None) -> ConsoleSession | None:
        if not session_id:
            return None
        session = self._by_id.get(session_id)
        now = time.time()
        if session is None or now >= session.expires_at:
            self._by_id.pop(session_id, None)
            return None
        session.seen_at = now
        return session

    async def close(self, session_id: str) -> None:
        self._by_id.pop(session_id, None)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class StoredSessions:
    """Sessions in the store, shared by every process on it (each call is one short query in a thread)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def open(self, key_hash: str | None) -> ConsoleSession:
        now = time.time()
        session = ConsoleSession.new(key_hash, now)
        row = {"id_hash": _digest(session.id), "key_hash": key_hash, "csrf": session.csrf,
               "created_at": now, "seen_at": now}  # fmt: skip
        await asyncio.to_thread(insert_session, self.engine, row, now - IDLE_SECONDS, now - ABSOLUTE_SECONDS)
        return session

    async def get(self, session_id: str | None) -> ConsoleSession | None:
        if not session_id or len(session_id) > 128:
            return None
        id_hash = _digest(session_id)
        row = await asyncio.to_thread(load_session, self.engine, id_hash)
        if row is None:
            return None
        session = ConsoleSession(session_id, row["key_hash"], str(row["csrf"]), float(row["created_at"]),
                                 float(row["seen_at"]))  # fmt: skip
        now = time.time()
        if now >= session.expires_at:
            await asyncio.to_thread(delete_session, self.engine, id_hash)
            return None
        if now - session.seen_at >= TOUCH_SECONDS:
            await asyncio.to_thread(touch_session, self.engine, id_hash, now)
        session.seen_at = now
        return session

    async def close(self, session_id: str) -> None:
        await asyncio.to_thread(delete_session, self.engine, _digest(session_id))


def console_sessions(store: Engine | None) -> ConsoleSessions:
    """Where this gateway keeps console sessions: its store, else its memory."""
    return StoredSessions(store) if store is not None else MemorySessions()


SESSIONS: web.AppKey[ConsoleSessions] = web.AppKey("console_sessions", ConsoleSessions)


def resolve(auth: Authenticator, session: ConsoleSession) -> Principal:
    """The session's principal now: its key must still be active and still admin."""
    if session.key_hash is None:
        if auth.keyless:
            return ANONYMOUS
        raise AuthenticationFailed(
            "This console session began without keys; API keys exist now. Sign in again."
        )
    principal = auth.by_hash(session.key_hash)
    if principal is None:
        raise AuthenticationFailed("The key this console session signed in with was revoked. Sign in again.")
    if not principal.is_admin:
        raise PermissionDenied("The console needs an admin key.")
    return principal


def check_same_origin(request: web.Request) -> None:
    """Refuse cross-site writes (OWASP: check Origin / Sec-Fetch-Site as well as the token)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        raise PermissionDenied("Cross-site console request refused.", code="csrf_failed")
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"{request.scheme}://{request.host}":
        raise PermissionDenied("Console request from another origin refused.", code="csrf_failed")


def check_csrf(request: web.Request, session: ConsoleSession) -> None:
    check_same_origin(request)
    token = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(token.encode(), session.csrf.encode()):
        raise PermissionDenied(
            f"Missing or wrong {CSRF_HEADER} header; reload the console.", code="csrf_failed"
        )


async def cookie_session(
    request: web.Request, cookies: Mapping[str, str] | None = None
) -> ConsoleSession | None:
    sessions = request.app.get(SESSIONS)
    if sessions is None:
        return None
    return await sessions.get((cookies if cookies is not None else request.cookies).get(COOKIE))


def set_cookie(response: web.StreamResponse, request: web.Request, session: ConsoleSession) -> None:
    response.set_cookie(
        COOKIE, session.id, max_age=ABSOLUTE_SECONDS, path="/", httponly=True, samesite="Strict",
        secure=request.secure,
    )  # fmt: skip


def clear_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path="/")
