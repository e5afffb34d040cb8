"""Which notification a reply answers, and whether its sender may speak for it. Pure.

The token is signed, and a Message-ID is 96 random bits that only the
notification's recipient saw: either proves the message answers one of ours.
Identifiers that disagree (two tokens, references to another approver's mail)
are refused, never guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from approvals.errors import ExpiredToken, InvalidToken
from approvals.inbox.preload import MAX_REFERENCES
from approvals.inbox.view import BatchView, KnownNotification
from approvals.replies import ParsedReply, dmarc_passed
from approvals.settings import EngineSettings
from approvals.tokens import TokenClaims, decode_token, verify_token


class Refusal(Exception):
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


def identify(
    token: str | TokenClaims | None,
    references: Sequence[str],
    view: BatchView,
    settings: EngineSettings,
    now: datetime,
) -> tuple[KnownNotification, ExpiredToken | None]:
    """The notification a verified token, else a Message-ID reference, names.

    Both prove the message answers one of ours: the token is signed, and a
    Message-ID is 96 random bits that only the notification's recipient saw.
    An expired token still identifies its notification; the expiry is returned.
    ``token``: as written, or unpacked already (``ParsedReply.token_claims``).
    """
    if token is not None:
        try:
            claims = decode_token(token) if isinstance(token, str) else token
        except InvalidToken as exc:
            raise Refusal(f"bad token: {exc}") from None
        notification = view.notifications.get(claims.notification_id)
        if notification is None:
            raise Refusal("bad token: it names no notification of this engine")
        try:
            verify_token(
                settings.tokens.secret.get_secret_value(),
                claims,
                notification.request_id,
                notification.approver,
                now,
            )
        except InvalidToken as exc:
            raise Refusal(f"forged token: {exc}", notification.request_id) from None
        except ExpiredToken as exc:
            return notification, exc
        return notification, None
    found = next((view.by_message_id[r] for r in references if r in view.by_message_id), None)
    if found is None:
        raise Refusal("no approval token and no reference to a notification")
    return found, None


def notification_for(
    reply: ParsedReply, view: BatchView, settings: EngineSettings, now: datetime
) -> KnownNotification:
    """Find the notification this reply answers, and check the reply may speak for it."""
    if len(reply.references) > MAX_REFERENCES:
        raise Refusal(
            f"In-Reply-To/References name {len(reply.references)} messages, more than the "
            f"{MAX_REFERENCES} a reply carries; refused, not searched"
        )
    if len(reply.tokens) > 1:
        first, second = reply.tokens[0], reply.tokens[1]
        raise Refusal(
            f"ambiguous: {first.place} carries the token of notification "
            f"{_notification_number(first.token)} and {second.place} the token of "
            f"notification {_notification_number(second.token)}; refused, not guessed"
        )
    # The claims unpacked once per message; a malformed token is refused with its reason.
    token = reply.token_claims or reply.token
    named, expired = identify(token, reply.references, view, settings, now)
    _check_references(reply, view, named)
    notification = view.asking(named)  # a reminder, answer or notice: the seat's approval
    if notification is None:
        raise Refusal(
            f"In-Reply-To/References name mail {named.id}, which asks no one to decide",
            named.request_id,
        )
    if reply.sender != notification.approver:
        raise Refusal(
            f"wrong sender: {reply.sender or 'no From address'} is not "
            f"{notification.approver}, the approver this notification was sent to",
            notification.request_id,
        )
    replies = settings.replies
    if reply.on_behalf_of is not None and not replies.allow_on_behalf:
        # DMARC vouches for the domain, not the person: a colleague's Sender header
        # beside the approver's From passes DMARC all the same.
        raise Refusal(
            f"sent on behalf: the Sender header names {reply.on_behalf_of}, not "
            f"{notification.approver} (set [replies] allow_on_behalf = true to accept)",
            notification.request_id,
        )
    if replies.require_dmarc_pass and not dmarc_passed(reply, replies.trusted_authserv_ids):
        raise Refusal(
            "sender not authenticated: no DMARC pass from a trusted server "
            f"({', '.join(replies.trusted_authserv_ids)})",
            notification.request_id,
        )
    if expired is not None:
        raise Refusal(f"expired token: {expired}", notification.request_id, notification)
    return notification


def authenticated_by(reply: ParsedReply, settings: EngineSettings) -> str:
    """How the sender of an accepted reply was trusted, for the decision's evidence."""
    how = "address match"
    trusted = settings.replies.trusted_authserv_ids
    if trusted and dmarc_passed(reply, trusted):
        how += f", DMARC pass ({', '.join(trusted)})"
    if reply.on_behalf_of is not None:
        how += f", sent by {reply.on_behalf_of} on behalf (allowed)"
    return how


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
            raise Refusal(
                f"ambiguous: {named_by} names notification {notification.id} (request "
                f"{notification.request_id}, {notification.approver}) but In-Reply-To/"
                f"References also name notification {other.id} (request {other.request_id}, "
                f"{other.approver}); refused, not guessed",
                notification.request_id,
            )
