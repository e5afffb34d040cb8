"""One approver's approval notification, rendered to MIME: the approval kind of
:func:`approvals.mails.render_request_mail`, kept for the callers made before
the other kinds of mail. New code calls approvals.mails, which also describes
the token's three places; the helpers below are its own, named here for the
modules that import them from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from approvals.mails import (
    MailKind,
    new_message_id,
    reference_of,
    render_request_mail,
    reply_address,
    sender_domain,
)
from approvals.settings import OutboundSettings
from mailio.compose import Attachment

__all__ = [
    "new_message_id",
    "reference_of",
    "render_notification",
    "reply_address",
    "sender_domain",
]


def render_notification(
    *,
    outbound: OutboundSettings,
    templates_dir: Path,
    theme: str,
    request_id: str,
    title: str,
    details: Mapping[str, Any],
    approver: str,
    approver_name: str,
    token: str,
    expires_at: datetime,
    message_id: str,
    attachments: Sequence[Attachment] = (),
    language: str | None = None,
) -> bytes:
    """The approval notification's MIME bytes, ready for the outbox."""
    return render_request_mail(
        MailKind.APPROVAL,
        outbound=outbound,
        templates_dir=templates_dir,
        theme=theme,
        language=language,
        request_id=request_id,
        title=title,
        details=details,
        approver=approver,
        approver_name=approver_name,
        token=token,
        expires_at=expires_at,
        message_id=message_id,
        attachments=attachments,
    )
