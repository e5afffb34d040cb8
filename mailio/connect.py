"""Open a TCP connection to a mail server, directly or through a proxy.

Both IMAP and SMTP start from here, so a proxy and the connect timeout behave
the same for either. ``proxy`` is ``socks5://[user:pass@]host:port`` (python-socks;
the proxy resolves the server's name) or ``http://[user:pass@]host:port``, an HTTP
proxy that supports CONNECT. The connect timeout covers the TCP connect and the
proxy handshake together: it bounds "how long until we can talk to the server".
"""

from __future__ import annotations

import base64
import socket
from urllib.parse import unquote, urlsplit

from python_socks import ProxyConnectionError, ProxyError, ProxyTimeoutError
from python_socks.sync import Proxy

from mailio.errors import TransportError, TransportTimeout

_MAX_CONNECT_RESPONSE = 16 * 1024


def open_socket(host: str, port: int, *, timeout: float, proxy: str | None = None) -> socket.socket:
    """Return a blocking socket connected to ``host:port`` whose timeout is ``timeout``.

    Raises :class:`TransportTimeout` when the connection (with the proxy handshake)
    takes longer than ``timeout`` seconds, :class:`TransportError` otherwise.
    """
    if proxy is not None and not proxy.startswith(("socks5://", "http://")):
        raise TransportError("proxy must start with socks5:// or http://")
    where = f"{host}:{port}" + (f" through proxy {_proxy_address(proxy)}" if proxy else "")
    try:
        if proxy is None:
            sock = socket.create_connection((host, port), timeout=timeout)
        elif proxy.startswith("socks5://"):
            sock = Proxy.from_url(proxy, rdns=True).connect(host, port, timeout=timeout)
        else:
            sock = _http_connect(proxy, host, port, timeout)
    except (TimeoutError, ProxyTimeoutError) as exc:
        raise TransportTimeout(f"connecting to {where} timed out after {timeout:g} s") from exc
    except (ProxyError, ProxyConnectionError) as exc:
        raise TransportError(f"cannot connect to {where}: {exc}") from exc
    except OSError as exc:
        raise TransportError(f"cannot connect to {where}: {exc.strerror or exc}") from exc
    sock.settimeout(timeout)
    return sock


def _proxy_address(proxy: str) -> str:
    """The proxy's host:port, without any credentials in its URL."""
    parts = urlsplit(proxy)
    return f"{parts.scheme}://{parts.hostname}:{parts.port}"


def _http_connect(proxy: str, host: str, port: int, timeout: float) -> socket.socket:
    parts = urlsplit(proxy)
    if parts.hostname is None or parts.port is None:
        raise ProxyError("expected the proxy as http://host:port")
    sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
    try:
        request = f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        if parts.username is not None:
            credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            token = base64.b64encode(credentials.encode()).decode("ascii")
            request += f"Proxy-Authorization: Basic {token}\r\n"
        sock.sendall((request + "\r\n").encode("ascii"))
        status_line = _read_connect_response(sock).split(b"\r\n", 1)[0]
        fields = status_line.split(None, 2)
        if len(fields) < 2 or fields[1] != b"200":
            shown = status_line.decode("latin-1", "replace")
            raise ProxyError(f"the HTTP proxy refused the tunnel: {shown}")
    except BaseException:
        sock.close()
        raise
    return sock


def _read_connect_response(sock: socket.socket) -> bytes:
    # Read byte by byte: the server's greeting may follow the proxy's reply at once
    # and must stay in the socket for the mail protocol to read.
    response = bytearray()
    while not response.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        if not byte:
            raise ProxyError("the HTTP proxy closed the connection during CONNECT")
        response += byte
        if len(response) > _MAX_CONNECT_RESPONSE:
            raise ProxyError("the HTTP proxy sent an oversized CONNECT response")
    return bytes(response)
