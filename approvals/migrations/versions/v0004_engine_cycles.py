"""0004: engine_cycle, one row per poll, dispatch, timers (and canary) run.

``approvals status`` reads it: when the last cycle of each kind ran, how long it took,
whether it failed and why. The engine keeps a week of rows (approvals.cycles).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "engine_cycle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.String(), nullable=False),
        sa.Column("error", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_engine_cycle_kind", "engine_cycle", ["kind"])
    op.create_index("ix_engine_cycle_started_at", "engine_cycle", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_engine_cycle_started_at", table_name="engine_cycle")
    op.drop_index("ix_engine_cycle_kind", table_name="engine_cycle")
    op.drop_table("engine_cycle")
