"""Short emails back to approvers: why a reply could not be used, and receipts.

They go through the same outbox as the notifications (retries, delivery log).
An answer goes only to the approver a notification was sent to, at most once
per approver per request per ``answer_interval_minutes``; never to an
auto-reply or a bounce (those are not refused, only ignored). Answers carry
``Auto-Submitted: auto-replied`` (RFC 3834) so that auto-responders stay quiet,
and the same Reply-To as the notification, so the approver can answer the
answer with a verdict.
"""

from __future__ import annotations

import email.policy
from datetime import datetime, timedelta
from email.parser import BytesParser

from sqlmodel import Session, col, select

from approvals.models import NotificationKind, NotificationRow, NotificationStatus
from approvals.notifications import new_message_id, sender_domain
from approvals.replies import ParsedReply
from approvals.settings import EngineSettings
from mailio.compose import RenderedParts, build_message

_parser = BytesParser(policy=email.policy.default)

HOW_TO_REPLY = (
    "To decide, reply to the approval request with APPROVE or REJECT on the first line,\n"
    "above the quoted text. Anything after that word is kept as your comment."
)


def queue_answer(
    session: Session,
    settings: EngineSettings,
    notification: NotificationRow,
    reply: ParsedReply,
    reason: str,
    now: datetime,
) -> bool:
    """Queue "your reply could not be used because …"; False when rate-limited or off."""
    replies = settings.replies
    if not replies.answer_unactionable:
        return False
    since = now - timedelta(minutes=replies.answer_interval_minutes)
    recent = session.exec(
        select(NotificationRow.id).where(
            NotificationRow.kind == NotificationKind.ANSWER,
            NotificationRow.approver == notification.approver,
            NotificationRow.request_id == notification.request_id,
            col(NotificationRow.created_at) > since,
        )
    ).first()
    if recent is not None:
        return False
    text = f"Your reply could not be recorded:\n\n    {reason}\n\n{HOW_TO_REPLY}\n"
    _queue(session, settings, notification, reply, NotificationKind.ANSWER, text, now)
    return True


def queue_receipt(
    session: Session,
    settings: EngineSettings,
    notification: NotificationRow,
    reply: ParsedReply,
    verdict: str,
    comment: str,
    now: datetime,
) -> None:
    """Queue "Recorded: approved by …" when ``[replies] send_receipts`` is on."""
    if not settings.replies.send_receipts:
        return
    past = {"approve": "approved", "reject": "rejected"}[verdict]
    text = f"Recorded: {past} by {notification.approver}.\n"
    if comment:
        text += f"Your comment: {comment}\n"
    _queue(session, settings, notification, reply, NotificationKind.RECEIPT, text, now)


def _queue(
    session: Session,
    settings: EngineSettings,
    notification: NotificationRow,
    reply: ParsedReply,
    kind: NotificationKind,
    text: str,
    now: datetime,
) -> None:
    original = _parser.parsebytes(notification.mime)
    message_id = new_message_id(sender_domain(settings.outbound))
    subject = reply.subject or str(original["Subject"] or "")
    headers = {"Auto-Submitted": "auto-replied"}
    if reply.message_id:
        headers["In-Reply-To"] = f"<{reply.message_id}>"
        headers["References"] = f"<{notification.message_id}> <{reply.message_id}>"
    message = build_message(
        parts=RenderedParts(
            subject=subject if subject.lower().startswith("re:") else f"Re: {subject}",
            text=text,
            html=None,
        ),
        sender=settings.outbound.from_address,
        to=notification.approver,
        message_id=message_id,
        reply_to=str(original["Reply-To"]) if original["Reply-To"] else None,
        charset=settings.outbound.charset,
        headers=headers,
    )
    session.add(
        NotificationRow(
            request_id=notification.request_id,
            kind=kind,
            approver=notification.approver,
            message_id=message_id,
            mime=message.as_bytes(),
            status=NotificationStatus.QUEUED,
            created_at=now,
            next_attempt_at=now,
        )
    )
