"""0002: one name per concept (commit 1ea20e8); the unused request theme goes.

- approval_request.theme is dropped: it was written (the template a caller named)
  and never read, since a request's emails are rendered when it is created and
  their MIME is stored. The names it held are lost; nothing used them.
- approval_request.outcome_claimed_at / outcome_delivered_at become
  callback_claimed_at / callback_delivered_at, after approvals.callbacks.
- inbox_record.outcome becomes status: it holds a ReplyStatus value.

Renames keep every value. On SQLite the batch operations copy each table into a
new one (foreign keys are switched off around it by approvals.store); on
PostgreSQL they are plain ALTER TABLE statements.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("approval_request") as table:
        table.drop_column("theme")
        table.alter_column(
            "outcome_claimed_at",
            new_column_name="callback_claimed_at",
            existing_type=sa.DateTime(),
            existing_nullable=True,
        )
        table.alter_column(
            "outcome_delivered_at",
            new_column_name="callback_delivered_at",
            existing_type=sa.DateTime(),
            existing_nullable=True,
        )
    with op.batch_alter_table("inbox_record") as table:
        table.alter_column(
            "outcome", new_column_name="status", existing_type=sa.String(), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("inbox_record") as table:
        table.alter_column(
            "status", new_column_name="outcome", existing_type=sa.String(), existing_nullable=False
        )
    with op.batch_alter_table("approval_request") as table:
        table.alter_column(
            "callback_delivered_at",
            new_column_name="outcome_delivered_at",
            existing_type=sa.DateTime(),
            existing_nullable=True,
        )
        table.alter_column(
            "callback_claimed_at",
            new_column_name="outcome_claimed_at",
            existing_type=sa.DateTime(),
            existing_nullable=True,
        )
        table.add_column(sa.Column("theme", sa.String(), nullable=True), insert_before="status")
