"""A reply folder in memory, for tests of your own integration.

``type = "memory"`` in a ``[servers.NAME]`` table reads from
``folders(NAME)``: put raw messages in with :func:`deliver`, look at what the
engine moved with :func:`messages`. Keys ascend with arrival, as IMAP UIDs do,
so fetches are oldest first. The folders live for the life of the process;
:func:`reset` empties them. A mailbox waiting for mail (``mode = "idle"``) is woken by
:func:`deliver`, as an IMAP server announces a delivery to a client in IDLE.
"""

from __future__ import annotations

import itertools
import selectors
import threading
import time
from collections.abc import Sequence
from email.parser import BytesHeaderParser

from mailio.errors import MailboxError
from mailio.inbound.base import Arbiter, FetchedMessage, header_block, same_message_id
from mailio.inbound.wakeup import Arrival, Wakeup

_FOLDERS: dict[str, dict[str, dict[str, bytes]]] = {}  # server -> folder -> key -> raw
_KEYS = itertools.count(1)
_WAITING: dict[tuple[str, str], set[Wakeup]] = {}  # (server, folder) -> mailboxes in a wait
_WAITING_LOCK = threading.Lock()


def deliver(server: str, raw: bytes, folder: str = "INBOX") -> str:
    """Put ``raw`` in ``folder`` of the memory server ``server``; returns its key."""
    key = str(next(_KEYS))
    _FOLDERS.setdefault(server, {}).setdefault(folder, {})[key] = bytes(raw)
    with _WAITING_LOCK:
        for waiting in _WAITING.get((server, folder), ()):
            waiting.set()
    return key


def messages(server: str, folder: str = "INBOX") -> list[bytes]:
    """The raw messages in ``folder``, oldest first."""
    return list(_FOLDERS.get(server, {}).get(folder, {}).values())


def reset() -> None:
    """Forget every memory folder."""
    _FOLDERS.clear()


class MemoryMailbox:
    """One folder of a memory server, with the Mailbox interface."""

    def __init__(self, server: str, folder: str, *, max_message_bytes: int | None = None) -> None:
        self.server = server
        self.folder = folder
        self.max_message_bytes = max_message_bytes
        self._fetched: set[str] = set()  # keys of the last batch: not news when still there
        self.arbiter: Arbiter | None = None  # several workers on the folder: who takes what

    def _folder(self, name: str) -> dict[str, bytes]:
        return _FOLDERS.setdefault(self.server, {}).setdefault(name, {})

    def fetch_batch(self, limit: int) -> list[FetchedMessage]:
        batch: list[FetchedMessage] = []
        present = sorted(self._folder(self.folder).items(), key=lambda kv: int(kv[0]))
        if self.arbiter is not None:
            granted = set(self.arbiter.claim([key for key, _ in present], limit))
            present = [(key, raw) for key, raw in present if key in granted]
        for key, raw in present:
            if len(batch) == limit:
                break
            if self.max_message_bytes is not None and len(raw) > self.max_message_bytes:
                batch.append(FetchedMessage(key, header_block(raw), size=len(raw), complete=False))
            else:
                batch.append(FetchedMessage(key, raw))
        self._fetched = {message.key for message in batch}
        return batch

    def delete(self, keys: Sequence[str]) -> None:
        folder = self._folder(self.folder)
        for key in keys:
            folder.pop(key, None)  # gone already: deleting twice is not an error

    def move(self, keys: Sequence[str], folder: str) -> None:
        if folder == self.folder:
            raise MailboxError(f"cannot move messages into the folder they are in ({folder})")
        source, target = self._folder(self.folder), self._folder(folder)
        for key in keys:
            if key in source:
                target[key] = source.pop(key)

    def count(self) -> int:
        return len(self._folder(self.folder))

    def restore(self, message_id: str, from_folder: str) -> int:
        source = self._folder(from_folder)
        keys = [
            key
            for key, raw in source.items()
            if same_message_id(
                BytesHeaderParser().parsebytes(header_block(raw))["Message-ID"], message_id
            )
        ]
        target = self._folder(self.folder)
        for key in keys:
            target[key] = source.pop(key)
        return len(keys)

    def can_wait(self) -> bool:
        return True

    def wait_for_mail(self, timeout: float, wakeup: Wakeup) -> Arrival:
        arrived = Wakeup()
        place = (self.server, self.folder)
        with _WAITING_LOCK:
            _WAITING.setdefault(place, set()).add(arrived)
        try:
            if set(self._folder(self.folder)) - self._fetched:
                return Arrival.NEW_MAIL
            deadline = time.monotonic() + timeout
            with selectors.DefaultSelector() as selector:
                selector.register(arrived, selectors.EVENT_READ, Arrival.NEW_MAIL)
                selector.register(wakeup, selectors.EVENT_READ, Arrival.WOKEN)
                while (remaining := deadline - time.monotonic()) > 0:
                    for key, _ in selector.select(remaining):
                        if key.data is Arrival.NEW_MAIL or wakeup.consume():
                            return Arrival(key.data)
            return Arrival.TIMED_OUT
        finally:
            with _WAITING_LOCK:
                _WAITING[place].discard(arrived)
            arrived.close()

    def close(self) -> None:
        pass
