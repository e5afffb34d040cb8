"""Approval requests in the store: create, cancel, expire and look up; rows -> snapshots.

Callers never see rows: every function returns frozen values
(:class:`ApprovalRequest`, :class:`NotificationLog`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

from sqlalchemy import bindparam, delete, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select

from approvals.errors import MessageTooLarge, RequestClosed, StoreConflict, UnknownRequest
from approvals.models import (
    ApprovalRequest,
    Decision,
    DecisionRow,
    InboxRecordRow,
    NotificationKind,
    NotificationLog,
    NotificationRow,
    NotificationStatus,
    ReplyStatus,
    RequestRow,
    RequestStatus,
)
from approvals.notifications import new_message_id, render_notification, sender_domain
from approvals.settings import EngineSettings
from approvals.store import reading, transaction
from approvals.tokens import issue_token
from mailio.compose import Attachment

# request_approval is on the workflow system's hot path: precompiled Core statements
# cost a fraction of the ORM unit of work for the same three rows.
_REQUESTS = RequestRow.__table__  # type: ignore[attr-defined]
_NOTIFICATIONS = NotificationRow.__table__  # type: ignore[attr-defined]
_INSERT_REQUEST = _REQUESTS.insert()
_INSERT_NOTIFICATION = _NOTIFICATIONS.insert().returning(_NOTIFICATIONS.c.id)
_SET_MIME = (
    update(_NOTIFICATIONS)
    .where(_NOTIFICATIONS.c.id == bindparam("b_id"))
    .values(mime=bindparam("b_mime"))
)


@dataclass(frozen=True)
class NewRequest:
    """What a caller asks for; checked by :func:`create_request`."""

    title: str
    approvers: Sequence[tuple[str, str]]  # (address, display name), from parse_approvers
    details: Mapping[str, Any]
    external_id: str | None = None
    template: str | None = None
    attachments: Sequence[Attachment] = ()


def parse_approvers(approvers: Iterable[str] | str) -> list[tuple[str, str]]:
    """(lower-cased address, display name) per distinct approver; ValueError when unusable."""
    if isinstance(approvers, str):
        approvers = [approvers]
    people: dict[str, str] = {}
    for entry in approvers:
        name, address = parseaddr(entry)
        local, at, domain = address.partition("@")
        if not (local and at and "." in domain):
            raise ValueError(f"approver {entry!r} is not an email address")
        people.setdefault(address.lower(), name)
    if not people:
        raise ValueError("request_approval needs at least one approver")
    return list(people.items())


def create_request(
    db: Engine, settings: EngineSettings, new: NewRequest, now: datetime
) -> ApprovalRequest:
    """Store a request and one queued notification per approver, in one transaction.

    Asking again with the same ``external_id`` returns the first request and
    queues nothing, also when two callers race.
    """
    if new.external_id is not None:
        existing = find_request(db, new.external_id)
        if existing is not None:
            return existing
    size = sum(len(attachment.content) for attachment in new.attachments)
    limit = settings.outbound.max_attachment_bytes
    if size > limit:
        raise MessageTooLarge(
            f"attachments total {size} bytes, over the {limit} bytes allowed by "
            "[outbound] max_attachment_bytes; nothing was queued"
        )
    request_id = uuid.uuid4().hex
    expires_at = now + timedelta(days=settings.tokens.ttl_days)
    try:
        with transaction(db) as session:
            connection = session.connection()  # Core: see _INSERT_NOTIFICATION
            connection.execute(
                _INSERT_REQUEST,
                {
                    "id": request_id,
                    "external_id": new.external_id,
                    "title": new.title,
                    "details": dict(new.details),
                    "status": RequestStatus.PENDING.value,
                    "created_at": now,
                    "expires_at": expires_at,
                },
            )
            for address, name in new.approvers:
                _queue_notification(
                    connection, settings, new, request_id, address, name, now, expires_at
                )
    except StoreConflict:
        # Another caller created the same external_id between our check and our insert.
        existing = find_request(db, new.external_id) if new.external_id else None
        if existing is None:
            raise
        return existing
    return ApprovalRequest(
        id=request_id,
        external_id=new.external_id,
        title=new.title,
        details=dict(new.details),
        status=RequestStatus.PENDING,
        approvers=tuple(address for address, _ in new.approvers),
        decisions=(),
        created_at=now,
        expires_at=expires_at,
        closed_at=None,
    )


def _queue_notification(
    connection: Connection,
    settings: EngineSettings,
    new: NewRequest,
    request_id: str,
    address: str,
    name: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    message_id = new_message_id(sender_domain(settings.outbound))
    notification_id = connection.execute(
        _INSERT_NOTIFICATION,
        {
            "request_id": request_id,
            "kind": NotificationKind.APPROVAL.value,
            "approver": address,
            "approver_name": name,
            "message_id": message_id,
            "mime": b"",
            "status": NotificationStatus.QUEUED.value,
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now,
        },
    ).scalar_one()  # the id goes into the token
    token = issue_token(
        settings.tokens.secret.get_secret_value(), notification_id, request_id, address, expires_at
    )
    mime = render_notification(
        outbound=settings.outbound,
        templates_dir=settings.templates_dir,
        theme=new.template or settings.outbound.theme,
        request_id=request_id,
        title=new.title,
        details=dict(new.details),
        approver=address,
        approver_name=name,
        token=token,
        expires_at=expires_at,
        message_id=message_id,
        attachments=new.attachments,
    )
    connection.execute(_SET_MIME, {"b_id": notification_id, "b_mime": mime})


def get_request(db: Engine, request_id: str) -> ApprovalRequest:
    with reading(db) as session:
        row = session.get(RequestRow, request_id)
        if row is None:
            raise UnknownRequest(f"no approval request with id {request_id!r}")
        return snapshot(session, row)


def find_request(db: Engine, external_id: str) -> ApprovalRequest | None:
    with reading(db) as session:
        row = session.exec(select(RequestRow).where(RequestRow.external_id == external_id)).first()
        return None if row is None else snapshot(session, row)


def cancel_request(db: Engine, request_id: str, now: datetime) -> None:
    """Cancel a pending request; its notifications not yet sent are not sent (outbox)."""
    with transaction(db) as session:
        row = session.get(RequestRow, request_id)
        if row is None:
            raise UnknownRequest(f"no approval request with id {request_id!r}")
        if row.status != RequestStatus.PENDING:
            raise RequestClosed(f"request {request_id} is already {row.status}")
        row.status = RequestStatus.CANCELLED
        row.closed_at = now
        session.add(row)


def expire_overdue(db: Engine, now: datetime) -> None:
    with transaction(db) as session:
        session.execute(
            update(RequestRow)
            .where(
                col(RequestRow.status) == RequestStatus.PENDING,
                col(RequestRow.expires_at) <= now,
            )
            .values(status=RequestStatus.EXPIRED, closed_at=now)
        )


def forget_refused_reply(db: Engine, message_id: str) -> bool:
    """Delete the record of a refused reply so that the next poll reads it afresh."""
    key = message_id.strip().strip("<>")
    with transaction(db) as session:
        removed = session.execute(
            delete(InboxRecordRow).where(
                col(InboxRecordRow.message_key) == key,
                col(InboxRecordRow.status) == ReplyStatus.FAILED,
            )
        ).rowcount  # type: ignore[attr-defined]
    return bool(removed)


def notification_log(db: Engine, request_id: str | None, limit: int) -> list[NotificationLog]:
    """The outgoing notification log, newest first."""
    with reading(db) as session:
        query = select(NotificationRow).order_by(col(NotificationRow.id).desc()).limit(limit)
        if request_id is not None:
            query = query.where(NotificationRow.request_id == request_id)
        return [
            NotificationLog(
                id=row.id,  # type: ignore[arg-type]
                request_id=row.request_id,
                kind=row.kind,
                approver=row.approver,
                status=NotificationStatus(row.status),
                attempts=row.attempts,
                last_error=row.last_error,
                server=row.server,
                next_attempt_at=row.next_attempt_at,
                sent_at=row.sent_at,
            )
            for row in session.exec(query).all()
        ]


def notification_message(db: Engine, notification_id: int) -> bytes:
    """The notification's MIME as it was (or will be) sent: the outbox keeps it."""
    with reading(db) as session:
        row = session.get(NotificationRow, notification_id)
        if row is None:
            raise UnknownRequest(f"no notification with id {notification_id}")
        return row.mime


def snapshot(session: Session, row: RequestRow) -> ApprovalRequest:
    approvers = session.exec(
        select(NotificationRow.approver)
        .where(
            NotificationRow.request_id == row.id,
            NotificationRow.kind == NotificationKind.APPROVAL,
        )
        .order_by(col(NotificationRow.id))
    ).all()
    decisions = session.exec(
        select(DecisionRow)
        .where(DecisionRow.request_id == row.id)
        .order_by(col(DecisionRow.decided_at), col(DecisionRow.id))
    ).all()
    return ApprovalRequest(
        id=row.id,
        external_id=row.external_id,
        title=row.title,
        details=dict(row.details),
        status=RequestStatus(row.status),
        approvers=tuple(approvers),
        decisions=tuple(
            Decision(d.approver, d.verdict, d.comment, d.decided_at, d.message_id)
            for d in decisions
        ),
        created_at=row.created_at,
        expires_at=row.expires_at,
        closed_at=row.closed_at,
    )
