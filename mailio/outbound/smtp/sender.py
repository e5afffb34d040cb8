"""The SMTP sender: a pool of sessions, opened for one call, sharing its messages."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from email.message import Message

import aiosmtplib

from mailio.auth import check_token_provider
from mailio.config import SmtpServer
from mailio.errors import MailIOError
from mailio.outbound.base import SendResult
from mailio.outbound.smtp.batch import Batch
from mailio.outbound.smtp.outcomes import closes_connection, connection_failure
from mailio.outbound.smtp.session import open_session, quit_session
from mailio.outbound.smtp.transaction import send_message
from mailio.tls import server_label

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

    async def _send_all(self, messages: list[Message]) -> list[SendResult]:
        if self._local_hostname is None:
            # aiosmtplib would look this up on every connect; it can take seconds.
            self._local_hostname = await asyncio.to_thread(socket.getfqdn)
        batch = Batch(messages)
        workers = min(self.server.pool.max_connections, len(messages))
        await asyncio.gather(*(self._work(batch) for _ in range(workers)))
        return batch.results()

    async def _work(self, batch: Batch) -> None:
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
                    except MailIOError as exc:  # TransportError, or ConfigError from a token
                        # Leave the message to another connection; if none can
                        # connect either, this error becomes every leftover's result.
                        log.error("%s: %s", self.name, exc)
                        batch.pending.appendleft(index)
                        batch.connection_failures.append(connection_failure(exc))
                        return
                    sent = 0
                result = await send_message(smtp, batch.messages[index], self.server, self.name)
                if closes_connection(result) and index not in batch.resent:
                    # 421: the server closes this connection (a per-connection limit
                    # lower than ours); the message was not taken, a new one may.
                    batch.resent.add(index)
                    batch.pending.appendleft(index)
                    await quit_session(smtp)
                    smtp = None
                    continue
                batch.done[index] = result
                sent += 1
                if not smtp.is_connected:
                    smtp = None  # dropped: the next message gets a new connection
                elif sent >= limit:
                    await quit_session(smtp)
                    smtp = None
        finally:
            if smtp is not None:
                await quit_session(smtp)

    async def _open(self) -> aiosmtplib.SMTP:
        return await open_session(
            self.server, local_hostname=self._local_hostname, token_provider=self._token_provider
        )
