"""Raw reply bytes in, a :class:`ParsedReply` out. Pure: no I/O, never raises.

The steps live in their own modules: :mod:`approvals.replies.quotes` finds the new
text, :mod:`approvals.replies.verdicts` reads approve/reject from it,
:mod:`approvals.replies.kinds` tells replies from auto-replies and bounces and
parses Authentication-Results, :mod:`approvals.replies.htmltext` renders HTML-only
replies, :mod:`approvals.replies.delegation` reads a delegation instruction and
:mod:`approvals.replies.absence` the return date of an out-of-office reply. This
module reads the MIME structure and puts the answer together.

Which body: the first text/plain part outside attachments and attached
messages; else the first text/html part. When it gives a verdict, every
other text part a client may show must agree: HTML parts (read as a client
renders them) must give the same verdict, other text parts must not take it
back. A verdict the approver did not visibly write is never applied. The same holds for a
delegation, and a reply that holds both a verdict and a delegation gets neither.

Tokens: every distinct token is collected with the place it was found, in
this order: the To, Cc, Delivered-To and X-Original-To addresses (our
Reply-To is approvals+TOKEN@…), the subject, the whole body including the
quote (the watermark is usually quoted), then every other part and attached
message (a bounce carries our notification there). ``token`` is the first;
the inbox refuses a reply that carries two different ones.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from functools import cached_property

from approvals.errors import InvalidToken
from approvals.replies import mailparts
from approvals.replies.absence import read_away_until
from approvals.replies.delegation import (
    BOTH_VERDICT_AND_DELEGATION,
    DelegationReading,
    read_delegation,
)
from approvals.replies.kinds import (
    AuthResult,
    ReplyKind,
    bounced_message_ids,
    classify,
    parse_authentication_results,
)
from approvals.replies.quotes import MAX_TEXT_CHARS, BodyReading, read_body
from approvals.replies.verdicts import (
    Verdict,
    VerdictReading,
    read_verdict,
    takes_back,
    takes_back_verdict,
    verdict_phrases,
)
from approvals.tokens import TokenClaims, decode_token, find_tokens

_TOKEN_HEADERS = ("to", "cc", "delivered-to", "x-original-to")
_HIDDEN_DELEGATION = "hidden HTML text holds a delegation: ignored"


@dataclass(frozen=True)
class TokenSighting:
    """A distinct token and the first place it was seen ("the recipient address", …)."""

    token: str
    place: str

    def __repr__(self) -> str:  # the token is a credential: keep it out of logs
        return f"TokenSighting(place={self.place!r})"


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
    tokens: tuple[TokenSighting, ...] = ()  # every distinct token; ``token`` is the first
    on_behalf_of: str | None = None  # a Sender: address other than the From: address
    # The evidence: the line of the new text (or the subject) the verdict was read from,
    # stripped, at most 500 characters; None without a verdict.
    verdict_line: str | None = None
    # The lower-cased address a delegation instruction in the new text names (replies only).
    delegate_to: str | None = None
    # The end of the absence an out-of-office auto-reply states (auto-replies only).
    away_until: date | None = None
    # X-Approvals-Canary, as written: a probe of the engine's own, if it verifies.
    canary: str | None = None

    @cached_property
    def token_claims(self) -> TokenClaims | None:
        """What ``token`` claims, unpacked once per message (the batch's preload and the
        judge both need it); None without a token or when it is malformed."""
        if self.token is None:
            return None
        try:
            return decode_token(self.token)
        except InvalidToken:
            return None

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
    message = read_message(raw)
    subject = mailparts.collapse(mailparts.header(message, "subject"))
    # From the raw header, as mail servers and DMARC read it: decoding RFC 2047 words first
    # would let "=?utf-8?q?anna=40example.org?= <bob@evil.com>" pass as Anna.
    senders = mailparts.addresses(mailparts.raw_headers(message, "from"))
    # Exactly one: "alice@corp.com <bob@evil.com>" reads as two addresses, and taking
    # the first would trust the one the mail servers did not check (CVE-2023-27043).
    sender = senders[0] if len(senders) == 1 else None
    message_ids = mailparts.message_ids(mailparts.header_values(message, "message-id")[:1])
    references = mailparts.message_ids(
        mailparts.header_values(message, "in-reply-to")
        + mailparts.header_values(message, "references")
    )
    text_part, html_part = _body_parts(message)
    body_part = text_part if text_part is not None else html_part
    body = mailparts.part_text(body_part) if body_part is not None else ""
    is_html = text_part is None and html_part is not None
    if text_part is not None and mailparts.param(text_part, "format") == "flowed":
        body = unflow(body, delsp=mailparts.param(text_part, "delsp") == "yes")
    kind, kind_reason = classify(message, subject, sender)
    reading_of_body = read_body(body, html=is_html)
    new_text = reading_of_body.new_text
    reasons: list[str] = [kind_reason] if kind_reason else []
    verdict: Verdict | None = None
    verdict_line: str | None = None
    delegate_to: str | None = None
    away_until: date | None = None
    comment = ""
    if kind is ReplyKind.REPLY:
        answer = _read_answer(message, body_part, reading_of_body, subject)
        verdict, verdict_line, delegate_to = answer.verdict, answer.line, answer.delegate_to
        comment = _without_sign_off(answer.comment, mailparts.header(message, "from"), sender)
        reasons += answer.reasons
    else:
        reasons.append(f"no verdict from an {kind.value.replace('_', '-')}")
        if kind is ReplyKind.AUTO_REPLY:
            absence = read_away_until(new_text, mailparts.sent_on(message))
            away_until = absence.until
            reasons += absence.reasons
    tokens = _find_tokens(message, subject, body, body_part)
    return ParsedReply(
        verdict=verdict,
        comment=comment,
        new_text=new_text,
        token=tokens[0].token if tokens else None,
        tokens=tokens,
        on_behalf_of=_on_behalf_of(message, sender),
        verdict_line=verdict_line,
        delegate_to=delegate_to,
        away_until=away_until,
        canary=mailparts.header(message, "x-approvals-canary").strip() or None,
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


_HEADER_ENDS = (b"\n\n", b"\n\r\n")  # the second also ends "\r\n\r\n"


def read_message(raw: bytes) -> Message:
    """``raw`` parsed as the email package does, with a single-part body not split into lines.

    The parser reads about a line per microsecond: 20 MB of bare line breaks took ten
    seconds. A single-part message's body is its bytes after the header block, so only
    the header is parsed, and the rest is appended to what the parser took for body
    (a line that is no header ends the header early). Multipart messages are parsed
    in full, up to their 2000th delimiter.
    """
    parser = BytesParser(mailparts.IndexedMessage, policy=compat32)
    found = [(raw.find(gap), gap) for gap in _HEADER_ENDS]
    found = [(index, gap) for index, gap in found if index >= 0]
    if not found:
        return parser.parsebytes(raw)
    end, gap = min(found)
    head = parser.parsebytes(raw[: end + len(gap)])
    if mailparts.content_type(head).startswith(("multipart/", "message/")):
        return parser.parsebytes(_first_parts(raw))
    rest = raw[end + len(gap) :].decode("ascii", "surrogateescape")
    head.set_payload(str(head.get_payload()) + rest)
    return head


_MAX_DELIMITERS = 2000  # far more MIME parts than any reply, bounce or forward carries


def _first_parts(raw: bytes) -> bytes:
    """``raw`` up to its 2000th line that starts with "--": each part costs the parser
    about 50 µs, and 20 MB of tiny parts took half a minute. The parts a person's reply
    is read from come first."""
    position = -1
    for _ in range(_MAX_DELIMITERS):
        position = raw.find(b"\n--", position + 1)
        if position < 0:
            return raw
    return raw[: position + 1]


def _visible_verdict(body: BodyReading, subject: str) -> VerdictReading:
    """The verdict of the new text, refused when hidden HTML in it holds a verdict word."""
    if body.doubts:
        return VerdictReading(None, "", (f"not read as shown: {body.doubts[0]}",))
    for line in body.cut_lines:  # "Approved\n--\nnot for prod": the cut lost a take-back
        why = takes_back(line)
        if why:
            return VerdictReading(None, "", (f"text cut from the reply as quoted: {why}",))
    hidden = [phrase for text in body.hidden_texts for phrase in verdict_phrases(text)]
    if hidden:
        words = ", ".join(f"'{phrase}'" for phrase in dict.fromkeys(hidden))
        return VerdictReading(
            None, "", (f"hidden HTML text holds a verdict word ({words}): no verdict",)
        )
    return read_verdict(body.new_text, subject)


@dataclass(frozen=True)
class _Answer:
    """What a person's reply says: a verdict (with its comment and line) or a delegation."""

    verdict: Verdict | None
    comment: str
    line: str | None
    delegate_to: str | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class _ShownPart:
    """Another text part of the reply that a client may show, read as the body is."""

    html: bool
    body: BodyReading


