"""The acknowledge seam: a request's record leaves before the last bytes of its answer do.

Every reply path calls ``await ack()`` once, just before the bytes that tell the client the
answer is whole: before a JSON body is written (``Proxy.handle`` does it for every plain
``web.Response``), and before the final event of a stream (chat: the usage chunk and
``[DONE]``; Anthropic Messages: ``message_stop``; OpenAI Responses: ``response.completed``,
``response.incomplete`` or ``response.failed``).  ``ack()``

1. lets the relay settle the record (``before``: final status, usage, cost, hashes),
2. stamps ``finished_at``/``latency_ms`` and hands the record to every sink, and
3. waits, only when it has to, until the audit writer process holds the record
   (``Gateway.acknowledge``; normally the record is already in the writer's pipe and
   nothing is awaited).

A client that goes away after the handover leaves a record that says the answer was given,
which is what the client was sent.  A request that ends without ``ack()`` (the client left
first, a cancellation) is recorded by ``settle_unacknowledged`` without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lockgate.records import RequestRecord
    from lockgate.server.gateway import Gateway


class Ack:
    __slots__ = ("before", "done", "gw", "rec", "t0")

    def __init__(self, gw: Gateway, rec: RequestRecord, t0: float) -> None:
        self.gw, self.rec, self.t0 = gw, rec, t0
        self.done = False
        self.before: Callable[[], None] | None = None  # the relay's settle step, if any

    def _hand_over(self) -> None:
        self.done = True
        if self.before is not None:
            self.before()
        rec = self.rec
        rec.finished_at = time.time()
        rec.latency_ms = (time.perf_counter() - self.t0) * 1000.0

    async def __call__(self) -> None:
        """Settle and hand over the record; returns once the audit writer holds it."""
        if self.done:
            return
        self._hand_over()
        wait = self.gw.acknowledge(self.rec)
        if wait is not None:
            await wait

    def settle_unacknowledged(self) -> None:
        """Record a request that ended without an acknowledged answer (never waits)."""
        if self.done:
            return
        self._hand_over()
        self.gw.record(self.rec)
