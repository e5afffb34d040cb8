"""Load a batch's :class:`BatchView` in four queries instead of several per message."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from contextlib import suppress

from sqlalchemy import or_
from sqlmodel import Session, col, select

from approvals.disposition import Disposition
from approvals.errors import InvalidToken
from approvals.inbox.view import BatchView, KnownNotification, SeenMessage
from approvals.models import DecisionRow, InboxRecordRow, NotificationRow, RequestRow, RequestStatus
from approvals.replies import ParsedReply
from approvals.tokens import decode_token

_KEY_LIMIT = 200  # a unique index entry must stay far below PostgreSQL's ~2.7 KB


def message_key(reply: ParsedReply, raw: bytes) -> str:
    """The Message-ID, or a hash of it (hostile lengths and bytes), or of the raw message."""
    if reply.message_id:
        if len(reply.message_id) <= _KEY_LIMIT and reply.message_id.isprintable():
            return reply.message_id
        return "sha256:" + hashlib.sha256(reply.message_id.encode("utf-8", "replace")).hexdigest()
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def load_view(session: Session, replies: Sequence[ParsedReply], keys: Sequence[str]) -> BatchView:
    """The notifications the replies name, their requests (locked), decisions and records.

    Locks first: an instance busy with the same requests commits before we read
    which messages are recorded already, so we see its records.
    """
    view = BatchView()
    _load_requests(session, replies, view)
    for record in session.exec(
        select(InboxRecordRow).where(col(InboxRecordRow.message_key).in_(set(keys)))
    ).all():
        view.seen[record.message_key] = seen_message(record)
    return view


def seen_message(record: InboxRecordRow) -> SeenMessage:
    return SeenMessage(
        record.seen_at,
        record.status,
        record.reason,
        Disposition.parse(record.disposition),
        record.request_id,
    )


def _load_requests(session: Session, replies: Sequence[ParsedReply], view: BatchView) -> None:
    ids: set[int] = set()
    for reply in replies:
        for sighting in reply.tokens:
            with suppress(InvalidToken):
                ids.add(decode_token(sighting.token).notification_id)
    references = {
        ref for reply in replies for ref in (*reply.references, *reply.bounced_message_ids)
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
    for request_id, status in session.exec(
        select(RequestRow.id, RequestRow.status)
        .where(col(RequestRow.id).in_(request_ids))
        .order_by(col(RequestRow.id))
        .with_for_update()
    ).all():
        view.request_status[request_id] = RequestStatus(status)
        view.verdicts[request_id] = {}
    for request_id, approver, verdict in session.exec(
        select(DecisionRow.request_id, DecisionRow.approver, DecisionRow.verdict).where(
            col(DecisionRow.request_id).in_(request_ids)
        )
    ).all():
        view.verdicts[request_id][approver] = verdict
    for row in session.exec(
        select(NotificationRow)
        .where(col(NotificationRow.request_id).in_(request_ids))
        .order_by(col(NotificationRow.id))
    ).all():
        view.add_notification(
            KnownNotification(
                id=row.id,  # type: ignore[arg-type]
                request_id=row.request_id,
                kind=row.kind,
                approver=row.approver,
                message_id=row.message_id,
                status=row.status,
                created_at=row.created_at,
                mime=row.mime,
            )
        )
