"""Turn each reply message into at most one decision, exactly once.

Everything about a message — the decision, the request's new status, the
record of the message itself, keyed by its Message-ID — is written in one
transaction; the mail is deleted or moved only after that commit. A poll
batch shares one transaction (one commit, not one per message), each message
in a savepoint of its own so that one message's conflict undoes only that
message. If the process dies between commit and delete, the next cycle finds
the records, applies nothing, and only finishes the mailbox step. Two engine
instances racing on the same message collide on the record's unique key; the
loser records nothing and only finishes the mailbox step.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from approvals.answers import queue_answer, queue_receipt
from approvals.errors import ExpiredToken, InvalidToken
from approvals.models import (
    DecisionRow,
    InboxRecordRow,
    NotificationKind,
    NotificationRow,
    NotificationStatus,
    ReplyStatus,
    RequestRow,
    RequestStatus,
)
from approvals.policy import status_after
from approvals.replies import ParsedReply, ReplyKind, dmarc_passed, parse_reply
from approvals.settings import EngineSettings
from approvals.store import transaction
from approvals.tokens import decode_token, verify_token

log = logging.getLogger(__name__)

KEEP = "keep"  # disposition: leave the mail where it is, to be read again next cycle

# Core statements, compiled once: the hot path writes a record (and a decision) per reply.
_INSERT_RECORD = InboxRecordRow.__table__.insert()  # type: ignore[attr-defined]
_INSERT_DECISION = DecisionRow.__table__.insert()  # type: ignore[attr-defined]
_REQUESTS = RequestRow.__table__  # type: ignore[attr-defined]
_CLOSE_REQUEST = (
    update(_REQUESTS)
    .where(_REQUESTS.c.id == bindparam("b_id"))
    .values(status=bindparam("b_status"), closed_at=bindparam("b_closed"))
)


@dataclass(frozen=True)
class Handling:
    """The verdict on one message and what to do with the mail afterwards."""

    key: str
    status: ReplyStatus
    reason: str
    disposition: str  # "delete", "move:<folder>" or KEEP
    closes: RequestStatus | None = None  # the final status this decision gave its request
    request_id: str | None = None
    parsed: ParsedReply | None = None


@dataclass(frozen=True)
class _Seen:
    """What was done with a message already recorded (in the store or earlier in the batch)."""

    seen_at: datetime
    outcome: str
    reason: str
    disposition: str
    request_id: str | None

    @classmethod
    def of(cls, record: InboxRecordRow) -> _Seen:
        return cls(
            record.seen_at, record.status, record.reason, record.disposition, record.request_id
        )


@dataclass
class _Batch:
    """What a batch's messages refer to, loaded in three queries instead of per message."""

    requests: dict[str, RequestRow] = field(default_factory=dict)  # locked for the batch
    by_message_id: dict[str, NotificationRow] = field(default_factory=dict)
    approvers: dict[str, list[str]] = field(default_factory=dict)  # request id -> approvers
    verdicts: dict[str, dict[str, str]] = field(default_factory=dict)  # request -> approver -> v

    def remember(self, decided: Handling, now: datetime) -> None:
        """Later messages of the batch see this decision (sender is the approver: checked)."""
        assert decided.request_id and decided.parsed and decided.parsed.sender
        assert decided.parsed.verdict is not None
        self.verdicts[decided.request_id][decided.parsed.sender] = decided.parsed.verdict.value
        if decided.closes is not None:  # written by _CLOSE_REQUEST; the row must agree
            request = self.requests[decided.request_id]
            set_committed_value(request, "status", decided.closes.value)
            set_committed_value(request, "closed_at", now)


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


_KEY_LIMIT = 200  # a unique index entry must stay far below PostgreSQL's ~2.7 KB


def message_key(parsed: ParsedReply, raw: bytes) -> str:
    """The Message-ID, or a hash of it (hostile lengths and bytes), or of the raw message."""
    if parsed.message_id:
        if len(parsed.message_id) <= _KEY_LIMIT and parsed.message_id.isprintable():
            return parsed.message_id
        return "sha256:" + hashlib.sha256(parsed.message_id.encode("utf-8", "replace")).hexdigest()
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _storable(text: str | None, limit: int) -> str | None:
    """Text any database stores: PostgreSQL refuses NUL characters in text columns."""
    return None if text is None else text.replace("\x00", "\ufffd")[:limit]


