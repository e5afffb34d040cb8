"""The mailbox interface every reply reader implements.

A reader fetches a bounded batch of raw messages, oldest first, in as few
round trips as the protocol allows, and then deletes or moves them by key.
It never decides anything about the messages' content.

A reader given ``max_message_bytes`` learns each message's size before its
body and does not download the body of a message over that size: it returns
the message's header only (at most :data:`HEADER_BYTES` of it), with
``complete=False``, so that the caller can still name the message. Readers
written before the limit existed return whole messages; callers that enforce
a limit check ``size`` themselves as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from mailio.inbound.wakeup import Arrival, Wakeup

# How much of an over-limit message's header a reader fetches: enough for
# Message-ID, From and Subject, bounded even when the header is the hostile part.
HEADER_BYTES = 64 * 1024


@dataclass(frozen=True)
class FetchedMessage:
    """One message as the server holds it. ``key`` is the IMAP UID or Graph id.

    ``size`` is the message's size on the server in bytes (when the reader was
    not told it, the length of ``raw``). ``complete`` is False when ``raw``
    holds only the header: the message was over the reader's size limit.
    """

    key: str
    raw: bytes
    size: int = -1  # -1: not given, taken as len(raw)
    complete: bool = True

    def __post_init__(self) -> None:
        if self.size < 0:
            object.__setattr__(self, "size", len(self.raw))


def header_block(raw: bytes) -> bytes:
    """The header of a raw message up to and including the blank line, at most HEADER_BYTES."""
    head = raw[: HEADER_BYTES + 4]
    ends = [end + len(blank) for blank in (b"\r\n\r\n", b"\n\n") if (end := head.find(blank)) >= 0]
    return head[: min(ends)] if ends else head[:HEADER_BYTES]


class Mailbox(Protocol):
    """The reply folder on one server."""

    def fetch_batch(self, limit: int) -> list[FetchedMessage]:
        """Return up to ``limit`` messages, oldest first, without marking them seen."""
        ...

    def delete(self, keys: Sequence[str]) -> None:
        """Remove these messages for good (IMAP: flag \\Deleted + UID EXPUNGE)."""
        ...

    def move(self, keys: Sequence[str], folder: str) -> None:
        """Move these messages to ``folder``, creating it if missing."""
        ...

    def count(self) -> int:
        """How many messages the folder holds now."""
        ...

    def close(self) -> None:
        """Log out. Safe to call twice."""
        ...


@runtime_checkable
class SizeLimitedMailbox(Protocol):
    """A mailbox that skips the bodies of messages over ``max_message_bytes`` (None: no limit).

    A separate protocol, so that mailboxes written without it still are Mailboxes.
    """

    max_message_bytes: int | None


@runtime_checkable
class RestorableMailbox(Protocol):
    """A mailbox that can take a message back from another folder, found by its Message-ID
    (``approvals replies reprocess``: from the failure folder into the reply folder).

    A separate protocol, so that mailboxes written without it still are Mailboxes.
    """

    def restore(self, message_id: str, from_folder: str) -> int:
        """Move every message of ``from_folder`` whose Message-ID is ``message_id`` (angle
        brackets optional) into this mailbox's folder; returns how many were moved."""
        ...


class Arbiter(Protocol):
    """Which messages of a folder this worker takes, when several workers (engine
    instances) read one folder: each message goes to one worker at a time, for a lease."""

    def claim(self, keys: Sequence[str], limit: int) -> list[str]:
        """Of ``keys`` (oldest first), the first ``limit`` no other worker holds, now held
        by this one for a lease; the others are left out."""
        ...

    def release(self, keys: Sequence[str]) -> None:
        """Done with these (deleted, moved, or left for another try)."""
        ...


@runtime_checkable
class ArbitratedMailbox(Protocol):
    """A mailbox that asks its ``arbiter`` (None: takes everything) before it fetches a
    batch. A separate protocol, so that mailboxes written without it still are Mailboxes."""

    arbiter: Arbiter | None


class CursorStore(Protocol):
    """Where a mailbox keeps its place in a folder from run to run (a Graph delta link),
    under a key of its own choosing. The engine keeps them in its database."""

    def load(self, key: str) -> str | None:
        """The value saved under ``key``; None when there is none."""
        ...

    def save(self, key: str, value: str | None) -> None:
        """Keep ``value`` under ``key`` (None: forget it)."""
        ...


@runtime_checkable
class WaitingMailbox(Protocol):
    """A mailbox whose server can announce new mail (IMAP IDLE), so that a reply is read
    when it lands instead of at the next poll.

    A separate protocol, so that mailboxes written without it still are Mailboxes.
    """

    def can_wait(self) -> bool:
        """True when the server announces new mail (asks it, logging in if need be)."""
        ...

    def wait_for_mail(self, timeout: float, wakeup: Wakeup) -> Arrival:
        """Wait until the server announces new mail, ``wakeup`` is set or ``timeout``
        seconds pass. A connection that died meanwhile raises TransportError: mail may
        have arrived since, so the caller reads the folder before waiting again."""
        ...


def same_message_id(header_value: str | None, message_id: str) -> bool:
    """True when a Message-ID header names ``message_id`` (brackets and blanks ignored)."""
    if header_value is None:
        return False
    return header_value.strip().strip("<>").strip() == message_id.strip().strip("<>").strip()
