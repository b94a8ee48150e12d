"""The select->sign cache shared by every worker and host (issue 13: store.CachedResult). Databases that the
service created before it had migrations may hold it already: they keep it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("order_check_cache"):
        return
    op.create_table(
        "order_check_cache",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("hits", sa.Integer, nullable=False),
    )
    op.create_index("ix_order_check_cache_created_at", "order_check_cache", ["created_at"])


def downgrade() -> None:
    op.drop_table("order_check_cache")
