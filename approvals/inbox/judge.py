"""The rules for one reply: what it decides, delegates or changes. Pure: a parsed reply
and a :class:`BatchView` in, a :class:`Judgement` out; nothing is read or written here.

The order of the checks is part of the rules: a reply that cannot be tied to one
seat's notification is refused before its sender is looked at
(:mod:`.identify`), and only a reply from the approver the notification was
sent to may get an answer back. Replies that come too late (the request closed,
the seat handed on) change nothing and are answered politely, not kept as
failures.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from email.utils import parseaddr

from approvals.canary import verify as verify_probe
from approvals.disposition import DELETE, Disposition
from approvals.inbox.identify import Refusal, authenticated_by, identify, notification_for
from approvals.inbox.view import BatchView, KnownNotification, SeenMessage
from approvals.models import ESCALATION_SEAT, NotificationStatus, ReplyStatus, RequestStatus, Via
from approvals.replies import ParsedReply, ReplyKind
from approvals.settings import EngineSettings
from approvals.workflow.stages import stage_status


@dataclass(frozen=True)
class Decided:
    """A decision to record for ``notification``'s seat, and what it does to the request:
    ``closes`` it with a final status, or ``advances`` it to the next stage."""

    notification: KnownNotification
    verdict: str  # "approve" | "reject"
    comment: str
    closes: RequestStatus | None
    advances: bool = False
    evidence_line: str | None = None
    authenticated_by: str = ""


@dataclass(frozen=True)
class Handover:
    """``notification``'s seat goes to ``to``: by a reply, or by an absence rule."""

    notification: KnownNotification
    to: str
    via: Via


@dataclass(frozen=True)
class Judgement:
    """What one message means and what to write and do because of it."""

    key: str
    status: ReplyStatus
    reason: str
    disposition: Disposition
    request_id: str | None = None
    decided: Decided | None = None
    receipt: bool = False  # queue "Recorded: …" (with ``decided``)
    answer_to: KnownNotification | None = None  # queue an answer giving ``reason``
    bounced: KnownNotification | None = None  # mark it undeliverable
    handover: Handover | None = None
    away: tuple[KnownNotification, date | None] | None = None  # an approver's out-of-office
    replay: bool = False  # recorded before: nothing is written again


def judge(
    reply: ParsedReply,
    key: str,
    view: BatchView,
    settings: EngineSettings,
    now: datetime,
    *,
    unread_size: int | None = None,
) -> Judgement:
    """Judge one message. ``unread_size``: its body was not fetched (over the size limit).

    A message not read is never deleted: it goes to the failure folder, whatever an
    earlier record of its Message-ID says.
    """
    inbound = settings.inbound
    if key in view.seen:
        judgement = replayed(key, view.seen[key])
        if unread_size is None:
            return judgement
        return replace(judgement, disposition=inbound.refused)
    if unread_size is not None:
        return Judgement(
            key,
            ReplyStatus.FAILED,
            f"message is {unread_size:,} bytes, over [inbound] max_message_bytes "
            f"({inbound.max_message_bytes:,}): kept unread in the failure folder",
            inbound.refused,
        )
    sent_at = verify_probe(settings, reply.canary)
    if sent_at is not None and reply.sender == _address(settings.outbound.from_address):
        took = (now - sent_at).total_seconds()
        reason = f"canary sent {sent_at:%Y-%m-%d %H:%M:%S} UTC, read back after {took:.0f} s"
        return Judgement(key, ReplyStatus.PROBE, reason, DELETE)
    if reply.kind is ReplyKind.AUTO_REPLY:
        return _auto_reply(reply, key, view, settings, now)
    if reply.kind is ReplyKind.BOUNCE:
        return _bounce(reply, key, view, settings, now)
    try:
        return _reply(reply, key, view, settings, now)
    except Refusal as refusal:
        return Judgement(
            key,
            ReplyStatus.FAILED,
            refusal.reason,
            inbound.refused,
            request_id=refusal.request_id,
            answer_to=_answerable(refusal.notification, view, settings, now),
        )


def replayed(key: str, earlier: SeenMessage) -> Judgement:
    """A message recorded before: nothing is applied again; its mail goes where it went."""
    return Judgement(
        key,
        ReplyStatus.IGNORED,
        f"already handled on {earlier.seen_at:%Y-%m-%d %H:%M} UTC "
        f"({earlier.status}: {earlier.reason})",
        earlier.disposition,
        request_id=earlier.request_id,
        replay=True,
    )