def _read_answer(
    message: Message, body_part: Message | None, body: BodyReading, subject: str
) -> _Answer:
    """The verdict and the delegation of the new text, each only if every part a client
    may show agrees, and neither if the reply holds both."""
    reading = _visible_verdict(body, subject)
    delegation = _visible_delegation(body)
    others: list[_ShownPart] = []
    if message.is_multipart() and (reading.verdict or delegation.delegate_to):
        others = [_read_shown(part) for part in _shown_parts(message, body_part)]
    if reading.verdict is not None:
        reading = _agreeing(reading, others, subject)
    delegation, shown_elsewhere = _agreeing_delegation(delegation, others)
    reasons = (*reading.reasons, *delegation.reasons)
    if reading.verdict is not None and (delegation.seen or shown_elsewhere):
        both = () if BOTH_VERDICT_AND_DELEGATION in reasons else (BOTH_VERDICT_AND_DELEGATION,)
        return _Answer(None, "", None, None, (*reasons, *both))
    line = reading.line if reading.verdict is not None else None
    return _Answer(reading.verdict, reading.comment, line, delegation.delegate_to, reasons)


def _read_shown(part: Message) -> _ShownPart:
    html = mailparts.content_type(part) in _HTML_TYPES
    return _ShownPart(html, read_body(mailparts.part_text(part), html=html))


