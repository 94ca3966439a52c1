"""Core tables: API keys and provider cuts (kill switch).

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("prefix", sa.String(32), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("is_admin", sa.Boolean, nullable=False, default=False),
        sa.Column("team", sa.String(200), nullable=True),
        sa.Column("allowed_models", sa.JSON, nullable=True),
        sa.Column("policy", sa.String(200), nullable=True),
        sa.Column("pii_policy", sa.String(200), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("revoked_at", sa.Float, nullable=True),
    )
    op.create_table(
        "provider_cuts",
        sa.Column("target", sa.String(200), primary_key=True),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("provider_cuts")
    op.drop_table("api_keys")
