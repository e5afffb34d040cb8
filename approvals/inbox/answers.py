"""Short emails back to approvers: why a reply could not be used, and receipts. Pure.

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
from datetime import datetime
from email.parser import BytesParser
from typing import Any

from approvals.inbox.view import KnownNotification
from approvals.models import NotificationKind, NotificationStatus
from approvals.notifications import new_message_id, sender_domain
from approvals.replies import ParsedReply
from approvals.settings import EngineSettings
from mailio.compose import RenderedParts, build_message

_parser = BytesParser(policy=email.policy.default)

HOW_TO_REPLY = (
    "To decide, reply to the approval request with APPROVE or REJECT on the first line,\n"
    "above the quoted text. Anything after that word is kept as your comment."
)


def answer_text(reason: str) -> str:
    return f"Your reply could not be recorded:\n\n    {reason}\n\n{HOW_TO_REPLY}\n"


def receipt_text(approver: str, verdict: str, comment: str) -> str:
    past = {"approve": "approved", "reject": "rejected"}[verdict]
    text = f"Recorded: {past} by {approver}.\n"
    if comment:
        text += f"Your comment: {comment}\n"
    return text


def compose(
    settings: EngineSettings,
    notification: KnownNotification,
    reply: ParsedReply,
    kind: NotificationKind,
    text: str,
    now: datetime,
) -> dict[str, Any]:
    """The outbox row of an answer or receipt to ``reply``, threaded under it."""
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
    return {
        "request_id": notification.request_id,
        "kind": kind.value,
        "approver": notification.approver,
        "approver_name": "",
        "message_id": message_id,
        "mime": message.as_bytes(),
        "status": NotificationStatus.QUEUED.value,
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
    }
