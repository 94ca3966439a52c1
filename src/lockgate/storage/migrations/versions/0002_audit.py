"""Tables of lockgate.audit: hash-chained request records, signed checkpoints, keys, heads.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _log_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("chain_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("request_id", sa.String(200), nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float, nullable=False),
        sa.Column("instance", sa.String(200), nullable=False),
        sa.Column("endpoint", sa.String(100), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=True),
        sa.Column("key_name", sa.String(200), nullable=True),
        sa.Column("team", sa.String(200), nullable=True),
        sa.Column("purpose", sa.String(200), nullable=True),
        sa.Column("model_alias", sa.String(200), nullable=True),
        sa.Column("deployment", sa.String(400), nullable=True),
        sa.Column("provider", sa.String(200), nullable=True),
        sa.Column("jurisdiction", sa.String(64), nullable=True),
        sa.Column("policy", sa.String(400), nullable=True),
        sa.Column("route_reason", sa.String(400), nullable=True),
        sa.Column("pii_findings", sa.Text, nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger, nullable=False),
        sa.Column("completion_tokens", sa.BigInteger, nullable=False),
        sa.Column("cached_tokens", sa.BigInteger, nullable=False),
        sa.Column("cost", sa.Float, nullable=False),
        sa.Column("currency", sa.String(8), nullable=True),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("ttft_ms", sa.Float, nullable=True),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("error_type", sa.String(200), nullable=True),
        sa.Column("stream", sa.Boolean, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("request_sha256", sa.String(64), nullable=True),
        sa.Column("response_sha256", sa.String(64), nullable=True),
        sa.Column("request_body", sa.LargeBinary, nullable=True),
        sa.Column("response_body", sa.LargeBinary, nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("record_hash", sa.String(64), nullable=False),
    ]


def upgrade() -> None:
    op.create_table("audit_log", *_log_columns())
    op.create_index("ix_audit_log_started_at", "audit_log", ["started_at"])
    op.create_index("ix_audit_log_key_started", "audit_log", ["key_id", "started_at"])
    op.create_table(
        "audit_checkpoints",
        sa.Column("chain_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("record_hash", sa.String(64), nullable=False),
        sa.Column("signed_at", sa.Float, nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
    )
    op.create_table(
        "audit_keys",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("public_key", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "audit_heads",
        sa.Column("chain_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("record_hash", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit_heads")
    op.drop_table("audit_keys")
    op.drop_table("audit_checkpoints")
    op.drop_index("ix_audit_log_key_started", table_name="audit_log")
    op.drop_index("ix_audit_log_started_at", table_name="audit_log")
    op.drop_table("audit_log")
