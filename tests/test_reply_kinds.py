"""Auto-replies, bounces, Authentication-Results, headers and encodings, through parse_reply."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from approvals.replies import AuthResult, ReplyKind, Verdict, dmarc_passed, parse_reply

TOKEN = "apr-abcdefghijklmnopqrstuvwx"
OTHER_TOKEN = "apr-zyxwvutsrqponmlkjihgfedc"


def reply(body: str = "Approved", **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = headers.pop("From", "Anna <anna@example.org>")
    message["To"] = headers.pop("To", f"approvals+{TOKEN}@example.com")
    message["Subject"] = headers.pop("Subject", "Re: Approval requested: Deploy")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return bytes(message)


def test_plain_reply_fields() -> None:
    raw = reply(
        "Approved, ship it\n\nOn Mon, 3 Jun 2024 at 10:00, Approvals <a@example.com> wrote:\n"
        "> APPROVE",
        From='"Anna Approver" <Anna.Approver@Example.ORG>',
        Message_ID="<reply-1@example.org>",
        In_Reply_To="<n-1@example.com>",
        References="<n-0@example.com> <n-1@example.com>",
    )
    parsed = parse_reply(raw)
    assert parsed.kind is ReplyKind.REPLY
    assert parsed.verdict is Verdict.APPROVE
    assert parsed.comment == "ship it"
    assert parsed.new_text == "Approved, ship it"
    assert parsed.token == TOKEN
    assert parsed.sender == "anna.approver@example.org"
    assert parsed.message_id == "reply-1@example.org"
    assert parsed.references == ("n-1@example.com", "n-0@example.com")
    assert parsed.subject == "Re: Approval requested: Deploy"
    assert parsed.reasons == ("verdict 'approve' from line 1: 'Approved, ship it'",)
    assert TOKEN not in repr(parsed)


def test_token_search_order_addresses_then_subject_then_quoted_body() -> None:
    body = f"Approved\n\n> reference {OTHER_TOKEN}"
    assert parse_reply(reply(body)).token == TOKEN
    from_subject = reply(body, To="approvals@example.com", Subject=f"Re: x [{OTHER_TOKEN.upper()}]")
    assert parse_reply(from_subject).token == OTHER_TOKEN
    from_quote = reply(body, To="approvals@example.com")
    assert parse_reply(from_quote).token == OTHER_TOKEN
    delivered = reply(
        "Approved", To="approvals@example.com", Delivered_To=f"approvals+{TOKEN}@x.org"
    )
    assert parse_reply(delivered).token == TOKEN


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"Auto_Submitted": "auto-generated; owner-email=x@example.org"},
        {"X_Autoreply": "yes"},
        {"X_Autorespond": "Out of office"},
        {"Precedence": "bulk"},
        {"Precedence": "auto_reply"},
        {"Precedence": "list"},
        {"Subject": "Out of Office: Re: Approval requested: Deploy"},
        {"Subject": "Automatic reply: Approval requested: Deploy"},
        {"Subject": "Abwesenheitsnotiz: AW: Approval requested"},
        {"Subject": "Automatische Antwort: Approval requested"},
        {"Subject": "Réponse automatique : Approval requested"},
        {"Subject": "Absence : Approval requested"},
        {"Subject": "Respuesta automática: Approval requested"},
        {"Subject": "Fuera de la oficina"},
        {"Subject": "Afwezig: Approval requested"},
        {"Subject": "Automatisch antwoord: Approval requested"},
        {"Subject": "Risposta automatica: Approval requested"},
        {"Subject": "Fuori sede"},
        {"Subject": "Resposta automática: Approval requested"},
        {"Subject": "Ausente: Approval requested"},
    ],
)
def test_auto_replies_never_give_a_verdict(headers: dict[str, str]) -> None:
    parsed = parse_reply(reply("Approved. I am out until Monday.", **headers))
    assert parsed.kind is ReplyKind.AUTO_REPLY
    assert parsed.verdict is None
    assert parsed.token == TOKEN


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "no"},
        {"X_Auto_Response_Suppress": "All"},
        {"Subject": "Re: Approval requested: Absence request for Bob"},
    ],
)
def test_ordinary_replies_are_not_auto_replies(headers: dict[str, str]) -> None:
    parsed = parse_reply(reply("Approved", **headers))
    assert parsed.kind is ReplyKind.REPLY
    assert parsed.verdict is Verdict.APPROVE


ORIGINAL_HEADERS = f"""From: Approvals <approvals@example.com>
To: anna@gone.example.org
Reply-To: approvals+{TOKEN}@example.com
Subject: Approval requested: Deploy
Message-ID: <notification-7@example.com>
"""
ORIGINAL = (
    ORIGINAL_HEADERS
    + """Content-Type: text/plain; charset=utf-8

