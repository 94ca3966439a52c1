"""Tables of lockgate.registry: model artifacts, their pinned files, acknowledgements.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_artifacts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(300), nullable=False, unique=True),
        sa.Column("path", sa.String(2000), nullable=False, unique=True),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("architecture", sa.String(100), nullable=True),
        sa.Column("parameter_count", sa.BigInteger, nullable=True),
        sa.Column("quantization", sa.String(64), nullable=True),
        sa.Column("context_length", sa.Integer, nullable=True),
        sa.Column("chat_template", sa.Text, nullable=True),
        sa.Column("chat_template_sha256", sa.String(64), nullable=True),
        sa.Column("publisher", sa.String(300), nullable=True),
        sa.Column("publisher_country", sa.String(8), nullable=True),
        sa.Column("base_model", sa.String(500), nullable=True),
        sa.Column("checkpoint", sa.String(200), nullable=True),
        sa.Column("licence_id", sa.String(200), nullable=True),
        sa.Column("source_url", sa.String(2000), nullable=True),
        sa.Column("signature_status", sa.String(32), nullable=False),
        sa.Column("signature_detail", sa.String(2000), nullable=True),
        sa.Column("scan_status", sa.String(32), nullable=False),
        sa.Column("scan_summary", sa.JSON, nullable=True),
        sa.Column("metadata", sa.JSON, nullable=True),
        sa.Column("registered_at", sa.Float, nullable=False),
    )
    op.create_table(
        "model_artifact_files",
        sa.Column(
            "artifact_id",
            sa.String(32),
            sa.ForeignKey("model_artifacts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("relpath", sa.String(1000), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "model_acknowledgements",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "artifact_id",
            sa.String(32),
            sa.ForeignKey("model_artifacts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("reason", sa.String(2000), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("model_acknowledgements")
    op.drop_table("model_artifact_files")
    op.drop_table("model_artifacts")
