"""The web-API senders: Microsoft Graph sendMail, AWS SES v2, SendGrid v3, Mailgun.

None of these services can run here, so each test answers with
httpx.MockTransport using the request and response shapes the services
document, and checks what the sender put on the wire: method, URL, auth
header, body (the MIME decoded back and compared with the message), and how
each documented status maps onto the send-error tree.
"""

from __future__ import annotations

import base64
import email
import json
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default as default_policy

import httpx
import pytest

from mailio.config import GraphServer, ImapServer, MailgunServer, SendGridServer, SesServer
from mailio.errors import ConfigError, PermanentSendError, TemporaryApiError, TemporarySendError
from mailio.http import parse_retry_after
from mailio.outbound.api import build_api_sender
from mailio.outbound.envelope import mime_bytes
from mailio.outbound.graph import GraphSender
from mailio.outbound.mailgun import MailgunSender
from mailio.outbound.sendgrid import SendGridSender
from mailio.outbound.ses import SesSender
from mailio.sigv4 import AwsCredentials, sign_request

GRAPH_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOi.graph-token"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
SENDGRID_KEY = "SG.abcdefSECRETKEY.0123456789"
MAILGUN_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
SECRETS = (GRAPH_TOKEN, AWS_SECRET, SENDGRID_KEY, MAILGUN_KEY)
SES_CLOCK = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)

GRAPH = GraphServer.model_validate(
    {
        "mailbox": "approvals@contoso.com",
        "oauth2": {"tenant": "contoso", "client_id": "app", "client_secret": "x"},
    }
)
SES = SesServer.model_validate(
    {"region": "eu-west-1", "access_key_id": "AKIAEXAMPLE", "secret_access_key": AWS_SECRET}
)
SENDGRID = SendGridServer.model_validate({"api_key": SENDGRID_KEY})
MAILGUN = MailgunServer.model_validate({"domain": "mg.example.com", "api_key": MAILGUN_KEY})


def make_message(subject: str = "Approve purchase order 42") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Approvals Bot <approvals@contoso.com>"
    message["To"] = "Alice Approver <alice@example.com>"
    message["Cc"] = "bob@example.com"
    message["Bcc"] = "audit@example.com"
    message["Reply-To"] = "replies@contoso.com"
    message["Subject"] = subject
    message["Message-ID"] = "<req-42.apr-abc@contoso.com>"
    message["In-Reply-To"] = "<earlier@contoso.com>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content("Reply APPROVE or REJECT.\n\napr-ABCDEFGHIJKLMNOPQRSTUVWX\n")
    message.add_alternative("<p>Reply <b>APPROVE</b> or <b>REJECT</b>.</p>", subtype="html")
    message.set_boundary("approval-boundary")  # fixed, so two renderings compare byte for byte
    return message


