"""Queue the mails a workflow sends: asking a seat to decide, reminding it, closing it.

Every function writes on the caller's connection, inside the caller's
transaction, so that a mail is queued exactly when the change that causes it
commits (a stage approved, a timer due, a delegation): never twice, never lost.
"""

from __future__ import annotations

import email.policy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.parser import BytesParser
from typing import Any, Protocol

from sqlalchemy import bindparam, update
from sqlalchemy.engine import Connection
from sqlmodel import col, select

from approvals.mails import (
    MailKind,
    new_message_id,
    render_notice_mail,
    render_request_mail,
    sender_domain,
)
from approvals.models import (
    AbsenceRow,
    EventKind,
    NotificationKind,
    NotificationRow,
    NotificationStatus,
    RequestRow,
    Via,
)
from approvals.settings import EngineSettings
from approvals.tokens import issue_token
from approvals.workflow.history import record_event
from mailio.compose import Attachment

_NOTIFICATIONS = NotificationRow.__table__  # type: ignore[attr-defined]
_INSERT_NOTIFICATION = _NOTIFICATIONS.insert().returning(_NOTIFICATIONS.c.id)
_SET_MIME = (
    update(_NOTIFICATIONS)
    .where(_NOTIFICATIONS.c.id == bindparam("b_id"))
    .values(mime=bindparam("b_mime"))
)
_ABSENCES = AbsenceRow.__table__  # type: ignore[attr-defined]


class SentApproval(Protocol):
    """An approval notification as stored (a row, or the inbox's view of one)."""

    @property
    def id(self) -> int | None: ...
    @property
    def approver(self) -> str: ...
    @property
    def approver_name(self) -> str: ...
    @property
    def message_id(self) -> str: ...
    @property
    def stage(self) -> int: ...
    @property
    def seat(self) -> str: ...
    @property
    def via(self) -> str: ...
    @property
    def on_behalf_of(self) -> str | None: ...
    @property
    def status(self) -> str: ...


@dataclass(frozen=True)
class RequestFacts:
    """What the mails of one request need to know about it."""

    id: str
    title: str
    details: Mapping[str, Any]
    theme: str | None
    language: str | None
    expires_at: datetime
    due_at: datetime
    reminders: Mapping[str, Any] | None  # {"after": s, "every": s, "max": n}

    @classmethod
    def of(cls, row: RequestRow) -> RequestFacts:
        return cls(
            row.id,
            row.title,
            row.details,
            row.theme,
            row.language,
            row.expires_at,
            row.due_at,
            row.reminders,
        )


@dataclass(frozen=True)
class Seat:
    """Who is asked, for which seat of which stage, and why."""

    approver: str
    name: str
    stage: int
    seat: str
    via: Via = Via.ASKED
    on_behalf_of: str | None = None


def ask(
    connection: Connection,
    settings: EngineSettings,
    request: RequestFacts,
    seat: Seat,
    now: datetime,
    *,
    attachments: Sequence[Attachment] | None = None,
    follow_absence: bool = True,
) -> int:
    """Queue one approval notification for ``seat``; returns its id.

    An approver with an absence rule active now is not asked: the rule's delegate
    is, in the same seat, marked as asked on the approver's behalf. ``attachments``
    None: those of the request's first notification (a later stage, a delegate and an
    escalation see the same documents as the first approvers).
    """
    if attachments is None:
        attachments = attachments_of(connection, request.id)
    if follow_absence and seat.via is not Via.ESCALATION:
        delegate = active_delegate(connection, seat.approver, now)
        if delegate is not None and delegate != seat.approver:
            seat = Seat(delegate, "", seat.stage, seat.seat, Via.AWAY, seat.approver)
    message_id = new_message_id(sender_domain(settings.outbound))
    plan = request.reminders
    notification_id = connection.execute(
        _INSERT_NOTIFICATION,
        {
            "request_id": request.id,
            "kind": NotificationKind.APPROVAL.value,
            "approver": seat.approver,
            "approver_name": seat.name,
            "stage": seat.stage,
            "seat": seat.seat,
            "via": seat.via.value,
            "on_behalf_of": seat.on_behalf_of,
            "message_id": message_id,
            "mime": b"",
            "status": NotificationStatus.QUEUED.value,
            "attempts": 0,
            "reminders_sent": 0,
            "next_reminder_at": now + timedelta(seconds=plan["after"]) if plan else None,
            "created_at": now,
            "next_attempt_at": now,
        },
    ).scalar_one()  # the id goes into the token
    kind = {
        Via.ASKED: MailKind.APPROVAL,
        Via.DELEGATED: MailKind.DELEGATION,
        Via.AWAY: MailKind.DELEGATION,
        Via.ESCALATION: MailKind.ESCALATION,
    }[seat.via]
    mime = render_request_mail(
        kind,
        **_request_mail_context(settings, request, seat.approver, seat.name),
        token=token_of(settings, notification_id, request, seat.approver),
        message_id=message_id,
        attachments=attachments,
        on_behalf_of=seat.on_behalf_of,
        delegation_reason={Via.AWAY: "away", Via.DELEGATED: "delegated"}.get(seat.via),
    )
    connection.execute(_SET_MIME, {"b_id": notification_id, "b_mime": mime})
    record_event(
        connection,
        request.id,
        EventKind.NOTIFIED,
        now,
        actor="engine",
        detail=_notified_detail(seat),
    )
    return notification_id


