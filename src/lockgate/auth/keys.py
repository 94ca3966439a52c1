"""API keys: generated once, shown once, stored only as a SHA-256 hash.

The request path authenticates against an in-memory map (hash → principal) that a
background task refreshes from the store; no database round-trip per request.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select, update

from lockgate.storage.tables import api_keys

KEY_PREFIX = "lg-"


@dataclass(frozen=True, slots=True)
class Principal:
    id: str  # pseudonymous, safe for records
    name: str
    is_admin: bool = False
    team: str | None = None
    allowed_models: frozenset[str] | None = None  # None: every alias
    policy: str | None = None
    pii_policy: str | None = None


ANONYMOUS = Principal(id="anonymous", name="anonymous (keyless loopback mode)", is_admin=True)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> tuple[str, str]:
    key_id = secrets.token_hex(4)
    return key_id, f"{KEY_PREFIX}{key_id}-{secrets.token_urlsafe(24)}"


def create_key(
    engine: Engine,
    name: str,
    *,
    admin: bool = False,
    team: str | None = None,
    models: list[str] | None = None,
    policy: str | None = None,
    pii_policy: str | None = None,
) -> tuple[str, str]:
    """Create a key; returns (id, secret).  The secret is not stored and cannot be shown again."""
    key_id, secret = new_secret()
    with engine.begin() as conn:
        conn.execute(
            insert(api_keys).values(
                id=key_id,
                name=name,
                prefix=secret[: len(KEY_PREFIX) + 8],
                secret_hash=hash_secret(secret),
                is_admin=admin,
                team=team,
                allowed_models=models,
                policy=policy,
                pii_policy=pii_policy,
                created_at=time.time(),
            )
        )
    return key_id, secret


def list_keys(engine: Engine, include_revoked: bool = False) -> list[dict[str, Any]]:
    q = select(api_keys).order_by(api_keys.c.created_at)
    if not include_revoked:
        q = q.where(api_keys.c.revoked_at.is_(None))
    with engine.connect() as conn:
        # column names are quoted_name (a str subclass); JSON encoders want plain str keys
        return [
            {"".join(k): v for k, v in row._asdict().items() if k != "secret_hash"} for row in conn.execute(q)
        ]


def revoke_key(engine: Engine, key_id: str) -> bool:
    with engine.begin() as conn:
        res = conn.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=time.time())
        )
    return bool(res.rowcount)


def load_principals(engine: Engine) -> dict[str, Principal]:
    """hash → principal for every active key (runs off the request path)."""
    q = select(api_keys).where(api_keys.c.revoked_at.is_(None))
    out: dict[str, Principal] = {}
    with engine.connect() as conn:
        for row in conn.execute(q):
            m = row._mapping
            models = m["allowed_models"]
            out[m["secret_hash"]] = Principal(
                id=m["id"],
                name=m["name"],
                is_admin=bool(m["is_admin"]),
                team=m["team"],
                allowed_models=frozenset(models) if models else None,
                policy=m["policy"],
                pii_policy=m["pii_policy"],
            )
    return out
