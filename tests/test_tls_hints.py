"""The wrong security mode for a port, and logins cut short, against real local servers.

TLS spoken to a plain port (the session's relay and Dovecot), plain or STARTTLS
spoken to an implicit-TLS port (the TLS relay and Dovecot's imaps port, declared
implicit-TLS ports for the test, as 465 and 993 are), and tiny servers below
that hang up at LOGIN/AUTH or refuse the password and then hang up or go quiet.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from mailio import tls
from mailio.config import SmtpServer, TimeoutSettings
from mailio.devservers import DovecotServer, MailStack, SmtpRelay
from mailio.errors import AuthenticationError, SecurityError, TransportError, TransportTimeout
from mailio.inbound.imap import ImapMailbox
from mailio.outbound.smtp.session import open_session, quit_session
from tests.servers.background import BackgroundServer
from tests.servers.silent_servers import IMAP_CAPABILITIES, IMAP_GREETING, SMTP_GREETING
from tests.servers.tls_stack import TlsCa
from tests.servers.transport_settings import imap_settings, smtp_settings

SHORT_WAIT = 0.5


def _open_smtp(server: SmtpServer) -> None:
    async def session() -> None:
        await quit_session(await open_session(server, local_hostname=None, token_provider=None))

    asyncio.run(session())


@pytest.fixture
def implicit_tls_ports(monkeypatch: pytest.MonkeyPatch) -> dict[str, set[int]]:
    """Ports to treat as 465/993 (tests cannot listen there); the short wait made shorter."""
    ports: dict[str, set[int]] = {"smtp": set(), "imap": set()}
    monkeypatch.setattr(tls, "IMPLICIT_TLS_PORTS", ports)
    monkeypatch.setattr(tls, "TLS_PORT_GREETING_WAIT", SHORT_WAIT)
    return ports


# -- TLS spoken to a plain port --------------------------------------------------------


def test_smtp_tls_on_a_plain_port_suggests_starttls(mail_stack: MailStack) -> None:
    with pytest.raises(SecurityError) as caught:
        _open_smtp(smtp_settings(mail_stack.smtp_port, security="tls"))

    message = str(caught.value)
    assert "answered in plain text, not TLS (WRONG_VERSION_NUMBER)" in message
    assert 'set security = "starttls-required" there, or use the TLS port 465' in message


def test_imap_tls_on_a_plain_port_suggests_starttls(mail_stack: MailStack) -> None:
    with pytest.raises(SecurityError) as caught:
        ImapMailbox(imap_settings(mail_stack.imap_port, security="tls"), "INBOX").count()

    message = str(caught.value)
    assert "answered in plain text, not TLS (WRONG_VERSION_NUMBER)" in message
    assert 'set security = "starttls-required" there, or use the TLS port 993' in message


# -- plain or STARTTLS spoken to an implicit-TLS port -----------------------------------


@pytest.mark.parametrize("security", ["starttls-required", "none"])
def test_smtp_starttls_on_an_implicit_tls_port_suggests_tls_after_a_short_wait(
    implicit_tls_relay: SmtpRelay,
    tls_ca: TlsCa,
    implicit_tls_ports: dict[str, set[int]],
    security: str,
) -> None:
    implicit_tls_ports["smtp"].add(implicit_tls_relay.port)
    server = smtp_settings(implicit_tls_relay.port, security=security, ca_file=tls_ca.ca_file)
    started = time.monotonic()

    with pytest.raises(TransportTimeout) as caught:
        _open_smtp(server)

    assert time.monotonic() - started < server.timeouts.greeting / 2
    assert f"sent no greeting within {SHORT_WAIT:g} s" in str(caught.value)
    assert "is usually implicit TLS" in str(caught.value)
    assert 'set security = "tls"' in str(caught.value)


def test_imap_starttls_on_an_implicit_tls_port_suggests_tls_after_a_short_wait(
    tls_dovecot: DovecotServer, tls_ca: TlsCa, implicit_tls_ports: dict[str, set[int]]
) -> None:
    assert tls_dovecot.imaps_port is not None
    implicit_tls_ports["imap"].add(tls_dovecot.imaps_port)
    server = imap_settings(
        tls_dovecot.imaps_port, security="starttls-required", ca_file=tls_ca.ca_file
    )
    started = time.monotonic()

    with pytest.raises(TransportTimeout) as caught:
        ImapMailbox(server, "INBOX").count()

    assert time.monotonic() - started < server.timeouts.greeting / 2
    assert f"sent no greeting within {SHORT_WAIT:g} s" in str(caught.value)
    assert 'set security = "tls"' in str(caught.value)


def test_the_short_wait_is_only_for_non_tls_clients_on_implicit_tls_ports() -> None:
    timeouts = TimeoutSettings(greeting=30)
    on_465 = smtp_settings(465, security="starttls-required", timeouts=timeouts)
    assert tls.greeting_timeout(on_465) == tls.TLS_PORT_GREETING_WAIT
    assert tls.greeting_timeout(smtp_settings(465, security="tls", timeouts=timeouts)) == 30
    assert tls.greeting_timeout(smtp_settings(587, timeouts=timeouts)) == 30
    assert tls.greeting_timeout(imap_settings(993, security="none", timeouts=timeouts)) == 4
    quick = TimeoutSettings(greeting=1)
    assert tls.greeting_timeout(imap_settings(993, security="none", timeouts=quick)) == 1


def test_a_server_greeting_on_a_tls_port_is_not_cut_short(
    mail_stack: MailStack, implicit_tls_ports: dict[str, set[int]]
) -> None:
    """A plain server that does greet on such a port is served as before."""
    implicit_tls_ports["smtp"].add(mail_stack.smtp_port)
    _open_smtp(smtp_settings(mail_stack.smtp_port, username=None, password=None, auth="none"))


# -- logins cut short ---------------------------------------------------------------


class SmtpAuthServer(BackgroundServer):
    """Greets, offers AUTH PLAIN and LOGIN; at AUTH does ``at_auth``:
    "hang up", or "refuse" (535) and then "hang up" or "go quiet" at the next AUTH."""

    def __init__(self, at_auth: str, then: str = "") -> None:
        super().__init__()
        self.at_auth = at_auth
        self.then = then

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(SMTP_GREETING)
        refused = False
        while line := await reader.readline():
            command = line.split(b" ", 1)[0].strip().upper()
            if command == b"EHLO":
                writer.write(b"250-auth.localhost\r\n250 AUTH PLAIN LOGIN\r\n")
            elif command == b"AUTH":
                if self.at_auth == "hang up" or (refused and self.then == "hang up"):
                    return
                if refused and self.then == "go quiet":
                    await reader.read()
                    return
                refused = True
                writer.write(b"535 5.7.8 Authentication credentials invalid\r\n")
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()


class ImapHangingUpAtLogin(BackgroundServer):
    """Greets and answers CAPABILITY; closes the connection at LOGIN."""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(IMAP_GREETING)
        await writer.drain()
        while line := await reader.readline():
            tag, _, command = line.partition(b" ")
            if command.split(b" ", 1)[0].strip().upper() == b"LOGIN":
                return
            writer.write(b"* CAPABILITY %s\r\n%s OK done\r\n" % (IMAP_CAPABILITIES, tag))
            await writer.drain()


SHORT = TimeoutSettings(connect=2, greeting=2, socket=0.5)


def test_smtp_connection_cut_during_auth_is_a_cut_not_a_refusal() -> None:
    with SmtpAuthServer("hang up") as server, pytest.raises(TransportError) as caught:
        _open_smtp(smtp_settings(server.port, timeouts=SHORT))

    assert not isinstance(caught.value, AuthenticationError)
    assert "closed the connection during AUTH" in str(caught.value)


@pytest.mark.parametrize("then", ["hang up", "go quiet"])
def test_smtp_refused_password_is_a_refusal_whatever_the_server_does_next(then: str) -> None:
    with SmtpAuthServer("refuse", then) as server, pytest.raises(AuthenticationError) as caught:
        _open_smtp(smtp_settings(server.port, timeouts=SHORT))

    assert "check username and password" in str(caught.value)
    assert "535 5.7.8 Authentication credentials invalid" in str(caught.value)


def test_imap_connection_cut_during_login_is_a_cut_not_a_refusal() -> None:
    with ImapHangingUpAtLogin() as server, pytest.raises(TransportError) as caught:
        ImapMailbox(imap_settings(server.port, timeouts=SHORT), "INBOX").count()

    assert not isinstance(caught.value, AuthenticationError)
    assert "cut during LOGIN" in str(caught.value)
