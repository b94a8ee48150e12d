"""What each issued card was (kind, rule ids, indicator, suggestions) and the feedback's card kind, for the
governance report; indexes on the timestamps retention purges by.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("issued_card") as table:
        table.add_column(sa.Column("kind", sa.String(64)))
        table.add_column(sa.Column("indicator", sa.String(16)))
        table.add_column(sa.Column("rule_ids", sa.JSON))
        table.add_column(sa.Column("suggestions", sa.JSON))
    op.create_index("ix_issued_card_issued_at", "issued_card", ["issued_at"])
    with op.batch_alter_table("feedback") as table:
        table.add_column(sa.Column("card_kind", sa.String(64)))
    op.create_index("ix_audit_event_at", "audit_event", ["at"])


def downgrade() -> None:
    op.drop_index("ix_audit_event_at", "audit_event")
    with op.batch_alter_table("feedback") as table:
        table.drop_column("card_kind")
    op.drop_index("ix_issued_card_issued_at", "issued_card")
    with op.batch_alter_table("issued_card") as table:
        for column in ("suggestions", "rule_ids", "indicator", "kind"):
            table.drop_column(column)
