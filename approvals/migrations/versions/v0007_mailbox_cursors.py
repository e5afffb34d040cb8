"""0007: mailbox_cursor, where a mailbox keeps its place in its folder between runs.

A Microsoft Graph mailbox reads new mail with a delta query; the link that resumes it
is kept here, so a restarted engine asks only for what changed since it stopped.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mailbox_cursor",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("mailbox_cursor")