def _visible_delegation(body: BodyReading) -> DelegationReading:
    """The delegation the new text holds, refused when the reply may not show it as read.

    A delegation in hidden HTML text is never read; beside a visible one it refuses
    that too, as hidden verdict words refuse a verdict.
    """
    hidden = any(read_delegation(text).seen for text in body.hidden_texts)
    reading = read_delegation(body.new_text)
    if reading.delegate_to is None:
        if hidden:
            return replace(reading, reasons=(*reading.reasons, _HIDDEN_DELEGATION))
        return reading
    if hidden:
        why = f"{_HIDDEN_DELEGATION}; the visible one is refused too"
        return DelegationReading(None, (why,), seen=True)
    if body.doubts:
        why = f"delegation not read as shown: {body.doubts[0]}"
        return DelegationReading(None, (why,), seen=True)
    return reading


def _agreeing_delegation(
    reading: DelegationReading, others: Sequence[_ShownPart]
) -> tuple[DelegationReading, bool]:
    """The body's delegation if every other part a client may show names the same target
    (a plain part may name none); and whether an HTML part shows a delegation at all."""
    shown_elsewhere = False
    for other in others:
        other_reading = read_delegation(other.body.new_text)
        target = other_reading.delegate_to
        hidden = any(read_delegation(text).seen for text in other.body.hidden_texts)
        shown_elsewhere = shown_elsewhere or (other.html and other_reading.seen)
        if reading.delegate_to is None:
            continue
        if hidden or (target != reading.delegate_to and (other.html or target is not None)):
            said = target or "no delegation"
            return DelegationReading(
                None,
                (f"the parts of the reply disagree on the delegation: the text names "
                 f"{reading.delegate_to}, another part {said}",),
                seen=True,
            ), shown_elsewhere  # fmt: skip
    return reading, shown_elsewhere


def unflow(text: str, *, delsp: bool = False) -> str:
    """A format=flowed body (RFC 3676) as its reader sees it: soft line breaks joined.

    "Hi Bob, I do not \napprove this." shows as one line in Thunderbird and Apple
    Mail; read line by line it would skip the greeting and find "approve".
    """
    lines: list[str] = []
    depths: list[int] = []
    open_line = False  # does the last line end in a soft break?
    text = text.lstrip("\r\n")[: 2 * MAX_TEXT_CHARS]  # read_body reads no further
    for raw in text.replace("\r\n", "\n").split("\n"):
        depth = len(raw) - len(raw.lstrip(">"))
        content = raw[depth:]
        if content.startswith(" "):
            content = content[1:]  # space-stuffing
        if open_line and depths[-1] == depth:
            lines[-1] += content
        else:
            lines.append(content)
            depths.append(depth)
        open_line = content.endswith(" ") and content != "-- "
        if open_line and delsp:
            lines[-1] = lines[-1][:-1]
    return "\n".join(
        ">" * depth + (" " if depth else "") + line
        for depth, line in zip(depths, lines, strict=True)
    )


