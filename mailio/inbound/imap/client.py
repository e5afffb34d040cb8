"""The IMAP connection itself: a socket from :func:`mailio.connect.open_socket`
(proxy, connect timeout), the greeting within ``timeouts.greeting``, implicit TLS."""

from __future__ import annotations

import imaplib
import ssl
from typing import Any

from imapclient import IMAPClient, SocketTimeout

from mailio.config import ImapServer
from mailio.connect import open_socket
from mailio.errors import MailIOError
from mailio.tls import greeting_timeout, handshake_timeout, no_greeting, security_error


def connect(server: ImapServer, context: ssl.SSLContext | None) -> IMAPClient:
    """A connected, greeted (not logged-in) client; ``context`` for TLS, None for none."""
    return _ImapClient(server, context)


class _Imap4(imaplib.IMAP4):
    """imaplib's IMAP4 over a socket from :func:`mailio.connect.open_socket`.

    That gives the proxy and the connect timeout; the greeting then has
    ``timeouts.greeting`` seconds, and implicit TLS is set up here too.
    """

    def __init__(self, server: ImapServer, implicit_tls: ssl.SSLContext | None) -> None:
        self._mailio_server = server
        self._mailio_implicit_tls = implicit_tls
        super().__init__(server.host, server.port, timeout=server.timeouts.connect)

    def _create_socket(self, timeout: float | None = None) -> Any:
        server = self._mailio_server
        sock = open_socket(
            server.host, server.port, timeout=server.timeouts.connect, proxy=server.proxy
        )
        sock.settimeout(greeting_timeout(server))
        if self._mailio_implicit_tls is None:
            return sock
        try:
            return self._mailio_implicit_tls.wrap_socket(sock, server_hostname=server.host)
        except (ssl.SSLError, ssl.CertificateError) as exc:
            sock.close()
            raise security_error(exc, server) from exc
        except TimeoutError as exc:
            sock.close()
            raise handshake_timeout(server) from exc
        except OSError:
            sock.close()
            raise

    def _connect(self) -> None:
        try:
            super()._connect()  # type: ignore[misc]  # imaplib's private step, not in typeshed
        except TimeoutError as exc:
            if isinstance(exc, MailIOError):
                raise
            # imaplib sets ``welcome`` once the greeting is in; then CAPABILITY was slow.
            if hasattr(self, "welcome"):
                raise no_greeting(self._mailio_server, "did not answer CAPABILITY") from exc
            raise no_greeting(self._mailio_server) from exc


class _ImapClient(IMAPClient):
    """IMAPClient whose connection comes from :class:`_Imap4`."""

    def __init__(self, server: ImapServer, context: ssl.SSLContext | None) -> None:
        self._mailio_server = server
        super().__init__(
            server.host,
            server.port,
            ssl=server.security == "tls",
            ssl_context=context,
            timeout=SocketTimeout(connect=server.timeouts.connect, read=server.timeouts.socket),
        )

    def _create_IMAP4(self) -> imaplib.IMAP4:  # noqa: N802 - imapclient's hook name
        return _Imap4(self._mailio_server, self.ssl_context if self.ssl else None)
