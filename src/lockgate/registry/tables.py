"""Registry tables: artifacts, their files (pinned hashes) and recorded acknowledgements."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Float, ForeignKey, Integer, String, Table, Text

from lockgate.storage.metadata import metadata

model_artifacts = Table(
    "model_artifacts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(300), nullable=False, unique=True),
    Column("path", String(2000), nullable=False, unique=True),
    Column("format", String(32), nullable=False),
    Column("architecture", String(100)),
    Column("parameter_count", BigInteger),
    Column("quantization", String(64)),
    Column("context_length", Integer),
    Column("chat_template", Text),
    Column("chat_template_sha256", String(64)),
    Column("publisher", String(300)),
    Column("publisher_country", String(8)),
    Column("base_model", String(500)),
    Column("checkpoint", String(200)),
    Column("licence_id", String(200)),
    Column("source_url", String(2000)),
    Column("signature_status", String(32), nullable=False),
    Column("signature_detail", String(2000)),
    Column("scan_status", String(32), nullable=False),
    Column("scan_summary", JSON),
    Column("metadata", JSON),
    Column("registered_at", Float, nullable=False),
)

artifact_files = Table(
    "model_artifact_files",
    metadata,
    Column("artifact_id", String(32), ForeignKey("model_artifacts.id", ondelete="CASCADE"), primary_key=True),
    Column("relpath", String(1000), primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
)

acknowledgements = Table(
    "model_acknowledgements",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("artifact_id", String(32), ForeignKey("model_artifacts.id", ondelete="CASCADE"), nullable=False),
    Column("rule", String(200), nullable=False),
    Column("by", String(200), nullable=False),
    Column("reason", String(2000), nullable=False),
    Column("at", Float, nullable=False),
)
