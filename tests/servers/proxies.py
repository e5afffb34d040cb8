"""Counting SOCKS5 and HTTP CONNECT proxies, for the transports' proxy support.

Each counts the tunnels it opened (``tunnel_count``) and records their targets,
so a test can prove that a connection really went through the proxy.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import ipaddress
import struct
import threading
from http import HTTPStatus

from tests.servers.background import BackgroundServer, tunnel

CONNECT_TIMEOUT = 10.0


class _TunnelCounter(BackgroundServer):
    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._targets: list[tuple[str, int]] = []

    @property
    def tunnel_count(self) -> int:
        """Tunnels opened (the target accepted the connection)."""
        with self._lock:
            return len(self._targets)

    @property
    def targets(self) -> list[tuple[str, int]]:
        """(host, port) of every tunnel opened, in order."""
        with self._lock:
            return list(self._targets)

    def _opened(self, host: str, port: int) -> None:
        with self._lock:
            self._targets.append((host, port))

    @staticmethod
    async def _connect(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT)


class Socks5Proxy(_TunnelCounter):
    """RFC 1928 CONNECT; no auth, or RFC 1929 username/password when ``credentials`` is set."""

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        super().__init__()
        self.credentials = credentials

    @property
    def url(self) -> str:
        return f"socks5://{self.host}:{self.port}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        version, count = await reader.readexactly(2)
        methods = await reader.readexactly(count)
        wanted = 0x02 if self.credentials else 0x00
        if version != 5 or wanted not in methods:
            writer.write(b"\x05\xff")
            return
        writer.write(bytes([5, wanted]))
        if self.credentials and not await self._login(reader, writer):
            return
        _, command, _, address_type = await reader.readexactly(4)
        host = await _read_socks_address(reader, address_type)
        (port,) = struct.unpack("!H", await reader.readexactly(2))
        if command != 1 or host is None:
            writer.write(_socks_reply(0x07 if command != 1 else 0x08))
            return
        try:
            upstream = await self._connect(host, port)
        except (OSError, TimeoutError):
            writer.write(_socks_reply(0x05))  # connection refused
            return
        self._opened(host, port)
        writer.write(_socks_reply(0x00))
        await writer.drain()
        await tunnel((reader, writer), upstream)

    async def _login(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        assert self.credentials is not None
        _, user_length = await reader.readexactly(2)
        user = await reader.readexactly(user_length)
        (password_length,) = await reader.readexactly(1)
        password = await reader.readexactly(password_length)
        ok = hmac.compare_digest(user, self.credentials[0].encode()) and hmac.compare_digest(
            password, self.credentials[1].encode()
        )
        writer.write(b"\x01\x00" if ok else b"\x01\x01")
        return ok


async def _read_socks_address(reader: asyncio.StreamReader, address_type: int) -> str | None:
    if address_type == 0x01:
        return str(ipaddress.IPv4Address(await reader.readexactly(4)))
    if address_type == 0x04:
        return str(ipaddress.IPv6Address(await reader.readexactly(16)))
    if address_type == 0x03:
        (length,) = await reader.readexactly(1)
        return (await reader.readexactly(length)).decode("idna")
    return None


def _socks_reply(status: int) -> bytes:
    return bytes([5, status, 0, 1]) + bytes(4) + b"\x00\x00"


class HttpConnectProxy(_TunnelCounter):
    """HTTP/1.1 CONNECT. ``credentials``: require Proxy-Authorization Basic (else 407).
    ``refuse_status``: answer every CONNECT with that status instead (e.g. 403)."""

    def __init__(
        self, credentials: tuple[str, str] | None = None, refuse_status: int | None = None
    ) -> None:
        super().__init__()
        self.credentials = credentials
        self.refuse_status = refuse_status

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in header_lines if line)
        }
        method, _, rest = request_line.partition(" ")
        target = rest.partition(" ")[0]
        host, _, port_text = target.rpartition(":")
        if method != "CONNECT" or not host or not port_text.isdigit():
            writer.write(_http_status(405))
            return
        if self.credentials and not self._authorized(headers.get("proxy-authorization", "")):
            writer.write(_http_status(407))
            return
        if self.refuse_status is not None:
            writer.write(_http_status(self.refuse_status))
            return
        try:
            upstream = await self._connect(host.strip("[]"), int(port_text))
        except (OSError, TimeoutError):
            writer.write(_http_status(502))
            return
        self._opened(host.strip("[]"), int(port_text))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await tunnel((reader, writer), upstream)

    def _authorized(self, header: str) -> bool:
        assert self.credentials is not None
        expected = base64.b64encode(":".join(self.credentials).encode()).decode()
        return hmac.compare_digest(header, f"Basic {expected}")


def _http_status(code: int) -> bytes:
    reason = HTTPStatus(code).phrase  # the standard phrase, so clients' messages read as usual
    extra = 'Proxy-Authenticate: Basic realm="test"\r\n' if code == 407 else ""
    return f"HTTP/1.1 {code} {reason}\r\n{extra}Content-Length: 0\r\n\r\n".encode()


class CuttingTunnel(BackgroundServer):
    """A plain TCP tunnel to ``target`` whose open connections a test can cut (both ends
    closed at once, as a server crash or a reset does) or freeze (kept open, nothing
    passed on: a connection that died without a word, as behind a NAT that forgot it).
    Connections opened after either go through normally."""

    def __init__(self, target_host: str, target_port: int) -> None:
        super().__init__()
        self._target = (target_host, target_port)
        self._open: set[asyncio.Task[None]] = set()
        self._frozen: set[asyncio.StreamWriter] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = await asyncio.open_connection(*self._target)
        task = asyncio.current_task()
        assert task is not None
        self._open.add(task)  # type: ignore[arg-type]
        self._writers.add(writer)
        try:
            await asyncio.gather(
                self._pass(reader, upstream[1], writer), self._pass(upstream[0], writer, writer)
            )
        finally:
            self._open.discard(task)  # type: ignore[arg-type]
            self._writers.discard(writer)
            upstream[1].close()

    async def _pass(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        client: asyncio.StreamWriter,
    ) -> None:
        while data := await reader.read(65536):
            if client in self._frozen:
                continue  # swallowed: neither side hears the other
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()

    def cut(self) -> int:
        """Close every open connection; returns how many there were."""
        assert self._loop is not None

        async def cut_all() -> int:
            tasks = list(self._open)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            return len(tasks)

        return asyncio.run_coroutine_threadsafe(cut_all(), self._loop).result(5)

    def freeze(self) -> int:
        """Stop passing bytes on every open connection, leaving them open; returns how many."""
        assert self._loop is not None

        async def freeze_all() -> int:
            self._frozen |= self._writers
            return len(self._writers)

        return asyncio.run_coroutine_threadsafe(freeze_all(), self._loop).result(5)
