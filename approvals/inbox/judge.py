"""The rules for one reply: which notification it answers, whether its sender may speak
for it, and what it decides. Pure: a parsed reply and a :class:`BatchView` in, a
:class:`Judgement` out; nothing is read or written here.

The order of the checks is part of the rules: a reply that cannot be tied to one
notification is refused before its sender is looked at, and only a reply from the
approver the notification was sent to may get an answer back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from approvals.disposition import Disposition
from approvals.errors import ExpiredToken, InvalidToken
from approvals.inbox.view import BatchView, KnownNotification, SeenMessage
from approvals.models import NotificationStatus, ReplyStatus, RequestStatus
from approvals.policy import status_after
from approvals.replies import ParsedReply, ReplyKind, dmarc_passed
from approvals.settings import EngineSettings
from approvals.tokens import decode_token, verify_token


@dataclass(frozen=True)
class Decided:
    """A decision to record: ``closes`` is the final status it gives its request, if any."""

    notification: KnownNotification
    verdict: str  # "approve" | "reject"
    comment: str
    closes: RequestStatus | None


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
    answer_to: KnownNotification | None = None  # queue "could not be recorded: <reason>"
    bounced: KnownNotification | None = None  # mark it undeliverable
    replay: bool = False  # recorded before: nothing is written again


class _Refusal(Exception):
    """The message cannot be used. ``notification`` is set when the reply was tied to
    the approver it was sent to: only then may the engine answer the sender."""

    def __init__(
        self,
        reason: str,
        request_id: str | None = None,
        notification: KnownNotification | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.request_id = request_id
        self.notification = notification


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
    if reply.kind is ReplyKind.AUTO_REPLY:
        reason = "auto-reply: " + "; ".join(reply.reasons)
        return Judgement(key, ReplyStatus.IGNORED, reason, inbound.processed)
    if reply.kind is ReplyKind.BOUNCE:
        return _bounce(reply, key, view, settings, now)
    try:
        return _decision(reply, key, view, settings, now)
    except _Refusal as refusal:
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


def _decision(
    reply: ParsedReply, key: str, view: BatchView, settings: EngineSettings, now: datetime
) -> Judgement:
    notification = _notification_for(reply, view, settings, now)
    request_id = notification.request_id
    status = view.request_status[request_id]
    if status != RequestStatus.PENDING:
        raise _Refusal(f"request is already {status}", request_id, notification)
    verdicts = view.verdicts[request_id]
    if notification.approver in verdicts:
        raise _Refusal(
            f"{notification.approver} already decided ({verdicts[notification.approver]}); "
            "kept for review",
            request_id,
            notification,
        )
    if reply.verdict is None:
        why = "; ".join(reply.reasons) or "the new text has no approve or reject"
        raise _Refusal(f"no clear verdict ({why})", request_id, notification)
    verdict = reply.verdict.value
    after = status_after(
        settings.policy.mode,
        view.approvers[request_id],
        {**verdicts, notification.approver: verdict},
    )
    return Judgement(
        key,
        ReplyStatus.DECIDED,
        f"{verdict} by {notification.approver}",
        settings.inbound.processed,
        request_id=request_id,
        decided=Decided(notification, verdict, reply.comment, after if after.is_final else None),
        receipt=settings.replies.send_receipts,
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
        return Judgement(
            key, ReplyStatus.IGNORED, reason, settings.inbound.processed, bounced=bounced
        )

    try:
        notification, _ = _identify(None, reply.bounced_message_ids, view, settings, now)
    except _Refusal:
        try:
            notification, _ = _identify(reply.token, (), view, settings, now)
        except _Refusal:
            return ignored("bounce: original notification not identified")
    if notification.status != NotificationStatus.SENT:
        return ignored(f"bounce: notification {notification.id} is {notification.status}, left so")
    return ignored(
        f"bounce: notification {notification.id} to {notification.approver} undeliverable",
        bounced=notification,
    )


def _identify(
    token: str | None,
    references: tuple[str, ...] | list[str],
    view: BatchView,
    settings: EngineSettings,
    now: datetime,
) -> tuple[KnownNotification, ExpiredToken | None]:
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
        notification = view.notifications.get(claims.notification_id)
        if notification is None:
            raise _Refusal("bad token: it names no notification of this engine")
        try:
            verify_token(
                settings.tokens.secret.get_secret_value(),
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
    found = next((view.by_message_id[r] for r in references if r in view.by_message_id), None)
    if found is None:
        raise _Refusal("no approval token and no reference to a notification")
    return found, None


def _notification_for(
    reply: ParsedReply, view: BatchView, settings: EngineSettings, now: datetime
) -> KnownNotification:
    """Find the notification this reply answers, and check the reply may speak for it."""
    if len(reply.tokens) > 1:
        first, second = reply.tokens[0], reply.tokens[1]
        raise _Refusal(
            f"ambiguous: {first.place} carries the token of notification "
            f"{_notification_number(first.token)} and {second.place} the token of "
            f"notification {_notification_number(second.token)}; refused, not guessed"
        )
    notification, expired = _identify(reply.token, reply.references, view, settings, now)
    _check_references(reply, view, notification)
    if reply.sender != notification.approver:
        raise _Refusal(
            f"wrong sender: {reply.sender or 'no From address'} is not "
            f"{notification.approver}, the approver this notification was sent to",
            notification.request_id,
        )
    replies = settings.replies
    if reply.on_behalf_of is not None and not replies.allow_on_behalf:
        # DMARC vouches for the domain, not the person: a colleague's Sender header
        # beside the approver's From passes DMARC all the same.
        raise _Refusal(
            f"sent on behalf: the Sender header names {reply.on_behalf_of}, not "
            f"{notification.approver} (set [replies] allow_on_behalf = true to accept)",
            notification.request_id,
        )
    if replies.require_dmarc_pass and not dmarc_passed(reply, replies.trusted_authserv_ids):
        raise _Refusal(
            "sender not authenticated: no DMARC pass from a trusted server "
            f"({', '.join(replies.trusted_authserv_ids)})",
            notification.request_id,
        )
    if expired is not None:
        raise _Refusal(f"expired token: {expired}", notification.request_id, notification)
    return notification


def _notification_number(token: str) -> str:
    """The notification id a token claims, for a reason a person reads (never the token)."""
    try:
        return str(decode_token(token).notification_id)
    except InvalidToken:
        return "(malformed)"


def _check_references(reply: ParsedReply, view: BatchView, notification: KnownNotification) -> None:
    """In-Reply-To and References must not point at another approver's or request's mail.

    An answer or receipt we sent belongs to the same request and approver as the
    notification it answers, so a reply to one of those agrees.
    """
    for reference in reply.references:
        other = view.by_message_id.get(reference)
        if other is None:
            continue
        if (other.request_id, other.approver) != (notification.request_id, notification.approver):
            named_by = "the token" if reply.token is not None else "In-Reply-To/References"
            raise _Refusal(
                f"ambiguous: {named_by} names notification {notification.id} (request "
                f"{notification.request_id}, {notification.approver}) but In-Reply-To/"
                f"References also name notification {other.id} (request {other.request_id}, "
                f"{other.approver}); refused, not guessed",
                notification.request_id,
            )
