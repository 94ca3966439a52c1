"""Core tables (keys, provider cuts); subsystems define theirs beside their own code."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Float, String, Table

from lockgate.storage.metadata import metadata

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("prefix", String(32), nullable=False),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("team", String(200)),
    Column("allowed_models", JSON),
    Column("policy", String(200)),
    Column("pii_policy", String(200)),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float),
)

provider_cuts = Table(
    "provider_cuts",
    metadata,
    Column("target", String(200), primary_key=True),
    Column("reason", String(500)),
    Column("created_at", Float, nullable=False),
)