def _reply(
    reply: ParsedReply, key: str, view: BatchView, settings: EngineSettings, now: datetime
) -> Judgement:
    notification = notification_for(reply, view, settings, now)
    request_id = notification.request_id
    request = view.requests[request_id]

    def too_late(reason: str) -> Judgement:  # nothing to keep: answered, then processed
        return Judgement(
            key,
            ReplyStatus.IGNORED,
            reason,
            settings.inbound.processed,
            request_id=request_id,
            answer_to=_answerable(notification, view, settings, now),
        )

    if request.status != RequestStatus.PENDING:
        return too_late(f"request is already {request.status}; this reply changes nothing")
    if notification.delegated_to is not None:
        return too_late(
            f"{notification.approver} delegated this to {notification.delegated_to}; "
            "this reply changes nothing"
        )
    if notification.stage != request.current_stage:
        raise Refusal(
            f"this notification asks stage {notification.stage + 1}, but the request is at "
            f"stage {request.current_stage + 1}; refused",
            request_id,
            notification,
        )
    verdicts = view.stage_verdicts(request_id, notification.stage)
    if notification.seat in verdicts:
        raise Refusal(
            f"{_seat_name(notification)} already decided ({verdicts[notification.seat]}); "
            "kept for review",
            request_id,
            notification,
        )
    if reply.delegate_to is not None:
        return _delegation(reply.delegate_to, notification, key, settings)
    if reply.verdict is None:
        why = "; ".join(reply.reasons) or "the new text has no approve or reject"
        raise Refusal(f"no clear verdict ({why})", request_id, notification)
    verdict = reply.verdict.value
    plan = request.plans[notification.stage]
    after = stage_status(plan, {**verdicts, notification.seat: verdict})
    last_stage = notification.stage == len(request.plans) - 1
    advances = after is RequestStatus.APPROVED and not last_stage
    closes = None if advances or after is RequestStatus.PENDING else after
    reason = f"{verdict} by {notification.approver}"
    if notification.on_behalf_of is not None:
        reason += f" for {notification.on_behalf_of}"
    return Judgement(
        key,
        ReplyStatus.DECIDED,
        reason,
        settings.inbound.processed,
        request_id=request_id,
        decided=Decided(
            notification,
            verdict,
            reply.comment,
            closes,
            advances,
            reply.verdict_line,
            authenticated_by(reply, settings),
        ),
        receipt=settings.replies.send_receipts,
    )


def _delegation(
    target: str, notification: KnownNotification, key: str, settings: EngineSettings
) -> Judgement:
    workflow = settings.workflow
    request_id = notification.request_id
    if not workflow.delegation:
        raise Refusal(
            "delegation by reply is off ([workflow] delegation = false); refused",
            request_id,
            notification,
        )
    domain = target.rpartition("@")[2]
    if domain not in {allowed.lower() for allowed in workflow.delegate_domains}:
        raise Refusal(
            f"delegate {target} is not in [workflow] delegate_domains "
            f"({', '.join(workflow.delegate_domains)}); refused",
            request_id,
            notification,
        )
    if target == notification.approver:
        raise Refusal(f"{target} cannot delegate to themselves", request_id, notification)
    return Judgement(
        key,
        ReplyStatus.DELEGATED,
        f"{notification.approver} delegated {_seat_name(notification)}'s seat to {target}",
        settings.inbound.processed,
        request_id=request_id,
        handover=Handover(notification, target, Via.DELEGATED),
    )


def _auto_reply(
    reply: ParsedReply, key: str, view: BatchView, settings: EngineSettings, now: datetime
) -> Judgement:
    """Never a decision. An out-of-office from a seat still waiting tells the engine the
    approver is away: their absence rule's delegate is asked at once, or it is noted."""
    reason = "auto-reply: " + "; ".join(reply.reasons)
    ignored = Judgement(key, ReplyStatus.IGNORED, reason, settings.inbound.processed)
    try:
        notification = notification_for(reply, view, settings, now)
    except Refusal:
        return ignored
    request_id = notification.request_id
    request = view.requests[request_id]
    waiting = (
        request.status == RequestStatus.PENDING
        and notification.stage == request.current_stage
        and notification.delegated_to is None
        and notification.seat not in view.stage_verdicts(request_id, notification.stage)
    )
    if not waiting:
        return replace(ignored, request_id=request_id)
    delegate = view.absences.get(notification.approver)
    if delegate is not None and delegate != notification.approver:
        return replace(
            ignored,
            reason=f"{reason}; {notification.approver} is away: asked {delegate} (absence rule)",
            request_id=request_id,
            handover=Handover(notification, delegate, Via.AWAY),
        )
    away_until = reply.away_until
    until = f" until {away_until:%Y-%m-%d}" if away_until else ""
    return replace(
        ignored,
        reason=f"{reason}; {notification.approver} is away{until}",
        request_id=request_id,
        away=(notification, reply.away_until),
    )


def _answerable(
    notification: KnownNotification | None,
    view: BatchView,
    settings: EngineSettings,
    now: datetime,
) -> KnownNotification | None:
    """The notification to answer, unless answers are off or one went out recently."""
    replies = settings.replies
    if notification is None or not replies.answer_unactionable:
        return None
    last = view.last_answered.get((notification.request_id, notification.approver))
    if last is not None and last > now - timedelta(minutes=replies.answer_interval_minutes):
        return None
    return notification


def _bounce(
    reply: ParsedReply, key: str, view: BatchView, settings: EngineSettings, now: datetime
) -> Judgement:
    """Mark the bounced notification undeliverable, if the bounce proves which it was."""

    def ignored(reason: str, bounced: KnownNotification | None = None) -> Judgement:
        request_id = bounced.request_id if bounced else None
        return Judgement(
            key,
            ReplyStatus.IGNORED,
            reason,
            settings.inbound.processed,
            request_id=request_id,
            bounced=bounced,
        )

    try:
        notification, _ = identify(None, reply.bounced_message_ids, view, settings, now)
    except Refusal:
        try:
            notification, _ = identify(reply.token_claims or reply.token, (), view, settings, now)
        except Refusal:
            return ignored("bounce: original notification not identified")
    if notification.status != NotificationStatus.SENT:
        return ignored(f"bounce: notification {notification.id} is {notification.status}, left so")
    return ignored(
        f"bounce: notification {notification.id} to {notification.approver} undeliverable",
        bounced=notification,
    )


def _seat_name(notification: KnownNotification) -> str:
    if notification.seat == ESCALATION_SEAT:
        return "the escalation"
    return notification.on_behalf_of or notification.approver


def _address(header_value: str) -> str:
    return parseaddr(header_value)[1].lower()
