"""0006: a poll cycle names its mailbox.

One engine may read several reply folders (``[inbound.NAME]`` tables), each with its
own health in ``approvals status`` and the console. Poll cycles recorded before have
no mailbox: they were the ``[inbound]`` table's, "default".
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("engine_cycle") as table:
        table.add_column(sa.Column("mailbox", sa.String(), nullable=True))
    op.execute("UPDATE engine_cycle SET mailbox = 'default' WHERE kind = 'poll'")


def downgrade() -> None:
    with op.batch_alter_table("engine_cycle") as table:
        table.drop_column("mailbox")