class ReplyHandler:
    """Applies replies to the store under the rules of one EngineSettings."""

    def __init__(self, db: Engine, settings: EngineSettings) -> None:
        self._db = db
        self._settings = settings

    def _disposition(self, outcome: ReplyStatus) -> str:
        if outcome is ReplyStatus.FAILED:
            return f"move:{self._settings.inbound.failure_folder}"
        return self._settings.inbound.after_processing

    def handle(self, raw: bytes, now: datetime) -> Handling:
        """One message on its own: :meth:`handle_batch` of one."""
        return self.handle_batch([raw], now)[0]

    def handle_batch(
        self, raws: Sequence[bytes], now: datetime, *, unread: Mapping[int, int] | None = None
    ) -> list[Handling]:
        """Decide what each message means and record it, all in one transaction.

        ``unread`` maps the index of a message whose body was not fetched (over
        [inbound] max_message_bytes; ``raws`` holds its header) to its size: it is
        recorded as failed and goes to the failure folder unread, whatever an earlier
        record of its Message-ID says, since a message not read is never deleted.
        """
        unread = unread or {}
        parsed = [parse_reply(raw) for raw in raws]  # pure: outside the transaction
        keys = [message_key(reply, raw) for reply, raw in zip(parsed, raws, strict=True)]
        handlings: list[Handling] = []
        with transaction(self._db) as session:
            # Locks first: an instance busy with the same requests commits before we
            # read which messages are recorded already, so we see its records.
            batch = self._preload(session, parsed)
            earlier = {
                record.message_key: _Seen.of(record)
                for record in session.exec(
                    select(InboxRecordRow).where(col(InboxRecordRow.message_key).in_(set(keys)))
                ).all()
            }
            for index, (reply, key) in enumerate(zip(parsed, keys, strict=True)):
                refusal = None
                if index in unread:
                    refusal = (
                        f"message is {unread[index]:,} bytes, over [inbound] max_message_bytes "
                        f"({self._settings.inbound.max_message_bytes:,}): kept unread in the "
                        "failure folder"
                    )
                if key in earlier:
                    handling = self._replay(key, earlier[key], reply)
                    if refusal is not None:
                        handling = replace(
                            handling, disposition=self._disposition(ReplyStatus.FAILED)
                        )
                    handlings.append(handling)
                    continue
                handling = self._apply(session, batch, reply, key, now, refusal)
                if handling.disposition != KEEP:
                    earlier[key] = _Seen(  # the same message twice in one batch
                        now,
                        handling.status.value,
                        handling.reason,
                        handling.disposition,
                        handling.request_id,
                    )
                handlings.append(handling)
        return handlings

    def _apply(
        self,
        session: Session,
        batch: _Batch,
        reply: ParsedReply,
        key: str,
        now: datetime,
        refusal: str | None = None,
    ) -> Handling:
        """Evaluate (or, with ``refusal``, refuse) and record one message in a savepoint."""
        try:
            with session.begin_nested():
                if refusal is None:
                    handling = self._evaluate(session, batch, reply, key, now)
                else:
                    handling = Handling(
                        key=key,
                        status=ReplyStatus.FAILED,
                        reason=refusal,
                        disposition=self._disposition(ReplyStatus.FAILED),
                        parsed=reply,
                    )
                session.connection().execute(
                    _INSERT_RECORD, self._record_values(handling, reply, now)
                )
        except IntegrityError:
            # Another instance recorded this message (or this approver's decision)
            # first; only this savepoint is gone, the rest of the batch stays.
            return self._after_conflict(session, key, reply)
        except Exception as exc:  # a message that breaks the engine must not block the folder
            log.exception("reply %s could not be processed", key)
            handling = Handling(
                key=key,
                status=ReplyStatus.FAILED,
                reason=f"could not be processed ({type(exc).__name__}); kept for review",
                disposition=self._disposition(ReplyStatus.FAILED),
                parsed=reply,
            )
            try:
                with session.begin_nested():
                    session.connection().execute(
                        _INSERT_RECORD, self._record_values(handling, reply, now)
                    )
            except SQLAlchemyError:
                # Kept all the same (moved to the failure folder), only without a record.
                log.exception("reply %s: not even its failure could be recorded", key)
            return handling
        if handling.status is ReplyStatus.DECIDED:
            batch.remember(handling, now)  # now that its savepoint holds
        return handling

    def _record_values(
        self, handling: Handling, reply: ParsedReply, now: datetime
    ) -> dict[str, Any]:
        return {
            "message_key": handling.key,
            "seen_at": now,
            "sender": _storable(reply.sender, 320),
            "subject": _storable(reply.subject, 500),
            "status": handling.status.value,
            "reason": _storable(handling.reason, 2000),
            "request_id": handling.request_id,
            "disposition": handling.disposition,
        }

    def _preload(self, session: Session, replies: Sequence[ParsedReply]) -> _Batch:
        """Load the notifications the replies name, their requests (locked) and approvers."""
        ids: set[int] = set()
        for reply in replies:
            if reply.token is not None:
                with suppress(InvalidToken):
                    ids.add(decode_token(reply.token).notification_id)
        references = {
            ref for reply in replies for ref in (*reply.references, *reply.bounced_message_ids)
        }
        if not ids and not references:
            return _Batch()
        named = session.exec(
            select(NotificationRow.request_id).where(
                or_(
                    col(NotificationRow.id).in_(ids),
                    col(NotificationRow.message_id).in_(references),
                )
            )
        ).all()
        request_ids = sorted(set(named))
        batch = _Batch()
        # In id order, so two instances locking overlapping batches cannot deadlock. The
        # batch holds the rows: the session's identity map alone would let them go.
        for request in session.exec(
            select(RequestRow)
            .where(col(RequestRow.id).in_(request_ids))
            .order_by(col(RequestRow.id))
            .with_for_update()
        ).all():
            batch.requests[request.id] = request
            batch.verdicts[request.id] = {}
        for request_id, approver, verdict in session.exec(
            select(DecisionRow.request_id, DecisionRow.approver, DecisionRow.verdict).where(
                col(DecisionRow.request_id).in_(request_ids)
            )
        ).all():
            batch.verdicts[request_id][approver] = verdict
        for notification in session.exec(
            select(NotificationRow).where(col(NotificationRow.request_id).in_(request_ids))
        ).all():  # now in the session's identity map: session.get() needs no query
            batch.by_message_id[notification.message_id] = notification
            if notification.kind == NotificationKind.APPROVAL:
                batch.approvers.setdefault(notification.request_id, []).append(
                    notification.approver
                )
        return batch

    def _after_conflict(self, session: Session, key: str, reply: ParsedReply) -> Handling:
        winner = session.exec(
            select(InboxRecordRow).where(InboxRecordRow.message_key == key)
        ).first()
        if winner is not None:
            return self._replay(key, _Seen.of(winner), reply)
        return Handling(
            key=key,
            status=ReplyStatus.IGNORED,
            reason="another instance changed this request meanwhile; read again next cycle",
            disposition=KEEP,
            parsed=reply,
        )

    def _replay(self, key: str, earlier: _Seen, parsed: ParsedReply) -> Handling:
        return Handling(
            key=key,
            status=ReplyStatus.IGNORED,
            reason=f"already handled on {earlier.seen_at:%Y-%m-%d %H:%M} UTC "
            f"({earlier.outcome}: {earlier.reason})",
            disposition=earlier.disposition,
            request_id=earlier.request_id,
            parsed=parsed,
        )

    def _evaluate(
        self, session: Session, batch: _Batch, parsed: ParsedReply, key: str, now: datetime
    ) -> Handling:
        def result(outcome: ReplyStatus, reason: str, **extra: object) -> Handling:
            return Handling(
                key=key,
                status=outcome,
                reason=reason,
                disposition=self._disposition(outcome),
                parsed=parsed,
                **extra,  # type: ignore[arg-type]
            )

        if parsed.kind is ReplyKind.AUTO_REPLY:
            return result(ReplyStatus.IGNORED, "auto-reply: " + "; ".join(parsed.reasons))
        if parsed.kind is ReplyKind.BOUNCE:
            return result(ReplyStatus.IGNORED, self._record_bounce(session, batch, parsed, now))
        try:
            notification = self._notification_for(session, batch, parsed, now)
            request = batch.requests[notification.request_id]
            if request.status != RequestStatus.PENDING:
                raise _Refusal(f"request is already {request.status}", request.id, notification)
            verdicts = batch.verdicts[request.id]
            if notification.approver in verdicts:
                raise _Refusal(
                    f"{notification.approver} already decided ({verdicts[notification.approver]}); "
                    "kept for review",
                    request.id,
                    notification,
                )
            if parsed.verdict is None:
                why = "; ".join(parsed.reasons) or "the new text has no approve or reject"
                raise _Refusal(f"no clear verdict ({why})", request.id, notification)
        except _Refusal as refusal:
            if refusal.notification is not None:
                queue_answer(
                    session, self._settings, refusal.notification, parsed, refusal.reason, now
                )
            return result(ReplyStatus.FAILED, refusal.reason, request_id=refusal.request_id)
        connection = session.connection()
        connection.execute(
            _INSERT_DECISION,
            {
                "request_id": request.id,
                "approver": notification.approver,
                "verdict": parsed.verdict.value,
                "comment": _storable(parsed.comment, 10000),
                "decided_at": now,
                "message_id": key,
            },
        )
        queue_receipt(
            session, self._settings, notification, parsed, parsed.verdict.value, parsed.comment, now
        )
        verdicts = {**verdicts, notification.approver: parsed.verdict.value}
        status = status_after(self._settings.policy.mode, batch.approvers[request.id], verdicts)
        if status.is_final:
            connection.execute(
                _CLOSE_REQUEST, {"b_id": request.id, "b_status": status.value, "b_closed": now}
            )
        return result(
            ReplyStatus.DECIDED,
            f"{parsed.verdict.value} by {notification.approver}",
            request_id=request.id,
            closes=status if status.is_final else None,
        )

    def _identify(
        self,
        session: Session,
        batch: _Batch,
        token: str | None,
        references: Sequence[str],
        now: datetime,
    ) -> tuple[NotificationRow, ExpiredToken | None]:
        """The notification a verified token, else a Message-ID reference, names.

        Both prove the message answers one of ours: the token is signed, and a
        Message-ID is 96 random bits that only the notification's recipient saw.
        An expired token still identifies its notification; the expiry is returned.
        """
        if token is not None:
            try:
                claims = decode_token(token)
            except InvalidToken as exc:
                raise _Refusal(f"bad token: {exc}") from None
            notification = session.get(NotificationRow, claims.notification_id)
            if notification is None:
                raise _Refusal("bad token: it names no notification of this engine")
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
                return notification, exc
            return notification, None
        found = next((batch.by_message_id[r] for r in references if r in batch.by_message_id), None)
        if found is None:
            raise _Refusal("no approval token and no reference to a notification")
        return found, None

    def _notification_for(
        self, session: Session, batch: _Batch, parsed: ParsedReply, now: datetime
    ) -> NotificationRow:
        """Find the notification this reply answers, and check the reply may speak for it."""
        if len(parsed.tokens) > 1:
            first, second = parsed.tokens[0], parsed.tokens[1]
            raise _Refusal(
                f"ambiguous: {first.place} carries the token of notification "
                f"{_notification_number(first.token)} and {second.place} the token of "
                f"notification {_notification_number(second.token)}; refused, not guessed"
            )
        notification, expired = self._identify(session, batch, parsed.token, parsed.references, now)
        _check_references(batch, parsed, notification)
        if parsed.sender != notification.approver:
            raise _Refusal(
                f"wrong sender: {parsed.sender or 'no From address'} is not "
                f"{notification.approver}, the approver this notification was sent to",
                notification.request_id,
            )
        replies = self._settings.replies
        if parsed.on_behalf_of is not None and not replies.allow_on_behalf:
            # DMARC vouches for the domain, not the person: a colleague's Sender header
            # beside the approver's From passes DMARC all the same.
            raise _Refusal(
                f"sent on behalf: the Sender header names {parsed.on_behalf_of}, not "
                f"{notification.approver} (set [replies] allow_on_behalf = true to accept)",
                notification.request_id,
            )
        if replies.require_dmarc_pass and not dmarc_passed(parsed, replies.trusted_authserv_ids):
            raise _Refusal(
                "sender not authenticated: no DMARC pass from a trusted server "
                f"({', '.join(replies.trusted_authserv_ids)})",
                notification.request_id,
            )
        if expired is not None:
            raise _Refusal(f"expired token: {expired}", notification.request_id, notification)
        return notification

    def _record_bounce(
        self, session: Session, batch: _Batch, parsed: ParsedReply, now: datetime
    ) -> str:
        """Mark the bounced notification undeliverable, if the bounce proves which it was."""
        try:
            notification, _ = self._identify(session, batch, None, parsed.bounced_message_ids, now)
        except _Refusal:
            try:
                notification, _ = self._identify(session, batch, parsed.token, (), now)
            except _Refusal:
                return "bounce: original notification not identified"
        if notification.status != NotificationStatus.SENT:
            return f"bounce: notification {notification.id} is {notification.status}, left so"
        notification.status = NotificationStatus.UNDELIVERABLE
        notification.last_error = "bounced: " + "; ".join(parsed.reasons)[:500]
        session.add(notification)
        return f"bounce: notification {notification.id} to {notification.approver} undeliverable"


def _notification_number(token: str) -> str:
    """The notification id a token claims, for a reason a person reads (never the token)."""
    try:
        return str(decode_token(token).notification_id)
    except InvalidToken:
        return "(malformed)"


def _check_references(batch: _Batch, parsed: ParsedReply, notification: NotificationRow) -> None:
    """In-Reply-To and References must not point at another approver's or request's mail.

    An answer or receipt we sent belongs to the same request and approver as the
    notification it answers, so a reply to one of those agrees.
    """
    for reference in parsed.references:
        other = batch.by_message_id.get(reference)
        if other is None:
            continue
        if (other.request_id, other.approver) != (notification.request_id, notification.approver):
            named_by = "the token" if parsed.token is not None else "In-Reply-To/References"
            raise _Refusal(
                f"ambiguous: {named_by} names notification {notification.id} (request "
                f"{notification.request_id}, {notification.approver}) but In-Reply-To/"
                f"References also name notification {other.id} (request {other.request_id}, "
                f"{other.approver}); refused, not guessed",
                notification.request_id,
            )
