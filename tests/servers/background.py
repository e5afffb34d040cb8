"""Base for the test-only TCP servers: an asyncio server on a free loopback port, in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import threading

from mailio.devservers.lifecycle import Startable
from mailio.devservers.ports import LOOPBACK

STREAM_LIMIT = 1 << 20  # long IMAP lines (FETCH of big headers) must not trip readline
START_TIMEOUT = 5.0


class BackgroundServer(Startable):
    """Subclasses implement :meth:`handle`; ``connection_count`` counts accepted connections."""

    def __init__(self) -> None:
        self.host = LOOPBACK
        self.port = 0
        self._count_lock = threading.Lock()
        self._connection_count = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.host}:{self.port})"

    @property
    def connection_count(self) -> int:
        with self._count_lock:
            return self._connection_count

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    def start(self) -> None:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            self._server = loop.run_until_complete(
                asyncio.start_server(self._serve, self.host, 0, limit=STREAM_LIMIT)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()

        self._loop = loop
        self._thread = threading.Thread(target=run, name=repr(self), daemon=True)
        self._thread.start()
        if not ready.wait(START_TIMEOUT):
            raise RuntimeError(f"{type(self).__name__} did not start within {START_TIMEOUT}s")

    def stop(self) -> None:
        """Close the listener and every open connection; wait for the thread to end."""
        loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(START_TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._count_lock:
            self._connection_count += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        try:
            await self.handle(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away: normal for these tests
        finally:
            self._tasks.discard(task)  # type: ignore[arg-type]
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy bytes until EOF, then half-close, so the far side sees the end too."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except ConnectionError:
        writer.close()


async def tunnel(
    client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    """Both directions at once, until both ends have finished."""
    try:
        await asyncio.gather(pipe(client[0], upstream[1]), pipe(upstream[0], client[1]))
    finally:
        upstream[1].close()
