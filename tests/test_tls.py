"""Transport security of ImapMailbox and SmtpSender against real TLS servers.

The servers are the shared ones from tests/servers/tls_stack.py: Dovecot
(STARTTLS on the imap port, TLS on imaps) and SmtpRelays (STARTTLS, implicit
TLS, no STARTTLS) with certificates from the session's trustme CA. For
"no credentials were sent" a STARTTLS-stripping proxy stands between client
and server, hides STARTTLS as a downgrade attacker would, and records every
line the client sends.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email import message_from_bytes

import pytest

from mailio.devservers import DovecotServer, SmtpRelay, unique_address
from mailio.errors import AuthenticationError, PermanentSendError, SecurityError
from mailio.inbound.imap import ImapMailbox
from mailio.outbound.base import SendResult
from mailio.outbound.smtp import SmtpSender
from mailio.tls import client_ssl_context
from tests.servers.starttls_stripper import StartTlsStrippingProxy
from tests.servers.tls_stack import PASSWORD, ClientCertificate, TlsCa
from tests.servers.transport_settings import (
    ENGINE_ADDRESS,
    MAILBOX_ADDRESS,
    imap_settings,
    outgoing_message,
    smtp_settings,
)

CREDENTIAL_COMMANDS = (b"AUTH", b"LOGIN", b"AUTHENTICATE")


def _send_one(port: int, security: str, subject: str = "tls", **overrides: object) -> SendResult:
    server = smtp_settings(port, security=security, **overrides)
    [result] = SmtpSender(server).send_messages([outgoing_message(MAILBOX_ADDRESS, subject)])
    return result


def _delivered_to_a_new_mailbox(dovecot: DovecotServer, subject: str) -> str:
    """Store one message (Message-ID from ``subject``) over LMTP; the mailbox's address."""
    address = unique_address("tls-reader")
    with smtplib.LMTP(dovecot.host, dovecot.lmtp_port, timeout=10) as lmtp:
        lmtp.sendmail(ENGINE_ADDRESS, [address], outgoing_message(address, subject).as_bytes())
    return address


def _read_the_one_message(box: ImapMailbox) -> str:
    """The Message-ID of the only message in the folder, fetched over the box's connection."""
    assert box.count() == 1
    [fetched] = box.fetch_batch(10)
    return str(message_from_bytes(fetched.raw)["Message-ID"])


def _credentials_offered(proxy: StartTlsStrippingProxy) -> list[bytes]:
    """The client's lines that log in or carry the password (there should be none)."""
    return [
        line
        for line in proxy.client_lines
        if PASSWORD.encode() in line
        or any(word in line.upper().split() for word in CREDENTIAL_COMMANDS)
    ]


# -- each security mode against a server that supports it -------------------------


def test_client_certificate_is_sent_when_the_server_asks(
    client_cert_relay: tuple[SmtpRelay, ClientCertificate], tls_ca: TlsCa
) -> None:
    relay, client = client_cert_relay
    with_cert = _send_one(
        relay.port,
        "tls",
        ca_file=tls_ca.ca_file,
        client_cert=client.cert_file,
        client_key=client.key_file,
    )
    without = _send_one(relay.port, "tls", ca_file=tls_ca.ca_file)

    assert with_cert.ok, with_cert.error
    assert not without.ok and len(relay.received) == 1
    assert "set client_cert and client_key" in str(without.error)


@pytest.mark.parametrize("security", ["starttls-required", "starttls-if-available"])
def test_smtp_starttls_delivers(starttls_relay: SmtpRelay, tls_ca: TlsCa, security: str) -> None:
    result = _send_one(starttls_relay.port, security, security, ca_file=tls_ca.ca_file)

    assert result.ok, result.error
    assert len(starttls_relay.received) == 1


def test_smtp_implicit_tls_delivers(implicit_tls_relay: SmtpRelay, tls_ca: TlsCa) -> None:
    result = _send_one(implicit_tls_relay.port, "tls", ca_file=tls_ca.ca_file)

    assert result.ok, result.error


