"""Table of lockgate.auth.admin_events: every change an admin key makes (API or console).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_events",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("key_name", sa.String(200), nullable=True),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(400), nullable=True),
        sa.Column("detail", sa.JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_admin_events"),
    )
    op.create_index("ix_admin_events_at", "admin_events", ["at"])


def downgrade() -> None:
    op.drop_index("ix_admin_events_at", table_name="admin_events")
    op.drop_table("admin_events")
