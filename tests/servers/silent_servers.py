"""Servers that misbehave in time: cannot be reached, never greet, or greet and then go quiet.

For the connect, greeting and socket timeouts of the SMTP/IMAP transports.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from mailio.devservers.lifecycle import Startable
from mailio.devservers.ports import LOOPBACK
from tests.servers.background import BackgroundServer

SMTP_GREETING = b"220 silent.localhost ESMTP ready\r\n"
IMAP_CAPABILITIES = b"IMAP4rev1 AUTH=PLAIN"
IMAP_GREETING = b"* OK [CAPABILITY %s] silent ready\r\n" % IMAP_CAPABILITIES


class NeverGreetingServer(BackgroundServer):
    """Accepts TCP connections and never sends a byte (a greeting timeout must fire)."""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # hold the connection until the client gives up


class SilentAfterGreetingServer(BackgroundServer):
    """Sends ``greeting`` and then reads everything while answering nothing.

    ``imap_capabilities``: answer IMAP ``CAPABILITY`` with them, as every IMAP
    client (imaplib) asks right after the greeting; silence then falls on LOGIN.
    """

    def __init__(self, greeting: bytes, imap_capabilities: bytes | None = None) -> None:
        super().__init__()
        self.greeting = greeting
        self.imap_capabilities = imap_capabilities

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(self.greeting)
        await writer.drain()
        while line := await reader.readline():
            tag, _, command = line.partition(b" ")
            if self.imap_capabilities is not None and command.strip().upper() == b"CAPABILITY":
                writer.write(b"* CAPABILITY %s\r\n%s OK done\r\n" % (self.imap_capabilities, tag))
                await writer.drain()


class FullBacklogPort(Startable):
    """A listening port whose accept queue is full, so the kernel drops new SYNs.

    Connecting to ``port`` hangs until the client's connect timeout fires. No
    thread: nothing is ever accepted, one filler connection keeps the queue full.
    """

    def __init__(self) -> None:
        self.host = LOOPBACK
        self.port = 0
        self._sockets: list[socket.socket] = []

    def start(self) -> None:
        listener = socket.create_server((self.host, 0), backlog=0)
        self._sockets.append(listener)
        self.port = listener.getsockname()[1]
        self._sockets.append(socket.create_connection((self.host, self.port)))

    def stop(self) -> None:
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()
        self._sockets.clear()
