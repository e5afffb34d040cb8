"""The reply folder on an IMAP server, read with imapclient.

One connection (one login) serves every call until :meth:`ImapMailbox.close`;
a connection the server dropped in between is replaced once, transparently.
A batch costs two round trips whatever its size: ``UID SEARCH`` of the oldest
messages, then one ``UID FETCH`` of their sizes and bodies. With a size limit
(``max_message_bytes``) the sizes come first, in a ``UID FETCH`` of
``RFC822.SIZE`` alone; the bodies are fetched only of the messages within the
limit, and of the others only the start of the header (one more ``UID FETCH``,
only when there are such messages).
"""

from __future__ import annotations

import imaplib
import logging
import ssl
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from imapclient import IMAPClient, SocketTimeout
from imapclient.exceptions import LoginError

from mailio.auth import check_token_provider, login_refused
from mailio.config import ImapServer
from mailio.connect import open_socket
from mailio.errors import (
    AuthenticationError,
    MailboxError,
    MailIOError,
    SecurityError,
    TransportError,
    TransportTimeout,
)
from mailio.inbound.base import HEADER_BYTES, FetchedMessage
from mailio.tls import client_ssl_context, security_error, server_label, upgrade_offered

log = logging.getLogger(__name__)

_T = TypeVar("_T")
_BODY = b"BODY[]"
_SIZE = b"RFC822.SIZE"
_HEADER = b"BODY[HEADER]<0>"  # how servers name the partial fetch below
_FETCH_HEADER = f"BODY.PEEK[HEADER]<0.{HEADER_BYTES}>"
_DELETED = b"\\Deleted"


