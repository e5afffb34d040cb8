"""The SMTP sender: a pool of sessions, kept between calls, sharing each call's messages."""

from __future__ import annotations

import asyncio
import logging
import socket
import weakref
from collections.abc import Callable, Sequence
from email.message import Message

import aiosmtplib

from mailio.auth import check_token_provider
from mailio.config import SmtpServer
from mailio.errors import MailIOError
from mailio.outbound.base import SendResult
from mailio.outbound.smtp.batch import Batch
from mailio.outbound.smtp.outcomes import closes_connection, connection_failure
from mailio.outbound.smtp.pool import PooledSession, SessionPool
from mailio.outbound.smtp.session import open_session, quit_session
from mailio.outbound.smtp.transaction import send_message
from mailio.tls import server_label

log = logging.getLogger(__name__)


class SmtpSender:
    """Sends through one SMTP server; implements :class:`mailio.outbound.base.Sender`.

    ``token_provider`` returns an OAuth2 access token; it is required when the
    server's ``auth`` is ``"oauth2"`` and called once per connection (from a
    worker thread, so it may block on a token endpoint). Sessions are kept open
    between calls (:mod:`.pool`) until :meth:`close`, or until the sender is
    collected.
    """

    def __init__(
        self, server: SmtpServer, *, token_provider: Callable[[], str] | None = None
    ) -> None:
        check_token_provider(server, token_provider)
        self.server = server
        self.name = server.name or server_label(server)
        self._token_provider = token_provider
        self._local_hostname = server.local_hostname
        self._pool = SessionPool(max_idle=server.pool.max_connections)
        # A sender dropped without close() still says QUIT and stops its thread.
        self._closer = weakref.finalize(self, self._pool.close)

    def send_messages(self, messages: Sequence[Message]) -> list[SendResult]:
        """Send each message; returns one result per message, in order. Never raises
        for a message's or a connection's failure: those become the results' errors."""
        if not messages:
            return []
        # On the pool's own loop and thread, also when called from an event loop.
        return self._pool.run(self._send_all(list(messages)))

    def close(self) -> None:
        """QUIT the sessions kept open; a later call opens new ones."""
        self._pool.close()

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
        session: PooledSession | None = None
        try:
            while batch.pending:
                index = batch.pending.popleft()
                if session is None:
                    session = self._pool.take()
                if session is None:
                    try:
                        session = PooledSession(await self._open())
                    except MailIOError as exc:  # TransportError, or ConfigError from a token
                        # Leave the message to another connection; if none can
                        # connect either, this error becomes every leftover's result.
                        log.error("%s: %s", self.name, exc)
                        batch.pending.appendleft(index)
                        batch.connection_failures.append(connection_failure(exc))
                        return
                smtp = session.smtp
                result = await send_message(smtp, batch.messages[index], self.server, self.name)
                reused, session.reused = session.reused, False
                dropped_while_idle = reused and result.error is not None and not smtp.is_connected
                if (closes_connection(result) or dropped_while_idle) and index not in batch.resent:
                    # 421: the server closes this connection (a per-connection limit
                    # lower than ours, an idle timeout); or it had dropped a session we
                    # kept. The message was not taken: a new connection may take it.
                    batch.resent.add(index)
                    batch.pending.appendleft(index)
                    await quit_session(smtp)
                    session = None
                    continue
                batch.done[index] = result
                session.sent += 1
                if not smtp.is_connected:
                    session = None  # dropped: the next message gets a new connection
                elif session.sent >= limit:
                    await quit_session(smtp)
                    session = None
        except BaseException:
            if session is not None:
                session.smtp.close()  # cut short mid-message: not fit to be kept
            raise
        if session is not None:
            await self._pool.give_back(session)

    async def _open(self) -> aiosmtplib.SMTP:
        return await open_session(
            self.server, local_hostname=self._local_hostname, token_provider=self._token_provider
        )
