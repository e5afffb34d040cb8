"""Turn one reply message into at most one decision, exactly once.

Everything about a message — the decision, the request's new status, the
record of the message itself — is written in one transaction keyed by the
message's Message-ID. The mail is deleted or moved only after that commit.
If the process dies in between, the next cycle finds the record, applies
nothing, and only finishes the mailbox step. Two engine instances racing on
the same message collide on the record's unique key; the loser does nothing.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from approvals.answers import queue_answer, queue_receipt
from approvals.errors import ExpiredToken, InvalidToken
from approvals.models import (
    DecisionRow,
    InboxOutcome,
    InboxRecordRow,
    NotificationKind,
    NotificationRow,
    NotificationStatus,
    RequestRow,
    RequestStatus,
)
from approvals.policy import outcome_of
from approvals.replies import ParsedReply, ReplyKind, dmarc_passed, parse_reply
from approvals.settings import EngineSettings
from approvals.store import transaction
from approvals.tokens import decode_token, verify_token

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Handling:
    """The verdict on one message and what to do with the mail afterwards."""

    key: str
    outcome: InboxOutcome
    reason: str
    disposition: str  # "delete" or "move:<folder>"
    request_id: str | None = None
    closed_request: str | None = None  # set when this message made a request final
    parsed: ParsedReply | None = None
    notification_id: int | None = None


class _Refusal(Exception):
    """Internal: the message cannot be used; carries the reason for the record.

    ``notification`` is set when the reply was identified as coming from the
    approver it was sent to: only then may the engine answer the sender.
    """

    def __init__(
        self,
        reason: str,
        request_id: str | None = None,
        notification: NotificationRow | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.request_id = request_id
        self.notification = notification


def message_key(parsed: ParsedReply, raw: bytes) -> str:
    if parsed.message_id:
        return parsed.message_id
    return "sha256:" + hashlib.sha256(raw).hexdigest()


class ReplyHandler:
    """Applies replies to the store under the rules of one EngineSettings."""

    def __init__(self, db: Engine, settings: EngineSettings) -> None:
        self._db = db
        self._settings = settings

    def _disposition(self, outcome: InboxOutcome) -> str:
        if outcome is InboxOutcome.FAILED:
            return f"move:{self._settings.inbound.failure_folder}"
        return self._settings.inbound.after_processing

    def handle(self, raw: bytes, now: datetime) -> Handling:
        parsed = parse_reply(raw)
        key = message_key(parsed, raw)
        try:
            with transaction(self._db) as session:
                earlier = session.exec(
                    select(InboxRecordRow).where(InboxRecordRow.message_key == key)
                ).first()
                if earlier is not None:
                    return self._replay(key, earlier, parsed)
                handling = self._evaluate(session, parsed, key, now)
                session.add(
                    InboxRecordRow(
                        message_key=key,
                        seen_at=now,
                        sender=parsed.sender,
                        subject=parsed.subject[:500],
                        outcome=handling.outcome,
                        reason=handling.reason,
                        request_id=handling.request_id,
                        disposition=handling.disposition,
                    )
                )
                return handling
        except IntegrityError:
            # Another instance recorded this message (or this approver's decision) first.
            with Session(self._db) as session:
                earlier = session.exec(
                    select(InboxRecordRow).where(InboxRecordRow.message_key == key)
                ).first()
            if earlier is None:
                raise
            return self._replay(key, earlier, parsed)

    def _replay(self, key: str, earlier: InboxRecordRow, parsed: ParsedReply) -> Handling:
        return Handling(
            key=key,
            outcome=InboxOutcome.IGNORED,
            reason=f"already handled on {earlier.seen_at:%Y-%m-%d %H:%M} UTC "
            f"({earlier.outcome}: {earlier.reason})",
            disposition=earlier.disposition,
            request_id=earlier.request_id,
            parsed=parsed,
        )

    def _evaluate(self, session: Session, parsed: ParsedReply, key: str, now: datetime) -> Handling:
        def result(outcome: InboxOutcome, reason: str, **extra: object) -> Handling:
            return Handling(
                key=key,
                outcome=outcome,
                reason=reason,
                disposition=self._disposition(outcome),
                parsed=parsed,
                **extra,  # type: ignore[arg-type]
            )

        if parsed.kind is ReplyKind.AUTO_REPLY:
            return result(InboxOutcome.IGNORED, "auto-reply: " + "; ".join(parsed.reasons))
        if parsed.kind is ReplyKind.BOUNCE:
            return result(InboxOutcome.IGNORED, self._record_bounce(session, parsed))
        try:
            notification = self._notification_for(session, parsed, now)
            request = self._check_request(session, notification, parsed)
            if parsed.verdict is None:
                why = "; ".join(parsed.reasons) or "the new text has no approve or reject"
                raise _Refusal(f"no clear verdict ({why})", request.id, notification)
        except _Refusal as refusal:
            if refusal.notification is not None:
                queue_answer(
                    session, self._settings, refusal.notification, parsed, refusal.reason, now
                )
            return result(InboxOutcome.FAILED, refusal.reason, request_id=refusal.request_id)
        session.add(
            DecisionRow(
                request_id=request.id,
                approver=notification.approver,
                verdict=parsed.verdict.value,
                comment=parsed.comment,
                decided_at=now,
                message_id=key,
            )
        )
        queue_receipt(
            session, self._settings, notification, parsed, parsed.verdict.value, parsed.comment, now
        )
        session.flush()
        verdicts = dict(
            session.exec(
                select(DecisionRow.approver, DecisionRow.verdict).where(
                    DecisionRow.request_id == request.id
                )
            ).all()
        )
        approvers = session.exec(
            select(NotificationRow.approver).where(
                NotificationRow.request_id == request.id,
                NotificationRow.kind == NotificationKind.APPROVAL,
            )
        ).all()
        status = outcome_of(self._settings.policy.mode, approvers, verdicts)
        closed = None
        if status.is_final:
            request.status = status
            request.closed_at = now
            session.add(request)
            closed = request.id
        return result(
            InboxOutcome.DECIDED,
            f"{parsed.verdict.value} by {notification.approver}",
            request_id=request.id,
            closed_request=closed,
            notification_id=notification.id,
        )

    def _notification_for(
        self, session: Session, parsed: ParsedReply, now: datetime
    ) -> NotificationRow:
        """Find the notification this reply answers, and check the reply may speak for it."""
        if parsed.token is not None:
            try:
                claims = decode_token(parsed.token)
            except InvalidToken as exc:
                raise _Refusal(f"bad token: {exc}") from None
            notification = session.get(NotificationRow, claims.notification_id)
            if notification is None:
                raise _Refusal("bad token: it names no notification of this engine")
            expired: ExpiredToken | None = None
            try:
                verify_token(
                    self._settings.tokens.secret.get_secret_value(),
                    claims,
                    notification.request_id,
                    notification.approver,
                    now,
                )
            except InvalidToken as exc:
                raise _Refusal(f"forged token: {exc}", notification.request_id) from None
            except ExpiredToken as exc:
                expired = exc
        else:
            expired = None
            notification = None
            if parsed.references:
                notification = session.exec(
                    select(NotificationRow).where(
                        col(NotificationRow.message_id).in_(parsed.references)
                    )
                ).first()
            if notification is None:
                raise _Refusal("no approval token and no reference to a notification")

        if parsed.sender != notification.approver:
            raise _Refusal(
                f"wrong sender: {parsed.sender or 'no From address'} is not "
                f"{notification.approver}, the approver this notification was sent to",
                notification.request_id,
            )
        replies = self._settings.replies
        if replies.require_dmarc_pass and not dmarc_passed(parsed, replies.trusted_authserv_ids):
            raise _Refusal(
                "sender not authenticated: no DMARC pass from a trusted server "
                f"({', '.join(replies.trusted_authserv_ids)})",
                notification.request_id,
            )
        if expired is not None:
            raise _Refusal(f"expired token: {expired}", notification.request_id, notification)
        return notification

    def _check_request(
        self, session: Session, notification: NotificationRow, parsed: ParsedReply
    ) -> RequestRow:
        request = session.exec(
            select(RequestRow).where(RequestRow.id == notification.request_id).with_for_update()
        ).one()
        if request.status != RequestStatus.PENDING:
            raise _Refusal(f"request is already {request.status}", request.id, notification)
        earlier = session.exec(
            select(DecisionRow).where(
                DecisionRow.request_id == request.id,
                DecisionRow.approver == notification.approver,
            )
        ).first()
        if earlier is not None:
            raise _Refusal(
                f"{notification.approver} already decided ({earlier.verdict}) on "
                f"{earlier.decided_at:%Y-%m-%d %H:%M} UTC; kept for review",
                request.id,
                notification,
            )
        return request

    def _record_bounce(self, session: Session, parsed: ParsedReply) -> str:
        notification = None
        if parsed.bounced_message_ids:
            notification = session.exec(
                select(NotificationRow).where(
                    col(NotificationRow.message_id).in_(parsed.bounced_message_ids)
                )
            ).first()
        if notification is None and parsed.token is not None:
            try:
                notification = session.get(
                    NotificationRow, decode_token(parsed.token).notification_id
                )
            except InvalidToken:
                notification = None
        if notification is None:
            return "bounce: original notification not identified"
        notification.status = NotificationStatus.UNDELIVERABLE
        notification.last_error = "bounced: " + "; ".join(parsed.reasons)[:500]
        session.add(notification)
        return f"bounce: notification {notification.id} to {notification.approver} undeliverable"
