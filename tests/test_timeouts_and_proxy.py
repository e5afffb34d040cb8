"""Timeouts (connect, greeting, socket) and proxies (SOCKS5, HTTP CONNECT).

The misbehaving servers here are real sockets on loopback: a listener whose
backlog is full (SYNs are dropped, so connecting times out), one that accepts
but never greets, and one that greets and then stays silent. The proxies are
small real SOCKS5 / HTTP CONNECT proxies that count the tunnels they open;
mail goes through them to the session's Dovecot and SmtpRelay.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from mailio.config import ImapServer, SmtpServer, TimeoutSettings
from mailio.connect import open_socket
from mailio.devservers.ports import LOOPBACK
from mailio.errors import TemporarySendError, TransportError, TransportTimeout
from mailio.inbound.imap import ImapMailbox
from mailio.outbound.smtp import SmtpSender

SHORT = TimeoutSettings(connect=0.3, greeting=0.3, socket=0.3)


def _imap(port: int, **overrides) -> ImapServer:
    settings = {
        "host": LOOPBACK,
        "port": port,
        "security": "none",
        "username": "approvals@example.test",
        "password": "secret",
        "timeouts": SHORT,
    }
    settings.update(overrides)
    return ImapServer(**settings)


def _smtp(port: int, **overrides) -> SmtpServer:
    settings = {
        "host": LOOPBACK,
        "port": port,
        "security": "none",
        "username": "engine@example.test",
        "password": "secret",
        "timeouts": SHORT,
    }
    settings.update(overrides)
    return SmtpServer(**settings)


def _message(to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "engine@example.test"
    message["To"] = to
    message["Subject"] = "through a proxy"
    message.set_content("hello\n")
    return message


def _send_error(server: SmtpServer) -> BaseException | None:
    [result] = SmtpSender(server).send_messages([_message("someone@example.test")])
    assert isinstance(result.error, TemporarySendError)
    return result.error.__cause__


class _Threads:
    """Runs daemon threads for a test server and closes its sockets at the end."""

    def __init__(self) -> None:
        self.sockets: list[socket.socket] = []

    def spawn(self, target, *args) -> None:
        threading.Thread(target=target, args=args, daemon=True).start()

    def close(self) -> None:
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()


@pytest.fixture
def threads() -> Iterator[_Threads]:
    running = _Threads()
    yield running
    running.close()


# -- misbehaving servers ----------------------------------------------------------------


@pytest.fixture
def full_backlog_port(threads) -> int:
    """A port whose accept queue is full: the kernel drops new SYNs, connecting hangs."""
    listener = socket.create_server((LOOPBACK, 0), backlog=0)
    port = listener.getsockname()[1]
    filler = socket.create_connection((LOOPBACK, port))
    threads.sockets += [listener, filler]
    return port


@pytest.fixture
def never_greeting_port(threads) -> int:
    """Accepts connections (the kernel does) but never says a word."""
    listener = socket.create_server((LOOPBACK, 0))
    threads.sockets.append(listener)
    return listener.getsockname()[1]


@pytest.fixture(params=["smtp", "imap"])
def silent_server(request, threads) -> tuple[str, int]:
    """Greets (and answers IMAP's CAPABILITY), then never answers again."""
    protocol = request.param
    listener = socket.create_server((LOOPBACK, 0))
    threads.sockets.append(listener)

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                threads.sockets.append(conn)
                threads.spawn(talk, conn)

    def talk(conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn.makefile("rwb") as stream:
            stream.write(b"220 hello\r\n" if protocol == "smtp" else b"* OK ready\r\n")
            stream.flush()
            for line in stream:
                tag, _, command = line.partition(b" ")
                if protocol == "imap" and command.strip().upper() == b"CAPABILITY":
                    stream.write(b"* CAPABILITY IMAP4rev1\r\n" + tag + b" OK done\r\n")
                    stream.flush()
                # anything else: silence

    threads.spawn(serve)
    return protocol, listener.getsockname()[1]


def test_connect_timeout_is_a_transport_timeout(full_backlog_port):
    with pytest.raises(TransportTimeout, match="timed out after 0.3 s"):
        open_socket(LOOPBACK, full_backlog_port, timeout=0.3)


def test_imap_connect_timeout(full_backlog_port):
    with pytest.raises(TransportTimeout, match=f"{LOOPBACK}:{full_backlog_port}"):
        ImapMailbox(_imap(full_backlog_port), "INBOX").count()


def test_imap_server_that_never_greets_times_out_on_the_greeting(never_greeting_port):
    with pytest.raises(TransportTimeout, match="no greeting within 0.3 s"):
        ImapMailbox(_imap(never_greeting_port), "INBOX").count()


def test_smtp_server_that_never_greets_times_out_on_the_greeting(never_greeting_port):
    cause = _send_error(_smtp(never_greeting_port))

    assert isinstance(cause, TransportTimeout)
    assert "no greeting within 0.3 s" in str(cause)


def test_a_server_that_stops_answering_hits_the_socket_timeout(silent_server):
    protocol, port = silent_server
    if protocol == "smtp":
        cause = _send_error(_smtp(port))
    else:
        with pytest.raises(TransportTimeout) as caught:
            ImapMailbox(_imap(port), "INBOX").count()
        cause = caught.value

    assert isinstance(cause, TransportTimeout)
    assert "timeouts.socket" in str(cause)


# -- proxies ---------------------------------------------------------------------------


def _pump(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    with contextlib.suppress(OSError):
        target.shutdown(socket.SHUT_WR)


class _CountingProxy:
    """A real proxy on loopback; ``tunnels`` counts the upstream connections it opened."""

    def __init__(self, threads: _Threads, kind: str) -> None:
        self.kind = kind
        self.tunnels = 0
        self._threads = threads
        self._listener = socket.create_server((LOOPBACK, 0))
        threads.sockets.append(self._listener)
        self.url = f"{kind}://{LOOPBACK}:{self._listener.getsockname()[1]}"
        threads.spawn(self._serve)

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self._listener.accept()
                self._threads.sockets.append(client)
                self._threads.spawn(self._handle, client)

    def _handle(self, client: socket.socket) -> None:
        with contextlib.suppress(OSError, ValueError):
            host, port = self._socks5(client) if self.kind == "socks5" else self._http(client)
            upstream = socket.create_connection((host, port))
            self._threads.sockets.append(upstream)
            self.tunnels += 1
            if self.kind == "socks5":
                client.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("0.0.0.0") + b"\x00\x00")
            else:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self._threads.spawn(_pump, upstream, client)
            _pump(client, upstream)

    @staticmethod
    def _socks5(client: socket.socket) -> tuple[str, int]:
        stream = client.makefile("rb")
        _version, count = stream.read(2)
        stream.read(count)  # offered methods: we take "no authentication"
        client.sendall(b"\x05\x00")
        _ver, _cmd, _rsv, address_type = stream.read(4)
        if address_type == 1:
            host = socket.inet_ntoa(stream.read(4))
        elif address_type == 3:
            host = stream.read(stream.read(1)[0]).decode()
        else:
            raise ValueError("IPv6 is not used on this loopback")
        (port,) = struct.unpack("!H", stream.read(2))
        return host, port

    @staticmethod
    def _http(client: socket.socket) -> tuple[str, int]:
        request = b""
        while not request.endswith(b"\r\n\r\n"):
            request += client.recv(1)
        method, target, _ = request.split(b"\r\n", 1)[0].split(b" ")
        if method != b"CONNECT":
            raise ValueError("only CONNECT")
        host, _, port = target.decode().rpartition(":")
        return host, int(port)


@pytest.fixture(params=["socks5", "http"])
def proxy(request, threads) -> _CountingProxy:
    return _CountingProxy(threads, request.param)


def test_smtp_mail_goes_through_the_proxy(mail_stack, proxy):
    to = mail_stack.new_address("proxied")
    server = _smtp(mail_stack.smtp_port, proxy=proxy.url, password=mail_stack.password)

    [result] = SmtpSender(server).send_messages([_message(to)])

    assert result.ok, result.error
    assert proxy.tunnels == 1
    assert any(to in envelope.recipients for envelope in mail_stack.relay.received)


def test_imap_reads_through_the_proxy(mail_stack, proxy):
    address = mail_stack.new_address("proxied")
    server = _imap(
        mail_stack.imap_port, proxy=proxy.url, username=address, password=mail_stack.password
    )

    with ImapMailbox(server, "INBOX") as box:
        assert box.count() == 0
        assert box.fetch_batch(5) == []

    assert proxy.tunnels == 1  # one login serves every call


def test_a_proxy_that_is_not_there_is_a_transport_error_naming_it(proxy):
    dead = socket.create_server((LOOPBACK, 0))
    dead_port = dead.getsockname()[1]
    dead.close()
    url = f"{proxy.kind}://user:hunter2@{LOOPBACK}:{dead_port}"

    with pytest.raises(TransportError) as caught:
        open_socket(LOOPBACK, 25, timeout=1, proxy=url)

    assert f"{LOOPBACK}:{dead_port}" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_an_http_proxy_refusing_the_tunnel_is_a_transport_error(threads):
    listener = socket.create_server((LOOPBACK, 0))
    threads.sockets.append(listener)

    def refuse() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            with conn:
                while not conn.recv(4096).endswith(b"\r\n\r\n"):
                    pass
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\n\r\n")

    threads.spawn(refuse)
    url = f"http://{LOOPBACK}:{listener.getsockname()[1]}"

    with pytest.raises(TransportError, match="403 Forbidden"):
        open_socket("mail.example.test", 25, timeout=2, proxy=url)
