"""Admin events: every change made with an admin key (a cut, a key created or revoked, an
audit export), named by the key that made it and the channel (``api`` or ``console``).

Written from admin routes through ``asyncio.to_thread``; never on the proxy request path.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import JSON, Column, Engine, Float, Index, Integer, String, Table, insert, select

from lockgate.storage.metadata import metadata

admin_events = Table(
    "admin_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("key_name", String(200)),
    Column("via", String(16), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(400)),
    Column("detail", JSON),
    Index("ix_admin_events_at", "at"),
)


@dataclass(frozen=True, slots=True)
class AdminEvent:
    id: int
    at: float
    key_id: str
    key_name: str | None
    via: str
    action: str
    target: str | None
    detail: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def record_event(
    engine: Engine,
    key_id: str,
    key_name: str | None,
    via: str,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(admin_events).values(
                at=time.time(), key_id=key_id, key_name=key_name, via=via, action=action,
                target=target, detail=detail,
            )
        )  # fmt: skip


def list_events(engine: Engine, limit: int = 100) -> list[AdminEvent]:
    query = select(admin_events).order_by(admin_events.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        AdminEvent(int(r.id), float(r.at), str(r.key_id), r.key_name, str(r.via), str(r.action), r.target,
                   dict(r.detail) if r.detail else None)
        for r in rows
    ]  # fmt: skip
