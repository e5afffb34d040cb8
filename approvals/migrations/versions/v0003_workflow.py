"""0003: the approval workflow: stages, deadlines, reminders, escalation, delegation, history.

- approval_request gains its theme and language again (reminders, escalations and
  notices are rendered after the request is made), its stages and current stage,
  ``due_at`` (the deadline; filled from ``expires_at`` for requests made before),
  its reminder plan and escalation. ``stages`` stays NULL for requests made before:
  one stage of their approval notifications' approvers under ``[policy] mode``.
- notification gains the stage and seat it decides for (``seat`` = its approver for
  the approval notifications made before), why it was sent (``via``), on whose
  behalf, whether its seat was delegated on, and its reminder schedule.
- decision gains stage and seat (= its approver for decisions made before) and its
  evidence; its unique key becomes (request, stage, seat): one approver may sit in
  two stages, or decide in their own seat and as someone's delegate.
- request_event (the history) and absence (out-of-office rules) are new.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# How batch mode on SQLite names the unnamed unique constraint of 0001, so it can drop it.
_SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s_%(column_1_name)s"}
_OLD_UNIQUE = {
    "sqlite": "uq_decision_request_id_approver",
    "postgresql": "decision_request_id_approver_key",
}


def upgrade() -> None:
    with op.batch_alter_table("approval_request") as table:
        table.add_column(sa.Column("theme", sa.String(), nullable=True))
        table.add_column(sa.Column("language", sa.String(), nullable=True))
        table.add_column(sa.Column("stages", sa.JSON(), nullable=True))
        table.add_column(
            sa.Column("current_stage", sa.Integer(), nullable=False, server_default="0")
        )
        table.add_column(sa.Column("due_at", sa.DateTime(), nullable=True))
        table.add_column(sa.Column("reminders", sa.JSON(), nullable=True))
        table.add_column(sa.Column("escalate_to", sa.JSON(), nullable=True))
        table.add_column(sa.Column("escalate_at", sa.DateTime(), nullable=True))
        table.add_column(sa.Column("escalated_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE approval_request SET due_at = expires_at")
    with op.batch_alter_table("approval_request") as table:
        table.alter_column("due_at", existing_type=sa.DateTime(), nullable=False)
        table.create_index("ix_approval_request_due_at", ["due_at"])
        table.create_index("ix_approval_request_escalate_at", ["escalate_at"])

    with op.batch_alter_table("notification") as table:
        table.add_column(sa.Column("stage", sa.Integer(), nullable=False, server_default="0"))
        table.add_column(sa.Column("seat", sa.String(), nullable=False, server_default=""))
        table.add_column(sa.Column("via", sa.String(), nullable=False, server_default=""))
        table.add_column(sa.Column("on_behalf_of", sa.String(), nullable=True))
        table.add_column(sa.Column("delegated_to", sa.String(), nullable=True))
        table.add_column(sa.Column("next_reminder_at", sa.DateTime(), nullable=True))
        table.add_column(
            sa.Column("reminders_sent", sa.Integer(), nullable=False, server_default="0")
        )
        table.create_index("ix_notification_next_reminder_at", ["next_reminder_at"])
    op.execute("UPDATE notification SET seat = approver WHERE kind = 'approval'")

    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("decision", naming_convention=_SQLITE_NAMES) as table:
        table.add_column(sa.Column("stage", sa.Integer(), nullable=False, server_default="0"))
        table.add_column(sa.Column("seat", sa.String(), nullable=False, server_default=""))
        table.add_column(sa.Column("evidence_line", sa.String(), nullable=True))
        table.add_column(
            sa.Column("authenticated_by", sa.String(), nullable=False, server_default="")
        )
        table.add_column(sa.Column("raw_reply", sa.LargeBinary(), nullable=True))
        table.drop_constraint(_OLD_UNIQUE[dialect], type_="unique")
    op.execute("UPDATE decision SET seat = approver")
    with op.batch_alter_table("decision") as table:
        table.create_unique_constraint("uq_decision_seat", ["request_id", "stage", "seat"])

    op.create_table(
        "request_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(), nullable=True),
        sa.Column("detail", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["request_id"], ["approval_request.id"]),
    )
    op.create_index("ix_request_event_request_id", "request_event", ["request_id"])

    op.create_table(
        "absence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("approver", sa.String(), nullable=False),
        sa.Column("delegate", sa.String(), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_absence_approver", "absence", ["approver"])


def downgrade() -> None:
    op.drop_index("ix_absence_approver", table_name="absence")
    op.drop_table("absence")
    op.drop_index("ix_request_event_request_id", table_name="request_event")
    op.drop_table("request_event")
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("decision") as table:
        table.drop_constraint("uq_decision_seat", type_="unique")
        for column in ("raw_reply", "authenticated_by", "evidence_line", "seat", "stage"):
            table.drop_column(column)
        # Two decisions of one approver (two stages, or as a delegate) cannot go back.
        table.create_unique_constraint(_OLD_UNIQUE[dialect], ["request_id", "approver"])
    with op.batch_alter_table("notification") as table:
        table.drop_index("ix_notification_next_reminder_at")
        for column in (
            "reminders_sent",
            "next_reminder_at",
            "delegated_to",
            "on_behalf_of",
            "via",
            "seat",
            "stage",
        ):
            table.drop_column(column)
    with op.batch_alter_table("approval_request") as table:
        table.drop_index("ix_approval_request_escalate_at")
        table.drop_index("ix_approval_request_due_at")
        for column in (
            "escalated_at",
            "escalate_at",
            "escalate_to",
            "reminders",
            "due_at",
            "current_stage",
            "stages",
            "language",
            "theme",
        ):
            table.drop_column(column)
