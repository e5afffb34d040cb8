"""Raw reply bytes in, a :class:`ParsedReply` out. Pure: no I/O, never raises.

The steps live in their own modules: :mod:`approvals.quotes` finds the new
text, :mod:`approvals.verdicts` reads approve/reject from it,
:mod:`approvals.reply_kinds` tells replies from auto-replies and bounces and
parses Authentication-Results, :mod:`approvals.htmltext` renders HTML-only
replies. This module reads the MIME structure and puts the answer together.

Which body: the first text/plain part outside attachments and attached
messages; else the first text/html part. Token search order: the To, Cc,
Delivered-To and X-Original-To addresses (our Reply-To is
approvals+TOKEN@…), the subject, then the whole body including the quote
(the watermark is usually quoted), then every other part and attached
message (a bounce carries our notification there).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32

from approvals import mailparts
from approvals.quotes import extract_new_text
from approvals.reply_kinds import (
    AuthResult,
    ReplyKind,
    bounced_message_ids,
    classify,
    parse_authentication_results,
)
from approvals.tokens import find_tokens
from approvals.verdicts import Verdict, read_verdict

__all__ = [
    "AuthResult",
    "ParsedReply",
    "ReplyKind",
    "Verdict",
    "dmarc_passed",
    "extract_new_text",
    "parse_reply",
]

_TOKEN_HEADERS = ("to", "cc", "delivered-to", "x-original-to")


@dataclass(frozen=True)
class ParsedReply:
    verdict: Verdict | None
    comment: str
    new_text: str
    token: str | None
    kind: ReplyKind
    reasons: tuple[str, ...]
    sender: str | None
    message_id: str | None
    references: tuple[str, ...]
    subject: str
    bounced_message_ids: tuple[str, ...]
    authentication_results: tuple[AuthResult, ...]

    def __repr__(self) -> str:  # the token is a credential: keep it out of logs
        token = "<set>" if self.token else None
        return (
            f"ParsedReply(verdict={self.verdict!r}, kind={self.kind!r}, token={token}, "
            f"sender={self.sender!r}, message_id={self.message_id!r}, reasons={self.reasons!r})"
        )


def parse_reply(raw: bytes) -> ParsedReply:
    """Parse one raw message. Any input gives a result; unreadable input gives no verdict."""
    try:
        return _parse(bytes(raw))
    except Exception as error:  # noqa: BLE001
        # The contract is "never raises": one message the email package chokes on must not
        # stop the poller from processing the rest of the folder. The reason says what happened.
        return ParsedReply(
            verdict=None,
            comment="",
            new_text="",
            token=None,
            kind=ReplyKind.REPLY,
            reasons=(f"message could not be parsed ({type(error).__name__}); no verdict",),
            sender=None,
            message_id=None,
            references=(),
            subject="",
            bounced_message_ids=(),
            authentication_results=(),
        )


def dmarc_passed(reply: ParsedReply, trusted_authserv_ids: Sequence[str]) -> bool:
    """True only if the organisation's own server says DMARC passed for the From domain.

    Only the topmost Authentication-Results header from a trusted authserv-id
    counts: the organisation's server adds its header above what the message
    arrived with, and a sender can write any header it likes below (RFC 8601
    section 5). Its ``header.from`` must be the domain of the From address.
    """
    trusted = {item.strip().lower() for item in trusted_authserv_ids if item.strip()}
    ours = next((r for r in reply.authentication_results if r.authserv_id in trusted), None)
    if ours is None or ours.dmarc != "pass" or reply.sender is None:
        return False
    return ours.dmarc_header_from == reply.sender.rpartition("@")[2]


def _parse(raw: bytes) -> ParsedReply:
    # compat32: the default policy parses headers structurally as the parser reads them,
    # which cost half the parse; mailparts reads raw headers and decodes them itself.
    message = BytesParser(policy=compat32).parsebytes(raw)
    subject = mailparts.collapse(mailparts.header(message, "subject"))
    senders = mailparts.addresses(mailparts.header_values(message, "from"))
    # Exactly one: "alice@corp.com <bob@evil.com>" reads as two addresses, and taking
    # the first would trust the one the mail servers did not check (CVE-2023-27043).
    sender = senders[0] if len(senders) == 1 else None
    message_ids = mailparts.message_ids(mailparts.header_values(message, "message-id")[:1])
    references = mailparts.message_ids(
        mailparts.header_values(message, "in-reply-to")
        + mailparts.header_values(message, "references")
    )
    body, is_html = _body(message)
    kind, kind_reason = classify(message, subject, sender)
    new_text = extract_new_text(body, html=is_html)
    reasons: list[str] = [kind_reason] if kind_reason else []
    if kind is ReplyKind.REPLY:
        reading = read_verdict(new_text, subject)
        verdict = reading.verdict
        comment = _without_sign_off(reading.comment, mailparts.header(message, "from"), sender)
        reasons += reading.reasons
    else:
        verdict, comment = None, ""
        reasons.append(f"no verdict from an {kind.value.replace('_', '-')}")
    return ParsedReply(
        verdict=verdict,
        comment=comment,
        new_text=new_text,
        token=_find_token(message, subject, body),
        kind=kind,
        reasons=tuple(reasons),
        sender=sender,
        message_id=message_ids[0] if message_ids else None,
        references=tuple(references),
        subject=subject,
        bounced_message_ids=(
            bounced_message_ids(message, body) if kind is ReplyKind.BOUNCE else ()
        ),
        authentication_results=parse_authentication_results(
            mailparts.header_values(message, "authentication-results")
        ),
    )


_SIGN_OFF_WORDS = re.compile(r"[^\W\d_]+", re.UNICODE)
_GREETING_WORDS = frozenset(
    [
        "thanks",
        "thank",
        "you",
        "regards",
        "best",
        "cheers",
        "br",
        "kind",
        "greetings",
        "gruss",
        "grusse",
        "lg",
        "mfg",
        "merci",
        "cordialement",
        "saludos",
        "gracias",
        "groeten",
        "bedankt",
        "saluti",
        "grazie",
        "obrigado",
        "obrigada",
        "abracos",
    ]
)


def _without_sign_off(comment: str, from_header: str, sender: str | None) -> str:
    """Drop a last line that only signs the reply ("Alice", "Thanks, Alice", "- A. Smith").

    A line counts as a sign-off when every word in it is a greeting or part of
    the sender's name or address; anything else is the approver's comment.
    """
    lines = comment.rstrip().split("\n")
    if len(lines) < 2 or sender is None:
        return comment
    own = {w.lower() for w in _SIGN_OFF_WORDS.findall(from_header)}
    own |= {w.lower() for w in _SIGN_OFF_WORDS.findall(sender.partition("@")[0])}
    words = [w.lower() for w in _SIGN_OFF_WORDS.findall(lines[-1])]
    names = [w for w in words if w not in _GREETING_WORDS]
    initials = {w[0] for w in own}

    def is_own(word: str) -> bool:
        return word in own or (len(word) == 1 and word in initials)

    if not words or len(words) > 4 or not names or not all(is_own(w) for w in names):
        return comment
    return "\n".join(lines[:-1]).rstrip()


def _body(message: Message) -> tuple[str, bool]:
    """(text, is_html) of the part a person reads; ("", False) when there is none."""
    html: Message | None = None
    for part in mailparts.walk(message, into_messages=False):
        kind = mailparts.content_type(part)
        if part is not message and mailparts.is_attachment(part):
            continue
        if kind == "text/plain":
            return mailparts.part_text(part), False
        if kind == "text/html" and html is None:
            html = part
    if html is not None:
        return mailparts.part_text(html), True
    return "", False


def _find_token(message: Message, subject: str, body: str) -> str | None:
    for name in _TOKEN_HEADERS:
        for value in mailparts.header_values(message, name):
            tokens = find_tokens(value)
            if tokens:
                return tokens[0]
    for text in (subject, body):
        tokens = find_tokens(text)
        if tokens:
            return tokens[0]
    for part in mailparts.walk(message, into_messages=True):
        if mailparts.content_type(part).startswith("message/") and part is not message:
            for attached in mailparts.children(part):
                tokens = find_tokens(" ".join(str(v) for _, v in _raw_items(attached)))
                if tokens:
                    return tokens[0]
        tokens = find_tokens(mailparts.part_text(part))
        if tokens:
            return tokens[0]
    return None


def _raw_items(message: Message) -> list[tuple[str, str]]:
    try:
        return [(str(key), str(value)) for key, value in message.raw_items()]
    except mailparts.DECODE_ERRORS:
        return []
