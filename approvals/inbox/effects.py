"""Write what a judgement does, on the recorder's connection: its savepoint's, or the
batch's held writes (:mod:`.held`).

A decision (with its evidence), the request closed or moved to its next stage,
a seat handed on, an approver noted away, a bounce: each with its history event
and the mails it causes (receipt, answer, next stage's notifications, closed
notices), so that all of it commits, or none of it, with the message's record.
"""

from __future__ import annotations

import zlib
from dataclasses import replace
from datetime import datetime

from sqlalchemy import bindparam, update
from sqlalchemy.engine import Connection

from approvals.inbox import answers
from approvals.inbox.judge import Decided, Judgement
from approvals.inbox.view import BatchView, KnownNotification
from approvals.models import (
    DecisionRow,
    EventKind,
    NotificationKind,
    NotificationRow,
    NotificationStatus,
    RequestRow,
    RequestStatus,
)
from approvals.replies import ParsedReply
from approvals.settings import EngineSettings
from approvals.workflow.asking import Seat, ask, notify_closed
from approvals.workflow.delegation import hand_over
from approvals.workflow.history import record_event

_INSERT_DECISION = DecisionRow.__table__.insert()  # type: ignore[attr-defined]
_NOTIFICATIONS = NotificationRow.__table__  # type: ignore[attr-defined]
_INSERT_NOTIFICATION = _NOTIFICATIONS.insert()
_REQUESTS = RequestRow.__table__  # type: ignore[attr-defined]
_CLOSE_REQUESTS = (  # a list of ids: a batch's closes at one time and status merge (held.py)
    update(_REQUESTS)
    .where(_REQUESTS.c.id.in_(bindparam("b_ids", expanding=True)))
    .values(status=bindparam("b_status"), closed_at=bindparam("b_closed"))
)
_NEXT_STAGE = (
    update(_REQUESTS)
    .where(_REQUESTS.c.id == bindparam("b_id"))
    .values(current_stage=bindparam("b_stage"))
)
_MARK_UNDELIVERABLE = (
    update(_NOTIFICATIONS)
    .where(_NOTIFICATIONS.c.id == bindparam("b_id"))
    .values(status=NotificationStatus.UNDELIVERABLE.value, last_error=bindparam("b_error"))
)


def write_effects(
    connection: Connection,
    settings: EngineSettings,
    view: BatchView,
    judgement: Judgement,
    reply: ParsedReply,
    raw: bytes,
    now: datetime,
) -> None:
    if judgement.decided is not None:
        _decide(connection, settings, view, judgement, reply, raw, now)
    if judgement.answer_to is not None:
        _queue_reply_mail(
            connection,
            settings,
            view,
            judgement.answer_to,
            reply,
            NotificationKind.ANSWER,
            answers.answer_text(judgement.reason),
            now,
        )
    if judgement.handover is not None:
        handover = judgement.handover
        request = view.requests[handover.notification.request_id].facts
        hand_over(
            connection, settings, request, handover.notification, handover.to, handover.via, now
        )
    if judgement.away is not None:
        notification, until = judgement.away
        record_event(
            connection,
            notification.request_id,
            EventKind.AWAY,
            now,
            actor=notification.approver,
            detail=f"out of office until {until:%Y-%m-%d}" if until else "out of office",
        )
    if judgement.bounced is not None:
        error = "bounced: " + "; ".join(reply.reasons)[:500]
        connection.execute(_MARK_UNDELIVERABLE, {"b_id": judgement.bounced.id, "b_error": error})
        record_event(
            connection,
            judgement.bounced.request_id,
            EventKind.BOUNCED,
            now,
            actor=judgement.bounced.approver,
            detail=error,
        )


