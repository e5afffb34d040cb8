"""The kept IMAP connection: opened and logged in on first use, replaced once when the
server dropped it, and the one place where imaplib's and the socket's errors become ours."""

from __future__ import annotations

import imaplib
import logging
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from mailio.auth import login_refused
from mailio.config import ImapServer
from mailio.errors import (
    AuthenticationError,
    MailboxError,
    MailIOError,
    SecurityError,
    TransportError,
    TransportTimeout,
)
from mailio.inbound.imap.client import connect
from mailio.inbound.imap.responses import reply_text
from mailio.tls import (
    client_ssl_context,
    security_error,
    server_label,
    upgrade_offered,
    uses_starttls,
)

log = logging.getLogger(__name__)

_T = TypeVar("_T")


class ImapSession:
    """One logged-in connection to ``server``, kept from call to call until :meth:`close`.

    ``token_provider`` returns an OAuth2 access token; it is called at each login.
    """

    def __init__(self, server: ImapServer, token_provider: Callable[[], str] | None) -> None:
        self.server = server
        self.name = server.name or server_label(server)
        self.token_provider = token_provider
        self.client: IMAPClient | None = None

    def run(
        self, what: str, operation: Callable[[IMAPClient], _T], *, reconnect: bool = True
    ) -> _T:
        """``operation`` on the logged-in client; errors say "cannot {what}".

        A kept connection the server closed meanwhile (say, while idle) is replaced
        and the operation run again, once; a fresh one that fails is not, nor any with
        ``reconnect=False`` (a wait for mail: what arrived while the connection was
        down must be read before waiting again).
        """
        reused = self.client is not None and reconnect
        try:
            with self._translated(what):
                return operation(self._connection())
        except TransportError as exc:
            self._discard()
            if not reused or isinstance(
                exc, TransportTimeout | SecurityError | AuthenticationError
            ):
                raise
            log.info("%s: connection lost (%s); reconnecting", self.name, exc)
        with self._translated(what):
            return operation(self._connection())

    def close(self) -> None:
        """Log out. Safe to call twice; the next :meth:`run` connects again."""
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            # The server may already have closed it; all that is left is our socket.
            with suppress(OSError):
                client.shutdown()

    def _connection(self) -> IMAPClient:
        if self.client is None:
            self.client = self._open()
        return self.client

    def _discard(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            with suppress(OSError):
                client.shutdown()

    def _open(self) -> IMAPClient:
        server = self.server
        context = client_ssl_context(server) if server.security != "none" else None
        client = connect(server, context)
        try:
            if uses_starttls(server):
                self._start_tls(client, context)
            self._login(client)
        except BaseException:
            with suppress(OSError):
                client.shutdown()
            raise
        return client

    def _start_tls(self, client: IMAPClient, context: ssl.SSLContext | None) -> None:
        server = self.server
        if not upgrade_offered(server, client.has_capability("STARTTLS"), protocol="imap"):
            return
        try:
            client.starttls(context)
        except (ssl.SSLError, ssl.CertificateError) as exc:
            raise security_error(exc, server) from exc
        except imaplib.IMAP4.error as exc:
            raise SecurityError(
                f"{server_label(server)} offered STARTTLS but refused it: {exc}"
            ) from exc

    def _login(self, client: IMAPClient) -> None:
        server = self.server
        method = server.auth_method
        if method == "none":
            return
        username = server.username or ""
        try:
            if method == "password":
                assert server.password is not None  # ImapServer's validator guarantees it
                client.login(username, server.password.get_secret_value())
            else:
                assert self.token_provider is not None  # ImapMailbox checks it
                client.oauth2_login(username, self.token_provider())
        except LoginError as exc:
            # imapclient turns every imaplib error into LoginError, a cut or a timeout too.
            cause = exc.__context__
            if isinstance(cause, imaplib.IMAP4.abort | OSError):
                label = server_label(server)
                if isinstance(cause, TimeoutError) or isinstance(cause.__context__, TimeoutError):
                    raise TransportTimeout(
                        f"{label} did not answer LOGIN within {server.timeouts.socket:g} s "
                        "(timeouts.socket)"
                    ) from cause
                raise TransportError(f"connection to {label} cut during LOGIN: {cause}") from cause
            raise login_refused(server, reply_text(exc)) from None

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        """Turn library and socket errors into :mod:`mailio.errors`."""
        server = self.server
        label = server_label(server)
        silent = f"{label} did not answer within {server.timeouts.socket:g} s (timeouts.socket)"
        try:
            yield
        except MailIOError:
            raise
        except (ssl.SSLError, ssl.CertificateError) as exc:
            raise security_error(exc, server) from exc
        except TimeoutError as exc:
            raise TransportTimeout(silent) from exc
        except imaplib.IMAP4.abort as exc:
            if isinstance(exc.__context__, TimeoutError):
                raise TransportTimeout(silent) from exc
            raise TransportError(f"connection to {label} lost: {exc}") from exc
        except OSError as exc:
            raise TransportError(f"connection to {label} failed: {exc}") from exc
        except imaplib.IMAP4.error as exc:
            raise MailboxError(f"cannot {what}: {reply_text(exc)}") from exc
