"""Self-tests of the TLS fixtures and the test-only servers in tests/servers/."""

from __future__ import annotations

import smtplib
import socket
import ssl

import pytest
from imapclient import IMAPClient
from python_socks import ProxyError
from python_socks.sync import Proxy

from mailio.devservers import DovecotServer, MailStack, SmtpRelay
from tests.servers.mail_client import read_mailbox
from tests.servers.proxies import HttpConnectProxy, Socks5Proxy
from tests.servers.silent_servers import (
    IMAP_CAPABILITIES,
    SMTP_GREETING,
    SilentAfterGreetingServer,
)
from tests.servers.starttls_stripper import StartTlsStrippingProxy
from tests.servers.tls_stack import PASSWORD, TlsCa

SHORT = 0.3  # seconds; only ever the time we expect to run out, never an assertion


def _raw(to: str) -> bytes:
    return f"From: engine@example.test\r\nTo: {to}\r\nSubject: tls\r\n\r\nhello\r\n".encode()


def _stack(dovecot: DovecotServer, relay: SmtpRelay) -> MailStack:
    return MailStack("dovecot-tls", dovecot.host, dovecot.imap_port, relay.port, PASSWORD)


def test_tls_dovecot_offers_starttls_and_imaps_with_the_test_ca(
    tls_ca: TlsCa, tls_dovecot: DovecotServer
) -> None:
    with IMAPClient(tls_dovecot.host, tls_dovecot.imap_port, ssl=False) as imap:
        assert b"STARTTLS" in imap.capabilities()
        imap.starttls(tls_ca.client_context())
        imap.login("user@example.test", PASSWORD)
    assert tls_dovecot.imaps_port is not None
    with IMAPClient(
        "localhost", tls_dovecot.imaps_port, ssl=True, ssl_context=tls_ca.client_context()
    ) as imap:
        imap.login("user@example.test", PASSWORD)
        assert imap.select_folder("INBOX")[b"EXISTS"] == 0


def test_plain_dovecot_offers_no_starttls(dovecot_server: DovecotServer) -> None:
    assert dovecot_server.imaps_port is None
    with IMAPClient(dovecot_server.host, dovecot_server.imap_port, ssl=False) as imap:
        assert b"STARTTLS" not in imap.capabilities()


def test_wrong_host_dovecot_fails_hostname_verification(
    tls_ca: TlsCa, wrong_host_dovecot: DovecotServer
) -> None:
    assert wrong_host_dovecot.imaps_port is not None
    with pytest.raises(ssl.SSLCertVerificationError, match="match"):
        IMAPClient(
            "localhost",
            wrong_host_dovecot.imaps_port,
            ssl=True,
            ssl_context=tls_ca.client_context(),
        )


def test_starttls_relay_offers_auth_only_after_starttls_and_delivers(
    tls_ca: TlsCa, tls_dovecot: DovecotServer, starttls_relay: SmtpRelay
) -> None:
    to = "starttls-approver@example.test"
    with smtplib.SMTP("localhost", starttls_relay.port) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls") and not smtp.has_extn("auth")
        smtp.starttls(context=tls_ca.client_context())
        smtp.ehlo()
        assert smtp.has_extn("auth")
        smtp.login("engine@example.test", PASSWORD)
        smtp.sendmail("engine@example.test", [to], _raw(to))
    assert len(read_mailbox(_stack(tls_dovecot, starttls_relay), to)) >= 1
    assert starttls_relay.connection_count == 1


def test_implicit_tls_relay_speaks_tls_from_the_first_byte(
    tls_ca: TlsCa, implicit_tls_relay: SmtpRelay
) -> None:
    with smtplib.SMTP_SSL(
        "localhost", implicit_tls_relay.port, context=tls_ca.client_context()
    ) as smtp:
        smtp.login("engine@example.test", PASSWORD)
        smtp.sendmail("engine@example.test", ["x@example.test"], _raw("x@example.test"))
    assert [e.recipients for e in implicit_tls_relay.received] == [("x@example.test",)]
    with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out"):
        smtplib.SMTP("localhost", implicit_tls_relay.port, timeout=SHORT)  # no plain greeting


def test_no_starttls_relay_takes_auth_over_plain_text(no_starttls_relay: SmtpRelay) -> None:
    with smtplib.SMTP("localhost", no_starttls_relay.port) as smtp:
        smtp.ehlo()
        assert not smtp.has_extn("starttls")
        smtp.login("engine@example.test", PASSWORD)


@pytest.mark.parametrize("relay_fixture", ["wrong_host_relay", "wrong_host_starttls_relay"])
def test_wrong_host_relays_fail_hostname_verification(
    tls_ca: TlsCa, relay_fixture: str, request: pytest.FixtureRequest
) -> None:
    relay: SmtpRelay = request.getfixturevalue(relay_fixture)
    with pytest.raises(ssl.SSLCertVerificationError, match="match"):
        if relay.implicit_tls_context is not None:
            smtplib.SMTP_SSL("localhost", relay.port, context=tls_ca.client_context())
        else:
            with smtplib.SMTP("localhost", relay.port) as smtp:
                smtp.starttls(context=tls_ca.client_context())


def test_stripping_proxy_hides_and_refuses_smtp_starttls(
    stripped_smtp: StartTlsStrippingProxy,
) -> None:
    with smtplib.SMTP(stripped_smtp.host, stripped_smtp.port) as smtp:
        smtp.ehlo()
        assert smtp.esmtp_features and not smtp.has_extn("starttls")
        assert not smtp.has_extn("auth")  # the relay offers it only after STARTTLS
        code, _ = smtp.docmd("STARTTLS")
        assert code == 454
        assert smtp.noop()[0] == 250  # the session goes on in plain text
    assert stripped_smtp.starttls_refused == 1


