"""Admin route to record a model acknowledgement (``lockgate models ack`` over HTTP).

The same registry code as the CLI decides: the artifact is found by id, name or path, the rule
must be one that blocks serving it for this operator (``gate.acknowledge_blocking``), the reason is
mandatory (``acks.record_ack``).  The acknowledgement is recorded ``by`` the person named in
the request, else by the admin key; the admin event names the key either way.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

from aiohttp import web
from sqlalchemy import Engine

from lockgate.errors import InvalidRequest
from lockgate.registry.acks import Acknowledgement
from lockgate.registry.config import OperatorConfig
from lockgate.registry.errors import ArtifactNotFound, NotBlocking, RegistryError
from lockgate.registry.gate import acknowledge_blocking
from lockgate.registry.records import get_artifact as show
from lockgate.server.admin import CALLER, _guarded, audit_event
from lockgate.server.gateway import Gateway
from lockgate.server.proxy import read_json
from lockgate.server.public import json_response

MAX_TEXT = 2000


def _text(body: dict[str, Any], name: str, required: bool) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(f"'{name}' is required: a non-empty string.", param=name)
    if len(value) > MAX_TEXT:
        raise InvalidRequest(f"'{name}' is longer than {MAX_TEXT} characters.", param=name)
    return value.strip()


def acknowledge(engine: Engine, operator: OperatorConfig, ident: str, rule: str, reason: str,
                by: str) -> tuple[str, Acknowledgement]:  # fmt: skip
    """Find the artifact, check the rule blocks it, record; returns (artifact id, acknowledgement)."""
    try:
        art = show(engine, ident)
    except ArtifactNotFound as exc:
        raise InvalidRequest(str(exc), param="artifact_id", status=404) from None
    try:
        return art.id, acknowledge_blocking(engine, art, operator, rule, reason, by)
    except NotBlocking as exc:
        raise InvalidRequest(f"{exc}.", param="rule") from None
    except RegistryError as exc:
        raise InvalidRequest(str(exc), param="reason") from None


@_guarded
async def post_ack(request: web.Request, gw: Gateway) -> web.Response:
    assert gw.store is not None
    body = await read_json(request)
    rule, reason = _text(body, "rule", True), _text(body, "reason", True)
    assert rule is not None and reason is not None
    principal, _via = request[CALLER]
    by = _text(body, "by", False) or f"{principal.name} (admin key {principal.id})"
    art_id, ack = await asyncio.to_thread(
        acknowledge, gw.store, gw.cfg.operator, request.match_info["artifact_id"], rule, reason, by
    )
    await audit_event(
        request, gw, "model.ack", art_id, {"rule": rule, "reason": reason, "by": by, "ack_id": ack.id}
    )
    return json_response(asdict(ack), 201)


ROUTES = [web.post("/admin/models/{artifact_id}/acks", post_ack)]
