"""0008: inbox_claim, the reply messages an engine instance has taken.

Several instances reading one folder on PostgreSQL share its messages: each claims
the next ones no other holds, for a lease, instead of one instance holding the whole
folder for the whole cycle while the others wait.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox_claim",
        sa.Column("mailbox", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("until", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("mailbox", "key"),
    )


def downgrade() -> None:
    op.drop_table("inbox_claim")
