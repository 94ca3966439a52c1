"""Kept conversations for protocols that have them (the Responses API's ``store`` and
``previous_response_id``), on top of ``lockgate.stored.responses``.

Before the pipeline runs, ``prepare`` decides whether this reply will be kept and puts a
stored conversation in front of the turn; once the reply is whole, ``keep`` hands it to the
store (which writes in batches off the request path).  A key, or its team, reads only its own.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from lockgate.errors import InvalidRequest
from lockgate.protocols.base import Turn, WireProtocol
from lockgate.stored.responses import ResponseStore, StoredResponse

if TYPE_CHECKING:
    from lockgate.auth.keys import Principal
    from lockgate.server.edge import Edge


class Sessions:
    def __init__(self, store: ResponseStore | None, off_reason: str) -> None:
        self.store = store
        self.off_reason = off_reason

    async def prepare(self, protocol: WireProtocol, turn: Turn, principal: Principal) -> None:
        if not protocol.stores:
            return
        wish = protocol.wants_store(turn)
        previous = protocol.continues(turn)
        if self.store is None:
            if wish is True:
                raise InvalidRequest(
                    f"store: {self.off_reason}",
                    param="store", code="storage_disabled",
                )  # fmt: skip
            if previous is not None:
                raise InvalidRequest(
                    f"previous_response_id: cannot continue a response here. {self.off_reason} "
                    "Send the whole conversation in 'input' instead.",
                    param="previous_response_id", code="storage_disabled",
                )  # fmt: skip
            turn.extra["stored"] = False
            return
        turn.extra["stored"] = wish is not False
        if previous is not None:
            got = await self.store.get(previous, principal.id, principal.team)
            if got is None:
                raise InvalidRequest(
                    f"previous_response_id: no stored response {previous!r} that this key may read "
                    "(it may have expired, or was made with store: false).",
                    param="previous_response_id", code="previous_response_not_found",
                )  # fmt: skip
            protocol.continue_from(turn, got.messages)
            turn.extra["continued"] = True

    def keep(self, edge: Edge, reply: dict[str, Any] | None) -> None:
        if reply is None or self.store is None or not edge.turn.extra.get("stored"):
            return
        messages = edge.protocol.keep(edge.turn, reply)
        owner = edge.principal
        self.store.put(StoredResponse(str(reply["id"]), owner.id, owner.team, time.time(), messages, reply))

    async def read(self, response_id: str, principal: Principal) -> dict[str, Any] | None:
        if self.store is None:
            return None
        got = await self.store.get(response_id, principal.id, principal.team)
        return got.response if got is not None else None
