"""What happens with time: deadlines, escalations and reminders. Exactly once each.

Every step claims its row with a guarded UPDATE in the transaction that queues
its mails, so two engine instances running timers at once never both act: the
second finds the row changed and skips it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from approvals.models import (
    ESCALATION_SEAT,
    DecisionRow,
    EventKind,
    InboxRecordRow,
    NotificationKind,
    NotificationRow,
    NotificationStatus,
    RequestRow,
    RequestStatus,
    Via,
)
from approvals.settings import EngineSettings
from approvals.store import reading, transaction
from approvals.workflow.asking import RequestFacts, Seat, ask, notify_closed, remind
from approvals.workflow.history import record_event

_BATCH = 500


@dataclass(frozen=True)
class TimerReport:
    reminded: int = 0
    escalated: int = 0
    expired: int = 0

    def __str__(self) -> str:
        return f"reminded {self.reminded}, escalated {self.escalated}, expired {self.expired}"


def run_timers(db: Engine, settings: EngineSettings, now: datetime) -> TimerReport:
    report = TimerReport(
        expired=expire_due(db, settings, now),
        escalated=_escalate_due(db, settings, now),
        reminded=_remind_due(db, settings, now),
    )
    _forget_raw_replies(db, now - timedelta(days=settings.store.keep_raw_days))
    return report


def _forget_raw_replies(db: Engine, before: datetime) -> None:
    """Decisions keep their evidence line and records their preview; the raw messages go
    after [store] keep_raw_days."""
    with transaction(db) as session:
        session.execute(
            update(DecisionRow)
            .where(col(DecisionRow.decided_at) < before, col(DecisionRow.raw_reply).is_not(None))
            .values(raw_reply=None)
        )
        session.execute(
            update(InboxRecordRow)
            .where(col(InboxRecordRow.seen_at) < before, col(InboxRecordRow.raw).is_not(None))
            .values(raw=None)
        )


def expire_due(db: Engine, settings: EngineSettings, now: datetime) -> int:
    """Pending requests past their deadline become expired; waiting seats are told."""
    with reading(db) as session:
        due = session.exec(select(RequestRow.id).where(*_deadline_due(now)).limit(_BATCH)).all()
    expired = 0
    for request_id in due:
        with transaction(db) as session:
            claimed = session.execute(
                update(RequestRow)
                .where(col(RequestRow.id) == request_id, _pending())
                .values(status=RequestStatus.EXPIRED, closed_at=now)
            ).rowcount  # type: ignore[attr-defined]
            if claimed != 1:
                continue
            row = session.get(RequestRow, request_id)
            assert row is not None
            connection = session.connection()
            record_event(
                connection, request_id, EventKind.CLOSED, now, actor="engine", detail="expired"
            )
            waiting = undecided(session, request_id, row.current_stage)
            notify_closed(connection, settings, RequestFacts.of(row), "expired", waiting, now)
            expired += 1
    return expired


def close_waiting(
    session: Session, settings: EngineSettings, row: RequestRow, status: str, now: datetime
) -> None:
    """The request was closed by hand (cancel): its history and the seats still waiting."""
    connection = session.connection()
    record_event(connection, row.id, EventKind.CLOSED, now, actor="engine", detail=status)
    waiting = undecided(session, row.id, row.current_stage)
    notify_closed(connection, settings, RequestFacts.of(row), status, waiting, now)


def undecided(session: Session, request_id: str, stage: int) -> list[NotificationRow]:
    """The stage's approval notifications whose seat has not decided nor was handed on."""
    return list(
        session.exec(
            select(NotificationRow).where(
                col(NotificationRow.request_id) == request_id,
                col(NotificationRow.kind) == NotificationKind.APPROVAL,
                col(NotificationRow.stage) == stage,
                col(NotificationRow.delegated_to).is_(None),
                ~_seat_decided(),
            )
        ).all()
    )