def _decide(
    connection: Connection,
    settings: EngineSettings,
    view: BatchView,
    judgement: Judgement,
    reply: ParsedReply,
    raw: bytes,
    now: datetime,
) -> None:
    decided = judgement.decided
    assert decided is not None
    notification = decided.notification
    connection.execute(
        _INSERT_DECISION,
        {
            "request_id": notification.request_id,
            "stage": notification.stage,
            "seat": notification.seat,
            "approver": notification.approver,
            "verdict": decided.verdict,
            "comment": storable(decided.comment, 10000),
            "decided_at": now,
            "message_id": judgement.key,
            "evidence_line": storable(decided.evidence_line, 500),
            "authenticated_by": decided.authenticated_by,
            "raw_reply": zlib.compress(raw, 6),
        },
    )
    record_event(
        connection,
        notification.request_id,
        EventKind.DECISION,
        now,
        actor=notification.approver,
        detail=judgement.reason,
    )
    if judgement.receipt:
        text = answers.receipt_text(notification.approver, decided.verdict, decided.comment)
        _queue_reply_mail(
            connection, settings, view, notification, reply, NotificationKind.RECEIPT, text, now
        )
    if decided.closes is not None:
        close_request(connection, settings, view, notification, decided.closes, now)
    elif decided.advances:
        _next_stage(connection, settings, view, decided, now)


def close_request(
    connection: Connection,
    settings: EngineSettings,
    view: BatchView,
    decider: KnownNotification,
    status: RequestStatus,
    now: datetime,
) -> None:
    """Final status; the seats still waiting are told that nothing is needed from them."""
    request_id = decider.request_id
    connection.execute(
        _CLOSE_REQUESTS, {"b_ids": [request_id], "b_status": status.value, "b_closed": now}
    )
    record_event(connection, request_id, EventKind.CLOSED, now, actor="engine", detail=status)
    waiting = [n for n in view.undecided(request_id, decider.stage) if n.seat != decider.seat]
    notify_closed(connection, settings, view.requests[request_id].facts, status.value, waiting, now)


def _next_stage(
    connection: Connection,
    settings: EngineSettings,
    view: BatchView,
    decided: Decided,
    now: datetime,
) -> None:
    notification = decided.notification
    request_id = notification.request_id
    request = view.requests[request_id]
    stage = notification.stage + 1
    connection.execute(_NEXT_STAGE, {"b_id": request_id, "b_stage": stage})
    waiting = [
        n for n in view.undecided(request_id, notification.stage) if n.seat != notification.seat
    ]
    notify_closed(connection, settings, request.facts, "approved", waiting, now)
    for address, name in request.plans[stage].people:
        ask(connection, settings, request.facts, Seat(address, name, stage, address), now)


def _queue_reply_mail(
    connection: Connection,
    settings: EngineSettings,
    view: BatchView,
    notification: KnownNotification,
    reply: ParsedReply,
    kind: NotificationKind,
    text: answers.NoticeText,
    now: datetime,
) -> None:
    """An answer or receipt, tied to the seat it is about (a reply to it identifies it)."""
    facts = view.requests[notification.request_id].facts
    values = answers.compose(
        settings, notification, reply, kind, text, now, language=facts.language, theme=facts.theme
    )
    values.update(stage=notification.stage, seat=notification.seat, via=notification.via)
    connection.execute(_INSERT_NOTIFICATION, values)


def advance_view(view: BatchView, judgement: Judgement, now: datetime) -> None:
    """Later messages of the batch see what this one did."""
    decided = judgement.decided
    if decided is not None:
        notification = decided.notification
        request_id = notification.request_id
        view.stage_verdicts(request_id, notification.stage)[notification.seat] = decided.verdict
        request = view.requests[request_id]
        if decided.closes is not None:
            view.requests[request_id] = replace(request, status=decided.closes)
        elif decided.advances:
            view.requests[request_id] = replace(request, current_stage=notification.stage + 1)
    if judgement.answer_to is not None:
        view.answered(judgement.answer_to.request_id, judgement.answer_to.approver, now)
    if judgement.bounced is not None:
        view.set_notification(judgement.bounced, status=NotificationStatus.UNDELIVERABLE.value)
    if judgement.handover is not None:
        view.set_notification(judgement.handover.notification, delegated_to=judgement.handover.to)


def storable(text: str | None, limit: int) -> str | None:
    """Text any database stores: PostgreSQL refuses NUL characters in text columns."""
    return None if text is None else text.replace("\x00", "\ufffd")[:limit]
