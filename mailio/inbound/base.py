"""The mailbox interface every reply reader implements.

A reader fetches a bounded batch of raw messages, oldest first, in as few
round trips as the protocol allows, and then deletes or moves them by key.
It never decides anything about the messages' content.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class FetchedMessage:
    """One message as the server holds it. ``key`` is the IMAP UID or Graph id."""

    key: str
    raw: bytes


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
