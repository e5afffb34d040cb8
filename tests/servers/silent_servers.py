"""Servers that misbehave in time: never greet, or greet and then say nothing more.

For the greeting and socket timeouts of the SMTP/IMAP transports.
"""

from __future__ import annotations

import asyncio

from tests.servers.background import BackgroundServer

SMTP_GREETING = b"220 silent.localhost ESMTP ready\r\n"
IMAP_GREETING = b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] silent ready\r\n"


class NeverGreetingServer(BackgroundServer):
    """Accepts TCP connections and never sends a byte (a greeting timeout must fire)."""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # hold the connection until the client gives up


class SilentAfterGreetingServer(BackgroundServer):
    """Sends ``greeting`` and then reads everything while answering nothing."""

    def __init__(self, greeting: bytes) -> None:
        super().__init__()
        self.greeting = greeting

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(self.greeting)
        await writer.drain()
        while await reader.read(65536):
            pass
