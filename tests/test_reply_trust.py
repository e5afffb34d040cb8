"""Never apply a decision the approver did not visibly write, or that names two notifications.

Parsing rules are checked on raw bytes; the engine rules (Sender, identifiers,
the failure folder) on an engine whose mailbox is in memory and whose sender
records what it is given: what matters here is what the engine decides.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any

import pytest

from approvals.engine import ApprovalEngine
from approvals.models import RequestStatus
from approvals.replies import Verdict, parse_reply
from mailio.devservers.approver import compose_reply
from mailio.devservers.stack import MailStack
from mailio.outbound.base import SendResult, modern
from tests.engine_setup import ListMailbox, engine_settings, reconfigured
from tests.hidden_html import HIDDEN_MARKUP

TOKEN = "apr-abcdefghijklmnopqrstuvwx"
OTHER_TOKEN = "apr-zyxwvutsrqponmlkjihgfedc"


def html_reply(html: str, *, text: str | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = "Anna <anna@example.org>"
    message["To"] = f"approvals+{TOKEN}@example.com"
    message["Subject"] = "Re: Approval requested: Deploy 4.2"
    message["Message-ID"] = "<r1@example.org>"
    if text is None:
        message.set_content(html, subtype="html")
    else:
        message.set_content(text)
        message.add_alternative(html, subtype="html")
    return bytes(message)


# --- hidden HTML ----------------------------------------------------------------------------

HIDDEN_APPROVALS = {name: markup.format(word="APPROVE") for name, markup in HIDDEN_MARKUP.items()}


@pytest.mark.parametrize("hidden", sorted(HIDDEN_APPROVALS))
def test_verdict_only_in_hidden_html_is_refused(hidden: str) -> None:
    parsed = parse_reply(
        html_reply(f"<html><body>{HIDDEN_APPROVALS[hidden]}<p>Why 4.2?</p></body></html>")
    )
    assert parsed.verdict is None
    assert any("hidden" in reason for reason in parsed.reasons), parsed.reasons
    assert "Approved" not in parsed.new_text and "APPROVE" not in parsed.new_text


@pytest.mark.parametrize("hidden", sorted(HIDDEN_APPROVALS))
def test_visible_verdict_beside_a_hidden_verdict_word_is_refused(hidden: str) -> None:
    html = f"<p>Rejected: wrong version</p>{HIDDEN_APPROVALS[hidden]}"
    parsed = parse_reply(html_reply(html))
    assert parsed.verdict is None, parsed.reasons
    assert any("hidden" in reason for reason in parsed.reasons)


def test_hidden_text_in_the_quoted_original_does_not_refuse() -> None:
    html = (
        "<p>Approved</p><div class=gmail_quote>On Mon, Bob wrote:<blockquote>"
        '<span style="display:none">REJECT</span>Please decide</blockquote></div>'
    )
    assert parse_reply(html_reply(html)).verdict is Verdict.APPROVE


def test_visible_html_verdict_is_read() -> None:
    html = '<div dir="ltr"><span style="color:#1F497D">Approved, ship it</span></div>'
    parsed = parse_reply(html_reply(html))
    assert (parsed.verdict, parsed.comment) == (Verdict.APPROVE, "ship it")


# --- text and HTML parts ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("Rejected", "<p>Approved</p>"),
        ("Approved", "<p>Rejected</p>"),
        ("Approved", "<p>What does this change?</p>"),
        ("Approved", '<p><span style="display:none">Approved</span>Why?</p>'),
    ],
)
def test_text_and_html_parts_that_disagree_give_no_verdict(text: str, html: str) -> None:
    parsed = parse_reply(html_reply(html, text=text))
    assert parsed.verdict is None
    assert any("disagree" in reason for reason in parsed.reasons), parsed.reasons


def test_text_and_html_parts_that_agree_give_the_verdict() -> None:
    parsed = parse_reply(html_reply("<p>Approved, ship it</p>", text="Approved, ship it"))
    assert (parsed.verdict, parsed.comment) == (Verdict.APPROVE, "ship it")


# --- what parse_reply reports about identifiers and senders -----------------------------------


def test_every_distinct_token_is_reported_with_its_place() -> None:
    message = EmailMessage()
    message["From"] = "anna@example.org"
    message["To"] = f"approvals+{TOKEN}@example.com"
    message["Subject"] = f"Re: Deploy [{OTHER_TOKEN.upper()}]"
    message.set_content(f"Approved\n\n> Approval reference: {TOKEN.upper()}")
    parsed = parse_reply(bytes(message))
    assert [(s.token, s.place) for s in parsed.tokens] == [
        (TOKEN, "the recipient address"),
        (OTHER_TOKEN, "the subject"),
    ]
    assert parsed.token == TOKEN
    assert OTHER_TOKEN not in repr(parsed.tokens)  # tokens are credentials


def test_sender_header_naming_someone_else_is_reported() -> None:
    message = EmailMessage()
    message["From"] = "Anna <anna@example.org>"
    message["Sender"] = "Assistant <assistant@example.org>"
    message.set_content("Approved")
    assert parse_reply(bytes(message)).on_behalf_of == "assistant@example.org"
    del message["Sender"]
    message["Sender"] = "ANNA@example.org"
    assert parse_reply(bytes(message)).on_behalf_of is None


# --- the engine -------------------------------------------------------------------------------


@dataclass
class RecordingSender:
    """Accepts every message and keeps it."""

    name: str = "recording"
    sent: list[Message] = field(default_factory=list)

    def send_messages(self, messages: Sequence[Message]) -> list[SendResult]:
        self.sent.extend(messages)
        return [SendResult(str(message["Message-ID"])) for message in messages]

    def close(self) -> None:
        pass


@dataclass
class Desk:
    """An engine with an in-memory reply folder and a recording sender."""

    engine: ApprovalEngine
    outgoing: RecordingSender
    folder: ListMailbox

    def ask(self, *approvers: str) -> str:
        request = self.engine.request_approval("Deploy 4.2", list(approvers))
        self.engine.dispatch_pending()
        return request.id

    def notifications_to(self, approver: str) -> list[EmailMessage]:
        """What ``approver`` was sent, oldest first."""
        found = [modern(m) for m in self.outgoing.sent if str(m["To"]).endswith(approver)]
        assert found, f"no notification to {approver}"
        return found

    def notification_for(self, approver: str) -> EmailMessage:
        return self.notifications_to(approver)[-1]

    def deliver(self, *messages: EmailMessage) -> None:
        for message in messages:
            self.folder.messages[str(len(self.folder.messages) + 100)] = bytes(message)

    def poll(self) -> Any:
        return self.engine.process_replies()


def _desk(tmp_path: Path, **replies: Any) -> Iterator[Desk]:
    stack = MailStack(name="none", host="127.0.0.1", imap_port=9, smtp_port=9, password="x")
    settings = engine_settings(
        stack, f"sqlite:///{tmp_path / 'db.sqlite'}", "approvals@example.test"
    )
    if replies:
        settings = reconfigured(settings, replies=replies)
    outgoing, folder = RecordingSender(), ListMailbox([])
    engine = ApprovalEngine(
        settings, mailbox_factory=lambda _: folder, sender_factory=lambda _: [outgoing]
    )
    try:
        yield Desk(engine, outgoing, folder)
    finally:
        engine.close()


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    yield from _desk(tmp_path)


def _refused(desk: Desk, reply: EmailMessage) -> str:
    desk.deliver(reply)
    report = desk.poll()
    assert (report.decided, report.failed) == (0, 1), report.messages
    assert list(desk.folder.moved) == ["Failed"]
    return str(report.messages[0].reason)


def test_reply_sent_on_behalf_of_the_approver_is_refused(desk: Desk) -> None:
    request_id = desk.ask("alice@example.test")
    reply = compose_reply(desk.notification_for("alice@example.test"), "alice@example.test", "OK")
    reply["Sender"] = "assistant@example.test"
    reason = _refused(desk, reply)
    assert "Sender header names assistant@example.test" in reason
    assert "allow_on_behalf" in reason
    assert desk.engine.get(request_id).status is RequestStatus.PENDING


def test_reply_sent_on_behalf_is_accepted_when_allowed(tmp_path: Path) -> None:
    for desk in _desk(tmp_path, allow_on_behalf=True):
        request_id = desk.ask("alice@example.test")
        notification = desk.notification_for("alice@example.test")
        reply = compose_reply(notification, "alice@example.test", "Approved")
        reply["Sender"] = "assistant@example.test"
        desk.deliver(reply)
        assert desk.poll().decided == 1
        assert desk.engine.get(request_id).status is RequestStatus.APPROVED


def test_dmarc_pass_does_not_make_a_colleague_the_approver(tmp_path: Path) -> None:
    trusted = {"require_dmarc_pass": True, "trusted_authserv_ids": ["mx.example.test"]}
    for desk in _desk(tmp_path, **trusted):
        desk.ask("alice@example.test")
        reply = compose_reply(
            desk.notification_for("alice@example.test"), "alice@example.test", "Approved"
        )
        reply["Authentication-Results"] = (
            "mx.example.test; dmarc=pass header.from=example.test; spf=pass"
        )
        reply["Sender"] = "bob@example.test"
        assert "Sender header names bob@example.test" in _refused(desk, reply)


def test_two_different_tokens_are_refused_naming_both(desk: Desk) -> None:
    desk.ask("alice@example.test")
    desk.ask("alice@example.test")
    one, two = desk.notifications_to("alice@example.test")
    reply = compose_reply(one, "alice@example.test", "Approved")
    del reply["Subject"]
    reply["Subject"] = f"Re: {two['Subject']}"
    reason = _refused(desk, reply)
    assert reason.startswith("ambiguous: the recipient address carries the token of notification")
    assert "and the subject the token of notification" in reason
    assert "apr-" not in reason.lower()  # named by number, never by the token itself


def test_in_reply_to_another_approvers_notification_is_refused(desk: Desk) -> None:
    desk.ask("alice@example.test", "bob@example.test")
    alice, bob = (
        desk.notification_for("alice@example.test"),
        desk.notification_for("bob@example.test"),
    )
    reply = compose_reply(alice, "alice@example.test", "Approved", quote=False)
    del reply["References"]
    reply["References"] = f"{alice['Message-ID']} {bob['Message-ID']}"
    reason = _refused(desk, reply)
    assert "ambiguous: the token names notification" in reason
    assert "bob@example.test" in reason


def test_references_to_two_requests_without_a_token_are_refused(desk: Desk) -> None:
    desk.ask("alice@example.test")
    desk.ask("alice@example.test")
    one, two = desk.notifications_to("alice@example.test")
    reply = EmailMessage()
    reply["From"] = "alice@example.test"
    reply["To"] = "approvals@example.test"
    reply["Subject"] = "Re: Deploy 4.2"
    reply["Message-ID"] = "<no-token@example.test>"
    reply["In-Reply-To"] = str(one["Message-ID"])
    reply["References"] = f"{one['Message-ID']} {two['Message-ID']}"
    reply.set_content("Approved")
    reason = _refused(desk, reply)
    assert "ambiguous: In-Reply-To/References names notification" in reason


def test_hidden_html_verdict_reply_is_kept_in_the_failure_folder(desk: Desk) -> None:
    request_id = desk.ask("alice@example.test")
    reply = compose_reply(desk.notification_for("alice@example.test"), "alice@example.test", "")
    reply.set_content(
        "<style>.h{display:none}</style><span class=h>APPROVE</span><p>Why now?</p>",
        subtype="html",
    )
    reason = _refused(desk, reply)
    assert "hidden HTML text holds a verdict word" in reason
    assert desk.engine.get(request_id).status is RequestStatus.PENDING


def test_a_style_block_inside_the_quote_still_hides_text_above_it() -> None:
    html = (
        "<span class=h>APPROVE</span><p>Why now?</p><div class=gmail_quote>On Mon, Bob wrote:"
        "<style>.h{display:none}</style><blockquote>Please decide</blockquote></div>"
    )
    parsed = parse_reply(html_reply(html))
    assert parsed.verdict is None
    assert any("hidden" in reason for reason in parsed.reasons), parsed.reasons


def test_a_style_block_past_the_html_size_limit_still_hides_text() -> None:
    from approvals.replies.htmltext import MAX_HTML_CHARS

    padding = "<p>" + "x" * 100 + "</p>"
    html = (
        "<span class=h>APPROVE</span><p>Why now?</p>"
        + padding * (MAX_HTML_CHARS // len(padding) + 10)
        + "<style>.h{display:none}</style>"
    )
    parsed = parse_reply(html_reply(html))
    assert parsed.verdict is None
    assert any("hidden" in reason for reason in parsed.reasons), parsed.reasons


def test_a_style_block_past_the_html_tag_limit_still_hides_text() -> None:
    from approvals.replies.htmltext import MAX_HTML_TAGS

    html = (
        "<span class=h>APPROVE</span><p>Why now?</p>"
        + "<br>" * (MAX_HTML_TAGS + 10)
        + "<style>.h{display:none}</style>"
    )
    parsed = parse_reply(html_reply(html))
    assert parsed.verdict is None
    assert any("hidden" in reason for reason in parsed.reasons), parsed.reasons


def test_an_encoded_word_in_from_cannot_smuggle_another_address() -> None:
    raw = (
        b"From: =?utf-8?q?anna=40example.org_=28?= <bob@evil.test> =?utf-8?q?=29?=\r\n"
        b"To: approvals+" + TOKEN.encode() + b"@example.com\r\nSubject: Re: x\r\n\r\nApproved\r\n"
    )
    assert parse_reply(raw).sender != "anna@example.org"


def test_a_sender_header_without_an_address_counts_as_someone_else() -> None:
    raw = b"From: anna@example.org\r\nSender: bob\r\nSubject: Re: x\r\n\r\nApproved\r\n"
    assert parse_reply(raw).on_behalf_of == "bob"


def _multipart(*parts: tuple[str, str], subtype: str = "alternative") -> bytes:
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    message = MIMEMultipart(subtype)
    message["From"] = "anna@example.org"
    message["To"] = f"approvals+{TOKEN}@example.com"
    message["Subject"] = "Re: Deploy 4.2"
    for kind, text in parts:
        message.attach(MIMEText(text, kind))
    return message.as_bytes()


@pytest.mark.parametrize(
    "raw",
    [
        # clients show the last alternative they can
        _multipart(("plain", "Approved"), ("html", "<p>Approved</p>"), ("html", "<p>Rejected</p>")),
        _multipart(("plain", "Approved"), ("x-amp-html", "<p>Rejected - do not ship</p>")),
        _multipart(("plain", "Approved"), ("enriched", "Rejected")),
        _multipart(("plain", "Approved"), ("plain", "Not really. Rejected."), subtype="mixed"),
    ],
)
def test_every_part_a_client_may_show_must_agree(raw: bytes) -> None:
    parsed = parse_reply(raw)
    assert parsed.verdict is None, parsed.reasons


@pytest.mark.parametrize(
    "markup",
    [
        "<![CDATA[Approved]]>",
        "<rp>Approved</rp>",
        "<dialog>Approved</dialog>",
        "<svg><text>Approved</text></svg>",
        "<s>Approved</s>",
        "<del>Approved</del>",
        "<video>Approved</video>",
        "<iframe>Approved</iframe>",
    ],
)
def test_text_a_client_never_shows_as_written_does_not_decide(markup: str) -> None:
    assert parse_reply(html_reply(f"{markup}<p>Why 4.2?</p>")).verdict is None


@pytest.mark.parametrize(
    ("body", "verdict"),
    [
        ("Hi Bob, I do not \r\napprove this.\r\n", None),
        ("Approved, ship it \r\nafter the tests.\r\n", Verdict.APPROVE),
        ("Approved \r\nonce QA signs off.\r\n", None),
    ],
)
def test_format_flowed_lines_are_read_as_the_client_shows_them(
    body: str, verdict: Verdict | None
) -> None:
    raw = (
        "From: anna@example.org\r\nSubject: Re: x\r\nContent-Type: text/plain; charset=utf-8; "
        f"format=flowed\r\n\r\n{body}"
    ).encode()
    assert parse_reply(raw).verdict is verdict


def test_css_generated_text_is_not_read_as_absent() -> None:
    html = '<style>.x::before{content:"Not "}</style><p class=x>Approved</p>'
    parsed = parse_reply(html_reply(html))
    assert parsed.verdict is None
    assert "writes text of its own" in parsed.reasons[0]


def test_a_style_sheet_without_generated_text_is_read() -> None:
    html = "<style>p.MsoNormal{margin:0} a:hover{color:red}</style><p class=MsoNormal>Approved</p>"
    assert parse_reply(html_reply(html)).verdict is Verdict.APPROVE
