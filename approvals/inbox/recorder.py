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
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, select

from approvals.disposition import KEEP, Disposition
from approvals.inbox.effects import advance_view, storable, write_effects
from approvals.inbox.judge import Judgement, judge, replayed
from approvals.inbox.preload import load_view, message_key, seen_message
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
        view = load_view(
            session, replies, keys, now, settings.policy.mode, settings.inbound.refused
        )
        for index, (reply, key) in enumerate(zip(replies, keys, strict=True)):
            judgement = _judge_and_record(
                session, view, settings, reply, raws[index], key, now, unread.get(index)
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
    raw: bytes,
    key: str,
    now: datetime,
    unread_size: int | None,
) -> Judgement:
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
    winner = session.exec(select(InboxRecordRow).where(InboxRecordRow.message_key == key)).first()
    if winner is not None:
        return replayed(key, seen_message(winner, refused))
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
