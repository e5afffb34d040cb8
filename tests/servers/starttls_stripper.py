"""A man in the middle that hides STARTTLS: for ``starttls-required`` vs ``-if-available``.

It forwards to a real server but removes STARTTLS from SMTP EHLO replies and
from IMAP capability lists, and answers a client's STARTTLS itself with a
refusal (as a downgrade attacker would), never passing it on.
"""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Literal

from tests.servers.background import STREAM_LIMIT, BackgroundServer

Protocol = Literal["smtp", "imap"]

_IMAP_CAPABILITY_LINE = re.compile(rb"^(\* CAPABILITY |\S+ OK \[CAPABILITY )", re.IGNORECASE)
_IMAP_STARTTLS = re.compile(rb" STARTTLS(?=[ \]\r\n])", re.IGNORECASE)


class StartTlsStrippingProxy(BackgroundServer):
    """Proxy to ``target_host:target_port`` speaking ``protocol`` ("smtp" or "imap").

    ``starttls_refused`` counts the STARTTLS commands it refused; ``client_lines``
    records every line clients sent, so a test can prove no credentials were offered.
    """

    def __init__(self, target_host: str, target_port: int, protocol: Protocol) -> None:
        super().__init__()
        self.target_host = target_host
        self.target_port = target_port
        self.protocol = protocol
        self._lock = threading.Lock()
        self._starttls_refused = 0
        self._client_lines: list[bytes] = []

    @property
    def starttls_refused(self) -> int:
        with self._lock:
            return self._starttls_refused

    @property
    def client_lines(self) -> list[bytes]:
        """A copy of every line received from clients (refused STARTTLS included), in order."""
        with self._lock:
            return list(self._client_lines)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(
            self.target_host, self.target_port, limit=STREAM_LIMIT
        )
        try:
            await asyncio.gather(
                self._client_to_server(reader, writer, up_writer),
                self._server_to_client(up_reader, writer),
            )
        finally:
            up_writer.close()

    async def _client_to_server(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        upstream: asyncio.StreamWriter,
    ) -> None:
        while line := await reader.readline():
            with self._lock:
                self._client_lines.append(line)
            refusal = self._refusal(line)
            if refusal is None:
                upstream.write(line)
                await upstream.drain()
            else:
                with self._lock:
                    self._starttls_refused += 1
                writer.write(refusal)
                await writer.drain()
        upstream.close()

    def _refusal(self, line: bytes) -> bytes | None:
        words = line.split()
        if self.protocol == "smtp" and [w.upper() for w in words] == [b"STARTTLS"]:
            return b"454 4.7.0 TLS not available\r\n"
        if self.protocol == "imap" and len(words) == 2 and words[1].upper() == b"STARTTLS":
            return words[0] + b" BAD STARTTLS not available\r\n"
        return None

    async def _server_to_client(
        self, upstream: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        reply: list[bytes] = []
        while line := await upstream.readline():
            if self.protocol == "imap":
                writer.write(_strip_imap(line))
            else:
                reply.append(line)
                if len(line) >= 4 and line[3:4] == b"-":
                    continue  # an SMTP multi-line reply goes out whole, once filtered
                writer.write(b"".join(_strip_smtp(reply)))
                reply = []
            await writer.drain()
        writer.close()


def _strip_imap(line: bytes) -> bytes:
    if _IMAP_CAPABILITY_LINE.match(line):
        return _IMAP_STARTTLS.sub(b"", line)
    return line


def _strip_smtp(reply: list[bytes]) -> list[bytes]:
    kept = [line for line in reply if line[4:].strip().upper() != b"STARTTLS"]
    if not kept or len(kept) == len(reply):
        return reply
    # the last line of a multi-line reply has "code SP", the others "code -"
    marked = [line[:3] + b"-" + line[4:] for line in kept[:-1]]
    return [*marked, kept[-1][:3] + b" " + kept[-1][4:]]
