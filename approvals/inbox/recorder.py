"""Write judgements to the store: exactly once per message, one commit per batch.

Everything about a message — the decision, the request's new status, the
record of the message itself, keyed by its Message-ID — is written in one
transaction; the mail is deleted or moved only after that commit. A batch
shares one transaction. Its writes are held back and sent together, one
executemany per statement (:mod:`.held`), inside one savepoint for the batch.
When anything fails there — another instance recorded one of the messages
first (a unique key), a message breaks the engine — that savepoint is rolled
back, the view read again, and the batch written as before batching: one
savepoint per message, so that one message's conflict undoes only that message.
If the process dies between commit and delete, the next cycle finds the
records, applies nothing, and only finishes the mailbox step. Two engine
instances racing on the same message collide on the record's unique key (or
the second one's preload, locked behind the first, reads the first's record);
the loser records nothing and only finishes the mailbox step.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session

from approvals.disposition import KEEP, Disposition
from approvals.inbox.effects import advance_view, storable, write_effects
from approvals.inbox.held import HeldWrites
from approvals.inbox.judge import Judgement, judge, replayed
from approvals.inbox.preload import load_view, message_key, seen_records
from approvals.inbox.view import BatchView, SeenMessage
from approvals.models import (
    InboxRecordRow,
    ReplyStatus,
)
from approvals.replies import ParsedReply, parse_reply
from approvals.settings import EngineSettings
from approvals.store import transaction

log = logging.getLogger(__name__)

# Core statements, compiled once: the hot path writes a record (and a decision) per reply.
_INSERT_RECORD = InboxRecordRow.__table__.insert()  # type: ignore[attr-defined]


@dataclass(frozen=True)
class _Message:
    reply: ParsedReply
    raw: bytes
    key: str
    unread_size: int | None  # its body was not fetched (over the size limit)


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
    messages = [
        _Message(reply, raw, key, unread.get(index))
        for index, (reply, raw, key) in enumerate(zip(replies, raws, keys, strict=True))
    ]
    policy, refused = settings.policy.mode, settings.inbound.refused
    with transaction(db) as session:
        view = load_view(session, replies, keys, now, policy, refused)
        try:
            with session.begin_nested():
                held = HeldWrites(session.connection())
                judgements = _record_all(
                    view, messages, now, lambda v, m: _record_held(held, settings, v, m, now)
                )
                held.flush()
            return judgements
        except Exception as exc:  # redone below, one savepoint per message, which copes
            log.info(
                "batch of %d replies written one at a time (%s while writing it whole)",
                len(messages),
                type(exc).__name__,
            )
        # Read again: the first view saw the batch's own writes, now rolled back, and not
        # what another instance committed meanwhile.
        view = load_view(session, replies, keys, now, policy, refused)
        return _record_all(
            view, messages, now, lambda v, m: _judge_and_record(session, v, settings, m, now)
        )


def _record_all(
    view: BatchView,
    messages: Sequence[_Message],
    now: datetime,
    record: Callable[[BatchView, _Message], Judgement],
) -> list[Judgement]:
    judgements = []
    for message in messages:
        judgement = record(view, message)
        if judgement.disposition != KEEP and message.key not in view.seen:
            # the same message twice in one batch: the second is a replay
            view.seen[message.key] = SeenMessage(
                now,
                judgement.status.value,
                judgement.reason,
                judgement.disposition,
                judgement.request_id,
            )
        judgements.append(judgement)
    return judgements


def _record_held(
    held: HeldWrites, settings: EngineSettings, view: BatchView, message: _Message, now: datetime
) -> Judgement:
    """The fast way: no savepoint, writes held for the batch. Any error ends it (and the
    batch's savepoint); the batch is then written again one message at a time."""
    reply, raw = message.reply, message.raw
    judgement = judge(reply, message.key, view, settings, now, unread_size=message.unread_size)
    if judgement.replay:
        return judgement
    # The effects and the workflow's writers only call execute(), which HeldWrites offers.
    write_effects(cast(Connection, held), settings, view, judgement, reply, raw, now)
    held.execute(_INSERT_RECORD, _record(judgement, reply, raw, now))
    advance_view(view, judgement, now)
    return judgement


def _judge_and_record(
    session: Session, view: BatchView, settings: EngineSettings, message: _Message, now: datetime
) -> Judgement:
    """One savepoint per message: a conflict or a broken message undoes only its own."""
    reply, raw, key, unread_size = message.reply, message.raw, message.key, message.unread_size
    try:
        judgement = judge(reply, key, view, settings, now, unread_size=unread_size)
        if judgement.replay:
            return judgement
        with session.begin_nested():
            connection = session.connection()
            write_effects(connection, settings, view, judgement, reply, raw, now)
            connection.execute(_INSERT_RECORD, _record(judgement, reply, raw, now))
    except IntegrityError:
        # Another instance recorded this message (or this approver's decision)
        # first; only this savepoint is gone, the rest of the batch stays.
        replay = _after_conflict(session, key, settings.inbound.refused)
        if unread_size is not None and replay.disposition != KEEP:
            return replace(replay, disposition=settings.inbound.refused)  # never deleted unread
        return replay
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
                session.connection().execute(_INSERT_RECORD, _record(judgement, reply, raw, now))
        except SQLAlchemyError:
            # Kept all the same (moved to the failure folder), only without a record.
            log.exception("reply %s: not even its failure could be recorded", key)
        return judgement
    advance_view(view, judgement, now)  # now that its savepoint holds
    return judgement


def _after_conflict(session: Session, key: str, refused: Disposition) -> Judgement:
    winner = seen_records(session, [key], refused).get(key)
    if winner is not None:
        return replayed(key, winner)
    return Judgement(
        key,
        ReplyStatus.IGNORED,
        "another instance changed this request meanwhile; read again next cycle",
        KEEP,
    )


RAW_KEPT_BYTES = 256 * 1024  # a refused reply's raw message is kept up to this size


def _record(judgement: Judgement, reply: ParsedReply, raw: bytes, now: datetime) -> dict[str, Any]:
    # A decision keeps its own raw reply; a probe is ours; others keep theirs, for an admin.
    keeps_raw = judgement.status not in (ReplyStatus.DECIDED, ReplyStatus.PROBE)
    return {
        "preview": storable(reply.new_text, 500) if reply.new_text else None,
        "raw": zlib.compress(raw, 6) if keeps_raw and len(raw) <= RAW_KEPT_BYTES else None,
        "message_key": judgement.key,
        "seen_at": now,
        "sender": storable(reply.sender, 320),
        "subject": storable(reply.subject, 500),
        "status": judgement.status.value,
        "reason": storable(judgement.reason, 2000),
        "request_id": judgement.request_id,
        "disposition": str(judgement.disposition),
    }
