"""Fixtures: unreachable, never-greeting and silent servers, and counting proxies (per test)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers.proxies import HttpConnectProxy, Socks5Proxy
from tests.servers.silent_servers import (
    IMAP_CAPABILITIES,
    IMAP_GREETING,
    SMTP_GREETING,
    FullBacklogPort,
    NeverGreetingServer,
    SilentAfterGreetingServer,
)


@pytest.fixture
def full_backlog_port() -> Iterator[FullBacklogPort]:
    """A loopback ``.port`` where connecting hangs (the accept queue is full)."""
    with FullBacklogPort() as port:
        yield port


@pytest.fixture
def never_greeting_server() -> Iterator[NeverGreetingServer]:
    """Accepts connections on ``.port`` and never sends a greeting."""
    with NeverGreetingServer() as server:
        yield server


@pytest.fixture
def silent_smtp_server() -> Iterator[SilentAfterGreetingServer]:
    """Sends an SMTP 220 greeting, then never answers (EHLO hangs)."""
    with SilentAfterGreetingServer(SMTP_GREETING) as server:
        yield server


@pytest.fixture
def silent_imap_server() -> Iterator[SilentAfterGreetingServer]:
    """Sends an IMAP ``* OK`` greeting and answers CAPABILITY, then never answers (LOGIN hangs)."""
    with SilentAfterGreetingServer(IMAP_GREETING, IMAP_CAPABILITIES) as server:
        yield server


@pytest.fixture
def socks5_proxy() -> Iterator[Socks5Proxy]:
    """SOCKS5 proxy without auth; ``.url`` is socks5://127.0.0.1:port; counts tunnels."""
    with Socks5Proxy() as proxy:
        yield proxy


@pytest.fixture
def http_connect_proxy() -> Iterator[HttpConnectProxy]:
    """HTTP CONNECT proxy without auth; ``.url`` is http://127.0.0.1:port; counts tunnels."""
    with HttpConnectProxy() as proxy:
        yield proxy
