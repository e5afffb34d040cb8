"""What an operator asks of a running engine, and does to it: ``engine.operations``.

Queries (requests, one request in full, recorded replies, the engine's status) and
actions (reprocess a refused reply, queue failed notifications again) for the
command line, and later a web console: every query takes filters and paging and
returns frozen values, never rows.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from approvals import requests
from approvals.errors import UnknownRequest
from approvals.health import EngineStatus, OutboxCounts, engine_status, outbox_counts
from approvals.inbox.reprocess import Reprocessed, reprocess_refused
from approvals.models import (
    ApprovalRequest,
    Event,
    EventKind,
    InboxRecordRow,
    NotificationLog,
    ReplyStatus,
    RequestRow,
    RequestStatus,
)
from approvals.outbox import requeue_failed
from approvals.settings import EngineSettings
from approvals.store import reading, transaction
from approvals.workflow.history import events_of, record_event
from mailio.inbound.base import Mailbox

MailboxFactory = Callable[[EngineSettings], Mailbox]


@dataclass(frozen=True)
class RequestSummary:
    """One line of the request list."""

    id: str
    external_id: str | None
    title: str
    status: RequestStatus
    created_at: datetime
    due_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class ReplyRecord:
    """A reply the engine has seen (``inbox_record``) and what it did with it."""

    message_id: str  # or the sha256 of the raw bytes when the reply had none
    sender: str | None
    subject: str
    seen_at: datetime
    status: ReplyStatus
    reason: str
    request_id: str | None
    disposition: str  # "delete" or "move:<folder>"
    preview: str | None = None  # the new text as read, at most 500 characters
    has_raw: bool = False  # reply_raw() gives the message (refused and ignored replies)


@dataclass(frozen=True)
class RequestDetail:
    """Everything known of one request (``approvals requests show``)."""

    request: ApprovalRequest
    notifications: tuple[NotificationLog, ...]  # oldest first
    replies: tuple[ReplyRecord, ...]  # oldest first
    events: tuple[Event, ...]


class Operations:
    """Operator queries and actions over one engine's store and mailbox."""

    def __init__(
        self,
        db: Engine,
        settings: EngineSettings,
        mailbox_factory: MailboxFactory,
        clock: Callable[[], datetime],
    ) -> None:
        self._db = db
        self._settings = settings
        self._mailbox_factory = mailbox_factory
        self._clock = clock

    @property
    def db(self) -> Engine:
        return self._db

    @property
    def clock(self) -> Callable[[], datetime]:
        return self._clock

    # ---- requests -----------------------------------------------------------------------

    def requests(
        self,
        *,
        status: RequestStatus | str | None = None,
        search: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[RequestSummary]:
        """Requests, newest first; ``search`` is a piece of the title or external id."""
        query = select(RequestRow).order_by(col(RequestRow.created_at).desc(), col(RequestRow.id))
        if status is not None:
            query = query.where(col(RequestRow.status) == RequestStatus(status).value)
        if search:
            pattern = _like(search)
            query = query.where(
                or_(
                    col(RequestRow.title).ilike(pattern, escape="\\"),
                    col(RequestRow.external_id).ilike(pattern, escape="\\"),
                )
            )
        with reading(self._db) as session:
            rows = session.exec(query.offset(offset).limit(limit)).all()
            return [
                RequestSummary(
                    row.id,
                    row.external_id,
                    row.title,
                    RequestStatus(row.status),
                    row.created_at,
                    row.due_at,
                    row.closed_at,
                )
                for row in rows
            ]

    def resolve(self, id_or_external_id: str) -> str:
        """The request id of an id or an external id; UnknownRequest for neither."""
        with reading(self._db) as session:
            if session.get(RequestRow, id_or_external_id) is not None:
                return id_or_external_id
            row = session.exec(
                select(RequestRow).where(RequestRow.external_id == id_or_external_id)
            ).first()
        if row is None:
            raise UnknownRequest(
                f"no approval request with id or external id {id_or_external_id!r}"
            )
        return row.id

    def request(self, id_or_external_id: str) -> RequestDetail:
        request_id = self.resolve(id_or_external_id)
        request = requests.get_request(self._db, request_id, self._settings.policy.mode)
        log = requests.notification_log(self._db, request_id, limit=10_000)
        return RequestDetail(
            request=request,
            notifications=tuple(reversed(log)),
            replies=tuple(reversed(self.replies(request_id=request_id, limit=10_000))),
            events=tuple(events_of(self._db, request_id)),
        )

    # ---- replies ------------------------------------------------------------------------

    def replies(
        self,
        *,
        status: ReplyStatus | str | None = None,
        request_id: str | None = None,
        search: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[ReplyRecord]:
        """Recorded replies, newest first; ``search`` is a piece of the sender or subject."""
        query = select(InboxRecordRow).order_by(
            col(InboxRecordRow.seen_at).desc(), col(InboxRecordRow.id).desc()
        )
        if status is not None:
            query = query.where(col(InboxRecordRow.status) == ReplyStatus(status).value)
        if request_id is not None:
            query = query.where(col(InboxRecordRow.request_id) == request_id)
        if search:
            pattern = _like(search)
            query = query.where(
                or_(
                    col(InboxRecordRow.sender).ilike(pattern, escape="\\"),
                    col(InboxRecordRow.subject).ilike(pattern, escape="\\"),
                )
            )
        with reading(self._db) as session:
            return [
                ReplyRecord(
                    row.message_key,
                    row.sender,
                    row.subject,
                    row.seen_at,
                    ReplyStatus(row.status),
                    row.reason,
                    row.request_id,
                    row.disposition,
                    row.preview,
                    row.raw is not None,
                )
                for row in session.exec(query.offset(offset).limit(limit)).all()
            ]

    def reprocess(self, message_id: str) -> Reprocessed:
        """Move a refused reply back from the failure folder and forget its record."""
        return reprocess_refused(self._db, self._settings, self._mailbox_factory, message_id)

    # ---- outbox -------------------------------------------------------------------------

    def retry_notifications(
        self, ids: Sequence[int] | None = None, *, admin: str | None = None
    ) -> list[int]:
        """Queue failed notifications again (``ids``, or all); returns those queued. With
        ``admin``, each is an admin event in its request's history."""
        queued = requeue_failed(self._db, self._clock(), ids)
        if admin is not None:
            for notification_id, request_id in queued.items():
                self.record_admin_action(
                    request_id, admin, f"notification {notification_id} queued again"
                )
        return list(queued)

    def reply_raw(self, message_id: str) -> bytes | None:
        """The raw message of a recorded reply that decided nothing (None: not kept)."""
        key = message_id.strip().strip("<>")
        with reading(self._db) as session:
            raw = session.exec(
                select(InboxRecordRow.raw).where(InboxRecordRow.message_key == key)
            ).first()
        return None if raw is None else zlib.decompress(raw)

    def record_admin_action(self, request_id: str, admin: str, detail: str) -> None:
        """An admin's action on a request, in its history (actor ``admin:<name>``)."""
        with transaction(self._db) as session:
            record_event(
                session.connection(),
                request_id,
                EventKind.ADMIN,
                self._clock(),
                actor=f"admin:{admin}",
                detail=detail,
            )

    def outbox_counts(self) -> OutboxCounts:
        return outbox_counts(self._db)

    # ---- status -------------------------------------------------------------------------

    def status(self) -> EngineStatus:
        """Last cycles, the reply folder's backlog, the outbox (see approvals.health)."""
        return engine_status(self._db, self._settings, self._mailbox_factory, self._clock())


def _like(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
