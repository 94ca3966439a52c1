"""Console sessions in the store, so every gateway process (``serve --workers``, several
instances on one database) knows a session another one opened, and signing out ends it
everywhere.

A row holds the SHA-256 of the session id (never the id), the hash of the admin key it signed
in with (never the key), the CSRF token, and the times it was opened and last seen.  Read and
written from console and admin requests through ``asyncio.to_thread``; never on the proxy
request path.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Engine, Float, Index, String, Table, delete, insert, or_, select, update

from lockgate.storage.metadata import metadata

console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("key_hash", String(64)),  # NULL: signed in while the gateway was keyless
    Column("csrf", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("seen_at", Float, nullable=False),
    Index("ix_console_sessions_seen_at", "seen_at"),
)


def insert_session(engine: Engine, row: dict[str, Any], idle_before: float, created_before: float) -> None:
    """Store a new session, dropping every session that has expired by now."""
    with engine.begin() as conn:
        conn.execute(delete(console_sessions).where(or_(console_sessions.c.seen_at < idle_before,
                                                         console_sessions.c.created_at < created_before)))  # fmt: skip
        conn.execute(insert(console_sessions).values(**row))


def load_session(engine: Engine, id_hash: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(console_sessions).where(console_sessions.c.id_hash == id_hash)).first()
    return None if row is None else {str(k): v for k, v in row._mapping.items()}


def touch_session(engine: Engine, id_hash: str, seen_at: float) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(console_sessions).where(console_sessions.c.id_hash == id_hash).values(seen_at=seen_at)
        )


def delete_session(engine: Engine, id_hash: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(console_sessions).where(console_sessions.c.id_hash == id_hash))