_HTML_TYPES = frozenset({"text/html", "text/x-amp-html"})


def _agreeing(
    reading: VerdictReading, others: Sequence[_ShownPart], subject: str
) -> VerdictReading:
    """The body's verdict, if every other part a client may show agrees with it.

    An HTML part (the alternative most clients show, Gmail's AMP part) must give the
    same verdict; any other text part must not take it back.
    """
    assert reading.verdict is not None
    for part in others:
        html, body = part.html, part.body
        other = _visible_verdict(body, subject)
        if html and other.verdict is not reading.verdict:
            said = other.verdict.value if other.verdict else "no verdict"
            why = f" ({'; '.join(other.reasons)})" if other.verdict is None else ""
            return VerdictReading(
                None,
                "",
                (
                    f"the text and HTML parts disagree: the text part says "
                    f"{reading.verdict.value}, an HTML part a mail client shows says "
                    f"{said}{why}",
                ),
            )
        if html:
            continue
        taken_back = takes_back_verdict(body.new_text, reading.verdict)
        if other.verdict not in (None, reading.verdict) or taken_back:
            return VerdictReading(
                None,
                "",
                (f"another text part of the reply takes the {reading.verdict.value} back: "
                 f"{taken_back or other.verdict}",),
            )  # fmt: skip
    return reading


def _shown_parts(message: Message, body_part: Message | None) -> list[Message]:
    """Every text part a client may show (not attachments), but ``body_part``."""
    return [
        part
        for part in mailparts.walk(message, into_messages=False)
        if part is not body_part
        and mailparts.content_type(part).startswith("text/")
        and not (part is not message and mailparts.is_attachment(part))
    ]


def _on_behalf_of(message: Message, sender: str | None) -> str | None:
    """What a Sender: header names when it is not the From: address ("sent on behalf of");
    a Sender header without a readable address counts as someone else too."""
    for value in mailparts.raw_headers(message, "sender"):
        found = mailparts.addresses([value])
        if not found:
            return mailparts.collapse(mailparts.decode_words(value))[:200] or "(empty)"
        for address in found:
            if address != sender:
                return address
    return None


def _body_parts(message: Message) -> tuple[Message | None, Message | None]:
    """The first text/plain and the first text/html part a person reads (not attachments)."""
    text: Message | None = None
    html: Message | None = None
    for part in mailparts.walk(message, into_messages=False):
        if part is not message and mailparts.is_attachment(part):
            continue
        kind = mailparts.content_type(part)
        if kind == "text/plain" and text is None:
            text = part
        elif kind == "text/html" and html is None:
            html = part
        if text is not None and html is not None:
            break
    return text, html


def _find_tokens(
    message: Message, subject: str, body: str, body_part: Message | None
) -> tuple[TokenSighting, ...]:
    """Every distinct token, with the first place it appears, in search order."""
    found: dict[str, str] = {}

    def look(text: str, place: str) -> None:
        for token in find_tokens(text):
            found.setdefault(token, place)

    for name in _TOKEN_HEADERS:
        for value in mailparts.header_values(message, name):
            look(value, "the recipient address")
    look(subject, "the subject")
    look(body, "the body")
    # A single-part message is its body, read already.
    parts = mailparts.walk(message, into_messages=True) if body_part is not message else ()
    for part in parts:
        if mailparts.content_type(part).startswith("message/") and part is not message:
            for attached in mailparts.children(part):
                look(" ".join(str(v) for _, v in _raw_items(attached)), "an attached message")
        if part is not body_part:  # read already, as ``body``
            look(mailparts.part_text(part), "another part of the message")
    return tuple(TokenSighting(token, place) for token, place in found.items())


def _raw_items(message: Message) -> list[tuple[str, str]]:
    try:
        return [(str(key), str(value)) for key, value in message.raw_items()]
    except mailparts.DECODE_ERRORS:
        return []
