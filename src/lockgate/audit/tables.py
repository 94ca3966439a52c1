"""The audit tables: one row per request, signed checkpoints, public keys, chain heads.

``audit_log`` holds every ``RequestRecord`` field as its own column (bodies encrypted and
outside the hash chain), plus the chain columns.  The migration ``0002_audit`` creates the
same shape; keep both in step.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from lockgate.storage.metadata import metadata

audit_log = Table(
    "audit_log",
    metadata,
    Column("chain_id", String(64), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("request_id", String(200), nullable=False),
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float, nullable=False),
    Column("instance", String(200), nullable=False),
    Column("endpoint", String(100), nullable=False),
    Column("key_id", String(64)),
    Column("key_name", String(200)),
    Column("team", String(200)),
    Column("purpose", String(200)),
    Column("model_alias", String(200)),
    Column("deployment", String(400)),
    Column("provider", String(200)),
    Column("jurisdiction", String(64)),
    Column("policy", String(400)),
    Column("route_reason", String(400)),
    Column("pii_findings", Text, nullable=False),  # canonical JSON {type: count}
    Column("prompt_tokens", BigInteger, nullable=False),
    Column("completion_tokens", BigInteger, nullable=False),
    Column("cached_tokens", BigInteger, nullable=False),
    Column("cost", Float, nullable=False),
    Column("currency", String(8)),
    Column("latency_ms", Float, nullable=False),
    Column("ttft_ms", Float),
    Column("status", Integer, nullable=False),
    Column("error_type", String(200)),
    Column("stream", Boolean, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("request_sha256", String(64)),
    Column("response_sha256", String(64)),
    Column("request_body", LargeBinary),  # AES-256-GCM, only with audit.log_content
    Column("response_body", LargeBinary),
    Column("prev_hash", String(64), nullable=False),
    Column("record_hash", String(64), nullable=False),
    Index("ix_audit_log_started_at", "started_at"),
    Index("ix_audit_log_key_started", "key_id", "started_at"),
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("chain_id", String(64), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("record_hash", String(64), nullable=False),
    Column("signed_at", Float, nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("signature", String(128), nullable=False),  # hex Ed25519 signature
    Column("kind", String(16), nullable=False),  # "periodic", "idle", "close", "anchor"
)

audit_keys = Table(
    "audit_keys",
    metadata,
    Column("key_id", String(64), primary_key=True),
    Column("public_key", Text, nullable=False),  # PEM SubjectPublicKeyInfo
    Column("created_at", Float, nullable=False),
)

audit_heads = Table(
    "audit_heads",
    metadata,
    Column("chain_id", String(64), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("record_hash", String(64), nullable=False),
    Column("updated_at", Float, nullable=False),
)