@pytest.mark.parametrize("security", ["starttls-required", "starttls-if-available"])
def test_imap_starttls_logs_in_and_reads(
    tls_dovecot: DovecotServer, tls_ca: TlsCa, security: str
) -> None:
    subject = f"read-over-{security}"
    address = _delivered_to_a_new_mailbox(tls_dovecot, subject)
    server = imap_settings(
        tls_dovecot.imap_port, security=security, ca_file=tls_ca.ca_file, username=address
    )
    with ImapMailbox(server, "INBOX") as box:
        assert _read_the_one_message(box) == f"<{subject}@example.test>"
        assert box._session.client is not None
        assert box._session.client.socket().version() is not None  # an SSLSocket: TLS is on


def test_imaps_logs_in_and_reads(tls_dovecot: DovecotServer, tls_ca: TlsCa) -> None:
    assert tls_dovecot.imaps_port is not None
    address = _delivered_to_a_new_mailbox(tls_dovecot, "read-over-imaps")
    server = imap_settings(
        tls_dovecot.imaps_port, security="tls", ca_file=tls_ca.ca_file, username=address
    )
    with ImapMailbox(server, "INBOX") as box:
        assert _read_the_one_message(box) == "<read-over-imaps@example.test>"
        assert box._session.client is not None
        assert box._session.client.socket().version() is not None


# -- certificates ---------------------------------------------------------------------


def test_an_untrusted_certificate_is_refused_with_advice(tls_dovecot: DovecotServer) -> None:
    assert tls_dovecot.imaps_port is not None
    box = ImapMailbox(imap_settings(tls_dovecot.imaps_port, security="tls"), "INBOX")

    with pytest.raises(SecurityError, match="set ca_file to the CA that signed it"):
        box.count()


def test_a_ca_file_of_another_ca_does_not_make_the_certificate_trusted(
    implicit_tls_relay: SmtpRelay, tls_ca: TlsCa
) -> None:
    result = _send_one(implicit_tls_relay.port, "tls", ca_file=tls_ca.other_ca_file)

    assert isinstance(result.error, PermanentSendError)
    assert isinstance(result.error.__cause__, SecurityError)
    assert "not trusted" in str(result.error) and str(tls_ca.other_ca_file) in str(result.error)


def test_a_certificate_for_another_host_is_refused(
    wrong_host_relay: SmtpRelay, tls_ca: TlsCa
) -> None:
    result = _send_one(wrong_host_relay.port, "tls", ca_file=tls_ca.ca_file)

    assert isinstance(result.error, PermanentSendError)
    assert isinstance(result.error.__cause__, SecurityError)
    assert "not for '127.0.0.1'" in str(result.error)


def test_verify_false_connects_to_an_untrusted_server_and_warns_loudly(
    implicit_tls_relay: SmtpRelay, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="mailio.tls"):
        result = _send_one(implicit_tls_relay.port, "tls", verify=False)

    assert result.ok, result.error
    assert "certificate verification is OFF" in caplog.text


def test_client_ssl_context_enforces_the_minimum_version(tls_ca: TlsCa) -> None:
    server = smtp_settings(1, security="tls", ca_file=tls_ca.ca_file, tls_min_version="TLSv1.3")

    context = client_ssl_context(server)

    assert context.minimum_version.name == "TLSv1_3"
    assert context.check_hostname


# -- STARTTLS stripped on the way: refuse, or fall back only with a warning ------------


