"""Open SMTP sessions kept between calls, on an event loop of their own.

An aiosmtplib connection belongs to the event loop that opened it, so a sender
runs every call on one loop, in a thread of its own started on first use. A
session a call has finished with waits here for the next call (the outbox's
next group, the next dispatch) instead of saying QUIT: opening one costs a
connect, a greeting, EHLO and often STARTTLS and a login, more than sending
several messages. A session idle for IDLE_SECONDS is closed (QUIT): servers
drop idle clients (Postfix after 300 s, others sooner), and the loop notices a
server's close on its own, so a dropped session is rarely taken at all.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiosmtplib

from mailio.outbound.smtp.session import quit_session

IDLE_SECONDS = 30.0
T = TypeVar("T")


@dataclass
class PooledSession:
    """One open session. ``sent`` counts its messages over all calls (for
    ``max_messages_per_connection``); ``reused``: taken from the idle pool and not
    yet used by this call, so a dropped connection tells of idling, not of a message."""

    smtp: aiosmtplib.SMTP
    sent: int = 0
    reused: bool = False


@dataclass
class _Loop:
    """An event loop, its thread and its idle sessions: touched only from that thread."""

    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    pid: int
    idle: list[tuple[PooledSession, asyncio.TimerHandle]] = field(default_factory=list)
    closing: set[asyncio.Task[None]] = field(default_factory=set)  # referenced until done


class SessionPool:
    """Runs a sender's calls on its loop and keeps up to ``max_idle`` sessions between them.

    Holds no reference to the sender, so that a sender nobody closes can still be
    collected, and close its pool from a finalizer.
    """

    def __init__(self, max_idle: int, idle_seconds: float | None = None) -> None:
        self._max_idle = max_idle
        self._idle_seconds = IDLE_SECONDS if idle_seconds is None else idle_seconds
        self._current: _Loop | None = None
        self._calls = 0
        self._lock = threading.Condition()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the pool's loop; blocks the calling thread until it ends."""
        with self._lock:
            current = self._current
            if current is None or current.pid != os.getpid():
                # First use, after close(), or in a forked child: the parent's thread
                # and sockets are not this process's to use (nor to QUIT).
                current = self._current = _start_loop()
            self._calls += 1
        try:
            return asyncio.run_coroutine_threadsafe(coroutine, current.loop).result()
        finally:
            with self._lock:
                self._calls -= 1
                self._lock.notify_all()

    def take(self) -> PooledSession | None:
        """An idle session still connected, or None. On the loop's thread."""
        current = self._current
        if current is None or current.loop is not asyncio.get_running_loop():
            return None
        while current.idle:
            session, expiry = current.idle.pop()
            expiry.cancel()
            if session.smtp.is_connected:
                session.reused = True
                return session
            session.smtp.close()
        return None

    async def give_back(self, session: PooledSession) -> None:
        """Keep ``session`` for a later call (or QUIT when enough are kept). On the loop."""
        current = self._current
        loop = asyncio.get_running_loop()
        if (
            current is None
            or current.loop is not loop
            or len(current.idle) >= self._max_idle
            or not session.smtp.is_connected
        ):
            await quit_session(session.smtp)
            return
        expiry = loop.call_later(self._idle_seconds, _expire, current, session)
        current.idle.append((session, expiry))

    def close(self) -> None:
        """Wait for running calls, QUIT the idle sessions and stop the loop's thread.

        Safe to call twice; a later call starts afresh. From the loop's own thread
        (a finalizer run by the garbage collector there) it does not wait.
        """
        with self._lock:
            self._lock.wait_for(lambda: self._calls == 0 or _on_loop_thread(self._current))
            current, self._current = self._current, None
        if current is None or current.pid != os.getpid():
            return
        try:
            current.loop.call_soon_threadsafe(_shut_down, current)
        except RuntimeError:  # the loop is closed already (interpreter shutting down)
            return
        if not _on_loop_thread(current):
            current.thread.join()


def _on_loop_thread(current: _Loop | None) -> bool:
    return current is not None and current.thread is threading.current_thread()


def _start_loop() -> _Loop:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=_serve, args=(loop,), name="smtp-sessions", daemon=True)
    thread.start()
    return _Loop(loop, thread, os.getpid())


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        loop.close()


def _expire(current: _Loop, session: PooledSession) -> None:
    for index, (kept, _) in enumerate(current.idle):
        if kept is session:
            del current.idle[index]
            task = current.loop.create_task(quit_session(session.smtp))
            current.closing.add(task)
            task.add_done_callback(current.closing.discard)
            return


def _shut_down(current: _Loop) -> None:
    sessions = [session for session, _ in current.idle]
    for _, expiry in current.idle:
        expiry.cancel()
    current.idle.clear()
    expiring = list(current.closing)

    async def quit_all() -> None:
        await asyncio.gather(*expiring, *(quit_session(s.smtp) for s in sessions))
        current.loop.stop()

    current.closing.add(current.loop.create_task(quit_all()))