def remind(
    connection: Connection,
    settings: EngineSettings,
    request: RequestFacts,
    original: SentApproval,
    number: int,
    now: datetime,
) -> None:
    """Queue reminder ``number`` for ``original``: the same token, threaded under it."""
    message_id = new_message_id(sender_domain(settings.outbound))
    mime = render_request_mail(
        MailKind.REMINDER,
        **_request_mail_context(settings, request, original.approver, original.approver_name),
        token=token_of(settings, original.id, request, original.approver),  # type: ignore[arg-type]
        message_id=message_id,
        on_behalf_of=original.on_behalf_of,
        delegation_reason={Via.AWAY: "away", Via.DELEGATED: "delegated"}.get(Via(original.via)),
        reminder_number=number,
        in_reply_to=original.message_id,
    )
    _queue_mail(connection, request.id, original, NotificationKind.REMINDER, message_id, mime, now)
    record_event(
        connection,
        request.id,
        EventKind.REMINDED,
        now,
        actor="engine",
        detail=f"reminder {number} to {original.approver}",
    )


def notify_closed(
    connection: Connection,
    settings: EngineSettings,
    request: RequestFacts,
    status: str,
    pending: Sequence[SentApproval],
    now: datetime,
) -> None:
    """ "Closed, no action needed" to each seat that had not answered (when configured)."""
    if not settings.workflow.notify_on_close:
        return
    for original in pending:
        if original.status not in (NotificationStatus.SENT, NotificationStatus.SENDING):
            continue  # never received (queued, failed, bounced): nothing to call off
        message_id = new_message_id(sender_domain(settings.outbound))
        mime = render_notice_mail(
            MailKind.CLOSED,
            outbound=settings.outbound,
            templates_dir=settings.templates_dir,
            theme=request.theme or settings.outbound.theme,
            language=request.language,
            to=original.approver,
            title=request.title,
            request_id=request.id,
            message_id=message_id,
            context={"status": status, "approver": original.approver},
            in_reply_to=original.message_id,
        )
        _queue_mail(
            connection, request.id, original, NotificationKind.CLOSED, message_id, mime, now
        )


def attachments_of(connection: Connection, request_id: str) -> list[Attachment]:
    """The attachments the request's first approval notification carried."""
    first = connection.execute(
        select(_NOTIFICATIONS.c.mime)
        .where(
            _NOTIFICATIONS.c.request_id == request_id,
            _NOTIFICATIONS.c.kind == NotificationKind.APPROVAL.value,
        )
        .order_by(_NOTIFICATIONS.c.id)
        .limit(1)
    ).first()
    if first is None or b"attachment" not in first[0]:
        return []
    message = BytesParser(policy=email.policy.default).parsebytes(first[0])
    return [
        Attachment(
            part.get_filename() or "attachment",
            part.get_payload(decode=True) or b"",  # type: ignore[arg-type]
            part.get_content_type(),
        )
        for part in message.iter_attachments()  # type: ignore[attr-defined]
    ]


def token_of(
    settings: EngineSettings, notification_id: int, request: RequestFacts, approver: str
) -> str:
    """The notification's token; signed, so issuing it again gives the same token."""
    return issue_token(
        settings.tokens.secret.get_secret_value(),
        notification_id,
        request.id,
        approver,
        request.expires_at,
    )


def active_delegate(connection: Connection, approver: str, now: datetime) -> str | None:
    """The delegate of ``approver``'s absence rule in force at ``now``, if any."""
    row = connection.execute(
        select(_ABSENCES.c.delegate)
        .where(
            _ABSENCES.c.approver == approver,
            _ABSENCES.c.starts_at <= now,
            _ABSENCES.c.ends_at > now,
        )
        .order_by(col(_ABSENCES.c.created_at).desc())
        .limit(1)
    ).first()
    return None if row is None else row[0]


def _request_mail_context(
    settings: EngineSettings, request: RequestFacts, approver: str, name: str
) -> dict[str, Any]:
    return {
        "outbound": settings.outbound,
        "templates_dir": settings.templates_dir,
        "theme": request.theme or settings.outbound.theme,
        "language": request.language,
        "request_id": request.id,
        "title": request.title,
        "details": request.details,
        "approver": approver,
        "approver_name": name,
        "expires_at": request.expires_at,
        "due_at": request.due_at,
    }


def _queue_mail(
    connection: Connection,
    request_id: str,
    original: SentApproval,
    kind: NotificationKind,
    message_id: str,
    mime: bytes,
    now: datetime,
) -> None:
    connection.execute(
        _INSERT_NOTIFICATION,
        {
            "request_id": request_id,
            "kind": kind.value,
            "approver": original.approver,
            "approver_name": original.approver_name,
            "stage": original.stage,
            "seat": original.seat,
            "via": original.via,
            "on_behalf_of": original.on_behalf_of,
            "message_id": message_id,
            "mime": mime,
            "status": NotificationStatus.QUEUED.value,
            "attempts": 0,
            "reminders_sent": 0,
            "created_at": now,
            "next_attempt_at": now,
        },
    )


def _notified_detail(seat: Seat) -> str:
    text = f"asked {seat.approver} (stage {seat.stage + 1})"
    if seat.via is Via.AWAY:
        return f"{text} on behalf of {seat.on_behalf_of}, who is away"
    if seat.via is Via.DELEGATED:
        return f"{text}, delegated by {seat.on_behalf_of}"
    if seat.via is Via.ESCALATION:
        return f"{text} as escalation"
    return text