@pytest.mark.parametrize("proxy_fixture", ["stripped_smtp", "recorded_no_starttls_smtp"])
def test_smtp_starttls_required_refuses_a_stripped_server_before_sending_credentials(
    proxy_fixture: str, request: pytest.FixtureRequest
) -> None:
    """Whether the server behind would want AUTH after TLS only, or in plain, none is sent."""
    proxy: StartTlsStrippingProxy = request.getfixturevalue(proxy_fixture)

    result = _send_one(proxy.port, "starttls-required")

    assert isinstance(result.error, PermanentSendError)
    assert isinstance(result.error.__cause__, SecurityError)
    assert "does not offer STARTTLS" in str(result.error.__cause__)
    assert proxy.client_lines, "the client never spoke to the proxy"
    assert _credentials_offered(proxy) == []
    assert not any(line.upper().startswith(b"MAIL FROM") for line in proxy.client_lines)


def test_imap_starttls_required_refuses_a_stripped_server_before_sending_credentials(
    stripped_imap: StartTlsStrippingProxy,
) -> None:
    server = imap_settings(stripped_imap.port, security="starttls-required")

    with pytest.raises(SecurityError, match="does not offer STARTTLS"):
        ImapMailbox(server, "INBOX").count()

    assert stripped_imap.connection_count == 1
    assert _credentials_offered(stripped_imap) == []


def test_smtp_starttls_if_available_falls_back_to_plain_with_a_warning(
    recorded_no_starttls_smtp: StartTlsStrippingProxy,
    no_starttls_relay: SmtpRelay,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="mailio.outbound.smtp"):
        result = _send_one(recorded_no_starttls_smtp.port, "starttls-if-available")

    assert result.ok, result.error
    assert len(no_starttls_relay.received) == 1
    [warning] = [r for r in caplog.records if "WITHOUT encryption" in r.getMessage()]
    assert warning.levelno == logging.WARNING
    # the check the starttls-required tests rely on sees these plain-text credentials
    assert _credentials_offered(recorded_no_starttls_smtp)


def test_smtp_starttls_if_available_goes_on_in_plain_when_stripped_of_starttls(
    stripped_smtp: StartTlsStrippingProxy,
    starttls_relay: SmtpRelay,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The relay behind offers AUTH only after STARTTLS, so the plain session cannot log in:
    the failure is the login's, not a refusal to go on without TLS."""
    with caplog.at_level(logging.WARNING, logger="mailio.outbound.smtp"):
        result = _send_one(stripped_smtp.port, "starttls-if-available")

    [warning] = [r for r in caplog.records if "WITHOUT encryption" in r.getMessage()]
    assert warning.levelno == logging.WARNING
    assert isinstance(result.error, PermanentSendError)
    assert isinstance(result.error.__cause__, AuthenticationError)
    assert stripped_smtp.starttls_refused == 0  # STARTTLS was not on offer, so never tried
    assert starttls_relay.received == []


def test_imap_starttls_if_available_falls_back_to_plain_with_a_warning(
    stripped_imap: StartTlsStrippingProxy, caplog: pytest.LogCaptureFixture
) -> None:
    address = unique_address("stripped")
    server = imap_settings(stripped_imap.port, security="starttls-if-available", username=address)

    with (
        caplog.at_level(logging.WARNING, logger="mailio.inbound.imap"),
        ImapMailbox(server, "INBOX") as box,
    ):
        assert box.count() == 0

    [warning] = [r for r in caplog.records if "WITHOUT encryption" in r.getMessage()]
    assert warning.levelno == logging.WARNING
    assert stripped_imap.starttls_refused == 0
    logins = [line for line in stripped_imap.client_lines if b" LOGIN " in line.upper()]
    assert len(logins) == 1 and address.encode() in logins[0]  # in plain text, as warned
    assert _credentials_offered(stripped_imap) == logins


def test_starttls_server_wanting_a_client_certificate_says_so(
    tls_ca: TlsCa, tls_dovecot: DovecotServer
) -> None:
    context = tls_ca.server.server_context()
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cafile=str(tls_ca.ca_file))
    with SmtpRelay(tls_dovecot.lmtp_port, auth_password=PASSWORD, tls_context=context) as relay:
        result = _send_one(relay.port, "starttls-required", ca_file=tls_ca.ca_file)

    assert not result.ok and not relay.received
    assert "set client_cert and client_key" in str(result.error)
