"""A flag one thread raises and another waits on beside a socket (a socket pair).

A mailbox waiting for new mail (IMAP IDLE) waits on the server's socket and on this
at once, so that stopping or waking the waiter takes effect at once, not at the next
timeout of a polling slice.
"""

from __future__ import annotations

import selectors
import socket
from contextlib import suppress
from enum import Enum


class Arrival(Enum):
    """How a wait for new mail ended."""

    NEW_MAIL = "new mail"  # the server announced a message (or may have: read the folder)
    WOKEN = "woken"  # another thread asked for a cycle now, or to stop
    TIMED_OUT = "timed out"  # nothing happened within the timeout


class Wakeup:
    """Set from any thread; :meth:`wait`, or a selector given :meth:`fileno`, sees it."""

    def __init__(self) -> None:
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)

    def fileno(self) -> int:
        return self._reader.fileno()

    def set(self) -> None:
        # A full buffer means it is set many times over already.
        with suppress(BlockingIOError, OSError):
            self._writer.send(b"!")

    def consume(self) -> bool:
        """Clear the flag; True when it was set."""
        was_set = False
        with suppress(BlockingIOError, OSError):
            while self._reader.recv(4096):
                was_set = True
        return was_set

    def wait(self, timeout: float) -> bool:
        """Wait until set or ``timeout`` seconds passed; True when set (and clears it)."""
        with selectors.DefaultSelector() as selector:
            selector.register(self._reader, selectors.EVENT_READ)
            selector.select(max(timeout, 0))
        return self.consume()

    def close(self) -> None:
        self._reader.close()
        self._writer.close()

    def __enter__(self) -> Wakeup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