def test_stripping_proxy_hides_and_refuses_imap_starttls(
    tls_ca: TlsCa, stripped_imap: StartTlsStrippingProxy
) -> None:
    with IMAPClient(stripped_imap.host, stripped_imap.port, ssl=False) as imap:
        assert b"STARTTLS" not in imap.capabilities()
        assert b"IMAP4REV1" in imap.capabilities()
        with pytest.raises(IMAPClient.Error):
            imap.starttls(tls_ca.client_context())  # refused by the client: not advertised
        imap.login("user@example.test", PASSWORD)  # plain login still passes through
        assert b"STARTTLS" not in imap.capabilities()
    with socket.create_connection((stripped_imap.host, stripped_imap.port), timeout=5) as s:
        lines = s.makefile("rwb")
        assert lines.readline().startswith(b"* OK")
        lines.write(b"a1 STARTTLS\r\n")
        lines.flush()
        assert lines.readline() == b"a1 BAD STARTTLS not available\r\n"
    assert stripped_imap.starttls_refused == 1


def test_never_greeting_server_accepts_and_stays_quiet(never_greeting_server) -> None:  # type: ignore[no-untyped-def]
    with socket.create_connection((never_greeting_server.host, never_greeting_server.port)) as s:
        s.settimeout(SHORT)
        with pytest.raises(TimeoutError):
            s.recv(1)
    assert never_greeting_server.connection_count == 1


def test_silent_smtp_server_greets_then_ignores_ehlo(
    silent_smtp_server: SilentAfterGreetingServer,
) -> None:
    smtp = smtplib.SMTP(timeout=SHORT)
    code, _ = smtp.connect(silent_smtp_server.host, silent_smtp_server.port)
    assert code == 220
    with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out"):
        smtp.ehlo()
    smtp.close()


def test_silent_imap_server_answers_capability_then_ignores_commands(
    silent_imap_server: SilentAfterGreetingServer,
) -> None:
    address = (silent_imap_server.host, silent_imap_server.port)
    with socket.create_connection(address, timeout=SHORT) as s:
        lines = s.makefile("rwb")
        assert lines.readline().startswith(b"* OK")
        lines.write(b"a1 CAPABILITY\r\n")
        lines.flush()
        assert lines.readline() == b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n"
        assert lines.readline() == b"a1 OK done\r\n"
        lines.write(b"a2 LOGIN user@example.test secret\r\n")
        lines.flush()
        with pytest.raises(TimeoutError):
            lines.readline()


def _greeting_via(url: str, host: str, port: int) -> bytes:
    with Proxy.from_url(url).connect(dest_host=host, dest_port=port, timeout=5) as sock:
        return sock.makefile("rb").readline()


# The proxies tunnel to any TCP server: the silent servers greet, which is all these need.


def test_socks5_proxy_counts_each_tunnel(
    socks5_proxy: Socks5Proxy, silent_smtp_server: SilentAfterGreetingServer
) -> None:
    target = (silent_smtp_server.host, silent_smtp_server.port)
    for _ in range(2):
        assert _greeting_via(socks5_proxy.url, *target) == SMTP_GREETING
    assert socks5_proxy.tunnel_count == 2
    assert socks5_proxy.targets == [target] * 2


def test_socks5_proxy_with_credentials_refuses_wrong_ones(
    silent_imap_server: SilentAfterGreetingServer,
) -> None:
    with Socks5Proxy(credentials=("user", "pw")) as proxy:
        url = f"socks5://user:pw@{proxy.host}:{proxy.port}"
        greeting = _greeting_via(url, silent_imap_server.host, silent_imap_server.port)
        assert greeting.startswith(b"* OK")
        with pytest.raises(ProxyError):
            _greeting_via(f"socks5://user:nope@{proxy.host}:{proxy.port}", "127.0.0.1", 1)
        assert proxy.tunnel_count == 1


def _capabilities_via(url: str, host: str, port: int) -> bytes:
    """CAPABILITY through the tunnel. python-socks reads the proxy's CONNECT reply with one
    recv, which may take the server's greeting with it; an answer asked for afterwards stays."""
    with Proxy.from_url(url).connect(dest_host=host, dest_port=port, timeout=5) as sock:
        sock.sendall(b"a1 CAPABILITY\r\n")
        lines = sock.makefile("rb")
        while not (line := lines.readline()).startswith(b"* CAPABILITY"):
            assert line, "the tunnel closed before the server answered"
        return line


def test_http_connect_proxy_counts_each_tunnel(
    http_connect_proxy: HttpConnectProxy, silent_imap_server: SilentAfterGreetingServer
) -> None:
    target = (silent_imap_server.host, silent_imap_server.port)
    assert IMAP_CAPABILITIES in _capabilities_via(http_connect_proxy.url, *target)
    assert http_connect_proxy.tunnel_count == 1
    assert http_connect_proxy.targets == [target]


def test_http_connect_proxy_can_refuse_tunnels(
    silent_smtp_server: SilentAfterGreetingServer,
) -> None:
    with HttpConnectProxy(refuse_status=403) as proxy:
        with pytest.raises(ProxyError, match="403"):
            _greeting_via(proxy.url, silent_smtp_server.host, silent_smtp_server.port)
        assert proxy.tunnel_count == 0
        assert proxy.connection_count == 1
