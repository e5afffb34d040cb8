"""0005: a refused or ignored reply keeps a preview of its new text and its raw message.

An admin looking at a refused reply wants to see what the approver wrote and the
message itself without opening the failure folder. Both columns are NULL for
replies recorded before; the raw message is kept [store] keep_raw_days, as a
decision's is.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbox_record") as table:
        table.add_column(sa.Column("preview", sa.String(), nullable=True))
        table.add_column(sa.Column("raw", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbox_record") as table:
        table.drop_column("raw")
        table.drop_column("preview")