class ImapMailbox:
    """One folder on one IMAP server; implements :class:`mailio.inbound.base.Mailbox`.

    ``token_provider`` returns an OAuth2 access token; it is required when the
    server's ``auth`` is ``"oauth2"`` and called at each login. Messages over
    ``max_message_bytes`` are returned with their header only (see
    :mod:`mailio.inbound.base`).
    """

    def __init__(
        self,
        server: ImapServer,
        folder: str,
        *,
        token_provider: Callable[[], str] | None = None,
        max_message_bytes: int | None = None,
    ) -> None:
        check_token_provider(server, token_provider)
        self.server = server
        self.folder = folder
        self.max_message_bytes = max_message_bytes
        self.name = server.name or server_label(server)
        self._token_provider = token_provider
        self._client: IMAPClient | None = None
        self._selected = False

    # -- Mailbox ---------------------------------------------------------------

    def fetch_batch(self, limit: int) -> list[FetchedMessage]:
        if limit < 1:
            return []
        return self._run("fetch from", lambda client: self._fetch_oldest(client, limit))

    def delete(self, keys: Sequence[str]) -> None:
        uids = _uids(keys)
        if uids:
            self._run("delete from", lambda client: self._delete(client, uids))

    def move(self, keys: Sequence[str], folder: str) -> None:
        uids = _uids(keys)
        if uids:
            self._run(f"move to {folder!r} from", lambda client: self._move(client, uids, folder))

    def count(self) -> int:
        return self._run("count", lambda client: self._select(client))

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            # The server may already have closed it; all that is left is our socket.
            with suppress(OSError):
                client.shutdown()

    def __enter__(self) -> ImapMailbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- operations on a logged-in client ---------------------------------------

    def _select(self, client: IMAPClient) -> int:
        response = client.select_folder(self.folder, readonly=False)
        self._selected = True
        return int(response[b"EXISTS"])

    def _ensure_selected(self, client: IMAPClient) -> None:
        if not self._selected:
            self._select(client)

    def _fetch_oldest(self, client: IMAPClient, limit: int) -> list[FetchedMessage]:
        # Re-select each time: SELECT refreshes EXISTS. Messages someone flagged
        # \Deleted but did not expunge are not ours to act on; UIDs ascend with age.
        exists = self._select(client)
        if exists == 0:
            return []
        uids = sorted(client.search(["UNDELETED"]))[:limit]
        if not uids:
            return []
        if self.max_message_bytes is None:
            found = client.fetch(uids, ["RFC822.SIZE", "BODY.PEEK[]"])
            return _messages(uids, found, _sizes(found))
        sizes = _sizes(client.fetch(uids, ["RFC822.SIZE"]))
        present = [uid for uid in uids if uid in sizes]  # the others were expunged meanwhile
        within = [uid for uid in present if sizes[uid] <= self.max_message_bytes]
        over = [uid for uid in present if sizes[uid] > self.max_message_bytes]
        found = client.fetch(within, ["BODY.PEEK[]"]) if within else {}
        if over:
            found.update(client.fetch(over, [_FETCH_HEADER]))
        return _messages(uids, found, sizes)

    def _delete(self, client: IMAPClient, uids: list[int]) -> None:
        self._ensure_selected(client)
        client.add_flags(uids, [_DELETED], silent=True)
        if client.has_capability("UIDPLUS"):
            client.uid_expunge(uids)
            return
        # Plain EXPUNGE removes every \Deleted message; do it only when that is ours alone.
        others = set(client.search(["DELETED"])) - set(uids)
        if others:
            log.warning(
                "%s has no UIDPLUS and folder %r holds %d other message(s) flagged \\Deleted; "
                "left %d processed message(s) flagged \\Deleted instead of expunging them",
                self.name,
                self.folder,
                len(others),
                len(uids),
            )
            return
        client.expunge()

    def _move(self, client: IMAPClient, uids: list[int], folder: str) -> None:
        self._ensure_selected(client)
        if not client.folder_exists(folder):
            try:
                client.create_folder(folder)
            except imaplib.IMAP4.error:
                # Another worker may have created it a moment ago.
                if not client.folder_exists(folder):
                    raise
        if client.has_capability("MOVE"):
            client.move(uids, folder)
        else:
            client.copy(uids, folder)
            self._delete(client, uids)

    # -- connection --------------------------------------------------------------

    def _run(self, what: str, operation: Callable[[IMAPClient], _T]) -> _T:
        reused = self._client is not None
        try:
            with self._translated(what):
                return operation(self._connection())
        except TransportError as exc:
            self._discard()
            if not reused or isinstance(
                exc, TransportTimeout | SecurityError | AuthenticationError
            ):
                raise
            # A kept connection may have been closed by the server while idle: one retry.
            log.info("%s: connection lost (%s); reconnecting", self.name, exc)
        with self._translated(what):
            return operation(self._connection())

    def _connection(self) -> IMAPClient:
        if self._client is None:
            self._client = self._open()
            self._selected = False
        return self._client

    def _discard(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with suppress(OSError):
                client.shutdown()

    def _open(self) -> IMAPClient:
        server = self.server
        context = client_ssl_context(server) if server.security != "none" else None
        client = _ImapClient(server, context)
        try:
            if server.security in ("starttls-required", "starttls-if-available"):
                self._start_tls(client, context)
            self._login(client)
        except BaseException:
            with suppress(OSError):
                client.shutdown()
            raise
        return client

    def _start_tls(self, client: IMAPClient, context: ssl.SSLContext | None) -> None:
        server = self.server
        label = server_label(server)
        if not upgrade_offered(server, client.has_capability("STARTTLS"), protocol="imap"):
            return
        try:
            client.starttls(context)
        except (ssl.SSLError, ssl.CertificateError) as exc:
            raise security_error(exc, server) from exc
        except imaplib.IMAP4.error as exc:
            raise SecurityError(f"{label} offered STARTTLS but refused it: {exc}") from exc

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
                assert self._token_provider is not None
                client.oauth2_login(username, self._token_provider())
        except LoginError as exc:
            raise login_refused(server, _reply_text(exc)) from None

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        """Turn library and socket errors into :mod:`mailio.errors`."""
        label = server_label(self.server)
        place = f"folder {self.folder!r} on {label}"
        try:
            yield
        except MailIOError:
            raise
        except (ssl.SSLError, ssl.CertificateError) as exc:
            raise security_error(exc, self.server) from exc
        except TimeoutError as exc:
            raise TransportTimeout(
                f"{label} did not answer within {self.server.timeouts.socket:g} s (timeouts.socket)"
            ) from exc
        except imaplib.IMAP4.abort as exc:
            if isinstance(exc.__context__, TimeoutError):
                raise TransportTimeout(
                    f"{label} did not answer within {self.server.timeouts.socket:g} s "
                    "(timeouts.socket)"
                ) from exc
            raise TransportError(f"connection to {label} lost: {exc}") from exc
        except OSError as exc:
            raise TransportError(f"connection to {label} failed: {exc}") from exc
        except imaplib.IMAP4.error as exc:
            raise MailboxError(f"cannot {what} {place}: {_reply_text(exc)}") from exc


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
        sock.settimeout(server.timeouts.greeting)
        if self._mailio_implicit_tls is None:
            return sock
        try:
            return self._mailio_implicit_tls.wrap_socket(sock, server_hostname=server.host)
        except (ssl.SSLError, ssl.CertificateError) as exc:
            sock.close()
            raise security_error(exc, server) from exc
        except TimeoutError as exc:
            sock.close()
            raise TransportTimeout(
                f"TLS handshake with {server_label(server)} took longer than "
                f"{server.timeouts.greeting:g} s (timeouts.greeting)"
            ) from exc
        except OSError:
            sock.close()
            raise

    def _connect(self) -> None:
        try:
            super()._connect()  # type: ignore[misc]  # imaplib's private step, not in typeshed
        except TimeoutError as exc:
            if isinstance(exc, MailIOError):
                raise
            server = self._mailio_server
            # imaplib sets ``welcome`` once the greeting is in; then CAPABILITY was slow.
            silent_at = (
                "sent no greeting" if not hasattr(self, "welcome") else "did not answer CAPABILITY"
            )
            raise TransportTimeout(
                f"{server_label(server)} {silent_at} within "
                f"{server.timeouts.greeting:g} s (timeouts.greeting)"
            ) from exc


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


def _sizes(found: dict[int, dict[bytes, Any]]) -> dict[int, int]:
    return {uid: int(items[_SIZE]) for uid, items in found.items() if _SIZE in items}


def _messages(
    uids: list[int], found: dict[int, dict[bytes, Any]], sizes: dict[int, int]
) -> list[FetchedMessage]:
    """The fetched messages in ``uids`` order: whole, or (over the size limit) the header only.

    A message expunged by someone else since the SEARCH is simply absent.
    """
    messages = []
    for uid in uids:
        items = found.get(uid, {})
        if _BODY in items:  # -1: a server that left out RFC822.SIZE; len(raw) then
            messages.append(FetchedMessage(str(uid), bytes(items[_BODY]), sizes.get(uid, -1)))
        elif _HEADER in items and uid in sizes:
            header = bytes(items[_HEADER])
            messages.append(FetchedMessage(str(uid), header, sizes[uid], complete=False))
    return messages


def _uids(keys: Sequence[str]) -> list[int]:
    try:
        return sorted({int(key) for key in keys})
    except ValueError as exc:
        raise MailboxError(f"IMAP keys are UIDs (positive integers); got {list(keys)!r}") from exc


def _reply_text(exc: BaseException) -> str:
    text = str(exc)
    # imapclient formats server replies as repr(bytes): b'[NONEXISTENT] ...'
    if text.startswith(("b'", 'b"')) and text.endswith(text[1]):
        text = text[2:-1]
    return text