def _escalate_due(db: Engine, settings: EngineSettings, now: datetime) -> int:
    with reading(db) as session:
        due = session.exec(select(RequestRow.id).where(*_escalation_due(now)).limit(_BATCH)).all()
    escalated = 0
    for request_id in due:
        with transaction(db) as session:
            claimed = session.execute(
                update(RequestRow)
                .where(
                    col(RequestRow.id) == request_id,
                    _pending(),
                    col(RequestRow.escalated_at).is_(None),
                )
                .values(escalated_at=now)
            ).rowcount  # type: ignore[attr-defined]
            if claimed != 1:
                continue
            row = session.get(RequestRow, request_id)
            assert row is not None
            connection = session.connection()
            facts = RequestFacts.of(row)
            for address, name in row.escalate_to or ():
                seat = Seat(address, name, row.current_stage, ESCALATION_SEAT, Via.ESCALATION)
                ask(connection, settings, facts, seat, now)
            people = ", ".join(address for address, _ in row.escalate_to or ())
            record_event(
                connection,
                request_id,
                EventKind.ESCALATED,
                now,
                actor="engine",
                detail=f"stage {row.current_stage + 1} to {people}",
            )
            escalated += 1
    return escalated


def _remind_due(db: Engine, settings: EngineSettings, now: datetime) -> int:
    """Remind the current stage's seats that have not answered, as their plan says."""
    with reading(db) as session:
        due = session.exec(
            select(NotificationRow.id, NotificationRow.next_reminder_at)
            .join(RequestRow, col(RequestRow.id) == col(NotificationRow.request_id))
            .where(*_reminder_due(now))
            .order_by(col(NotificationRow.id))
            .limit(_BATCH)
        ).all()
    reminded = 0
    for notification_id, planned_at in due:
        with transaction(db) as session:
            original = session.get(NotificationRow, notification_id)
            row = session.get(RequestRow, original.request_id) if original else None
            if original is None or row is None or not row.reminders:
                continue
            number = original.reminders_sent + 1
            plan = row.reminders
            following = now + timedelta(seconds=plan["every"]) if number < plan["max"] else None
            claimed = session.execute(
                update(NotificationRow)
                .where(
                    col(NotificationRow.id) == notification_id,
                    col(NotificationRow.next_reminder_at) == planned_at,
                )
                .values(reminders_sent=number, next_reminder_at=following)
            ).rowcount  # type: ignore[attr-defined]
            if claimed != 1:
                continue
            remind(session.connection(), settings, RequestFacts.of(row), original, number, now)
            reminded += 1
    return reminded


@dataclass(frozen=True)
class DueCounts:
    """What run_timers would do now (the console's overview, /metrics)."""

    deadlines: int
    escalations: int
    reminders: int


def due_counts(db: Engine, now: datetime) -> DueCounts:
    with reading(db) as session:
        deadlines = session.exec(
            select(func.count()).select_from(RequestRow).where(*_deadline_due(now))
        ).one()
        escalations = session.exec(
            select(func.count()).select_from(RequestRow).where(*_escalation_due(now))
        ).one()
        reminders = session.exec(
            select(func.count())
            .select_from(NotificationRow)
            .join(RequestRow, col(RequestRow.id) == col(NotificationRow.request_id))
            .where(*_reminder_due(now))
        ).one()
    return DueCounts(deadlines, escalations, reminders)


def _deadline_due(now: datetime) -> tuple[Any, ...]:
    return (_pending(), col(RequestRow.due_at) <= now)


def _escalation_due(now: datetime) -> tuple[Any, ...]:
    return (_pending(), col(RequestRow.escalate_at) <= now, col(RequestRow.escalated_at).is_(None))


def _reminder_due(now: datetime) -> tuple[Any, ...]:
    """Approval notifications to remind now (joined with their request)."""
    return (
        col(NotificationRow.kind) == NotificationKind.APPROVAL,
        col(NotificationRow.status) == NotificationStatus.SENT,
        col(NotificationRow.next_reminder_at) <= now,
        col(NotificationRow.delegated_to).is_(None),
        col(NotificationRow.stage) == col(RequestRow.current_stage),
        _pending(),
        ~_seat_decided(),
    )


def _pending():  # type: ignore[no-untyped-def]
    return col(RequestRow.status) == RequestStatus.PENDING


def _seat_decided():  # type: ignore[no-untyped-def]
    return exists().where(
        and_(
            col(DecisionRow.request_id) == col(NotificationRow.request_id),
            col(DecisionRow.stage) == col(NotificationRow.stage),
            col(DecisionRow.seat) == col(NotificationRow.seat),
        )
    )
