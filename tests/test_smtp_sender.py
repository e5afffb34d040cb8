"""SmtpSender against the real SmtpRelay, which delivers into Dovecot (``mail_stack``)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from pydantic import SecretStr

from mailio.config import OAuth2Settings, PoolSettings, RetrySettings, SmtpServer
from mailio.devservers import MailStack, SmtpRelay
from mailio.devservers.ports import LOOPBACK, free_port
from mailio.errors import (
    AuthenticationError,
    ConfigError,
    PermanentSendError,
    TemporarySendError,
    TransportError,
)
from mailio.outbound.retry import is_retryable, next_attempt_delay, should_retry
from mailio.outbound.smtp import SmtpSender
from tests.servers.dovecot_stack import RelayFactory
from tests.servers.mail_client import read_mailbox
from tests.servers.transport_settings import outgoing_message, smtp_settings


@pytest.fixture
def relay(mail_stack: MailStack, smtp_relay_factory: RelayFactory) -> SmtpRelay:
    """A relay of this test's own, so its counts and refusals are this test's alone."""
    return smtp_relay_factory(auth_password=mail_stack.password)


def test_a_batch_lands_in_the_recipients_mailboxes(mail_stack, relay):
    alice, bob = mail_stack.new_address("alice"), mail_stack.new_address("bob")
    messages = [outgoing_message(alice, f"a{i}") for i in range(3)] + [
        outgoing_message(bob, f"b{i}") for i in range(2)
    ]

    results = SmtpSender(smtp_settings(relay.port)).send_messages(messages)

    assert [r.message_id for r in results] == [m["Message-ID"] for m in messages]
    assert all(r.ok for r in results), results
    assert len(read_mailbox(mail_stack, alice)) == 3
    assert len(read_mailbox(mail_stack, bob)) == 2


def test_cc_and_bcc_are_recipients_and_bcc_is_not_transmitted(mail_stack, relay):
    to, cc, bcc = (mail_stack.new_address(n) for n in ("to", "cc", "bcc"))

    [result] = SmtpSender(smtp_settings(relay.port)).send_messages(
        [outgoing_message(to, "copies", Cc=cc, Bcc=bcc)]
    )

    assert result.ok
    [envelope] = relay.received
    assert set(envelope.recipients) == {to, cc, bcc}
    assert bcc.encode() not in envelope.raw


def test_from_address_is_the_envelope_sender(mail_stack, relay):
    bounce = "bounces@example.test"
    sender = SmtpSender(smtp_settings(relay.port, from_address=bounce))

    [result] = sender.send_messages([outgoing_message(mail_stack.new_address("x"))])

    assert result.ok
    assert relay.received[0].sender == bounce


def test_the_pool_opens_at_most_max_connections(mail_stack, relay):
    to = mail_stack.new_address("pool")
    server = smtp_settings(relay.port, pool=PoolSettings(max_connections=2))

    results = SmtpSender(server).send_messages([outgoing_message(to, f"p{i}") for i in range(8)])

    assert all(r.ok for r in results)
    assert relay.connection_count == 2
    assert len(relay.received) == 8


def test_a_connection_is_replaced_after_max_messages_per_connection(mail_stack, relay):
    to = mail_stack.new_address("rotate")
    pool = PoolSettings(max_connections=1, max_messages_per_connection=2)

    results = SmtpSender(smtp_settings(relay.port, pool=pool)).send_messages(
        [outgoing_message(to, f"r{i}") for i in range(5)]
    )

    assert all(r.ok for r in results)
    assert relay.connection_count == 3  # 2 + 2 + 1


def test_recipient_refusals_are_temporary_for_4xx_and_permanent_for_5xx(mail_stack, relay):
    busy, gone, fine = (mail_stack.new_address(n) for n in ("busy", "gone", "fine"))
    relay.reject_recipients[busy] = (450, "4.2.1 mailbox busy, try later")
    relay.reject_recipients[gone] = (550, "5.1.1 no such user")
    results = SmtpSender(smtp_settings(relay.port)).send_messages(
        [
            outgoing_message(busy, "busy"),
            outgoing_message(gone, "gone"),
            outgoing_message(fine, "fine"),
        ]
    )

    temporary, permanent, delivered = (r.error for r in results)
    assert isinstance(temporary, TemporarySendError) and temporary.code == 450
    assert isinstance(permanent, PermanentSendError) and permanent.code == 550
    assert delivered is None
    assert len(read_mailbox(mail_stack, fine)) == 1


def test_a_message_refused_after_data_gets_the_servers_code(mail_stack, relay):
    relay.reject_data = (554, "5.6.0 content rejected")

    [result] = SmtpSender(smtp_settings(relay.port)).send_messages(
        [outgoing_message(mail_stack.new_address("x"))]
    )

    assert isinstance(result.error, PermanentSendError)
    assert result.error.code == 554


def test_refused_credentials_fail_every_message_without_showing_the_password(mail_stack, relay):
    wrong = "Wrong-Password-1234"
    to = mail_stack.new_address("x")

    results = SmtpSender(smtp_settings(relay.port, password=wrong)).send_messages(
        [outgoing_message(to, "one"), outgoing_message(to, "two")]
    )

    assert [r.message_id for r in results] == ["<one@example.test>", "<two@example.test>"]
    for result in results:
        assert isinstance(result.error, PermanentSendError)
        assert isinstance(result.error.__cause__, AuthenticationError)
        assert "check username and password" in str(result.error)
        assert wrong not in str(result.error)
    assert relay.received == []


def test_an_unreachable_server_fails_every_message_temporarily(mail_stack):
    server = smtp_settings(free_port())

    results = SmtpSender(server).send_messages([outgoing_message("a@example.test", "u1")] * 3)

    assert len(results) == 3
    for result in results:
        assert isinstance(result.error, TemporarySendError)
        assert isinstance(result.error.__cause__, TransportError)
        assert is_retryable(result.error)


def test_a_message_without_message_id_gets_one_and_is_left_unchanged(mail_stack, relay):
    message = outgoing_message(mail_stack.new_address("x"))
    del message["Message-ID"]

    [result] = SmtpSender(smtp_settings(relay.port)).send_messages([message])

    assert result.ok and result.message_id.startswith("<")
    assert message["Message-ID"] is None
    assert result.message_id.encode() in relay.received[0].raw


def test_an_empty_batch_opens_no_connection(mail_stack, relay):
    assert SmtpSender(smtp_settings(relay.port)).send_messages([]) == []
    assert relay.connection_count == 0


def test_backoff_doubles_from_backoff_seconds_up_to_the_cap():
    settings = RetrySettings(backoff_seconds=30, max_backoff_seconds=100, max_attempts=4)

    delays = [next_attempt_delay(n, settings) for n in (1, 2, 3, 4, 1000)]

    assert delays == [30, 60, 100, 100, 100]


def test_only_temporary_errors_are_retried_and_only_up_to_max_attempts():
    settings = RetrySettings(max_attempts=3)
    temporary, permanent = TemporarySendError("busy", 451), PermanentSendError("no", 550)

    assert should_retry(temporary, 2, settings)
    assert not should_retry(temporary, 3, settings)
    assert not should_retry(permanent, 1, settings)


class _XOAuth2Handler:
    """aiosmtpd handler offering only AUTH XOAUTH2, accepting one bearer token."""

    def __init__(self, user: str, token: str) -> None:
        self.user, self.token = user, token
        self.received: list[bytes] = []

    async def auth_XOAUTH2(self, server, args):  # noqa: N802 - name fixed by aiosmtpd
        fields = base64.b64decode(args[1]).decode().split("\x01")
        ok = fields[:2] == [f"user={self.user}", f"auth=Bearer {self.token}"]
        return AuthResult(success=ok, handled=False, auth_data=self.user if ok else None)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.received.append(envelope.content)
        return "250 OK"


@pytest.fixture
def xoauth2_server() -> Iterator[tuple[_XOAuth2Handler, int]]:
    handler = _XOAuth2Handler("engine@example.test", "good-token")
    port = free_port()
    controller = Controller(
        handler,
        hostname=LOOPBACK,
        port=port,
        server_hostname="xoauth2.localhost",
        auth_required=True,
        auth_require_tls=False,
        auth_exclude_mechanism=["LOGIN", "PLAIN"],
    )
    controller.start()
    yield handler, port
    controller.stop()


# Plain AUTH on loopback is the point of this test server.
_plain_auth_is_intended = pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS"
)


def _oauth_server(port: int) -> SmtpServer:
    oauth2 = OAuth2Settings(tenant="t", client_id="c", client_secret=SecretStr("s"))
    return smtp_settings(port, auth="oauth2", password=None, oauth2=oauth2)


@_plain_auth_is_intended
def test_oauth2_authenticates_with_xoauth2(xoauth2_server):
    handler, port = xoauth2_server

    [result] = SmtpSender(_oauth_server(port), token_provider=lambda: "good-token").send_messages(
        [outgoing_message("someone@example.test", "oauth")]
    )

    assert result.ok, result.error
    assert len(handler.received) == 1


@_plain_auth_is_intended
def test_a_refused_oauth2_token_fails_the_batch_without_showing_the_token(xoauth2_server):
    handler, port = xoauth2_server

    [result] = SmtpSender(_oauth_server(port), token_provider=lambda: "stale-token").send_messages(
        [outgoing_message("someone@example.test", "oauth")]
    )

    assert isinstance(result.error, PermanentSendError)
    assert isinstance(result.error.__cause__, AuthenticationError)
    assert "stale-token" not in str(result.error)
    assert handler.received == []


@_plain_auth_is_intended
def test_a_token_provider_that_fails_marks_the_batch_instead_of_raising(xoauth2_server):
    _, port = xoauth2_server

    def broken_provider() -> str:
        raise ConfigError("[oauth2] certificate_file: cannot read it")

    results = SmtpSender(_oauth_server(port), token_provider=broken_provider).send_messages(
        [
            outgoing_message("someone@example.test", "o1"),
            outgoing_message("someone@example.test", "o2"),
        ]
    )

    assert all(isinstance(r.error, PermanentSendError) for r in results)
    assert all(isinstance(r.error.__cause__, ConfigError) for r in results)


class _OneMessagePerConnection:
    """An SMTP server that takes one message per connection and answers 421 after."""

    def __init__(self) -> None:
        self.accepted: list[str] = []
        self.sessions: set[int] = set()

    async def handle_MAIL(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]  # noqa: N802
        if id(session) in self.sessions:
            return "421 4.7.0 one message per connection, come back"
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        self.sessions.add(id(session))
        self.accepted.append(envelope.content.decode())
        return "250 OK"


def test_a_421_between_messages_gives_the_message_a_new_connection() -> None:
    handler = _OneMessagePerConnection()
    controller = Controller(handler, hostname=LOOPBACK, port=free_port())
    controller.start()
    try:
        server = smtp_settings(
            controller.port, username=None, password=None, pool=PoolSettings(max_connections=1)
        )
        messages = [outgoing_message("a@example.test", f"m{i}") for i in range(4)]
        results = SmtpSender(server).send_messages(messages)
    finally:
        controller.stop()

    assert [r.ok for r in results] == [True, True, True, True]
    assert len(handler.accepted) == 4
