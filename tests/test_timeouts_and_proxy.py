"""Timeouts (connect, greeting, socket) and proxies (SOCKS5, HTTP CONNECT).

The misbehaving servers are the shared real sockets on loopback from
tests/servers/: a port whose accept queue is full (SYNs are dropped, so
connecting times out), one that accepts but never greets, and ones that greet
and then stay silent. The proxies are the shared real SOCKS5 / HTTP CONNECT
proxies that count the tunnels they open; mail goes through them to the
session's Dovecot and SmtpRelay.
"""

from __future__ import annotations

from typing import Any

import pytest

from mailio.config import ImapServer, SmtpServer, TimeoutSettings
from mailio.connect import open_socket
from mailio.devservers import MailStack
from mailio.devservers.ports import LOOPBACK, free_port
from mailio.errors import TemporarySendError, TransportError, TransportTimeout
from mailio.inbound.imap import ImapMailbox
from mailio.outbound.smtp import SmtpSender
from tests.servers.proxies import HttpConnectProxy, Socks5Proxy
from tests.servers.silent_servers import (
    FullBacklogPort,
    NeverGreetingServer,
    SilentAfterGreetingServer,
)
from tests.servers.transport_settings import imap_settings, outgoing_message, smtp_settings

SHORT = TimeoutSettings(connect=0.3, greeting=0.3, socket=0.3)


def _imap(port: int, **overrides: Any) -> ImapServer:
    return imap_settings(port, **{"timeouts": SHORT} | overrides)


def _smtp(port: int, **overrides: Any) -> SmtpServer:
    return smtp_settings(port, **{"timeouts": SHORT} | overrides)


def _send_error(server: SmtpServer) -> BaseException | None:
    [result] = SmtpSender(server).send_messages([outgoing_message("someone@example.test")])
    assert isinstance(result.error, TemporarySendError)
    return result.error.__cause__


# -- misbehaving servers ----------------------------------------------------------------


def test_connect_timeout_is_a_transport_timeout(full_backlog_port: FullBacklogPort) -> None:
    with pytest.raises(TransportTimeout, match="timed out after 0.3 s"):
        open_socket(LOOPBACK, full_backlog_port.port, timeout=0.3)


def test_imap_connect_timeout(full_backlog_port: FullBacklogPort) -> None:
    port = full_backlog_port.port
    with pytest.raises(TransportTimeout, match=f"{LOOPBACK}:{port}"):
        ImapMailbox(_imap(port), "INBOX").count()


def test_imap_server_that_never_greets_times_out_on_the_greeting(
    never_greeting_server: NeverGreetingServer,
) -> None:
    with pytest.raises(TransportTimeout, match="no greeting within 0.3 s"):
        ImapMailbox(_imap(never_greeting_server.port), "INBOX").count()


def test_smtp_server_that_never_greets_times_out_on_the_greeting(
    never_greeting_server: NeverGreetingServer,
) -> None:
    cause = _send_error(_smtp(never_greeting_server.port))

    assert isinstance(cause, TransportTimeout)
    assert "no greeting within 0.3 s" in str(cause)


def test_an_smtp_server_that_stops_answering_hits_the_socket_timeout(
    silent_smtp_server: SilentAfterGreetingServer,
) -> None:
    cause = _send_error(_smtp(silent_smtp_server.port))

    assert isinstance(cause, TransportTimeout)
    assert "timeouts.socket" in str(cause)


def test_an_imap_server_that_stops_answering_hits_the_socket_timeout(
    silent_imap_server: SilentAfterGreetingServer,
) -> None:
    with pytest.raises(TransportTimeout, match="timeouts.socket"):
        ImapMailbox(_imap(silent_imap_server.port), "INBOX").count()


# -- proxies ---------------------------------------------------------------------------


@pytest.fixture(params=["socks5_proxy", "http_connect_proxy"])
def proxy(request: pytest.FixtureRequest) -> Socks5Proxy | HttpConnectProxy:
    """Each test using this runs through a SOCKS5 and through an HTTP CONNECT proxy."""
    counting: Socks5Proxy | HttpConnectProxy = request.getfixturevalue(request.param)
    return counting


def test_smtp_mail_goes_through_the_proxy(
    mail_stack: MailStack, proxy: Socks5Proxy | HttpConnectProxy
) -> None:
    to = mail_stack.new_address("proxied")
    server = _smtp(mail_stack.smtp_port, proxy=proxy.url, password=mail_stack.password)

    [result] = SmtpSender(server).send_messages([outgoing_message(to, "through a proxy")])

    assert result.ok, result.error
    assert proxy.tunnel_count == 1
    assert proxy.targets == [(LOOPBACK, mail_stack.smtp_port)]
    assert mail_stack.relay is not None
    assert any(to in envelope.recipients for envelope in mail_stack.relay.received)


def test_imap_reads_through_the_proxy(
    mail_stack: MailStack, proxy: Socks5Proxy | HttpConnectProxy
) -> None:
    address = mail_stack.new_address("proxied")
    server = _imap(
        mail_stack.imap_port, proxy=proxy.url, username=address, password=mail_stack.password
    )

    with ImapMailbox(server, "INBOX") as box:
        assert box.count() == 0
        assert box.fetch_batch(5) == []

    assert proxy.tunnel_count == 1  # one login serves every call


@pytest.mark.parametrize("scheme", ["socks5", "http"])
def test_a_proxy_that_is_not_there_is_a_transport_error_naming_it(scheme: str) -> None:
    dead_port = free_port()
    url = f"{scheme}://user:hunter2@{LOOPBACK}:{dead_port}"

    with pytest.raises(TransportError) as caught:
        open_socket(LOOPBACK, 25, timeout=1, proxy=url)

    assert f"{LOOPBACK}:{dead_port}" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_an_http_proxy_refusing_the_tunnel_is_a_transport_error() -> None:
    with HttpConnectProxy(refuse_status=403) as proxy:
        with pytest.raises(TransportError, match="403 Forbidden"):
            open_socket("mail.example.test", 25, timeout=2, proxy=proxy.url)

        assert proxy.tunnel_count == 0
