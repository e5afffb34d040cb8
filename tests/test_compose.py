"""compose_message writes, byte for byte, what the stdlib's compat32 MIME classes and
generator write for the same mail (as build_message did before it wrote them itself).

The reference below is that former implementation; boundaries and the Date line are
random or the clock's, so both sides have them replaced before comparing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email import message_from_bytes
from email import policy as email_policy
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailio.compose import (
    Attachment,
    RenderedParts,
    _body_charset,
    _boundary,
    build_message,
    compose_message,
)
from mailio.errors import ConfigError

SENDER = "Approvals <approvals@example.test>"


def _library_message(
    *,
    parts: RenderedParts,
    sender: str,
    to: str,
    message_id: str,
    reply_to: str | None = None,
    charset: str = "utf-8",
    headers: Mapping[str, str] | None = None,
    attachments: Sequence[Attachment] = (),
) -> bytes:
    """The mail as the MIME classes build it and ``as_bytes()`` writes it."""
    try:
        body_charset = _body_charset(charset)
        body: Message = MIMEText(parts.text, "plain", body_charset)  # type: ignore[arg-type]
        if parts.html is not None:
            alternative = MIMEMultipart("alternative", boundary=_boundary())
            alternative.attach(body)
            alternative.attach(MIMEText(parts.html, "html", body_charset))  # type: ignore[arg-type]
            body = alternative
    except (LookupError, UnicodeEncodeError) as exc:
        raise ConfigError(f"cannot encode as {charset} ({exc})") from None
    message = body
    if attachments:
        message = MIMEMultipart("mixed", boundary=_boundary())
        message.attach(body)
        for attachment in attachments:
            content_type = attachment.content_type or "application/octet-stream"
            maintype, _, subtype = content_type.partition("/")
            part = MIMEApplication(attachment.content, _subtype=subtype)
            part.replace_header("Content-Type", f"{maintype}/{subtype}")
            part.add_header("Content-Disposition", "attachment", filename=attachment.filename)
            message.attach(part)

    def address(value: str) -> str:
        name, addr = parseaddr(value)
        return formataddr((name, addr), charset="utf-8")

    def text(name: str, value: str) -> str:
        return value if value.isascii() else Header(value, "utf-8", header_name=name).encode()

    message["From"] = address(sender)
    message["To"] = address(to)
    message["Subject"] = text("Subject", parts.subject)
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = f"<{message_id}>"
    if reply_to:
        message["Reply-To"] = address(reply_to)
    for name, value in (headers or {}).items():
        message[name] = text(name, value)
    return message.as_bytes()


def _comparable(raw: bytes) -> bytes:
    boundaries: dict[bytes, bytes] = {}

    def numbered(found: re.Match[bytes]) -> bytes:
        return boundaries.setdefault(found.group(), b"BOUNDARY-%d" % len(boundaries))

    raw = re.sub(rb"=_apr_[0-9a-f]{32}", numbered, raw)
    return re.sub(rb"(?m)^Date: .*$", b"Date: -", raw)


def _both(**fields: object) -> tuple[bytes, bytes]:
    ours = compose_message(message_id="apr.1@example.test", **fields)  # type: ignore[arg-type]
    theirs = _library_message(message_id="apr.1@example.test", **fields)  # type: ignore[arg-type]
    return _comparable(ours), _comparable(theirs)


LONG_LINE = "word " * 400
TEXTS = {
    "ascii": "Please approve Deploy 4.2.\n\nReply APPROVE or REJECT.\n",
    "accents": "Bitte genehmigen: Größe, Übergabe, café.\n",
    "long line": LONG_LINE + "\n",
    "mbox From": "From the pipeline:\nFrom here on\n",
    "crlf and equals": "a = b\r\nc == d\r\n",
    "trailing spaces": "line with spaces   \nand tabs\t\n",
    "no newline at end": "ends here",
    "empty": "",
}
CHARSETS = ["utf-8", "utf8", "iso-8859-1", "latin_1", "us-ascii", "windows-1252", "koi8-r"]


@pytest.mark.parametrize("charset", CHARSETS)
@pytest.mark.parametrize("text", list(TEXTS), ids=list(TEXTS))
@pytest.mark.parametrize("with_html", [True, False], ids=["html", "text only"])
def test_the_bodies_are_the_librarys_in_every_charset(
    charset: str, text: str, with_html: bool
) -> None:
    body = TEXTS[text]
    html = f"<p>{body}</p>\n" if with_html else None
    fields = {
        "parts": RenderedParts(subject="Approve Deploy 4.2", text=body, html=html),
        "sender": SENDER,
        "to": "alice@example.test",
        "charset": charset,
    }
    try:
        theirs = _library_message(message_id="x@example.test", **fields)  # type: ignore[arg-type]
    except ConfigError:
        with pytest.raises(ConfigError, match=r"\[outbound\] charset"):
            compose_message(message_id="x@example.test", **fields)  # type: ignore[arg-type]
        return
    ours = compose_message(message_id="x@example.test", **fields)  # type: ignore[arg-type]
    assert _comparable(ours) == _comparable(theirs)


def test_a_charset_sent_under_another_name_is_written_as_the_library_writes_it() -> None:
    # euc-jp goes out as iso-2022-jp: the library reorders headers and encodes twice.
    ours, theirs = _both(
        parts=RenderedParts(subject="Deploy", text="承認してください = yes\n", html=None),
        sender=SENDER,
        to="alice@example.test",
        charset="euc-jp",
    )
    assert ours == theirs


SUBJECTS = {
    "short": "[APR-ABC] Approve: Deploy 4.2",
    "long ascii": "[APR-ABCDEFGHIJKLMNOPQRSTUVWX] Approve: " + "deploy the whole fleet " * 6,
    "non-ascii": "[APR-ABC] Genehmigung: Größenänderung der Datenbank",
    "long non-ascii": "[APR-ABC] Genehmigung: " + "Größenänderung " * 12,
    "encoded-word lookalike": "=?utf-8?q?not-really?= deploy",
}
RECIPIENTS = {
    "plain": "alice@example.test",
    "named": "Alice Example <alice@example.test>",
    "named non-ascii": "Zoë Müller <zoe@example.test>",
    "quoted name": '"Example, Alice" <alice@example.test>',
    "dots and plus": "alice.b+tag@mail.example.test",
    "quoted local part": '"alice smith"@example.test',
}


@pytest.mark.parametrize("subject", list(SUBJECTS), ids=list(SUBJECTS))
@pytest.mark.parametrize("to", list(RECIPIENTS), ids=list(RECIPIENTS))
def test_the_headers_are_folded_as_the_library_folds_them(subject: str, to: str) -> None:
    references = [f"apr.{i:024x}@example.test" for i in range(6)]
    ours, theirs = _both(
        parts=RenderedParts(subject=SUBJECTS[subject], text="Approve?\n", html="<p>?</p>\n"),
        sender=SENDER,
        to=RECIPIENTS[to],
        reply_to="approvals+apr-abcdefghijklmnopqrstuvwx@example.test",
        headers={
            "X-Auto-Response-Suppress": "OOF, AutoReply",
            "Auto-Submitted": "auto-generated",
            "In-Reply-To": f"<{references[0]}>",
            "References": " ".join(f"<{ref}>" for ref in references),
        },
    )
    assert ours == theirs


@pytest.mark.parametrize(
    "attachment",
    [
        Attachment("plan.pdf", b"%PDF-1.4 " * 100, "application/pdf"),
        Attachment("notes.txt", b"plain notes\n", "text/plain"),
        Attachment("Übersicht.csv", b"a,b\n1,2\n", "text/csv"),
        Attachment("empty.bin", b"", None),
    ],
    ids=["pdf", "text", "non-ascii name", "empty"],
)
def test_attachments_are_written_as_the_library_writes_them(attachment: Attachment) -> None:
    ours, theirs = _both(
        parts=RenderedParts(subject="Approve", text="See attached.\n", html="<p>See</p>\n"),
        sender=SENDER,
        to="alice@example.test",
        attachments=[attachment, Attachment("second.bin", bytes(range(256)), None)],
    )
    assert ours == theirs


@settings(max_examples=300, deadline=None)
@given(
    subject=st.text(max_size=120).map(lambda s: " ".join(s.split())),
    name=st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=40),
    text=st.text(max_size=300),
)
def test_any_subject_name_and_text_come_out_as_the_librarys(
    subject: str, name: str, text: str
) -> None:
    to = formataddr((name, "someone@example.test"))
    ours, theirs = _both(
        parts=RenderedParts(subject=subject, text=text, html=f"<p>{text}</p>"),
        sender=SENDER,
        to=to,
        headers={"Auto-Submitted": "auto-generated"},
    )
    assert ours == theirs


def test_build_message_parses_back_to_the_same_mail() -> None:
    message = build_message(
        parts=RenderedParts(subject="Größe", text="Grüße\n", html="<p>Grüße</p>\n"),
        sender=SENDER,
        to="Zoë <zoe@example.test>",
        message_id="apr.2@example.test",
    )
    modern = message_from_bytes(message.as_bytes(), policy=email_policy.default)
    assert str(modern["Subject"]) == "Größe"
    assert str(modern["To"]) == "Zoë <zoe@example.test>"
    body = modern.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
    assert body is not None and body.get_content() == "Grüße\n"


def test_a_recipient_without_an_address_is_refused() -> None:
    with pytest.raises(ConfigError, match="is not an email address"):
        compose_message(
            parts=RenderedParts(subject="s", text="t\n", html=None),
            sender=SENDER,
            to="Alice <>",
            message_id="apr.3@example.test",
        )
