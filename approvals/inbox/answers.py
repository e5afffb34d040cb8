"""Short emails back to approvers: why a reply could not be used, and receipts. Pure.

They go through the same outbox as the notifications (retries, delivery log).
An answer goes only to the approver a notification was sent to, at most once
per approver per request per ``answer_interval_minutes``; never to an
auto-reply or a bounce (those are not refused, only ignored). Answers carry
``Auto-Submitted: auto-replied`` (RFC 3834) so that auto-responders stay quiet,
and the same Reply-To as the notification, so the approver can answer the
answer with a verdict. Their words are the theme's ``answer/`` and
``receipt/`` templates, in the request's language (approvals.mails).
"""

from __future__ import annotations

import email.policy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesParser
from typing import Any

from approvals.inbox.view import KnownNotification
from approvals.mails import MailKind, new_message_id, render_notice_mail, sender_domain
from approvals.models import NotificationKind, NotificationStatus
from approvals.replies import ParsedReply
from approvals.settings import EngineSettings

_parser = BytesParser(policy=email.policy.default)


@dataclass(frozen=True)
class NoticeText:
    """What an answer or receipt says, before :func:`compose` renders it in the theme and
    language of the request: the kind of template and its context."""

    kind: MailKind
    context: Mapping[str, Any]


def answer_text(reason: str) -> NoticeText:
    """An answer: the reply could not be recorded, because ``reason``."""
    return NoticeText(MailKind.ANSWER, {"reason": reason})


def receipt_text(approver: str, verdict: str, comment: str) -> NoticeText:
    """A receipt: ``verdict`` ("approve" or "reject") by ``approver`` was recorded."""
    return NoticeText(
        MailKind.RECEIPT, {"approver": approver, "verdict": verdict, "comment": comment}
    )


def compose(
    settings: EngineSettings,
    notification: KnownNotification,
    reply: ParsedReply,
    kind: NotificationKind,
    text: NoticeText,
    now: datetime,
    language: str | None = None,
    theme: str | None = None,
) -> dict[str, Any]:
    """The outbox row of an answer or receipt to ``reply``, threaded under it, in
    ``language`` (None: English) and ``theme`` (None: ``[outbound] theme``)."""
    if text.kind.value != kind.value:
        raise ValueError(f"a {kind.value} row cannot carry a {text.kind.value} text")
    original = _parser.parsebytes(notification.mime)
    message_id = new_message_id(sender_domain(settings.outbound))
    subject = reply.subject or str(original["Subject"] or "")
    thread_subject = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    mime = render_notice_mail(
        text.kind,
        outbound=settings.outbound,
        templates_dir=settings.templates_dir,
        theme=theme or settings.outbound.theme,
        language=language,
        to=notification.approver,
        title="",  # not known here; the thread subject carries the request's
        request_id=notification.request_id,
        message_id=message_id,
        context={**text.context, "thread_subject": thread_subject},
        in_reply_to=reply.message_id,
        references=(notification.message_id, reply.message_id) if reply.message_id else (),
        reply_to=str(original["Reply-To"]) if original["Reply-To"] else None,
        auto_submitted="auto-replied",
    )
    return {
        "request_id": notification.request_id,
        "kind": kind.value,
        "approver": notification.approver,
        "approver_name": "",
        "message_id": message_id,
        "mime": mime,
        "status": NotificationStatus.QUEUED.value,
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
    }