class Recorder:
    """A MockTransport handler that keeps every request and answers from a script."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))


def graph_sender(recorder: Recorder) -> GraphSender:
    return GraphSender(GRAPH, recorder.client(), lambda: GRAPH_TOKEN)


def ses_sender(recorder: Recorder, server: SesServer = SES) -> SesSender:
    return SesSender(server, recorder.client(), clock=lambda: SES_CLOCK)


def sendgrid_sender(recorder: Recorder) -> SendGridSender:
    return SendGridSender(SENDGRID, recorder.client())


def mailgun_sender(recorder: Recorder) -> MailgunSender:
    return MailgunSender(MAILGUN, recorder.client())


def multipart_fields(request: httpx.Request) -> dict[str, list[bytes]]:
    """Field name -> raw values of a multipart/form-data body, split by hand so the
    MIME file part comes back byte for byte."""
    content_type = request.headers["Content-Type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    boundary = content_type.partition("boundary=")[2].encode()
    fields: dict[str, list[bytes]] = {}
    for chunk in request.content.split(b"--" + boundary)[1:-1]:
        head, _, value = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        name = head.split(b'name="', 1)[1].split(b'"', 1)[0].decode()
        fields.setdefault(name, []).append(value.removesuffix(b"\r\n"))
    return fields


def parse_mime(data: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(data, policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    return parsed


# --- Microsoft Graph -------------------------------------------------------------------------


def test_graph_posts_the_mime_base64_encoded_as_text_plain_with_a_bearer_token():
    recorder = Recorder(httpx.Response(202))
    message = make_message()

    [result] = graph_sender(recorder).send_messages([message])

    assert result.ok and result.message_id == "<req-42.apr-abc@contoso.com>"
    [request] = recorder.requests
    assert request.method == "POST"
    assert (
        str(request.url) == "https://graph.microsoft.com/v1.0/users/approvals@contoso.com/sendMail"
    )
    assert request.headers["Authorization"] == f"Bearer {GRAPH_TOKEN}"
    assert request.headers["Content-Type"] == "text/plain"
    sent = base64.b64decode(request.content, validate=True)
    assert sent == mime_bytes(message)
    assert parse_mime(sent)["Subject"] == "Approve purchase order 42"


# --- AWS SES v2 ------------------------------------------------------------------------------


def test_ses_sends_raw_mime_with_destination_and_a_sigv4_signature():
    recorder = Recorder(httpx.Response(200, json={"MessageId": "0102018c-example"}))
    message = make_message()

    [result] = ses_sender(recorder).send_messages([message])

    assert result.ok
    [request] = recorder.requests
    assert request.method == "POST"
    assert str(request.url) == "https://email.eu-west-1.amazonaws.com/v2/email/outbound-emails"
    body = json.loads(request.content)
    assert body["Destination"] == {
        "ToAddresses": ["alice@example.com"],
        "CcAddresses": ["bob@example.com"],
        "BccAddresses": ["audit@example.com"],
    }
    sent = parse_mime(base64.b64decode(body["Content"]["Raw"]["Data"], validate=True))
    assert sent["Bcc"] is None  # recipients see no Bcc; SES gets it in Destination
    assert sent["Message-ID"] == "<req-42.apr-abc@contoso.com>"
    sent_text = sent.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert sent_text == message.get_body(("plain",)).get_content()

    authorization = request.headers["Authorization"]
    assert authorization.startswith(
        "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20240102/eu-west-1/ses/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, Signature="
    )
    assert request.headers["X-Amz-Date"] == "20240102T030405Z"
    # The signature covers exactly what went on the wire (body bytes, host, type, date).
    expected = sign_request(
        "POST",
        str(request.url),
        {"Content-Type": request.headers["Content-Type"], "Host": request.headers["Host"]},
        request.content,
        credentials=AwsCredentials("AKIAEXAMPLE", AWS_SECRET),
        region="eu-west-1",
        service="ses",
        now=SES_CLOCK,
    )
    assert authorization == expected["Authorization"]


def test_ses_signs_the_session_token_of_temporary_credentials():
    server = SesServer.model_validate(
        {
            "region": "eu-west-1",
            "access_key_id": "AKIAEXAMPLE",
            "secret_access_key": AWS_SECRET,
            "session_token": "FQoGZXIvYXdzEXAMPLE",
            "endpoint": "https://ses.local:8443",
        }
    )
    recorder = Recorder(httpx.Response(200, json={"MessageId": "m"}))

    [result] = ses_sender(recorder, server).send_messages([make_message()])

    assert result.ok
    [request] = recorder.requests
    assert str(request.url) == "https://ses.local:8443/v2/email/outbound-emails"
    assert request.headers["X-Amz-Security-Token"] == "FQoGZXIvYXdzEXAMPLE"
    assert (
        "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,"
        in (request.headers["Authorization"])
    )


# --- SendGrid --------------------------------------------------------------------------------


def test_sendgrid_sends_the_documented_json_with_threading_headers():
    recorder = Recorder(httpx.Response(202))

    [result] = sendgrid_sender(recorder).send_messages([make_message()])

    assert result.ok
    [request] = recorder.requests
    assert request.method == "POST"
    assert str(request.url) == "https://api.sendgrid.com/v3/mail/send"
    assert request.headers["Authorization"] == f"Bearer {SENDGRID_KEY}"
    body = json.loads(request.content)
    assert body["personalizations"] == [
        {
            "to": [{"email": "alice@example.com", "name": "Alice Approver"}],
            "cc": [{"email": "bob@example.com"}],
            "bcc": [{"email": "audit@example.com"}],
        }
    ]
    assert body["from"] == {"email": "approvals@contoso.com", "name": "Approvals Bot"}
    assert body["reply_to"] == {"email": "replies@contoso.com"}
    assert body["subject"] == "Approve purchase order 42"
    assert [part["type"] for part in body["content"]] == ["text/plain", "text/html"]
    assert "apr-ABCDEFGHIJKLMNOPQRSTUVWX" in body["content"][0]["value"]
    assert "<b>APPROVE</b>" in body["content"][1]["value"]
    assert body["headers"] == {
        "Message-ID": "<req-42.apr-abc@contoso.com>",
        "In-Reply-To": "<earlier@contoso.com>",
        "Auto-Submitted": "auto-generated",
    }


# --- Mailgun ---------------------------------------------------------------------------------


def test_mailgun_posts_the_mime_as_a_multipart_form_with_basic_auth():
    recorder = Recorder(httpx.Response(200, json={"id": "<x@mg>", "message": "Queued. Thank you."}))
    message = make_message()

    [result] = mailgun_sender(recorder).send_messages([message])

    assert result.ok
    [request] = recorder.requests
    assert request.method == "POST"
    assert str(request.url) == "https://api.mailgun.net/v3/mg.example.com/messages.mime"
    scheme, _, credentials = request.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(credentials).decode() == f"api:{MAILGUN_KEY}"
    fields = multipart_fields(request)
    assert fields["to"] == [b"alice@example.com", b"bob@example.com", b"audit@example.com"]
    [sent] = fields["message"]
    assert sent == mime_bytes(message, without_bcc=True)


# --- status mapping, shared by all four --------------------------------------------------------

ERROR_BODIES: dict[str, Callable[[str], dict[str, object]]] = {
    "graph": lambda text: {"error": {"code": "ErrorInvalidRecipients", "message": text}},
    "ses": lambda text: {"message": text},
    "sendgrid": lambda text: {"errors": [{"message": text, "field": "from.email"}]},
    "mailgun": lambda text: {"message": text},
}
SENDERS = {
    "graph": graph_sender,
    "ses": ses_sender,
    "sendgrid": sendgrid_sender,
    "mailgun": mailgun_sender,
}
OK_STATUS = {"graph": 202, "ses": 200, "sendgrid": 202, "mailgun": 200}


@pytest.mark.parametrize("service", sorted(SENDERS))
def test_documented_success_status_is_accepted(service):
    recorder = Recorder(httpx.Response(OK_STATUS[service], json={}))
    [result] = SENDERS[service](recorder).send_messages([make_message()])
    assert result.ok and result.error is None


@pytest.mark.parametrize("service", sorted(SENDERS))
def test_429_is_temporary_and_carries_retry_after(service):
    recorder = Recorder(
        httpx.Response(
            429, headers={"Retry-After": "7"}, json=ERROR_BODIES[service]("Too many requests")
        )
    )
    [result] = SENDERS[service](recorder).send_messages([make_message()])
    assert isinstance(result.error, TemporaryApiError)
    assert result.error.code == 429 and result.error.retry_after == 7
    assert "Too many requests" in str(result.error)


@pytest.mark.parametrize("service", sorted(SENDERS))
def test_400_is_permanent_with_the_service_error_text_and_no_secret(service):
    body = ERROR_BODIES[service]("Sender address rejected")
    recorder = Recorder(httpx.Response(400, json=body))
    [result] = SENDERS[service](recorder).send_messages([make_message()])
    assert isinstance(result.error, PermanentSendError)
    assert result.error.code == 400
    text = str(result.error)
    assert "Sender address rejected" in text and "HTTP 400" in text
    assert not any(secret in text or secret in repr(result) for secret in SECRETS)


@pytest.mark.parametrize("service", sorted(SENDERS))
def test_500_is_temporary(service):
    recorder = Recorder(httpx.Response(500, text="upstream exploded"))
    [result] = SENDERS[service](recorder).send_messages([make_message()])
    assert isinstance(result.error, TemporarySendError)
    assert result.error.code == 500 and "upstream exploded" in str(result.error)


@pytest.mark.parametrize("service", sorted(SENDERS))
def test_dropped_connection_is_temporary_and_leaks_no_credentials(service):
    recorder = Recorder(httpx.ConnectError("[Errno 111] Connection refused"))
    [result] = SENDERS[service](recorder).send_messages([make_message()])
    assert isinstance(result.error, TemporarySendError)
    assert "Connection refused" in str(result.error)
    assert result.error.__cause__ is None and result.error.__context__ is None


def test_one_refused_message_does_not_fail_the_batch():
    recorder = Recorder(
        httpx.Response(202),
        httpx.Response(400, json=ERROR_BODIES["graph"]("Mailbox unavailable")),
        httpx.Response(202),
    )
    messages = [make_message(f"Request {n}") for n in range(3)]
    for n, message in enumerate(messages):
        message.replace_header("Message-ID", f"<m{n}@contoso.com>")

    results = graph_sender(recorder).send_messages(messages)

    assert [r.ok for r in results] == [True, False, True]
    assert [r.message_id for r in results] == [
        "<m0@contoso.com>",
        "<m1@contoso.com>",
        "<m2@contoso.com>",
    ]
    assert len(recorder.requests) == 3


def test_message_without_message_id_gets_one_that_the_result_reports():
    recorder = Recorder(httpx.Response(202))
    message = make_message()
    del message["Message-ID"]

    [result] = sendgrid_sender(recorder).send_messages([message])

    assert result.message_id == message["Message-ID"]
    assert result.message_id.endswith("@contoso.com>")
    assert json.loads(recorder.requests[0].content)["headers"]["Message-ID"] == result.message_id


def test_retry_after_http_date_is_converted_to_seconds():
    now = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_retry_after("Tue, 02 Jan 2024 03:04:35 GMT", now=now) == 30
    assert parse_retry_after("120") == 120
    assert parse_retry_after("soon") is None


# --- factory ---------------------------------------------------------------------------------


def test_build_api_sender_picks_the_sender_for_each_api_type():
    for server, kind in (
        (GRAPH, GraphSender),
        (SES, SesSender),
        (SENDGRID, SendGridSender),
        (MAILGUN, MailgunSender),
    ):
        sender = build_api_sender(server, token_provider=lambda: "t")
        assert isinstance(sender, kind)
        assert not any(secret in repr(sender) for secret in SECRETS)
        sender.close()
        sender.close()  # the protocol promises a second close is harmless


def test_build_api_sender_rejects_mail_servers():
    with pytest.raises(ConfigError, match="not a web API"):
        build_api_sender(ImapServer(host="imap.example.com", port=993))


def test_a_token_that_cannot_be_had_fails_that_message_not_the_batch() -> None:
    """Graph cannot run here (MockTransport). The token endpoint fails for the second
    message: the first stays accepted, the second is a temporary failure."""
    from mailio.errors import AuthenticationError

    calls = []

    def tokens() -> str:
        calls.append(1)
        if len(calls) == 2:
            raise AuthenticationError("login.example refused a token for client app")
        return GRAPH_TOKEN

    recorder = Recorder(httpx.Response(202))
    sender = GraphSender(GRAPH, recorder.client(), tokens)

    first, second = sender.send_messages([make_message("one"), make_message("two")])

    assert first.ok and len(recorder.requests) == 1
    assert isinstance(second.error, TemporarySendError)
    assert "refused a token" in str(second.error)
