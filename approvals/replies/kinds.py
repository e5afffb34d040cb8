"""Is a message a person's reply, an auto-reply or a bounce? And what did the MTA authenticate?

Bounces: multipart/report with report-type=delivery-status, any
message/delivery-status part, or a MAILER-DAEMON/postmaster sender. Auto-replies
(RFC 3834 and what real responders send): Auto-Submitted other than "no",
X-Autoreply, X-Autorespond, Precedence bulk/junk/auto_reply/list, or a subject
that starts like an out-of-office notice in our approvers' languages.
X-Auto-Response-Suppress is not a marker: Outlook sets it on ordinary mail.
An empty Return-Path alone means bounce, but only after the auto-reply tests,
because RFC 3834 asks responders to send from the null path too.

Authentication-Results (RFC 8601) are parsed into authserv-id and the
dmarc/spf/dkim results; only the receiving MTA's own header can be trusted,
which is why callers pass the authserv-ids they trust.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import Message
from email.parser import Parser
from email.policy import compat32
from enum import StrEnum

from approvals.replies import mailparts


class ReplyKind(StrEnum):
    REPLY = "reply"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"


@dataclass(frozen=True)
class AuthResult:
    """One Authentication-Results header: who wrote it and what it found."""

    authserv_id: str
    dmarc: str | None
    spf: str | None
    dkim: str | None
    dmarc_header_from: str | None = None  # the From domain the DMARC result is about


_BOUNCE_SENDERS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})
_AUTO_PRECEDENCE = frozenset({"bulk", "junk", "auto_reply", "list"})
_OUT_OF_OFFICE = re.compile(
    r"^(?:(?:re|aw|fw|fwd|wg|tr|sv|antw|rif|r)\s*:\s*)*"
    r"(?:out of (?:the )?office|automatic reply|auto(?:matic)?[- ]?reply|autoreply|"
    r"auto[- ]?response|away from (?:the )?office|on vacation|vacation reply|"
    r"abwesenheitsnotiz|abwesenheit|abwesend|automatische antwort|automatische rückantwort|"
    r"réponse automatique|reponse automatique|absence|absent|"
    r"respuesta automática|respuesta automatica|fuera de (?:la )?oficina|ausente|"
    r"afwezig|automatisch antwoord|afwezigheidsbericht|"
    r"risposta automatica|fuori sede|fuori ufficio|assente|"
    r"resposta automática|resposta automatica|fora do escritório)\b",
    re.IGNORECASE,
)
_DSN_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_ORIGINAL_TYPES = frozenset({"message/rfc822", "message/global"})
_HEADER_TYPES = frozenset({"text/rfc822-headers", "message/global-headers"})
_INLINE_MESSAGE_ID = re.compile(r"^\s*message-id:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)


def classify(message: Message, subject: str, sender: str | None) -> tuple[ReplyKind, str]:
    """The kind of ``message`` and why."""
    top_type = mailparts.content_type(message)
    if top_type == "multipart/report" and mailparts.param(message, "report-type") in (
        "delivery-status",
        "global-delivery-status",
    ):
        return ReplyKind.BOUNCE, "bounce: multipart/report with report-type=delivery-status"
    for part in mailparts.walk(message, into_messages=False):
        if mailparts.content_type(part) in _DSN_TYPES:
            return ReplyKind.BOUNCE, "bounce: it carries a delivery-status part"
    if sender and sender.split("@", 1)[0] in _BOUNCE_SENDERS:
        return ReplyKind.BOUNCE, f"bounce: sent by {sender.split('@', 1)[0]}"
    auto_submitted = mailparts.header(message, "auto-submitted").lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return ReplyKind.AUTO_REPLY, f"auto-reply: Auto-Submitted: {auto_submitted[:40]}"
    for name in ("x-autoreply", "x-autorespond"):
        value = mailparts.header(message, name).lower()
        if mailparts.raw_headers(message, name) and value != "no":
            return ReplyKind.AUTO_REPLY, f"auto-reply: {name} header"
    precedence = mailparts.header(message, "precedence").lower().strip()
    if precedence in _AUTO_PRECEDENCE:
        return ReplyKind.AUTO_REPLY, f"auto-reply: Precedence: {precedence}"
    if _OUT_OF_OFFICE.match(subject.strip()):
        return ReplyKind.AUTO_REPLY, "auto-reply: out-of-office subject"
    return_paths = mailparts.header_values(message, "return-path")
    if return_paths and all(value.strip() in ("<>", "") for value in return_paths):
        return ReplyKind.BOUNCE, "bounce: empty Return-Path"
    return ReplyKind.REPLY, ""


def bounced_message_ids(message: Message, body_text: str) -> tuple[str, ...]:
    """Message-IDs of the original(s) a bounce returns, from wherever the MTA put them."""
    found: list[str] = []
    for part in mailparts.walk(message, into_messages=False):
        kind = mailparts.content_type(part)
        if kind in _ORIGINAL_TYPES:
            for original in mailparts.children(part):
                found += mailparts.message_ids(mailparts.header_values(original, "message-id"))
        elif kind in _HEADER_TYPES:
            try:
                headers = Parser(policy=compat32).parsestr(mailparts.part_text(part), True)
            except mailparts.DECODE_ERRORS:
                continue
            found += mailparts.message_ids(mailparts.header_values(headers, "message-id"))
        elif kind in _DSN_TYPES:
            for block in mailparts.children(part):
                envelope_ids = mailparts.header_values(block, "original-envelope-id")
                found += mailparts.message_ids(envelope_ids)
    found += mailparts.message_ids(mailparts.header_values(message, "in-reply-to"))
    if not found:  # old MTAs paste the original inline into a plain-text bounce
        found += mailparts.message_ids(_INLINE_MESSAGE_ID.findall(body_text))
    return tuple(dict.fromkeys(found))


def parse_authentication_results(values: Iterable[str]) -> tuple[AuthResult, ...]:
    """Parse Authentication-Results header values (RFC 8601); unparseable ones are skipped."""
    results: list[AuthResult] = []
    for value in values:
        parts = _split_outside_quotes(_strip_comments(value), ";")
        head = parts[0].split() if parts else []
        if not head:
            continue
        found: dict[str, str] = {}
        for resinfo in parts[1:]:
            match = re.match(
                r"\s*([a-z0-9_.-]+)(?:/[0-9]+)?\s*=\s*\"?([a-z0-9_.-]+)", resinfo, re.I
            )
            if not match:
                continue
            method, result = match.group(1).lower(), match.group(2).lower()
            if method == "dmarc" and "dmarc" not in found:
                domain = re.search(r"\bheader\.from\s*=\s*\"?([^\s;\"]+)", resinfo, re.I)
                if domain:
                    found["dmarc_header_from"] = domain.group(1).lower()
            if method == "dkim" and found.get("dkim") not in (None, "pass"):
                found["dkim"] = result if result == "pass" else found["dkim"]
            else:
                found.setdefault(method, result)
        results.append(
            AuthResult(
                authserv_id=head[0].strip('"').lower(),
                dmarc=found.get("dmarc"),
                spf=found.get("spf"),
                dkim=found.get("dkim"),
                dmarc_header_from=found.get("dmarc_header_from"),
            )
        )
    return tuple(results)


def _strip_comments(value: str) -> str:
    """Remove RFC 5322 comments "(…)", nested, outside quoted strings."""
    out: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    for char in value:
        if escaped:
            escaped = False
            if not depth:
                out.append(char)
            continue
        if char == "\\":
            escaped = True
            if not depth:
                out.append(char)
            continue
        if char == '"' and not depth:
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
            continue
        elif not quoted and char == ")" and depth:
            depth -= 1
            continue
        if not depth:
            out.append(char)
    return "".join(out)


def _split_outside_quotes(value: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in value:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts
