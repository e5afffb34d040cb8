"""ApprovalEngine: the public Python API, a thin facade over the store and the mail layer.

Synchronous for callers. Each call opens what it needs (database sessions,
one mailbox connection per poll cycle, one sender pool per dispatch) and
closes it before returning.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, delete, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from approvals.callbacks import DecisionCallback, deliver_outcomes
from approvals.errors import MessageTooLarge, RequestClosed, UnknownRequest
from approvals.inbox import KEEP, Handling, ReplyHandler
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
from approvals.outbox import claim_due, send_claimed, settle
from approvals.reports import DispatchReport, ProcessReport, ReplyReport
from approvals.settings import EngineSettings
from approvals.store import exclusive, open_database, transaction
from approvals.tokens import issue_token
from mailio.compose import Attachment, RenderedParts, build_message, missing_templates
from mailio.config import RetrySettings
from mailio.errors import ConfigError, MailboxError
from mailio.factory import build_mailbox, build_sender
from mailio.inbound.base import FetchedMessage, Mailbox, SizeLimitedMailbox, header_block
from mailio.outbound.base import Sender
from mailio.probe import ProbeStep, probe_mailbox, probe_sender

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

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


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ApprovalEngine:
    """Ask for approvals by email and apply the replies.

    ``mailbox_factory`` and ``sender_factory`` replace the configured servers
    (tests and benchmarks use them to wrap a real connection); ``clock``
    replaces the wall clock.
    """

    def __init__(
        self,
        settings: EngineSettings,
        *,
        clock: Clock = _utc_now,
        mailbox_factory: Callable[[EngineSettings], Mailbox] | None = None,
        sender_factory: Callable[[EngineSettings], Sequence[Sender]] | None = None,
    ) -> None:
        _check_templates(settings)
        self._settings = settings
        self._clock = clock
        self._mailbox_factory = mailbox_factory or _configured_mailbox
        self._sender_factory = sender_factory or _configured_senders
        self._db = open_database(settings.store.url, base_dir=settings.base_dir)
        self._callbacks: list[DecisionCallback] = []
        self._senders: list[Sender] | None = None  # kept across calls; rebuilt on reload
        self._outcomes_called: set[tuple[str, int]] = set()  # see approvals.callbacks

    @classmethod
    def from_config(cls, path: str | Path, **options: Any) -> ApprovalEngine:
        return cls(EngineSettings.load(path), **options)

    @property
    def settings(self) -> EngineSettings:
        return self._settings

    def reload(self) -> EngineSettings:
        """Re-read the config file (interval, count, servers…); the store URL cannot change."""
        if self._settings.config_path is None:
            return self._settings
        fresh = EngineSettings.load(self._settings.config_path)
        _check_templates(fresh)
        if fresh.store.url != self._settings.store.url:
            log.warning("[store] url changed in %s: restart to use it", fresh.config_path)
        if (fresh.outbound, fresh.servers) != (self._settings.outbound, self._settings.servers):
            self._close_senders()
        self._settings = fresh
        return fresh

    def close(self) -> None:
        self._close_senders()
        self._db.dispose()

    def _active_senders(self) -> list[Sender]:
        if self._senders is None:
            self._senders = list(self._sender_factory(self._settings))
        return self._senders

    def _close_senders(self) -> None:
        for sender in self._senders or ():
            sender.close()
        self._senders = None

    # ---- asking -------------------------------------------------------------------------

    def request_approval(
        self,
        title: str,
        approvers: Iterable[str],
        details: dict[str, Any] | None = None,
        external_id: str | None = None,
        template: str | None = None,
        attachments: Sequence[Attachment] = (),
    ) -> ApprovalRequest:
        """Store a request and one queued notification per approver, in one transaction.

        Returns at once; ``dispatch_pending`` sends. Asking again with the same
        ``external_id`` returns the first request and queues nothing.
        """
        if external_id is not None:
            existing = self.find(external_id=external_id)
            if existing is not None:
                return existing
        people = _parse_approvers(approvers)
        size = sum(len(attachment.content) for attachment in attachments)
        limit = self._settings.outbound.max_attachment_bytes
        if size > limit:
            raise MessageTooLarge(
                f"attachments total {size} bytes, over the {limit} bytes allowed by "
                "[outbound] max_attachment_bytes; nothing was queued"
            )
        now = self._clock()
        settings = self._settings
        expires_at = now + timedelta(days=settings.tokens.ttl_days)
        request_id = uuid.uuid4().hex
        domain = sender_domain(settings.outbound)
        try:
            with transaction(self._db) as session:
                connection = session.connection()  # Core: see _INSERT_NOTIFICATION
                connection.execute(
                    _INSERT_REQUEST,
                    {
                        "id": request_id,
                        "external_id": external_id,
                        "title": title,
                        "details": details or {},
                        "status": RequestStatus.PENDING.value,
                        "created_at": now,
                        "expires_at": expires_at,
                    },
                )
                for address, name in people:
                    message_id = new_message_id(domain)
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
                        settings.tokens.secret.get_secret_value(),
                        notification_id,
                        request_id,
                        address,
                        expires_at,
                    )
                    mime = render_notification(
                        outbound=settings.outbound,
                        templates_dir=settings.templates_dir,
                        theme=template or settings.outbound.theme,
                        request_id=request_id,
                        title=title,
                        details=details or {},
                        approver=address,
                        approver_name=name,
                        token=token,
                        expires_at=expires_at,
                        message_id=message_id,
                        attachments=attachments,
                    )
                    connection.execute(_SET_MIME, {"b_id": notification_id, "b_mime": mime})
        except IntegrityError:
            # Another caller created the same external_id between our check and our insert.
            existing = self.find(external_id=external_id) if external_id else None
            if existing is None:
                raise
            return existing
        return ApprovalRequest(
            id=request_id,
            external_id=external_id,
            title=title,
            details=dict(details or {}),
            status=RequestStatus.PENDING,
            approvers=tuple(address for address, _ in people),
            decisions=(),
            created_at=now,
            expires_at=expires_at,
            closed_at=None,
        )

    def dispatch_pending(self, limit: int = 500) -> DispatchReport:
        """Send queued notifications that are due; returns what happened."""
        now = self._clock()
        claim = claim_due(self._db, now, limit)
        if not claim.rows:
            return DispatchReport()
        outcome = send_claimed(claim.rows, self._active_senders())
        primary = self._settings.servers[self._settings.outbound.server]
        retry = getattr(primary, "retry", None) or RetrySettings()  # senders all have one
        return settle(self._db, claim, outcome, retry, self._clock())

    # ---- reading replies ----------------------------------------------------------------

    def process_replies(self) -> ProcessReport:
        """One poll cycle: read at most ``max_messages`` replies and apply them."""
        inbound = self._settings.inbound
        self._expire_overdue()
        with exclusive(self._db, f"poll {inbound.server} {inbound.folder}") as ours:
            if not ours:
                log.info("another instance is polling %s now; skipping", inbound.folder)
                return ProcessReport(problems=("another instance was polling this folder",))
            handlings, problems = self._poll(inbound.max_messages)
        self._deliver_outcomes()  # the decisions are committed, whatever the mailbox did
        counts = {outcome: 0 for outcome in ReplyStatus}
        for handling in handlings:
            counts[handling.status] += 1
        return ProcessReport(
            fetched=len(handlings),
            decided=counts[ReplyStatus.DECIDED],
            ignored=counts[ReplyStatus.IGNORED],
            failed=counts[ReplyStatus.FAILED],
            messages=tuple(
                ReplyReport(h.key, h.status.value, h.reason, h.request_id) for h in handlings
            ),
            problems=tuple(problems),
        )

    def _poll(self, limit: int) -> tuple[list[Handling], list[str]]:
        handler = ReplyHandler(self._db, self._settings)
        mailbox = self._mailbox_factory(self._settings)
        max_bytes = self._settings.inbound.max_message_bytes
        if isinstance(mailbox, SizeLimitedMailbox):
            mailbox.max_message_bytes = max_bytes  # it then skips the bodies over it
        try:
            batch = mailbox.fetch_batch(limit)
            handlings = _handle(handler, batch, max_bytes, self._clock())
            for handling in handlings:
                log.info("reply %s: %s (%s)", handling.key, handling.status, handling.reason)
            return handlings, self._dispose(mailbox, batch, handlings)
        finally:
            mailbox.close()

    @staticmethod
    def _dispose(
        mailbox: Mailbox, batch: Sequence[Any], handlings: Sequence[Handling]
    ) -> list[str]:
        """After every decision is committed: move or delete, one call per destination.

        A destination that fails (a failure folder that cannot be created) does not
        stop the others; its mail stays in the reply folder, is seen again next
        cycle as already handled, and the problem is reported and logged.
        """
        problems = []
        by_disposition: dict[str, list[str]] = {}
        for message, handling in zip(batch, handlings, strict=True):
            by_disposition.setdefault(handling.disposition, []).append(message.key)
        by_disposition.pop(KEEP, None)  # a conflict with another instance: read it again
        for disposition, keys in sorted(
            by_disposition.items(), key=lambda item: item[0] == "delete"
        ):
            folder = disposition.removeprefix("move:")
            try:
                if disposition == "delete":
                    mailbox.delete(keys)
                else:
                    mailbox.move(keys, folder)
            except MailboxError as exc:
                action = "deleted" if disposition == "delete" else f"moved to {folder}"
                problems.append(f"{len(keys)} processed message(s) could not be {action}: {exc}")
                log.error("%s", problems[-1])
        return problems

    def reprocess(self, message_id: str) -> bool:
        """Forget a refused reply so that the next poll reads it afresh.

        For a reply kept in the failure folder after the cause was fixed (a
        DMARC setting, a template): move the mail back into the reply folder
        and call this. Decided or ignored replies cannot be reprocessed.
        Returns False when no refused reply has that Message-ID.
        """
        key = message_id.strip().strip("<>")
        with transaction(self._db) as session:
            removed = session.execute(
                delete(InboxRecordRow).where(
                    col(InboxRecordRow.message_key) == key,
                    col(InboxRecordRow.status) == ReplyStatus.FAILED,
                )
            ).rowcount  # type: ignore[attr-defined]
        return bool(removed)

    def _expire_overdue(self) -> None:
        now = self._clock()
        with transaction(self._db) as session:
            session.execute(
                update(RequestRow)
                .where(
                    col(RequestRow.status) == RequestStatus.PENDING,
                    col(RequestRow.expires_at) <= now,
                )
                .values(status=RequestStatus.EXPIRED, closed_at=now)
            )

    def _deliver_outcomes(self, only: str | None = None) -> int:
        return deliver_outcomes(
            self._db,
            self._clock(),
            self._callbacks,
            self._settings.callback,
            _snapshot,
            self._outcomes_called,
            only,
        )

    # ---- looking up ---------------------------------------------------------------------

    def on_decision(self, callback: DecisionCallback) -> DecisionCallback:
        """Call ``callback(request)`` once per final outcome. Usable as a decorator."""
        self._callbacks.append(callback)
        self._deliver_outcomes()
        return callback

    def get(self, request_id: str) -> ApprovalRequest:
        with Session(self._db) as session:
            row = session.get(RequestRow, request_id)
            if row is None:
                raise UnknownRequest(f"no approval request with id {request_id!r}")
            return _snapshot(session, row)

    def find(self, *, external_id: str) -> ApprovalRequest | None:
        with Session(self._db) as session:
            row = session.exec(
                select(RequestRow).where(RequestRow.external_id == external_id)
            ).first()
            return None if row is None else _snapshot(session, row)

    def cancel(self, request_id: str) -> ApprovalRequest:
        """Cancel a pending request; its notifications not yet sent are not sent (outbox)."""
        now = self._clock()
        with transaction(self._db) as session:
            row = session.get(RequestRow, request_id)
            if row is None:
                raise UnknownRequest(f"no approval request with id {request_id!r}")
            if row.status != RequestStatus.PENDING:
                raise RequestClosed(f"request {request_id} is already {row.status}")
            row.status = RequestStatus.CANCELLED
            row.closed_at = now
            session.add(row)
        self._deliver_outcomes(only=request_id)
        return self.get(request_id)

    def test_configuration(self, to: str | None = None) -> list[ProbeStep]:
        """Send a test message through each outbound server and open the reply folder."""
        settings = self._settings
        recipient = to or parseaddr(settings.outbound.from_address)[1]
        steps: list[ProbeStep] = []
        for sender, name in zip(
            self._active_senders(),
            settings.outbound.server_names,
            strict=True,
        ):
            message = build_message(
                parts=RenderedParts(
                    subject=f"Approvals test message via {name}",
                    text="This message was sent by `approvals test-config` to check the "
                    f"outbound server {name}. Nothing needs to be done.\n",
                    html=None,
                ),
                sender=settings.outbound.from_address,
                to=recipient,
                message_id=new_message_id(sender_domain(settings.outbound)),
                headers={"Auto-Submitted": "auto-generated"},
            )
            steps += probe_sender(sender, settings.servers[name], message)
        steps += probe_mailbox(
            self._mailbox_factory(settings),
            settings.servers[settings.inbound.server],
            settings.inbound.folder,
        )
        return steps

    def outbox(self, request_id: str | None = None, limit: int = 100) -> list[NotificationLog]:
        """The outgoing notification log, newest first."""
        with Session(self._db) as session:
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


def check_settings(settings: EngineSettings) -> None:
    """What ``check-config`` verifies beyond the file, changing nothing: the theme is
    complete and the store answers (an SQLite file that does not exist yet needs an
    existing folder; no file and no table is created)."""
    _check_templates(settings)
    db = open_database(settings.store.url, base_dir=settings.base_dir, create=False)
    try:
        database = db.url.database if db.dialect.name == "sqlite" else None
        if database and database != ":memory:" and not Path(database).exists():
            if not Path(database).parent.is_dir():
                raise ConfigError(f"[store] url: folder {Path(database).parent} does not exist")
            return
        with db.connect() as connection:
            connection.execute(text("SELECT 1"))
    finally:
        db.dispose()


def _check_templates(settings: EngineSettings) -> None:
    """Fail at start-up, not in a caller's request_approval, when the theme is incomplete."""
    outbound = settings.outbound
    missing = missing_templates(
        settings.templates_dir, outbound.theme, plain_text_only=outbound.plain_text_only
    )
    if missing:
        where = f"{settings.config_path}, " if settings.config_path else ""
        raise ConfigError(
            f'{where}[outbound] theme = "{outbound.theme}": missing {", ".join(missing)}; '
            "copy config/templates/default and edit it"
        )


def _parse_approvers(approvers: Iterable[str]) -> list[tuple[str, str]]:
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


def _snapshot(session: Session, row: RequestRow) -> ApprovalRequest:
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


def _handle(
    handler: ReplyHandler, batch: Sequence[FetchedMessage], max_bytes: int, now: datetime
) -> list[Handling]:
    """Handlings in ``batch`` order; a message over ``max_bytes`` is never parsed in full.

    A mailbox that does not know the limit (no ``max_message_bytes``) fetched such a
    message whole; it is cut to its header here all the same.
    """
    unread = {
        index: message.size
        for index, message in enumerate(batch)
        if not message.complete or message.size > max_bytes
    }
    raws = [
        header_block(message.raw) if index in unread else message.raw
        for index, message in enumerate(batch)
    ]
    return handler.handle_batch(raws, now, unread=unread)


def _configured_mailbox(settings: EngineSettings) -> Mailbox:
    return build_mailbox(settings.servers[settings.inbound.server], settings.inbound.folder)


def _configured_senders(settings: EngineSettings) -> list[Sender]:
    # EngineSettings validates that every name is a server that can send.
    return [build_sender(settings.servers[name]) for name in settings.outbound.server_names]
