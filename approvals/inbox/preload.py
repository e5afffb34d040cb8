"""Load a batch's :class:`BatchView` in a handful of queries instead of several per message."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from contextlib import suppress
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from approvals.disposition import Disposition
from approvals.errors import InvalidToken
from approvals.inbox.view import BatchView, KnownNotification, KnownRequest, SeenMessage
from approvals.models import (
    AbsenceRow,
    DecisionRow,
    InboxRecordRow,
    NotificationRow,
    RequestRow,
    RequestStatus,
    Via,
)
from approvals.replies import ParsedReply
from approvals.tokens import decode_token
from approvals.workflow.asking import RequestFacts
from approvals.workflow.stages import stored_plans

_KEY_LIMIT = 200  # a unique index entry must stay far below PostgreSQL's ~2.7 KB
MAX_REFERENCES = 50  # per reply: deep threads carry a few dozen; more is not a reply


def message_key(reply: ParsedReply, raw: bytes) -> str:
    """The Message-ID, or a hash of it (hostile lengths and bytes), or of the raw message."""
    if reply.message_id:
        if len(reply.message_id) <= _KEY_LIMIT and reply.message_id.isprintable():
            return reply.message_id
        return "sha256:" + hashlib.sha256(reply.message_id.encode("utf-8", "replace")).hexdigest()
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def load_view(
    session: Session,
    replies: Sequence[ParsedReply],
    keys: Sequence[str],
    now: datetime,
    legacy_policy: str,
    refused: Disposition,
) -> BatchView:
    """The notifications the replies name, their requests (locked), decisions, absences
    and records. ``legacy_policy``: [policy] mode, for requests made before stages.

    Locks first: an instance busy with the same requests commits before we read
    which messages are recorded already, so we see its records.
    """
    view = BatchView()
    _load_requests(session, replies, view, now, legacy_policy)
    for record in session.exec(
        select(InboxRecordRow).where(col(InboxRecordRow.message_key).in_(set(keys)))
    ).all():
        view.seen[record.message_key] = seen_message(record, refused)
    return view


def seen_message(record: InboxRecordRow, refused: Disposition) -> SeenMessage:
    """``refused``: where the mail goes when the record's disposition cannot be read (an
    older config's blank folder): kept, never deleted."""
    try:
        disposition = Disposition.parse(record.disposition)
    except ValueError:
        disposition = refused
    return SeenMessage(record.seen_at, record.status, record.reason, disposition, record.request_id)


def _load_requests(
    session: Session,
    replies: Sequence[ParsedReply],
    view: BatchView,
    now: datetime,
    legacy_policy: str,
) -> None:
    # Only the first token and the first references of each reply: a reply naming more
    # is refused as ambiguous all the same, and a stranger's mail stuffed with made-up
    # tokens must neither lock other requests nor outgrow a statement's parameters.
    ids: set[int] = set()
    for reply in replies:
        if reply.token is not None:
            with suppress(InvalidToken):
                ids.add(decode_token(reply.token).notification_id)
    references = {
        ref
        for reply in replies
        for ref in (
            *reply.references[:MAX_REFERENCES],
            *reply.bounced_message_ids[:MAX_REFERENCES],
        )
    }
    if not ids and not references:
        return
    named = session.exec(
        select(NotificationRow.request_id).where(
            or_(
                col(NotificationRow.id).in_(ids),
                col(NotificationRow.message_id).in_(references),
            )
        )
    ).all()
    request_ids = sorted(set(named))
    # In id order, so two instances locking overlapping batches cannot deadlock.
    rows = session.exec(
        select(RequestRow)
        .where(col(RequestRow.id).in_(request_ids))
        .order_by(col(RequestRow.id))
        .with_for_update()
    ).all()
    for request_id, stage, seat, verdict in session.exec(
        select(
            DecisionRow.request_id, DecisionRow.stage, DecisionRow.seat, DecisionRow.verdict
        ).where(col(DecisionRow.request_id).in_(request_ids))
    ).all():
        view.stage_verdicts(request_id, stage)[seat] = verdict
    approvers: set[str] = set()
    legacy_seats: dict[str, list[str]] = {}
    for sent in session.exec(
        select(NotificationRow)
        .where(col(NotificationRow.request_id).in_(request_ids))
        .order_by(col(NotificationRow.id))
    ).all():
        notification = KnownNotification(
            id=sent.id,  # type: ignore[arg-type]
            request_id=sent.request_id,
            kind=sent.kind,
            approver=sent.approver,
            message_id=sent.message_id,
            status=sent.status,
            created_at=sent.created_at,
            mime=sent.mime,
            approver_name=sent.approver_name,
            stage=sent.stage,
            seat=sent.seat,
            via=sent.via,
            on_behalf_of=sent.on_behalf_of,
            delegated_to=sent.delegated_to,
        )
        view.add_notification(notification)
        if notification.asks:
            approvers.add(notification.approver)
            if notification.via == Via.ASKED:
                legacy_seats.setdefault(sent.request_id, []).append(notification.seat)
    for row in rows:
        plans = stored_plans(row.stages, legacy_seats.get(row.id, []), legacy_policy)
        view.requests[row.id] = KnownRequest(
            RequestFacts.of(row), RequestStatus(row.status), row.current_stage, tuple(plans)
        )
    for approver, delegate in session.exec(
        select(AbsenceRow.approver, AbsenceRow.delegate)
        .where(
            col(AbsenceRow.approver).in_(approvers),
            col(AbsenceRow.starts_at) <= now,
            col(AbsenceRow.ends_at) > now,
        )
        .order_by(col(AbsenceRow.created_at))
    ).all():
        view.absences[approver] = delegate  # the newest rule wins
