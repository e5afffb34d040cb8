"""Sending through an SMTP server with a small pool of aiosmtplib connections.

:meth:`SmtpSender.send_messages` is synchronous for its callers; inside, one
event loop runs up to ``pool.max_connections`` connections that take messages
from a shared queue, each replaced after ``pool.max_messages_per_connection``
messages. Connections live for one call and are closed (QUIT) at its end: an
aiosmtplib connection belongs to the event loop that opened it, and a batch
every few seconds gains little from idle connections a server may drop.

Envelope: MAIL FROM is ``from_address`` when the server sets it (like JavaMail's
``mail.smtp.from``), else the message's From/Sender; RCPT TO are the To, Cc and
Bcc addresses (Bcc is not transmitted). A message refused for only some of its
recipients counts as sent; the refusals are logged.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import socket
import ssl
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.message import Message
from email.utils import make_msgid

import aiosmtplib

from mailio.auth import check_token_provider, login_refused
from mailio.config import SmtpServer
from mailio.connect import open_socket
from mailio.errors import (
    AuthenticationError,
    ConfigError,
    MailIOError,
    PermanentSendError,
    SecurityError,
    SendError,
    TemporarySendError,
    TransportError,
    TransportTimeout,
)
from mailio.outbound.base import SendResult
from mailio.outbound.envelope import StoredMessage, envelope_recipients, envelope_sender, mime_bytes
from mailio.tls import client_ssl_context, security_error, server_label, upgrade_offered

log = logging.getLogger(__name__)


class SmtpSender:
    """Sends through one SMTP server; implements :class:`mailio.outbound.base.Sender`.

    ``token_provider`` returns an OAuth2 access token; it is required when the
    server's ``auth`` is ``"oauth2"`` and called once per connection (from a
    worker thread, so it may block on a token endpoint).
    """

    def __init__(
        self, server: SmtpServer, *, token_provider: Callable[[], str] | None = None
    ) -> None:
        check_token_provider(server, token_provider)
        self.server = server
        self.name = server.name or server_label(server)
        self._token_provider = token_provider
        self._local_hostname = server.local_hostname

    def send_messages(self, messages: Sequence[Message]) -> list[SendResult]:
        """Send each message; returns one result per message, in order. Never raises
        for a message's or a connection's failure: those become the results' errors."""
        if not messages:
            return []
        batch = list(messages)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._send_all(batch))
        # Called from inside an event loop (an async caller): keep ours off its thread.
        with ThreadPoolExecutor(max_workers=1) as executor:
            return executor.submit(asyncio.run, self._send_all(batch)).result()

    def close(self) -> None:
        """Nothing to release: connections are closed at the end of each call."""

    # -- the batch ---------------------------------------------------------------

    async def _send_all(self, messages: list[Message]) -> list[SendResult]:
        if self._local_hostname is None:
            # aiosmtplib would look this up on every connect; it can take seconds.
            self._local_hostname = await asyncio.to_thread(socket.getfqdn)
        batch = _Batch(messages)
        workers = min(self.server.pool.max_connections, len(messages))
        await asyncio.gather(*(self._work(batch) for _ in range(workers)))
        return batch.results()

    async def _work(self, batch: _Batch) -> None:
        """One pooled connection: take messages until the queue is empty."""
        limit = self.server.pool.max_messages_per_connection
        smtp: aiosmtplib.SMTP | None = None
        sent = 0
        try:
            while batch.pending:
                index = batch.pending.popleft()
                if smtp is None:
                    try:
                        smtp = await self._open()
                    except (
                        MailIOError
                    ) as exc:  # TransportError, or ConfigError from a token provider
                        # Leave the message to another connection; if none can
                        # connect either, this error becomes every leftover's result.
                        batch.pending.appendleft(index)
                        batch.connection_failures.append(_connection_failure(exc, self.name))
                        return
                    sent = 0
                result = await self._send_one(smtp, batch.messages[index])
                if _closing(result) and index not in batch.resent:
                    # 421: the server closes this connection (a per-connection limit
                    # lower than ours); the message was not taken, a new one may.
                    batch.resent.add(index)
                    batch.pending.appendleft(index)
                    await _quit(smtp)
                    smtp = None
                    continue
                batch.done[index] = result
                sent += 1
                if not smtp.is_connected:
                    smtp = None  # dropped: the next message gets a new connection
                elif sent >= limit:
                    await _quit(smtp)
                    smtp = None
        finally:
            if smtp is not None:
                await _quit(smtp)

    async def _send_one(self, smtp: aiosmtplib.SMTP, message: Message) -> SendResult:
        message_id = message.get("Message-ID")
        if message_id is None:
            message = _copy_with_message_id(message)
            message_id = message["Message-ID"]
        try:
            if isinstance(message, StoredMessage) and "Bcc" not in message:
                # Finished bytes: sent as stored, not re-flattened (see envelope.py).
                refused, _ = await smtp.sendmail(
                    envelope_sender(message, self.server.from_address),
                    envelope_recipients(message),
                    mime_bytes(message),
                )
            else:
                refused, _ = await smtp.send_message(message, sender=self.server.from_address)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refusal.code for refusal in exc.recipients]
            # Retry when any refusal was temporary: the permanent ones fail again harmlessly.
            code = next((c for c in codes if 400 <= c < 500), codes[0] if codes else None)
            text = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            return SendResult(message_id, _reply_error(code, f"all recipients refused ({text})"))
        except aiosmtplib.SMTPResponseException as exc:
            return SendResult(message_id, _reply_error(exc.code, exc.message))
        except (aiosmtplib.SMTPTimeoutError, TimeoutError) as exc:
            smtp.close()
            timeout = self.server.timeouts.socket
            return _failed(
                message_id,
                TemporarySendError(
                    f"{self.name} did not answer within {timeout:g} s (timeouts.socket) "
                    "while sending"
                ),
                exc,
            )
        except (aiosmtplib.SMTPServerDisconnected, OSError) as exc:
            smtp.close()
            return _failed(
                message_id,
                TemporarySendError(f"connection to {self.name} lost while sending: {exc}"),
                exc,
            )
        except (aiosmtplib.SMTPException, ValueError) as exc:
            # No From/recipients, an address SMTP cannot carry, SMTPUTF8 not offered…
            return _failed(
                message_id, PermanentSendError(f"{self.name} cannot send this message: {exc}"), exc
            )
        if refused:
            log.warning(
                "%s accepted message %s but refused some recipients: %s",
                self.name,
                message_id,
                ", ".join(
                    f"{rcpt} ({reply.code} {reply.message})" for rcpt, reply in refused.items()
                ),
            )
        return SendResult(message_id)

    # -- one connection ------------------------------------------------------------

    async def _open(self) -> aiosmtplib.SMTP:
        """Connect, greet, secure and log in; raises TransportError and its subclasses."""
        server = self.server
        context = client_ssl_context(server) if server.security != "none" else None
        sock = await asyncio.to_thread(
            open_socket,
            server.host,
            server.port,
            timeout=server.timeouts.connect,
            proxy=server.proxy,
        )
        smtp = aiosmtplib.SMTP(
            hostname=server.host,
            sock=sock,
            timeout=server.timeouts.socket,
            use_tls=server.security == "tls",
            start_tls=False,  # decided below, after reading EHLO ourselves
            tls_context=context,
            local_hostname=self._local_hostname,
        )
        try:
            await self._greet(smtp)
            if server.security in ("starttls-required", "starttls-if-available"):
                await self._start_tls(smtp, context)
            await self._login(smtp)
        except BaseException:
            smtp.close()
            raise
        return smtp

    async def _greet(self, smtp: aiosmtplib.SMTP) -> None:
        server = self.server
        label = server_label(server)
        try:
            # With a ready socket "connect" is the TLS handshake (implicit TLS) and the greeting.
            await smtp.connect(timeout=server.timeouts.greeting)
            await smtp.ehlo()
        except aiosmtplib.SMTPConnectTimeoutError as exc:
            raise TransportTimeout(
                f"{label} sent no greeting within {server.timeouts.greeting:g} s "
                "(timeouts.greeting)"
            ) from exc
        except aiosmtplib.SMTPConnectResponseError as exc:
            raise TransportError(
                f"{label} refused the connection: {exc.code} {exc.message}"
            ) from exc
        except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected) as exc:
            tls_failure = _ssl_cause(exc)
            if tls_failure is not None:
                raise security_error(tls_failure, server) from exc
            hint = _tls_hangup_hint(server) if server.security == "tls" else ""
            raise TransportError(f"{label} closed the connection at greeting: {exc}{hint}") from exc
        except aiosmtplib.SMTPTimeoutError as exc:
            raise TransportTimeout(
                f"{label} did not answer EHLO within {server.timeouts.socket:g} s (timeouts.socket)"
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise TransportError(f"{label} refused EHLO: {exc.code} {exc.message}") from exc

    async def _start_tls(self, smtp: aiosmtplib.SMTP, context: ssl.SSLContext | None) -> None:
        server = self.server
        label = server_label(server)
        if not upgrade_offered(server, smtp.supports_extension("starttls"), protocol="smtp"):
            return
        try:
            await smtp.starttls(tls_context=context, timeout=server.timeouts.greeting)
        except (ssl.SSLError, ssl.CertificateError) as exc:
            raise security_error(exc, server) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise SecurityError(
                f"{label} offered STARTTLS but refused it: {exc.code} {exc.message}"
            ) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            tls_failure = _ssl_cause(exc)
            if tls_failure is not None:
                raise security_error(tls_failure, server) from exc
            if isinstance(exc, TimeoutError):
                raise TransportTimeout(
                    f"TLS handshake with {label} took longer than "
                    f"{server.timeouts.greeting:g} s (timeouts.greeting)"
                ) from exc
            raise SecurityError(f"STARTTLS with {label} failed: {exc}") from exc

    async def _login(self, smtp: aiosmtplib.SMTP) -> None:
        server = self.server
        method = server.auth_method
        if method == "none":
            return
        username = server.username or ""
        address = f"{server.host}:{server.port}"
        try:
            if method == "password":
                assert server.password is not None  # SmtpServer's validator guarantees it
                await smtp.login(username, server.password.get_secret_value())
            else:
                assert self._token_provider is not None
                token = await asyncio.to_thread(self._token_provider)
                await smtp.auth_xoauth2(username, token)
        except aiosmtplib.SMTPAuthenticationError as exc:
            # The cause keeps the reply code: 454 (try later) and 535 (wrong) differ.
            raise login_refused(server, f"{exc.code} {exc.message}") from exc
        except aiosmtplib.SMTPTimeoutError as exc:
            raise TransportTimeout(f"{address} did not answer AUTH in time") from exc
        except aiosmtplib.SMTPServerDisconnected as exc:
            hint = _tls_hangup_hint(server) if server.security != "none" else ""
            raise TransportError(f"{address} closed the connection during AUTH{hint}") from exc
        except aiosmtplib.SMTPException as exc:
            # Typically: the server advertises no AUTH (on a plain port it may want STARTTLS).
            raise AuthenticationError(
                f"SMTP login for {username} at {address} impossible: {exc}"
            ) from exc


@dataclass
class _Batch:
    """Shared state of one send_messages call; touched only from the event loop's thread."""

    messages: list[Message]
    pending: deque[int] = field(init=False)
    done: dict[int, SendResult] = field(default_factory=dict)
    resent: set[int] = field(default_factory=set)  # given a second connection after a 421
    connection_failures: list[SendError] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.pending = deque(range(len(self.messages)))

    def results(self) -> list[SendResult]:
        leftover_error = (
            self.connection_failures[-1]
            if self.connection_failures
            else TemporarySendError("not sent: no connection was available")
        )
        return [
            self.done.get(index) or SendResult(message.get("Message-ID") or "", leftover_error)
            for index, message in enumerate(self.messages)
        ]


def _connection_failure(exc: MailIOError, name: str) -> SendError:
    """What a failed connect/TLS/login means for the messages that were not sent.

    Timeouts and refused connections pass: retry. A TLS refusal, refused
    credentials or a broken token configuration will not fix themselves: permanent
    until someone changes the configuration (except a 4xx AUTH reply, which the
    server says is temporary).
    """
    code = getattr(exc.__cause__, "code", None)
    error: SendError
    if isinstance(exc, SecurityError | ConfigError):
        error = PermanentSendError(f"not sent: {exc}")
    elif isinstance(exc, AuthenticationError):
        cls = (
            TemporarySendError
            if isinstance(code, int) and 400 <= code < 500
            else PermanentSendError
        )
        error = cls(f"not sent: {exc}", code)
    else:
        error = TemporarySendError(f"not sent: {exc}")
    error.__cause__ = exc
    log.error("%s: %s", name, exc)
    return error


def _failed(message_id: str, error: SendError, cause: BaseException) -> SendResult:
    error.__cause__ = cause  # the library's exception, for logs and for callers who care
    return SendResult(message_id, error)


def _tls_hangup_hint(server: SmtpServer) -> str:
    # With TLS 1.3 the server judges our certificate after the handshake has
    # "succeeded": a refusal shows up only as a closed connection.
    if server.client_cert is None:
        return (
            "; if the server requires a client certificate, set client_cert and client_key"
            f" (or it refuses TLS versions from {server.tls_min_version} up)"
        )
    return f"; the server may refuse our client certificate or TLS from {server.tls_min_version}"


def _closing(result: SendResult) -> bool:
    return result.error is not None and result.error.code == 421


def _reply_error(code: int | None, text: str) -> SendError:
    if code is not None and 500 <= code < 600:
        return PermanentSendError(f"refused: {code} {text}", code)
    return TemporarySendError(f"refused: {code} {text}", code)


def _ssl_cause(exc: BaseException) -> ssl.SSLError | ssl.CertificateError | None:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError | ssl.CertificateError):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None


def _copy_with_message_id(message: Message) -> Message:
    # The caller's message stays as it was; the id we add is the one in the result.
    with_id = copy.deepcopy(message)
    with_id["Message-ID"] = make_msgid()
    return with_id


async def _quit(smtp: aiosmtplib.SMTP) -> None:
    try:
        await smtp.quit()
    except (aiosmtplib.SMTPException, OSError):
        smtp.close()  # the server is gone already; only our side is left