To approve, reply with APPROVE on the first line.
"""
)


def dsn(*, attached: str, sender: str = "MAILER-DAEMON@mx.example.com") -> bytes:
    """A multipart/report bounce as Postfix writes it, returning our notification."""
    if attached == "rfc822":
        original_part = "Content-Type: message/rfc822\n\n" + ORIGINAL
    else:
        original_part = "Content-Type: text/rfc822-headers\n\n" + ORIGINAL_HEADERS
    return f"""From: Mail Delivery System <{sender}>
To: approvals@example.com
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce-1@mx.example.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain; charset=us-ascii

Approved
This is the mail system. Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com
Original-Envelope-Id: envid-1@example.com

Final-Recipient: rfc822; anna@gone.example.org
Action: failed
Status: 5.1.1

--B
{original_part}
--B--
""".replace("\n", "\r\n").encode()


@pytest.mark.parametrize("attached", ["rfc822", "headers"])
def test_bounce_returns_original_message_id_and_token(attached: str) -> None:
    parsed = parse_reply(dsn(attached=attached))
    assert parsed.kind is ReplyKind.BOUNCE
    assert parsed.verdict is None
    assert parsed.token == TOKEN
    assert "notification-7@example.com" in parsed.bounced_message_ids
    assert "envid-1@example.com" in parsed.bounced_message_ids


def test_bounce_from_postmaster_without_report_structure() -> None:
    raw = reply(
        "Delivery failed.\n\n--- original message ---\nMessage-ID: <notification-9@example.com>\n",
        From="postmaster@mx.example.com",
        To="approvals@example.com",
        Subject="Delivery failure",
    )
    parsed = parse_reply(raw)
    assert parsed.kind is ReplyKind.BOUNCE
    assert parsed.bounced_message_ids == ("notification-9@example.com",)


def test_empty_return_path_is_a_bounce_unless_it_is_an_auto_reply() -> None:
    assert parse_reply(reply("Approved", Return_Path="<>")).kind is ReplyKind.BOUNCE
    auto = reply("Approved", Return_Path="<>", Auto_Submitted="auto-replied")
    assert parse_reply(auto).kind is ReplyKind.AUTO_REPLY


def test_authentication_results_and_dmarc_passed() -> None:
    raw = reply(
        "Approved",
        Authentication_Results="mx.example.com; spf=pass (sender SPF authorized) "
        "smtp.mailfrom=example.org; dkim=fail header.d=x.org; dkim=pass header.d=example.org; "
        "dmarc=pass (p=reject) header.from=example.org",
    )
    parsed = parse_reply(raw)
    assert parsed.authentication_results == (
        AuthResult(
            authserv_id="mx.example.com",
            dmarc="pass",
            spf="pass",
            dkim="pass",
            dmarc_header_from="example.org",
        ),
    )
    assert parsed.sender is not None and parsed.sender.endswith("@example.org")
    assert dmarc_passed(parsed, ["MX.example.com"])
    assert not dmarc_passed(parsed, ["other.example.net"])
    assert not dmarc_passed(parsed, [])


def test_dmarc_pass_from_an_untrusted_header_does_not_count() -> None:
    message = EmailMessage()
    message["From"] = "anna@example.org"
    message["Subject"] = "Re: x"
    message["Authentication-Results"] = "evil.example.net; dmarc=pass header.from=example.org"
    message["Authentication-Results"] = "mx.example.com 1; dmarc=fail header.from=example.org"
    message["Authentication-Results"] = "mx2.example.com; none"
    message.set_content("Approved")
    parsed = parse_reply(bytes(message))
    assert [r.authserv_id for r in parsed.authentication_results] == [
        "evil.example.net",
        "mx.example.com",
        "mx2.example.com",
    ]
    assert parsed.authentication_results[2] == AuthResult("mx2.example.com", None, None, None)
    assert not dmarc_passed(parsed, ["mx.example.com", "mx2.example.com"])


def raw_text(body: bytes, content_type: str, encoding: str) -> bytes:
    return (
        b"From: =?utf-8?q?J=C3=BCrgen?= <juergen@example.de>\r\n"
        b"To: approvals+" + TOKEN.encode() + b"@example.com\r\n"
        b"Subject: =?iso-8859-1?q?AW:_Genehmigung_f=FCr_Release?=\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: " + content_type.encode() + b"\r\n"
        b"Content-Transfer-Encoding: " + encoding.encode() + b"\r\n\r\n" + body
    )


@pytest.mark.parametrize(
    ("body", "content_type", "encoding", "verdict", "comment"),
    [
        (b"Genehmigt =E2=80=93 sch=C3=B6n=\r\n", "text/plain; charset=utf-8", "quoted-printable",
         Verdict.APPROVE, "schön"),
        (b"QWJnZWxlaG50OiBmYWxzY2hlIFZlcnNpb24=\r\n", "text/plain; charset=utf-8", "base64",
         Verdict.REJECT, "falsche Version"),
        ("Refusé : trop cher".encode("latin-1"), "text/plain; charset=iso-8859-1", "8bit",
         Verdict.REJECT, "trop cher"),
        (b"Approved \xff\xfe broken", "text/plain; charset=x-no-such-charset", "8bit",
         Verdict.APPROVE, "\ufffd\ufffd broken"),
        (b"<p>Approved</p><blockquote>REJECT</blockquote>", "text/html; charset=utf-8", "7bit",
         Verdict.APPROVE, ""),
    ],
)  # fmt: skip
def test_transfer_encodings_and_charsets(
    body: bytes, content_type: str, encoding: str, verdict: Verdict, comment: str
) -> None:
    parsed = parse_reply(raw_text(body, content_type, encoding))
    assert parsed.verdict is verdict, parsed.reasons
    assert parsed.comment == comment
    assert parsed.subject == "AW: Genehmigung für Release"
    assert parsed.sender == "juergen@example.de"


def test_comment_comes_from_the_plain_part_when_both_parts_agree() -> None:
    message = EmailMessage()
    message["From"] = "anna@example.org"
    message["Subject"] = "Re: x"
    message.set_content("Rejected: plain wins")
    message.add_alternative("<p><b>Rejected</b>: html&nbsp;formatting</p>", subtype="html")
    parsed = parse_reply(bytes(message))
    assert (parsed.verdict, parsed.comment) == (Verdict.REJECT, "plain wins")


def test_text_attachment_is_not_the_body() -> None:
    message = EmailMessage()
    message["From"] = "anna@example.org"
    message["Subject"] = "Re: x"
    message.set_content("<p>Approved</p>", subtype="html")
    message.add_attachment("REJECT", filename="notes.txt")
    assert parse_reply(bytes(message)).verdict is Verdict.APPROVE


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe",
        b"From: <<<@@@>>>\r\nTo: ,,,;;;\r\nSubject: =?utf-8?b?!!!?=\r\n\r\nApproved",
        b"Message-ID: <>\r\nReferences: <<a> <b>>\r\nIn-Reply-To: \r\n\r\nApproved",
        b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n--",
        b'Content-Type: text/plain; charset="\xff"\r\n\r\nok',
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64===",
        b"From: =?x-unknown?q?abc?= <a@b.c>\r\nSubject: =?utf-8?q?=FF=FE?=\r\n\r\nYes",
        b'Authentication-Results: ;;;(((\r\nAuthentication-Results: "\r\n\r\nx',
    ],
)
def test_malformed_messages_do_not_raise(raw: bytes) -> None:
    parsed = parse_reply(raw)
    assert isinstance(parsed.reasons, tuple)
    assert parsed.kind in set(ReplyKind)


def test_only_the_topmost_trusted_header_counts() -> None:
    """A sender can add any header below the one the organisation's server prepends."""
    message = EmailMessage()
    message["Authentication-Results"] = "mx.corp.test; dmarc=fail header.from=corp.test"
    message["Authentication-Results"] = "mx.corp.test; dmarc=pass header.from=corp.test"
    message["From"] = "alice@corp.test"
    message["Subject"] = "Re: x"
    message.set_content("Approved")
    assert not dmarc_passed(parse_reply(bytes(message)), ["mx.corp.test"])


def test_dmarc_pass_for_another_domain_does_not_count() -> None:
    message = EmailMessage()
    message["Authentication-Results"] = "mx.corp.test; dmarc=pass header.from=evil.test"
    message["From"] = "alice@corp.test"
    message["Subject"] = "Re: x"
    message.set_content("Approved")
    assert not dmarc_passed(parse_reply(bytes(message)), ["mx.corp.test"])


def test_from_with_two_addresses_has_no_sender() -> None:
    """CVE-2023-27043: "a@corp <b@evil>" must not be read as a@corp."""
    raw = (
        b"From: alice@corp.test <bob@evil.test>\r\nSubject: Re: x\r\n"
        b"Authentication-Results: mx.corp.test; dmarc=pass header.from=evil.test\r\n"
        b"\r\nApproved\r\n"
    )
    parsed = parse_reply(raw)
    assert parsed.sender is None
    assert not dmarc_passed(parsed, ["mx.corp.test"])
