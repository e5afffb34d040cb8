"""Write judgements to the store: exactly once per message, one savepoint each.

Everything about a message — the decision, the request's new status, the
record of the message itself, keyed by its Message-ID — is written in one
transaction; the mail is deleted or moved only after that commit. A batch
shares one transaction (one commit, not one per message), each message in a
savepoint of its own so that one message's conflict undoes only that message.
If the process dies between commit and delete, the next cycle finds the
records, applies nothing, and only finishes the mailbox step. Two engine
instances racing on the same message collide on the record's unique key; the
loser records nothing and only finishes the mailbox step.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, select

from approvals.disposition import KEEP
from approvals.inbox import answers
from approvals.inbox.judge import Judgement, judge, replayed
from approvals.inbox.preload import load_view, message_key, seen_message
from approvals.inbox.view import BatchView, SeenMessage
from approvals.models import (
    DecisionRow,
    InboxRecordRow,
    NotificationKind,
    NotificationRow,
    NotificationStatus,
    ReplyStatus,
    RequestRow,
)
from approvals.replies import ParsedReply, parse_reply
from approvals.settings import EngineSettings
from approvals.store import transaction

log = logging.getLogger(__name__)

# Core statements, compiled once: the hot path writes a record (and a decision) per reply.
_INSERT_RECORD = InboxRecordRow.__table__.insert()  # type: ignore[attr-defined]
_INSERT_DECISION = DecisionRow.__table__.insert()  # type: ignore[attr-defined]
_INSERT_NOTIFICATION = NotificationRow.__table__.insert()  # type: ignore[attr-defined]
_REQUESTS = RequestRow.__table__  # type: ignore[attr-defined]
_NOTIFICATIONS = NotificationRow.__table__  # type: ignore[attr-defined]
_CLOSE_REQUEST = (
    update(_REQUESTS)
    .where(_REQUESTS.c.id == bindparam("b_id"))
    .values(status=bindparam("b_status"), closed_at=bindparam("b_closed"))
)
_MARK_UNDELIVERABLE = (
    update(_NOTIFICATIONS)
    .where(_NOTIFICATIONS.c.id == bindparam("b_id"))
    .values(status=NotificationStatus.UNDELIVERABLE.value, last_error=bindparam("b_error"))
)


def handle_batch(
    db: Engine,
    settings: EngineSettings,
    raws: Sequence[bytes],
    now: datetime,
    *,
    unread: Mapping[int, int] | None = None,
) -> list[Judgement]:
    """Judge each message and record it, all in one transaction; judgements in order.

    ``unread`` maps the index of a message whose body was not fetched (``raws``
    holds its header) to its size.
    """
    unread = unread or {}
    replies = [parse_reply(raw) for raw in raws]  # pure: outside the transaction
    keys = [message_key(reply, raw) for reply, raw in zip(replies, raws, strict=True)]
    judgements = []
    with transaction(db) as session:
        view = load_view(session, replies, keys)
        for index, (reply, key) in enumerate(zip(replies, keys, strict=True)):
            judgement = _judge_and_record(
                session, view, settings, reply, key, now, unread.get(index)
            )
            if judgement.disposition != KEEP and key not in view.seen:
                # the same message twice in one batch: the second is a replay
                view.seen[key] = SeenMessage(
                    now,
                    judgement.status.value,
                    judgement.reason,
                    judgement.disposition,
                    judgement.request_id,
                )
            judgements.append(judgement)
    return judgements


def _judge_and_record(
    session: Session,
    view: BatchView,
    settings: EngineSettings,
    reply: ParsedReply,
    key: str,
    now: datetime,
    unread_size: int | None,
) -> Judgement:
    try:
        judgement = judge(reply, key, view, settings, now, unread_size=unread_size)
        if judgement.replay:
            return judgement
        with session.begin_nested():
            _write(session.connection(), settings, judgement, reply, now)
    except IntegrityError:
        # Another instance recorded this message (or this approver's decision)
        # first; only this savepoint is gone, the rest of the batch stays.
        return _after_conflict(session, key)
    except Exception as exc:  # a message that breaks the engine must not block the folder
        log.exception("reply %s could not be processed", key)
        judgement = Judgement(
            key,
            ReplyStatus.FAILED,
            f"could not be processed ({type(exc).__name__}); kept for review",
            settings.inbound.refused,
        )
        try:
            with session.begin_nested():
                session.connection().execute(_INSERT_RECORD, _record(judgement, reply, now))
        except SQLAlchemyError:
            # Kept all the same (moved to the failure folder), only without a record.
            log.exception("reply %s: not even its failure could be recorded", key)
        return judgement
    _advance(view, judgement, now)  # now that its savepoint holds
    return judgement


def _write(
    connection: Connection,
    settings: EngineSettings,
    judgement: Judgement,
    reply: ParsedReply,
    now: datetime,
) -> None:
    decided = judgement.decided
    if decided is not None:
        approver = decided.notification.approver
        connection.execute(
            _INSERT_DECISION,
            {
                "request_id": judgement.request_id,
                "approver": approver,
                "verdict": decided.verdict,
                "comment": _storable(decided.comment, 10000),
                "decided_at": now,
                "message_id": judgement.key,
            },
        )
        if judgement.receipt:
            text = answers.receipt_text(approver, decided.verdict, decided.comment)
            connection.execute(
                _INSERT_NOTIFICATION,
                answers.compose(
                    settings, decided.notification, reply, NotificationKind.RECEIPT, text, now
                ),
            )
        if decided.closes is not None:
            connection.execute(
                _CLOSE_REQUEST,
                {"b_id": judgement.request_id, "b_status": decided.closes.value, "b_closed": now},
            )
    if judgement.answer_to is not None:
        text = answers.answer_text(judgement.reason)
        connection.execute(
            _INSERT_NOTIFICATION,
            answers.compose(
                settings, judgement.answer_to, reply, NotificationKind.ANSWER, text, now
            ),
        )
    if judgement.bounced is not None:
        error = "bounced: " + "; ".join(reply.reasons)[:500]
        connection.execute(_MARK_UNDELIVERABLE, {"b_id": judgement.bounced.id, "b_error": error})
    connection.execute(_INSERT_RECORD, _record(judgement, reply, now))


def _advance(view: BatchView, judgement: Judgement, now: datetime) -> None:
    """Later messages of the batch see what this one did."""
    decided = judgement.decided
    if decided is not None:
        request_id = decided.notification.request_id
        view.verdicts[request_id][decided.notification.approver] = decided.verdict
        if decided.closes is not None:
            view.request_status[request_id] = decided.closes
    if judgement.answer_to is not None:
        view.answered(judgement.answer_to.request_id, judgement.answer_to.approver, now)
    if judgement.bounced is not None:
        view.set_status(judgement.bounced, NotificationStatus.UNDELIVERABLE.value)


def _after_conflict(session: Session, key: str) -> Judgement:
    winner = session.exec(select(InboxRecordRow).where(InboxRecordRow.message_key == key)).first()
    if winner is not None:
        return replayed(key, seen_message(winner))
    return Judgement(
        key,
        ReplyStatus.IGNORED,
        "another instance changed this request meanwhile; read again next cycle",
        KEEP,
    )


def _record(judgement: Judgement, reply: ParsedReply, now: datetime) -> dict[str, Any]:
    return {
        "message_key": judgement.key,
        "seen_at": now,
        "sender": _storable(reply.sender, 320),
        "subject": _storable(reply.subject, 500),
        "status": judgement.status.value,
        "reason": _storable(judgement.reason, 2000),
        "request_id": judgement.request_id,
        "disposition": str(judgement.disposition),
    }


def _storable(text: str | None, limit: int) -> str | None:
    """Text any database stores: PostgreSQL refuses NUL characters in text columns."""
    return None if text is None else text.replace("\x00", "\ufffd")[:limit]
