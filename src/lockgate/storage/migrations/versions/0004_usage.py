"""Tables of lockgate.usage: shared rate-limit and budget counters.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_counters",
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("window_start", sa.BigInteger, nullable=False),
        sa.Column("instance", sa.String(200), nullable=False),
        sa.Column("requests", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("tokens", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("cost", sa.Float, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint(
            "scope", "subject", "period", "window_start", "instance", name="pk_usage_counters"
        ),
    )
    op.create_index("ix_usage_counters_period_window_start", "usage_counters", ["period", "window_start"])


def downgrade() -> None:
    op.drop_index("ix_usage_counters_period_window_start", table_name="usage_counters")
    op.drop_table("usage_counters")
