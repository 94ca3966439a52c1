"""Keep an in-memory view (keys, cuts) in step with the store, off the request path."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

log = logging.getLogger("lockgate")


async def refresh_forever(
    what: str,
    load: Callable[[], T],
    version: Callable[[], int],
    apply: Callable[[T], object],
    interval: float,
) -> None:
    """Every ``interval`` seconds load the store's state in a thread and apply it, unless a
    change made directly on the view (an admin request) landed meanwhile: that one is newer."""
    while True:
        await asyncio.sleep(interval)
        try:
            seen = version()
            state = await asyncio.to_thread(load)
            if version() == seen:
                apply(state)
        except Exception as exc:  # the store may be briefly unavailable; keep the last known state
            log.warning("%s refresh failed (keeping the last known %s): %s", what, what, exc)
