"""One approver's notification: the token in its three places, rendered to MIME.

The token goes in the Reply-To sub-address (``approvals+apr-…@example.com``,
when a reply_to address is configured and sub-addressing is on), in the
subject as ``[APR-…]`` and in the body's watermark line ``Approval reference:
APR-…``. The Message-ID is returned so that a reply's In-Reply-To/References
identify the notification even when a client drops all three.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.utils import formataddr, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import quote

from approvals.settings import OutboundSettings
from mailio.compose import Attachment, build_message, render_parts
from mailio.errors import ConfigError


def reference_of(token: str) -> str:
    """The subject/watermark form of a token: ``APR-`` and upper case."""
    return token.upper()


def reply_address(outbound: OutboundSettings, token: str) -> str:
    """Where replies go: ``local+token@domain`` when sub-addressing is on, else the plain one."""
    base = parseaddr(outbound.reply_to or outbound.from_address)[1]
    if not outbound.subaddress_reply_to or not outbound.reply_to:
        return base
    local, at, domain = base.partition("@")
    if not at:
        raise ConfigError(f'[outbound] reply_to: "{base}" is not an email address')
    return f"{local}+{token}@{domain}"


def new_message_id(domain: str) -> str:
    return f"apr.{secrets.token_hex(12)}@{domain}"


def sender_domain(outbound: OutboundSettings) -> str:
    address = parseaddr(outbound.from_address)[1]
    return address.partition("@")[2] or "localhost"


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
) -> bytes:
    """The notification's MIME bytes, ready for the outbox."""
    reference = reference_of(token)
    reply_to = reply_address(outbound, token)

    def mailto(verdict: str) -> str:
        # The title too, so the approver's sent mail says what was decided; the reader
        # takes the verdict from before the tag (approvals.replies.verdicts).
        subject = quote(f"{verdict} [{reference}] {' '.join(title.split())[:80]}".rstrip())
        return f"mailto:{reply_to}?subject={subject}&body={verdict}"

    context = {
        "request_id": request_id,
        "title": title,
        "details": dict(details),
        "approver": approver,
        "approver_name": approver_name,
        "reference": reference,
        "reply_address": reply_to,
        "approve_mailto": mailto("APPROVE"),
        "reject_mailto": mailto("REJECT"),
        "expires_at": expires_at,
    }
    parts = render_parts(templates_dir, theme, context, plain_text_only=outbound.plain_text_only)
    to = formataddr((approver_name, approver)) if approver_name else approver
    message = build_message(
        parts=parts,
        sender=outbound.from_address,
        to=to,
        message_id=message_id,
        reply_to=reply_to,
        charset=outbound.charset,
        # Ask Exchange not to send us its out-of-office answers; others still may.
        headers={"X-Auto-Response-Suppress": "OOF, AutoReply", "Auto-Submitted": "auto-generated"},
        attachments=attachments,
    )
    return message.as_bytes()
