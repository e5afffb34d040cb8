"""Handing a seat on: by the API, by a reply ("Delegate to …"), or by an absence rule."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col, select

from approvals.errors import RequestClosed, UnknownRequest
from approvals.models import (
    AbsenceRow,
    EventKind,
    NotificationKind,
    NotificationRow,
    RequestRow,
    RequestStatus,
    Via,
)
from approvals.settings import EngineSettings
from approvals.store import transaction
from approvals.workflow.asking import RequestFacts, Seat, SentApproval, ask
from approvals.workflow.history import record_event
from approvals.workflow.stages import parse_approvers
from approvals.workflow.timers import undecided

_NOTIFICATIONS = NotificationRow.__table__  # type: ignore[attr-defined]
_HAND_ON = (
    update(_NOTIFICATIONS)
    .where(_NOTIFICATIONS.c.id == bindparam("b_id"))
    .values(delegated_to=bindparam("b_to"), next_reminder_at=None)
)


def hand_over(
    connection: Connection,
    settings: EngineSettings,
    request: RequestFacts,
    notification: SentApproval,
    to: str,
    via: Via,
    now: datetime,
    *,
    actor: str | None = None,
) -> None:
    """``notification`` decides nothing any more; ``to`` is asked in the same seat."""
    connection.execute(_HAND_ON, {"b_id": notification.id, "b_to": to})
    seat_owner = notification.on_behalf_of or notification.approver
    ask(
        connection,
        settings,
        request,
        Seat(to, "", notification.stage, notification.seat, via, seat_owner),
        now,
        follow_absence=False,
    )
    record_event(
        connection,
        request.id,
        EventKind.DELEGATED,
        now,
        actor=actor or notification.approver,
        detail=f"{seat_owner}'s seat to {to} ({via.value})",
    )


def delegate(
    db: Engine,
    settings: EngineSettings,
    request_id: str,
    from_approver: str,
    to_approver: str,
    now: datetime,
) -> None:
    """Hand ``from_approver``'s waiting seat in the current stage to ``to_approver``."""
    [(source, _)] = parse_approvers([from_approver], where="from_approver")
    [(target, _)] = parse_approvers([to_approver], where="to_approver")
    if source == target:
        raise ValueError(f"{source} cannot delegate to themselves")
    with transaction(db) as session:
        row = session.exec(
            select(RequestRow).where(RequestRow.id == request_id).with_for_update()
        ).first()
        if row is None:
            raise UnknownRequest(f"no approval request with id {request_id!r}")
        if row.status != RequestStatus.PENDING:
            raise RequestClosed(f"request {request_id} is already {row.status}")
        waiting = [
            n
            for n in undecided(session, request_id, row.current_stage)
            if n.approver == source and n.kind == NotificationKind.APPROVAL
        ]
        if not waiting:
            raise ValueError(
                f"{source} has no seat waiting in stage {row.current_stage + 1} of request "
                f"{request_id}: nothing to delegate"
            )
        connection = session.connection()
        for notification in waiting:
            hand_over(
                connection,
                settings,
                RequestFacts.of(row),
                notification,
                target,
                Via.DELEGATED,
                now,
                actor=source,
            )


def set_absence(
    db: Engine, approver: str, delegate_to: str, start: datetime, end: datetime, now: datetime
) -> None:
    """From ``start`` to ``end``, ``approver``'s new notifications go to ``delegate_to``."""
    [(address, _)] = parse_approvers([approver], where="approver")
    [(delegate_address, _)] = parse_approvers([delegate_to], where="delegate")
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes (with a time zone)")
    if end <= start:
        raise ValueError(f"absence of {address}: end {end} is not after start {start}")
    if address == delegate_address:
        raise ValueError(f"{address} cannot be their own delegate")
    with transaction(db) as session:
        session.add(
            AbsenceRow(
                approver=address,
                delegate=delegate_address,
                starts_at=start,
                ends_at=end,
                created_at=now,
            )
        )


def absences_of(db: Engine, approver: str) -> list[AbsenceRow]:
    with transaction(db) as session:
        return list(
            session.exec(
                select(AbsenceRow)
                .where(AbsenceRow.approver == approver.lower())
                .order_by(col(AbsenceRow.starts_at))
            ).all()
        )
